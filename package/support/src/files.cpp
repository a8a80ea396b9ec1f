#include <tinytorch/files.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

namespace tinytorch::io {

namespace {

std::string reason(int error) { return std::strerror(error); }

// Closes the descriptor and removes the temporary file unless release() was called.
class TemporaryFile {
 public:
  TemporaryFile(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  ~TemporaryFile() {
    if (fd_ >= 0) ::close(fd_);
    if (!path_.empty()) ::unlink(path_.c_str());
  }
  TemporaryFile(const TemporaryFile&) = delete;
  TemporaryFile& operator=(const TemporaryFile&) = delete;

  int fd() const { return fd_; }
  const std::string& path() const { return path_; }
  // Closes the descriptor; returns the errno of close, 0 on success.
  int close() {
    const int result = ::close(fd_);
    fd_ = -1;
    return result == 0 ? 0 : errno;
  }
  // The file is in place: do not remove it.
  void release() { path_.clear(); }

 private:
  int fd_;
  std::string path_;
};

}  // namespace

void write_file_atomically(const std::filesystem::path& path, std::string_view content) {
  const std::string target = path.string();
  if (path.has_parent_path()) {
    std::error_code ec;
    std::filesystem::create_directories(path.parent_path(), ec);
    if (ec) throw FileError("cannot write " + target + ": cannot create its folder: " + ec.message());
  }
  std::string pattern = target + ".tmp-XXXXXX";
  std::vector<char> name(pattern.begin(), pattern.end());
  name.push_back('\0');
  const int fd = ::mkstemp(name.data());
  if (fd < 0) throw FileError("cannot write " + target + ": cannot create a temporary file beside it: " + reason(errno));
  TemporaryFile temp(fd, name.data());
  ::fchmod(fd, 0644);  // mkstemp makes 0600; the file should read like any other the program writes

  const char* data = content.data();
  std::size_t left = content.size();
  while (left > 0) {
    const ssize_t written = ::write(fd, data, left);
    if (written < 0) {
      if (errno == EINTR) continue;
      throw FileError("cannot write " + target + ": " + reason(errno));
    }
    data += written;
    left -= static_cast<std::size_t>(written);
  }
  if (::fsync(fd) != 0) throw FileError("cannot write " + target + ": fsync failed: " + reason(errno));
  if (const int error = temp.close(); error != 0) throw FileError("cannot write " + target + ": " + reason(error));
  if (::rename(temp.path().c_str(), target.c_str()) != 0) {
    throw FileError("cannot write " + target + ": cannot rename " + temp.path() + " to it: " + reason(errno));
  }
  temp.release();
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::error_code ec;
    const bool exists = std::filesystem::exists(path, ec);
    throw FileError("cannot read " + path.string() + ": " + (exists ? "permission denied or not a file" : "no such file"));
  }
  std::ostringstream bytes;
  bytes << in.rdbuf();
  if (in.bad()) throw FileError("cannot read " + path.string() + ": a read error");
  return bytes.str();
}

std::uint32_t crc32(std::string_view bytes, std::uint32_t crc) {
  uLong value = crc;
  const auto* data = reinterpret_cast<const Bytef*>(bytes.data());
  std::size_t left = bytes.size();
  while (left > 0) {  // zlib takes the length as a uInt: feed huge buffers in pieces
    const auto piece = static_cast<uInt>(std::min<std::size_t>(left, std::numeric_limits<uInt>::max()));
    value = ::crc32(value, data, piece);
    data += piece;
    left -= piece;
  }
  return static_cast<std::uint32_t>(value);
}

}  // namespace tinytorch::io
