// `--profile STEPS` of the course benchmarks: where one training step's time goes, op by op, from
// module 10's profiler (its per-op table, grouped by op and caller). With module 11 in the package
// the benchmarks link it (bench/CMakeLists.txt), and it brings module 10; without it there is no
// profiler, and the benchmark says so.
#pragma once

#include <cstdio>
#include <functional>
#include <optional>

#if defined(TINYTORCH_BENCH_HAS_ACCELERATION)
#include <tinytorch/core/profiling.hpp>
#endif

namespace bench {

// True when this build has module 10's profiler.
constexpr bool can_profile() {
#if defined(TINYTORCH_BENCH_HAS_ACCELERATION)
  return true;
#else
  return false;
#endif
}

// A named range of a training step ("forward", "optimizer step") in the profile, for its lifetime;
// nothing when no profiler runs or the build has none. `name` must outlive it (a literal).
class Phase {
 public:
  explicit Phase(const char* name) {
#if defined(TINYTORCH_BENCH_HAS_ACCELERATION)
    range_.emplace(name);
#else
    (void)name;
#endif
  }

 private:
#if defined(TINYTORCH_BENCH_HAS_ACCELERATION)
  std::optional<tinytorch::profiler::RecordFunction> range_;
#endif
};

// Runs `step` `steps` times unprofiled (the warm-up), then `steps` times under the profiler, each
// inside a range named "step", and prints the time per step and the per-op table. Returns 0, or 1
// (having said why) when the build has no profiler.
inline int profile_steps(int steps, const std::function<void()>& step) {
#if defined(TINYTORCH_BENCH_HAS_ACCELERATION)
  namespace profiler = tinytorch::profiler;
  for (int i = 0; i < steps; ++i) step();
  profiler::Profiler session;
  for (int i = 0; i < steps; ++i) {
    profiler::RecordFunction whole("step");
    step();
  }
  session.stop();
  const double seconds = session.elapsed_seconds();
  std::printf("\n%d steps profiled (after %d warm-up steps): %.3f s, %.2f ms per step (the profiler's own cost included)\n%s\n",
              steps, steps, seconds, 1e3 * seconds / steps,
              profiler::table(session.key_averages(profiler::GroupBy::name_and_parent),
                              {.row_limit = 30, .machine = std::nullopt})
                  .c_str());
  return 0;
#else
  (void)steps;
  (void)step;
  std::fprintf(stderr, "--profile needs module 10's profiler, which comes with module 11: run tito sync first\n");
  return 1;
#endif
}

}  // namespace bench
