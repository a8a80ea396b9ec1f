#include "util/fd.hpp"

#include <unistd.h>

#include <cerrno>

namespace tito {

Fd& Fd::operator=(Fd&& other) noexcept {
  if (this != &other) {
    close();
    fd_ = other.release();
  }
  return *this;
}

int Fd::release() noexcept {
  int fd = fd_;
  fd_ = -1;
  return fd;
}

int Fd::close() noexcept {
  if (fd_ < 0) return 0;
  int rc = ::close(release());
  return rc == 0 ? 0 : errno;
}

int write_all(int fd, std::string_view data) noexcept {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno;
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return 0;
}

int pwrite_all(int fd, std::string_view data, off_t offset) noexcept {
  while (!data.empty()) {
    ssize_t n = ::pwrite(fd, data.data(), data.size(), offset);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno;
    data.remove_prefix(static_cast<std::size_t>(n));
    offset += n;
  }
  return 0;
}

}  // namespace tito
