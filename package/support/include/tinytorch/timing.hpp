// Hand-written support (not generated): the one timing helper of the modules' demos and tests
// before module 10, whose profiler is the course's full answer (warm-ups, CPU time, spreads).
#pragma once

#include <algorithm>
#include <chrono>
#include <vector>

namespace tinytorch::timing {

// The median wall time of `runs` runs of `work` (at least one), in seconds, after one untimed
// warm-up run (caches, page faults, a thread pool's first wake-up).
template <typename Work>
double median_seconds(int runs, Work&& work) {
  work();
  std::vector<double> times;
  for (int r = 0; r < std::max(runs, 1); ++r) {
    const auto start = std::chrono::steady_clock::now();
    work();
    times.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

}  // namespace tinytorch::timing
