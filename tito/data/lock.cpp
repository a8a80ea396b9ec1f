#include "data/lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

#include "data/observer.hpp"
#include "util/error.hpp"

namespace tito::data {

namespace {

std::string holder_of(int fd) {
  char buf[32] = {0};
  ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
  std::string pid = n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : "";
  while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) pid.pop_back();
  return pid.empty() ? "another tito" : "tito (process " + pid + ")";
}

}  // namespace

DatasetLock::DatasetLock(const fs::path& cache, const std::string& name, std::chrono::milliseconds timeout,
                         const std::atomic<bool>* cancel, FetchObserver& observer) {
  fs::path dir = cache / ".locks";
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw Error("cannot create " + dir.string() + ": " + ec.message());
  fs::path path = dir / (name + ".lock");
  // The descriptor is owned from here on: a throw below (an observer's, too) closes it.
  fd_ = Fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
  if (!fd_.valid()) throw Error("cannot open the lock file " + path.string() + ": " + std::strerror(errno));

  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (::flock(fd_.get(), LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    if (err == EINTR) continue;
    if (err != EWOULDBLOCK) throw Error("cannot lock " + path.string() + ": " + std::strerror(err));
    if (!waited_) {
      observer.notice(holder_of(fd_.get()) + " is working on " + name + "; waiting for it to finish");
      waited_ = true;
    }
    if (cancel != nullptr && cancel->load()) {
      throw Error("interrupted while waiting for the lock on " + name, kExitInterrupted);
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      std::string holder = holder_of(fd_.get());
      throw Error(holder + " still holds the lock on " + name + " after " +
                  std::to_string(timeout.count() / 1000) + " s (" + path.string() +
                  "); let it finish, or stop it and run again (the lock is freed as soon as it exits)");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  std::string pid = std::to_string(::getpid()) + "\n";
  // Who holds it, for the message of a second fetch; the lock works without it.
  if (::ftruncate(fd_.get(), 0) == 0) pwrite_all(fd_.get(), pid, 0);
}

DatasetLock::~DatasetLock() {
  if (!fd_.valid()) return;
  [[maybe_unused]] int rc = ::ftruncate(fd_.get(), 0);
  ::flock(fd_.get(), LOCK_UN);
}

}  // namespace tito::data
