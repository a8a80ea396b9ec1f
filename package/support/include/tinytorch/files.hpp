// Hand-written support for the tinytorch library (not generated): files that are never
// half-written, and the checksum that file formats carry.
//
// Every file the library writes (a checkpoint, a CSV log, a PNG) goes through
// write_file_atomically: a reader, or a run killed half-way, sees the old file or the new
// one, never a mixture.
#pragma once

#include <cstdint>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>

namespace tinytorch::io {

// A file that cannot be read or written; what() names the file and the reason.
class FileError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Writes `content` to `path` so that nobody ever sees a half-written file: the bytes go to a
// temporary file in the same folder ("NAME.tmp-XXXXXX"), which is flushed to disk (fsync) and
// then renamed over `path` (rename is atomic within a file system). Missing parent folders
// are created. On failure the temporary file is removed and FileError names `path`.
void write_file_atomically(const std::filesystem::path& path, std::string_view content);

// The whole content of `path`; FileError naming it when it cannot be read.
std::string read_file(const std::filesystem::path& path);

// The CRC-32 of `bytes` (zlib's: the checksum of PNG, gzip and zip), continuing from `crc`.
std::uint32_t crc32(std::string_view bytes, std::uint32_t crc = 0);

}  // namespace tinytorch::io
