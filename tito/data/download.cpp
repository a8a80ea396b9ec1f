#include "data/download.hpp"

#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>
#include <thread>

#include "data/digest.hpp"
#include "data/extract.hpp"
#include "data/observer.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"
#include "util/json_document.hpp"

namespace tito::data {

namespace {

struct Failure {
  std::string url;
  std::string reason;
};

std::string seconds_text(std::chrono::milliseconds ms) {
  char buf[32];
  std::snprintf(buf, sizeof buf, ms.count() % 1000 == 0 ? "%.0f s" : "%.1f s", static_cast<double>(ms.count()) / 1000);
  return buf;
}

void sleep_cancellable(std::chrono::milliseconds wait, const std::atomic<bool>* cancel) {
  auto until = std::chrono::steady_clock::now() + wait;
  while (std::chrono::steady_clock::now() < until) {
    if (cancel != nullptr && cancel->load()) return;
    auto left = until - std::chrono::steady_clock::now();
    std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(left, std::chrono::milliseconds(50)));
  }
}

std::uint64_t size_or_zero(const fs::path& p) { return file_size_or_zero(p); }

void remove_quietly(const fs::path& p) {
  std::error_code ec;
  fs::remove(p, ec);
}

std::string read_validator(const fs::path& meta) {
  std::optional<std::string> text;
  try {
    text = read_file_if_exists(meta);
  } catch (const Error&) {
    return "";
  }
  if (!text) return "";
  nlohmann::json j = nlohmann::json::parse(*text, nullptr, false);
  if (!j.is_object() || !j.contains("validator") || !j["validator"].is_string()) return "";
  return j["validator"].get<std::string>();
}

std::string progress_text(std::uint64_t done, std::uint64_t total) {
  return human_bytes(done) + (total > 0 ? " of " + human_bytes(total) : "");
}

[[noreturn]] void interrupted(const fs::path& part, std::uint64_t total) {
  std::uint64_t have = size_or_zero(part);
  if (have == 0) throw Error("interrupted", kExitInterrupted);
  throw Error("interrupted: " + part.filename().string() + " (" + progress_text(have, total) +
                  ") is kept; run the same command again to resume",
              kExitInterrupted);
}

[[noreturn]] void all_failed(const RemoteFile& file, const std::vector<Failure>& failures, bool all_unreachable,
                             bool tls, const fs::path& part) {
  std::string msg = "cannot download " + file.name + ": ";
  msg += failures.size() == 1 ? "the only mirror failed:" : "all " + std::to_string(failures.size()) + " mirrors failed:";
  for (const Failure& f : failures) msg += "\n  " + f.url + ": " + f.reason;
  if (all_unreachable) {
    msg += "\nNo host could be reached: check the network connection (and https_proxy, if you use a proxy), then "
           "run the same command again.";
  }
  if (tls) {
    msg += "\nThe TLS certificate could not be verified: if a proxy or firewall inspects HTTPS, point SSL_CERT_FILE "
           "(or CURL_CA_BUNDLE) at its CA certificate bundle and run again.";
  }
  if (size_or_zero(part) > 0) msg += "\nThe partial download " + part.filename().string() + " is kept and resumes on the next run.";
  msg += "\nTo get it elsewhere: --mirror URL tries another host first; --from FILE imports a copy you downloaded.";
  throw Error(msg);
}

}  // namespace

std::string human_bytes(std::uint64_t bytes) {
  char buf[32];
  if (bytes < 1000) {
    std::snprintf(buf, sizeof buf, "%llu B", static_cast<unsigned long long>(bytes));
  } else if (bytes < 1000ULL * 1000) {
    std::snprintf(buf, sizeof buf, "%.1f kB", static_cast<double>(bytes) / 1e3);
  } else if (bytes < 1000ULL * 1000 * 1000) {
    std::snprintf(buf, sizeof buf, "%.1f MB", static_cast<double>(bytes) / 1e6);
  } else {
    std::snprintf(buf, sizeof buf, "%.2f GB", static_cast<double>(bytes) / 1e9);
  }
  return buf;
}

DigestKind preferred_digest(const RemoteFile& file) {
  return file.sha256.empty() && !file.md5.empty() ? DigestKind::Md5 : DigestKind::Sha256;
}

Verdict verify_file(const RemoteFile& file, const fs::path& path, const std::string& known_hex,
                    const std::atomic<bool>* cancel) {
  std::uint64_t size = size_or_zero(path);
  std::string problem;
  if (file.has_digest()) {
    DigestKind kind = preferred_digest(file);
    const std::string& expected = kind == DigestKind::Sha256 ? file.sha256 : file.md5;
    std::string got = known_hex.empty() ? hash_file(path, kind, cancel) : known_hex;
    if (got == expected && (file.size == 0 || size == file.size)) return {true, false, ""};
    problem = got != expected ? std::string("checksum mismatch: expected ") + digest_name(kind) + " " + expected +
                                    ", got " + got
                              : "size mismatch: expected " + std::to_string(file.size) + " bytes, got " +
                                    std::to_string(size);
  } else if (file.size != 0 && size != file.size) {
    problem = "size mismatch: expected " + std::to_string(file.size) + " bytes, got " + std::to_string(size);
  } else if (!file.content) {
    return {true, false, ""};
  }
  if (file.content && !file.content->sha256.empty()) {
    try {
      Gunzipped g = gunzip_file(path, "", cancel);
      bool size_ok = file.content->size == 0 || g.size == file.content->size;
      if (g.sha256 == file.content->sha256 && size_ok) return {true, true, ""};
      problem += "; its decompressed content does not match either (sha256 " + g.sha256 + ")";
    } catch (const Error& e) {
      if (e.exit_code() == kExitInterrupted) throw;
      problem += "; and it does not decompress";
    }
  }
  return {false, false, problem};
}

Downloaded download_file(const RemoteFile& file, const std::vector<std::string>& urls, const fs::path& dest,
                         const DownloadSettings& settings, FetchObserver& observer) {
  const std::atomic<bool>* cancel = settings.cancel;
  const RetryPolicy& policy = settings.retry;
  fs::path part = dest;
  part += ".part";
  fs::path meta = dest;
  meta += ".part.json";
  std::error_code ec;
  fs::create_directories(dest.parent_path(), ec);
  if (ec) throw Error("cannot create folder " + dest.parent_path().string() + ": " + ec.message());

  HttpClient client(settings.http);
  Digest digest(preferred_digest(file), Digest::Background);
  Digest* checked = file.has_digest() ? &digest : nullptr;  // a size-only file is not hashed
  std::uint64_t hashed = 0;  // bytes of the .part that `digest` has seen
  std::vector<Failure> failures;
  bool all_unreachable = true;
  bool tls = false;
  Downloaded out;
  out.resumed = size_or_zero(part) > 0;

  auto on_progress = [&](std::uint64_t done, std::uint64_t total) {
    observer.transfer_progress(done, file.size != 0 ? file.size : total);
  };

  for (const std::string& url : urls) {
    const std::string host = url_host(url);
    int no_progress = 0;
    int attempts = 0;
    std::chrono::milliseconds backoff = policy.backoff;
    for (;;) {
      if (cancel != nullptr && cancel->load()) interrupted(part, file.size);
      std::uint64_t offset = size_or_zero(part);
      if (file.size != 0 && offset > file.size) {
        remove_quietly(part);
        remove_quietly(meta);
        offset = 0;
      }
      if (checked != nullptr && hashed != offset) {
        digest.reset();
        hash_file_into(part, offset, digest, cancel);
        hashed = offset;
      }

      AttemptResult r;
      if (file.size != 0 && offset == file.size) {
        r.outcome = Outcome::Complete;  // an earlier run got every byte but stopped before checking them
        r.part_size = offset;
      } else {
        observer.transfer_started(file.name, url, offset, file.size);
        r = client.download({url, part, offset, read_validator(meta), file.size}, checked, on_progress, cancel);
        observer.transfer_finished(r.part_size);
        hashed = r.part_size;
        out.transferred += r.received;
        ++attempts;
        ++out.attempts;
        if ((r.http_status == 200 || r.http_status == 206) && !r.validator.empty()) {
          write_file_atomic(meta, dump_json(nlohmann::json{{"url", url}, {"validator", r.validator}}) + "\n");
        }
        if (r.restarted) observer.notice(host + " sent the whole file instead of the rest; starting " + file.name + " over");
      }

      if (r.outcome == Outcome::Cancelled) interrupted(part, file.size);
      if (r.outcome == Outcome::Fatal) {
        std::string hint = r.write_errno == ENOSPC
                               ? "; the disk is full: free at least " +
                                     human_bytes(file.size > r.part_size ? file.size - r.part_size : 0) +
                                     " and run again (the partial download is kept and resumes)"
                               : "";
        throw Error(r.reason + hint);
      }
      if (r.outcome == Outcome::Complete) {
        std::string hex = checked != nullptr ? digest.hex() : "";  // hex() resets the digest
        hashed = 0;
        Verdict v = verify_file(file, part, hex, cancel);
        if (v.ok) {
          if (::rename(part.c_str(), dest.c_str()) != 0) {
            throw Error("cannot rename " + part.string() + " to " + dest.filename().string() + ": " +
                        std::strerror(errno));
          }
          remove_quietly(meta);
          out.url = url;
          out.by_content = v.by_content;
          return out;
        }
        remove_quietly(part);
        remove_quietly(meta);
        all_unreachable = false;
        failures.push_back({url, v.problem + "; the download was deleted"});
        observer.notice(file.name + " from " + host + ": " + v.problem + "; deleted it");
        break;
      }
      if (r.outcome == Outcome::NextMirror) {
        all_unreachable = all_unreachable && r.unreachable;
        tls = tls || r.tls;
        failures.push_back({url, r.reason});
        observer.notice(host + ": " + r.reason + (&url != &urls.back() ? "; trying the next mirror" : ""));
        break;
      }
      // Outcome::Retry
      if (r.received > 0) {
        no_progress = 0;
        backoff = policy.backoff;
      } else {
        ++no_progress;
      }
      if (no_progress >= policy.attempts_per_mirror || attempts >= policy.max_attempts) {
        all_unreachable = all_unreachable && r.unreachable;
        failures.push_back({url, r.reason + " (gave up after " + std::to_string(attempts) + " attempts)"});
        observer.notice(host + ": " + r.reason + "; giving up on this mirror");
        break;
      }
      std::chrono::milliseconds wait{0};
      if (r.retry_after) {
        auto asked = std::chrono::duration_cast<std::chrono::milliseconds>(*r.retry_after);
        if (asked > policy.max_retry_after) {
          all_unreachable = false;
          failures.push_back({url, r.reason + " (asked to come back in " + seconds_text(asked) + ")"});
          observer.notice(host + ": " + r.reason + ", asked to come back in " + seconds_text(asked) +
                          "; trying the next mirror");
          break;
        }
        wait = asked;
      } else if (r.received == 0) {
        wait = backoff;
        backoff = std::min(backoff * 2, policy.max_backoff);
      }
      std::string when = wait.count() == 0 ? "resuming" : "retrying in " + seconds_text(wait);
      observer.notice(host + ": " + r.reason + "; " + when + " (attempt " + std::to_string(attempts + 1) + ")");
      sleep_cancellable(wait, cancel);
    }
  }
  all_failed(file, failures, all_unreachable && !failures.empty(), tls, part);
}

}  // namespace tito::data
