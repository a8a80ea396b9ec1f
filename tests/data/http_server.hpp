// A small HTTP/1.1 server on 127.0.0.1 for the data tests and the fetch
// benchmark: serves files from memory with Range / If-Range, and injects the
// faults a real dataset host shows (dropped connections, ignored ranges, 503
// with Retry-After, 404, wrong content, stalls). It stops by itself after
// its lifetime and when destroyed; every wait inside it is bounded.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace tito::testing {

// What the server does with one request, instead of serving it plainly.
struct Fault {
  int status = 0;                // answer this status (with a short body) instead of the file
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers, e.g. Retry-After
  std::int64_t drop_after = -1;  // close the connection after this many body bytes
  bool ignore_range = false;     // answer 200 with the whole file even to a Range request
  std::int64_t stall_after = -1; // send this many body bytes, then nothing until the client leaves
  std::optional<std::string> body;  // serve these bytes instead of the file

  static Fault http(int status, std::vector<std::pair<std::string, std::string>> headers = {}) {
    Fault f;
    f.status = status;
    f.headers = std::move(headers);
    return f;
  }
  static Fault drop(std::int64_t after) {
    Fault f;
    f.drop_after = after;
    return f;
  }
  static Fault stall(std::int64_t after) {
    Fault f;
    f.stall_after = after;
    return f;
  }
  static Fault no_range() {
    Fault f;
    f.ignore_range = true;
    return f;
  }
  static Fault content(std::string bytes) {
    Fault f;
    f.body = std::move(bytes);
    return f;
  }
};

// A request as the server saw it.
struct SeenRequest {
  std::string method;
  std::string path;
  std::string range;       // the Range header, or ""
  std::string if_range;    // the If-Range header, or ""
  std::string user_agent;
  int status = 0;          // what the server answered
};

class LoopbackServer {
 public:
  explicit LoopbackServer(std::chrono::seconds lifetime = std::chrono::seconds(120));
  ~LoopbackServer();
  LoopbackServer(const LoopbackServer&) = delete;
  LoopbackServer& operator=(const LoopbackServer&) = delete;

  // "http://127.0.0.1:PORT/" + path (path without a leading slash).
  std::string url(const std::string& path = "") const;
  int port() const { return port_; }

  // Serves `content` at "/" + path, with a fixed ETag.
  void add_file(const std::string& path, std::shared_ptr<const std::string> content);
  void add_file(const std::string& path, std::string content);
  // Changes the file (and its ETag) at "/" + path.
  void replace_file(const std::string& path, std::string content);
  // The next request for "/" + path meets `fault` (faults queue up in order).
  void queue_fault(const std::string& path, Fault fault);
  // Sends bodies at about this many bytes per second (0: as fast as possible).
  void set_rate(std::uint64_t bytes_per_second) { rate_ = bytes_per_second; }

  std::vector<SeenRequest> requests() const;
  // Requests for "/" + path.
  std::size_t count(const std::string& path) const;
  // Bytes of body sent for "/" + path, all requests.
  std::uint64_t body_bytes(const std::string& path) const;

 private:
  struct File {
    std::shared_ptr<const std::string> content;
    std::string etag;
  };
  void accept_loop();
  void handle(int fd);
  bool send_all(int fd, const char* data, std::size_t size, const std::string& path);
  void wait_for_client_to_leave(int fd);

  int listen_fd_ = -1;
  int port_ = 0;
  std::chrono::steady_clock::time_point deadline_;
  std::atomic<bool> stop_{false};
  std::atomic<std::uint64_t> rate_{0};
  mutable std::mutex mutex_;
  std::map<std::string, File> files_;
  std::map<std::string, std::deque<Fault>> faults_;
  std::map<std::string, std::uint64_t> sent_;
  std::vector<SeenRequest> seen_;
  std::vector<std::thread> workers_;
  std::thread acceptor_;
  int etag_counter_ = 0;
};

}  // namespace tito::testing
