#include "http_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

namespace tito::testing {

namespace {

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

const char* reason_phrase(int status) {
  switch (status) {
    case 200: return "OK";
    case 206: return "Partial Content";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 408: return "Request Timeout";
    case 416: return "Range Not Satisfiable";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default: return "Status";
  }
}

// Reads the request head (up to the blank line), at most 5 s and 16 kB.
std::optional<std::string> read_head(int fd) {
  std::string head;
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  char buf[4096];
  while (head.find("\r\n\r\n") == std::string::npos) {
    if (head.size() > 16384 || std::chrono::steady_clock::now() > until) return std::nullopt;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) return std::nullopt;
    head.append(buf, static_cast<std::size_t>(n));
  }
  return head;
}

}  // namespace

LoopbackServer::LoopbackServer(std::chrono::seconds lifetime)
    : deadline_(std::chrono::steady_clock::now() + lifetime) {
  // Requests to this server must never go through a proxy of the environment.
  ::setenv("no_proxy", "127.0.0.1,localhost", 1);
  ::setenv("NO_PROXY", "127.0.0.1,localhost", 1);
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
  int one = 1;
  ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(listen_fd_, 64) != 0) {
    ::close(listen_fd_);
    throw std::runtime_error(std::string("bind/listen on 127.0.0.1: ") + std::strerror(errno));
  }
  socklen_t len = sizeof addr;
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
  acceptor_ = std::thread([this] { accept_loop(); });
}

LoopbackServer::~LoopbackServer() {
  stop_ = true;
  if (acceptor_.joinable()) acceptor_.join();
  std::vector<std::thread> workers;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    workers.swap(workers_);
  }
  for (std::thread& t : workers) t.join();
  ::close(listen_fd_);
}

std::string LoopbackServer::url(const std::string& path) const {
  return "http://127.0.0.1:" + std::to_string(port_) + "/" + path;
}

void LoopbackServer::add_file(const std::string& path, std::shared_ptr<const std::string> content) {
  std::lock_guard<std::mutex> lock(mutex_);
  files_["/" + path] = {std::move(content), "\"tito-test-" + std::to_string(++etag_counter_) + "\""};
}

void LoopbackServer::add_file(const std::string& path, std::string content) {
  add_file(path, std::make_shared<const std::string>(std::move(content)));
}

void LoopbackServer::replace_file(const std::string& path, std::string content) { add_file(path, std::move(content)); }

void LoopbackServer::queue_fault(const std::string& path, Fault fault) {
  std::lock_guard<std::mutex> lock(mutex_);
  faults_["/" + path].push_back(std::move(fault));
}

std::vector<SeenRequest> LoopbackServer::requests() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return seen_;
}

std::size_t LoopbackServer::count(const std::string& path) const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::size_t n = 0;
  for (const SeenRequest& r : seen_) n += r.path == "/" + path ? 1 : 0;
  return n;
}

std::uint64_t LoopbackServer::body_bytes(const std::string& path) const {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = sent_.find("/" + path);
  return it == sent_.end() ? 0 : it->second;
}

void LoopbackServer::accept_loop() {
  while (!stop_ && std::chrono::steady_clock::now() < deadline_) {
    pollfd p{listen_fd_, POLLIN, 0};
    if (::poll(&p, 1, 50) <= 0) continue;
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    timeval tv{5, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    std::lock_guard<std::mutex> lock(mutex_);
    workers_.emplace_back([this, fd] {
      handle(fd);
      ::close(fd);
    });
  }
}

bool LoopbackServer::send_all(int fd, const char* data, std::size_t size, const std::string& path) {
  while (size > 0) {
    if (stop_) return false;
    std::size_t chunk = std::min<std::size_t>(size, 1 << 20);
    std::uint64_t rate = rate_;
    if (rate > 0) chunk = std::min<std::size_t>(chunk, std::max<std::uint64_t>(1, rate / 20));
    ssize_t n = ::send(fd, data, chunk, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      sent_[path] += static_cast<std::uint64_t>(n);
    }
    data += n;
    size -= static_cast<std::size_t>(n);
    if (rate > 0) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return true;
}

void LoopbackServer::wait_for_client_to_leave(int fd) {
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  char buf[256];
  while (!stop_ && std::chrono::steady_clock::now() < until) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 50) > 0) {
      if (::recv(fd, buf, sizeof buf, 0) <= 0) return;
    }
  }
}

void LoopbackServer::handle(int fd) {
  std::optional<std::string> head = read_head(fd);
  if (!head) return;
  SeenRequest req;
  std::size_t line_end = head->find("\r\n");
  std::string request_line = head->substr(0, line_end);
  std::size_t sp1 = request_line.find(' ');
  std::size_t sp2 = request_line.find(' ', sp1 + 1);
  req.method = request_line.substr(0, sp1);
  req.path = request_line.substr(sp1 + 1, sp2 - sp1 - 1);
  std::size_t at = line_end + 2;
  while (at < head->size()) {
    std::size_t end = head->find("\r\n", at);
    if (end == std::string::npos || end == at) break;
    std::string line = head->substr(at, end - at);
    at = end + 2;
    std::size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string name = lower(line.substr(0, colon));
    std::string value = line.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.erase(0, 1);
    if (name == "range") req.range = value;
    if (name == "if-range") req.if_range = value;
    if (name == "user-agent") req.user_agent = value;
  }

  Fault fault;
  std::optional<File> file;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto f = faults_.find(req.path);
    if (f != faults_.end() && !f->second.empty()) {
      fault = f->second.front();
      f->second.pop_front();
    }
    auto it = files_.find(req.path);
    if (it != files_.end()) file = it->second;
  }

  auto respond = [&](int status, const std::string& extra, const std::string& body) {
    std::string out = "HTTP/1.1 " + std::to_string(status) + " " + reason_phrase(status) + "\r\n" + extra +
                      "Content-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      req.status = status;
      seen_.push_back(req);
    }
    send_all(fd, out.data(), out.size(), "");
  };

  std::string extra_headers;
  for (const auto& [name, value] : fault.headers) extra_headers += name + ": " + value + "\r\n";
  if (fault.status != 0) {
    respond(fault.status, extra_headers, std::string(reason_phrase(fault.status)) + "\n");
    return;
  }
  if (!file) {
    respond(404, "", "Not Found\n");
    return;
  }

  std::shared_ptr<const std::string> content =
      fault.body ? std::make_shared<const std::string>(*fault.body) : file->content;
  const std::uint64_t size = content->size();
  std::uint64_t offset = 0;
  bool partial = false;
  if (!req.range.empty() && !fault.ignore_range && (req.if_range.empty() || req.if_range == file->etag)) {
    // Only "bytes=N-", what tito sends.
    if (req.range.rfind("bytes=", 0) == 0 && req.range.back() == '-') {
      offset = std::stoull(req.range.substr(6, req.range.size() - 7));
      partial = true;
    }
  }
  if (partial && offset >= size) {
    respond(416, "Content-Range: bytes */" + std::to_string(size) + "\r\n", "");
    return;
  }
  int status = partial ? 206 : 200;
  std::string headers = "HTTP/1.1 " + std::to_string(status) + " " + reason_phrase(status) + "\r\n";
  headers += "Content-Type: application/octet-stream\r\nAccept-Ranges: bytes\r\n";
  headers += "ETag: " + file->etag + "\r\nLast-Modified: Sat, 01 Jan 2022 00:00:00 GMT\r\n";
  if (partial) {
    headers += "Content-Range: bytes " + std::to_string(offset) + "-" + std::to_string(size - 1) + "/" +
               std::to_string(size) + "\r\n";
  }
  headers += extra_headers;
  headers += "Content-Length: " + std::to_string(size - offset) + "\r\nConnection: close\r\n\r\n";
  {
    std::lock_guard<std::mutex> lock(mutex_);
    req.status = status;
    seen_.push_back(req);
  }
  if (!send_all(fd, headers.data(), headers.size(), "")) return;
  std::uint64_t length = size - offset;
  std::int64_t cut = fault.drop_after >= 0 ? fault.drop_after : fault.stall_after;
  if (cut >= 0) length = std::min<std::uint64_t>(length, static_cast<std::uint64_t>(cut));
  if (!send_all(fd, content->data() + offset, length, req.path)) return;
  // A drop just closes the connection early: the client has the exact bytes
  // sent and sees fewer than Content-Length announced.
  if (fault.stall_after >= 0) wait_for_client_to_leave(fd);
}

}  // namespace tito::testing
