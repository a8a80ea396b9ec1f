#include "data/http.hpp"

#include <curl/curl.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <mutex>
#include <string_view>

#include "data/digest.hpp"
#include "util/error.hpp"

namespace tito::data {

namespace {

std::once_flag g_curl_once;
CURLcode g_curl_init = CURLE_OK;

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view trim_space(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) s.remove_suffix(1);
  return s;
}

std::optional<std::uint64_t> parse_u64(std::string_view s) {
  s = trim_space(s);
  if (s.empty()) return std::nullopt;
  std::uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return v;
}

std::string mib(std::uint64_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f MB", static_cast<double>(bytes) / 1e6);
  return buf;
}

// The state a transfer shares with libcurl's callbacks.
struct Transfer {
  const AttemptRequest* request = nullptr;
  Digest* digest = nullptr;
  const std::function<void(std::uint64_t, std::uint64_t)>* on_progress = nullptr;
  const std::atomic<bool>* cancel = nullptr;
  int fd = -1;

  // The current response (a redirect starts a new one).
  long status = 0;
  std::string status_text;
  std::string etag, last_modified, retry_after, content_range;
  std::optional<std::uint64_t> content_length;

  bool body_started = false;
  bool discard = false;  // an error page: not written to the file
  std::uint64_t part_size = 0;
  std::uint64_t received = 0;
  std::uint64_t total = 0;
  bool restarted = false;
  int write_errno = 0;
  std::string range_problem;
  bool cancelled = false;
  bool oversized = false;  // the body outgrew the registry's size

  void new_response(std::string_view status_line) {
    status = 0;
    status_text.clear();
    etag.clear();
    last_modified.clear();
    retry_after.clear();
    content_range.clear();
    content_length.reset();
    std::size_t sp = status_line.find(' ');
    if (sp == std::string_view::npos) return;
    std::string_view rest = status_line.substr(sp + 1);
    std::size_t sp2 = rest.find(' ');
    if (std::optional<std::uint64_t> code = parse_u64(rest.substr(0, sp2))) status = static_cast<long>(*code);
    if (sp2 != std::string_view::npos) status_text = std::string(trim_space(rest.substr(sp2 + 1)));
  }

  void header(std::string_view line) {
    std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) return;
    std::string name = lower(line.substr(0, colon));
    std::string value(trim_space(line.substr(colon + 1)));
    if (name == "etag") etag = value;
    if (name == "last-modified") last_modified = value;
    if (name == "retry-after") retry_after = value;
    if (name == "content-range") content_range = value;
    if (name == "content-length") content_length = parse_u64(value);
  }

  // Back to an empty file: the server sends it from the start.
  bool truncate_part() {
    if (::ftruncate(fd, 0) != 0 || ::lseek(fd, 0, SEEK_SET) != 0) {
      write_errno = errno;
      return false;
    }
    if (digest != nullptr) digest->reset();
    part_size = 0;
    return true;
  }

  // The first body byte of the final response: decide where it goes.
  bool begin_body() {
    body_started = true;
    if (status == 206) {
      // "bytes 100-199/200"
      std::string_view cr = content_range;
      std::optional<std::uint64_t> start, slash_total;
      if (cr.rfind("bytes ", 0) == 0) {
        std::string_view range = cr.substr(6);
        std::size_t dash = range.find('-');
        std::size_t slash = range.find('/');
        if (dash != std::string_view::npos) start = parse_u64(range.substr(0, dash));
        if (slash != std::string_view::npos) slash_total = parse_u64(range.substr(slash + 1));
      }
      if (!start || *start != request->offset) {
        range_problem = "the server sent a different range (Content-Range: " + content_range + ") than asked (from byte " +
                        std::to_string(request->offset) + ")";
        return false;
      }
      total = slash_total.value_or(content_length ? request->offset + *content_length : 0);
      return true;
    }
    if (status == 200) {
      if (part_size > 0) {
        if (!truncate_part()) return false;
        restarted = true;
      }
      total = content_length.value_or(0);
      return true;
    }
    discard = true;
    return true;
  }

  bool write_all(const char* data, std::size_t size) {
    while (size > 0) {
      ssize_t n = ::write(fd, data, size);
      if (n < 0) {
        if (errno == EINTR) continue;
        write_errno = errno;
        return false;
      }
      data += n;
      size -= static_cast<std::size_t>(n);
    }
    return true;
  }
};

std::size_t on_header(char* buffer, std::size_t size, std::size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  std::string_view line(buffer, size * count);
  line = trim_space(line);
  if (line.rfind("HTTP/", 0) == 0) {
    t->new_response(line);
  } else if (!line.empty()) {
    t->header(line);
  }
  return size * count;
}

std::size_t on_body(char* data, std::size_t size, std::size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  std::size_t bytes = size * count;
  if (!t->body_started && !t->begin_body()) return 0;
  if (t->discard) return bytes;
  if (t->request->max_size > 0 && t->part_size + bytes > t->request->max_size) {
    t->oversized = true;  // aborts the transfer: this is not the file the registry describes
    return 0;
  }
  if (!t->write_all(data, bytes)) return 0;
  if (t->digest != nullptr) t->digest->update(data, bytes);
  t->part_size += bytes;
  t->received += bytes;
  return bytes;
}

int on_progress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  auto* t = static_cast<Transfer*>(user);
  if (t->cancel != nullptr && t->cancel->load()) {
    t->cancelled = true;
    return 1;
  }
  if (t->on_progress != nullptr && *t->on_progress && t->body_started && !t->discard) {
    (*t->on_progress)(t->part_size, t->total);
  }
  return 0;
}

std::optional<std::chrono::seconds> parse_retry_after(const std::string& value) {
  if (value.empty()) return std::nullopt;
  if (std::optional<std::uint64_t> s = parse_u64(value)) return std::chrono::seconds(static_cast<long long>(*s));
  time_t when = curl_getdate(value.c_str(), nullptr);
  if (when < 0) return std::nullopt;
  long long delta = static_cast<long long>(when - std::time(nullptr));
  return std::chrono::seconds(delta < 0 ? 0 : delta);
}

bool is_tls_failure(CURLcode rc) {
  switch (rc) {
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_USE_SSL_FAILED:
      return true;
    default:
      return false;
  }
}

// Sets an option; a failure here is a bug or a libcurl built without a feature.
template <typename T>
void set(CURL* h, CURLoption option, T value, const char* what) {
  CURLcode rc = curl_easy_setopt(h, option, value);
  if (rc != CURLE_OK) throw Error(std::string("libcurl refused the option ") + what + ": " + curl_easy_strerror(rc));
}

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v == nullptr ? "" : v;
}

}  // namespace

void ensure_curl_initialized() {
  std::call_once(g_curl_once, [] { g_curl_init = curl_global_init(CURL_GLOBAL_DEFAULT); });
  if (g_curl_init != CURLE_OK) {
    throw Error(std::string("libcurl could not start: ") + curl_easy_strerror(g_curl_init));
  }
}

CurlHandle::CurlHandle() {
  ensure_curl_initialized();
  handle_ = curl_easy_init();
  if (handle_ == nullptr) throw Error("libcurl could not create a transfer handle (out of memory?)");
}

CurlHandle::~CurlHandle() { curl_easy_cleanup(static_cast<CURL*>(handle_)); }

CurlHeaderList::~CurlHeaderList() { curl_slist_free_all(list_); }

void CurlHeaderList::append(const std::string& header) {
  curl_slist* grown = curl_slist_append(list_, header.c_str());
  if (grown == nullptr) throw Error("libcurl could not add a header (out of memory?)");
  list_ = grown;
}

HttpSettings HttpSettings::from_environment() {
  HttpSettings s;
  // libcurl itself reads neither; the curl tool reads both, so people expect them to work.
  s.ca_file = env("CURL_CA_BUNDLE");
  if (s.ca_file.empty()) s.ca_file = env("SSL_CERT_FILE");
  s.ca_path = env("SSL_CERT_DIR");
  return s;
}

HttpClient::HttpClient(HttpSettings settings) : settings_(std::move(settings)) {}

AttemptResult HttpClient::download(const AttemptRequest& request, Digest* digest,
                                   const std::function<void(std::uint64_t, std::uint64_t)>& progress,
                                   const std::atomic<bool>* cancel) {
  AttemptResult result;
  Transfer t;
  t.request = &request;
  t.digest = digest;
  t.on_progress = &progress;
  t.cancel = cancel;
  t.part_size = request.offset;

  t.fd = ::open(request.part.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  if (t.fd < 0 || ::ftruncate(t.fd, static_cast<off_t>(request.offset)) != 0 ||
      ::lseek(t.fd, static_cast<off_t>(request.offset), SEEK_SET) < 0) {
    int err = errno;
    if (t.fd >= 0) ::close(t.fd);
    result.outcome = Outcome::Fatal;
    result.write_errno = err;
    result.reason = "cannot write " + request.part.string() + ": " + std::strerror(err);
    result.part_size = request.offset;
    return result;
  }

  CURL* h = static_cast<CURL*>(curl_.get());
  curl_easy_reset(h);  // keeps the connection cache
  char errbuf[CURL_ERROR_SIZE] = {0};
  CurlHeaderList headers;
  set(h, CURLOPT_URL, request.url.c_str(), "URL");
  set(h, CURLOPT_ERRORBUFFER, errbuf, "ERRORBUFFER");
  set(h, CURLOPT_NOSIGNAL, 1L, "NOSIGNAL");
  set(h, CURLOPT_FOLLOWLOCATION, 1L, "FOLLOWLOCATION");
  set(h, CURLOPT_MAXREDIRS, 10L, "MAXREDIRS");
  set(h, CURLOPT_PROTOCOLS_STR, "http,https", "PROTOCOLS_STR");
  set(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https", "REDIR_PROTOCOLS_STR");
  set(h, CURLOPT_USERAGENT, settings_.user_agent.c_str(), "USERAGENT");
  set(h, CURLOPT_CONNECTTIMEOUT, settings_.connect_timeout_s, "CONNECTTIMEOUT");
  set(h, CURLOPT_LOW_SPEED_LIMIT, settings_.low_speed_limit, "LOW_SPEED_LIMIT");
  set(h, CURLOPT_LOW_SPEED_TIME, settings_.low_speed_time_s, "LOW_SPEED_TIME");
  set(h, CURLOPT_TCP_KEEPALIVE, 1L, "TCP_KEEPALIVE");
  set(h, CURLOPT_BUFFERSIZE, 512L * 1024L, "BUFFERSIZE");
  if (!settings_.ca_file.empty()) set(h, CURLOPT_CAINFO, settings_.ca_file.c_str(), "CAINFO");
  if (!settings_.ca_path.empty()) set(h, CURLOPT_CAPATH, settings_.ca_path.c_str(), "CAPATH");
  set(h, CURLOPT_HEADERFUNCTION, on_header, "HEADERFUNCTION");
  set(h, CURLOPT_HEADERDATA, &t, "HEADERDATA");
  set(h, CURLOPT_WRITEFUNCTION, on_body, "WRITEFUNCTION");
  set(h, CURLOPT_WRITEDATA, &t, "WRITEDATA");
  set(h, CURLOPT_NOPROGRESS, 0L, "NOPROGRESS");
  set(h, CURLOPT_XFERINFOFUNCTION, on_progress, "XFERINFOFUNCTION");
  set(h, CURLOPT_XFERINFODATA, &t, "XFERINFODATA");
  std::string range = std::to_string(request.offset) + "-";
  if (request.offset > 0) {
    set(h, CURLOPT_RANGE, range.c_str(), "RANGE");
    if (!request.validator.empty()) headers.append("If-Range: " + request.validator);
  }
  set(h, CURLOPT_HTTPHEADER, headers.get(), "HTTPHEADER");

  CURLcode rc = curl_easy_perform(h);
  long status = 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);

  if (rc == CURLE_OK && status == 200 && !t.body_started && t.part_size > 0) t.truncate_part();  // empty body
  // No fsync, as in write_file_atomic: renaming only a verified file protects
  // the cache against tito dying at any point; after a power cut, `tito data
  // verify` re-hashes. (An fsync here would wait for the disk, ~0.3 s per
  // 170 MB on this kind of machine, longer than the transfer on loopback.)
  if (::close(t.fd) != 0 && t.write_errno == 0 && rc == CURLE_OK) t.write_errno = errno;

  result.http_status = status;
  result.received = t.received;
  result.part_size = t.part_size;
  result.total = t.total;
  result.restarted = t.restarted;
  result.validator = !t.etag.empty() ? t.etag : t.last_modified;
  result.retry_after = parse_retry_after(t.retry_after);
  std::string detail = errbuf[0] != '\0' ? errbuf : curl_easy_strerror(rc);
  std::string http = "HTTP " + std::to_string(status) + (t.status_text.empty() ? "" : " " + t.status_text);

  if (t.cancelled || (cancel != nullptr && cancel->load())) {
    result.outcome = Outcome::Cancelled;
    result.reason = "interrupted";
    return result;
  }
  if (t.oversized) {
    std::error_code ec;
    fs::remove(request.part, ec);
    if (digest != nullptr) digest->reset();
    result.part_size = 0;
    result.outcome = Outcome::NextMirror;
    result.reason = "the server sent more than the registry's " + std::to_string(request.max_size) +
                    " bytes: not the expected file; the download was deleted";
    return result;
  }
  if (t.write_errno != 0) {
    result.outcome = Outcome::Fatal;
    result.write_errno = t.write_errno;
    result.reason = "cannot write " + request.part.string() + ": " + std::strerror(t.write_errno);
    return result;
  }
  if (!t.range_problem.empty()) {
    // Start over from byte 0 on the next attempt.
    std::error_code ec;
    fs::resize_file(request.part, 0, ec);
    if (digest != nullptr) digest->reset();
    result.part_size = 0;
    result.outcome = Outcome::Retry;
    result.reason = t.range_problem;
    return result;
  }
  if (rc == CURLE_OK) {
    if (status == 200 || status == 206) {
      result.outcome = Outcome::Complete;
      result.reason = http;
    } else if (status == 416) {
      std::error_code ec;
      fs::resize_file(request.part, 0, ec);
      if (digest != nullptr) digest->reset();
      result.part_size = 0;
      result.outcome = Outcome::Retry;
      result.reason = http + ": the server cannot resume from byte " + std::to_string(request.offset) + "; starting over";
    } else if (status == 408 || status == 429 || status >= 500) {
      result.outcome = Outcome::Retry;
      result.reason = http;
    } else {
      result.outcome = Outcome::NextMirror;
      result.reason = http;
    }
    return result;
  }

  result.reason = detail;
  switch (rc) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
      result.outcome = Outcome::NextMirror;
      result.unreachable = true;
      result.reason = "cannot resolve the host name (" + detail + ")";
      break;
    case CURLE_COULDNT_CONNECT:
      result.outcome = Outcome::Retry;
      result.unreachable = true;
      result.reason = "cannot connect (" + detail + ")";
      break;
    case CURLE_OPERATION_TIMEDOUT:
      result.outcome = Outcome::Retry;
      result.reason = t.body_started ? "the transfer stalled at " + mib(t.part_size) + " (" + detail + ")"
                                     : "timed out (" + detail + ")";
      break;
    case CURLE_PARTIAL_FILE:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_HTTP3:
    case CURLE_BAD_CONTENT_ENCODING:
      result.outcome = Outcome::Retry;
      result.reason = "the connection dropped at " + mib(t.part_size) + " (" + detail + ")";
      break;
    default:
      result.outcome = Outcome::NextMirror;
      result.tls = is_tls_failure(rc);
      if (result.tls) result.reason = "TLS failure (" + detail + ")";
      break;
  }
  return result;
}

std::string url_host(const std::string& url) {
  std::size_t start = url.find("://");
  start = start == std::string::npos ? 0 : start + 3;
  std::size_t end = url.find('/', start);
  return url.substr(start, end == std::string::npos ? std::string::npos : end - start);
}

}  // namespace tito::data
