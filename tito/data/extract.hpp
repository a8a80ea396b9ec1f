// Unpacking downloads with libarchive: tar archives (any compression) and
// single gzip files. Nothing an archive holds may land outside its folder.
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <string>

namespace tito::data {

namespace fs = std::filesystem;

struct ExtractStats {
  std::uint64_t entries = 0;
  std::uint64_t bytes = 0;  // of regular files
};

// Extracts every entry of `archive` into `dest` (an existing folder, best
// empty). Refuses, with tito::Error naming the entry, before writing it:
// absolute paths, ".." components, links whose target is absolute or holds
// "..", and device, FIFO or socket entries. A damaged or truncated archive is
// an error too. On error, what was written to `dest` stays there: extract into
// a temporary folder and remove it.
ExtractStats extract_archive(const fs::path& archive, const fs::path& dest, const std::atomic<bool>* cancel);

struct Gunzipped {
  std::uint64_t size = 0;
  std::string sha256;  // of the decompressed bytes
};

// Decompresses the gzip file `gz` into `out` (empty: only measures and
// hashes it). Throws tito::Error when the file is not gzip or is damaged.
Gunzipped gunzip_file(const fs::path& gz, const fs::path& out, const std::atomic<bool>* cancel);

}  // namespace tito::data
