// %% [markdown]
// # Module 10: Profiling
//
// Module 09 ended with a number: one training step of the CNN milestone's network takes about
// 130 ms on one core. Module 11 will make it faster. But faster *where*? A training step is
// hundreds of ops: im2col and col2im, the matmuls of the forward pass and the twice as many
// of the backward pass, the transposed copies and permutes around them, ReLU, pooling, the
// loss, Adam. Guessing which of them matters is how engineers waste weeks: the rule of every
// performance team is **measure first**.
//
// ```cpp
// profiler::Profiler prof;                   // like torch.profiler.profile()
// {
//   profiler::RecordFunction forward("forward");
//   loss = F::cross_entropy(cnn(images), labels);
// }
// loss.backward();                            // every backward node is timed too
// prof.stop();
// std::cout << profiler::table(prof.key_averages(), machine);   // like key_averages().table()
// ```
//
// prints a table like PyTorch's `key_averages().table(sort_by="self_cpu_time_total")`: each
// op, how many times it ran, how long it took *itself* (without the ops it called), its share
// of the step, how many floating-point operations it did, and how close it came to what this
// machine can do, a speed you measure here too.
//
// The names follow PyTorch: `torch.profiler.profile`, `record_function`, `key_averages`, and
// in libtorch `torch::autograd::profiler::RecordFunction`. In this course the namespace is
// `tinytorch::profiler`.
//
// ## Objectives
//
// - Read the three clocks a profiler needs (wall time on `steady_clock`, the process's and the
//   thread's CPU time), and summarize noisy timings honestly: warm-up runs, the **median**, and
//   the min–max spread beside it.
// - Count the **FLOPs and bytes** of every op kind: a matmul's `2·m·n·k`, element-wise ops,
//   reductions, im2col and col2im, a convolution through its matmul.
// - Write the core of a profiler: nested events, **self time** against total time, and the
//   table of averages per op that PyTorch's profiler prints.
// - Measure this machine's **peak**: floating-point operations per second with a loop of FMAs
//   you write, and memory bandwidth with a streaming copy.
// - Count tensor memory (live bytes and the **high-water mark** of a step) and read the
//   process's maximum resident set size.
// - Put it together: a per-op profile of one training step of the CNN milestone's network,
//   and a **roofline** chart that says, op by op, whether it is limited by arithmetic or by
//   memory, and how far from its roof it runs.
//
// ## What you will build
//
// | part | what | you write |
// |---|---|---|
// | 1 | clocks and honest timings | `process_cpu_seconds`, `summarize`, `measure` |
// | 2 | FLOPs and bytes | `matmul_cost`, `elementwise_cost`, `reduction_cost`, `im2col_cost`, `col2im_cost`, `conv2d_cost`, `op_cost` |
// | 3 | a profiler | `EventRecorder::enter`, `EventRecorder::exit`, `key_averages` |
// | 4 | memory | `MemoryCounter::allocated`, `MemoryCounter::freed`, `max_rss_bytes` |
// | 5 | this machine's peak | `fma_chains`, `stream_copy` |
// | 6 | the roofline | `arithmetic_intensity`, `attainable_gflops`, `bound_of` |
// | 7 | a profile of a CNN training step | nothing: run it, read it, explain it |
//
// Difficulty: ⭐ a few lines, ⭐⭐ needs a plan, ⭐⭐⭐ the heart of the module (the event
// recorder's self time). Twenty-one exercises; each is one function.
//
// How the profiler sees your ops without you editing modules 01–09: module 01's
// `autograd::record` (the wrapper every op goes through) and module 05's backward engine have
// carried a sleeping hook from the start. While a `Profiler` runs, module 10 installs itself
// there and is told when each op's kernel and each backward node starts and ends. When no
// profiler runs, the hook costs one relaxed atomic load per op: a pointer that stays null.
// `Storage` has the same kind of hook for the memory counter.
//
// Demo 4 and tests read the real Fashion-MNIST. Import it once (no network needed):
//
//     tito data fetch fashion-mnist --from /usr/share/datasets/fashion-mnist
//
// After each function, run `tito test profiling`; `tito module run profiling` shows the demos.

// %%
//| default_exp core/profiling

// %%
//| export
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <tinytorch/core/spatial.hpp>

// %%
//| export impl
#include <sys/resource.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <exception>
#include <filesystem>
#include <map>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <tinytorch/plot.hpp>

// %% [markdown]
// ## Part 1: Clocks, and timings you can trust
//
// A profiler needs two kinds of clock:
//
// - **wall time**: what a person with a stopwatch sees. `std::chrono::steady_clock` never jumps
//   (the system clock does, when NTP corrects it), so durations measured on it are never
//   negative;
// - **CPU time**: how long a CPU actually ran *this* code. POSIX keeps it per process
//   (`CLOCK_PROCESS_CPUTIME_ID`, summed over all threads) and per thread
//   (`CLOCK_THREAD_CPUTIME_ID`). When wall time is much larger than CPU time, the program was
//   waiting: for the disk, for a lock, or for the other programs on a shared machine. When
//   process CPU time is *larger* than wall time, several threads ran at once (module 11).
//
// `wall_seconds` and `thread_cpu_seconds` are given; you write the process clock.
//
// ### ⭐ `process_cpu_seconds`
//
// **TODO**: Return the CPU time of the whole process, in seconds.
//
// **APPROACH**:
// 1. `timespec t{}; clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);`
// 2. Return `t.tv_sec + t.tv_nsec * 1e-9` as a `double`.
//
// **EXAMPLE**:
// ```cpp
// const double before = process_cpu_seconds();
// busy_loop_for_half_a_second();
// process_cpu_seconds() - before   // about 0.5 on an idle machine, less on a busy one
// ```
//
// **HINTS**:
// - `tv_nsec` is nanoseconds (0 to 999,999,999), not microseconds.
// - Do the arithmetic in `double`: `tv_sec * 1000000000 + tv_nsec` in a 32-bit `long`
//   overflows after two seconds.
//
// **SYSTEMS THINKING**: the process clock ticks faster than the wall clock when threads run in
// parallel. A "2× speed-up from threads" should show the same CPU time in half the wall time;
// if the CPU time doubled too, the threads only added overhead.

// %%
//| export
namespace tinytorch::profiler {

// Seconds on std::chrono::steady_clock (any origin; only differences mean something).
double wall_seconds() noexcept;
// CPU seconds used by the whole process so far (every thread).
double process_cpu_seconds() noexcept;
// CPU seconds used by the calling thread so far.
double thread_cpu_seconds() noexcept;
// A clock: seconds from some origin. Tests pass fake ones.
using Clock = std::function<double()>;

// "843 ns", "12.3 us", "4.56 ms", "1.23 s": a duration with three significant digits.
std::string format_seconds(double seconds);

}  // namespace tinytorch::profiler

// %%
//| export impl
namespace tinytorch::profiler {

double wall_seconds() noexcept {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

double process_cpu_seconds() noexcept {
  // BEGIN SOLUTION
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) * 1e-9;
  // END SOLUTION
}

double thread_cpu_seconds() noexcept {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) * 1e-9;
}

std::string format_seconds(double seconds) {
  char text[32];
  const double a = std::fabs(seconds);
  if (a < 1e-6) {
    std::snprintf(text, sizeof text, "%.0f ns", seconds * 1e9);
  } else if (a < 1e-3) {
    std::snprintf(text, sizeof text, "%.3g us", seconds * 1e6);
  } else if (a < 1.0) {
    std::snprintf(text, sizeof text, "%.3g ms", seconds * 1e3);
  } else {
    std::snprintf(text, sizeof text, "%.3g s", seconds);
  }
  return text;
}

}  // namespace tinytorch::profiler

// %%
//| test
#include <thread>

using namespace tinytorch;

TEST(UnitClocks, TheProcessClockCountsWorkNotSleep) {
  const double cpu0 = profiler::process_cpu_seconds(), wall0 = profiler::wall_seconds();
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  const double slept_cpu = profiler::process_cpu_seconds() - cpu0;
  EXPECT_GE(profiler::wall_seconds() - wall0, 0.029);
  EXPECT_GE(slept_cpu, 0.0) << "a clock that runs backwards";
  EXPECT_LT(slept_cpu, 0.02) << "sleeping uses no CPU: this is wall time, not CLOCK_PROCESS_CPUTIME_ID";
  EXPECT_GT(profiler::process_cpu_seconds(), 0.0);
}

// %% [markdown]
// ### ⭐⭐ `summarize`: the median and the spread
//
// Run the same matmul ten times and you get ten different times. The machine is never quiet:
// other programs, interrupts, the CPU's clock speed changing with its temperature, the first
// run paying for page faults and cold caches. What to report?
//
// - **not the mean**: one run that was interrupted for 50 ms drags it anywhere;
// - **the median**: half the runs were faster, half slower; one outlier moves it by at most one
//   position;
// - **with the min–max spread beside it**, so a reader sees how noisy the machine was. The
//   minimum is the best case the code can reach; a large spread says "measure again".
//
// This is what benchmark harnesses report (Google Benchmark's aggregates, pytest-benchmark,
// `hyperfine`), and what this course's benchmarks print.
//
// **TODO**: Return the count, median, minimum, maximum and mean of `samples`.
//
// **APPROACH**:
// 1. An empty list has no median: throw `std::invalid_argument` saying so.
// 2. Sort a copy (`samples` is taken by value for that).
// 3. With `n` samples, the median is the middle one when `n` is odd, and the mean of the two
//    middle ones when `n` is even.
// 4. Min and max are the ends of the sorted list; the mean is the sum over `n`.
//
// **EXAMPLE**:
// ```cpp
// summarize({3, 1, 2})            // median 2, min 1, max 3, mean 2
// summarize({4, 1, 3, 2})         // median 2.5 (the mean of 2 and 3)
// summarize({1, 1, 1, 1, 100})    // median 1, mean 20.8: one outlier, and the mean is lost
// ```
//
// **HINTS**:
// - `samples[n / 2]` of an *unsorted* list is not the median.
// - For even `n` the two middle elements are `n / 2 - 1` and `n / 2`.
//
// **SYSTEMS THINKING**: with 10 runs, the median is robust to up to 4 outliers. Why do
// benchmarks still throw the first runs away (the warm-up) instead of counting on the median
// to ignore them?

// %%
//| export
namespace tinytorch::profiler {

// What a list of timings says: how many, the median, the extremes and the mean.
struct Summary {
  std::size_t count = 0;
  double median = 0;
  double min = 0;
  double max = 0;
  double mean = 0;
  // max - min: how noisy the runs were.
  double spread() const { return max - min; }
};

// The summary of `samples` (any order). std::invalid_argument for an empty list.
Summary summarize(std::vector<double> samples);

}  // namespace tinytorch::profiler

// %%
//| export impl
namespace tinytorch::profiler {

Summary summarize(std::vector<double> samples) {
  // BEGIN SOLUTION
  if (samples.empty()) throw std::invalid_argument("summarize(): no samples, so no median");
  std::sort(samples.begin(), samples.end());
  const std::size_t n = samples.size();
  Summary s;
  s.count = n;
  s.median = n % 2 == 1 ? samples[n / 2] : (samples[n / 2 - 1] + samples[n / 2]) / 2.0;
  s.min = samples.front();
  s.max = samples.back();
  double sum = 0;
  for (double v : samples) sum += v;
  s.mean = sum / static_cast<double>(n);
  return s;
  // END SOLUTION
}

}  // namespace tinytorch::profiler

// %%
//| test
TEST(UnitSummarize, MedianOfOddAndEvenCounts) {
  const profiler::Summary odd = profiler::summarize({3, 1, 2});
  EXPECT_EQ(odd.count, 3u);
  EXPECT_DOUBLE_EQ(odd.median, 2);
  EXPECT_DOUBLE_EQ(odd.min, 1);
  EXPECT_DOUBLE_EQ(odd.max, 3);
  EXPECT_DOUBLE_EQ(profiler::summarize({4, 1, 3, 2}).median, 2.5) << "an even count: the mean of the two middle ones";
}

// %% [markdown]
// ### ⭐⭐ `measure`: warm-up, then repeats on two clocks
//
// `measure(fn)` is the stopwatch the rest of the course uses: it runs `fn` a few times without
// looking (the **warm-up**: the first run of a matmul faults its output's pages in, fills the
// caches, and lets the CPU raise its clock), then times `repeats` runs, each on the wall clock
// and on the thread's CPU clock.
//
// **TODO**: Run `fn` `options.warmup` times untimed, then `options.repeats` times, recording
// the wall and CPU time of each run.
//
// **APPROACH**:
// 1. `repeats` must be at least 1 and `warmup` at least 0; otherwise throw
//    `std::invalid_argument`.
// 2. Call `fn()` `warmup` times.
// 3. For each repeat: read both clocks, call `fn()`, read both clocks again, and push the two
//    differences into `result.wall` and `result.cpu`.
//
// **EXAMPLE**:
// ```cpp
// const Timing t = measure([&] { a.matmul(b); }, {.warmup = 2, .repeats = 10});
// t.wall.size()                         // 10
// summarize(t.wall).median              // seconds per matmul
// ```
//
// **HINTS**:
// - The clocks are parameters (`wall_clock()`, `cpu_clock()`), so that the tests can give you
//   fake ones that advance by known amounts. Call them, not `wall_seconds()` directly.
// - Read the clocks as close to `fn()` as you can: nothing else between the two readings.
//
// **SYSTEMS THINKING**: `steady_clock::now()` takes about 20 ns. What is the shortest function
// you can time this way with 1% accuracy? How would you time a 50 ns function? (Google
// Benchmark runs it in a loop until the loop takes long enough.)

// %%
//| export
namespace tinytorch::profiler {

// How measure() runs a function.
struct MeasureOptions {
  int warmup = 2;    // untimed runs first
  int repeats = 10;  // timed runs
};

// The timed runs of measure(): seconds per run on each clock.
struct Timing {
  std::vector<double> wall;
  std::vector<double> cpu;
};

// Runs `fn` options.warmup times untimed, then options.repeats times, timing each run on
// `wall_clock` and `cpu_clock` (by default steady_clock and the thread's CPU clock).
Timing measure(const std::function<void()>& fn, MeasureOptions options = {}, const Clock& wall_clock = wall_seconds,
               const Clock& cpu_clock = thread_cpu_seconds);

}  // namespace tinytorch::profiler

// %%
//| export impl
namespace tinytorch::profiler {

Timing measure(const std::function<void()>& fn, MeasureOptions options, const Clock& wall_clock,
               const Clock& cpu_clock) {
  // BEGIN SOLUTION
  if (options.repeats < 1 || options.warmup < 0) {
    throw std::invalid_argument("measure(): needs repeats >= 1 and warmup >= 0, got repeats " +
                                std::to_string(options.repeats) + " and warmup " + std::to_string(options.warmup));
  }
  for (int i = 0; i < options.warmup; ++i) fn();
  Timing result;
  for (int i = 0; i < options.repeats; ++i) {
    const double wall0 = wall_clock(), cpu0 = cpu_clock();
    fn();
    const double cpu1 = cpu_clock(), wall1 = wall_clock();
    result.wall.push_back(wall1 - wall0);
    result.cpu.push_back(cpu1 - cpu0);
  }
  return result;
  // END SOLUTION
}

}  // namespace tinytorch::profiler

// %%
//| test
TEST(UnitMeasure, WarmsUpThenTimesEachRepeat) {
  int calls = 0;
  double now = 0;  // a fake clock: each call of fn takes 2 s of wall time
  const profiler::Timing t = profiler::measure([&] { ++calls, now += 2.0; }, {.warmup = 3, .repeats = 5},
                                               [&] { return now; }, [&] { return now / 2; });
  EXPECT_EQ(calls, 8) << "3 warm-up runs and 5 timed ones";
  EXPECT_EQ(t.wall, std::vector<double>(5, 2.0));
  EXPECT_EQ(t.cpu, std::vector<double>(5, 1.0));
}

// %% [markdown]
// ## Part 2: Counting FLOPs and bytes
//
// A time alone does not say whether an op is *slow*. 12 ms is excellent for a matmul of
// 512×512 by 512×512, and terrible for adding two vectors of a million floats. To judge, count
// what the op had to do:
//
// - **FLOPs**: floating-point operations. A multiply-add is **2** (one multiply, one add), as
//   every vendor counts them. A matmul `[m, k] × [k, n]` does `m·n` dot products of length `k`:
//   `2·m·n·k` FLOPs;
// - **bytes**: the memory the op must at least move: each input read once, the output written
//   once, 4 bytes a float. Real kernels move more (a matmul that does not fit in the cache
//   reads its inputs many times); this is the *compulsory* traffic, the least any kernel could
//   do.
//
// Then **GFLOP/s = FLOPs / seconds / 10⁹** says how fast it computed, and
// **FLOPs / byte**, its *arithmetic intensity*, says which of the two it could ever be limited
// by (part 6). This is what `torch.profiler`'s `with_flops=True` and NVIDIA's Nsight Compute
// report.
//
// The formulas of this course, for an op with inputs of `a, b, …` elements and an output of
// `out` elements:
//
// | op kind | FLOPs | bytes |
// |---|---|---|
// | matmul `[m, k] × [k, n]` | `2·m·k·n` | `4·(m·k + k·n + m·n)` |
// | element-wise (`add`, `relu`, `exp`, …) | `f · out` (f per element, usually 1) | `4·(a + b + … + out)` |
// | reduction (`sum`, `max` over all or one axis) | `in` | `4·(in + out)` |
// | a view (`view`, `transpose`, `permute`, `expand`) | 0 | 0: no number moves |
// | a copy (`clone`) | 0 | `4·(in + out)` |
// | im2col of `[N, C, H, W]`, kernel K | 0 | `4·(N·C·H·W + C·K²·N·OH·OW)` |
// | col2im back to `[N, C, H, W]` | `C·K²·N·OH·OW` (one add per column entry) | `4·(C·K²·N·OH·OW + N·C·H·W)` |
//
// An `exp` costs a CPU far more than an add; counting it as 1 keeps the formulas simple and
// says so. Element-wise ops end up memory-bound anyway (part 6).

// %%
//| export
namespace tinytorch::profiler {

// The work of one op: floating-point operations, and the bytes it must at least move.
struct Cost {
  double flops = 0;
  double bytes = 0;
  Cost& operator+=(const Cost& other) {
    flops += other.flops;
    bytes += other.bytes;
    return *this;
  }
  friend Cost operator+(Cost a, const Cost& b) { return a += b; }
  friend bool operator==(const Cost&, const Cost&) = default;
};

// [m, k] x [k, n]: 2·m·k·n FLOPs; both inputs read and the output written once.
Cost matmul_cost(int64_t m, int64_t k, int64_t n);
// An element-wise op with inputs of these sizes (broadcast ones are smaller) and an output of
// `output_numel` elements, `flops_per_element` each.
Cost elementwise_cost(const std::vector<int64_t>& input_numels, int64_t output_numel, double flops_per_element = 1.0);
// A reduction of `input_numel` elements to `output_numel`: one FLOP per input element.
Cost reduction_cost(int64_t input_numel, int64_t output_numel);

}  // namespace tinytorch::profiler

// %% [markdown]
// ### ⭐ `matmul_cost`
//
// **TODO**: Return the FLOPs and bytes of `[m, k] × [k, n]`.
//
// **APPROACH**: `flops = 2·m·k·n`; `bytes = 4·(m·k + k·n + m·n)`. Compute in `double`.
//
// **EXAMPLE**:
// ```cpp
// matmul_cost(2, 3, 4)            // {48 FLOPs, 4·(6 + 12 + 8) = 104 bytes}
// matmul_cost(32, 400, 12544)     // conv2's forward matmul at batch 64: 321 MFLOP, 20.1 MB
// ```
//
// **HINTS**:
// - `2 * m * k * n` in `int64_t` is exact here, but a 4096³ matmul times 2 is already 1.4·10¹¹:
//   convert to `double` first and you never need to think about it.
// - It is 2, not 1: a multiply-add is two operations.
//
// **SYSTEMS THINKING**: FLOPs grow as `n³` and bytes as `n²`, so a large matmul does ~`n/6`
// FLOPs per byte. That is why matmuls can run near a CPU's peak and element-wise ops cannot.

// %%
//| export impl
namespace tinytorch::profiler {

Cost matmul_cost(int64_t m, int64_t k, int64_t n) {
  // BEGIN SOLUTION
  const double M = static_cast<double>(m), K = static_cast<double>(k), N = static_cast<double>(n);
  return {2.0 * M * K * N, 4.0 * (M * K + K * N + M * N)};
  // END SOLUTION
}

}  // namespace tinytorch::profiler

// %% [markdown]
// ### ⭐ `elementwise_cost` and `reduction_cost`
//
// **TODO**: `elementwise_cost`: `flops_per_element · output_numel` FLOPs, and 4 bytes for every
// input element read and every output element written. `reduction_cost`: `input_numel`
// FLOPs, `4·(input_numel + output_numel)` bytes.
//
// **APPROACH**: sum `input_numels`, add `output_numel`, multiply by `sizeof(float)`.
//
// **EXAMPLE**:
// ```cpp
// elementwise_cost({100, 100}, 100)     // a + b: {100 FLOPs, 1200 bytes}
// elementwise_cost({640, 10}, 640)      // [64, 10] + a bias [10], broadcast: {640 FLOPs, 4·(640 + 10 + 640) bytes}
// elementwise_cost({100}, 100, 0)       // a copy: {0 FLOPs, 800 bytes}
// reduction_cost(1000, 1)               // sum(): {1000 FLOPs, 4004 bytes}
// ```
//
// **HINTS**:
// - A broadcast input is read as its own size, not the output's: count `input_numels` as given.
// - `flops_per_element` is a `double` (a softmax is about 3 per element).
//
// **SYSTEMS THINKING**: `a + b` on floats does 1 FLOP per 12 bytes. At 20 GB/s of memory
// bandwidth that is at most 1.7 GFLOP/s, whatever the CPU's peak. What would fusing `relu(a + b)`
// into one kernel save?

// %%
//| export impl
namespace tinytorch::profiler {

Cost elementwise_cost(const std::vector<int64_t>& input_numels, int64_t output_numel, double flops_per_element) {
  // BEGIN SOLUTION
  double elements = static_cast<double>(output_numel);
  for (int64_t n : input_numels) elements += static_cast<double>(n);
  return {flops_per_element * static_cast<double>(output_numel), 4.0 * elements};
  // END SOLUTION
}

Cost reduction_cost(int64_t input_numel, int64_t output_numel) {
  // BEGIN SOLUTION
  return {static_cast<double>(input_numel), 4.0 * static_cast<double>(input_numel + output_numel)};
  // END SOLUTION
}

}  // namespace tinytorch::profiler

// %%
//| test
TEST(UnitCosts, MatmulElementwiseReduction) {
  EXPECT_EQ(profiler::matmul_cost(2, 3, 4), (profiler::Cost{48, 104})) << "2·m·k·n FLOPs, 4·(mk + kn + mn) bytes";
  EXPECT_EQ(profiler::elementwise_cost({100, 10}, 100), (profiler::Cost{100, 840}));
  EXPECT_EQ(profiler::reduction_cost(1000, 1), (profiler::Cost{1000, 4004}));
}

// %% [markdown]
// ### ⭐⭐ `im2col_cost`, ⭐ `col2im_cost` and ⭐⭐ `conv2d_cost`
//
// Module 09 turned a convolution into im2col and one matmul. So its cost is theirs:
//
//     conv2d(x [N, C, H, W], O filters of C×K×K, stride S, padding P)
//       = im2col: x -> cols [C·K·K, N·OH·OW]           0 FLOPs, moves x and cols
//       + matmul: [O, C·K·K] × [C·K·K, N·OH·OW]      2·O·C·K²·N·OH·OW FLOPs
//
// (the permute and the bias add after it are small, and the profiler counts them as the ops
// they are). `col2im` runs im2col backwards: it reads every column entry and *adds* it into
// the pixel it came from, one FLOP each.
//
// **TODO**: Write the three costs from the table of part 2. `input` is `[N, C, H, W]`;
// `conv_output_size` (module 09) gives `OH` and `OW`.
//
// **APPROACH**:
// 1. `im2col_cost`: `cols = C·K·K · N·OH·OW`; return `{0, 4·(N·C·H·W + cols)}`.
// 2. `col2im_cost`: the same sizes; return `{cols, 4·(cols + N·C·H·W)}`.
// 3. `conv2d_cost`: `im2col_cost(...) + matmul_cost(O, C·K·K, N·OH·OW)`.
//
// **EXAMPLE**:
// ```cpp
// im2col_cost({64, 16, 14, 14}, 5, 1, 2)       // cols [400, 12544]: {0, 4·(200,704 + 5,017,600)} = 20.9 MB
// conv2d_cost({64, 16, 14, 14}, 32, 5, 1, 2)   // + matmul(32, 400, 12544): 321 MFLOP
// ```
//
// **HINTS**:
// - A shape that is not 4-D is a `ShapeError` naming the function.
// - `OH` uses the height, `OW` the width: images need not be square.
//
// **SYSTEMS THINKING**: for conv2 of the CNN at batch 64, im2col moves 21 MB to enable a
// 321 MFLOP matmul. Compare: how long does moving 21 MB take at your measured bandwidth, and
// how long the matmul at your measured GFLOP/s? Which one would you optimize first?

// %%
//| export
namespace tinytorch::profiler {

// im2col of an image batch `input` [N, C, H, W] with a K×K window: 0 FLOPs, reads the input
// and writes cols [C·K·K, N·OH·OW].
Cost im2col_cost(const Shape& input, int64_t kernel, int64_t stride, int64_t padding);
// col2im of cols back into an image batch of shape `input`: one add per column entry.
Cost col2im_cost(const Shape& input, int64_t kernel, int64_t stride, int64_t padding);
// A convolution with `out_channels` filters, through im2col and one matmul.
Cost conv2d_cost(const Shape& input, int64_t out_channels, int64_t kernel, int64_t stride, int64_t padding);

}  // namespace tinytorch::profiler

// %%
//| export impl
namespace tinytorch::profiler {

namespace {
// The number of entries of im2col's cols for `input` (checked to be 4-D), and the input's.
struct WindowSizes {
  double cols = 0;
  double image = 0;
  int64_t rows = 0;     // C·K·K
  int64_t windows = 0;  // N·OH·OW
};
WindowSizes window_sizes(const char* function, const Shape& input, int64_t kernel, int64_t stride, int64_t padding);
}  // namespace

Cost im2col_cost(const Shape& input, int64_t kernel, int64_t stride, int64_t padding) {
  // BEGIN SOLUTION
  const WindowSizes s = window_sizes("im2col_cost", input, kernel, stride, padding);
  return {0.0, 4.0 * (s.image + s.cols)};
  // END SOLUTION
}

Cost col2im_cost(const Shape& input, int64_t kernel, int64_t stride, int64_t padding) {
  // BEGIN SOLUTION
  const WindowSizes s = window_sizes("col2im_cost", input, kernel, stride, padding);
  return {s.cols, 4.0 * (s.cols + s.image)};
  // END SOLUTION
}

Cost conv2d_cost(const Shape& input, int64_t out_channels, int64_t kernel, int64_t stride, int64_t padding) {
  // BEGIN SOLUTION
  const WindowSizes s = window_sizes("conv2d_cost", input, kernel, stride, padding);
  return im2col_cost(input, kernel, stride, padding) + matmul_cost(out_channels, s.rows, s.windows);
  // END SOLUTION
}

namespace {
WindowSizes window_sizes(const char* function, const Shape& input, int64_t kernel, int64_t stride, int64_t padding) {
  if (input.size() != 4) {
    throw ShapeError(std::string(function) + "(): expected an input shape [N, C, H, W], got " + shape_str(input));
  }
  const int64_t oh = conv_output_size(input[2], kernel, stride, padding);
  const int64_t ow = conv_output_size(input[3], kernel, stride, padding);
  WindowSizes s;
  s.rows = input[1] * kernel * kernel;
  s.windows = input[0] * oh * ow;
  s.cols = static_cast<double>(s.rows) * static_cast<double>(s.windows);
  s.image = static_cast<double>(shape_numel(input));
  return s;
}
}  // namespace

}  // namespace tinytorch::profiler

// %%
//| test
TEST(UnitCosts, Im2colCol2imConv2d) {
  EXPECT_EQ(profiler::im2col_cost({1, 1, 4, 4}, 3, 1, 1), (profiler::Cost{0, 4.0 * (16 + 9 * 16)}));
  EXPECT_EQ(profiler::col2im_cost({1, 1, 4, 4}, 3, 1, 1), (profiler::Cost{144, 4.0 * (144 + 16)}));
  EXPECT_EQ(profiler::conv2d_cost({64, 16, 14, 14}, 32, 5, 1, 2).flops, 2.0 * 32 * 400 * 12544);
}

// %% [markdown]
// ### ⭐⭐ `op_cost`: the cost of a recorded op, by its name
//
// The profiler sees ops as module 01's `autograd::record` sees them: a name (`"matmul"`,
// `"relu"`, `"im2col"`), the input tensors, the integer arguments and the output. `op_cost`
// turns that into a `Cost` with the formulas above. The table of which op is which kind is
// given (`op_kind`); you write what each kind costs.
//
// A **backward node** (`kind == EventKind::backward`) is told with its *forward* op's inputs,
// output and arguments. Most backward functions are made of ordinary ops (a matmul's backward
// is two more matmuls), which the profiler counts as ops of their own, so the node itself
// costs nothing. Four do their work in a kernel of their own: im2col's backward is a col2im
// (and col2im's an im2col); max pooling's backward scatters the gradient: it reads the
// output's gradient and argmax (4 + 8 bytes per output) and writes the input's gradient
// (4 bytes per input element, 0 FLOPs); and module 11 records its whole convolution as one op,
// `conv2d` (inputs: the input, the weight and maybe a bias; `ints`: stride, padding), whose
// backward computes the weight's gradient (im2col again, and a product as large as the
// forward's) and, when the input requires grad, the input's (a product as large, then col2im).
//
// **TODO**: Return the cost of one op call or backward node.
//
// **APPROACH**:
// 1. Ranges and a missing output (the op threw) cost nothing.
// 2. For `EventKind::backward`, return the costs above for `"im2col"`, `"col2im"` and
//    `"max_pool2d"` (im2col's `ints` are kernel, stride, padding), for `"conv2d"`
//    `conv2d_cost(...)` (the weight's gradient) plus, when `inputs[0].requires_grad()`, the
//    product's `matmul_cost` and `col2im_cost` once more, and `{}` for the rest.
// 3. For ops, switch on `op_kind(name)`:
//    - `matmul`: `m` = rows of the first input (1 when it is 1-D), `k` its last size, `n` =
//      columns of the second (1 when it is 1-D);
//    - `elementwise`: the inputs' sizes and the output's, `op_flops_per_element(name)` each;
//    - `reduction`: the first input's size and the output's;
//    - `view`: nothing; `copy`: `elementwise_cost` with 0 FLOPs;
//    - `im2col`, `col2im`: your functions, with `ints` (kernel, stride, padding); col2im's
//      image shape is its *output's* shape;
//    - `max_pool2d`: one comparison per input element; reads the input, writes the output and
//      the argmax (`4·in + 12·out` bytes);
//    - `conv2d`: `conv2d_cost(input shape, weight.size(0), weight.size(2), stride, padding)`
//      (the weight is `inputs[1]`; `ints` are stride and padding);
//    - `unknown`: `{}` (the table shows no FLOPs for it, as PyTorch's does).
//
// **EXAMPLE**:
// ```cpp
// Tensor a = randn({64, 1568}, 1), w = randn({1568, 10}, 2), y = a.matmul(w);
// op_cost(EventKind::op, "matmul", {{a, w}}, {}, &y)          // matmul_cost(64, 1568, 10)
// op_cost(EventKind::backward, "im2col", {{x}}, {5, 1, 2}, &cols)   // col2im_cost(x.shape(), 5, 1, 2)
// ```
//
// **HINTS**:
// - A 1-D first input of a matmul is a row vector: `m = 1` and `k = a.size(0)`.
// - `inputs[i].numel()`, `output->numel()`, `output->shape()`.
//
// **SYSTEMS THINKING**: counting costs with the *shapes* at run time is what lets one profiler
// serve every model. What does a profiler that counted FLOPs inside the kernels (incrementing
// a counter in the inner loop) cost, and what would it get right that shapes cannot?

// %%
//| export
namespace tinytorch::profiler {

using autograd::EventKind;

// What kind of work a recorded op does, for its cost formula.
enum class OpKind { matmul, elementwise, reduction, view, copy, im2col, col2im, max_pool2d, conv2d, unknown };
// The kind of the op recorded under `name` (the names of modules 01-09, and module 11's conv2d).
OpKind op_kind(std::string_view name);
// FLOPs per output element of an element-wise op: 1, or about 3 for softmax and log_softmax,
// 5 for a GELU, 4 for a normalization.
double op_flops_per_element(std::string_view name);

// The cost of one event: an op's call (its inputs, integer arguments and output) or a backward
// node (told with its forward op's inputs, arguments and output). Ranges and a null output
// cost nothing.
Cost op_cost(EventKind kind, std::string_view name, std::span<const Tensor> inputs, std::span<const int64_t> ints,
             const Tensor* output);

}  // namespace tinytorch::profiler

// %%
//| export impl
namespace tinytorch::profiler {

OpKind op_kind(std::string_view name) {
  static const std::map<std::string_view, OpKind> kinds = {
      {"matmul", OpKind::matmul},     {"view", OpKind::view},
      {"transpose", OpKind::view},    {"permute", OpKind::view},
      {"expand", OpKind::view},       {"unsqueeze", OpKind::view},
      {"squeeze", OpKind::view},      {"narrow", OpKind::view},
      {"select", OpKind::view},       {"clone", OpKind::copy},
      {"cat", OpKind::copy},          {"stack", OpKind::copy},
      {"gather", OpKind::copy},       {"sum", OpKind::reduction},
      {"sum_dim", OpKind::reduction}, {"max", OpKind::reduction},
      {"max_dim", OpKind::reduction}, {"cross_entropy", OpKind::reduction},
      {"im2col", OpKind::im2col},     {"col2im", OpKind::col2im},
      {"max_pool2d", OpKind::max_pool2d}, {"conv2d", OpKind::conv2d},
  };
  static const std::vector<std::string_view> elementwise = {"add",
                                                            "sub",
                                                            "mul",
                                                            "div",
                                                            "neg",
                                                            "add_scalar",
                                                            "sub_scalar",
                                                            "mul_scalar",
                                                            "div_scalar",
                                                            "rsub_scalar",
                                                            "rdiv_scalar",
                                                            "map",
                                                            "exp",
                                                            "log",
                                                            "sqrt",
                                                            "abs",
                                                            "pow",
                                                            "clamp_min",
                                                            "clamp_max",
                                                            "relu",
                                                            "leaky_relu",
                                                            "sigmoid",
                                                            "tanh",
                                                            "gelu",
                                                            "softmax",
                                                            "log_softmax",
                                                            "batch_norm",
                                                            "binary_cross_entropy",
                                                            "binary_cross_entropy_with_logits"};
  if (const auto found = kinds.find(name); found != kinds.end()) return found->second;
  if (std::find(elementwise.begin(), elementwise.end(), name) != elementwise.end()) return OpKind::elementwise;
  return OpKind::unknown;
}

double op_flops_per_element(std::string_view name) {
  if (name == "softmax" || name == "log_softmax") return 3.0;
  if (name == "gelu") return 5.0;
  if (name == "batch_norm") return 4.0;
  return 1.0;
}

Cost op_cost(EventKind kind, std::string_view name, std::span<const Tensor> inputs, std::span<const int64_t> ints,
             const Tensor* output) {
  // BEGIN SOLUTION
  if (kind == EventKind::range || output == nullptr || !output->defined()) return {};
  if (kind == EventKind::backward) {
    if (inputs.empty() || !inputs[0].defined()) return {};
    if (name == "im2col" && ints.size() >= 3) return col2im_cost(inputs[0].shape(), ints[0], ints[1], ints[2]);
    if (name == "col2im" && ints.size() >= 3) return im2col_cost(output->shape(), ints[0], ints[1], ints[2]);
    if (name == "max_pool2d") {
      return {0.0, 12.0 * static_cast<double>(output->numel()) + 4.0 * static_cast<double>(inputs[0].numel())};
    }
    if (name == "conv2d" && inputs.size() >= 2 && ints.size() >= 2) {
      const Shape& x = inputs[0].shape();
      const int64_t out_channels = inputs[1].size(0), kernel = inputs[1].size(2);
      Cost cost = conv2d_cost(x, out_channels, kernel, ints[0], ints[1]);
      if (inputs[0].requires_grad()) {
        const int64_t positions = output->size(2) * output->size(3);
        cost = cost + matmul_cost(x[1] * kernel * kernel, out_channels, x[0] * positions) +
               col2im_cost(x, kernel, ints[0], ints[1]);
      }
      return cost;
    }
    return {};
  }
  switch (op_kind(name)) {
    case OpKind::matmul: {
      const Tensor& a = inputs[0];
      const Tensor& b = inputs[1];
      const int64_t m = a.dim() == 2 ? a.size(0) : 1, k = a.size(-1), n = b.dim() == 2 ? b.size(1) : 1;
      return matmul_cost(m, k, n);
    }
    case OpKind::elementwise:
    case OpKind::copy: {
      std::vector<int64_t> sizes;
      for (const Tensor& input : inputs) sizes.push_back(input.defined() ? input.numel() : 0);
      const double flops = op_kind(name) == OpKind::copy ? 0.0 : op_flops_per_element(name);
      return elementwise_cost(sizes, output->numel(), flops);
    }
    case OpKind::reduction:
      return reduction_cost(inputs[0].numel(), output->numel());
    case OpKind::view:
      return {};
    case OpKind::im2col:
      return im2col_cost(inputs[0].shape(), ints[0], ints[1], ints[2]);
    case OpKind::col2im:
      return col2im_cost(output->shape(), ints[0], ints[1], ints[2]);
    case OpKind::max_pool2d:
      return {static_cast<double>(inputs[0].numel()),
              4.0 * static_cast<double>(inputs[0].numel()) + 12.0 * static_cast<double>(output->numel())};
    case OpKind::conv2d:
      return conv2d_cost(inputs[0].shape(), inputs[1].size(0), inputs[1].size(2), ints[0], ints[1]);
    case OpKind::unknown:
      return {};
  }
  return {};
  // END SOLUTION
}

}  // namespace tinytorch::profiler

// %%
//| test
TEST(UnitOpCost, MatmulAndRelu) {
  const Tensor a = randn({4, 3}, 1), b = randn({3, 5}, 2), y = a.matmul(b), r = relu(y);
  const std::vector<Tensor> ab{a, b}, yy{y};
  EXPECT_EQ(profiler::op_cost(profiler::EventKind::op, "matmul", ab, {}, &y), profiler::matmul_cost(4, 3, 5));
  EXPECT_EQ(profiler::op_cost(profiler::EventKind::op, "relu", yy, {}, &r), (profiler::Cost{20, 160}));
  EXPECT_EQ(profiler::op_cost(profiler::EventKind::op, "view", yy, {}, &r), profiler::Cost{}) << "a view moves nothing";
}

// %% [markdown]
// ## Part 3: A profiler
//
// A profiler records **events**: an op's kernel, a backward node, or a **range** a program names
// (`RecordFunction("forward")`). Events nest: conv2d's matmul is called inside the
// `"forward"` range; in the backward pass, a matmul's backward node calls two matmuls and a
// transpose; a kernel may call `contiguous()`, which is an op of its own. So every event has
// two times:
//
// - **total** (PyTorch's "CPU total"): from its start to its end, everything it called included;
// - **self** ("Self CPU"): its total minus the totals of the events it called directly.
//
//     forward (range)  |0 ................................................. 10 ms|   total 10, self 10 - 6 - 1 = 3
//       matmul            |1 ........................ 7|                            total 6, self 6 - 2 = 4
//         clone              |2 ..... 4|                                            total 2, self 2
//       relu                                            |8 .. 9|                    total 1, self 1
//
// Self times add up to the whole, with nothing counted twice: that is why the table is sorted
// by self time, and why the question "where does the time go" is answered by it. Total times
// answer another one: "what does this call cost, everything included?".
//
// The recorder is a **stack**. `enter` opens an event on top of it; `exit` closes the event on
// top, which is always the innermost open one (events nest, they never overlap). Times are
// parameters, so the tests can drive it with exact numbers; the `Profiler` below feeds it the
// clock.

// %%
//| export
namespace tinytorch::profiler {

// One recorded event: an op's kernel, a backward node or a named range.
struct Event {
  EventKind kind = EventKind::op;
  std::string name;     // "matmul", "matmul_backward", "forward"
  int depth = 0;        // how many open events enclosed it (0: top level)
  int64_t parent = -1;  // index of the enclosing event in the list, -1 at the top level
  double start = 0;     // seconds since the profile started
  double end = 0;
  double self = 0;      // total() minus the totals of the events it called directly
  Cost cost;            // FLOPs and bytes (op_cost)
  bool closed = false;  // false while it runs
  double total() const { return end - start; }
};

// The stack of open events, and every event in the order it started.
class EventRecorder {
 public:
  // Opens an event at time `now`, inside the innermost open one.
  void enter(EventKind kind, std::string name, double now);
  // Closes the innermost open event at time `now` with its cost. std::logic_error when no
  // event is open.
  void exit(double now, Cost cost);
  // Every event so far, in the order they started (open ones have closed == false).
  const std::vector<Event>& events() const { return events_; }
  // How many events are open.
  std::size_t open() const { return stack_.size(); }

 private:
  struct Frame {
    std::size_t event = 0;  // index in events_
    double children = 0;    // the totals of the events it called directly, so far
  };
  std::vector<Event> events_;
  std::vector<Frame> stack_;
};

}  // namespace tinytorch::profiler

// %% [markdown]
// ### ⭐ `EventRecorder::enter`
//
// **TODO**: Append a new open event, and push a frame for it on the stack.
//
// **APPROACH**:
// 1. The event's `depth` is the stack's size; its `parent` is the event of the top frame
//    (`-1` when the stack is empty); `start = now`.
// 2. `events_.push_back(...)`, then `stack_.push_back({index of the new event, 0})`.
//
// **EXAMPLE**:
// ```cpp
// EventRecorder r;
// r.enter(EventKind::range, "forward", 0.0);
// r.enter(EventKind::op, "matmul", 1.0);
// r.events()[1].depth    // 1
// r.events()[1].parent   // 0: inside "forward"
// ```
//
// **HINTS**: take the parent's index *before* pushing the new frame.
//
// **SYSTEMS THINKING**: `enter` runs for every op, thousands of times a step. Why is an index
// into `events_` a better parent link than a pointer to the parent `Event`?

// %%
//| export impl
namespace tinytorch::profiler {

void EventRecorder::enter(EventKind kind, std::string name, double now) {
  // BEGIN SOLUTION
  Event event;
  event.kind = kind;
  event.name = std::move(name);
  event.depth = static_cast<int>(stack_.size());
  event.parent = stack_.empty() ? -1 : static_cast<int64_t>(stack_.back().event);
  event.start = now;
  events_.push_back(std::move(event));
  stack_.push_back({events_.size() - 1, 0.0});
  // END SOLUTION
}

}  // namespace tinytorch::profiler

// %% [markdown]
// ### ⭐⭐⭐ `EventRecorder::exit`: self time
//
// **TODO**: Close the innermost open event: its end, its self time and its cost, and tell its
// parent how long it took.
//
// **APPROACH**:
// 1. No open event: throw `std::logic_error` ("exit() without a matching enter()").
// 2. Take the top frame and pop it. Its event gets `end = now`, `cost`, `closed = true`, and
//    `self = total() - frame.children`.
// 3. If a frame is still open, it is the parent: add this event's `total()` to its
//    `children`.
//
// **EXAMPLE** (the picture above):
// ```cpp
// r.enter(range, "forward", 0); r.enter(op, "matmul", 1); r.enter(op, "clone", 2);
// r.exit(4, {}); r.exit(7, {}); r.enter(op, "relu", 8); r.exit(9, {}); r.exit(10, {});
// // forward: total 10, self 3; matmul: total 6, self 4; clone: self 2; relu: self 1
// ```
//
// **HINTS**:
// - Subtract only the *direct* children: clone's 2 ms are already inside matmul's 6, so
//   forward subtracts 6, not 8.
// - A reference into `events_` stays valid here (exit appends nothing), but one taken before
//   an `enter` would not: vectors move their elements when they grow.
//
// **SYSTEMS THINKING**: the profiler's own work (reading the clock, pushing an event) happens
// inside the parent's time and shows up as its self time. With 20 ns per clock read and a
// few hundred ns per event, how many events per millisecond before the profile is mostly
// profiler? (PyTorch's profiler costs a few microseconds per op for the same reason.)

// %%
//| export impl
namespace tinytorch::profiler {

void EventRecorder::exit(double now, Cost cost) {
  // BEGIN SOLUTION
  if (stack_.empty()) throw std::logic_error("EventRecorder::exit(): exit() without a matching enter()");
  const Frame frame = stack_.back();
  stack_.pop_back();
  Event& event = events_[frame.event];
  event.end = now;
  event.cost = cost;
  event.closed = true;
  event.self = event.total() - frame.children;
  if (!stack_.empty()) stack_.back().children += event.total();
  // END SOLUTION
}

}  // namespace tinytorch::profiler

// %%
//| test
TEST(UnitEventRecorder, SelfTimeSubtractsDirectChildren) {
  profiler::EventRecorder r;
  r.enter(profiler::EventKind::range, "forward", 0);
  r.enter(profiler::EventKind::op, "matmul", 1);
  r.enter(profiler::EventKind::op, "clone", 2);
  r.exit(4, {});
  r.exit(7, {10, 20});
  r.enter(profiler::EventKind::op, "relu", 8);
  r.exit(9, {});
  r.exit(10, {});
  const auto& e = r.events();
  ASSERT_EQ(e.size(), 4u);
  EXPECT_DOUBLE_EQ(e[0].self, 3) << "forward: 10 - matmul's 6 - relu's 1 (clone is inside matmul)";
  EXPECT_DOUBLE_EQ(e[1].self, 4);
  EXPECT_EQ(e[2].parent, 1);
  EXPECT_EQ(e[1].cost, (profiler::Cost{10, 20}));
}

// %% [markdown]
// ### ⭐⭐ `key_averages`: one row per op
//
// A step records thousands of events; the table has one row per op name:
// how many calls, the sum of their self and total times, and of their FLOPs and bytes.
// `GroupBy::name_and_parent` keeps ops apart by what called them, so `"matmul"` called by the
// forward pass and `"matmul"` called by `"matmul_backward"` get rows of their own: that is how
// you see the backward pass's share of the matmuls.
//
// **TODO**: Aggregate the closed events into `OpStats`, one per key, sorted by self time,
// largest first.
//
// **APPROACH**:
// 1. The key is the event's name; with `name_and_parent`, it is `name + " <- " + parent's
//    name` for an event with a parent (just the name at the top level).
// 2. For each closed event, find or add its row (a `std::map<std::string, std::size_t>` from
//    key to index works) and add: `calls += 1`, `self_seconds += self`,
//    `total_seconds += total()`, `cost += cost`. The row's `kind` is its first event's.
// 3. Sort with `std::stable_sort` by `self_seconds` descending, and equal ones by name.
//
// **EXAMPLE**:
// ```cpp
// key_averages(events)   // [{"matmul", calls 9, self 61 ms, ...}, {"im2col_backward", 2, 12 ms, ...}, ...]
// ```
//
// **HINTS**:
// - Skip events that are still open (`closed == false`): they have no end yet.
// - The parent's name is `events[event.parent].name`.
//
// **SYSTEMS THINKING**: summing *total* times across rows counts nested time twice (forward's
// total includes matmul's). Summing *self* times never does. Which column would you use to
// answer "how long does a whole conv2d call take", and why is neither column enough alone?

// %%
//| export
namespace tinytorch::profiler {

// How key_averages groups events into rows.
enum class GroupBy {
  name,             // one row per op name
  name_and_parent,  // one row per (name, name of the event that called it): "matmul <- matmul_backward"
};

// One row of the table: the events of one key, summed.
struct OpStats {
  std::string name;  // the key
  EventKind kind = EventKind::op;
  int64_t calls = 0;
  double self_seconds = 0;
  double total_seconds = 0;
  Cost cost;
  // Achieved GFLOP/s over the self time (0 when it did no FLOPs or took no time).
  double gflops() const { return self_seconds > 0 ? cost.flops / self_seconds / 1e9 : 0.0; }
};

// The closed events summed per key, sorted by self time (largest first; equal ones by name).
std::vector<OpStats> key_averages(const std::vector<Event>& events, GroupBy group_by = GroupBy::name);

}  // namespace tinytorch::profiler

// %%
//| export impl
namespace tinytorch::profiler {

std::vector<OpStats> key_averages(const std::vector<Event>& events, GroupBy group_by) {
  // BEGIN SOLUTION
  std::vector<OpStats> rows;
  std::map<std::string, std::size_t> index;
  for (const Event& event : events) {
    if (!event.closed) continue;
    std::string key = event.name;
    if (group_by == GroupBy::name_and_parent && event.parent >= 0) {
      key += " <- " + events[static_cast<std::size_t>(event.parent)].name;
    }
    auto [found, added] = index.try_emplace(key, rows.size());
    if (added) rows.push_back(OpStats{key, event.kind});
    OpStats& row = rows[found->second];
    row.calls += 1;
    row.self_seconds += event.self;
    row.total_seconds += event.total();
    row.cost += event.cost;
  }
  std::stable_sort(rows.begin(), rows.end(), [](const OpStats& a, const OpStats& b) {
    if (a.self_seconds != b.self_seconds) return a.self_seconds > b.self_seconds;
    return a.name < b.name;
  });
  return rows;
  // END SOLUTION
}

}  // namespace tinytorch::profiler

// %%
//| test
TEST(UnitKeyAverages, OneRowPerNameSortedBySelfTime) {
  profiler::EventRecorder r;
  r.enter(profiler::EventKind::op, "relu", 0);
  r.exit(1, {5, 40});
  r.enter(profiler::EventKind::op, "matmul", 1);
  r.exit(4, {100, 48});
  r.enter(profiler::EventKind::op, "relu", 4);
  r.exit(6, {5, 40});
  const std::vector<profiler::OpStats> rows = profiler::key_averages(r.events());
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].name, "matmul");
  EXPECT_EQ(rows[1].calls, 2);
  EXPECT_DOUBLE_EQ(rows[1].self_seconds, 3);
  EXPECT_EQ(rows[1].cost, (profiler::Cost{10, 80}));
}

// %% [markdown]
// ### The profiler itself (written for you)
//
// `Profiler` puts your recorder behind module 01's hook:
//
// - its constructor installs the hook (`autograd::set_op_profiler`) and makes this thread's
//   recorder the active one; its destructor or `stop()` removes both. One profiler at a time
//   per thread; other threads' ops are not recorded;
// - before an op's kernel the hook calls your `enter` with the clock's reading; after it,
//   `op_cost` and your `exit`. A backward node's name gets `_backward` appended;
// - nothing that goes wrong inside the hook may escape into the op (a destructor cannot throw,
//   and an op should not fail because it was profiled): the first error is kept, and `stop()`
//   rethrows it. An unfinished exercise of yours shows up there, as "not implemented yet";
// - `RecordFunction` (libtorch's name; Python's `record_function`) opens a named range for its
//   lifetime, optionally with a cost (Adam's update is one fused loop, not an op, so its demo
//   gives its FLOPs and bytes). When no profiler runs it does nothing.
//
// `table()` prints the rows, like PyTorch's `key_averages().table()`, and with a `Machine`
// (part 6), each op's GFLOP/s as a share of the peak.

// %%
//| export
namespace tinytorch::profiler {

// Records every op, backward node and range of this thread while it runs
// (torch.profiler.profile). One at a time per thread.
class Profiler {
 public:
  // Starts recording on this thread. std::logic_error when a profiler already runs on it.
  Profiler();
  // Stops, without throwing.
  ~Profiler();
  Profiler(const Profiler&) = delete;
  Profiler& operator=(const Profiler&) = delete;

  // Stops recording and rethrows the first error that happened inside the hook, if any.
  // Calling it again does nothing.
  void stop();
  bool running() const noexcept;
  // The events so far (see EventRecorder::events).
  const std::vector<Event>& events() const;
  // key_averages(events(), group_by).
  std::vector<OpStats> key_averages(GroupBy group_by = GroupBy::name) const;
  // Wall seconds from the start to stop() (or to now, while running).
  double elapsed_seconds() const;

  struct Session;

 private:
  std::unique_ptr<Session> session_;
};

// Opens a range named `name` (a string that outlives it) for its lifetime in the running
// profiler of this thread, with `cost` as its own work. Does nothing when none runs.
class RecordFunction {
 public:
  explicit RecordFunction(const char* name, Cost cost = {});
  ~RecordFunction();
  RecordFunction(const RecordFunction&) = delete;
  RecordFunction& operator=(const RecordFunction&) = delete;

 private:
  Profiler::Session* session_ = nullptr;
  Cost cost_;
};

// What this machine can do: measured in part 5.
struct Machine {
  double peak_gflops = 0;    // single-core FMA peak, GFLOP/s
  double bandwidth_gbs = 0;  // streaming memory bandwidth, GB/s (10^9 bytes per second)
  // The arithmetic intensity (FLOP/byte) where the two roofs meet.
  double ridge() const { return bandwidth_gbs > 0 ? peak_gflops / bandwidth_gbs : 0.0; }
};

struct TableOptions {
  std::size_t row_limit = 20;      // rows shown (the rest summed in one line)
  std::optional<Machine> machine;  // adds "% peak", FLOP/B and the bound
};

// The rows as a terminal table: name, calls, self time and its share of all self time, total
// time, GFLOP, GFLOP/s, GB/s (compulsory bytes over self time), and with a machine the share of
// its roof (for an op without FLOPs, of the bandwidth), FLOP/byte and the bound.
std::string table(const std::vector<OpStats>& rows, const TableOptions& options = {});

}  // namespace tinytorch::profiler

namespace tinytorch::autograd {
namespace profiler = tinytorch::profiler;  // libtorch's torch::autograd::profiler
}  // namespace tinytorch::autograd

// %%
//| export impl
namespace tinytorch::profiler {

struct Profiler::Session {
  EventRecorder recorder;
  double origin = wall_seconds();
  double stopped_at = -1;
  std::exception_ptr error;
  bool running = true;

  double now() const { return wall_seconds() - origin; }
  void fail() noexcept {
    if (!error) error = std::current_exception();
  }
  void enter(EventKind kind, std::string name) noexcept {
    if (error) return;
    try {
      recorder.enter(kind, std::move(name), now());
    } catch (...) {
      fail();
    }
  }
  void exit(EventKind kind, std::string_view name, std::span<const Tensor> inputs, std::span<const int64_t> ints,
            const Tensor* output, Cost range_cost = {}) noexcept {
    if (error) return;
    try {
      const double end = now();
      const Cost cost = kind == EventKind::range ? range_cost : op_cost(kind, name, inputs, ints, output);
      recorder.exit(end, cost);
    } catch (...) {
      fail();
    }
  }
};

namespace {

thread_local Profiler::Session* active_session = nullptr;
std::mutex install_mutex;
int running_sessions = 0;

std::string event_name(EventKind kind, const char* name) {
  return kind == EventKind::backward ? std::string(name) + "_backward" : std::string(name);
}

void hook_enter(EventKind kind, const char* name) {
  if (Profiler::Session* s = active_session) s->enter(kind, event_name(kind, name));
}

void hook_exit(EventKind kind, const char* name, std::span<const Tensor> inputs, std::span<const int64_t> ints,
               const Tensor* output) {
  if (Profiler::Session* s = active_session) s->exit(kind, name, inputs, ints, output);
}

const autograd::OpProfiler hooks{&hook_enter, &hook_exit};

}  // namespace

Profiler::Profiler() {
  if (active_session != nullptr) {
    throw std::logic_error(
        "Profiler: a profiler already runs on this thread; stop it first (one at a time per thread)");
  }
  session_ = std::make_unique<Session>();
  active_session = session_.get();
  std::lock_guard lock(install_mutex);
  if (running_sessions++ == 0) autograd::set_op_profiler(&hooks);
}

Profiler::~Profiler() {
  if (!session_ || !session_->running) return;
  try {
    stop();
  } catch (...) {  // a destructor does not throw; stop() would have told
  }
}

void Profiler::stop() {
  Session& s = *session_;
  if (s.running) {
    s.running = false;
    s.stopped_at = s.now();
    if (active_session == &s) active_session = nullptr;
    std::lock_guard lock(install_mutex);
    if (--running_sessions == 0) autograd::set_op_profiler(nullptr);
  }
  if (s.error) std::rethrow_exception(s.error);
}

bool Profiler::running() const noexcept { return session_->running; }
const std::vector<Event>& Profiler::events() const { return session_->recorder.events(); }
std::vector<OpStats> Profiler::key_averages(GroupBy group_by) const {
  return profiler::key_averages(events(), group_by);
}
double Profiler::elapsed_seconds() const { return session_->running ? session_->now() : session_->stopped_at; }

RecordFunction::RecordFunction(const char* name, Cost cost) : session_(active_session), cost_(cost) {
  if (session_) session_->enter(EventKind::range, name);
}

RecordFunction::~RecordFunction() {
  if (session_ && active_session == session_) session_->exit(EventKind::range, "", {}, {}, nullptr, cost_);
}

namespace {
std::string fixed(double v, int decimals) {
  char text[32];
  std::snprintf(text, sizeof text, "%.*f", decimals, v);
  return text;
}
std::string pad(std::string text, std::size_t width, bool right) {
  if (text.size() > width) text = text.substr(0, width - 1) + "~";
  const std::string space(width - text.size(), ' ');
  return right ? space + text : text + space;
}
}  // namespace

std::string table(const std::vector<OpStats>& rows, const TableOptions& options) {
  double all_self = 0;
  for (const OpStats& r : rows) all_self += r.self_seconds;
  std::size_t name_width = 4;
  for (std::size_t i = 0; i < rows.size() && i < options.row_limit; ++i) {
    name_width = std::max(name_width, rows[i].name.size());
  }
  name_width = std::min<std::size_t>(name_width, 44);
  std::ostringstream out;
  auto line = [&](const std::vector<std::pair<std::string, std::size_t>>& cells) {
    bool first = true;
    for (const auto& [text, width] : cells) {
      out << (first ? "" : "  ") << pad(text, width, !first);
      first = false;
    }
    out << "\n";
  };
  std::vector<std::pair<std::string, std::size_t>> header = {{"Name", name_width}, {"Calls", 6}, {"Self", 9},
                                                             {"Self %", 6},        {"Total", 9}, {"GFLOP", 7},
                                                             {"GFLOP/s", 7},       {"GB/s", 6}};
  if (options.machine) {
    header.push_back({"% roof", 6});
    header.push_back({"FLOP/B", 6});
    header.push_back({"bound", 7});
  }
  line(header);
  std::size_t rule = 0;
  for (const auto& [text, width] : header) rule += width + 2;
  out << std::string(rule - 2, '-') << "\n";
  auto cells_of = [&](const OpStats& r) {
    std::vector<std::pair<std::string, std::size_t>> cells = {
        {r.name, name_width},
        {std::to_string(r.calls), 6},
        {format_seconds(r.self_seconds), 9},
        {fixed(all_self > 0 ? 100.0 * r.self_seconds / all_self : 0.0, 1), 6},
        {format_seconds(r.total_seconds), 9},
        {r.cost.flops > 0 ? fixed(r.cost.flops / 1e9, 3) : "-", 7},
        {r.cost.flops > 0 ? fixed(r.gflops(), 2) : "-", 7},
        {r.cost.bytes > 0 && r.self_seconds > 0 ? fixed(r.cost.bytes / r.self_seconds / 1e9, 2) : "-", 6}};
    if (options.machine) {
      const Machine& m = *options.machine;
      const double intensity = r.cost.bytes > 0 ? r.cost.flops / r.cost.bytes : 0.0;
      const double roof = std::min(m.peak_gflops, intensity * m.bandwidth_gbs);
      cells.push_back({r.cost.flops > 0 && roof > 0 ? fixed(100.0 * r.gflops() / roof, 1) : "-", 6});
      cells.push_back({r.cost.bytes > 0 ? fixed(intensity, 2) : "-", 6});
      cells.push_back({r.cost.bytes > 0 ? (intensity < m.ridge() ? "memory" : "compute") : "-", 7});
      if (r.cost.flops <= 0 && r.cost.bytes > 0 && r.self_seconds > 0 && m.bandwidth_gbs > 0) {
        // An op that only moves data: its share of the bandwidth.
        cells[8].first = fixed(100.0 * r.cost.bytes / r.self_seconds / 1e9 / m.bandwidth_gbs, 1);
      }
    }
    return cells;
  };
  OpStats rest{"(" + std::to_string(rows.size() > options.row_limit ? rows.size() - options.row_limit : 0) +
               " more rows)"};
  for (std::size_t i = 0; i < rows.size(); ++i) {
    if (i < options.row_limit) {
      line(cells_of(rows[i]));
    } else {
      rest.calls += rows[i].calls;
      rest.self_seconds += rows[i].self_seconds;
      rest.total_seconds += rows[i].total_seconds;
      rest.cost += rows[i].cost;
    }
  }
  if (rows.size() > options.row_limit) line(cells_of(rest));
  out << std::string(rule - 2, '-') << "\n";
  out << "Self time, all rows: " << format_seconds(all_self) << "\n";
  return out.str();
}

}  // namespace tinytorch::profiler

// %%
//| test
TEST(UnitProfiler, RecordsTheOpsOfASmallGraph) {
  const Tensor a = randn({4, 3}, 1), b = randn({3, 5}, 2);
  profiler::Profiler prof;
  const Tensor y = relu(a.matmul(b));
  prof.stop();
  std::vector<std::string> top;  // the ops called here (their kernels call ops of their own, one level down)
  for (const profiler::Event& e : prof.events()) {
    if (e.depth == 0) top.push_back(e.name);
  }
  EXPECT_EQ(top, (std::vector<std::string>{"matmul", "relu"}));
  for (const profiler::OpStats& row : prof.key_averages()) {
    if (row.name == "matmul") EXPECT_EQ(row.cost, profiler::matmul_cost(4, 3, 5));
  }
}

// %% [markdown]
// A first profile: a small MLP's forward and backward pass, with ranges around the two
// halves. Read the table's columns: which op takes the most self time? Where do the
// `_backward` rows spend theirs: in themselves, or in the ops they call? The second table,
// grouped by caller, answers that.

// %%
//| demo
{
  nn::Sequential mlp(nn::Linear(784, 256, true, 1), nn::ReLU(), nn::Linear(256, 10, true, 2));
  const Tensor x = randn({128, 784}, 3);
  std::vector<float> classes(128);
  for (std::size_t i = 0; i < classes.size(); ++i) classes[i] = static_cast<float>(i % 10);
  const Tensor labels(classes, {128});
  profiler::Profiler prof;
  Tensor loss;
  {
    profiler::RecordFunction forward("forward");
    loss = nn::functional::cross_entropy(mlp(x), labels);
  }
  {
    profiler::RecordFunction backward("backward");
    loss.backward();
  }
  prof.stop();
  std::cout << "A 784-256-10 MLP, batch 128: forward and backward, " << prof.events().size() << " events in "
            << profiler::format_seconds(prof.elapsed_seconds()) << "\n\n"
            << profiler::table(prof.key_averages(), {.row_limit = 12}) << "\n"
            << "grouped by caller:\n"
            << profiler::table(prof.key_averages(profiler::GroupBy::name_and_parent), {.row_limit = 10}) << "\n";

  // What the profiler costs: 20,000 adds of one-element tensors, without and with it.
  const Tensor one = tensor({1.0f});
  auto adds = [&] {
    for (int i = 0; i < 20000; ++i) (void)(one + one);
  };
  const double off = profiler::summarize(profiler::measure(adds, {.warmup = 1, .repeats = 5}).wall).median;
  double on = 0;
  std::size_t events = 0;
  {
    profiler::Profiler overhead;
    on = profiler::summarize(profiler::measure(adds, {.warmup = 1, .repeats = 5}).wall).median;
    overhead.stop();
    events = overhead.events().size();
  }
  std::printf(
      "an add of one-element tensors: %s without a profiler (the hook is one atomic load), %s with one: the "
      "profiler adds %s per event (%zu events recorded)\n\n",
      profiler::format_seconds(off / 20000).c_str(), profiler::format_seconds(on / 20000).c_str(),
      profiler::format_seconds((on - off) / (static_cast<double>(events) / 6)).c_str(), events);
}

// %% [markdown]
// ## Part 4: Memory
//
// Time is one budget; memory is the other, and the one that stops a run instead of slowing it:
// "CUDA out of memory" at batch 256 when batch 128 worked. What fills memory in training is
// mostly **activations**: every op keeps the inputs its backward needs, from the first layer
// to the last, until backward frees them, layer by layer, in reverse. So memory peaks at the end
// of the forward pass, and grows with the batch size.
//
// Two measurements:
//
// - **tensor bytes**: module 01's `Storage` reports each new buffer and its release to an
//   installed observer; module 10's `MemoryTracker` counts them. **Live** bytes are those
//   allocated and not yet freed; the **peak** is the highest live count seen, the number
//   `torch.cuda.max_memory_allocated()` reports;
// - the process's **maximum resident set size** (`ru_maxrss` from `getrusage`): the most
//   physical memory the process ever held, tensors, code, libraries and all. It never goes
//   down, and it counts what the allocator kept for reuse.
//
// Counting starts when the first `MemoryTracker` is made (or `start_memory_counting()` is
// called) and then stays on. Buffers that existed before are not counted, neither when they
// are made nor when they are freed, so the live count is always exact for the buffers it
// knows.

// %%
//| export
namespace tinytorch::profiler {

// Live and peak bytes from allocations and frees (not thread-safe by itself: the tracker
// serializes the calls).
class MemoryCounter {
 public:
  // A buffer of `bytes` was made: live grows, and the peak follows it up.
  void allocated(std::size_t bytes);
  // A buffer of `bytes` was freed.
  void freed(std::size_t bytes);
  // The peak starts again from the live count.
  void reset_peak() { peak_ = live_; }
  int64_t live_bytes() const { return live_; }
  int64_t peak_bytes() const { return peak_; }
  int64_t allocations() const { return allocations_; }

 private:
  int64_t live_ = 0;
  int64_t peak_ = 0;
  int64_t allocations_ = 0;
};

// Starts counting tensor memory (module 01's Storage hook), for the rest of the program.
void start_memory_counting();

// Tensor memory during its lifetime: live bytes, the peak, and allocations. Trackers nest:
// each has its own peak and counts.
class MemoryTracker {
 public:
  MemoryTracker();
  ~MemoryTracker();
  MemoryTracker(const MemoryTracker&) = delete;
  MemoryTracker& operator=(const MemoryTracker&) = delete;

  // Counted bytes live now (every counted buffer, not only this tracker's).
  int64_t live_bytes() const;
  // Live bytes when this tracker started.
  int64_t start_bytes() const { return start_; }
  // The highest live count since this tracker started.
  int64_t peak_bytes() const;
  // How far above its start the live count went: the memory this scope needed.
  int64_t peak_above_start_bytes() const { return peak_bytes() - start_; }
  // Buffers made since this tracker started.
  int64_t allocations() const;

 private:
  MemoryCounter counter_;  // this tracker's view: starts at the live count
  int64_t start_ = 0;
  friend struct MemoryHook;
};

// The process's maximum resident set size so far, in bytes (getrusage's ru_maxrss).
int64_t max_rss_bytes();

// "512 B", "1.5 KiB", "20.1 MiB", "1.20 GiB".
std::string format_bytes(double bytes);

}  // namespace tinytorch::profiler

// %% [markdown]
// ### ⭐ `MemoryCounter::allocated` and `freed`
//
// **TODO**: `allocated` adds to the live count, counts one allocation and raises the peak
// when live passes it; `freed` subtracts.
//
// **APPROACH**: `live_ += bytes; ++allocations_; peak_ = max(peak_, live_);` and
// `live_ -= bytes;`.
//
// **EXAMPLE**:
// ```cpp
// MemoryCounter c;
// c.allocated(100); c.allocated(50); c.freed(100); c.allocated(20);
// c.live_bytes()   // 70
// c.peak_bytes()   // 150: after the second allocation
// ```
//
// **HINTS**: the peak only moves when memory is allocated; a free never raises it.
//
// **SYSTEMS THINKING**: `live` is a sum, the peak a running maximum. If two threads allocated at
// once, which of the two could come out wrong without a lock, and how?

// %%
//| export impl
namespace tinytorch::profiler {

void MemoryCounter::allocated(std::size_t bytes) {
  // BEGIN SOLUTION
  live_ += static_cast<int64_t>(bytes);
  ++allocations_;
  peak_ = std::max(peak_, live_);
  // END SOLUTION
}

void MemoryCounter::freed(std::size_t bytes) {
  // BEGIN SOLUTION
  live_ -= static_cast<int64_t>(bytes);
  // END SOLUTION
}

}  // namespace tinytorch::profiler

// %% [markdown]
// ### ⭐ `max_rss_bytes`
//
// **TODO**: Return the process's maximum resident set size in bytes.
//
// **APPROACH**: `rusage usage{}; getrusage(RUSAGE_SELF, &usage);` then `usage.ru_maxrss`,
// which Linux gives in **kilobytes** (1024 bytes): multiply.
//
// **EXAMPLE**:
// ```cpp
// max_rss_bytes()   // about 30 MB for a small test program, a few hundred MB while training
// ```
//
// **HINTS**: macOS gives `ru_maxrss` in bytes, Linux in kilobytes (`man getrusage`). This course
// runs on Linux.
//
// **SYSTEMS THINKING**: the demo allocates a 100 MB tensor and frees it. The tracker's live
// count goes back down; `max_rss_bytes` does not. Why is the maximum RSS still the number a
// cluster's scheduler kills your job by?

// %%
//| export impl
namespace tinytorch::profiler {

int64_t max_rss_bytes() {
  // BEGIN SOLUTION
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<int64_t>(usage.ru_maxrss) * 1024;
  // END SOLUTION
}

std::string format_bytes(double bytes) {
  char text[32];
  const double a = std::fabs(bytes);
  if (a < 1024) {
    std::snprintf(text, sizeof text, "%.0f B", bytes);
  } else if (a < 1024.0 * 1024) {
    std::snprintf(text, sizeof text, "%.1f KiB", bytes / 1024);
  } else if (a < 1024.0 * 1024 * 1024) {
    std::snprintf(text, sizeof text, "%.1f MiB", bytes / (1024.0 * 1024));
  } else {
    std::snprintf(text, sizeof text, "%.2f GiB", bytes / (1024.0 * 1024 * 1024));
  }
  return text;
}

// The observer module 01's Storage calls: the process-wide counter and every live tracker's,
// behind one lock (buffers may be made on any thread).
struct MemoryHook {
  // Never destroyed: a tensor freed while the program exits may still report to them.
  static std::mutex& mutex() {
    static std::mutex& m = *new std::mutex;
    return m;
  }
  static MemoryCounter& global() {
    static MemoryCounter& counter = *new MemoryCounter;
    return counter;
  }
  static std::vector<MemoryTracker*>& trackers() {
    static std::vector<MemoryTracker*>& list = *new std::vector<MemoryTracker*>;
    return list;
  }
  static void allocated(std::size_t bytes) noexcept {
    std::lock_guard lock(mutex());
    try {
      global().allocated(bytes);
      for (MemoryTracker* t : trackers()) t->counter_.allocated(bytes);
    } catch (...) {  // an unfinished MemoryCounter: the trackers' tests say so
    }
  }
  static void freed(std::size_t bytes) noexcept {
    std::lock_guard lock(mutex());
    try {
      global().freed(bytes);
      for (MemoryTracker* t : trackers()) t->counter_.freed(bytes);
    } catch (...) {
    }
  }
};

namespace {
const memory::AllocationObserver memory_observer{&MemoryHook::allocated, &MemoryHook::freed};
}  // namespace

void start_memory_counting() { memory::set_allocation_observer(&memory_observer); }

MemoryTracker::MemoryTracker() {
  start_memory_counting();
  std::lock_guard lock(MemoryHook::mutex());
  start_ = MemoryHook::global().live_bytes();
  // This tracker's counter starts at the live count, with its peak there (that one
  // "allocation" is not counted by allocations()).
  counter_.allocated(static_cast<std::size_t>(start_));
  MemoryHook::trackers().push_back(this);
}

MemoryTracker::~MemoryTracker() {
  std::lock_guard lock(MemoryHook::mutex());
  auto& list = MemoryHook::trackers();
  list.erase(std::remove(list.begin(), list.end(), this), list.end());
}

int64_t MemoryTracker::live_bytes() const {
  std::lock_guard lock(MemoryHook::mutex());
  return MemoryHook::global().live_bytes();
}
int64_t MemoryTracker::peak_bytes() const {
  std::lock_guard lock(MemoryHook::mutex());
  return counter_.peak_bytes();
}
int64_t MemoryTracker::allocations() const {
  std::lock_guard lock(MemoryHook::mutex());
  return counter_.allocations() - 1;  // the first one was the start
}

}  // namespace tinytorch::profiler

// %%
//| test
TEST(UnitMemory, CounterAndTracker) {
  profiler::MemoryCounter c;
  c.allocated(100);
  c.allocated(50);
  c.freed(100);
  c.allocated(20);
  EXPECT_EQ(c.live_bytes(), 70);
  EXPECT_EQ(c.peak_bytes(), 150) << "the peak is the most that was live at once";
  profiler::MemoryTracker tracker;
  { const Tensor t = zeros({1000}); }
  EXPECT_EQ(tracker.peak_above_start_bytes(), 4000) << "one buffer of 1000 floats";
  EXPECT_EQ(tracker.live_bytes(), tracker.start_bytes()) << "and it was freed";
}

// %% [markdown]
// The memory a tensor of 25 million floats takes, live and at the peak, and what the process's
// maximum RSS makes of it: it goes up, and never comes back down.

// %%
//| demo
{
  profiler::MemoryTracker tracker;
  const int64_t rss_before = profiler::max_rss_bytes();
  {
    const Tensor big = zeros({25'000'000});  // 100 MB
    std::cout << "a tensor of 25,000,000 floats: live "
              << profiler::format_bytes(tracker.live_bytes() - tracker.start_bytes()) << ", max RSS "
              << profiler::format_bytes(rss_before) << " -> " << profiler::format_bytes(profiler::max_rss_bytes())
              << "\n";
  }
  std::cout << "freed: live " << profiler::format_bytes(tracker.live_bytes() - tracker.start_bytes()) << ", peak "
            << profiler::format_bytes(tracker.peak_above_start_bytes()) << ", max RSS still "
            << profiler::format_bytes(profiler::max_rss_bytes()) << "\n\n";
}

// %% [markdown]
// ## Part 5: What can this machine do?
//
// "The matmul runs at 13 GFLOP/s" means nothing until you know what the CPU could do. Vendors
// publish a theoretical peak (cores × clock × FLOPs per cycle), but the honest number is one
// you **measure**, with code that does nothing but the thing measured:
//
// - **compute**: a loop of fused multiply-adds (`std::fma(a, b, c)`: `a·b + c` in one
//   instruction, 2 FLOPs) on many independent accumulators;
// - **memory**: a copy of an array far larger than every cache: each float read once and
//   written once.
//
// Why *many* accumulators: an FMA takes about 4 cycles to produce its result (its **latency**),
// but a core can *start* two every cycle (its **throughput**). A loop `acc = fma(acc, a, b)` waits
// for each result before the next: one FMA per 4 cycles, an eighth of the peak. With
// independent chains (`acc[0]`, `acc[1]`, …) the FMAs overlap; with at least latency ×
// throughput × vector width of them (4 × 2 × 8 = 64 floats with AVX2), the units never wait. The
// compiler turns the loop over the chains into vector instructions (the library is built with
// `-O3 -march=native`).
//
// ### ⭐⭐ `fma_chains`
//
// **TODO**: Run `iterations` rounds of `acc[i] = fma(acc[i], multiplier, addend)` over all
// `kChains` accumulators, and return the sum of the accumulators (so that the compiler cannot
// skip the work).
//
// **APPROACH**:
// 1. `float acc[kChains]`, every entry starting at `1.0f + i * 1e-3f` (different starts).
// 2. For each of `iterations` rounds, for each `i < kChains`:
//    `acc[i] = std::fma(acc[i], multiplier, addend)`. Keep the loop over `i` innermost and its
//    trip count the constant `kChains`: the compiler then keeps `acc` in vector registers.
// 3. Return the sum of `acc`.
//
// **EXAMPLE**:
// ```cpp
// fma_chains(1, 1.0f, 1.0f)             // every acc grows by 1: sum of (2 + i·0.001) over 128 chains
// peak_gflops()                          // 2 · kChains · iterations FLOPs over the time: ~80 on a 2.6 GHz AVX2 core
// ```
//
// **HINTS**:
// - `multiplier = 0.999999f` and `addend = 1e-6f` keep the values bounded for millions of rounds
//   (a fixed point at 1): no infinities, no denormals, which would be slow.
// - One accumulator (`acc = fma(acc, m, a)` on one float) gives a latency-bound number. Try it:
//   the ratio is the lesson.
//
// **SYSTEMS THINKING**: your matmul from module 01 has one accumulator per output element in its
// inner loop. How many independent FMAs does its inner loop have in flight, and what fraction of
// this peak does that predict? Module 11's register tiling is exactly "more independent
// accumulators in registers".

// %%
//| export
namespace tinytorch::profiler {

// Independent FMA chains of the peak benchmark: enough for the latency of a vector FMA times
// two units, with AVX2 or AVX-512.
inline constexpr int kChains = 128;

// `iterations` rounds of acc[i] = fma(acc[i], multiplier, addend) over kChains accumulators
// starting at 1 + i/1000; returns their sum. Does 2 · kChains · iterations FLOPs.
float fma_chains(int64_t iterations, float multiplier, float addend);

// Copies `n` floats from `src` to `dst` (the bandwidth benchmark's kernel).
void stream_copy(const float* src, float* dst, int64_t n);

// Single-core peak GFLOP/s: the median of `repeats` runs of fma_chains.
double peak_gflops(int64_t iterations = 20'000'000, int repeats = 7);
// Streaming bandwidth in GB/s: the median of `repeats` copies of `megabytes` (read + written
// bytes over the time).
double bandwidth_gbs(int64_t megabytes = 256, int repeats = 7);
// Both, measured now.
Machine measure_machine();

}  // namespace tinytorch::profiler

// %%
//| export impl
namespace tinytorch::profiler {

float fma_chains(int64_t iterations, float multiplier, float addend) {
  // BEGIN SOLUTION
  float acc[kChains];
  for (int i = 0; i < kChains; ++i) acc[i] = 1.0f + static_cast<float>(i) * 1e-3f;
  for (int64_t it = 0; it < iterations; ++it) {
    for (int i = 0; i < kChains; ++i) acc[i] = std::fma(acc[i], multiplier, addend);
  }
  float sum = 0.0f;
  for (int i = 0; i < kChains; ++i) sum += acc[i];
  return sum;
  // END SOLUTION
}

}  // namespace tinytorch::profiler

// %% [markdown]
// ### ⭐ `stream_copy`
//
// **TODO**: Copy `n` floats from `src` to `dst`.
//
// **APPROACH**: one loop, `dst[i] = src[i]`, or `std::memcpy(dst, src, n * sizeof(float))`.
//
// **EXAMPLE**:
// ```cpp
// stream_copy(a.data(), b.data(), 64 << 20)   // 256 MB read, 256 MB written
// bandwidth_gbs()                              // ~10-30 GB/s on one core
// ```
//
// **HINTS**: the benchmark's buffers are 256 MB each, far past every cache, so the time is the
// memory's, not the cache's.
//
// **SYSTEMS THINKING**: the benchmark counts 8 bytes per float (read + write). A normal store
// first *reads* the line it writes into (write-allocate), so the memory moves 12. Which number
// is the "bandwidth", and which one should an op's byte count be compared with?

// %%
//| export impl
namespace tinytorch::profiler {

void stream_copy(const float* src, float* dst, int64_t n) {
  // BEGIN SOLUTION
  std::memcpy(dst, src, static_cast<std::size_t>(n) * sizeof(float));
  // END SOLUTION
}

double peak_gflops(int64_t iterations, int repeats) {
  volatile float sink = 0;
  const Timing t =
      measure([&] { sink = sink + fma_chains(iterations, 0.999999f, 1e-6f); }, {.warmup = 1, .repeats = repeats});
  return 2.0 * kChains * static_cast<double>(iterations) / summarize(t.wall).median / 1e9;
}

double bandwidth_gbs(int64_t megabytes, int repeats) {
  const int64_t n = megabytes * (1 << 20) / static_cast<int64_t>(sizeof(float));
  std::vector<float> src(static_cast<std::size_t>(n), 1.0f), dst(static_cast<std::size_t>(n), 0.0f);
  const Timing t = measure([&] { stream_copy(src.data(), dst.data(), n); }, {.warmup = 1, .repeats = repeats});
  if (dst[static_cast<std::size_t>(n / 2)] != 1.0f)
    throw std::logic_error("bandwidth_gbs(): stream_copy copied nothing");
  return 2.0 * static_cast<double>(n) * sizeof(float) / summarize(t.wall).median / 1e9;
}

Machine measure_machine() { return {peak_gflops(), bandwidth_gbs()}; }

}  // namespace tinytorch::profiler

// %%
//| test
TEST(UnitPeak, FmaChainsAndCopy) {
  EXPECT_NEAR(profiler::fma_chains(1, 1.0f, 1.0f), 128 * 2.0 + 0.001 * (127 * 128 / 2), 1e-2)
      << "each of the 128 accumulators, 1 + i/1000, times 1 plus 1";
  EXPECT_NEAR(profiler::fma_chains(3, 2.0f, 0.0f), 8 * (128 + 0.001 * (127 * 128 / 2)), 1e-1);
  std::vector<float> src{1, 2, 3, 4}, dst(4, 0.0f);
  profiler::stream_copy(src.data(), dst.data(), 4);
  EXPECT_EQ(dst, src);
}

// %% [markdown]
// The peaks of this machine, measured: the FMA loop with 128 chains, then with one (the latency
// bound), and the streaming copy. The latency-bound number is what a loop with a single
// accumulator can ever reach.

// %%
//| demo
#include <cmath>
#include <cstdio>

{
  const double peak = profiler::peak_gflops();
  const double one_chain = [] {
    volatile float sink = 0;
    const int64_t n = 20'000'000;
    const profiler::Timing t = profiler::measure(
        [&] {
          volatile float start = 1.5f;  // not a constant: the compiler cannot precompute the loop
          float acc = start;
          for (int64_t i = 0; i < n; ++i) acc = std::fma(acc, 0.999999f, 1e-6f);
          sink = sink + acc;
        },
        {.warmup = 1, .repeats = 5});
    return 2.0 * static_cast<double>(n) / profiler::summarize(t.wall).median / 1e9;
  }();
  const profiler::Timing copies = [] {
    const int64_t n = 64 << 20;
    std::vector<float> src(static_cast<std::size_t>(n), 1.0f), dst(static_cast<std::size_t>(n));
    return profiler::measure([&] { profiler::stream_copy(src.data(), dst.data(), n); }, {.warmup = 1, .repeats = 7});
  }();
  const profiler::Summary copy = profiler::summarize(copies.wall);
  const double gbs = 2.0 * (64 << 20) * 4.0 / copy.median / 1e9;
  std::printf("FMA peak, %d independent chains: %.1f GFLOP/s on one core\n", profiler::kChains, peak);
  std::printf("one chain (each FMA waits for the last): %.1f GFLOP/s, %.0fx less: the latency bound\n", one_chain,
              peak / one_chain);
  std::printf("streaming copy of 256 MB: median %s (min %s, max %s): %.1f GB/s\n",
              profiler::format_seconds(copy.median).c_str(), profiler::format_seconds(copy.min).c_str(),
              profiler::format_seconds(copy.max).c_str(), gbs);
  std::printf("ridge point: %.1f FLOP/byte. An op doing fewer FLOPs per byte than that cannot reach the peak.\n\n",
              peak / gbs);
}

// %% [markdown]
// ## Part 6: The roofline
//
// The **roofline model** (Williams, Waterman and Patterson, 2009) puts both measurements in one
// picture. An op with arithmetic intensity `I` (FLOPs per byte) can at best run at
//
//     attainable(I) = min(peak, I · bandwidth)
//
// Below the **ridge point** `peak / bandwidth` the slanted roof is lower: the op is
// **memory-bound**, and a faster FMA loop would not help it; only moving fewer bytes (fusing it
// with its neighbour, keeping data in cache) would. Above it, the flat roof: **compute-bound**,
// and only better use of the FMA units (module 11) helps. Each op of the profile becomes a
// point `(I, achieved GFLOP/s)`; its distance below its roof is how much its kernel leaves on
// the table.
//
//     GFLOP/s (log)
//        |                    ______________ peak            ● matmul: compute-bound, far below
//        |                  /                                  its roof: module 11's job
//        |                /   ●
//        |              /                                   ● relu: on the slant, near its roof:
//        |            /                                       only fusion helps
//        |      ●   /
//        |________/__________________ FLOP/byte (log)
//                 ridge
//
// ### ⭐ `arithmetic_intensity`, ⭐ `attainable_gflops` and ⭐ `bound_of`
//
// **TODO**: `arithmetic_intensity`: FLOPs per byte (0 when the op moves no bytes).
// `attainable_gflops`: the roofline's height at `intensity`. `bound_of`: `memory` left of the
// ridge, `compute` at or right of it.
//
// **APPROACH**: `cost.flops / cost.bytes`; `std::min(m.peak_gflops, intensity * m.bandwidth_gbs)`;
// compare with `m.ridge()`.
//
// **EXAMPLE**:
// ```cpp
// Machine m{.peak_gflops = 80, .bandwidth_gbs = 20};   // ridge at 4 FLOP/byte
// arithmetic_intensity({100, 1200})    // a + b: 0.083
// attainable_gflops(0.083, m)          // 1.67: memory-bound, whatever the peak
// attainable_gflops(50, m)             // 80: compute-bound
// bound_of(4, m)                       // Bound::compute (at the ridge both roofs agree)
// ```
//
// **HINTS**: GFLOP/s = FLOP/byte × GB/s: the units work out with no factor of 10⁹.
//
// The bandwidth roof is the *memory's* (DRAM). An op on a tensor that is still in the cache
// (a few hundred kilobytes, fresh from the op before) can run above it: the table then shows
// more than 100% of its roof. That is not an error, it is the cache, and it is why fusing ops
// (keeping the data in cache between them) pays.
//
// **SYSTEMS THINKING**: the compulsory bytes are a lower bound, so the real intensity of a
// kernel is lower than the one plotted. A matmul that does not tile for the cache reads its
// inputs over and over: where does that put it on the chart, really?

// %%
//| export
namespace tinytorch::profiler {

// FLOPs per byte of `cost`; 0 when it moves no bytes.
double arithmetic_intensity(const Cost& cost);
// The roofline at `intensity`: min(peak, intensity · bandwidth), GFLOP/s.
double attainable_gflops(double intensity, const Machine& machine);

// Which roof limits an op.
enum class Bound { memory, compute };
// memory below the ridge point, compute at or above it.
Bound bound_of(double intensity, const Machine& machine);

// Writes a roofline chart of `rows` (ops with FLOPs and bytes, at their achieved GFLOP/s over
// self time) under the machine's roofs, log-log, as a PNG at `path` (folders made as needed).
// Rows without FLOPs are left out; the `label_top` ops by self time are labelled.
void write_roofline(const std::string& path, const Machine& machine, const std::vector<OpStats>& rows,
                    const std::string& title = "Roofline", std::size_t label_top = 8);

}  // namespace tinytorch::profiler

// %%
//| export impl
namespace tinytorch::profiler {

double arithmetic_intensity(const Cost& cost) {
  // BEGIN SOLUTION
  return cost.bytes > 0 ? cost.flops / cost.bytes : 0.0;
  // END SOLUTION
}

double attainable_gflops(double intensity, const Machine& machine) {
  // BEGIN SOLUTION
  return std::min(machine.peak_gflops, intensity * machine.bandwidth_gbs);
  // END SOLUTION
}

Bound bound_of(double intensity, const Machine& machine) {
  // BEGIN SOLUTION
  return intensity < machine.ridge() ? Bound::memory : Bound::compute;
  // END SOLUTION
}

void write_roofline(const std::string& path, const Machine& machine, const std::vector<OpStats>& rows,
                    const std::string& title, std::size_t label_top) {
  plot::Figure figure{.title = title, .width = 1100, .height = 640};
  plot::Axes& axes = figure.panels.emplace_back();
  axes.x_label = "arithmetic intensity (FLOP/byte, compulsory traffic)";
  axes.y_label = "GFLOP/s (over self time)";
  axes.log_x = true;
  axes.log_y = true;
  double lo_i = machine.ridge() / 4, hi_i = machine.ridge() * 4, lo_g = machine.peak_gflops / 10;
  std::vector<const OpStats*> shown;
  for (const OpStats& r : rows) {
    if (r.cost.flops <= 0 || r.cost.bytes <= 0 || r.self_seconds <= 0) continue;
    shown.push_back(&r);
    lo_i = std::min(lo_i, arithmetic_intensity(r.cost) / 2);
    hi_i = std::max(hi_i, arithmetic_intensity(r.cost) * 2);
    lo_g = std::min(lo_g, r.gflops() / 2);
  }
  lo_g = std::min(lo_g, attainable_gflops(lo_i, machine) / 2);
  axes.x_min = lo_i;
  axes.x_max = hi_i;
  axes.y_min = lo_g;
  axes.y_max = machine.peak_gflops * 2;
  axes.series.push_back(
      {.label =
           "memory roof: " + std::to_string(static_cast<int>(std::lround(machine.bandwidth_gbs))) + " GB/s x FLOP/byte",
       .x = {lo_i, machine.ridge()},
       .y = {attainable_gflops(lo_i, machine), machine.peak_gflops},
       .color = plot::colors::blue});
  axes.series.push_back(
      {.label = "compute roof: " + std::to_string(static_cast<int>(std::lround(machine.peak_gflops))) +
                " GFLOP/s (measured FMA peak)",
       .x = {machine.ridge(), hi_i},
       .y = {machine.peak_gflops, machine.peak_gflops},
       .color = plot::colors::red});
  axes.vertical_lines.push_back({.x = machine.ridge(), .label = "ridge", .color = plot::colors::gray});
  for (std::size_t i = 0; i < shown.size(); ++i) {
    const OpStats& r = *shown[i];
    const double intensity = arithmetic_intensity(r.cost);
    const bool memory_bound = bound_of(intensity, machine) == Bound::memory;
    axes.points.push_back({.x = intensity,
                           .y = r.gflops(),
                           .label = i < label_top ? r.name : "",
                           .color = memory_bound ? plot::colors::orange : plot::colors::green});
  }
  const std::filesystem::path file(path);
  if (file.has_parent_path()) std::filesystem::create_directories(file.parent_path());
  plot::write_png(file, plot::render(figure));
}

}  // namespace tinytorch::profiler

// %%
//| test
TEST(UnitRoofline, IntensityRoofAndBound) {
  const profiler::Machine m{.peak_gflops = 80, .bandwidth_gbs = 20};
  EXPECT_DOUBLE_EQ(profiler::arithmetic_intensity({100, 1200}), 100.0 / 1200);
  EXPECT_DOUBLE_EQ(profiler::attainable_gflops(0.5, m), 10) << "below the ridge the slanted roof: I · bandwidth";
  EXPECT_DOUBLE_EQ(profiler::attainable_gflops(50, m), 80);
  EXPECT_EQ(profiler::bound_of(1, m), profiler::Bound::memory);
  EXPECT_EQ(profiler::bound_of(4, m), profiler::Bound::compute);
}

// %% [markdown]
// ## Part 7: Where does a CNN training step spend its time?
//
// The CNN milestone's network, one training step on a batch of 64: forward, cross-entropy,
// backward, Adam. Before you run it, **write down your estimates**: which op takes the most
// time? What share goes to the backward pass? To im2col and col2im? At what fraction of the
// peak do the matmuls run?
//
// Then run demo 4: it measures the machine, profiles the third step (the first two warm up:
// Adam's state, the caches and the allocator), prints the table sorted by self time, the same
// grouped by caller, the phases (forward, backward, optimizer), and writes the roofline chart
// to `build/demos/10_profiling/roofline.png`. The input is a real batch of Fashion-MNIST. Last,
// the memory high-water mark of a step for batches of 16 to 128.

// %%
//| demo
#include <filesystem>

{
  const profiler::Machine machine = profiler::measure_machine();
  std::printf(
      "this machine, measured: peak %.1f GFLOP/s (FMA loop, one core), bandwidth %.1f GB/s (streaming copy), "
      "ridge %.1f FLOP/byte\n\n",
      machine.peak_gflops, machine.bandwidth_gbs, machine.ridge());

  auto make_cnn = [] {
    return nn::Sequential(nn::Conv2d(1, 16, 5, 1, 2, true, 1), nn::ReLU(), nn::MaxPool2d(2),
                          nn::Conv2d(16, 32, 5, 1, 2, true, 2), nn::ReLU(), nn::MaxPool2d(2), nn::Flatten(),
                          nn::Linear(32 * 7 * 7, 10, true, 3));
  };
  Tensor images, labels;
  std::string source;
  try {
    data::datasets::FashionMNIST train(true);
    data::DataLoader loader(data::MapDataset(train, data::transforms::Normalize({0.2860f}, {0.3530f})),
                            data::DataLoaderOptions(64));
    const data::Example batch = loader.batch(0);
    images = batch.data;
    labels = batch.target;
    source = "a real batch of 64 Fashion-MNIST images";
  } catch (const data::DatasetNotFound& error) {
    std::cout << error.what() << "\n(using random images instead: the times do not depend on the pixels)\n";
    images = randn({64, 1, 28, 28}, 4);
    std::vector<float> classes(64);
    for (std::size_t i = 0; i < classes.size(); ++i) classes[i] = static_cast<float>(i % 10);
    labels = Tensor(classes, {64});
    source = "64 random images";
  }

  nn::Sequential cnn = make_cnn();
  optim::Adam adam(cnn.parameters(), optim::AdamOptions(1e-3));
  const double params = static_cast<double>(nn::parameter_count(cnn));
  // Adam's update is one fused loop per parameter (module 06), not an op: its cost, by hand.
  // Per parameter: read p, g, m, v, write p, m, v (28 bytes); about 12 FLOPs.
  const profiler::Cost adam_cost{12.0 * params, 28.0 * params};
  auto step = [&] {
    Tensor loss;
    {
      profiler::RecordFunction range("forward");
      loss = nn::functional::cross_entropy(cnn(images), labels);
    }
    {
      profiler::RecordFunction range("backward");
      adam.zero_grad();
      loss.backward();
    }
    {
      profiler::RecordFunction range("optimizer.step", adam_cost);
      adam.step();
    }
  };
  step();
  step();
  profiler::Profiler prof;
  step();
  prof.stop();

  std::cout << "one training step of the CNN milestone's network on " << source << ": "
            << profiler::format_seconds(prof.elapsed_seconds()) << ", " << prof.events().size() << " events\n\n";
  std::vector<profiler::OpStats> ops;
  double forward = 0, backward = 0, optimizer = 0;
  for (const profiler::OpStats& row : prof.key_averages()) {
    if (row.kind != profiler::EventKind::range || row.name == "optimizer.step") ops.push_back(row);
    if (row.name == "forward") forward = row.total_seconds;
    if (row.name == "backward") backward = row.total_seconds;
    if (row.name == "optimizer.step") optimizer = row.total_seconds;
  }
  std::cout << profiler::table(ops, {.row_limit = 16, .machine = machine}) << "\n";
  const double step_seconds = forward + backward + optimizer;
  std::printf("phases: forward %s (%.0f%%), backward %s (%.0f%%), optimizer %s (%.0f%%)\n\n",
              profiler::format_seconds(forward).c_str(), 100 * forward / step_seconds,
              profiler::format_seconds(backward).c_str(), 100 * backward / step_seconds,
              profiler::format_seconds(optimizer).c_str(), 100 * optimizer / step_seconds);
  std::vector<profiler::OpStats> by_caller;
  for (const profiler::OpStats& row : prof.key_averages(profiler::GroupBy::name_and_parent)) {
    if (row.kind != profiler::EventKind::range) by_caller.push_back(row);
  }
  std::cout << "the same, by caller (\"matmul <- matmul_backward\": the matmuls of the backward pass):\n"
            << profiler::table(by_caller, {.row_limit = 10}) << "\n";

  const std::string png = std::filesystem::absolute("build/demos/10_profiling/roofline.png").string();
  // Matmuls of the forward and the backward pass apart; ops of under 100 kFLOP (on a handful of
  // numbers: the loss, its gradient) are left out, since their time is the call, not the work.
  std::vector<profiler::OpStats> points;
  for (const profiler::OpStats& row : by_caller) {
    if (row.cost.flops >= 1e5) points.push_back(row);
  }
  for (const profiler::OpStats& row : ops) {
    if (row.name == "optimizer.step") points.push_back(row);
  }
  profiler::write_roofline(png, machine, points, "Roofline: one training step of the CNN (batch 64), one core", 7);
  std::cout << "wrote " << png << "\n\n";

  std::cout << "memory of one training step against the batch size (tensor bytes above the step's start):\n";
  for (const int64_t batch : {16, 32, 64, 128}) {
    nn::Sequential net = make_cnn();
    optim::Adam opt(net.parameters(), optim::AdamOptions(1e-3));
    const Tensor x = randn({batch, 1, 28, 28}, 5);
    std::vector<float> classes(static_cast<std::size_t>(batch));
    for (std::size_t i = 0; i < classes.size(); ++i) classes[i] = static_cast<float>(i % 10);
    const Tensor y(classes, {batch});
    auto train_step = [&] {
      const Tensor loss = nn::functional::cross_entropy(net(x), y);
      opt.zero_grad();
      loss.backward();
      opt.step();
    };
    train_step();  // Adam's state
    profiler::MemoryTracker tracker;
    train_step();
    std::printf("  batch %4lld: peak %9s above the step's start, %lld buffers made\n", static_cast<long long>(batch),
                profiler::format_bytes(static_cast<double>(tracker.peak_above_start_bytes())).c_str(),
                static_cast<long long>(tracker.allocations()));
  }
  std::printf("max RSS of the process: %s (it never goes down: the 512 MB of the bandwidth benchmark are in it)\n",
              profiler::format_bytes(static_cast<double>(profiler::max_rss_bytes())).c_str());
}

// %% [markdown]
// ## Summary
//
// You built the tools that say where a program's time and memory go:
//
// - **clocks and honest timings**: wall time on `steady_clock`, CPU time per process and per
//   thread, warm-up runs, the median with the min–max spread beside it, and `measure`, which
//   later modules and the benchmarks use;
// - **FLOP and byte counts** per op kind, from the shapes at run time: matmul's `2·m·n·k`,
//   element-wise ops and reductions, im2col and col2im, a convolution through its matmul;
// - **a profiler** behind the hooks modules 01 and 05 carried from the start: nested events,
//   self against total time, `key_averages` by op or by caller, named ranges, and a table like
//   PyTorch's;
// - **memory**: live tensor bytes and the high-water mark through module 01's `Storage` hook,
//   and the process's maximum RSS;
// - **the machine's own limits**, measured: an FMA loop with enough independent chains to fill
//   the units, a streaming copy, and the **roofline** that places every op under them.
//
// The profile of the CNN step answers the question module 09 left open: the matmuls (three in
// the forward pass, six in the backward) take most of the time, and they run far below the
// peak you measured; im2col, col2im and the transposed and permuted copies around the matmuls
// come next, memory-bound on the slanted roof.
//
// ## Reflect
//
// 1. Before demo 4, estimate the share of the step that the matmuls take, and what fraction of
//    the peak they reach. Then read the table. Where was your estimate furthest off?
// 2. Estimate conv2's forward matmul FLOPs at batch 64 (`[32, 400] × [400, 12544]`), then the
//    time it should take at your measured peak. Compare with the profile's `matmul` time per
//    call: how many times slower than the peak does module 01's matmul run, and why (part 5's
//    independent chains)?
// 3. The backward pass does twice the matmul FLOPs of the forward pass. Predict its share of the
//    step, then read the phases line. What else does backward spend time on?
// 4. Estimate the bytes im2col moves for conv2 at batch 64, and the time at your measured
//    bandwidth. Then find `im2col` in the table: how close to the memory roof does it run?
// 5. Predict how the step's memory peak grows from batch 16 to 128 (linearly? with an offset
//    for what?). Then read the last lines of demo 4. What takes the memory at the peak?
// 6. `Profiler` costs a few hundred nanoseconds per event. Estimate how much it inflates the
//    profiled step (events × cost), then compare `prof.elapsed_seconds()` with module 09's
//    timing of the same step without a profiler.
//
// Next: module 11, acceleration. The profile says where the time goes: the matmuls, at a
// fraction of the peak you measured. Module 11 writes the fast kernel, a packed, register-tiled
// GEMM with SIMD and a thread pool, and every op that multiplies matrices (Linear, Conv2d
// through im2col) gets faster without an edit to the modules before it. Its demos rerun this
// profile and the roofline to show by how much.
