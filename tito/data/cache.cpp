#include "data/cache.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <nlohmann/json.hpp>

#include "data/digest.hpp"
#include "data/extract.hpp"
#include "data/lock.hpp"
#include "data/observer.hpp"
#include "util/env.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"
#include "util/text.hpp"

namespace tito::data {

namespace {

using json = nlohmann::json;

constexpr const char* kMarker = "tito-cache.json";

struct Layout {
  fs::path root;       // <cache>/<name>
  fs::path downloads;  // <cache>/<name>/downloads
  fs::path data;       // <cache>/<name>/<dir>
  fs::path marker;     // <cache>/<name>/tito-cache.json

  Layout(const Dataset& d, const fs::path& cache)
      : root(cache / d.name), downloads(root / "downloads"), data(root / d.dir), marker(root / kMarker) {}
  fs::path download(const RemoteFile& f) const { return downloads / f.name; }
  fs::path part(const RemoteFile& f) const { return downloads / (f.name + ".part"); }
};

bool present(const fs::path& p) {
  std::error_code ec;
  return fs::exists(p, ec);
}

void remove_all_or_throw(const fs::path& p) {
  std::error_code ec;
  fs::remove_all(p, ec);
  if (ec) throw Error("cannot remove " + p.string() + ": " + ec.message());
}

void create_dirs(const fs::path& p) {
  std::error_code ec;
  fs::create_directories(p, ec);
  if (ec) throw Error("cannot create folder " + p.string() + ": " + ec.message());
}

std::uint64_t tree_size(const fs::path& dir) {
  std::uint64_t total = 0;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->is_regular_file(ec) && !it->is_symlink(ec)) total += file_size_or_zero(it->path());
  }
  return total;
}

std::string now_utc() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::optional<json> read_marker(const Layout& l) {
  std::optional<std::string> text;
  try {
    text = read_file_if_exists(l.marker);
  } catch (const Error&) {
    return std::nullopt;
  }
  if (!text) return std::nullopt;
  json j = json::parse(*text, nullptr, false);
  if (!j.is_object()) return std::nullopt;
  return j;
}

bool marker_matches(const Dataset& d, const Layout& l) {
  std::optional<json> m = read_marker(l);
  return m && m->value("fingerprint", "") == d.fingerprint();
}

void write_marker(const Dataset& d, const Layout& l) {
  json j{{"dataset", d.name}, {"fingerprint", d.fingerprint()}, {"verified_at", now_utc()}, {"dir", d.dir}};
  for (const RemoteFile& f : d.files) {
    j["files"].push_back({{"name", f.name}, {"size", f.size}, {"sha256", f.sha256}, {"md5", f.md5}});
  }
  write_file_atomic(l.marker, j.dump(2) + "\n");
}

// The first expected file that is missing or has the wrong size, or "".
std::string missing_content(const Dataset& d, const fs::path& dir) {
  for (const ContentFile& c : d.expected_contents()) {
    fs::path p = dir / c.path;
    std::error_code ec;
    if (!fs::is_regular_file(p, ec)) return d.dir + "/" + c.path + " is missing";
    std::uint64_t size = file_size_or_zero(p);
    if (c.size != 0 && size != c.size) {
      return d.dir + "/" + c.path + " has " + std::to_string(size) + " bytes, expected " + std::to_string(c.size);
    }
  }
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return d.dir + "/ is missing";
  return "";
}

bool is_ready(const Dataset& d, const Layout& l) { return marker_matches(d, l) && missing_content(d, l.data).empty(); }

void remove_leftovers(const Layout& l) {
  std::error_code ec;
  for (fs::directory_iterator it(l.root, ec), end; !ec && it != end; it.increment(ec)) {
    std::string name = it->path().filename().string();
    if (name.rfind(".unpack-", 0) == 0) fs::remove_all(it->path(), ec);
  }
}

std::string content_problem(const ContentFile& c, const fs::path& path, const std::atomic<bool>* cancel) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) return "missing";
  std::uint64_t size = file_size_or_zero(path);
  if (c.size != 0 && size != c.size) {
    return "has " + std::to_string(size) + " bytes, expected " + std::to_string(c.size);
  }
  if (!c.sha256.empty()) {
    std::string got = hash_file(path, DigestKind::Sha256, cancel);
    if (got != c.sha256) return "checksum mismatch: expected sha256 " + c.sha256 + ", got " + got;
  }
  return "";
}

// Unpacks every download into a temporary folder, checks the result, then
// renames it into place.
void unpack(const Dataset& d, const Layout& l, const std::atomic<bool>* cancel, FetchObserver& observer) {
  TempDir temp(l.root, ".unpack-");  // what is left of it after the rename is removed with it
  fs::path target = temp.path() / d.dir;
  for (const RemoteFile& f : d.files) {
    fs::path source = l.download(f);
    switch (f.unpack) {
      case Unpack::Archive:
        observer.stage("extracting " + f.name);
        try {
          extract_archive(source, temp.path(), cancel);
        } catch (const Error& e) {
          if (e.exit_code() == kExitInterrupted) throw;
          remove_quietly(source);
          throw Error(std::string(e.what()) + "; the download was removed");
        }
        break;
      case Unpack::Gzip: {
        observer.stage("decompressing " + f.name);
        create_dirs(target);
        fs::path out = target / f.content->path;
        create_dirs(out.parent_path());
        Gunzipped g;
        try {
          g = gunzip_file(source, out, cancel);
        } catch (const Error& e) {
          if (e.exit_code() == kExitInterrupted) throw;
          remove_quietly(source);
          throw Error(std::string(e.what()) + "; the download was removed");
        }
        bool size_ok = f.content->size == 0 || g.size == f.content->size;
        bool sha_ok = f.content->sha256.empty() || g.sha256 == f.content->sha256;
        if (!size_ok || !sha_ok) {
          remove_quietly(source);
          throw Error(f.name + " decompresses to " + std::to_string(g.size) + " bytes with sha256 " + g.sha256 +
                      ", but the registry expects " + std::to_string(f.content->size) + " bytes" +
                      (f.content->sha256.empty() ? "" : " with sha256 " + f.content->sha256) +
                      "; the download was removed: run again to fetch it anew");
        }
        break;
      }
      case Unpack::None: {
        create_dirs(target);
        std::error_code ec;
        fs::create_hard_link(source, target / f.name, ec);
        if (ec) {
          fs::copy_file(source, target / f.name, fs::copy_options::overwrite_existing, ec);
          if (ec) throw Error("cannot copy " + source.string() + " into " + target.string() + ": " + ec.message());
        }
        break;
      }
    }
  }
  for (const ContentFile& c : d.contents) {
    std::string problem = content_problem(c, target / c.path, cancel);
    if (!problem.empty()) {
      throw Error("after unpacking " + d.name + ", " + d.dir + "/" + c.path + " " + problem +
                  ": the download does not hold what the registry describes (check the registry, or run with --force)");
    }
  }
  std::error_code ec;
  if (!fs::is_directory(target, ec)) {
    throw Error("unpacking " + d.name + " made no " + d.dir + "/ folder: the registry's \"dir\" does not match the archive");
  }
  remove_all_or_throw(l.data);
  if (::rename(target.c_str(), l.data.c_str()) != 0) {
    throw Error("cannot rename " + target.string() + " to " + l.data.string() + ": " + std::strerror(errno));
  }
}

// Copies `source` into the cache as `dest`, if it is the registry's file.
void import_file(const RemoteFile& f, const fs::path& source, const fs::path& dest, const std::atomic<bool>* cancel,
                 FetchObserver& observer) {
  observer.stage("importing " + f.name + " from " + source.string());
  create_dirs(dest.parent_path());
  fs::path temp = dest;
  temp += ".import.part";
  std::error_code ec;
  fs::copy_file(source, temp, fs::copy_options::overwrite_existing, ec);
  if (ec) {
    remove_quietly(temp);
    std::string hint = ec == std::errc::no_space_on_device ? " (the disk is full: free some space and run again)" : "";
    throw Error("cannot copy " + source.string() + " into the cache: " + ec.message() + hint);
  }
  Verdict v = verify_file(f, temp, "", cancel);
  if (!v.ok) {
    remove_quietly(temp);
    throw Error(source.string() + " is not the registry's " + f.name + ": " + v.problem + "; it was not imported");
  }
  if (v.by_content) observer.notice(f.name + ": recompressed copy, accepted because its content matches");
  if (::rename(temp.c_str(), dest.c_str()) != 0) {
    throw Error("cannot rename " + temp.string() + " to " + dest.filename().string() + ": " + std::strerror(errno));
  }
}

// Where `f` is in the --from file or folder, or nullopt.
std::optional<fs::path> find_in(const fs::path& from, const Dataset& d, const RemoteFile& f) {
  std::error_code ec;
  if (fs::is_directory(from, ec)) {
    fs::path p = from / f.name;
    if (fs::is_regular_file(p, ec)) return p;
    return std::nullopt;
  }
  if (from.filename() == f.name || d.files.size() == 1) return from;
  return std::nullopt;
}

std::vector<std::string> urls_for(const Dataset& d, const RemoteFile& f, const std::vector<std::string>& extra) {
  std::vector<std::string> urls;
  for (std::string base : extra) {
    if (!base.empty() && base.back() != '/') base += '/';
    urls.push_back(base + f.name);
  }
  for (const std::string& base : d.mirrors) urls.push_back(base + f.name);
  return urls;
}

void check_space(const Dataset& d, const Layout& l, const FetchOptions& o, FetchObserver& observer) {
  if (!o.free_space) return;
  std::uint64_t need = 0;
  for (const RemoteFile& f : d.files) {
    if (present(l.download(f))) continue;
    std::uint64_t have = file_size_or_zero(l.part(f));
    if (f.size > have) need += f.size - have;
  }
  for (const ContentFile& c : d.expected_contents()) need += c.size;
  FreeSpace space = o.free_space(l.root);
  if (!space.bytes) {
    observer.notice("cannot tell how much disk space is free in " + l.root.string() + " (" + space.problem +
                    "); fetching without checking that " + human_bytes(need) + " fit");
    return;
  }
  std::uint64_t free = *space.bytes;
  if (free < need) {
    throw Error("not enough disk space for " + d.name + " in " + l.root.string() + ": it needs " + human_bytes(need) +
                " more and " + human_bytes(free) + " is free; free some space, or put the cache on a bigger disk with "
                "--cache DIR (or TITO_DATA_DIR)");
  }
}

}  // namespace

FetchOptions FetchOptions::from_environment() {
  FetchOptions o;
  o.offline = env_flag("TITO_OFFLINE");
  o.download.http = HttpSettings::from_environment();
  o.download.http.connect_timeout_s = env_count("TITO_FETCH_CONNECT_TIMEOUT", o.download.http.connect_timeout_s);
  o.download.http.low_speed_time_s = env_count("TITO_FETCH_LOW_SPEED_TIME", o.download.http.low_speed_time_s);
  long backoff = env_count("TITO_FETCH_BACKOFF_MS", o.download.retry.backoff.count());
  o.download.retry.backoff = std::chrono::milliseconds(backoff);
  o.download.retry.max_backoff = std::max(o.download.retry.max_backoff, o.download.retry.backoff);
  o.download.retry.attempts_per_mirror =
      static_cast<int>(env_count("TITO_FETCH_ATTEMPTS", o.download.retry.attempts_per_mirror));
  o.lock_timeout = std::chrono::seconds(env_count("TITO_LOCK_TIMEOUT", 2 * 3600));
  o.free_space = [](const fs::path& p) -> FreeSpace {
    std::error_code ec;
    fs::space_info s = fs::space(p, ec);
    if (ec) return {std::nullopt, ec.message()};
    return {s.available, ""};
  };
  return o;
}

const char* describe(CacheState state) {
  switch (state) {
    case CacheState::Missing: return "not cached";
    case CacheState::Partial: return "partial";
    case CacheState::Downloaded: return "downloaded";
    case CacheState::Ready: return "ready";
    case CacheState::Damaged: return "damaged";
  }
  return "?";
}

FetchReport fetch_dataset(const Dataset& d, const fs::path& cache, const FetchOptions& o, FetchObserver& observer) {
  const std::atomic<bool>* cancel = o.download.cancel;
  Layout l(d, cache);
  FetchReport report;
  report.path = l.data;
  create_dirs(l.root);
  DatasetLock lock(cache, d.name, o.lock_timeout, cancel, observer);
  report.waited_for_lock = lock.waited();
  remove_leftovers(l);
  if (!o.force && is_ready(d, l)) {
    report.already_cached = true;
    return report;
  }
  remove_quietly(l.marker);
  if (o.force) {
    remove_all_or_throw(l.data);
    remove_all_or_throw(l.downloads);
  }
  if (!o.from && !o.offline) check_space(d, l, o, observer);

  std::vector<std::string> missing;
  for (const RemoteFile& f : d.files) {
    fs::path dest = l.download(f);
    if (present(dest)) {
      observer.stage("verifying " + f.name);
      Verdict v = verify_file(f, dest, "", cancel);
      if (v.ok) {
        report.files.push_back(f.name + ": already downloaded");
        continue;
      }
      observer.notice(f.name + " in the cache is damaged (" + v.problem + "); deleting it");
      remove_quietly(dest);
    }
    if (o.from) {
      std::optional<fs::path> source = find_in(*o.from, d, f);
      if (!source) {
        missing.push_back(f.name);
        continue;
      }
      import_file(f, *source, dest, cancel, observer);
      report.files.push_back(f.name + ": imported from " + source->string());
      continue;
    }
    if (o.offline) {
      missing.push_back(f.name + " (" + human_bytes(f.size) + ")");
      continue;
    }
    std::vector<std::string> urls = urls_for(d, f, o.mirrors);
    if (urls.empty()) {
      throw Error("the registry lists no mirror for " + d.name + ": pass --mirror URL, or --from FILE with a copy of " +
                  f.name);
    }
    Downloaded got = download_file(f, urls, dest, o.download, observer);
    report.transferred += got.transferred;
    report.files.push_back(f.name + ": downloaded from " + url_host(got.url) +
                           (got.by_content ? " (recompressed; content verified)" : ""));
  }
  if (!missing.empty() && o.from) {
    throw Error(o.from->string() + " does not hold " + join(missing) + " (the names the registry uses) for " + d.name +
                "; pass the folder that holds " + (d.files.size() == 1 ? "it" : "them") + ", or fetch without --from");
  }
  if (!missing.empty()) {
    std::vector<std::string> urls;
    for (const RemoteFile& f : d.files) {
      if (!present(l.download(f)) && !d.mirrors.empty()) urls.push_back(d.mirrors.front() + f.name);
    }
    throw Error("TITO_OFFLINE is set, so nothing is downloaded, and " + d.name + " still needs " + join(missing) +
                ".\nDownload " + (missing.size() == 1 ? "it" : "them") + " elsewhere" +
                (urls.empty() ? "" : " (" + join(urls) + ")") + " and run `tito data fetch " + d.name +
                " --from DIR`, or unset TITO_OFFLINE");
  }

  unpack(d, l, cancel, observer);
  write_marker(d, l);
  return report;
}

DatasetStatus dataset_status(const Dataset& d, const fs::path& cache) {
  Layout l(d, cache);
  DatasetStatus s;
  std::error_code ec;
  if (!fs::is_directory(l.root, ec)) return s;
  s.bytes_on_disk = tree_size(l.root);
  if (marker_matches(d, l)) {
    s.detail = missing_content(d, l.data);
    s.state = s.detail.empty() ? CacheState::Ready : CacheState::Damaged;
    if (std::optional<json> m = read_marker(l)) s.verified_at = m->value("verified_at", "");
    return s;
  }
  int downloaded = 0;
  std::uint64_t partial = 0;
  for (const RemoteFile& f : d.files) {
    if (present(l.download(f))) ++downloaded;
    partial += file_size_or_zero(l.part(f));
  }
  if (downloaded == static_cast<int>(d.files.size())) {
    s.state = CacheState::Downloaded;
    s.detail = "not unpacked yet";
  } else if (downloaded > 0 || partial > 0) {
    s.state = CacheState::Partial;
    s.detail = std::to_string(downloaded) + " of " + std::to_string(d.files.size()) + " files" +
               (partial > 0 ? ", " + human_bytes(partial) + " in .part files" : "");
  }
  return s;
}

VerifyReport verify_dataset(const Dataset& d, const fs::path& cache, const FetchOptions& o, FetchObserver& observer) {
  const std::atomic<bool>* cancel = o.download.cancel;
  Layout l(d, cache);
  std::error_code ec;
  if (!fs::is_directory(l.root, ec)) {
    throw Error(d.name + " is not in the cache (" + l.root.string() + "): run `tito data fetch " + d.name + "`");
  }
  DatasetLock lock(cache, d.name, o.lock_timeout, cancel, observer);
  VerifyReport report;
  for (const RemoteFile& f : d.files) {
    FileCheck c{"downloads/" + f.name, false, ""};
    fs::path p = l.download(f);
    if (!present(p)) {
      c.problem = "missing";
    } else {
      observer.stage("verifying " + f.name);
      Verdict v = verify_file(f, p, "", cancel);
      c.ok = v.ok;
      c.problem = v.problem;
    }
    report.checks.push_back(c);
  }
  for (const ContentFile& content : d.expected_contents()) {
    std::string rel = d.dir + "/" + content.path;
    observer.stage("verifying " + rel);
    std::string problem = content_problem(content, l.data / content.path, cancel);
    report.checks.push_back({rel, problem.empty(), problem});
  }
  report.ok = true;
  for (const FileCheck& c : report.checks) report.ok = report.ok && c.ok;
  if (report.ok) {
    write_marker(d, l);
  } else {
    remove_quietly(l.marker);
  }
  return report;
}

std::uint64_t clean_dataset(const Dataset& d, const fs::path& cache, const FetchOptions& o, FetchObserver& observer) {
  Layout l(d, cache);
  std::error_code ec;
  if (!fs::is_directory(l.root, ec)) return 0;
  DatasetLock lock(cache, d.name, o.lock_timeout, o.download.cancel, observer);
  std::uint64_t bytes = tree_size(l.root);
  remove_all_or_throw(l.root);
  return bytes;
}

fs::path dataset_path(const Dataset& d, const fs::path& cache) {
  Layout l(d, cache);
  if (is_ready(d, l)) return l.data;
  DatasetStatus s = dataset_status(d, cache);
  throw Error(d.name + " is not ready in " + cache.string() + " (" + describe(s.state) +
              (s.detail.empty() ? "" : ": " + s.detail) + "): run `tito data fetch " + d.name + "`");
}

}  // namespace tito::data
