// Raw file descriptors: one owner that closes them, and the write loops that
// every raw write needs (short writes, EINTR).
#pragma once

#include <sys/types.h>

#include <string_view>

namespace tito {

// Owns a file descriptor and closes it when it goes out of scope, so a throw
// between open() and close() never leaks it.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) noexcept : fd_(fd) {}
  ~Fd() { close(); }
  Fd(Fd&& other) noexcept : fd_(other.release()) {}
  Fd& operator=(Fd&& other) noexcept;
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;

  int get() const noexcept { return fd_; }
  bool valid() const noexcept { return fd_ >= 0; }
  // Gives the descriptor up without closing it.
  int release() noexcept;
  // Closes it now: 0, or the errno of a failed close (a write error the
  // kernel reports late). Closing an invalid Fd does nothing and returns 0.
  int close() noexcept;

 private:
  int fd_ = -1;
};

// Writes all of `data`, retrying short writes and EINTR: 0, or the errno of
// the write that failed.
int write_all(int fd, std::string_view data) noexcept;

// The same at `offset`, leaving the file position alone.
int pwrite_all(int fd, std::string_view data, off_t offset) noexcept;

}  // namespace tito
