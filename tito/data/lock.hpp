// An exclusive lock per dataset, so two fetches never write the same files.
#pragma once

#include <atomic>
#include <chrono>
#include <filesystem>
#include <string>

#include "util/fd.hpp"

namespace tito::data {

namespace fs = std::filesystem;

class FetchObserver;

// flock() on <cache>/.locks/<name>.lock: the OS frees it when the holder
// dies, so a lock is never stale. Tries once; if another process holds it,
// tells the observer it is waiting, then waits up to `timeout`.
class DatasetLock {
 public:
  DatasetLock(const fs::path& cache, const std::string& name, std::chrono::milliseconds timeout,
              const std::atomic<bool>* cancel, FetchObserver& observer);
  ~DatasetLock();
  DatasetLock(const DatasetLock&) = delete;
  DatasetLock& operator=(const DatasetLock&) = delete;

  // True when this lock had to wait for another holder.
  bool waited() const { return waited_; }

 private:
  Fd fd_;
  bool waited_ = false;
};

}  // namespace tito::data
