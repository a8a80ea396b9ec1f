// How the data engine tells its caller what it is doing. The engine never
// prints: the CLI draws a bar or writes log lines, tests record the calls.
#pragma once

#include <cstdint>
#include <string>

namespace tito::data {

class FetchObserver {
 public:
  virtual ~FetchObserver() = default;
  // A new stage: "fetching cifar10", "verifying cifar-10-binary.tar.gz", "extracting ...".
  virtual void stage(const std::string& what) { (void)what; }
  // A transfer of `file` from `source` starts at byte `offset` of `total` (0: unknown).
  virtual void transfer_started(const std::string& file, const std::string& source, std::uint64_t offset,
                                std::uint64_t total) {
    (void)file, (void)source, (void)offset, (void)total;
  }
  // Bytes of the file now on disk; called often, the observer throttles.
  virtual void transfer_progress(std::uint64_t done, std::uint64_t total) { (void)done, (void)total; }
  // The transfer stopped (finished or failed) with `done` bytes on disk.
  virtual void transfer_finished(std::uint64_t done) { (void)done; }
  // Something worth a line: a retry, a switch of mirror, waiting for a lock.
  virtual void notice(const std::string& message) { (void)message; }
};

}  // namespace tito::data
