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
  std::uint64_t have = file_size_or_zero(part);
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
  if (file_size_or_zero(part) > 0) msg += "\nThe partial download " + part.filename().string() + " is kept and resumes on the next run.";
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
  std::uint64_t size = file_size_or_zero(path);
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

namespace {

// One file's way through its mirrors: what outlives a single attempt.
class DownloadJob {
 public:
  DownloadJob(const RemoteFile& file, const fs::path& dest, const DownloadSettings& settings, FetchObserver& observer)
      : file_(file),
        dest_(dest),
        part_(fs::path(dest) += ".part"),
        meta_(fs::path(dest) += ".part.json"),
        settings_(settings),
        observer_(observer),
        client_(settings.http),
        digest_(preferred_digest(file), Digest::Background),
        checked_(file.has_digest() ? &digest_ : nullptr) {}

  // Tries each URL until one gives the verified file.
  Downloaded run(const std::vector<std::string>& urls) {
    out_.resumed = file_size_or_zero(part_) > 0;
    for (const std::string& url : urls) {
      if (try_mirror(url, &url == &urls.back())) return out_;
    }
    all_failed(file_, failures_, all_unreachable_ && !failures_.empty(), tls_, part_);
  }

 private:
  // The attempts on one mirror: its own count and backoff.
  struct Mirror {
    std::string url;
    std::string host;
    int attempts = 0;
    int no_progress = 0;
    std::chrono::milliseconds backoff;
  };

  // True when the mirror gave the verified file; false to try the next one.
  bool try_mirror(const std::string& url, bool last) {
    Mirror m{url, url_host(url), 0, 0, settings_.retry.backoff};
    for (;;) {
      if (cancelled()) interrupted(part_, file_.size);
      AttemptResult r = attempt(m, prepare_part());
      switch (r.outcome) {
        case Outcome::Cancelled:
          interrupted(part_, file_.size);
        case Outcome::Fatal:
          fatal(r);
        case Outcome::Complete:
          return finish(m);
        case Outcome::NextMirror:
          all_unreachable_ = all_unreachable_ && r.unreachable;
          tls_ = tls_ || r.tls;
          failures_.push_back({url, r.reason});
          observer_.notice(m.host + ": " + r.reason + (last ? "" : "; trying the next mirror"));
          return false;
        case Outcome::Retry:
          if (!wait_to_retry(m, r)) return false;
          break;
      }
    }
  }

  bool cancelled() const { return settings_.cancel != nullptr && settings_.cancel->load(); }

  // The bytes already in the .part, with the digest caught up on them.
  std::uint64_t prepare_part() {
    std::uint64_t offset = file_size_or_zero(part_);
    if (file_.size != 0 && offset > file_.size) {  // longer than the file can be: not ours
      remove_quietly(part_);
      remove_quietly(meta_);
      offset = 0;
    }
    if (checked_ != nullptr && hashed_ != offset) {
      digest_.reset();
      hash_file_into(part_, offset, digest_, settings_.cancel);
      hashed_ = offset;
    }
    return offset;
  }

  // One transfer from `offset` on, or none when an earlier run got every byte.
  AttemptResult attempt(Mirror& m, std::uint64_t offset) {
    if (file_.size != 0 && offset == file_.size) {
      AttemptResult done;  // ... but stopped before checking them
      done.outcome = Outcome::Complete;
      done.part_size = offset;
      return done;
    }
    observer_.transfer_started(file_.name, m.url, offset, file_.size);
    auto on_progress = [&](std::uint64_t got, std::uint64_t total) {
      observer_.transfer_progress(got, file_.size != 0 ? file_.size : total);
    };
    AttemptResult r =
        client_.download({m.url, part_, offset, read_validator(meta_), file_.size}, checked_, on_progress, settings_.cancel);
    observer_.transfer_finished(r.part_size);
    hashed_ = r.part_size;
    out_.transferred += r.received;
    ++m.attempts;
    ++out_.attempts;
    if ((r.http_status == 200 || r.http_status == 206) && !r.validator.empty()) {
      write_file_atomic(meta_, dump_json(nlohmann::json{{"url", m.url}, {"validator", r.validator}}) + "\n");
    }
    if (r.restarted) observer_.notice(m.host + " sent the whole file instead of the rest; starting " + file_.name + " over");
    return r;
  }

  [[noreturn]] void fatal(const AttemptResult& r) const {
    std::string hint = r.write_errno == ENOSPC
                           ? "; the disk is full: free at least " +
                                 human_bytes(file_.size > r.part_size ? file_.size - r.part_size : 0) +
                                 " and run again (the partial download is kept and resumes)"
                           : "";
    throw Error(r.reason + hint);
  }

  // Verifies the whole .part and renames it into place; a mismatch deletes it.
  bool finish(const Mirror& m) {
    std::string hex = checked_ != nullptr ? digest_.hex() : "";  // hex() resets the digest
    hashed_ = 0;
    Verdict v = verify_file(file_, part_, hex, settings_.cancel);
    if (v.ok) {
      if (::rename(part_.c_str(), dest_.c_str()) != 0) {
        throw Error("cannot rename " + part_.string() + " to " + dest_.filename().string() + ": " + std::strerror(errno));
      }
      remove_quietly(meta_);
      out_.url = m.url;
      out_.by_content = v.by_content;
      return true;
    }
    remove_quietly(part_);
    remove_quietly(meta_);
    all_unreachable_ = false;
    failures_.push_back({m.url, v.problem + "; the download was deleted"});
    observer_.notice(file_.name + " from " + m.host + ": " + v.problem + "; deleted it");
    return false;
  }

  // Waits before the next attempt on this mirror; false to give it up.
  bool wait_to_retry(Mirror& m, const AttemptResult& r) {
    const RetryPolicy& policy = settings_.retry;
    if (r.received > 0) {
      m.no_progress = 0;
      m.backoff = policy.backoff;
    } else {
      ++m.no_progress;
    }
    if (m.no_progress >= policy.attempts_per_mirror || m.attempts >= policy.max_attempts) {
      all_unreachable_ = all_unreachable_ && r.unreachable;
      failures_.push_back({m.url, r.reason + " (gave up after " + std::to_string(m.attempts) + " attempts)"});
      observer_.notice(m.host + ": " + r.reason + "; giving up on this mirror");
      return false;
    }
    std::chrono::milliseconds wait{0};
    if (r.retry_after) {
      auto asked = std::chrono::duration_cast<std::chrono::milliseconds>(*r.retry_after);
      if (asked > policy.max_retry_after) {
        all_unreachable_ = false;
        failures_.push_back({m.url, r.reason + " (asked to come back in " + seconds_text(asked) + ")"});
        observer_.notice(m.host + ": " + r.reason + ", asked to come back in " + seconds_text(asked) +
                         "; trying the next mirror");
        return false;
      }
      wait = asked;
    } else if (r.received == 0) {
      wait = m.backoff;
      m.backoff = std::min(m.backoff * 2, policy.max_backoff);
    }
    std::string when = wait.count() == 0 ? "resuming" : "retrying in " + seconds_text(wait);
    observer_.notice(m.host + ": " + r.reason + "; " + when + " (attempt " + std::to_string(m.attempts + 1) + ")");
    sleep_cancellable(wait, settings_.cancel);
    return true;
  }

  const RemoteFile& file_;
  fs::path dest_, part_, meta_;
  const DownloadSettings& settings_;
  FetchObserver& observer_;
  HttpClient client_;
  Digest digest_;
  Digest* checked_;          // the digest, or null for a size-only file (not hashed)
  std::uint64_t hashed_ = 0; // bytes of the .part that the digest has seen
  std::vector<Failure> failures_;
  bool all_unreachable_ = true;
  bool tls_ = false;
  Downloaded out_;
};

}  // namespace

Downloaded download_file(const RemoteFile& file, const std::vector<std::string>& urls, const fs::path& dest,
                         const DownloadSettings& settings, FetchObserver& observer) {
  std::error_code ec;
  fs::create_directories(dest.parent_path(), ec);
  if (ec) throw Error("cannot create folder " + dest.parent_path().string() + ": " + ec.message());
  return DownloadJob(file, dest, settings, observer).run(urls);
}

}  // namespace tito::data
