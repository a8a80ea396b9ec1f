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
#include "util/env.hpp"
#include "util/error.hpp"
#include "util/fd.hpp"

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

}  // namespace

// The state a transfer shares with libcurl's callbacks.
struct Transfer {
  const AttemptRequest* request = nullptr;
  Digest* digest = nullptr;
  const std::function<void(std::uint64_t, std::uint64_t)>* on_progress = nullptr;
  const std::atomic<bool>* cancel = nullptr;
  Fd fd;  // the .part file, open for the whole transfer

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
    if (::ftruncate(fd.get(), 0) != 0 || ::lseek(fd.get(), 0, SEEK_SET) != 0) {
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

  bool write(const char* data, std::size_t size) {
    write_errno = write_all(fd.get(), std::string_view(data, size));
    return write_errno == 0;
  }
};

namespace {

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
  if (!t->write(data, bytes)) return 0;
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
  s.ca_file = env_string("CURL_CA_BUNDLE");
  if (s.ca_file.empty()) s.ca_file = env_string("SSL_CERT_FILE");
  s.ca_path = env_string("SSL_CERT_DIR");
  return s;
}

HttpClient::HttpClient(HttpSettings settings) : settings_(std::move(settings)) {}

namespace {

AttemptResult fatal_write(const AttemptRequest& request, int err, std::uint64_t part_size) {
  AttemptResult result;
  result.outcome = Outcome::Fatal;
  result.write_errno = err;
  result.reason = "cannot write " + request.part.string() + ": " + std::strerror(err);
  result.part_size = part_size;
  return result;
}

// Opens the .part file at the request's offset; false (and the errno in
// t.write_errno) when the local disk refuses.
bool open_part(const AttemptRequest& request, Transfer& t) {
  t.fd = Fd(::open(request.part.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
  if (!t.fd.valid() || ::ftruncate(t.fd.get(), static_cast<off_t>(request.offset)) != 0 ||
      ::lseek(t.fd.get(), static_cast<off_t>(request.offset), SEEK_SET) < 0) {
    t.write_errno = errno;
    return false;
  }
  return true;
}

// Empties the .part, as when the server starts over from byte 0.
void empty_part(const AttemptRequest& request, Digest* digest, AttemptResult& result) {
  std::error_code ec;
  fs::resize_file(request.part, 0, ec);
  if (digest != nullptr) digest->reset();
  result.part_size = 0;
}

// What the transfer learnt about the response, whatever its outcome.
AttemptResult observed(const Transfer& t, long status) {
  AttemptResult result;
  result.http_status = status;
  result.received = t.received;
  result.part_size = t.part_size;
  result.total = t.total;
  result.restarted = t.restarted;
  result.validator = !t.etag.empty() ? t.etag : t.last_modified;
  result.retry_after = parse_retry_after(t.retry_after);
  return result;
}

// Problems on our side of the transfer, which outrank what the server said.
bool local_outcome(const AttemptRequest& request, const Transfer& t, Digest* digest, const std::atomic<bool>* cancel,
                   AttemptResult& result) {
  if (t.cancelled || (cancel != nullptr && cancel->load())) {
    result.outcome = Outcome::Cancelled;
    result.reason = "interrupted";
  } else if (t.oversized) {
    std::error_code ec;
    fs::remove(request.part, ec);
    if (digest != nullptr) digest->reset();
    result.part_size = 0;
    result.outcome = Outcome::NextMirror;
    result.reason = "the server sent more than the registry's " + std::to_string(request.max_size) +
                    " bytes: not the expected file; the download was deleted";
  } else if (t.write_errno != 0) {
    result = fatal_write(request, t.write_errno, result.part_size);
  } else if (!t.range_problem.empty()) {
    empty_part(request, digest, result);  // start over from byte 0 on the next attempt
    result.outcome = Outcome::Retry;
    result.reason = t.range_problem;
  } else {
    return false;
  }
  return true;
}

// A response that arrived: what its status means for the next step.
void http_outcome(const AttemptRequest& request, const Transfer& t, Digest* digest, AttemptResult& result) {
  long status = result.http_status;
  std::string http = "HTTP " + std::to_string(status) + (t.status_text.empty() ? "" : " " + t.status_text);
  result.reason = http;
  if (status == 200 || status == 206) {
    result.outcome = Outcome::Complete;
  } else if (status == 416) {
    empty_part(request, digest, result);
    result.outcome = Outcome::Retry;
    result.reason = http + ": the server cannot resume from byte " + std::to_string(request.offset) + "; starting over";
  } else if (status == 408 || status == 429 || status >= 500) {
    result.outcome = Outcome::Retry;
  } else {
    result.outcome = Outcome::NextMirror;
  }
}

// A transfer libcurl could not finish: retry, or try the next mirror.
void curl_outcome(CURLcode rc, const std::string& detail, const Transfer& t, AttemptResult& result) {
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
}

}  // namespace

void HttpClient::configure(const AttemptRequest& request, Transfer& t, char* errbuf, CurlHeaderList& headers,
                           std::string& range) {
  CURL* h = static_cast<CURL*>(curl_.get());
  curl_easy_reset(h);  // keeps the connection cache
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
  if (request.offset > 0) {
    range = std::to_string(request.offset) + "-";
    set(h, CURLOPT_RANGE, range.c_str(), "RANGE");
    if (!request.validator.empty()) headers.append("If-Range: " + request.validator);
  }
  set(h, CURLOPT_HTTPHEADER, headers.get(), "HTTPHEADER");
}

AttemptResult HttpClient::download(const AttemptRequest& request, Digest* digest,
                                   const std::function<void(std::uint64_t, std::uint64_t)>& progress,
                                   const std::atomic<bool>* cancel) {
  Transfer t;
  t.request = &request;
  t.digest = digest;
  t.on_progress = &progress;
  t.cancel = cancel;
  t.part_size = request.offset;
  if (!open_part(request, t)) return fatal_write(request, t.write_errno, request.offset);

  char errbuf[CURL_ERROR_SIZE] = {0};
  CurlHeaderList headers;
  std::string range;
  configure(request, t, errbuf, headers, range);
  CURLcode rc = curl_easy_perform(static_cast<CURL*>(curl_.get()));
  long status = 0;
  curl_easy_getinfo(static_cast<CURL*>(curl_.get()), CURLINFO_RESPONSE_CODE, &status);

  if (rc == CURLE_OK && status == 200 && !t.body_started && t.part_size > 0) t.truncate_part();  // empty body
  // No fsync, as in write_file_atomic: renaming only a verified file protects
  // the cache against tito dying at any point; after a power cut, `tito data
  // verify` re-hashes. (An fsync here would wait for the disk, ~0.3 s per
  // 170 MB on this kind of machine, longer than the transfer on loopback.)
  int close_errno = t.fd.close();
  if (close_errno != 0 && t.write_errno == 0 && rc == CURLE_OK) t.write_errno = close_errno;

  AttemptResult result = observed(t, status);
  if (local_outcome(request, t, digest, cancel, result)) return result;
  if (rc == CURLE_OK) {
    http_outcome(request, t, digest, result);
  } else {
    curl_outcome(rc, errbuf[0] != '\0' ? errbuf : curl_easy_strerror(rc), t, result);
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
