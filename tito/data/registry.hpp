// The dataset registry (data/datasets.json): where each dataset comes from,
// what its files weigh and hash to, and what they unpack into. The one place
// these facts live; see data/README.md for the format.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace tito::data {

namespace fs = std::filesystem;

// How a downloaded file becomes the dataset's files.
enum class Unpack {
  None,     // used as it is
  Archive,  // a (compressed) tar archive, extracted
  Gzip,     // one gzip-compressed file, decompressed
};

// A file the dataset's folder must hold once unpacked.
struct ContentFile {
  std::string path;             // relative to the dataset's folder ("data_batch_1.bin")
  std::uint64_t size = 0;       // 0: not checked
  std::string sha256;           // empty: not checked
};

// A file to download.
struct RemoteFile {
  std::string name;             // "cifar-10-binary.tar.gz": the name on every mirror and in the cache
  std::uint64_t size = 0;       // 0: unknown
  std::string md5;              // as published; empty when unknown
  std::string sha256;           // empty when unknown
  Unpack unpack = Unpack::None;
  // Unpack::Gzip: the decompressed file. Its checksum lets a file that was
  // recompressed (Debian's dataset packages are) be accepted by its content.
  std::optional<ContentFile> content;

  // True when the file has a checksum to verify a download against.
  bool has_digest() const { return !sha256.empty() || !md5.empty(); }
};

struct Dataset {
  std::string name;                     // "cifar10"
  std::string title;                    // "CIFAR-10 (binary version)"
  std::string homepage;
  std::string license;
  std::vector<std::string> mirrors;     // base URLs, tried in order; a file's URL is base + name
  std::vector<RemoteFile> files;
  std::string dir;                      // the unpacked folder, relative to the dataset's cache folder
  std::vector<ContentFile> contents;    // files expected in `dir` (with Unpack::Gzip, also each content)
  std::string format;                   // "cifar10-binary" or "idx": how `tito data show` reads it
  std::vector<std::string> classes;     // class names, by label
  std::map<std::string, std::vector<std::string>> splits;  // "train" -> its files in `dir`

  // The sum of the files' sizes (those that are known).
  std::uint64_t download_size() const;
  // Every file expected in `dir`: `contents` plus the content of each gzip file.
  std::vector<ContentFile> expected_contents() const;
  // A digest of everything above that the cache depends on: when the registry
  // changes a dataset, its cached copy is no longer taken as verified.
  std::string fingerprint() const;
};

// The most of a registry tito reads: the course's is a few kB.
inline constexpr std::uintmax_t kMaxRegistryBytes = std::uintmax_t{8} << 20;

class Registry {
 public:
  // Reads and checks the registry. Throws DiagnosticError at the file, the
  // line, the dataset and the field when something is wrong.
  static Registry load(const fs::path& path);
  static Registry parse(const std::string& text, const std::string& origin);

  const std::vector<Dataset>& datasets() const { return datasets_; }
  // The dataset called `name`; throws tito::Error listing the known ones.
  const Dataset& find(const std::string& name) const;
  const std::string& origin() const { return origin_; }

 private:
  std::string origin_;
  std::vector<Dataset> datasets_;
};

// Where the registry and the cache are.
struct DataLocations {
  fs::path registry;
  fs::path cache;
};

// Each from its option, else its environment variable (TITO_REGISTRY,
// TITO_DATA_DIR), else the course root (data/datasets.json, data/cache).
// Throws tito::Error saying what to pass when none of them is there.
DataLocations resolve_locations(const std::optional<fs::path>& course_root, const std::string& registry_option,
                                const std::string& cache_option);

}  // namespace tito::data
