// Helpers shared by the data tests and the fetch benchmark: archives built
// in memory, small CIFAR-10-format data, registries pointing at a loopback
// server, an observer that records what the engine reports.
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <mutex>
#include <ostream>
#include <string>
#include <vector>

#include "data/observer.hpp"

namespace tito::testing {

namespace fs = std::filesystem;

struct TarEntry {
  enum Kind { File, Dir, Symlink, Hardlink, CharDevice, BlockDevice, Fifo };
  Kind kind = File;
  std::string path;
  std::string content;  // File
  std::string target;   // Symlink, Hardlink
};

// For test names and failure messages.
inline void PrintTo(const TarEntry& e, std::ostream* os) { *os << e.path; }

// A gzip-compressed tar (pax) archive holding `entries`, in order.
std::string make_tar_gz(const std::vector<TarEntry>& entries);

// `content` gzip-compressed.
std::string make_gzip(const std::string& content);

// `records` CIFAR-10 binary records (label byte + 3,072 pixel bytes); record
// i has label (i + seed) % 10 and a colour pattern that depends on i.
std::string cifar_batch(std::size_t records, int seed);

// A cifar-10-binary.tar.gz look-alike: cifar-10-batches-bin/ with five
// training batches, a test batch and batches.meta.txt.
std::string cifar_archive(std::size_t records_per_batch);

// A registry with one dataset "cifar10" whose archive is `archive`, served
// from each of `mirrors` (base URLs).
std::string cifar_registry(const std::vector<std::string>& mirrors, const std::string& archive,
                           std::size_t records_per_batch);

std::string md5_hex(const std::string& data);

// A port on 127.0.0.1 where nothing listens (yet): connections are refused.
int unused_loopback_port();

// Writes `content` to `path`, creating folders.
void write_bytes(const fs::path& path, const std::string& content);

// Records the engine's reports.
class RecordingObserver : public data::FetchObserver {
 public:
  void stage(const std::string& what) override;
  void transfer_started(const std::string& file, const std::string& source, std::uint64_t offset,
                        std::uint64_t total) override;
  void transfer_progress(std::uint64_t done, std::uint64_t total) override;
  void notice(const std::string& message) override;

  std::vector<std::string> stages() const;
  std::vector<std::string> notices() const;
  std::vector<std::uint64_t> start_offsets() const;
  std::uint64_t last_done() const { return last_done_; }
  // All notices, one per line, for failure messages.
  std::string notices_text() const;

  // When set, the observer sets it once a transfer has `cancel_after` bytes.
  std::atomic<bool>* cancel = nullptr;
  std::uint64_t cancel_after = 0;

 private:
  mutable std::mutex mutex_;
  std::vector<std::string> stages_, notices_;
  std::vector<std::uint64_t> offsets_;
  std::atomic<std::uint64_t> last_done_{0};
};

}  // namespace tito::testing
