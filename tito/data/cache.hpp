// The dataset cache: fetch (download or import, verify, unpack), status,
// verify, clean, path. The layout under the cache root:
//
//   .locks/<name>.lock                 the dataset's lock (never deleted)
//   <name>/downloads/<file>            a verified download
//   <name>/downloads/<file>.part       a download in progress (resumable)
//   <name>/downloads/<file>.part.json  its ETag / Last-Modified, for If-Range
//   <name>/.unpack-XXXXXX/             unpacking in progress (renamed when done)
//   <name>/<dir>/                      the dataset's files: what `tito data path` prints
//   <name>/tito-cache.json             written last: what was verified, and when
//
// A dataset is ready exactly when tito-cache.json matches the registry and
// every expected file is there with its size. Everything else is unfinished
// work that the next fetch completes or redoes; nothing is ever half-written
// under a final name.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "data/download.hpp"
#include "data/registry.hpp"

namespace tito::data {

class FetchObserver;

// Free bytes where the cache is, or why they cannot be told.
struct FreeSpace {
  std::optional<std::uint64_t> bytes;
  std::string problem;  // without bytes: "Permission denied"
};

struct FetchOptions {
  std::vector<std::string> mirrors;  // base URLs tried before the registry's (--mirror)
  std::optional<fs::path> from;      // import from this file or folder instead of downloading (--from)
  bool force = false;                // fetch and unpack again even when the cache is ready
  bool offline = false;              // never touch the network (TITO_OFFLINE=1)
  DownloadSettings download;
  std::chrono::milliseconds lock_timeout{std::chrono::hours(2)};
  // Free bytes at a path; tests replace it to simulate a full disk. Unset:
  // the space is not checked.
  std::function<FreeSpace(const fs::path&)> free_space;

  // Defaults, TITO_OFFLINE, certificate variables, and the tuning variables
  // meant for tests: TITO_FETCH_BACKOFF_MS, TITO_FETCH_ATTEMPTS,
  // TITO_FETCH_LOW_SPEED_TIME (s), TITO_FETCH_CONNECT_TIMEOUT (s),
  // TITO_LOCK_TIMEOUT (s).
  static FetchOptions from_environment();
};

struct FetchReport {
  fs::path path;                    // the dataset's folder
  bool already_cached = false;      // nothing had to be done
  bool waited_for_lock = false;
  std::uint64_t transferred = 0;    // bytes over the network
  std::vector<std::string> files;   // one line per file: "cifar-10-binary.tar.gz: downloaded from host"
};

// Makes the dataset ready in `cache`. Takes the dataset's lock for the whole
// job. Throws tito::Error saying what to do when it cannot.
FetchReport fetch_dataset(const Dataset& dataset, const fs::path& cache, const FetchOptions& options,
                          FetchObserver& observer);

enum class CacheState {
  Missing,     // nothing in the cache
  Partial,     // some downloads, or a .part
  Downloaded,  // every download is there, not unpacked (or the registry changed)
  Ready,       // verified and unpacked
  Damaged,     // marked ready, but a file is missing or has the wrong size
};

// "not cached", "partial", "downloaded", "ready", "damaged".
const char* describe(CacheState state);

struct DatasetStatus {
  CacheState state = CacheState::Missing;
  std::uint64_t bytes_on_disk = 0;
  std::string verified_at;  // ISO 8601 UTC, when ready
  std::string detail;       // what is missing or wrong
};

// A cheap look (sizes, no hashing) at the dataset's cache folder.
DatasetStatus dataset_status(const Dataset& dataset, const fs::path& cache);

struct FileCheck {
  std::string path;  // relative to the dataset's cache folder
  bool ok = false;
  std::string problem;
};

struct VerifyReport {
  bool ok = false;
  std::vector<FileCheck> checks;
};

// Re-hashes every download and checks every unpacked file (size and, where
// the registry has it, SHA-256). When something is wrong the dataset is no
// longer marked ready, so the next fetch repairs it.
VerifyReport verify_dataset(const Dataset& dataset, const fs::path& cache, const FetchOptions& options,
                            FetchObserver& observer);

// Removes the dataset's cache folder. Returns the bytes freed.
std::uint64_t clean_dataset(const Dataset& dataset, const fs::path& cache, const FetchOptions& options,
                            FetchObserver& observer);

// The unpacked folder of a ready dataset; throws tito::Error saying how to
// fetch it otherwise.
fs::path dataset_path(const Dataset& dataset, const fs::path& cache);

}  // namespace tito::data
