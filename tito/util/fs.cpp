#include "util/fs.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "util/error.hpp"
#include "util/fd.hpp"

namespace tito {

namespace {

std::string size_text(std::uintmax_t bytes) {
  if (bytes < (1 << 20)) return std::to_string(bytes) + " bytes";
  return std::to_string(bytes >> 20) + " MB";
}

[[noreturn]] void fail_read(const fs::path& path, const std::string& why) { throw ReadError(path, why); }

// What a path that is not a regular file is, for messages.
const char* kind_of(mode_t mode) {
  if (S_ISDIR(mode)) return "it is a folder, not a file";
  if (S_ISFIFO(mode)) return "it is a FIFO (a named pipe), not a regular file";
  if (S_ISCHR(mode) || S_ISBLK(mode)) return "it is a device, not a regular file";
  if (S_ISSOCK(mode)) return "it is a socket, not a regular file";
  return "it is not a regular file";
}

[[noreturn]] void fail_write(const fs::path& path, const std::string& what, int err) {
  std::string hint = err == ENOSPC ? " (the disk is full: free some space and run again)" : "";
  throw Error("cannot write " + path.string() + ": " + what + ": " + std::strerror(err) + hint);
}

void create_parent(const fs::path& path) {
  if (!path.has_parent_path()) return;
  std::error_code ec;
  fs::create_directories(path.parent_path(), ec);
  if (ec) throw Error("cannot create folder " + path.parent_path().string() + ": " + ec.message());
}

// Writes `content` to a fresh temporary file beside `path`; returns its name.
std::string write_temp(const fs::path& path, std::string_view content) {
  create_parent(path);
  std::string temp = (path.parent_path() / ("." + path.filename().string() + ".tito-XXXXXX")).string();
  Fd fd(::mkstemp(temp.data()));
  if (!fd.valid()) fail_write(path, "cannot create a temporary file", errno);
  int err = write_all(fd.get(), content);
  if (err == 0 && ::fchmod(fd.get(), 0644) != 0) err = errno;
  if (err == 0) err = fd.close();
  if (err != 0) {
    ::unlink(temp.c_str());
    fail_write(path, "write failed", err);
  }
  return temp;
}

void rename_over(const std::string& temp, const fs::path& path) {
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(temp.c_str());
    fail_write(path, err == EISDIR ? "a folder is in the way" : "rename failed", err);
  }
}

}  // namespace

ReadError::ReadError(const fs::path& path, const std::string& reason)
    : Error("cannot read " + path.string() + ": " + reason), reason_(reason) {}

std::optional<std::string> read_file_if_exists(const fs::path& path, std::uintmax_t max_bytes) {
  // O_NONBLOCK: opening a FIFO must not wait for a writer; fstat then refuses it.
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY));
  if (!fd.valid()) {
    if (errno == ENOENT || errno == ENOTDIR) return std::nullopt;
    fail_read(path, std::strerror(errno));
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) fail_read(path, std::strerror(errno));
  if (!S_ISREG(st.st_mode)) fail_read(path, kind_of(st.st_mode));
  auto too_big = [&] {
    fail_read(path, "it is larger than " + size_text(max_bytes) + ", more than tito reads of one file (is it the right file?)");
  };
  if (static_cast<std::uintmax_t>(st.st_size) > max_bytes) too_big();
  std::string content;
  content.reserve(static_cast<std::size_t>(st.st_size));
  char buffer[1 << 16];
  for (;;) {
    ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail_read(path, std::strerror(errno));
    if (n == 0) break;
    content.append(buffer, static_cast<std::size_t>(n));
    // Files of /proc say size 0 and may never end: the limit holds while reading too.
    if (content.size() > max_bytes) too_big();
  }
  return content;
}

std::string read_file(const fs::path& path, std::uintmax_t max_bytes) {
  std::optional<std::string> content = read_file_if_exists(path, max_bytes);
  if (!content) fail_read(path, "no such file");
  return *content;
}

void write_file_atomic(const fs::path& path, std::string_view content) {
  rename_over(write_temp(path, content), path);
}

StagedFile::StagedFile(const fs::path& path, std::string_view content) : path_(path), temp_(write_temp(path, content)) {}

StagedFile::StagedFile(StagedFile&& other) noexcept : path_(std::move(other.path_)), temp_(std::move(other.temp_)) {
  other.temp_.clear();
}

StagedFile::~StagedFile() {
  if (!temp_.empty()) ::unlink(temp_.c_str());
}

void StagedFile::commit() {
  std::string temp = std::move(temp_);
  temp_.clear();
  rename_over(temp, path_);
}

std::uintmax_t file_size_or_zero(const fs::path& path) {
  std::error_code ec;
  std::uintmax_t size = fs::file_size(path, ec);
  return ec ? 0 : size;
}

void remove_quietly(const fs::path& path) noexcept {
  std::error_code ec;
  fs::remove(path, ec);
}

std::string display_path(const fs::path& path, const fs::path& base) {
  fs::path rel = path.lexically_relative(base);
  if (rel.empty() || *rel.begin() == "..") return path.string();
  return rel.string();
}

namespace {

fs::path make_temp_dir(const fs::path& parent, const std::string& name_prefix, bool private_folder) {
  std::string pattern = (parent / (name_prefix + "XXXXXX")).string();
  if (::mkdtemp(pattern.data()) == nullptr) {
    throw Error("cannot create a temporary folder in " + parent.string() + ": " + std::strerror(errno));
  }
  if (private_folder) return pattern;
  // mkdtemp makes it private (0700); what is renamed into place is an ordinary folder.
  mode_t mask = ::umask(0);
  ::umask(mask);
  ::chmod(pattern.c_str(), 0777 & ~mask);
  return pattern;
}

}  // namespace

TempDir::TempDir(std::string_view prefix) {
  std::error_code ec;
  fs::path root = fs::temp_directory_path(ec);
  if (ec) root = "/tmp";
  path_ = make_temp_dir(root, std::string(prefix) + "-", true);
}

TempDir::TempDir(const fs::path& parent, std::string_view prefix) : path_(make_temp_dir(parent, std::string(prefix), false)) {}

TempDir::~TempDir() {
  if (kept_) return;
  std::error_code ec;
  fs::remove_all(path_, ec);
}

}  // namespace tito
