#include "util/fs.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "util/error.hpp"

namespace tito {

std::optional<std::string> read_file_if_exists(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::error_code ec;
    if (!fs::exists(path, ec)) return std::nullopt;
    throw Error("cannot read " + path.string() + ": " + std::strerror(errno));
  }
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return std::move(buffer).str();
}

std::string read_file(const fs::path& path) {
  std::optional<std::string> content = read_file_if_exists(path);
  if (!content) throw Error("cannot read " + path.string() + ": no such file");
  return *content;
}

namespace {

[[noreturn]] void fail_write(const fs::path& path, const std::string& what, int err) {
  std::string hint = err == ENOSPC ? " (the disk is full: free some space and run again)" : "";
  throw Error("cannot write " + path.string() + ": " + what + ": " + std::strerror(err) + hint);
}

}  // namespace

void write_file_atomic(const fs::path& path, std::string_view content) {
  std::error_code ec;
  if (path.has_parent_path()) {
    fs::create_directories(path.parent_path(), ec);
    if (ec) throw Error("cannot create folder " + path.parent_path().string() + ": " + ec.message());
  }
  std::string temp = (path.parent_path() / ("." + path.filename().string() + ".tito-XXXXXX")).string();
  int fd = ::mkstemp(temp.data());
  if (fd < 0) fail_write(path, "cannot create a temporary file", errno);
  const char* data = content.data();
  std::size_t left = content.size();
  while (left > 0) {
    ssize_t n = ::write(fd, data, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      ::unlink(temp.c_str());
      fail_write(path, "write failed", err);
    }
    data += n;
    left -= static_cast<std::size_t>(n);
  }
  ::fchmod(fd, 0644);
  if (::close(fd) != 0) {
    int err = errno;
    ::unlink(temp.c_str());
    fail_write(path, "close failed", err);
  }
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(temp.c_str());
    fail_write(path, "rename failed", err);
  }
}

std::uintmax_t file_size_or_zero(const fs::path& path) {
  std::error_code ec;
  std::uintmax_t size = fs::file_size(path, ec);
  return ec ? 0 : size;
}

std::string display_path(const fs::path& path, const fs::path& base) {
  fs::path rel = path.lexically_relative(base);
  if (rel.empty() || *rel.begin() == "..") return path.string();
  return rel.string();
}

TempDir::TempDir(std::string_view prefix) {
  std::error_code ec;
  fs::path root = fs::temp_directory_path(ec);
  if (ec) root = "/tmp";
  std::string pattern = (root / (std::string(prefix) + "-XXXXXX")).string();
  if (::mkdtemp(pattern.data()) == nullptr) {
    throw Error("cannot create a temporary folder in " + root.string() + ": " + std::strerror(errno));
  }
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

}  // namespace tito
