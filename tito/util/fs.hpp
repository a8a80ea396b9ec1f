// File helpers: whole-file reads and never-half-written writes.
#pragma once

#include <filesystem>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tito {

namespace fs = std::filesystem;

// The whole file; throws tito::Error naming the path when it cannot be read.
std::string read_file(const fs::path& path);

// The whole file, or nullopt when it does not exist.
std::optional<std::string> read_file_if_exists(const fs::path& path);

// Writes `content` to a temporary file in the same folder, flushes it and
// renames it over `path`: readers see the old file or the new one, never a
// mix. Creates missing parent folders. Throws tito::Error on failure and
// leaves no temporary file behind.
void write_file_atomic(const fs::path& path, std::string_view content);

// The size of a file, or 0 when it does not exist or cannot be read.
std::uintmax_t file_size_or_zero(const fs::path& path);

// `path` relative to `base` when it lies inside it, else `path` unchanged.
std::string display_path(const fs::path& path, const fs::path& base);

// A fresh folder under the system temp dir that removes itself.
class TempDir {
 public:
  explicit TempDir(std::string_view prefix = "tito");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

}  // namespace tito
