// Ctrl-C during long data work: the engine is asked to stop (it keeps a
// resumable .part and returns exit 130) instead of the process dying.
#pragma once

#include <atomic>
#include <csignal>

namespace tito::cli {

// While alive, the first Ctrl-C sets flag(); a second one kills as usual.
class InterruptGuard {
 public:
  InterruptGuard();
  ~InterruptGuard();
  InterruptGuard(const InterruptGuard&) = delete;
  InterruptGuard& operator=(const InterruptGuard&) = delete;

  // What the engine watches (FetchOptions::download.cancel).
  static std::atomic<bool>& flag();

 private:
  struct sigaction previous_ {};
  bool installed_ = false;
};

}  // namespace tito::cli
