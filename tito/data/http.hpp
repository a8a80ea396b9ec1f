// One HTTP(S) transfer attempt on libcurl: a body appended to a .part file
// (resumed with Range / If-Range), classified so the caller can retry, move
// to the next mirror, or stop.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>

struct curl_slist;

namespace tito::data {

namespace fs = std::filesystem;

class Digest;
struct Transfer;

// Starts libcurl once per process (thread-safe).
void ensure_curl_initialized();

// An easy handle that cleans itself up.
class CurlHandle {
 public:
  CurlHandle();
  ~CurlHandle();
  CurlHandle(const CurlHandle&) = delete;
  CurlHandle& operator=(const CurlHandle&) = delete;
  void* get() const { return handle_; }  // a CURL*

 private:
  void* handle_;
};

// A header list that frees itself.
class CurlHeaderList {
 public:
  CurlHeaderList() = default;
  ~CurlHeaderList();
  CurlHeaderList(const CurlHeaderList&) = delete;
  CurlHeaderList& operator=(const CurlHeaderList&) = delete;
  void append(const std::string& header);
  curl_slist* get() const { return list_; }

 private:
  curl_slist* list_ = nullptr;
};

struct HttpSettings {
  std::string user_agent = "tito";
  long connect_timeout_s = 30;
  long low_speed_limit = 1024;  // bytes per second below which...
  long low_speed_time_s = 30;   // ...for this long, a transfer counts as stalled
  std::string ca_file;          // SSL_CERT_FILE / CURL_CA_BUNDLE
  std::string ca_path;          // SSL_CERT_DIR

  // Defaults plus the certificate variables of the environment.
  static HttpSettings from_environment();
};

// What the caller does next.
enum class Outcome {
  Complete,    // the server sent the whole (rest of the) body
  Retry,       // a transient failure: try the same URL again, resuming
  NextMirror,  // this URL will not work: try the next one
  Fatal,       // stop: the local disk failed
  Cancelled,   // Ctrl-C
};

struct AttemptRequest {
  std::string url;
  fs::path part;                // the body goes here, from byte `offset` on
  std::uint64_t offset = 0;     // bytes already in `part` (resume from here)
  std::string validator;        // ETag or Last-Modified of the earlier response, for If-Range
  std::uint64_t max_size = 0;   // the registry's size: a longer body is the wrong file (0: no limit)
};

struct AttemptResult {
  Outcome outcome = Outcome::NextMirror;
  std::string reason;           // for people: "HTTP 503 Service Unavailable", "connection dropped (...)"
  long http_status = 0;
  std::uint64_t received = 0;   // body bytes written by this attempt
  std::uint64_t part_size = 0;  // bytes in `part` afterwards
  std::uint64_t total = 0;      // the full size the server announced, 0 when unknown
  bool restarted = false;       // the server sent the whole file instead of the range
  std::optional<std::chrono::seconds> retry_after;
  std::string validator;        // ETag (preferred) or Last-Modified of the response
  bool unreachable = false;     // the host could not be resolved or connected to
  bool tls = false;             // TLS handshake or certificate failure
  int write_errno = 0;          // the local write error, with Outcome::Fatal
};

// Reuses one connection across attempts.
class HttpClient {
 public:
  explicit HttpClient(HttpSettings settings);

  // Transfers `request.url` into `request.part`. `digest`, when given, has
  // seen the part's first `offset` bytes and sees every byte written after
  // them (it is reset when the server restarts the file). `on_progress`
  // receives the part's size as it grows; `cancel` aborts the transfer.
  AttemptResult download(const AttemptRequest& request, Digest* digest,
                         const std::function<void(std::uint64_t done, std::uint64_t total)>& on_progress,
                         const std::atomic<bool>* cancel);

 private:
  // Sets up the handle for one attempt; `errbuf`, `headers` and `range` must
  // outlive the transfer.
  void configure(const AttemptRequest& request, Transfer& t, char* errbuf, CurlHeaderList& headers,
                 std::string& range);

  HttpSettings settings_;
  CurlHandle curl_;
};

// "https://host/path" -> "host".
std::string url_host(const std::string& url);

}  // namespace tito::data
