// File helpers: whole-file reads of regular files only, never-half-written
// writes, and temporary folders that clean up after themselves.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "util/error.hpp"

namespace tito {

namespace fs = std::filesystem;

// Why a file cannot be read: the path and the reason ("it is a folder, not
// a file"), for callers that report it at the path the user knows.
class ReadError : public Error {
 public:
  ReadError(const fs::path& path, const std::string& reason);
  const std::string& reason() const noexcept { return reason_; }

 private:
  std::string reason_;
};

// The most tito reads of one file unless a caller says otherwise: far more
// than any course file a person writes, far less than a runaway read.
inline constexpr std::uintmax_t kMaxReadBytes = std::uintmax_t{64} << 20;

// The whole regular file at `path`. Throws tito::Error naming the path when
// nothing is there, when it is a folder, a FIFO, a device or a socket (never
// blocks on one), when it holds more than `max_bytes`, or when it cannot be
// read.
std::string read_file(const fs::path& path, std::uintmax_t max_bytes = kMaxReadBytes);

// The same, or nullopt when nothing is at `path`.
std::optional<std::string> read_file_if_exists(const fs::path& path, std::uintmax_t max_bytes = kMaxReadBytes);

// Writes `content` to a temporary file in the same folder, flushes it and
// renames it over `path`: readers see the old file or the new one, never a
// mix. Creates missing parent folders. Throws tito::Error on failure and
// leaves no temporary file behind.
void write_file_atomic(const fs::path& path, std::string_view content);

// A file written next to its final name but not yet renamed over it: the
// first half of write_file_atomic, for writing many files all or nothing.
// Removed when destroyed unless committed.
class StagedFile {
 public:
  // Writes `content` to a temporary name beside `path` (creating folders).
  StagedFile(const fs::path& path, std::string_view content);
  ~StagedFile();
  StagedFile(StagedFile&& other) noexcept;
  StagedFile& operator=(StagedFile&&) = delete;
  StagedFile(const StagedFile&) = delete;
  StagedFile& operator=(const StagedFile&) = delete;

  const fs::path& path() const { return path_; }
  // Renames the temporary file over `path`. Throws tito::Error on failure.
  void commit();

 private:
  fs::path path_;
  std::string temp_;
};

// The size of a file, or 0 when it does not exist or cannot be read.
std::uintmax_t file_size_or_zero(const fs::path& path);

// Removes the file if it is there; a failure is ignored (for clean-ups whose
// own failure would hide the error being reported).
void remove_quietly(const fs::path& path) noexcept;

// `path` relative to `base` when it lies inside it, else `path` unchanged.
std::string display_path(const fs::path& path, const fs::path& base);

// A fresh folder that removes itself (and everything in it) unless kept.
class TempDir {
 public:
  // Under the system's temporary folder: <tmp>/<prefix>-XXXXXX.
  explicit TempDir(std::string_view prefix = "tito");
  // Under `parent` (which must exist): <parent>/<prefix>XXXXXX, so that it
  // can be renamed into place on the same file system.
  TempDir(const fs::path& parent, std::string_view prefix);
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const fs::path& path() const { return path_; }
  // Stops removing it: it was renamed into place, or is kept to look at.
  void keep() { kept_ = true; }

 private:
  fs::path path_;
  bool kept_ = false;
};

}  // namespace tito
