// %% [markdown]
// # Module 11: Acceleration
//
// Every network of the course spends most of its time in one operation: the matrix product.
// `Linear` is one, its backward is two more, a convolution is im2col and one big product, and
// attention (module 14) is products all the way down. Until now they have run on your module-01
// `matmul_2d`, the i-p-j loop: correct, cache-friendly along rows, vectorized by the compiler,
// and still a small fraction of what the CPU can do. Demo 1 measures how small.
//
// This module builds the matrix product that production libraries use (OpenBLAS, BLIS, MKL,
// and the CPU back ends of PyTorch and TensorFlow all share its shape, the one Kazushige Goto
// described in 2008), in steps you can take and measure one at a time:
//
//     C += A · B, for blocks that fit the caches, on panels packed for the kernel,
//     by a micro-kernel that keeps an MR x NR tile of C in registers, with SIMD and FMA,
//     on every core.
//
// And then, without editing a line of modules 01–09, every `Linear`, every convolution and every
// backward pass of the course runs on it. Module 01 left a slot in `Tensor::matmul` for exactly
// this (a *matmul kernel*, as module 01 left a slot for module 05's autograd recorder); this
// module installs its GEMM there when the program starts. Module 09 left one in `conv2d` too, and
// part 10 puts a convolution there that never builds the columns of the whole batch. The last demo
// trains the CNN milestone's network with and without them.
//
// ## Objectives
//
// - Count a product's floating-point operations, measure GFLOP/s, and compare them with the
//   **peak** of the machine you are on.
// - Write a **register-tiled micro-kernel**: portable C++, then AVX2 + FMA, then AVX-512, and see
//   why an MR×NR tile of accumulators is what turns a memory-bound loop into an arithmetic-bound one.
// - **Pack** A and B into the panels the micro-kernel reads, and fold transposes into the packing,
//   so that one kernel serves A·B, Aᵀ·B and A·Bᵀ without a `contiguous()` copy.
// - Write the **blocked loop nest** (MC, KC, NC blocks for the L2, L1 and L3 caches), handle the
//   edge tiles of sizes that are not multiples of the tile, and fuse an **epilogue** (bias, ReLU)
//   into the write of C.
// - Write a **persistent thread pool** and split a GEMM across it.
// - **Dispatch at run time**: pick the fastest kernel this CPU has, and never crash on one
//   that lacks the instructions.
// - Install the kernel behind `Tensor::matmul`, and measure what it does to a training step.
// - Compute a **convolution image by image**, so that its columns never leave the cache, and
//   install it in module 09's slot.
//
// ## What you will build
//
// | part | what | you write |
// |---|---|---|
// | 1 | how fast could it be? FLOPs, GFLOP/s, the peak | `gflops` |
// | 2 | a matrix as a view | `matrix_view` |
// | 3 | the register tile | `microkernel_portable`, `microkernel_avx2`, `microkernel_avx512` |
// | 4 | packing, with transposes folded in | `pack_a`, `pack_b` |
// | 5 | the blocked loop nest, edge tiles, the epilogue | `store_edge_tile`, `apply_epilogue`, `gemm_rect` |
// | 6 | a persistent thread pool | `parse_num_threads`, `ThreadPool::work_on_job`, `ThreadPool::worker_loop`, `ThreadPool::run` |
// | 7 | choosing the kernel at run time | `best_path` |
// | 8 | splitting the work, and the driver | `partition`, `gemm` |
// | 9 | speed arrives without rewrites | `accel::matmul` |
// | 10 | a convolution without the big matrix | `conv2d_forward` |
//
// Difficulty: ⭐ a few lines, ⭐⭐ needs a plan, ⭐⭐⭐ the heart of the module (the SIMD
// micro-kernel, the loop nest, the pool's worker). Nineteen exercises; each is one function.
//
// After each function, run `tito test acceleration`; `tito module run acceleration` shows the
// demos (about a minute: they time every step at n = 256, 512 and 1024, and a CNN training step).

// %%
//| default_exp core/acceleration

// %%
//| export
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <tinytorch/core/spatial.hpp>

// %%
//| export impl
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <mutex>
#include <new>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define TINYTORCH_ACCEL_X86 1
#else
#define TINYTORCH_ACCEL_X86 0
#endif

// %% [markdown]
// ## Part 1: How fast could it be?
//
// A product of `A [m, k]` and `B [k, n]` does `m·n·k` multiply-adds: **`2·m·n·k` floating-point
// operations** (FLOPs). Divide by the seconds it took and you have its speed in FLOP/s; for a
// 1024×1024 product that is 2.1 GFLOP, so 0.1 s means 21 GFLOP/s.
//
// What is possible? A core issues a few vector instructions per cycle. The one that matters is
// the **fused multiply-add**, `vfmadd231ps`: `c = a·b + c` on a whole vector of floats, in one
// instruction, with one rounding. An AVX2 register holds 8 floats, an AVX-512 register 16, and
// recent cores run two FMAs per cycle. So one core's peak is
//
//     2 FMA/cycle × 16 floats × 2 FLOPs × 3 GHz ≈ 190 GFLOP/s       (AVX-512; AVX2: half)
//
// and module 01's i-p-j loop reaches a few percent of it. Not because the arithmetic is slow:
// because the loop does one load or store for every multiply-add (it reads `B[p][j]` and
// reads and writes `C[i][j]`), and a core does at most two or three memory operations per cycle.
// The loop is **memory-bound**. Everything in this module is about doing *many* multiply-adds for
// every float that moves.
//
// The peak is a measurement, not a spec sheet: `measure_peak_gflops(path)` (written for you) runs
// independent chains of FMAs on registers only, with no memory traffic at all, for a few
// milliseconds, and reports GFLOP/s. It is the ceiling every kernel of this module is held to.
//
// ### ⭐ `gflops`
//
// **TODO**: Return the speed, in GFLOP/s, of a product `[m, k] @ [k, n]` that took `seconds`.
//
// **APPROACH**:
// 1. The work is `2·m·n·k` FLOPs. Compute it in `double`.
// 2. Divide by `seconds`, then by 10⁹.
//
// **EXAMPLE**:
// ```cpp
// gflops(1024, 1024, 1024, 0.1)   // 21.47...: 2.147 GFLOP in a tenth of a second
// gflops(64, 10, 1568, 1e-4)      // 20.07: Linear(1568, 10) on a batch of 64
// ```
//
// **HINTS**:
// - `2 * m * n * k` in `int64_t` is fine up to sizes of about 10⁶ each; `2.0 * m * n * k` in
//   `double` never overflows and is what you divide anyway.
//
// **SYSTEMS THINKING**: FLOPs count arithmetic, not time. Two products of the same FLOPs can
// differ tenfold in time (demo 3 shows 1024×1024 at every step of this module). "Percent of
// peak" is the honest figure to report: it says how much of the machine a kernel leaves unused.

// %%
//| export
namespace tinytorch::accel {

// The speed of a product [m, k] @ [k, n] that took `seconds`: 2*m*n*k / seconds / 1e9.
double gflops(int64_t m, int64_t n, int64_t k, double seconds);

}  // namespace tinytorch::accel

// %%
//| export impl
namespace tinytorch::accel {

double gflops(int64_t m, int64_t n, int64_t k, double seconds) {
  // BEGIN SOLUTION
  return 2.0 * static_cast<double>(m) * static_cast<double>(n) * static_cast<double>(k) / seconds / 1e9;
  // END SOLUTION
}

}  // namespace tinytorch::accel

// %%
//| test
using namespace tinytorch;

TEST(UnitGflops, TwoFlopsPerMultiplyAdd) {
  EXPECT_NEAR(accel::gflops(1024, 1024, 1024, 0.1), 21.474836, 1e-5);
  EXPECT_NEAR(accel::gflops(64, 10, 1568, 1e-4), 20.0704, 1e-9) << "a multiply-add is two FLOPs: 2*m*n*k";
}

// %% [markdown]
// ### The machine: instruction sets and paths (written for you)
//
// A CPU tells a program which instructions it has through `cpuid`; GCC and Clang wrap it as
// `__builtin_cpu_supports("avx2")`, which also checks that the operating system saves the wide
// registers. This module has three **paths**, one micro-kernel each:
//
// | path | needs | registers | tile (MR × NR) |
// |---|---|---|---|
// | `Portable` | any CPU | what the compiler makes of plain C++ | 4 × 16 |
// | `Avx2` | AVX2 and FMA (Intel since 2013, AMD since 2015) | 16 × 256 bit | 6 × 16 |
// | `Avx512` | AVX-512F (Intel server chips since 2017, AMD Zen 4 and 5) | 32 × 512 bit | 8 × 32 |
//
// The SIMD kernels are compiled with `__attribute__((target("avx2,fma")))` and
// `target("avx512f")`: only those functions may use the instructions, and they are only *called*
// after the check says the CPU has them. A program built for any x86-64 (the library's
// `TINYTORCH_NATIVE=OFF`) then runs everywhere and still uses AVX-512 where it exists. (The
// course builds with `-march=native` by default, so there even the portable path uses this
// CPU's vectors: the compiler vectorizes the plain loops. Part 7 has the details.)

// %%
//| export
namespace tinytorch::accel {

// The kernels of this module: one micro-kernel each.
enum class Path { Portable, Avx2, Avx512 };

// "portable", "avx2", "avx512".
const char* path_name(Path path) noexcept;

// What this CPU (and its operating system) can run.
struct CpuFeatures {
  bool avx2 = false;
  bool fma = false;
  bool avx512f = false;
};

// The features of the CPU the program runs on (__builtin_cpu_supports; all false off x86).
CpuFeatures cpu_features() noexcept;

// True when `features` can run `path`: Portable always, Avx2 with AVX2 and FMA, Avx512 with
// AVX-512F. Paths that this build has no kernel for (not x86) are never supported.
bool path_supported(Path path, const CpuFeatures& features = cpu_features()) noexcept;

// Every path this CPU can run, Portable first.
std::vector<Path> supported_paths();

// The peak of one core on `path`, in GFLOP/s: independent FMA chains on registers only, run for
// about `seconds`. std::invalid_argument for a path the CPU cannot run.
double measure_peak_gflops(Path path, double seconds = 0.05);

}  // namespace tinytorch::accel

// %%
//| export impl
namespace tinytorch::accel {

const char* path_name(Path path) noexcept {
  switch (path) {
    case Path::Portable: return "portable";
    case Path::Avx2: return "avx2";
    case Path::Avx512: return "avx512";
  }
  return "unknown";
}

CpuFeatures cpu_features() noexcept {
  CpuFeatures features;
#if TINYTORCH_ACCEL_X86
  __builtin_cpu_init();
  features.avx2 = __builtin_cpu_supports("avx2");
  features.fma = __builtin_cpu_supports("fma");
  features.avx512f = __builtin_cpu_supports("avx512f");
#endif
  return features;
}

bool path_supported(Path path, const CpuFeatures& features) noexcept {
  switch (path) {
    case Path::Portable: return true;
    case Path::Avx2: return TINYTORCH_ACCEL_X86 && features.avx2 && features.fma;
    case Path::Avx512: return TINYTORCH_ACCEL_X86 && features.avx512f;
  }
  return false;
}

std::vector<Path> supported_paths() {
  std::vector<Path> paths;
  for (Path path : {Path::Portable, Path::Avx2, Path::Avx512}) {
    if (path_supported(path)) paths.push_back(path);
  }
  return paths;
}

namespace {

// Each round does `kChains` independent FMAs of one vector: enough chains to hide the FMA's
// latency (4 cycles) on two FMA units, and nothing but registers.
constexpr int kChains = 12;

int64_t peak_rounds_portable(int64_t rounds, float* sink) {
  float acc[kChains][16];
  for (int c = 0; c < kChains; ++c)
    for (int j = 0; j < 16; ++j) acc[c][j] = static_cast<float>(c + j) * 1e-3f;
  const float x = sink[0], y = sink[1];
  for (int64_t r = 0; r < rounds; ++r)
    for (int c = 0; c < kChains; ++c)
      for (int j = 0; j < 16; ++j) acc[c][j] = acc[c][j] * x + y;
  float total = 0;
  for (int c = 0; c < kChains; ++c)
    for (int j = 0; j < 16; ++j) total += acc[c][j];
  sink[2] = total;
  return 16;  // floats per chain and round
}

#if TINYTORCH_ACCEL_X86
__attribute__((target("avx2,fma"))) int64_t peak_rounds_avx2(int64_t rounds, float* sink) {
  __m256 acc[kChains];
  for (int c = 0; c < kChains; ++c) acc[c] = _mm256_set1_ps(static_cast<float>(c) * 1e-3f);
  const __m256 x = _mm256_set1_ps(sink[0]), y = _mm256_set1_ps(sink[1]);
  for (int64_t r = 0; r < rounds; ++r) {
#pragma GCC unroll 12
    for (int c = 0; c < kChains; ++c) acc[c] = _mm256_fmadd_ps(acc[c], x, y);
  }
  __m256 total = acc[0];
  for (int c = 1; c < kChains; ++c) total = _mm256_add_ps(total, acc[c]);
  sink[2] = _mm256_cvtss_f32(total);
  return 8;
}

__attribute__((target("avx512f"))) int64_t peak_rounds_avx512(int64_t rounds, float* sink) {
  __m512 acc[kChains];
  for (int c = 0; c < kChains; ++c) acc[c] = _mm512_set1_ps(static_cast<float>(c) * 1e-3f);
  const __m512 x = _mm512_set1_ps(sink[0]), y = _mm512_set1_ps(sink[1]);
  for (int64_t r = 0; r < rounds; ++r) {
#pragma GCC unroll 12
    for (int c = 0; c < kChains; ++c) acc[c] = _mm512_fmadd_ps(acc[c], x, y);
  }
  __m512 total = acc[0];
  for (int c = 1; c < kChains; ++c) total = _mm512_add_ps(total, acc[c]);
  sink[2] = _mm512_reduce_add_ps(total);
  return 16;
}
#endif

// Where each measurement's result goes: a volatile store the compiler may not drop, so the FMA
// chains that compute it cannot be dropped either.
volatile float peak_sink = 0.0f;

// Runs `rounds` rounds on `path`; returns the floats per chain and round.
int64_t peak_rounds(Path path, int64_t rounds, float* sink) {
#if TINYTORCH_ACCEL_X86
  if (path == Path::Avx2) return peak_rounds_avx2(rounds, sink);
  if (path == Path::Avx512) return peak_rounds_avx512(rounds, sink);
#endif
  return peak_rounds_portable(rounds, sink);
}

}  // namespace

double measure_peak_gflops(Path path, double seconds) {
  if (!path_supported(path)) {
    throw std::invalid_argument(std::string("measure_peak_gflops(): this CPU cannot run the ") + path_name(path) +
                                " path");
  }
  // volatile: the compiler must not know x = 1 and y = 0, or it would fold the chains away.
  volatile float one = 1.0f, zero = 0.0f;
  float sink[3] = {one, zero, 0.0f};
  int64_t rounds = 1 << 16;
  double best = 0.0;
  const auto start = std::chrono::steady_clock::now();
  while (std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() < seconds) {
    const auto t0 = std::chrono::steady_clock::now();
    const int64_t width = peak_rounds(path, rounds, sink);
    peak_sink = sink[2];
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (elapsed > 0) best = std::max(best, 2.0 * static_cast<double>(rounds * kChains * width) / elapsed / 1e9);
    if (elapsed < 1e-3) rounds *= 2;
  }
  return best;
}

}  // namespace tinytorch::accel

// %% [markdown]
// What this machine can do, and how far module 01's matmul is from it:

// %%
//| demo
#include <cstdio>

#include <tinytorch/timing.hpp>

const accel::CpuFeatures features = accel::cpu_features();
std::printf("this CPU: avx2 %s, fma %s, avx512f %s; %u hardware threads\n", features.avx2 ? "yes" : "no",
            features.fma ? "yes" : "no", features.avx512f ? "yes" : "no", std::thread::hardware_concurrency());
for (accel::Path path : accel::supported_paths()) {
  std::printf("  peak of one core on the %-8s path: %6.1f GFLOP/s (FMAs on registers only)\n", accel::path_name(path),
              accel::measure_peak_gflops(path, 0.1));
}
{
  const Tensor a = randn({512, 512}, 1), b = randn({512, 512}, 2);
  const double seconds = timing::median_seconds(3, [&] { (void)native::matmul_2d(a, b); });
  const double best_peak = accel::measure_peak_gflops(accel::supported_paths().back(), 0.05);
  std::printf("module 01's matmul_2d at 512x512: %.1f GFLOP/s, %.0f%% of one core's peak\n",
              accel::gflops(512, 512, 512, seconds), 100.0 * accel::gflops(512, 512, 512, seconds) / best_peak);
}

// %% [markdown]
// ## Part 2: A matrix as a view
//
// A GEMM reads its operands through four numbers: where element `[0, 0]` is, how many rows and
// columns there are, and how far apart two rows and two columns are in memory. That is exactly
// what a 2-D `Tensor` carries (`data()`, `shape()`, `strides()`), and it is why this module needs
// no copies: `w.t()` is the same floats with the strides swapped, and the kernel will read it
// where it is.
//
//     w [2, 3], strides {3, 1}          w.t() [3, 2], strides {1, 3}: the same six floats
//     ┌───┬───┬───┐                     element (i, j) at data[i * 1 + j * 3]
//     │ a │ b │ c │   data: a b c d e f
//     │ d │ e │ f │
//     └───┴───┴───┘
//
// ### ⭐ `matrix_view`
//
// **TODO**: Return the `MatrixView` of a 2-D tensor: its first element, its two sizes and its two
// strides. A tensor that is not 2-D is a `ShapeError` naming its shape.
//
// **APPROACH**:
// 1. If `t.dim() != 2`, throw `ShapeError("matrix_view(): expects a 2-D tensor, got " +
//    shape_str(t.shape()))`.
// 2. Return `{t.data(), t.size(0), t.size(1), t.strides()[0], t.strides()[1]}`.
//
// **EXAMPLE**:
// ```cpp
// Tensor w = arange(6).reshape({2, 3});
// MatrixView v = matrix_view(w.t());   // rows 3, cols 2, row_stride 1, col_stride 3
// v.at(2, 1)                           // 5: w[1][2]
// matrix_view(narrow(w, 1, 1, 2)).at(0, 0)   // 1: a view that starts at an offset
// ```
//
// **HINTS**:
// - `t.data()` already points at element `[0, 0]`, offset included; `t.storage()->data()` points
//   at the start of the storage, which is a different element for a slice or a `select`.
//
// **SYSTEMS THINKING**: a view costs nothing to make, and reading through strides costs nothing
// either *if the reads are sequential somewhere*. Part 4 makes sure they are: whichever stride
// is 1, the packing loop walks along it.

// %%
//| export
namespace tinytorch::accel {

// A read-only 2-D matrix in memory: element (i, j) is data[i * row_stride + j * col_stride].
struct MatrixView {
  const float* data = nullptr;
  int64_t rows = 0;
  int64_t cols = 0;
  int64_t row_stride = 0;
  int64_t col_stride = 0;

  float at(int64_t i, int64_t j) const noexcept { return data[i * row_stride + j * col_stride]; }
};

// The MatrixView of a 2-D tensor, strides and offset included (no copy). ShapeError otherwise.
MatrixView matrix_view(const Tensor& t);

}  // namespace tinytorch::accel

// %%
//| export impl
namespace tinytorch::accel {

MatrixView matrix_view(const Tensor& t) {
  // BEGIN SOLUTION
  if (t.dim() != 2) throw ShapeError("matrix_view(): expects a 2-D tensor, got " + shape_str(t.shape()));
  return MatrixView{t.data(), t.size(0), t.size(1), t.strides()[0], t.strides()[1]};
  // END SOLUTION
}

}  // namespace tinytorch::accel

// %%
//| test
TEST(UnitMatrixView, ReadsATransposeAndAnOffsetInPlace) {
  const Tensor w = arange(6).reshape({2, 3});
  const accel::MatrixView v = accel::matrix_view(w.t());
  EXPECT_EQ(v.rows, 3);
  EXPECT_EQ(v.cols, 2);
  EXPECT_EQ(v.at(2, 1), 5.0f);
  EXPECT_EQ(accel::matrix_view(narrow(w, 1, 1, 2)).at(0, 0), 1.0f) << "data() includes the view's offset";
  EXPECT_THROW(accel::matrix_view(arange(3)), ShapeError);
}

// %% [markdown]
// ## Part 3: The register tile
//
// Why is the i-p-j loop memory-bound? Its inner loop `C[i][j] += A[i][p] · B[p][j]` loads a `B`,
// loads a `C`, stores a `C`: three memory operations per multiply-add. Now compute a small
// **tile** of C instead, MR rows by NR columns, and keep it in registers for the whole sum:
//
//     for p in 0..k:                         per p: MR floats of A's column p, NR floats of B's row p
//       for i in 0..MR: for j in 0..NR:      MR·NR multiply-adds on registers
//         acc[i][j] += A[i][p] · B[p][j]
//     C[tile] = acc                          once, at the end
//
// Per step `p` the tile loads `MR + NR` floats and does `MR·NR` multiply-adds. For 6 × 16 that is
// 22 loads for 96 FMAs (in vector terms: 2 loads of B and 6 broadcasts of A for 12 vector FMAs);
// for 8 × 32 with AVX-512, 40 floats for 256 FMAs. C is touched once per tile, not once per `p`.
// That ratio, **arithmetic intensity**, is what lets a kernel run at the FMA units' pace.
//
// How big can the tile be? Its accumulators must all live in registers, with a few left over for
// B's vectors and A's broadcast. AVX2 has 16 vector registers of 8 floats: a 6 × 16 tile is 6 × 2 =
// 12 accumulators + 2 for B + 1 for A = 15. AVX-512 has 32 of 16 floats: 8 × 32 is 16
// accumulators + 2 + 1, and leaves room. There is a second constraint: an FMA's result is ready
// after 4 cycles, and two FMA units must each start one every cycle, so at least 8 *independent*
// accumulators must be in flight. A 1 × 16 "tile" would be latency-bound at an eighth of peak
// even with all its data in registers.
//
// ### The packed panels
//
// The micro-kernel reads its operands from **packed panels** (part 4 builds them), laid out so
// that every read is sequential:
//
//     A panel: MR rows of A, k columns, stored column by column:  a[p*MR + i] = A[i][p]
//     B panel: NR columns of B, k rows, stored row by row:        b[p*NR + j] = B[p][j]
//
//     A panel (MR = 3)             B panel (NR = 4)
//     A[0][0] A[1][0] A[2][0]      B[0][0] B[0][1] B[0][2] B[0][3]     <- p = 0
//     A[0][1] A[1][1] A[2][1]      B[1][0] B[1][1] B[1][2] B[1][3]     <- p = 1
//     ...                          ...
//
// So step `p` reads `a[p*MR .. p*MR + MR)` and `b[p*NR .. p*NR + NR)`: two short contiguous
// runs, and the pointers just move on by MR and NR.
//
// Every micro-kernel of this module has one contract:
//
//     c[i*ldc + j] (= or +=) Σ_p a[p*MR + i] · b[p*NR + j]     for i < MR, j < NR
//
// with `=` the first time a tile is written and `+=` after (part 5 splits `k` into blocks).
//
// ### ⭐⭐ `microkernel_portable`
//
// **TODO**: The portable micro-kernel, MR = 4, NR = 16 (`kPortableMR`, `kPortableNR`), in plain
// C++: accumulate the tile in a local array, then write it to `c`: `=` when `accumulate` is
// false, `+=` when it is true.
//
// **APPROACH**:
// 1. `float acc[kPortableMR][kPortableNR] = {};`
// 2. For each `p < kc`: `a_col = a + p * MR`, `b_row = b + p * NR`; for each `j < NR`, read
//    `b_pj = b_row[j]` once, then for each `i < MR`: `acc[i][j] += a_col[i] * b_pj`.
// 3. For each `i`, `j`: `c[i * ldc + j] = acc[i][j]`, or `+=` when accumulating.
//
// **EXAMPLE**:
// ```cpp
// // kc = 1: the tile is the outer product of A's column and B's row
// float a[4] = {1, 2, 3, 4}, b[16] = {1, 1, ..., 1}, c[4 * 16];
// microkernel_portable(1, a, b, c, 16, false)   // row i of c is sixteen times (i + 1)
// microkernel_portable(1, a, b, c, 16, true)    // and now 2 * (i + 1): added, not overwritten
// ```
//
// **HINTS**:
// - The constants must be compile-time (`constexpr`): the compiler keeps `acc` in registers and
//   unrolls the `i` and `j` loops only when it knows their trip counts.
// - The order of the two inner loops matters more than anything else here. With `i` innermost
//   (as in the approach), GCC keeps the whole tile in registers: 90 GFLOP/s on this course's
//   machine. With `j` innermost, the order of module 01's loop, it stores and reloads the tile at
//   every step: 10 GFLOP/s, slower than module 01. Same arithmetic, same result, 9× apart: try
//   both and look at the assembly (`g++ -S`).
// - `ldc` is the distance between two rows of C, not NR: the tile sits inside a larger matrix.
//
// **SYSTEMS THINKING**: this is the same arithmetic as module 01's loop, in a different shape:
// the `j` loop of 16 becomes one or two vector instructions, and `acc` never goes to memory.
// Demo 2 measures what the shape alone is worth, before any SIMD is written by hand.

// %%
//| export
namespace tinytorch::accel {

// A micro-kernel: c[i*ldc + j] (= or, when accumulate, +=) sum over p < kc of a[p*MR + i] *
// b[p*NR + j], for the MR x NR tile of its path. `a` and `b` are packed panels (part 4).
using MicroKernel = void (*)(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, bool accumulate);

inline constexpr int64_t kPortableMR = 4, kPortableNR = 16;
inline constexpr int64_t kAvx2MR = 6, kAvx2NR = 16;
inline constexpr int64_t kAvx512MR = 8, kAvx512NR = 32;

// The portable micro-kernel, 4 x 16: plain C++ that any compiler vectorizes for any CPU.
void microkernel_portable(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, bool accumulate);
// The AVX2 + FMA micro-kernel, 6 x 16. Call it only where path_supported(Path::Avx2).
void microkernel_avx2(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, bool accumulate);
// The AVX-512 micro-kernel, 8 x 32. Call it only where path_supported(Path::Avx512).
void microkernel_avx512(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, bool accumulate);

}  // namespace tinytorch::accel

// %%
//| export impl
namespace tinytorch::accel {

void microkernel_portable(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, bool accumulate) {
  // BEGIN SOLUTION
  float acc[kPortableMR][kPortableNR] = {};
  for (int64_t p = 0; p < kc; ++p) {
    const float* a_col = a + p * kPortableMR;
    const float* b_row = b + p * kPortableNR;
    for (int64_t j = 0; j < kPortableNR; ++j) {
      const float b_pj = b_row[j];
      for (int64_t i = 0; i < kPortableMR; ++i) acc[i][j] += a_col[i] * b_pj;
    }
  }
  for (int64_t i = 0; i < kPortableMR; ++i) {
    float* c_row = c + i * ldc;
    for (int64_t j = 0; j < kPortableNR; ++j) c_row[j] = accumulate ? c_row[j] + acc[i][j] : acc[i][j];
  }
  // END SOLUTION
}

}  // namespace tinytorch::accel

// %%
//| test
TEST(UnitMicrokernel, PortableTileIsTheSumOfOuterProducts) {
  std::vector<float> a = {1, 2, 3, 4, 1, 0, 0, 1};  // kc = 2: A's columns (1, 2, 3, 4) and (1, 0, 0, 1)
  std::vector<float> b(32);
  for (int j = 0; j < 16; ++j) b[j] = 1.0f, b[16 + j] = static_cast<float>(j);
  std::vector<float> c(4 * 20, -7.0f);
  accel::microkernel_portable(2, a.data(), b.data(), c.data(), 20, false);
  EXPECT_EQ(c[0 * 20 + 5], 1 + 5.0f);
  EXPECT_EQ(c[1 * 20 + 5], 2.0f);
  EXPECT_EQ(c[3 * 20 + 15], 4 + 15.0f);
  EXPECT_EQ(c[0 * 20 + 16], -7.0f) << "the kernel must write only its 16 columns of each row (ldc = 20)";
  accel::microkernel_portable(2, a.data(), b.data(), c.data(), 20, true);
  EXPECT_EQ(c[3 * 20 + 15], 2 * (4 + 15.0f)) << "accumulate = true adds into c";
}

// %% [markdown]
// ### SIMD with intrinsics
//
// The compiler vectorizes the portable kernel as well as it can guess. To be sure of what runs,
// production kernels say it in **intrinsics**: C functions that are one instruction each, on
// types that are one register each (`<immintrin.h>`).
//
// | intrinsic (AVX2, 8 floats) | AVX-512 (16 floats) | instruction |
// |---|---|---|
// | `__m256 v = _mm256_setzero_ps()` | `_mm512_setzero_ps()` | a register of zeros |
// | `_mm256_loadu_ps(p)` | `_mm512_loadu_ps(p)` | load 8 (16) floats from `p` (any alignment) |
// | `_mm256_broadcast_ss(p)` | `_mm512_set1_ps(*p)` | one float into every lane |
// | `_mm256_fmadd_ps(x, y, acc)` | `_mm512_fmadd_ps(x, y, acc)` | `x·y + acc`, one rounding |
// | `_mm256_add_ps(x, y)` | `_mm512_add_ps(x, y)` | `x + y` |
// | `_mm256_storeu_ps(p, v)` | `_mm512_storeu_ps(p, v)` | store 8 (16) floats at `p` |
//
// The 6 × 16 AVX2 tile is 6 rows of two `__m256` each. One step `p`:
//
//     b0 = load(b + p*16), b1 = load(b + p*16 + 8)         B's row p: two registers
//     for i in 0..6:  ai = broadcast(a + p*6 + i)           A[i][p] in all 8 lanes
//                     acc[i][0] = fma(ai, b0, acc[i][0])    C[i][0..8)  += A[i][p] · B[p][0..8)
//                     acc[i][1] = fma(ai, b1, acc[i][1])    C[i][8..16) += A[i][p] · B[p][8..16)
//
// A function that uses AVX2 must say so: `__attribute__((target("avx2,fma")))` lets the compiler
// emit those instructions in this function only, whatever the rest of the program is compiled
// for. The prototypes are given inside `#if TINYTORCH_ACCEL_X86`, because these kernels exist only
// on x86; elsewhere the stub keeps the program linking and is never called.
//
// ### ⭐⭐⭐ `microkernel_avx2`
//
// **TODO**: The 6 × 16 micro-kernel with AVX2 and FMA intrinsics: twelve `__m256` accumulators,
// two loads of B and six broadcasts of A per step, one fused multiply-add per accumulator; then
// store the tile (`=`), or add it to what `c` holds (`+=`) when `accumulate`.
//
// **APPROACH**:
// 1. `__m256 acc[6][2];` all `_mm256_setzero_ps()`.
// 2. For each `p < kc`: `b0`, `b1` from `b`; for `i < 6`: `ai = _mm256_broadcast_ss(a + i)`,
//    then the two FMAs. Then `a += 6; b += 16;`.
// 3. For each row `i`: `float* row = c + i * ldc;` if `accumulate`, add `_mm256_loadu_ps(row)`
//    and `_mm256_loadu_ps(row + 8)` into the accumulators; store both.
//
// **EXAMPLE**: the same contract as `microkernel_portable` on a 6 × 16 tile: for the same packed
// panels, its tile equals the portable kernel's up to rounding (an FMA rounds once, a multiply and
// an add twice).
//
// **HINTS**:
// - Write every `i` loop (the zeroing, the FMAs, the stores) with a constant bound and ask the
//   compiler to unroll it (`#pragma GCC unroll 6` on the line before the `for`): only when every
//   index of `acc` is a constant does GCC keep the array in registers. Unroll the FMA loop alone
//   and it keeps `acc` on the stack, storing all twelve registers at every step: measured here,
//   55 GFLOP/s instead of 88. Look at the assembly (`objdump -d`, or `g++ -S`): `vmovaps` to
//   `(%rsp)` inside the loop means `acc` spilled.
// - `loadu`/`storeu` accept any address. C's rows are at any offset, and since Haswell an
//   unaligned load that does not cross a cache line costs the same as an aligned one.
// - `_mm256_broadcast_ss` takes a pointer; it is a load that fills every lane.
//
// **SYSTEMS THINKING**: per step the kernel issues 12 FMAs, 2 loads and 6 broadcasts. Two FMA
// units need 6 cycles for the 12 FMAs; the 8 loads fit in the same 6 cycles on two or three load
// ports. So the kernel is FMA-bound: at full speed it runs at 2·8·2 = 32 FLOPs per cycle, the AVX2
// peak. What would happen with a 4 × 16 tile? 8 FMAs, 6 loads: still fine. With 2 × 8? 2 FMAs,
// 1 load, 2 broadcasts, and only 2 independent accumulators: latency-bound at a quarter of peak.

// %%
//| export impl
namespace tinytorch::accel {

#if TINYTORCH_ACCEL_X86
__attribute__((target("avx2,fma"))) void microkernel_avx2(int64_t kc, const float* a, const float* b, float* c,
                                                          int64_t ldc, bool accumulate) {
  // BEGIN SOLUTION
  __m256 acc[kAvx2MR][2];
#pragma GCC unroll 6
  for (int i = 0; i < kAvx2MR; ++i) acc[i][0] = acc[i][1] = _mm256_setzero_ps();
  for (int64_t p = 0; p < kc; ++p) {
    const __m256 b0 = _mm256_loadu_ps(b);
    const __m256 b1 = _mm256_loadu_ps(b + 8);
#pragma GCC unroll 6
    for (int i = 0; i < kAvx2MR; ++i) {
      const __m256 ai = _mm256_broadcast_ss(a + i);
      acc[i][0] = _mm256_fmadd_ps(ai, b0, acc[i][0]);
      acc[i][1] = _mm256_fmadd_ps(ai, b1, acc[i][1]);
    }
    a += kAvx2MR;
    b += kAvx2NR;
  }
#pragma GCC unroll 6
  for (int i = 0; i < kAvx2MR; ++i) {
    float* row = c + i * ldc;
    if (accumulate) {
      acc[i][0] = _mm256_add_ps(acc[i][0], _mm256_loadu_ps(row));
      acc[i][1] = _mm256_add_ps(acc[i][1], _mm256_loadu_ps(row + 8));
    }
    _mm256_storeu_ps(row, acc[i][0]);
    _mm256_storeu_ps(row + 8, acc[i][1]);
  }
  // END SOLUTION
}
#else
void microkernel_avx2(int64_t, const float*, const float*, float*, int64_t, bool) {
  throw std::logic_error("microkernel_avx2(): this build has no AVX2 kernel");
}
#endif

}  // namespace tinytorch::accel

// %% [markdown]
// ### ⭐⭐ `microkernel_avx512`
//
// AVX-512 doubles everything: registers of 16 floats, and 32 of them. The tile grows to 8 × 32:
// each row is two `__m512`, sixteen accumulators in all, with 14 registers to spare.
//
// **TODO**: The 8 × 32 micro-kernel with AVX-512 intrinsics, the same plan as the AVX2 one.
//
// **APPROACH**: as `microkernel_avx2`, with `__m512`, `_mm512_*`, `kAvx512MR` = 8 rows, two
// loads of B at `b` and `b + 16`, `a += 8; b += 32;` per step, and rows of 32 floats.
//
// **EXAMPLE**: for the same packed panels its 8 × 32 tile equals the portable kernel's
// (applied to four 4 × 16 quarters of the tile) up to rounding.
//
// **HINTS**:
// - `_mm512_set1_ps(a[i])`: the compiler folds the broadcast into the FMA itself
//   (`vfmadd231ps zmm, zmm, [mem]{1to16}`), so it costs no instruction of its own.
// - The attribute is `target("avx512f")`: AVX-512 Foundation includes the 512-bit FMA.
//
// **SYSTEMS THINKING**: why not 14 × 32, which also fits in 32 registers? Look at this course's
// shapes: the CNN has 16 and 32 output channels, so `m` is 16 or 32 in its convolutions. With
// MR = 8 both divide evenly; with 14, `m` = 16 wastes 12 of 28 rows in edge tiles. A production
// library keeps several kernels and picks by shape; this module keeps one per path and chose the
// tile for the shapes it runs. (Measure it: the demo prints GFLOP/s per shape class.)

// %%
//| export impl
namespace tinytorch::accel {

#if TINYTORCH_ACCEL_X86
__attribute__((target("avx512f"))) void microkernel_avx512(int64_t kc, const float* a, const float* b, float* c,
                                                          int64_t ldc, bool accumulate) {
  // BEGIN SOLUTION
  __m512 acc[kAvx512MR][2];
#pragma GCC unroll 8
  for (int i = 0; i < kAvx512MR; ++i) acc[i][0] = acc[i][1] = _mm512_setzero_ps();
  for (int64_t p = 0; p < kc; ++p) {
    const __m512 b0 = _mm512_loadu_ps(b);
    const __m512 b1 = _mm512_loadu_ps(b + 16);
#pragma GCC unroll 8
    for (int i = 0; i < kAvx512MR; ++i) {
      const __m512 ai = _mm512_set1_ps(a[i]);
      acc[i][0] = _mm512_fmadd_ps(ai, b0, acc[i][0]);
      acc[i][1] = _mm512_fmadd_ps(ai, b1, acc[i][1]);
    }
    a += kAvx512MR;
    b += kAvx512NR;
  }
#pragma GCC unroll 8
  for (int i = 0; i < kAvx512MR; ++i) {
    float* row = c + i * ldc;
    if (accumulate) {
      acc[i][0] = _mm512_add_ps(acc[i][0], _mm512_loadu_ps(row));
      acc[i][1] = _mm512_add_ps(acc[i][1], _mm512_loadu_ps(row + 16));
    }
    _mm512_storeu_ps(row, acc[i][0]);
    _mm512_storeu_ps(row + 16, acc[i][1]);
  }
  // END SOLUTION
}
#else
void microkernel_avx512(int64_t, const float*, const float*, float*, int64_t, bool) {
  throw std::logic_error("microkernel_avx512(): this build has no AVX-512 kernel");
}
#endif

}  // namespace tinytorch::accel

// %% [markdown]
// Each path is its micro-kernel and its tile (written for you). `kernel_for(path)` hands out the
// table entry; the rest of the module never names a kernel, only a `Kernel`.

// %%
//| export
namespace tinytorch::accel {

// A path's micro-kernel with its tile: `run` computes an mr x nr tile.
struct Kernel {
  Path path;
  int64_t mr;
  int64_t nr;
  MicroKernel run;
};

// The kernel of `path` (whether or not this CPU can run it: check path_supported first).
const Kernel& kernel_for(Path path) noexcept;

}  // namespace tinytorch::accel

// %%
//| export impl
namespace tinytorch::accel {

const Kernel& kernel_for(Path path) noexcept {
  static const Kernel kernels[] = {
      {Path::Portable, kPortableMR, kPortableNR, &microkernel_portable},
      {Path::Avx2, kAvx2MR, kAvx2NR, &microkernel_avx2},
      {Path::Avx512, kAvx512MR, kAvx512NR, &microkernel_avx512},
  };
  return kernels[static_cast<int>(path)];
}

}  // namespace tinytorch::accel

// %%
//| test
TEST(UnitMicrokernel, EverySimdTileMatchesThePortableOne) {
  for (accel::Path path : accel::supported_paths()) {
    const accel::Kernel& kernel = accel::kernel_for(path);
    const int64_t kc = 37;
    std::vector<float> a(kc * kernel.mr), b(kc * kernel.nr);
    for (std::size_t i = 0; i < a.size(); ++i) a[i] = static_cast<float>((i * 7) % 11) - 5.0f;
    for (std::size_t i = 0; i < b.size(); ++i) b[i] = static_cast<float>((i * 5) % 13) - 6.0f;
    std::vector<float> c(kernel.mr * kernel.nr, 1.0f);
    kernel.run(kc, a.data(), b.data(), c.data(), kernel.nr, true);
    for (int64_t i = 0; i < kernel.mr; ++i) {
      for (int64_t j = 0; j < kernel.nr; ++j) {
        float expected = 1.0f;
        for (int64_t p = 0; p < kc; ++p) expected += a[p * kernel.mr + i] * b[p * kernel.nr + j];
        ASSERT_EQ(c[i * kernel.nr + j], expected) << accel::path_name(path) << " tile (" << i << ", " << j << ")";
      }
    }
  }
}

// %% [markdown]
// ## Part 4: Packing, with the transposes folded in
//
// The micro-kernel wants its panels contiguous, in exactly its order. A and B are not: they are
// rows of a larger matrix, or a transposed view whose rows are columns. So before computing, the
// GEMM **packs**: it copies a block of A into MR-row panels and a block of B into NR-column
// panels. That sounds like the `contiguous()` copy module 01 made of a transposed operand, but
// there are three differences that make it pay:
//
// - **it is a copy of a block, not of the matrix**: KC × MC of A (which then stays in the L2
//   cache) and KC × NC of B; each packed float is then read by many micro-kernel calls (each
//   packed A panel by NC/NR of them), so the copy is a small fraction of the work;
// - **it puts the data in the kernel's order**, so the kernel's reads are sequential and never
//   cross a page boundary mid-panel (no TLB misses in the inner loop);
// - **it reads any strides**. Packing `Aᵀ` is the same loop as packing `A` with the two strides
//   swapped. So a transpose costs nothing extra: it is *folded into the packing*, and one kernel
//   serves A·B, Aᵀ·B and A·Bᵀ. BLAS has "transpose flags" for this; strides are the general case.
//
// The layouts, with zeros where a panel runs past the block (the edge of the matrix):
//
//     pack_a: panel q holds rows i0 + q·MR ... of A;   packed[q·MR·kc + p·MR + r] = A(i0 + q·MR + r, p0 + p)
//     pack_b: panel q holds columns j0 + q·NR ...;     packed[q·NR·kc + p·NR + c] = B(p0 + p, j0 + q·NR + c)
//
//     A block (mc = 5, MR = 4, kc = 3) -> 2 panels     panel 1 = row 4 and three rows of zeros
//
// The zeros matter: the micro-kernel always computes a full MR × NR tile, and a zero row of A
// gives a zero row of the tile, which part 5 simply does not write back.
//
// ### Reading in the right order
//
// The packed side is always sequential. The source side is sequential only if the loop walks
// along the source's unit stride. For A (`A(i, p) = data[i·rs + p·cs]`):
//
// - A row-major (`cs == 1`): walk `p` innermost for each row `r`: each row of the panel is one
//   sequential read (the writes jump by MR, inside a panel that sits in L1);
// - A transposed (`rs == 1`): walk `r` innermost for each `p`: MR consecutive floats, read and
//   written in order.
//
// And the same for B, with the roles of the strides exchanged.
//
// ### Transposing 8 × 8 at a time (written for you)
//
// The first case is a transpose: the source runs along `p`, the panel along `r`. One float at a
// time, every float is a load and a store of its own, and packing costs as much as the
// arithmetic on products with a small side: the CNN's weight gradients (`g [32, 65536] ·
// colsᵀ`) pack *both* operands this way, 2 floats of packing for every 32 multiply-adds.
//
// `transpose_block` moves 8 × 8 floats at once: 8 loads of 8 floats, 24 shuffles inside the
// registers, 8 stores. On a CPU with AVX2 it takes that path, chosen at run time like the
// micro-kernels; elsewhere it is the plain loop. The gain is largest for A, whose panels are
// only MR = 6 floats wide: with both packs on it, that weight gradient's product went from 25 to
// 35 GFLOP/s and n = 1024 from 84 to 93 (`bench/sgemm_bench`, one core; OpenBLAS 44 and 94).
// The demo after `pack_b` times B's packing alone, which is mostly reading 7 MB from memory:
// 0.98 ms a float at a time, 0.80 ms 8 × 8 at a time, on one run here.

// %%
//| export
namespace tinytorch::accel {

// dst[v*dst_stride + u] = src[u*src_stride + v] for u < width, v < 8: an 8-column block of
// `rows` (<= 8) source rows, transposed; source rows rows..width-1 read as zeros. width <= 8, and
// when width < 8 the destination rows are back to back (dst_stride == width). AVX2 when the CPU
// has it (transpose_block_portable otherwise, and for the tests).
void transpose_block(const float* src, int64_t src_stride, int64_t rows, float* dst, int64_t dst_stride, int64_t width);
void transpose_block_portable(const float* src, int64_t src_stride, int64_t rows, float* dst, int64_t dst_stride,
                              int64_t width);

}  // namespace tinytorch::accel

// %%
//| export impl
namespace tinytorch::accel {

void transpose_block_portable(const float* src, int64_t src_stride, int64_t rows, float* dst, int64_t dst_stride,
                              int64_t width) {
  for (int64_t v = 0; v < 8; ++v) {
    for (int64_t u = 0; u < width; ++u) dst[v * dst_stride + u] = u < rows ? src[u * src_stride + v] : 0.0f;
  }
}

namespace {

#if TINYTORCH_ACCEL_X86
__attribute__((target("avx2"))) void transpose_block_avx2(const float* src, int64_t src_stride, int64_t rows,
                                                          float* dst, int64_t dst_stride, int64_t width) {
  __m256 r[8];
  for (int64_t u = 0; u < 8; ++u) r[u] = u < rows ? _mm256_loadu_ps(src + u * src_stride) : _mm256_setzero_ps();
  // Pairs of rows interleaved, then pairs of pairs, then the 128-bit halves swapped into place.
  const __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
  const __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
  const __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
  const __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
  const __m256 s0 = _mm256_shuffle_ps(t0, t2, 0x44), s1 = _mm256_shuffle_ps(t0, t2, 0xEE);
  const __m256 s2 = _mm256_shuffle_ps(t1, t3, 0x44), s3 = _mm256_shuffle_ps(t1, t3, 0xEE);
  const __m256 s4 = _mm256_shuffle_ps(t4, t6, 0x44), s5 = _mm256_shuffle_ps(t4, t6, 0xEE);
  const __m256 s6 = _mm256_shuffle_ps(t5, t7, 0x44), s7 = _mm256_shuffle_ps(t5, t7, 0xEE);
  r[0] = _mm256_permute2f128_ps(s0, s4, 0x20);
  r[1] = _mm256_permute2f128_ps(s1, s5, 0x20);
  r[2] = _mm256_permute2f128_ps(s2, s6, 0x20);
  r[3] = _mm256_permute2f128_ps(s3, s7, 0x20);
  r[4] = _mm256_permute2f128_ps(s0, s4, 0x31);
  r[5] = _mm256_permute2f128_ps(s1, s5, 0x31);
  r[6] = _mm256_permute2f128_ps(s2, s6, 0x31);
  r[7] = _mm256_permute2f128_ps(s3, s7, 0x31);
  if (width == 8) {
    for (int64_t v = 0; v < 8; ++v) _mm256_storeu_ps(dst + v * dst_stride, r[v]);
    return;
  }
  // Narrower rows, back to back: each store spills past its row into the next one, which the next
  // store then writes; the last row goes through a buffer so that nothing past it is touched.
  for (int64_t v = 0; v < 7; ++v) _mm256_storeu_ps(dst + v * width, r[v]);
  alignas(32) float last[8];
  _mm256_store_ps(last, r[7]);
  for (int64_t u = 0; u < width; ++u) dst[7 * width + u] = last[u];
}
#endif

}  // namespace

void transpose_block(const float* src, int64_t src_stride, int64_t rows, float* dst, int64_t dst_stride,
                     int64_t width) {
#if TINYTORCH_ACCEL_X86
  static const bool avx2 = cpu_features().avx2;
  if (avx2) {
    transpose_block_avx2(src, src_stride, rows, dst, dst_stride, width);
    return;
  }
#endif
  transpose_block_portable(src, src_stride, rows, dst, dst_stride, width);
}

}  // namespace tinytorch::accel

// %% [markdown]
// ### ⭐⭐ `pack_a`
//
// **TODO**: Pack rows `[i0, i0 + mc)` and columns `[p0, p0 + kc)` of `a` into `ceil(mc / mr)`
// panels at `packed`, in the layout above, with zeros for the rows past `mc` in the last panel.
//
// **APPROACH**:
// 1. For each panel `q` (rows `i = q·mr` to `min(mr, mc − q·mr)` of the block): `panel = packed +
//    q·mr·kc`, `rows = min(mr, mc − q·mr)`.
// 2. If `a.col_stride == 1`: for each `r < rows`, the source row is `a.data + (i0 + q·mr + r)·rs +
//    p0`; copy its `kc` floats to `panel[p·mr + r]`. Otherwise: for each `p`, copy the `rows`
//    floats `A(i0 + q·mr + r, p0 + p)` to `panel[p·mr + r]`.
// 3. Either way, set `panel[p·mr + r] = 0` for `rows ≤ r < mr`.
//
// **EXAMPLE**:
// ```cpp
// Tensor x = arange(10).reshape({5, 2});     // [[0, 1], [2, 3], [4, 5], [6, 7], [8, 9]]
// pack_a(matrix_view(x), 0, 5, 0, 2, 4, packed)
//   // panel 0: 0 2 4 6   1 3 5 7      (column 0 of rows 0-3, then column 1)
//   // panel 1: 8 0 0 0   9 0 0 0      (row 4, zero-padded)
// pack_a(matrix_view(x.t().contiguous().t()), ...)   // the same 16 floats: only the strides differ
// ```
//
// **HINTS**:
// - Work with `int64_t` strides and `a.at(i, p)` first; once it passes, write the `col_stride
//   == 1` branch and check it gives the same panels (the tests compare the two layouts).
// - A stride may be 0 (an `expand`ed view): the general branch handles it; do not assume a
//   stride of 1 in it.
//
// **SYSTEMS THINKING**: A's block is packed once per (column block, k block) and then read by
// `nc / NR` micro-kernel calls: for NC = 2048 and NR = 32, 64 reads of every packed float. A's
// packing is cheap because it is amortized over all of B's columns in the block.

// %%
//| export
namespace tinytorch::accel {

// Packs A(i0 .. i0+mc, p0 .. p0+kc) into ceil(mc/mr) panels of mr rows:
// packed[q*mr*kc + p*mr + r] = A(i0 + q*mr + r, p0 + p), zeros past row mc.
void pack_a(const MatrixView& a, int64_t i0, int64_t mc, int64_t p0, int64_t kc, int64_t mr, float* packed);
// Packs B(p0 .. p0+kc, j0 .. j0+nc) into ceil(nc/nr) panels of nr columns:
// packed[q*nr*kc + p*nr + c] = B(p0 + p, j0 + q*nr + c), zeros past column nc.
void pack_b(const MatrixView& b, int64_t p0, int64_t kc, int64_t j0, int64_t nc, int64_t nr, float* packed);

}  // namespace tinytorch::accel

// %%
//| export impl
namespace tinytorch::accel {

void pack_a(const MatrixView& a, int64_t i0, int64_t mc, int64_t p0, int64_t kc, int64_t mr, float* packed) {
  // BEGIN SOLUTION
  for (int64_t first = 0; first < mc; first += mr) {
    float* panel = packed + first * kc;
    const int64_t rows = std::min(mr, mc - first);
    const float* origin = a.data + (i0 + first) * a.row_stride + p0 * a.col_stride;
    if (a.col_stride == 1) {  // rows are contiguous: a transpose, 8 columns of p at a time
      int64_t p = 0;
      for (; p + 8 <= kc && mr <= 8; p += 8) transpose_block(origin + p, a.row_stride, rows, panel + p * mr, mr, mr);
      for (int64_t r = 0; r < rows; ++r) {
        const float* src = origin + r * a.row_stride;
        for (int64_t q = p; q < kc; ++q) panel[q * mr + r] = src[q];
      }
    } else {  // columns are (or may be) contiguous: read MR floats of one column at a time
      for (int64_t p = 0; p < kc; ++p) {
        const float* src = origin + p * a.col_stride;
        for (int64_t r = 0; r < rows; ++r) panel[p * mr + r] = src[r * a.row_stride];
      }
    }
    for (int64_t p = 0; p < kc; ++p) {
      for (int64_t r = rows; r < mr; ++r) panel[p * mr + r] = 0.0f;
    }
  }
  // END SOLUTION
}

}  // namespace tinytorch::accel

// %%
//| test
TEST(UnitPack, APanelsAreColumnsOfMrRowsZeroPadded) {
  const Tensor x = arange(10).reshape({5, 2});
  std::vector<float> packed(16, -1.0f);
  accel::pack_a(accel::matrix_view(x), 0, 5, 0, 2, 4, packed.data());
  EXPECT_EQ(packed, (std::vector<float>{0, 2, 4, 6, 1, 3, 5, 7, 8, 0, 0, 0, 9, 0, 0, 0}));
  std::vector<float> from_transpose(16, -1.0f);
  accel::pack_a(accel::matrix_view(x.t().contiguous().t()), 0, 5, 0, 2, 4, from_transpose.data());
  EXPECT_EQ(from_transpose, packed) << "a column-major A must give the same panels";
}

// %% [markdown]
// ### ⭐⭐ `pack_b`
//
// **TODO**: Pack rows `[p0, p0 + kc)` and columns `[j0, j0 + nc)` of `b` into `ceil(nc / nr)`
// panels of `nr` columns at `packed`, with zeros for the columns past `nc` in the last panel.
//
// **APPROACH**:
// 1. Panel `q` (columns `q·nr ...`) starts at `packed + q·nr·kc`, and holds `cols = min(nr, nc −
//    q·nr)` real columns.
// 2. If `b.col_stride == 1` (row-major B): for each row `p`, walk the row's `nc` floats from
//    column `j0`, left to right, dealing them out: `nr` (or the last panel's `cols`) to row `p` of
//    each panel, at `panel + p·nr`, and zeros for the rest of that panel's `nr`. Then return.
// 3. Otherwise (a transposed B has `row_stride == 1`): for each panel, for each column `c < cols`,
//    walk `p`: `panel[p·nr + c] = B(p0 + p, j0 + q·nr + c)`; then zero the columns `cols ≤ c < nr`.
//
// **EXAMPLE**:
// ```cpp
// Tensor w = arange(6).reshape({2, 3});       // [[0, 1, 2], [3, 4, 5]]
// pack_b(matrix_view(w), 0, 2, 0, 3, 2, packed)
//   // panel 0: 0 1   3 4      (columns 0-1, row 0 then row 1)
//   // panel 1: 2 0   5 0      (column 2, zero-padded)
// pack_b(matrix_view(w.t().contiguous().t()), ...)   // the same 8 floats
// ```
//
// **HINTS**:
// - Linear's forward is `x.matmul(weight.t())`: its B is a transposed view, so the second branch
//   is the one every `Linear` takes. The tests check both branches.
//
// **SYSTEMS THINKING**: B's block (KC × NC floats: 256 × 2048 × 4 bytes = 2 MiB) is packed once
// per k block and read by every row panel of A: it is meant to stay in the L3 cache (or L2), while
// one NR-wide panel of it (256 × 32 × 4 = 32 KiB) sits in L1 while the micro-kernel sweeps the A
// panels past it. That is what the block sizes of part 5 are chosen for.
//
// The order of the reads matters as much as their number. Filling one panel at a time reads 64
// bytes from each of 256 rows, then moves on: when B is the CNN's `cols` (`[288, 16384]`), those
// rows are 64 KiB apart, every read is a cache miss on a different page, and the CPU's
// prefetcher, which learns *sequential* streams, cannot help. Walking each row left to right
// instead reads B the way it lies in memory. Measured with `sgemm_bench` on that product (W
// `[64, 288]` · cols, one core): 43 GFLOP/s panel by panel, 68–74 row by row; OpenBLAS 76–80.
// The CNN's training step went from 70 to 61 ms. The demo below times the packing alone (8.4 ms
// panel by panel, 2.0 ms row by row, on one run here).

// %%
//| export impl
namespace tinytorch::accel {

void pack_b(const MatrixView& b, int64_t p0, int64_t kc, int64_t j0, int64_t nc, int64_t nr, float* packed) {
  // BEGIN SOLUTION
  if (b.col_stride == 1) {  // rows are contiguous: read each row once, left to right, nr floats per panel
    for (int64_t p = 0; p < kc; ++p) {
      const float* src = b.data + (p0 + p) * b.row_stride + j0;
      for (int64_t first = 0; first < nc; first += nr) {
        float* dst = packed + first * kc + p * nr;
        const int64_t cols = std::min(nr, nc - first);
        for (int64_t c = 0; c < cols; ++c) dst[c] = src[first + c];
        for (int64_t c = cols; c < nr; ++c) dst[c] = 0.0f;
      }
    }
    return;
  }
  // columns are (or may be) contiguous: one sequential read per column
  for (int64_t first = 0; first < nc; first += nr) {
    float* panel = packed + first * kc;
    const int64_t cols = std::min(nr, nc - first);
    const float* origin = b.data + p0 * b.row_stride + (j0 + first) * b.col_stride;
    int64_t p = 0;
    if (b.row_stride == 1 && nr % 8 == 0) {  // a transpose: blocks of 8 columns by 8 rows
      for (; p + 8 <= kc; p += 8) {
        for (int64_t c = 0; c < nr; c += 8) {
          const int64_t rows = std::clamp<int64_t>(cols - c, 0, 8);  // columns past nc are zeros
          transpose_block(origin + c * b.col_stride + p, b.col_stride, rows, panel + p * nr + c, nr, 8);
        }
      }
    }
    for (int64_t c = 0; c < cols; ++c) {
      const float* src = origin + c * b.col_stride;
      for (int64_t q = p; q < kc; ++q) panel[q * nr + c] = src[q * b.row_stride];
    }
    for (int64_t p = 0; p < kc; ++p) {
      for (int64_t c = cols; c < nr; ++c) panel[p * nr + c] = 0.0f;
    }
  }
  // END SOLUTION
}

}  // namespace tinytorch::accel

// %%
//| test
TEST(UnitPack, BPanelsAreRowsOfNrColumnsZeroPadded) {
  const Tensor w = arange(6).reshape({2, 3});
  std::vector<float> packed(8, -1.0f);
  accel::pack_b(accel::matrix_view(w), 0, 2, 0, 3, 2, packed.data());
  EXPECT_EQ(packed, (std::vector<float>{0, 1, 3, 4, 2, 0, 5, 0}));
  std::vector<float> from_transpose(8, -1.0f);
  accel::pack_b(accel::matrix_view(w.t().contiguous().t()), 0, 2, 0, 3, 2, from_transpose.data());
  EXPECT_EQ(from_transpose, packed) << "a column-major B must give the same panels";
}

// %% [markdown]
// The claims of this part, measured on the reference CNN's operands, each the median of 5 runs
// of packing the whole matrix block by block (KC = 320 rows, NC = 2048 columns, NR = 16), as
// `gemm` will: a row-major B (conv2's `cols`, `[288, 16384]`) by your `pack_b` and by the
// panel-by-panel order; a transposed B (conv1's `colsᵀ` in its weight gradient, `[65536, 27]`
// read from `[27, 65536]`) by your `pack_b` and by a float-at-a-time transpose.

// %%
//| demo
const int64_t kc = 320, nc = 2048, nr = 16;
std::vector<float> panels(static_cast<std::size_t>(kc * nc));
const auto pack_all = [&](const accel::MatrixView& b,
                          const std::function<void(int64_t, int64_t, int64_t, int64_t)>& pack) {
  for (int64_t j0 = 0; j0 < b.cols; j0 += nc) {
    for (int64_t p0 = 0; p0 < b.rows; p0 += kc) pack(p0, std::min(kc, b.rows - p0), j0, std::min(nc, b.cols - j0));
  }
};
const Tensor cols2 = randn({288, 16384}, 7);
const accel::MatrixView rows_b = accel::matrix_view(cols2);
const double t_rows = timing::median_seconds(5, [&] {
  pack_all(rows_b, [&](int64_t p0, int64_t k, int64_t j0, int64_t n) {
    accel::pack_b(rows_b, p0, k, j0, n, nr, panels.data());
  });
});
const double t_panels = timing::median_seconds(5, [&] {
  pack_all(rows_b, [&](int64_t p0, int64_t k, int64_t j0, int64_t n) {
    for (int64_t first = 0; first < n; first += nr) {  // one panel at a time: 64 bytes from each row
      const int64_t width = std::min(nr, n - first);
      float* panel = panels.data() + first * k;
      for (int64_t p = 0; p < k; ++p) {
        const float* src = rows_b.data + (p0 + p) * rows_b.row_stride + j0 + first;
        for (int64_t c = 0; c < width; ++c) panel[p * nr + c] = src[c];
        for (int64_t c = width; c < nr; ++c) panel[p * nr + c] = 0.0f;
      }
    }
  });
});
const Tensor cols1 = randn({27, 65536}, 8);
const accel::MatrixView transposed_b = accel::matrix_view(cols1.t());
const double t_blocks = timing::median_seconds(5, [&] {
  pack_all(transposed_b, [&](int64_t p0, int64_t k, int64_t j0, int64_t n) {
    accel::pack_b(transposed_b, p0, k, j0, n, nr, panels.data());
  });
});
const double t_floats = timing::median_seconds(5, [&] {
  pack_all(transposed_b, [&](int64_t p0, int64_t k, int64_t j0, int64_t n) {
    for (int64_t first = 0; first < n; first += nr) {  // each column walked down, one float at a time
      const int64_t width = std::min(nr, n - first);
      float* panel = panels.data() + first * k;
      for (int64_t c = 0; c < width; ++c) {
        const float* src = transposed_b.data + p0 + (j0 + first + c) * transposed_b.col_stride;
        for (int64_t p = 0; p < k; ++p) panel[p * nr + c] = src[p];
      }
      for (int64_t p = 0; p < k; ++p) {
        for (int64_t c = width; c < nr; ++c) panel[p * nr + c] = 0.0f;
      }
    }
  });
});
std::printf("row-major B [288, 16384]:  your pack_b %6.2f ms, panel by panel %6.2f ms (%.1fx)\n", t_rows * 1e3,
            t_panels * 1e3, t_panels / t_rows);
std::printf("transposed B [65536, 27]:  your pack_b %6.2f ms, a float at a time %6.2f ms (%.1fx)\n", t_blocks * 1e3,
            t_floats * 1e3, t_floats / t_blocks);

// %% [markdown]
// ## Part 5: The blocked loop nest
//
// Now the pieces fit together. C is computed block by block, each loop choosing what stays in
// which cache (this is the loop nest of BLIS, Goto's algorithm):
//
//     for jc in 0..n step NC:                  a block of NC columns of B and C
//       for pc in 0..k step KC:                a block of KC rows of B (and columns of A); see below
//         pack B[pc.., jc..] -> Bp             KC x NC: stays in L3 (or L2)
//         for ic in 0..m step MC:              a block of MC rows of A and C
//           pack A[ic.., pc..] -> Ap           MC x KC: stays in L2
//           for jr in 0..nc step NR:           one NR-wide panel of Bp: stays in L1
//             for ir in 0..mc step MR:         one MR-tall panel of Ap, streamed from L2
//               micro-kernel(kc, Ap panel ir, Bp panel jr, C tile (ic+ir, jc+jr), accumulate = pc > 0)
//
// Each C tile receives `k / KC` calls, one per k block: the first writes (`=`), the others add
// (`+=`). The block sizes are per path (written for you, `blocking_for`): KC such that a B panel
// (KC × NR) fills about half of L1, MC such that the A block (MC × KC) fills about half of L2,
// NC such that the B block fits in the L3 share of a core. They are multiples of MR and NR.
//
// KC is a maximum: `k` is cut into equal blocks of at most KC. With KC = 320, `k` = 1024 is four
// blocks of 256 rather than three of 320 and a short one of 64: a micro-kernel call on a short
// block spends most of its time loading and storing its tile of C.
//
// ### Edge tiles
//
// `m` and `n` are rarely multiples of MR and NR: a `Linear(1568, 10)` has `n` = 10, and a tile of
// 32 columns would write 22 columns that are not there (past the end of a row, into the next
// row, or past the end of the allocation). The packing already zero-pads, so the kernel's
// arithmetic is right; only its *store* must be cut to size. An **edge tile** is therefore
// computed into a small local tile (`ldc = NR`, `accumulate = false`), and then only its valid
// `rows × cols` part is written or added into C.
//
// ### ⭐⭐ `store_edge_tile`
//
// **TODO**: Write the top-left `rows × cols` of `tile` (an MR × NR tile with row stride `nr`) into
// `c` (row stride `ldc`): `=` when `accumulate` is false, `+=` when it is true. Nothing outside
// those `rows × cols` elements of C may change.
//
// **APPROACH**: two loops, `i < rows`, `j < cols`: `c[i·ldc + j] = tile[i·nr + j]` (or `+=`).
//
// **EXAMPLE**:
// ```cpp
// // a 6 x 16 tile at the bottom-right corner of a 100 x 10 C: rows = 4, cols = 10
// store_edge_tile(tile, 16, c + 96 * 10 + 0, 10, 4, 10, false)
// ```
//
// **HINTS**:
// - The row stride of `tile` is `nr`, of `c` it is `ldc`; mixing them up passes every test whose
//   matrix is exactly one tile wide.
//
// **SYSTEMS THINKING**: an edge tile costs a full tile of arithmetic for a partial result. For
// `n` = 10 and NR = 32, 69% of the FMAs multiply zeros. That is why the CNN's last layer, `[64,
// 1568] @ [1568, 10]`, runs far below peak (`bench/sgemm_bench`'s "fc" rows), and why a library for
// small matrices (libxsmm) generates a kernel per shape.

// %%
//| export
namespace tinytorch::accel {

// Writes (or, when accumulate, adds) the top-left rows x cols of `tile` (row stride nr) into c
// (row stride ldc). Nothing else of c is touched.
void store_edge_tile(const float* tile, int64_t nr, float* c, int64_t ldc, int64_t rows, int64_t cols,
                     bool accumulate);

}  // namespace tinytorch::accel

// %%
//| export impl
namespace tinytorch::accel {

void store_edge_tile(const float* tile, int64_t nr, float* c, int64_t ldc, int64_t rows, int64_t cols,
                     bool accumulate) {
  // BEGIN SOLUTION
  for (int64_t i = 0; i < rows; ++i) {
    const float* src = tile + i * nr;
    float* dst = c + i * ldc;
    for (int64_t j = 0; j < cols; ++j) dst[j] = accumulate ? dst[j] + src[j] : src[j];
  }
  // END SOLUTION
}

}  // namespace tinytorch::accel

// %%
//| test
TEST(UnitEdgeTile, WritesOnlyTheValidPart) {
  std::vector<float> tile(6 * 16);
  for (std::size_t i = 0; i < tile.size(); ++i) tile[i] = static_cast<float>(i);
  std::vector<float> c(5 * 10, -1.0f);
  accel::store_edge_tile(tile.data(), 16, c.data(), 10, 2, 3, false);
  EXPECT_EQ(c[0], 0.0f);
  EXPECT_EQ(c[1 * 10 + 2], 18.0f) << "row 1 of the tile starts at tile[nr], row 1 of c at c[ldc]";
  EXPECT_EQ(c[3], -1.0f) << "column 3 is outside the 2 x 3 edge tile";
  EXPECT_EQ(c[2 * 10], -1.0f) << "row 2 is outside the 2 x 3 edge tile";
  accel::store_edge_tile(tile.data(), 16, c.data(), 10, 2, 3, true);
  EXPECT_EQ(c[1 * 10 + 2], 36.0f);
}

// %% [markdown]
// ### The epilogue
//
// A `Linear` layer computes `x·Wᵀ + b` and, often, a ReLU after it. Written as three ops, that is
// three passes over the output: the GEMM writes C, the bias add reads it and writes it, the ReLU
// reads it and writes it. But when the GEMM writes the last k block of a tile, the tile is in L1
// (it was just stored). Applying the bias and the ReLU *there* costs a few instructions per
// element and no memory traffic at all. This is an **epilogue**, and fusing it is how production
// libraries (cuBLASLt, oneDNN's "post-ops", XNNPACK) make `Linear + ReLU` one pass.
//
// An `Epilogue` holds an optional bias per row of C (`row_bias[i]`: a convolution's `[O, N·OH·OW]`
// output has one per output channel), an optional bias per column (`column_bias[j]`: a `Linear`'s
// `[N, out]` output has one per feature), and a ReLU flag. It must be applied **once**, to the
// finished sum: after the *last* k block of the tile, never after an earlier one (a ReLU of a
// partial sum would zero numbers that later blocks would have made positive).
//
// ### ⭐⭐ `apply_epilogue`
//
// **TODO**: For the `rows × cols` block of C at `c` (row stride `ldc`), which is C's block at
// `(row0, col0)`: add `row_bias[row0 + i]` when there is a row bias, add `column_bias[col0 + j]`
// when there is a column bias, then apply `max(x, 0)` when `relu`.
//
// **APPROACH**:
// 1. If the epilogue is empty (`!epilogue.active()`), return.
// 2. For each `i < rows`: `float rb = row_bias ? row_bias[row0 + i] : 0`; for each `j < cols`:
//    `v = c[i·ldc + j] + rb + (column_bias ? column_bias[col0 + j] : 0)`, then `relu ? max(v, 0) :
//    v`, stored back.
//
// **EXAMPLE**:
// ```cpp
// float c[4] = {-3, 1, 2, -1};             // the 2 x 2 block of C at (row0, col0) = (1, 0)
// float rb[3] = {100, 0, 10}, cb[2] = {1, 2};
// apply_epilogue(c, 2, 2, 2, 1, 0, {rb, cb, true})
//   // c = {0, 3, 13, 11}: block row 0 is C's row 1 (rb[1] = 0): -3 + 0 + 1 -> ReLU -> 0, 1 + 0 + 2 = 3;
//   //                     block row 1 is C's row 2 (rb[2] = 10): 2 + 10 + 1 = 13, -1 + 10 + 2 = 11
// ```
//
// **HINTS**:
// - `row0` and `col0` are where the block sits in C: the bias is indexed by C's row and column,
//   not the block's.
// - The ReLU of a NaN is NaN in PyTorch; `std::max(v, 0.0f)` returns `v` for a NaN `v` only if `v`
//   is the first argument. The tests do not insist, but `v > 0 ? v : 0` turns NaN into 0.
//
// **SYSTEMS THINKING**: for the CNN's `Linear(1568, 10)` the output is 640 floats: the unfused
// bias add costs almost nothing. For a transformer's MLP, `[4096 tokens, 3072]` is 50 MB of output
// written and read twice more: on a memory-bound machine the fused epilogue saves more time than a
// faster kernel would. Demo 5 measures it on a large `Linear`.

// %%
//| export
namespace tinytorch::accel {

// What is applied to each finished element of C: + row_bias[i], + column_bias[j], then ReLU.
// The pointers may be null (no such bias); they index C's rows and columns.
struct Epilogue {
  const float* row_bias = nullptr;
  const float* column_bias = nullptr;
  bool relu = false;

  bool active() const noexcept { return row_bias != nullptr || column_bias != nullptr || relu; }
};

// Applies `epilogue` to the rows x cols block of C at c (row stride ldc), which is C's block at
// (row0, col0).
void apply_epilogue(float* c, int64_t ldc, int64_t rows, int64_t cols, int64_t row0, int64_t col0,
                    const Epilogue& epilogue);

}  // namespace tinytorch::accel

// %%
//| export impl
namespace tinytorch::accel {

void apply_epilogue(float* c, int64_t ldc, int64_t rows, int64_t cols, int64_t row0, int64_t col0,
                    const Epilogue& epilogue) {
  // BEGIN SOLUTION
  if (!epilogue.active()) return;
  for (int64_t i = 0; i < rows; ++i) {
    float* row = c + i * ldc;
    const float rb = epilogue.row_bias ? epilogue.row_bias[row0 + i] : 0.0f;
    const float* cb = epilogue.column_bias ? epilogue.column_bias + col0 : nullptr;
    for (int64_t j = 0; j < cols; ++j) {
      float v = row[j] + rb;
      if (cb) v += cb[j];
      row[j] = epilogue.relu ? std::max(v, 0.0f) : v;
    }
  }
  // END SOLUTION
}

}  // namespace tinytorch::accel

// %%
//| test
TEST(UnitEpilogue, BiasesIndexCsRowsAndColumnsThenRelu) {
  std::vector<float> c = {-3, 1, 2, -1};  // the 2 x 2 block of C at (1, 0)
  const float row_bias[3] = {100, 0, 10}, column_bias[2] = {1, 2};
  accel::apply_epilogue(c.data(), 2, 2, 2, 1, 0, accel::Epilogue{row_bias, column_bias, true});
  EXPECT_EQ(c, (std::vector<float>{0, 3, 13, 11})) << "row i of the block is row row0 + i of C";
}

// %% [markdown]
// ### Blocks, and where packed panels live (written for you)
//
// `blocking_for(kernel)` gives a path's MC, KC and NC. The packed blocks live in a per-thread
// **workspace**, 64-byte aligned (a cache line, and an AVX-512 register), allocated the first
// time a thread needs it and reused by every later GEMM on that thread: a GEMM allocates nothing.

// %%
//| export
namespace tinytorch::accel {

// The cache blocks of a path: mc rows of A (a multiple of mr), kc of the inner dimension, nc
// columns of B (a multiple of nr).
struct Blocking {
  int64_t mc;
  int64_t kc;
  int64_t nc;
};

// The blocks for `kernel`'s tile on this course's machines (L1 32-48 KiB, L2 1-2 MiB per core).
Blocking blocking_for(const Kernel& kernel) noexcept;

// A part of C: rows [row0, row0 + rows) and columns [col0, col0 + cols).
struct Rect {
  int64_t row0 = 0;
  int64_t rows = 0;
  int64_t col0 = 0;
  int64_t cols = 0;
};

// This thread's buffers for packed blocks, at least `floats` long and 64-byte aligned; valid
// until the next call on this thread with a larger size.
float* packed_a_buffer(std::size_t floats);
float* packed_b_buffer(std::size_t floats);

}  // namespace tinytorch::accel

// %%
//| export impl
namespace tinytorch::accel {

Blocking blocking_for(const Kernel& kernel) noexcept {
  // A B panel (kc x nr floats) and an A panel (mr x kc) together in a 32 KiB L1: 320 x 16 + 6 x
  // 320 floats is 28 KiB; AVX-512's 32-wide panels need the smaller 256 (32 KiB with its A panel
  // in L1's 48 KiB on recent cores). 320 rather than 256 lets the CNN's k = 288 be one block:
  // conv2's forward product 65 -> 73 GFLOP/s (sgemm_bench, one core).
  const int64_t kc = kernel.path == Path::Avx512 ? 256 : 320;
  const int64_t mc = (kernel.path == Path::Avx512 ? 128 : 144) / kernel.mr * kernel.mr;
  const int64_t nc = 2048 / kernel.nr * kernel.nr;
  return Blocking{std::max(mc, kernel.mr), kc, std::max(nc, kernel.nr)};
}

namespace {

// A growable, 64-byte aligned float buffer.
class AlignedBuffer {
 public:
  float* get(std::size_t floats) {
    if (floats > capacity_) {
      const std::size_t bytes = (floats * sizeof(float) + 63) / 64 * 64;
      float* fresh = static_cast<float*>(std::aligned_alloc(64, bytes));
      if (!fresh) throw std::bad_alloc();
      data_.reset(fresh);
      capacity_ = bytes / sizeof(float);
    }
    return data_.get();
  }

 private:
  struct Free {
    void operator()(float* p) const noexcept { std::free(p); }
  };
  std::unique_ptr<float, Free> data_;
  std::size_t capacity_ = 0;
};

thread_local AlignedBuffer packed_a_storage, packed_b_storage;

}  // namespace

float* packed_a_buffer(std::size_t floats) { return packed_a_storage.get(floats); }
float* packed_b_buffer(std::size_t floats) { return packed_b_storage.get(floats); }

}  // namespace tinytorch::accel

// %% [markdown]
// ### ⭐⭐⭐ `gemm_rect`
//
// **TODO**: Compute the part `rect` of `C = A·B` (C's element `(i, j)` at `c[i·ldc + j]`), then
// the epilogue, with the five loops above: B blocks packed with `pack_b`, A blocks with `pack_a`,
// full tiles written by `kernel.run` straight into C, edge tiles through a local tile and
// `store_edge_tile`, and `apply_epilogue` on each tile after its last k block. An inner size
// `k = 0` gives zeros (then the epilogue), as module 01's matmul does.
//
// **APPROACH**:
// 1. `k = a.cols`, `mr = kernel.mr`, `nr = kernel.nr`; return if the rect is empty. If `k == 0`:
//    zero the rect's elements of C, apply the epilogue to it, return.
// 2. `packed_a = packed_a_buffer(mc·kc)` and `packed_b = packed_b_buffer(nc·kc)` with the blocking's
//    sizes; a local `alignas(64) float tile[kMaxTileFloats]`.
// 3. Equal k blocks: `k_blocks = ceil(k / blocking.kc)`, `kc_step = ceil(k / k_blocks)`. `jc` from
//    `rect.col0` to `rect.col0 + rect.cols` by `nc`; inside, `pc` from 0 to `k` by `kc_step` (the
//    block is `kc_now = min(kc_step, k − pc)`): `pack_b(b, pc, kc_now, jc, nc_now, nr, packed_b)`.
// 4. Inside, `ic` over the rect's rows by `mc`: `pack_a(a, ic, mc_now, pc, kc_now, mr, packed_a)`.
// 5. Inside, `jr` by `nr` and `ir` by `mr`. The panels are `packed_a + ir·kc_now` and
//    `packed_b + jr·kc_now`; the tile of C starts at `c + (ic + ir)·ldc + jc + jr`;
//    `accumulate = pc > 0`. A full tile: `kernel.run(kc_now, ..., c_tile, ldc, accumulate)`. An
//    edge tile: `kernel.run(kc_now, ..., tile, nr, false)`, then `store_edge_tile`.
// 6. When `pc + kc_now == k` (the last k block), `apply_epilogue(c_tile, ldc, rows, cols, ic + ir,
//    jc + jr, epilogue)`.
//
// **EXAMPLE**:
// ```cpp
// // the whole of a 100 x 70 C = A [100, 700] · B [700, 70], on the portable kernel
// const Kernel& kernel = kernel_for(Path::Portable);
// gemm_rect(kernel, blocking_for(kernel), matrix_view(a), matrix_view(b), c.data(), 70, {0, 100, 0, 70}, {});
// // c equals native::matmul_2d(a, b) up to rounding: k = 700 is three k blocks (234 + 234 + 232),
// // m = 100 ends in an edge tile of 4 rows of 4, n = 70 in one of 6 columns of 16
// ```
//
// **HINTS**:
// - The panel offsets are `ir·kc_now` and `jr·kc_now` (panel `ir / mr` starts at `(ir / mr)·mr·kc`
//   floats): with the *block's* `kc_now`, not the blocking's `kc`, or the last k block reads the
//   wrong floats.
// - `accumulate` is about the k block, not the tile: the first k block of every tile writes, so
//   C never needs zeroing first (except when `k == 0` and no block runs at all).
// - The rect's bounds are absolute: `ic` starts at `rect.row0`, and the loops end at `rect.row0 +
//   rect.rows`, not at `m`.
//
// **SYSTEMS THINKING**: count the memory traffic. Every float of A is packed `n / NC` times, every
// float of B `m / rect.rows` times (once per rectangle of rows), and every tile of C is read and
// written `k / KC` times. For 1024³ with KC = 256, NC = 2048: A once, B once per rect, C four
// times: about 20 MB moved for 2.1 GFLOP, 100 FLOPs per byte. The i-p-j loop moves a row of B and
// a row of C for every (i, p): 1024² · 3 · 4 KiB, about 13 GB (mostly from L2, but still).

// %%
//| export
namespace tinytorch::accel {

// The largest tile of any path, in floats (the local tile of edge tiles).
inline constexpr int64_t kMaxTileFloats = 256;

// C's part `rect` of C = A [m, k] · B [k, n] (C's element (i, j) at c[i*ldc + j]), then the
// epilogue: the blocked loop nest on `kernel` with `blocking`. One thread; A and B any strides.
void gemm_rect(const Kernel& kernel, const Blocking& blocking, const MatrixView& a, const MatrixView& b, float* c,
               int64_t ldc, const Rect& rect, const Epilogue& epilogue);

}  // namespace tinytorch::accel

// %%
//| export impl
namespace tinytorch::accel {

void gemm_rect(const Kernel& kernel, const Blocking& blocking, const MatrixView& a, const MatrixView& b, float* c,
               int64_t ldc, const Rect& rect, const Epilogue& epilogue) {
  // BEGIN SOLUTION
  const int64_t k = a.cols, mr = kernel.mr, nr = kernel.nr;
  if (rect.rows <= 0 || rect.cols <= 0) return;
  float* corner = c + rect.row0 * ldc + rect.col0;
  if (k == 0) {
    for (int64_t i = 0; i < rect.rows; ++i) std::fill_n(corner + i * ldc, rect.cols, 0.0f);
    apply_epilogue(corner, ldc, rect.rows, rect.cols, rect.row0, rect.col0, epilogue);
    return;
  }
  float* packed_a = packed_a_buffer(static_cast<std::size_t>(blocking.mc * blocking.kc));
  float* packed_b = packed_b_buffer(static_cast<std::size_t>(blocking.nc * blocking.kc));
  alignas(64) float tile[kMaxTileFloats];
  const int64_t row_end = rect.row0 + rect.rows, col_end = rect.col0 + rect.cols;
  // k in equal blocks of at most blocking.kc: 1024 is four blocks of 256, not three of 320 and a
  // short one of 64 whose micro-kernel calls are mostly loading and storing their tile of C.
  const int64_t k_blocks = (k + blocking.kc - 1) / blocking.kc;
  const int64_t kc_step = (k + k_blocks - 1) / k_blocks;
  for (int64_t jc = rect.col0; jc < col_end; jc += blocking.nc) {
    const int64_t nc = std::min(blocking.nc, col_end - jc);
    for (int64_t pc = 0; pc < k; pc += kc_step) {
      const int64_t kc = std::min(kc_step, k - pc);
      const bool accumulate = pc > 0, last = pc + kc == k;
      pack_b(b, pc, kc, jc, nc, nr, packed_b);
      for (int64_t ic = rect.row0; ic < row_end; ic += blocking.mc) {
        const int64_t mc = std::min(blocking.mc, row_end - ic);
        pack_a(a, ic, mc, pc, kc, mr, packed_a);
        for (int64_t jr = 0; jr < nc; jr += nr) {
          const int64_t cols = std::min(nr, nc - jr);
          for (int64_t ir = 0; ir < mc; ir += mr) {
            const int64_t rows = std::min(mr, mc - ir);
            const float* a_panel = packed_a + ir * kc;
            const float* b_panel = packed_b + jr * kc;
            float* c_tile = c + (ic + ir) * ldc + jc + jr;
            if (rows == mr && cols == nr) {
              kernel.run(kc, a_panel, b_panel, c_tile, ldc, accumulate);
            } else {
              kernel.run(kc, a_panel, b_panel, tile, nr, false);
              store_edge_tile(tile, nr, c_tile, ldc, rows, cols, accumulate);
            }
            if (last) apply_epilogue(c_tile, ldc, rows, cols, ic + ir, jc + jr, epilogue);
          }
        }
      }
    }
  }
  // END SOLUTION
}

}  // namespace tinytorch::accel

// %%
//| test
TEST(UnitGemmRect, TheLoopNestMatchesModule01) {
  const Tensor a = randn({100, 700}, 1), b = randn({700, 70}, 2);
  const Tensor expected = native::matmul_2d(a, b);
  for (accel::Path path : accel::supported_paths()) {
    const accel::Kernel& kernel = accel::kernel_for(path);
    std::vector<float> c(100 * 70, -7.0f);
    accel::gemm_rect(kernel, accel::blocking_for(kernel), accel::matrix_view(a), accel::matrix_view(b), c.data(), 70,
                     {0, 100, 0, 70}, {});
    EXPECT_TRUE(allclose(Tensor(c, {100, 70}), expected, 1e-4f, 1e-4f)) << accel::path_name(path);
  }
}

// %% [markdown]
// ## Part 6: A persistent thread pool
//
// One core is not the machine. The obvious way to use them all is to start threads for each
// GEMM and join them at the end, and it is too slow: creating a thread costs 10–50 µs, and the
// CNN's small products take about that long in total. Production libraries (OpenMP runtimes,
// OpenBLAS, PyTorch's intra-op pool) keep a **persistent pool**: the threads are created once and
// sleep on a condition variable between jobs. A job is then "here are `tasks` pieces of work:
// take them until none is left", and waking the sleepers costs a few microseconds.
//
// The pool of this module is small and complete:
//
// - `ThreadPool(threads)` starts `threads − 1` workers; the thread that calls `run` is the last
//   one, and works too (so `ThreadPool(1)` has no workers and runs everything on the caller);
// - `run(tasks, task)` publishes a **job** (the function, the task count, a fresh task counter)
//   under the mutex, bumps the **generation** (so that each worker sees each job exactly once),
//   wakes the workers, takes tasks itself, then waits until every worker has finished the job;
// - a task is taken with one atomic `fetch_add` on the task counter, so a fast thread takes more
//   tasks than a slow one (dynamic scheduling: on a shared machine, a core may be busy with
//   someone else's work);
// - an exception in a task is caught and kept (the first one), no more tasks are handed out,
//   and `run` rethrows it on the caller's thread, after every thread has stopped touching the job;
// - a `run` from inside a task (a GEMM inside a parallel loop) or while another thread's job is
//   running does not wait for the pool: it runs its tasks serially on the calling thread. Waiting
//   would deadlock: the pool's threads are the ones that would have to finish first.
//
// The constructor, the destructor (which stops and joins the workers) and the serial fallback
// are written for you; you write the three functions that make the job go round.
//
// `tinytorch::set_num_threads(n)`, `get_num_threads()` (PyTorch's names, `torch::set_num_threads`)
// replace and read the library's one pool. Its first size is `default_num_threads()`: the
// environment variable `TINYTORCH_NUM_THREADS` when it holds a number of threads, else the
// machine's hardware threads.
//
// ### ⭐ `parse_num_threads`
//
// **TODO**: Read a thread count from text (the value of `TINYTORCH_NUM_THREADS`): a whole number
// from 1 to 1024, with optional spaces around it. Anything else (empty, `"0"`, `"-2"`, `"3x"`,
// `"two"`, `"99999999999"`) is no thread count: `std::nullopt`.
//
// **APPROACH**:
// 1. Trim spaces at both ends (`find_first_not_of(' ')`, `find_last_not_of(' ')`); empty: nullopt.
// 2. `std::from_chars(first, last, value)` into an `int64_t`; it must succeed and consume the whole
//    trimmed text (`result.ptr == last`).
// 3. Return `value` when `1 <= value <= 1024`, else nullopt.
//
// **EXAMPLE**:
// ```cpp
// parse_num_threads("4")        // 4
// parse_num_threads(" 2 ")      // 2
// parse_num_threads("0")        // nullopt: a pool needs a thread
// parse_num_threads("3x")       // nullopt: not a number (std::atoi would say 3)
// ```
//
// **HINTS**:
// - `std::from_chars` (in `<charconv>`) accepts a leading `-` for signed types, so `"-2"` parses as
//   -2 and the range check rejects it. It does not accept a `+` or spaces.
// - `std::atoi` returns 0 for garbage and ignores trailing junk: a typo would silently mean
//   "one thread" or worse. Say no instead, and let the caller warn.
//
// **SYSTEMS THINKING**: why have an environment variable at all? Because the person who knows how
// many cores a program may use is often not the program: a cluster scheduler, a container's CPU
// quota, or two training runs sharing a machine. `OMP_NUM_THREADS`, `MKL_NUM_THREADS` and
// `OPENBLAS_NUM_THREADS` exist for that reason, and oversubscribing (8 threads on 2 cores) makes a
// GEMM slower, not faster: the threads take turns and each one's cache blocks evict the others'.

// %%
//| export
namespace tinytorch {

// Replaces the library's thread pool with one of `threads` threads (torch::set_num_threads).
// std::invalid_argument when threads < 1. GEMMs already running finish on the old pool.
void set_num_threads(int threads);
// The number of threads the library's GEMMs use (torch::get_num_threads).
int get_num_threads();
// TINYTORCH_NUM_THREADS when it holds a thread count (1-1024), else the hardware threads (at
// least 1). An unreadable value is reported on stderr once and ignored.
int default_num_threads();

}  // namespace tinytorch

namespace tinytorch::accel {

// A thread count from text: a whole number 1-1024, spaces around it allowed; nullopt otherwise.
std::optional<int> parse_num_threads(std::string_view text);

}  // namespace tinytorch::accel

// %%
//| export impl
namespace tinytorch::accel {

std::optional<int> parse_num_threads(std::string_view text) {
  // BEGIN SOLUTION
  const std::size_t first = text.find_first_not_of(' ');
  if (first == std::string_view::npos) return std::nullopt;
  const std::size_t last = text.find_last_not_of(' ');
  const char* begin = text.data() + first;
  const char* end = text.data() + last + 1;
  int64_t value = 0;
  const auto [ptr, error] = std::from_chars(begin, end, value);
  if (error != std::errc() || ptr != end || value < 1 || value > 1024) return std::nullopt;
  return static_cast<int>(value);
  // END SOLUTION
}

}  // namespace tinytorch::accel

// %%
//| test
TEST(UnitParseThreads, WholeNumbersFromOneTo1024) {
  EXPECT_EQ(accel::parse_num_threads("4"), 4);
  EXPECT_EQ(accel::parse_num_threads(" 2 "), 2);
  EXPECT_EQ(accel::parse_num_threads("0"), std::nullopt) << "a pool needs at least one thread";
  EXPECT_EQ(accel::parse_num_threads("3x"), std::nullopt) << "trailing junk is not a number (atoi would say 3)";
  EXPECT_EQ(accel::parse_num_threads(""), std::nullopt);
}

// %% [markdown]
// The pool's class (written for you, apart from the three functions that follow). Read its
// members first: every one of them is used by exactly one of the steps listed above.

// %%
//| export
#include <atomic>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <thread>

namespace tinytorch::accel {

// A persistent pool: `size() - 1` workers that sleep between jobs, and the caller of run().
class ThreadPool {
 public:
  // Starts threads - 1 workers. std::invalid_argument when threads < 1.
  explicit ThreadPool(int threads);
  // Stops and joins the workers.
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  // The threads that run a job: the workers and the caller.
  int size() const noexcept { return static_cast<int>(workers_.size()) + 1; }

  // Runs task(0) ... task(tasks - 1), each exactly once, on the pool's threads, and returns when
  // all have finished. The first exception a task throws is rethrown here (tasks not yet started
  // are skipped). Called from inside a task, or while another thread's job runs, it runs the
  // tasks serially on the calling thread.
  void run(int64_t tasks, const std::function<void(int64_t)>& task);

 private:
  // A worker's thread: worker_loop, with an exception that escapes it (a bug, or "not implemented
  // yet") reported on stderr instead of ending the program through std::terminate.
  void worker_main() noexcept;
  // A worker's life: wait for a new job (or the stop), work on it, report that it is done.
  void worker_loop();
  // Takes tasks of the current job until none is left; keeps the first exception.
  void work_on_job();
  // Runs the tasks one after the other on this thread.
  static void run_serially(int64_t tasks, const std::function<void(int64_t)>& task);

  std::vector<std::thread> workers_;
  std::mutex mutex_;                   // guards everything below but next_task_
  std::condition_variable wake_;       // workers wait here for a job or the stop
  std::condition_variable finished_;   // run() waits here for the workers to finish the job
  uint64_t generation_ = 0;            // +1 for every job: a worker runs each generation once
  bool stopping_ = false;
  const std::function<void(int64_t)>* job_ = nullptr;
  int64_t tasks_ = 0;
  std::atomic<int64_t> next_task_{0};  // the next task to hand out
  int workers_busy_ = 0;               // workers that have not finished the current job
  std::exception_ptr error_;           // the job's first exception
  std::mutex one_job_;                 // held by the run() whose job the pool is running
};

// The library's pool, with get_num_threads() threads (created on first use).
std::shared_ptr<ThreadPool> thread_pool();

}  // namespace tinytorch::accel

// %%
//| export impl
namespace tinytorch::accel {
namespace {

// True on a thread that is running a task of a pool: the pool's workers, and a run()'s caller
// while it takes tasks. A run() there must not wait for the pool.
thread_local bool in_pool_task = false;

class InPoolTask {
 public:
  InPoolTask() noexcept : saved_(in_pool_task) { in_pool_task = true; }
  ~InPoolTask() { in_pool_task = saved_; }
  InPoolTask(const InPoolTask&) = delete;
  InPoolTask& operator=(const InPoolTask&) = delete;

 private:
  bool saved_;
};

}  // namespace

ThreadPool::ThreadPool(int threads) {
  if (threads < 1) throw std::invalid_argument("ThreadPool: needs at least 1 thread, got " + std::to_string(threads));
  workers_.reserve(static_cast<std::size_t>(threads - 1));
  for (int i = 1; i < threads; ++i) workers_.emplace_back([this] { worker_main(); });
}

void ThreadPool::worker_main() noexcept {
  try {
    worker_loop();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tinytorch: a thread pool worker stopped: %s\n", e.what());
  } catch (...) {
    std::fprintf(stderr, "tinytorch: a thread pool worker stopped on an unknown exception\n");
  }
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  for (std::thread& worker : workers_) worker.join();
}

void ThreadPool::run_serially(int64_t tasks, const std::function<void(int64_t)>& task) {
  for (int64_t i = 0; i < tasks; ++i) task(i);
}

}  // namespace tinytorch::accel

// %% [markdown]
// ### ⭐⭐ `ThreadPool::work_on_job`
//
// **TODO**: Take tasks of the current job (`*job_`, `tasks_`) with `next_task_.fetch_add(1)` and
// run them, until the counter passes `tasks_`. When a task throws, keep the exception in `error_`
// if it is the first (under `mutex_`), and stop handing out tasks (`next_task_ = tasks_`).
//
// **APPROACH**:
// 1. Loop: `index = next_task_.fetch_add(1)`; if `index >= tasks_`, return.
// 2. `try { (*job_)(index); } catch (...) { ... }`: in the handler, lock `mutex_`, set `error_ =
//    std::current_exception()` when `error_` is empty, and `next_task_.store(tasks_)`.
//
// **EXAMPLE**: with 3 threads and 10 tasks, one thread may run tasks 0, 3, 4, 8, another 1, 5, 6,
// 9 and the third 2 and 7: every index exactly once, in no fixed order.
//
// **HINTS**:
// - `fetch_add` returns the value *before* the add: two threads can never get the same index.
// - Catch with `catch (...)`: a task may throw anything, and an exception that leaves a worker
//   thread's function calls `std::terminate`: the whole program dies.
//
// **SYSTEMS THINKING**: one atomic add per task is cheap (tens of nanoseconds, more when threads
// contend for the counter's cache line), so tasks can be small, but not tiny: that is why a GEMM
// hands out rectangles of C, not tiles. A static split (thread t takes tasks t, t + T, ...) needs
// no atomic at all, but a thread that the OS preempts then delays the whole job.

// %%
//| export impl
namespace tinytorch::accel {

void ThreadPool::work_on_job() {
  // BEGIN SOLUTION
  for (;;) {
    const int64_t index = next_task_.fetch_add(1);
    if (index >= tasks_) return;
    try {
      (*job_)(index);
    } catch (...) {
      std::lock_guard<std::mutex> lock(mutex_);
      if (!error_) error_ = std::current_exception();
      next_task_.store(tasks_);
    }
  }
  // END SOLUTION
}

}  // namespace tinytorch::accel

// %% [markdown]
// ### ⭐⭐⭐ `ThreadPool::worker_loop`
//
// **TODO**: A worker's whole life. Mark the thread as inside the pool (`in_pool_task = true`).
// Then forever: wait on `wake_` until the pool is stopping or `generation_` differs from the last
// generation this worker ran; return if stopping; otherwise remember the generation, work on the
// job (outside the lock), then, under the lock, decrement `workers_busy_` and notify `finished_`
// when it reaches 0.
//
// **APPROACH**:
// 1. `in_pool_task = true; uint64_t seen = 0;`
// 2. `for (;;)`: in a block, `std::unique_lock<std::mutex> lock(mutex_);`
//    `wake_.wait(lock, [&] { return stopping_ || generation_ != seen; });` then `if (stopping_)
//    return; seen = generation_;`.
// 3. After the block (the lock released): `work_on_job();`.
// 4. Then `{ std::lock_guard<std::mutex> lock(mutex_); if (--workers_busy_ == 0)
//    finished_.notify_one(); }`.
//
// **EXAMPLE**: a pool of 3 runs a job of 2 tasks: the caller takes task 0, a worker takes task 1,
// the other worker wakes, finds no task left (`fetch_add` returns 2), and reports done at once.
//
// **HINTS**:
// - `wait` with a predicate handles **spurious wake-ups** (a condition variable may return
//   without a notify) and a notify that came *before* the wait: it checks the predicate first.
// - Never call `work_on_job` with the mutex held: the other threads could not take tasks, and
//   a task that throws would deadlock on the same mutex in the handler.
// - Why a generation number and not a "there is a job" flag? After finishing a job, a fast worker
//   would see the flag still set (the caller has not cleared it yet) and run the same job twice.
//
// **SYSTEMS THINKING**: a worker sleeps in the kernel (`futex`), so an idle pool costs no CPU; the
// price is the wake-up, a few microseconds per job. OpenMP runtimes spin for a while before
// sleeping, trading CPU for latency; on a machine you share, sleeping is the polite choice.

// %%
//| export impl
namespace tinytorch::accel {

void ThreadPool::worker_loop() {
  // BEGIN SOLUTION
  in_pool_task = true;
  uint64_t seen = 0;
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [&] { return stopping_ || generation_ != seen; });
      if (stopping_) return;
      seen = generation_;
    }
    work_on_job();
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (--workers_busy_ == 0) finished_.notify_one();
    }
  }
  // END SOLUTION
}

}  // namespace tinytorch::accel

// %% [markdown]
// ### ⭐⭐ `ThreadPool::run`
//
// **TODO**: Run a job on the pool. Serially (`run_serially`) when there is nothing to share
// (`tasks <= 1` or no workers), when called from inside a task (`in_pool_task`), or when another
// thread's job holds the pool (`one_job_.try_lock()` fails). Otherwise publish the job, wake the
// workers, work on it yourself, wait for the workers, and rethrow the job's first exception.
//
// **APPROACH**:
// 1. `if (tasks <= 0) return;`
// 2. `std::unique_lock<std::mutex> hold(one_job_, std::defer_lock);` and if `tasks == 1 ||
//    workers_.empty() || in_pool_task || !hold.try_lock()`, `run_serially(tasks, task)` and return.
// 3. Under `mutex_`: `job_ = &task; tasks_ = tasks; next_task_.store(0); error_ = nullptr;
//    workers_busy_ = workers_.size(); ++generation_;`. Then `wake_.notify_all()`.
// 4. `{ InPoolTask inside; work_on_job(); }`.
// 5. `std::unique_lock<std::mutex> lock(mutex_); finished_.wait(lock, [&] { return workers_busy_
//    == 0; });` then `job_ = nullptr;` and, if `error_`, `std::rethrow_exception(std::exchange(error_,
//    nullptr))`.
//
// **EXAMPLE**:
// ```cpp
// ThreadPool pool(4);
// std::vector<int> hits(100);
// pool.run(100, [&](int64_t i) { hits[i] += 1; });   // every entry 1: each task once
// pool.run(3, [](int64_t i) { if (i == 1) throw std::runtime_error("task 1"); });   // throws "task 1"
// ```
//
// **HINTS**:
// - `in_pool_task` must be checked *before* `try_lock`: a thread that already holds `one_job_`
//   (a task of this job, run by the caller) may not lock it again, not even with `try_lock`.
// - Wait for `workers_busy_ == 0` even when you know every task has been taken: a worker may still
//   be *running* one, and returning would destroy `task` (it lives in the caller's frame) under it.
//
// **SYSTEMS THINKING**: the caller works too. With T threads, a pool of T − 1 workers plus the
// caller uses exactly T cores; a caller that only waited would leave one idle, or need T workers
// and a T + 1-th thread for the OS to juggle.

// %%
//| export impl
namespace tinytorch::accel {

void ThreadPool::run(int64_t tasks, const std::function<void(int64_t)>& task) {
  // BEGIN SOLUTION
  if (tasks <= 0) return;
  std::unique_lock<std::mutex> hold(one_job_, std::defer_lock);
  if (tasks == 1 || workers_.empty() || in_pool_task || !hold.try_lock()) {
    run_serially(tasks, task);
    return;
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    job_ = &task;
    tasks_ = tasks;
    next_task_.store(0);
    error_ = nullptr;
    workers_busy_ = static_cast<int>(workers_.size());
    ++generation_;
  }
  wake_.notify_all();
  {
    InPoolTask inside;
    work_on_job();
  }
  std::unique_lock<std::mutex> lock(mutex_);
  finished_.wait(lock, [&] { return workers_busy_ == 0; });
  job_ = nullptr;
  if (error_) std::rethrow_exception(std::exchange(error_, nullptr));
  // END SOLUTION
}

}  // namespace tinytorch::accel

// %%
//| test
TEST(UnitThreadPool, EveryTaskOnceAndTheFirstExceptionComesBack) {
  accel::ThreadPool pool(3);
  std::vector<std::atomic<int>> hits(200);
  pool.run(200, [&](int64_t i) { hits[static_cast<std::size_t>(i)] += 1; });
  for (const auto& h : hits) ASSERT_EQ(h.load(), 1) << "every task runs exactly once";
  EXPECT_THROW(pool.run(3, [](int64_t i) { if (i == 1) throw std::runtime_error("task 1"); }), std::runtime_error);
  int after = 0;
  pool.run(1, [&](int64_t) { ++after; });
  EXPECT_EQ(after, 1) << "the pool keeps working after a task threw";
}

// %% [markdown]
// The library's pool and the thread count (written for you): `thread_pool()` creates the pool on
// first use with `default_num_threads()` threads, and `set_num_threads` swaps in a new one. The
// pool is held by `shared_ptr`, so a GEMM that is running on the old pool keeps it alive until it
// finishes.

// %%
//| export impl
namespace tinytorch {
namespace {
std::mutex pool_mutex;
std::shared_ptr<accel::ThreadPool> library_pool;
}  // namespace

int default_num_threads() {
  if (const char* value = std::getenv("TINYTORCH_NUM_THREADS")) {
    if (std::optional<int> threads = accel::parse_num_threads(value)) return *threads;
    static std::once_flag warned;
    std::call_once(warned, [&] {
      std::fprintf(stderr, "tinytorch: TINYTORCH_NUM_THREADS=\"%s\" is not a thread count (1-1024); ignored\n", value);
    });
  }
  return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

void set_num_threads(int threads) {
  if (threads < 1) throw std::invalid_argument("set_num_threads(): needs at least 1 thread, got " + std::to_string(threads));
  std::shared_ptr<accel::ThreadPool> old;
  std::lock_guard<std::mutex> lock(pool_mutex);
  if (library_pool && library_pool->size() == threads) return;
  old = std::exchange(library_pool, std::make_shared<accel::ThreadPool>(threads));
}

int get_num_threads() { return accel::thread_pool()->size(); }

namespace accel {

std::shared_ptr<ThreadPool> thread_pool() {
  std::lock_guard<std::mutex> lock(pool_mutex);
  if (!library_pool) library_pool = std::make_shared<ThreadPool>(default_num_threads());
  return library_pool;
}

}  // namespace accel
}  // namespace tinytorch

// %% [markdown]
// ## Part 7: Choosing the kernel at run time
//
// The library may be compiled on one machine and run on another (a container image, a wheel, a
// cluster of mixed nodes), so the choice of kernel is made when the program *runs*, from what the
// CPU says it has. The rule is simple and strict: the fastest path the CPU can run, and never a
// path it cannot. An AVX-512 instruction on a CPU without AVX-512 is not slow, it is `SIGILL`:
// the program dies.
//
// Three details matter:
//
// - **AVX2 without FMA exists** (a few VIA and virtualized CPUs report one without the other), and
//   the AVX2 kernel uses both: it needs both flags.
// - **The operating system must save the registers.** A CPU may have AVX-512 while the OS (an old
//   kernel, a hypervisor) does not save the 512-bit registers on a context switch.
//   `__builtin_cpu_supports` checks that too (through `xgetbv`), which is why the course uses it
//   rather than reading `cpuid` by hand.
// - **`-march=native` makes every path native.** The course compiles the library for the CPU it
//   runs on (`TINYTORCH_NATIVE`, on by default), so the compiler may use AVX-512 anywhere, the
//   portable kernel included: that binary runs only on CPUs like this one, whatever the dispatch
//   says. With `-DTINYTORCH_NATIVE=OFF` the library is baseline x86-64, the portable kernel is
//   plain SSE2 code, and the SIMD kernels still exist (thanks to their `target` attributes) and are
//   chosen here at run time: that is the binary you ship.
// - **The choice is testable.** `best_path` is a pure function of the features, so the tests check
//   it for a CPU with only AVX2, one with AVX2 but no FMA, and one with nothing, on a machine that
//   has everything. And `set_kernel_path` forces a path, so the tests run every kernel this CPU
//   has, the portable one included, against module 01's matmul.
//
// `kernel_path()` (written for you) is the path GEMMs use: the one `set_kernel_path` forced, or
// the environment's `TINYTORCH_KERNEL` (`portable`, `avx2`, `avx512`) when this CPU supports it, or
// `best_path(cpu_features())`. `ScopedKernelPath` forces a path for a scope.
//
// ### ⭐ `best_path`
//
// **TODO**: Return the fastest path `features` can run: `Avx512` when `path_supported(Path::Avx512,
// features)`, else `Avx2` when `path_supported(Path::Avx2, features)`, else `Portable`.
//
// **APPROACH**: two `if`s and a return, in that order: fastest first.
//
// **EXAMPLE**:
// ```cpp
// best_path({.avx2 = true, .fma = true, .avx512f = true})    // Path::Avx512 (on x86)
// best_path({.avx2 = true, .fma = true})                     // Path::Avx2: Haswell, Zen 1-3
// best_path({.avx2 = true, .fma = false})                    // Path::Portable: the AVX2 kernel needs FMA
// best_path({})                                              // Path::Portable
// ```
//
// **HINTS**:
// - Use `path_supported` rather than the flags: it knows which flags each path needs, and that a
//   build that is not for x86 has no SIMD kernels at all.
//
// **SYSTEMS THINKING**: is the widest vector always the fastest? Not quite: on some Intel chips
// 512-bit instructions lower the clock of the whole core for a while, and a program that runs a
// little AVX-512 among scalar code can get slower. For a GEMM, which is nothing but FMAs, the wider
// kernel wins everywhere; libraries like oneDNN still pick per CPU model. Demo 2 measures both
// SIMD paths on this machine.

// %%
//| export
namespace tinytorch::accel {

// The fastest path `features` can run: Avx512, else Avx2, else Portable.
Path best_path(const CpuFeatures& features) noexcept;

// The path GEMMs use: set_kernel_path's, else TINYTORCH_KERNEL's (when supported), else
// best_path(cpu_features()).
Path kernel_path();
// Forces `path` for every thread. std::invalid_argument when this CPU cannot run it.
void set_kernel_path(Path path);
// Back to the automatic choice.
void reset_kernel_path() noexcept;

// Forces a path for its lifetime, then restores the previous choice.
class ScopedKernelPath {
 public:
  explicit ScopedKernelPath(Path path);
  ~ScopedKernelPath();
  ScopedKernelPath(const ScopedKernelPath&) = delete;
  ScopedKernelPath& operator=(const ScopedKernelPath&) = delete;

 private:
  int saved_;
};

}  // namespace tinytorch::accel

// %%
//| export impl
namespace tinytorch::accel {

Path best_path(const CpuFeatures& features) noexcept {
  // BEGIN SOLUTION
  if (path_supported(Path::Avx512, features)) return Path::Avx512;
  if (path_supported(Path::Avx2, features)) return Path::Avx2;
  return Path::Portable;
  // END SOLUTION
}

namespace {

constexpr int kAutomatic = -1;
std::atomic<int> forced_path{kAutomatic};

// TINYTORCH_KERNEL's path, when it names one this CPU supports.
std::optional<Path> path_from_environment() {
  const char* value = std::getenv("TINYTORCH_KERNEL");
  if (!value) return std::nullopt;
  for (Path path : {Path::Portable, Path::Avx2, Path::Avx512}) {
    if (std::string_view(value) == path_name(path) && path_supported(path)) return path;
  }
  static std::once_flag warned;
  std::call_once(warned, [&] {
    std::fprintf(stderr, "tinytorch: TINYTORCH_KERNEL=\"%s\" is not a path this CPU runs (portable, avx2, avx512); ignored\n",
                 value);
  });
  return std::nullopt;
}

}  // namespace

Path kernel_path() {
  const int forced = forced_path.load(std::memory_order_relaxed);
  if (forced != kAutomatic) return static_cast<Path>(forced);
  static const std::optional<Path> from_environment = path_from_environment();
  return from_environment ? *from_environment : best_path(cpu_features());
}

void set_kernel_path(Path path) {
  if (!path_supported(path)) {
    throw std::invalid_argument(std::string("set_kernel_path(): this CPU cannot run the ") + path_name(path) + " path");
  }
  forced_path.store(static_cast<int>(path));
}

void reset_kernel_path() noexcept { forced_path.store(kAutomatic); }

ScopedKernelPath::ScopedKernelPath(Path path) : saved_(forced_path.load()) { set_kernel_path(path); }
ScopedKernelPath::~ScopedKernelPath() { forced_path.store(saved_); }

}  // namespace tinytorch::accel

// %%
//| test
TEST(UnitDispatch, TheFastestPathTheCpuCanRun) {
  EXPECT_EQ(accel::best_path({}), accel::Path::Portable);
  EXPECT_EQ(accel::best_path({.avx2 = true, .fma = false, .avx512f = false}), accel::Path::Portable)
      << "the AVX2 kernel uses FMA: AVX2 alone is not enough";
#if defined(__x86_64__)
  EXPECT_EQ(accel::best_path({.avx2 = true, .fma = true, .avx512f = false}), accel::Path::Avx2)
      << "a CPU with AVX2 and FMA but no AVX-512 (Haswell, Zen 1-3) must get the AVX2 kernel";
  EXPECT_EQ(accel::best_path({.avx2 = true, .fma = true, .avx512f = true}), accel::Path::Avx512);
#endif
}

// %% [markdown]
// ## Part 8: Splitting the work, and the driver
//
// With a pool and a single-threaded `gemm_rect`, parallelism is a question of **partitioning**:
// cut C into rectangles, one task each, and let each task run the whole loop nest on its
// rectangle, with its own packed blocks. The rectangles never overlap, so the tasks never
// synchronize: no locks, no barriers, no false sharing (a tile of C belongs to one thread).
//
// The price is packing: each rectangle packs its own rows of A and its own columns of B, so a
// rectangle of `r` rows and `c` columns packs `(r + c)·k` floats. Cutting C into `R × S`
// rectangles packs `(R·n + S·m)·k` floats in all: for a wide C (`n` ≫ `m`, the CNN's convolutions:
// `m` = 32, `n` = 12,544) cut the columns; for a tall one cut the rows; for a square one either.
// Boundaries fall on multiples of MR and NR, so that only the matrix's own edges make edge tiles.
//
// ### ⭐⭐ `partition`
//
// **TODO**: Cut the `m × n` C into a grid of `R × S` rectangles with `R·S <= parts`: rows cut at
// multiples of `mr`, columns at multiples of `nr`, the tiles shared as evenly as possible. Choose
// the grid that uses the most rectangles (never more rectangles than tiles), and among those the
// one that packs least, `R·n + S·m`. Return the rectangles row by row; an empty C gives none.
//
// **APPROACH**:
// 1. `row_tiles = ceil(m / mr)`, `col_tiles = ceil(n / nr)`. Return `{}` when either is 0.
// 2. For `R` from 1 to `parts`: `R' = min(R, row_tiles)`, `S = min(parts / R, col_tiles)`; keep the
//    `(R', S)` with the largest `R'·S`, ties broken by the smallest `R'·n + S·m`.
// 3. Row group `g` of `R` takes tiles `[g·row_tiles / R, (g + 1)·row_tiles / R)`: rows from
//    `first·mr` to `min(last·mr, m)`. The same for the columns.
// 4. One `Rect{row0, rows, col0, cols}` for each pair of groups.
//
// **EXAMPLE**:
// ```cpp
// partition(32, 12544, 8, 32, 2)    // {0, 32, 0, 6272}, {0, 32, 6272, 6272}: a wide C is cut in columns
// partition(1000, 10, 8, 32, 4)     // 4 rects of 248, 248, 248 and 256 rows (31, 31, 31, 32 tiles), 10 columns
// partition(5, 5, 8, 32, 4)         // one rect: a single tile cannot be shared
// ```
//
// **HINTS**:
// - Integer division spreads tiles evenly: with 125 row tiles and 4 groups, `g·125 / 4` gives
//   boundaries 0, 31, 62, 93, 125.
// - Clip the last group to `m` and `n`: `min(last·mr, m)`.
//
// **SYSTEMS THINKING**: with dynamic scheduling one could cut C into many more rectangles than
// threads (say 4 per thread) so that a preempted thread's share is taken over by the others. That
// costs more packing, the trade-off every production library tunes. Try it: the tests accept any
// partition that covers C exactly once, and demo 6 measures the result.

// %%
//| export
namespace tinytorch::accel {

// At most `parts` rectangles that cover the m x n C exactly once, on a grid cut at multiples of
// mr (rows) and nr (columns): the most rectangles, then the least packing. Row by row.
std::vector<Rect> partition(int64_t m, int64_t n, int64_t mr, int64_t nr, int parts);

}  // namespace tinytorch::accel

// %%
//| export impl
namespace tinytorch::accel {

std::vector<Rect> partition(int64_t m, int64_t n, int64_t mr, int64_t nr, int parts) {
  // BEGIN SOLUTION
  const int64_t row_tiles = (m + mr - 1) / mr, col_tiles = (n + nr - 1) / nr;
  if (m <= 0 || n <= 0) return {};
  int64_t best_r = 1, best_s = 1, best_used = 0, best_cost = 0;
  for (int64_t r = 1; r <= std::max(parts, 1); ++r) {
    const int64_t rows = std::min(r, row_tiles);
    const int64_t cols = std::min<int64_t>(std::max(parts, 1) / r, col_tiles);
    const int64_t used = rows * cols, cost = rows * n + cols * m;
    if (used > best_used || (used == best_used && cost < best_cost)) {
      best_r = rows, best_s = cols, best_used = used, best_cost = cost;
    }
  }
  std::vector<Rect> rects;
  for (int64_t g = 0; g < best_r; ++g) {
    const int64_t row0 = g * row_tiles / best_r * mr;
    const int64_t row1 = std::min((g + 1) * row_tiles / best_r * mr, m);
    for (int64_t h = 0; h < best_s; ++h) {
      const int64_t col0 = h * col_tiles / best_s * nr;
      const int64_t col1 = std::min((h + 1) * col_tiles / best_s * nr, n);
      rects.push_back(Rect{row0, row1 - row0, col0, col1 - col0});
    }
  }
  return rects;
  // END SOLUTION
}

}  // namespace tinytorch::accel

// %%
//| test
TEST(UnitPartition, AWideMatrixIsCutInColumns) {
  const std::vector<accel::Rect> rects = accel::partition(32, 12544, 8, 32, 2);
  ASSERT_EQ(rects.size(), 2u);
  EXPECT_EQ(rects[0].rows, 32);
  EXPECT_EQ(rects[0].cols + rects[1].cols, 12544);
  EXPECT_EQ(rects[1].col0 % 32, 0) << "cuts fall on multiples of nr";
  EXPECT_EQ(accel::partition(5, 5, 8, 32, 4).size(), 1u) << "a single tile cannot be shared";
}

// %% [markdown]
// ### ⭐⭐ `gemm`
//
// **TODO**: The driver: `C = A·B` then the epilogue, on the kernel of `kernel_path()`, split by
// `partition` over the library's pool, one task per rectangle. A product smaller than
// `kParallelWork` multiply-adds runs as one rectangle (waking the pool would cost more than it
// saves). Inner sizes that differ are a `ShapeError` naming both shapes.
//
// **APPROACH**:
// 1. If `a.cols != b.rows`, throw `ShapeError("gemm(): cannot multiply [" ... "]")` with both
//    shapes. `m = a.rows`, `n = b.cols`, `k = a.cols`; return when `m` or `n` is 0.
// 2. `kernel = kernel_for(kernel_path())`, `blocking = blocking_for(kernel)`, `pool = thread_pool()`.
// 3. `parts = m·n·k < kParallelWork ? 1 : pool->size()`; `rects = partition(m, n, kernel.mr,
//    kernel.nr, parts)`.
// 4. `pool->run(rects.size(), [&](int64_t t) { gemm_rect(kernel, blocking, a, b, c, ldc, rects[t],
//    epilogue); })`.
//
// **EXAMPLE**:
// ```cpp
// Tensor a = randn({300, 200}, 1), b = randn({200, 500}, 2), c = zeros({300, 500});
// gemm(matrix_view(a), matrix_view(b), c.data(), 500)            // c = a @ b, on every thread
// gemm(matrix_view(a), matrix_view(b.t().contiguous().t()), ...)   // the same, B read column-major
// ```
//
// **HINTS**:
// - Hold the pool in a local `shared_ptr` for the whole call: if another thread calls
//   `set_num_threads` meanwhile, this GEMM finishes on the pool it started on.
// - The lambda captures by reference: safe, because `run` returns only when every task is done.
//
// **SYSTEMS THINKING**: `m·n·k` of the CNN's shapes: the second convolution's forward is 32 ×
// 12,544 × 400 = 160 million multiply-adds, its backward twice that; Linear(1568, 10) on 64 images
// is 1 million; a 16-feature toy layer is a few hundred. A pool that woke up for all of them
// would be slower than one thread on the small ones: waking a sleeping thread costs tens of
// microseconds, about what one core needs for 2 million multiply-adds. The threshold is 2²²
// (4 million): with 2²⁰, n = 128 (2 million) ran at 59 GFLOP/s on 2 threads against 82 on one
// (`bench/sgemm_bench --threads 2`).

// %%
//| export
namespace tinytorch::accel {

// Below this many multiply-adds (m*n*k) a GEMM runs on the calling thread alone.
inline constexpr int64_t kParallelWork = int64_t{1} << 22;

// C [m, n] (element (i, j) at c[i*ldc + j]) = A [m, k] · B [k, n], then the epilogue, on
// kernel_path()'s kernel and get_num_threads() threads. A and B may have any strides (views).
// ShapeError when the inner sizes differ.
void gemm(const MatrixView& a, const MatrixView& b, float* c, int64_t ldc, const Epilogue& epilogue = {});

}  // namespace tinytorch::accel

// %%
//| export impl
namespace tinytorch::accel {

void gemm(const MatrixView& a, const MatrixView& b, float* c, int64_t ldc, const Epilogue& epilogue) {
  // BEGIN SOLUTION
  if (a.cols != b.rows) {
    throw ShapeError("gemm(): cannot multiply [" + std::to_string(a.rows) + ", " + std::to_string(a.cols) + "] and [" +
                     std::to_string(b.rows) + ", " + std::to_string(b.cols) + "]: inner sizes differ");
  }
  const int64_t m = a.rows, n = b.cols, k = a.cols;
  if (m == 0 || n == 0) return;
  const Kernel& kernel = kernel_for(kernel_path());
  const Blocking blocking = blocking_for(kernel);
  const std::shared_ptr<ThreadPool> pool = thread_pool();
  const int parts = m * n * k < kParallelWork ? 1 : pool->size();
  const std::vector<Rect> rects = partition(m, n, kernel.mr, kernel.nr, parts);
  pool->run(static_cast<int64_t>(rects.size()), [&](int64_t t) {
    gemm_rect(kernel, blocking, a, b, c, ldc, rects[static_cast<std::size_t>(t)], epilogue);
  });
  // END SOLUTION
}

}  // namespace tinytorch::accel

// %%
//| test
TEST(UnitGemm, AllThreadsAndATransposedOperand) {
  const Tensor a = randn({300, 200}, 1), b = randn({200, 500}, 2);
  const Tensor expected = native::matmul_2d(a, b);
  Tensor c = zeros({300, 500});
  accel::gemm(accel::matrix_view(a), accel::matrix_view(b.t().contiguous().t()), c.data(), 500);
  EXPECT_TRUE(allclose(c, expected, 1e-4f, 1e-4f)) << "B read column-major must give A·B";
  EXPECT_THROW(accel::gemm(accel::matrix_view(a), accel::matrix_view(a), c.data(), 500), ShapeError);
}

// %% [markdown]
// ## Part 9: Speed arrives without rewrites
//
// Module 01's `Tensor::matmul` (written for you there) asks `native::matmul_kernel()` before it
// calls your `matmul_2d`:
//
// ```cpp
// const native::MatmulKernel fast = native::matmul_kernel();  // module 11's, once it exists
// return (fast ? fast(left, right) : native::matmul_2d(left, right)).view(result_shape);
// ```
//
// and hands the kernel the two operands as they are: `weight.t()` from `Linear`, `b2.t()` and
// `a2.t()` from module 05's matmul backward, the reshaped weight and `cols` from module 09's
// conv2d. The recording for autograd happens around that call, in `autograd::record`, so the
// kernel computes numbers only and backward works unchanged.
//
// This module installs its kernel the way module 05 installs its recorder: a variable at
// namespace scope whose initializer calls `set_matmul_kernel`, run when the program starts,
// before `main`:
//
// ```cpp
// bool tinytorch_acceleration_installed = (native::set_matmul_kernel(&fast_matmul_kernel), true);
// ```
//
// One trap remains, and it is the linker's. The library is a set of **static libraries**, one
// per module, and a linker copies an object file out of a static library only when the program
// refers to something defined in it. A program that uses only `nn::Linear` refers to nothing in
// this module's object file, so the linker would leave it out, initializer and all, and the
// program would silently run on module 01's loop. (Module 05's recorder does not have this
// problem: every program that trains calls `backward()`, which lives in the same object.) The
// course's build fixes it in `package/CMakeLists.txt`: every program linked with this module is
// linked with `-Wl,--undefined=tinytorch_acceleration_installed`, which tells the linker that the
// program needs that symbol, so it keeps the object that defines it. (The other classic fix,
// `--whole-archive`, keeps *every* object of the library; CMake 3.24 spells it
// `$<LINK_LIBRARY:WHOLE_ARCHIVE,lib>`.) A test program of this module that uses only `Linear` and
// `Conv2d` checks that the kernel is there.
//
// ### ⭐ `accel::matmul`
//
// **TODO**: `a [m, k] @ b [k, n]` for 2-D tensors with any strides, on `gemm`, with the epilogue:
// a new contiguous `[m, n]` tensor. No copies of `a` or `b`, no autograd (`Tensor::matmul`
// records the op around this call).
//
// **APPROACH**:
// 1. `va = matrix_view(a)`, `vb = matrix_view(b)` (they check that both are 2-D).
// 2. `out = empty({va.rows, vb.cols})` (module 01): `gemm` writes every element.
// 3. `gemm(va, vb, out.data(), vb.cols, epilogue)`; return `out`.
//
// **EXAMPLE**:
// ```cpp
// Tensor x = randn({64, 1568}, 1), w = randn({10, 1568}, 2), b = randn({10}, 3);
// accel::matmul(x, w.t())                                    // x @ wᵀ, w read in place
// accel::matmul(x, w.t(), {nullptr, b.contiguous().data(), true})   // relu(x @ wᵀ + b), one pass
// ```
//
// **HINTS**:
// - `gemm` checks the inner sizes; the output's row stride is `vb.cols`, the tensor you just made.
//
// **SYSTEMS THINKING**: `zeros` would write the output once before the GEMM overwrites it: 4
// bytes per element against `2k` FLOPs per element. For `k` = 10 (Linear(10, ...)'s backward)
// that is a visible share, for `k` = 400 it is noise. `empty` skips it; the price is that a GEMM
// that misses an element leaves an old tensor's number there, which is why the tests start C
// full of -7s and compare every element.

// %%
//| export
namespace tinytorch::accel {

// a [m, k] @ b [k, n] (2-D, any strides) on gemm(), then the epilogue: a new contiguous [m, n].
// No autograd. ShapeError for operands that are not 2-D or do not fit.
Tensor matmul(const Tensor& a, const Tensor& b, const Epilogue& epilogue = {});

// Switches the kernel behind Tensor::matmul: this module's GEMM (true, the default once the
// program starts) or module 01's matmul_2d (false). For measuring the difference.
void set_fast_matmul(bool enabled) noexcept;
// True while this module's GEMM is behind Tensor::matmul.
bool fast_matmul_enabled() noexcept;

// The start-up check of this module's GEMM (written for you): `kernel` multiplies a 37 x 53 matrix
// by the transposed view of a 29 x 53 one, and must match module 01's matmul_2d. Returns "" when it
// does, else what went wrong (the exception's message, such as a not-implemented one, or "wrong
// numbers"), for the error a program shows.
std::string check_matmul_kernel(const std::function<Tensor(const Tensor&, const Tensor&)>& kernel);
// Why Tensor::matmul runs on module 01's matmul_2d although this module is linked: the check's
// answer, once the first product has run it; "" while the GEMM is in use (or not yet checked).
std::string fast_matmul_problem();

// Module 01's slot for threads, filled by this module (written for you): the pieces of a
// native::parallel_for go to the library's pool, as many as it has threads (fewer when count /
// grain is smaller). If the pool fails its first job (an unfinished ThreadPool::run), every
// parallel_for runs on the calling thread instead.
void run_on_pool(int64_t count, int64_t grain, void (*body)(void* context, int64_t begin, int64_t end), void* context);

// Switches the kernel for its lifetime, then restores the previous one.
class FastMatmulGuard {
 public:
  explicit FastMatmulGuard(bool enabled) noexcept;
  ~FastMatmulGuard();
  FastMatmulGuard(const FastMatmulGuard&) = delete;
  FastMatmulGuard& operator=(const FastMatmulGuard&) = delete;

 private:
  native::MatmulKernel saved_;
};

}  // namespace tinytorch::accel

// %%
//| export impl
namespace tinytorch::accel {

Tensor matmul(const Tensor& a, const Tensor& b, const Epilogue& epilogue) {
  // BEGIN SOLUTION
  const MatrixView va = matrix_view(a), vb = matrix_view(b);
  Tensor out = empty({va.rows, vb.cols});  // gemm writes every element (zeros when k = 0)
  gemm(va, vb, out.data(), vb.cols, epilogue);
  return out;
  // END SOLUTION
}

}  // namespace tinytorch::accel

// %% [markdown]
// The installation (written for you): the kernel behind `Tensor::matmul` is `accel::matmul`
// without an epilogue, installed before `main` by the initializer of
// `tinytorch_acceleration_installed` (a C name, so that the build can name it to the linker).
//
// A kernel that every later program trusts must be right, and it may not be finished: a milestone
// that links this module while your `gemm` still throws "not implemented yet" should train on
// module 01's loop, not die in its first step. So the first product checks the GEMM once, against
// `matmul_2d` on a product with tails and a transposed operand (`check_matmul_kernel`), and when
// it fails, every product goes to `matmul_2d` and `fast_matmul_problem()` says why. The check runs
// on first use, not before `main`: a program that never multiplies starts no thread pool.
//
// The same initializer fills module 01's slot for threads (`native::set_parallel_runner`) with
// `run_on_pool`: from then on `map`, and the loops of later modules that go through
// `native::parallel_for` (im2col and col2im, pooling, relu's backward), share this pool with the
// GEMM. It is checked the same way: a pool whose `run` is not finished leaves them on one thread.

// %%
//| export impl
namespace tinytorch::accel {

std::string check_matmul_kernel(const std::function<Tensor(const Tensor&, const Tensor&)>& kernel) {
  try {
    const Tensor a = randn({37, 53}, 11), b = randn({29, 53}, 12);
    const Tensor expected = native::matmul_2d(a, b.t());
    const Tensor got = kernel(a, b.t());
    if (got.shape() != expected.shape() || !allclose(got, expected, 1e-4f, 1e-4f)) {
      return "wrong numbers on [37, 53] @ [53, 29] (a transposed view): compare accel::gemm with matmul_2d "
             "(tito test acceleration)";
    }
    return "";
  } catch (const std::exception& e) {
    return e.what();
  }
}

namespace {

std::mutex problem_mutex;
std::string problem;  // guarded by problem_mutex

Tensor fast_matmul_kernel(const Tensor& a, const Tensor& b) {
  static const bool works = [] {
    const std::string why = check_matmul_kernel([](const Tensor& x, const Tensor& y) { return accel::matmul(x, y); });
    if (!why.empty()) {
      const std::lock_guard<std::mutex> lock(problem_mutex);
      problem = "module 11's GEMM failed its check, so Tensor::matmul runs on module 01's matmul_2d: " + why;
    }
    return why.empty();
  }();
  return works ? accel::matmul(a, b) : native::matmul_2d(a, b);
}

}  // namespace

std::string fast_matmul_problem() {
  const std::lock_guard<std::mutex> lock(problem_mutex);
  return problem;
}

void set_fast_matmul(bool enabled) noexcept { native::set_matmul_kernel(enabled ? &fast_matmul_kernel : nullptr); }
bool fast_matmul_enabled() noexcept { return native::matmul_kernel() == &fast_matmul_kernel; }

void run_on_pool(int64_t count, int64_t grain, void (*body)(void* context, int64_t begin, int64_t end), void* context) {
  static const bool pool_works = [] {
    try {
      std::atomic<int64_t> sum{0};
      thread_pool()->run(4, [&](int64_t task) { sum += task + 1; });
      return sum == 10;
    } catch (const std::exception&) {
      return false;
    }
  }();
  const std::shared_ptr<ThreadPool> pool = pool_works ? thread_pool() : nullptr;
  const int64_t pieces = pool ? std::min<int64_t>(pool->size(), count / std::max<int64_t>(grain, 1)) : 1;
  if (pieces <= 1) {
    body(context, 0, count);
    return;
  }
  const int64_t chunk = (count + pieces - 1) / pieces;
  pool->run(pieces, [&](int64_t piece) { body(context, piece * chunk, std::min(count, (piece + 1) * chunk)); });
}

FastMatmulGuard::FastMatmulGuard(bool enabled) noexcept : saved_(native::matmul_kernel()) { set_fast_matmul(enabled); }
FastMatmulGuard::~FastMatmulGuard() { native::set_matmul_kernel(saved_); }

}  // namespace tinytorch::accel

// Installs the kernel and the runner of parallel_for when the program starts. package/CMakeLists.txt links every
// program that uses this module with -Wl,--undefined=tinytorch_acceleration_installed, so that the linker keeps this
// object file even in a program that refers to nothing else in it.
extern "C" {
extern bool tinytorch_acceleration_installed;
bool tinytorch_acceleration_installed = (tinytorch::accel::set_fast_matmul(true),
                                         tinytorch::native::set_parallel_runner(&tinytorch::accel::run_on_pool), true);
}

// %%
//| test
TEST(UnitHook, TheStartUpCheckRefusesAWrongOrUnfinishedKernel) {
  EXPECT_EQ(accel::check_matmul_kernel([](const Tensor& a, const Tensor& b) { return accel::matmul(a, b); }), "");
  EXPECT_NE(accel::check_matmul_kernel([](const Tensor& a, const Tensor& b) {
              return zeros({a.size(0), b.size(1)});
            }).find("wrong numbers"),
            std::string::npos);
  EXPECT_NE(accel::check_matmul_kernel([](const Tensor&, const Tensor&) -> Tensor {
              throw NotImplemented();
            }).find(NotImplemented::kPrefix),
            std::string::npos)
      << "an unfinished kernel is refused with its not-implemented message";
}

TEST(UnitHook, LinearRunsOnTheFastKernelWithTheSameNumbers) {
  EXPECT_TRUE(accel::fast_matmul_enabled()) << "the kernel is installed before main";
  nn::Linear fc(300, 70, true, 1);
  const Tensor x = randn({50, 300}, 2);
  const Tensor fast = fc(x);
  Tensor slow;
  {
    accel::FastMatmulGuard off(false);
    slow = fc(x);
  }
  EXPECT_TRUE(allclose(fast, slow, 1e-4f, 1e-5f));
  EXPECT_TRUE(allclose(accel::matmul(x, fc.weight.t()), native::matmul_2d(x, fc.weight.t()), 1e-4f, 1e-5f));
  EXPECT_EQ(accel::fast_matmul_problem(), "") << "the GEMM passed its start-up check";
}

// %% [markdown]
// ## Part 10: A convolution without the big matrix
//
// With the GEMM installed, module 09's convolution is im2col and one product, and the product is
// fast. What is left is `cols` itself. For the second layer of the CNN milestone's network it is
// `[400, 12544]`, 20 MB: larger than the caches, so im2col writes it to memory, the product reads
// it back from memory, and it stays alive until the backward pass, which reads it a third time
// for the weight's gradient (and makes a second matrix of its size, the columns' gradient, for
// col2im). Module 10's profile showed the result: the same products run 15–20% slower inside a
// training step than alone, and im2col and col2im cost a few milliseconds of their own.
//
// The cure is to never make the whole matrix. Image `n`'s output is a product of its own:
//
//     out[n]  = weight [O, C·K·K] · cols_n [C·K·K, OH·OW]        cols_n = im2col(image n)
//
// and `out[n]`, `[O, OH·OW]` with rows `OH·OW` floats apart, is exactly where image `n` lives in
// the `[N, O, OH, OW]` output: the product writes it in place, with the bias as its epilogue
// (`row_bias`: row `o` is output channel `o`), and no permute is needed. `cols_n` is the columns
// of one image: 400 × 196 floats, 300 KB, written and read in the L2 cache.
//
// The backward goes image by image too, from the output's gradient `g` (`g[n]` is `[O, OH·OW]`):
//
//     weight's gradient  = Σ_n g[n] · cols_nᵀ            cols_n computed again: cheaper than keeping it
//     input's gradient n = col2im(weightᵀ · g[n])         the columns' gradient of one image
//     bias's gradient    = Σ_n the row sums of g[n]
//
// Recomputing `cols_n` in the backward pass is the classic trade of memory for arithmetic
// (activation checkpointing does it for whole layers): it costs one more im2col of each image, in
// the cache, and saves keeping 20 MB alive across the step.
//
// Images are independent, so they are also the natural unit of threads: each of the pool's
// threads takes a range of images and runs their products with `gemm_rect` on its own thread (a
// GEMM per image split again over threads would wake the pool for every image). Each thread sums
// its images' weight gradients into a partial sum of its own, and the partial sums are added at
// the end, in a fixed order, so the result does not depend on which thread finished first. With
// a single image (or a single thread) the products run on `gemm` and its threads instead.
//
// This convolution is written for module 09's slot, `native::set_conv2d_kernel` (part 9 installs
// the GEMM the same way). It records itself for autograd as one op, `"conv2d"`, with the backward
// above (written for you). As with the GEMM, the first convolution checks yours against module
// 09's im2col and module 01's product, and if they disagree (or yours is not written yet) the
// kernel declines every call (it returns an undefined tensor, which module 09's `conv2d` takes
// as "compute the composition"), so `Conv2d` runs on module 09's composition and
// `accel::fast_conv2d_problem()` says why.
//
// It also declines layers whose images are small. With an 8 × 8 output an image's product has
// only 64 columns: the GEMM packs the whole weight again for every 64 columns, and its edge tiles
// weigh more. There one product for the whole batch (module 09's composition, on the GEMM) was
// faster, 1.1× on the CIFAR network's third layer, so the kernel takes layers with at least
// `kMinPositionsByImage` = 128 output positions per image and leaves the others to module 09.
// (Grouping a few images per product would serve both; it needs a copy of each group's output
// into place, and is left as an exercise.)
//
// ### ⭐⭐ `conv2d_forward`
//
// **TODO**: The convolution, image by image: `out[n] = weight · im2col(image n)`, written into
// `out[n]` with the bias as the epilogue.
//
// **APPROACH**:
// 1. `x = input.contiguous().detach()`, `w = weight.contiguous().detach()`, and the bias
//    likewise when it is defined (detached: the pieces run on other threads, where nothing may
//    be recorded). `N, C, H, W`, `O = w.size(0)`, `K = w.size(2)`; `OH`, `OW` from
//    `conv_output_size`; `positions = OH·OW`, `depth = C·K·K`.
// 2. `out = empty({N, O, OH, OW})`; `epilogue = {bias's data or nullptr, nullptr, false}`;
//    `weights = MatrixView{w.data(), O, depth, depth, 1}`.
// 3. `for_each_image_range(N, image_pieces(N), [&](int64_t piece, int64_t begin, int64_t end,
//    bool on_this_thread) { ... })` (given): for each `n` in `[begin, end)`, `cols = native::im2col(image_of(x, n), K,
//    stride, padding)`, then `image_product(weights, matrix_view(cols), out.data() + n·O·positions,
//    positions, epilogue, on_this_thread)` (given: `gemm_rect` on this thread, or `gemm`).
// 4. Return `out`.
//
// **EXAMPLE**:
// ```cpp
// Tensor x = randn({5, 3, 9, 7}, 1), w = randn({4, 3, 3, 3}, 2), b = randn({4}, 3);
// accel::conv2d_forward(x, w, b, 2, 1).shape()   // [5, 4, 5, 4], the numbers of module 09's conv2d
// ```
//
// **HINTS**:
// - `image_of(x, n)` (given) is image `n` as a `[1, C, H, W]` view of `x`, made without an op:
//   `x.select(0, n)` would be a recorded op, and recording is not for other threads.
// - The output's row stride (`ldc`) is `positions`: row `o` of image `n`'s product is channel
//   `o` of image `n`.
//
// **SYSTEMS THINKING**: one image's product is small (the milestone's second layer: 32 × 196 ×
// 400, 2.5 million multiply-adds) and the GEMM re-packs the weight for every image. That costs
// `O · C·K·K` floats per image against `O · C·K·K · OH·OW` multiply-adds: 1 in 196 here, but 1 in
// 16 for a 4 × 4 output, where grouping several images per product would pay. Demo 7 measures
// the layer both ways, and demo 8 the CNN milestone's step.

// %%
//| export
namespace tinytorch::accel {

// Module 09's convolution (input [N, C, H, W], weight [O, C, K, K], bias [O] or undefined ->
// [N, O, OH, OW]; arguments already checked), image by image: the columns of one image at a time,
// each image's product written in place with the bias as its epilogue. No autograd.
Tensor conv2d_forward(const Tensor& input, const Tensor& weight, const Tensor& bias, int64_t stride, int64_t padding);

// The gradients of conv2d_forward for the output's gradient `grad` [N, O, OH, OW]: of the input,
// the weight and the bias, each computed only when asked for (else undefined). Image by image,
// the columns of each image computed again (written for you).
struct Conv2dGrads {
  Tensor input;
  Tensor weight;
  Tensor bias;
};
Conv2dGrads conv2d_backward(const Tensor& grad, const Tensor& input, const Tensor& weight, int64_t stride,
                            int64_t padding, bool need_input, bool need_weight, bool need_bias);

// conv2d_forward recorded for autograd as the op "conv2d", with conv2d_backward as its backward
// (written for you): what this module installs in module 09's slot.
Tensor conv2d(const Tensor& input, const Tensor& weight, const Tensor& bias, int64_t stride, int64_t padding);

// The slot's kernel declines layers whose images have fewer output positions than this (module
// 09's composition, one product for the whole batch, is faster there: demo 7).
inline constexpr int64_t kMinPositionsByImage = 128;

// Switches the kernel in module 09's slot: this module's convolution (true, the default once the
// program starts) or module 09's im2col + matmul (false).
void set_fast_conv2d(bool enabled) noexcept;
// True while this module's convolution is in module 09's slot.
bool fast_conv2d_enabled() noexcept;
// The start-up check of this module's convolution (written for you): `forward` (conv2d_forward's
// signature) on a [3, 2, 7, 6] input, a [4, 2, 3, 3] weight and a bias, stride 2, padding 1, must
// match module 09's im2col followed by module 01's matmul_2d. Returns "" when it does, else what
// went wrong (the exception's message, such as a not-implemented one, or "wrong numbers").
std::string check_conv2d_kernel(
    const std::function<Tensor(const Tensor&, const Tensor&, const Tensor&, int64_t, int64_t)>& forward);
// Why conv2d runs on module 09's composition although this module is linked: the start-up check's
// answer, once the first convolution has run it; "" while this module's convolution is in use.
std::string fast_conv2d_problem();

// Switches the convolution for its lifetime, then restores the previous one.
class FastConv2dGuard {
 public:
  explicit FastConv2dGuard(bool enabled) noexcept;
  ~FastConv2dGuard();
  FastConv2dGuard(const FastConv2dGuard&) = delete;
  FastConv2dGuard& operator=(const FastConv2dGuard&) = delete;

 private:
  native::Conv2dKernel saved_;
};

}  // namespace tinytorch::accel

// %% [markdown]
// The given helpers: `image_of`, `image_product`, `row_sum`, `image_pieces` and `for_each_image_range`.

// %%
//| export impl
namespace tinytorch::accel {

namespace {

// Image n of a contiguous [N, C, H, W] tensor, as a [1, C, H, W] view made without an op.
Tensor image_of(const Tensor& x, int64_t n) {
  const int64_t channels = x.size(1), height = x.size(2), width = x.size(3);
  const int64_t image = channels * height * width;
  return Tensor(x.storage(), {1, channels, height, width}, {image, height * width, width, 1}, x.offset() + n * image);
}

// C = A · B then the epilogue: on this thread (gemm_rect over all of C) when the caller is one of
// several pieces on the pool, else on gemm and the pool's threads.
void image_product(const MatrixView& a, const MatrixView& b, float* c, int64_t ldc, const Epilogue& epilogue,
                   bool on_this_thread) {
  if (!on_this_thread) {
    gemm(a, b, c, ldc, epilogue);
    return;
  }
  const Kernel& kernel = kernel_for(kernel_path());
  gemm_rect(kernel, blocking_for(kernel), a, b, c, ldc, Rect{0, a.rows, 0, b.cols}, epilogue);
}

// The sum of `count` floats, in 8 running sums (one chain of additions would wait for each add).
float row_sum(const float* values, int64_t count) {
  float lanes[8] = {};
  int64_t i = 0;
  for (; i + 8 <= count; i += 8) {
    for (int j = 0; j < 8; ++j) lanes[j] += values[i + j];
  }
  float total = 0.0f;
  for (; i < count; ++i) total += values[i];
  for (float lane : lanes) total += lane;
  return total;
}

// How many pieces for_each_image_range cuts `images` into.
int64_t image_pieces(int64_t images) { return std::max<int64_t>(1, std::min<int64_t>(thread_pool()->size(), images)); }

// body(piece, begin, end, on_this_thread) for `pieces` consecutive ranges of images covering
// [0, images) (pieces from image_pieces(images): the caller sizes its partial sums by it), on the
// pool's threads. on_this_thread is true when there are several pieces (each then runs its
// products on its own thread).
template <typename Body>
void for_each_image_range(int64_t images, int64_t pieces, const Body& body) {
  if (pieces == 1) {
    body(int64_t{0}, int64_t{0}, images, false);
    return;
  }
  const int64_t chunk = (images + pieces - 1) / pieces;
  thread_pool()->run(pieces, [&](int64_t piece) {
    const int64_t begin = std::min(images, piece * chunk), end = std::min(images, begin + chunk);
    body(piece, begin, end, true);
  });
}

}  // namespace

}  // namespace tinytorch::accel

// %% [markdown]
// Your `conv2d_forward`, on those helpers.

// %%
//| export impl
namespace tinytorch::accel {

Tensor conv2d_forward(const Tensor& input, const Tensor& weight, const Tensor& bias, int64_t stride, int64_t padding) {
  // BEGIN SOLUTION
  const Tensor x = input.contiguous().detach();
  const Tensor w = weight.contiguous().detach();
  const Tensor b = bias.defined() ? bias.contiguous().detach() : Tensor();
  const int64_t batch = x.size(0), channels = x.size(1);
  const int64_t out_channels = w.size(0), kernel = w.size(2);
  const int64_t out_h = conv_output_size(x.size(2), kernel, stride, padding);
  const int64_t out_w = conv_output_size(x.size(3), kernel, stride, padding);
  const int64_t positions = out_h * out_w, depth = channels * kernel * kernel;
  Tensor out = empty({batch, out_channels, out_h, out_w});
  const Epilogue epilogue{b.defined() ? b.data() : nullptr, nullptr, false};
  const MatrixView weights{w.data(), out_channels, depth, depth, 1};
  float* result = out.data();
  for_each_image_range(batch, image_pieces(batch), [&](int64_t, int64_t begin, int64_t end, bool on_this_thread) {
    for (int64_t n = begin; n < end; ++n) {
      const Tensor cols = native::im2col(image_of(x, n), kernel, stride, padding);  // [depth, positions]
      image_product(weights, matrix_view(cols), result + n * out_channels * positions, positions, epilogue,
                    on_this_thread);
    }
  });
  return out;
  // END SOLUTION
}

}  // namespace tinytorch::accel

// %% [markdown]
// The backward (written for you), the op, the start-up check and the slot.

// %%
//| export impl
namespace tinytorch::accel {

Conv2dGrads conv2d_backward(const Tensor& grad, const Tensor& input, const Tensor& weight, int64_t stride,
                            int64_t padding, bool need_input, bool need_weight, bool need_bias) {
  const Tensor g = grad.contiguous().detach();
  const Tensor x = input.contiguous().detach();
  const Tensor w = weight.contiguous().detach();
  const int64_t batch = x.size(0), channels = x.size(1), height = x.size(2), width = x.size(3);
  const int64_t out_channels = w.size(0), kernel = w.size(2);
  const int64_t positions = g.size(2) * g.size(3), depth = channels * kernel * kernel;
  const int64_t weight_size = out_channels * depth, image = channels * height * width;
  Conv2dGrads grads;
  if (need_input) grads.input = empty(x.shape());
  const int64_t pieces = image_pieces(batch);
  // One partial sum per piece, added in piece order at the end: the same numbers on every run with the same thread count.
  std::vector<float> weight_sums(static_cast<std::size_t>(need_weight ? pieces * weight_size : 0), 0.0f);
  std::vector<double> bias_sums(static_cast<std::size_t>(need_bias ? pieces * out_channels : 0), 0.0);
  const MatrixView weights_t{w.data(), depth, out_channels, 1, depth};  // weightᵀ [depth, O], read in place
  for_each_image_range(batch, pieces, [&](int64_t piece, int64_t begin, int64_t end, bool on_this_thread) {
    std::vector<float> product(static_cast<std::size_t>(need_weight ? weight_size : 0));
    const Tensor dcols = need_input ? empty({depth, positions}) : Tensor();
    for (int64_t n = begin; n < end; ++n) {
      const float* g_n = g.data() + n * out_channels * positions;
      const MatrixView grad_n{g_n, out_channels, positions, positions, 1};
      if (need_weight) {
        const Tensor cols = native::im2col(image_of(x, n), kernel, stride, padding);
        const MatrixView cols_t{cols.data(), positions, depth, 1, positions};  // colsᵀ, read in place
        image_product(grad_n, cols_t, product.data(), depth, {}, on_this_thread);
        float* sum = weight_sums.data() + piece * weight_size;
        for (int64_t i = 0; i < weight_size; ++i) sum[i] += product[static_cast<std::size_t>(i)];
      }
      if (need_bias) {
        double* sum = bias_sums.data() + piece * out_channels;
        for (int64_t o = 0; o < out_channels; ++o) sum[o] += row_sum(g_n + o * positions, positions);
      }
      if (need_input) {
        image_product(weights_t, grad_n, dcols.data(), positions, {}, on_this_thread);
        const Tensor dx = native::col2im(dcols, {1, channels, height, width}, kernel, stride, padding);
        std::copy_n(dx.data(), image, grads.input.data() + n * image);
      }
    }
  });
  if (need_weight) {
    grads.weight = empty(w.shape());
    float* total = grads.weight.data();
    std::copy_n(weight_sums.data(), weight_size, total);
    for (int64_t p = 1; p < pieces; ++p) {
      const float* part = weight_sums.data() + p * weight_size;
      for (int64_t i = 0; i < weight_size; ++i) total[i] += part[i];
    }
  }
  if (need_bias) {
    grads.bias = empty({out_channels});
    for (int64_t o = 0; o < out_channels; ++o) {
      double total = 0.0;
      for (int64_t p = 0; p < pieces; ++p) total += bias_sums[static_cast<std::size_t>(p * out_channels + o)];
      grads.bias.data()[o] = static_cast<float>(total);
    }
  }
  return grads;
}

Tensor conv2d(const Tensor& input, const Tensor& weight, const Tensor& bias, int64_t stride, int64_t padding) {
  const auto forward = [&] { return conv2d_forward(input, weight, bias, stride, padding); };
  if (bias.defined()) {
    return autograd::function(
        "conv2d", {input, weight, bias}, forward,
        [](const autograd::BackwardContext& ctx) -> std::vector<Tensor> {
          Conv2dGrads g = conv2d_backward(ctx.grad, ctx.inputs[0], ctx.inputs[1], ctx.ints[0], ctx.ints[1],
                                          ctx.needs_grad[0], ctx.needs_grad[1], ctx.needs_grad[2]);
          return {g.input, g.weight, g.bias};
        },
        {stride, padding});
  }
  return autograd::function(
      "conv2d", {input, weight}, forward,
      [](const autograd::BackwardContext& ctx) -> std::vector<Tensor> {
        Conv2dGrads g = conv2d_backward(ctx.grad, ctx.inputs[0], ctx.inputs[1], ctx.ints[0], ctx.ints[1],
                                        ctx.needs_grad[0], ctx.needs_grad[1], false);
        return {g.input, g.weight};
      },
      {stride, padding});
}

std::string check_conv2d_kernel(
    const std::function<Tensor(const Tensor&, const Tensor&, const Tensor&, int64_t, int64_t)>& forward) {
  try {
    const Tensor x = randn({3, 2, 7, 6}, 21), w = randn({4, 2, 3, 3}, 22), b = randn({4}, 23);
    const Tensor product = native::matmul_2d(w.reshape({4, -1}), native::im2col(x, 3, 2, 1));  // [4, 3 * 4 * 3]
    const Tensor expected = product.view({4, 3, 4, 3}).permute({1, 0, 2, 3}) + b.view({1, 4, 1, 1});
    const Tensor got = forward(x, w, b, 2, 1);
    if (got.shape() != expected.shape() || !allclose(got, expected, 1e-4f, 1e-4f)) {
      return "wrong numbers on a [3, 2, 7, 6] input with a [4, 2, 3, 3] weight, stride 2 and padding 1: compare "
             "accel::conv2d_forward with module 09's conv2d (tito test acceleration)";
    }
    return "";
  } catch (const std::exception& e) {
    return e.what();
  }
}

namespace {

std::mutex conv_problem_mutex;
std::string conv_problem;  // guarded by conv_problem_mutex

Tensor fast_conv2d_kernel(const Tensor& input, const Tensor& weight, const Tensor& bias, int64_t stride,
                          int64_t padding) {
  static const bool works = [] {
    const std::string why = check_conv2d_kernel(&conv2d_forward);
    if (!why.empty()) {
      const std::lock_guard<std::mutex> lock(conv_problem_mutex);
      conv_problem = "module 11's convolution failed its check, so conv2d runs on module 09's im2col + matmul: " + why;
    }
    return why.empty();
  }();
  if (!works) return Tensor();  // declined: conv2d runs module 09's composition
  const int64_t positions = conv_output_size(input.size(2), weight.size(2), stride, padding) *
                            conv_output_size(input.size(3), weight.size(2), stride, padding);
  if (positions < kMinPositionsByImage) return Tensor();  // a small output: the whole batch's product is faster
  return conv2d(input, weight, bias, stride, padding);
}

}  // namespace

std::string fast_conv2d_problem() {
  const std::lock_guard<std::mutex> lock(conv_problem_mutex);
  return conv_problem;
}

void set_fast_conv2d(bool enabled) noexcept { native::set_conv2d_kernel(enabled ? &fast_conv2d_kernel : nullptr); }
bool fast_conv2d_enabled() noexcept { return native::conv2d_kernel() == &fast_conv2d_kernel; }

FastConv2dGuard::FastConv2dGuard(bool enabled) noexcept : saved_(native::conv2d_kernel()) { set_fast_conv2d(enabled); }
FastConv2dGuard::~FastConv2dGuard() { native::set_conv2d_kernel(saved_); }

}  // namespace tinytorch::accel

// Installs the convolution in module 09's slot when the program starts, next to part 9's GEMM (this
// object file is kept by -Wl,--undefined=tinytorch_acceleration_installed).
namespace {
const bool conv2d_installed = (tinytorch::accel::set_fast_conv2d(true), true);
}  // namespace

// %%
//| test
TEST(UnitConv2dByImage, ForwardGivesModule09sNumbers) {
  const Tensor x = randn({5, 3, 9, 7}, 1), w = randn({4, 3, 3, 3}, 2), b = randn({4}, 3);
  Tensor reference, reference_no_bias;
  {
    accel::FastConv2dGuard off(false);
    reference = nn::functional::conv2d(x, w, b, 2, 1);
    reference_no_bias = nn::functional::conv2d(x, w, Tensor(), 1, 0);
  }
  const Tensor got = accel::conv2d_forward(x, w, b, 2, 1);
  EXPECT_EQ(got.shape(), (Shape{5, 4, 5, 4}));
  EXPECT_TRUE(allclose(got, reference, 1e-4f, 1e-5f)) << "stride 2, padding 1, with a bias";
  EXPECT_TRUE(allclose(accel::conv2d_forward(x, w, Tensor(), 1, 0), reference_no_bias, 1e-4f, 1e-5f))
      << "stride 1, no padding, no bias";
}

// %% [markdown]
// ## Measuring every step
//
// Now the steps of this module, one after the other, on square products of 256, 512 and 1024
// (median of several runs each, GFLOP/s and percent of the best single-core peak of demo 1):
//
// | step | what changes |
// |---|---|
// | naive | module 01's text: the i-j-p loop, B read down its columns (skipped at 1024: seconds) |
// | module 01 | your `matmul_2d`: i-p-j, rows streamed, vectorized by the compiler |
// | tiled | a 4 × 16 register tile read straight from A and B, no packing (written in the demo) |
// | packed | the portable micro-kernel on packed panels, blocked for the caches: part 5, one thread |
// | SIMD | the same with each SIMD kernel this CPU has, one thread |
// | threads | the fastest kernel on every thread of the library's pool |
//
// Before you run it, write down your guesses: which step gains most? Does packing pay at 256?

// %%
//| demo
#include <functional>

using timing::median_seconds;
const double peak = accel::measure_peak_gflops(accel::supported_paths().back(), 0.05);
const int threads = get_num_threads();
std::printf("GFLOP/s (and %% of one core's peak, %.0f GFLOP/s); 'threads' uses %d threads\n", peak, threads);
std::printf("%-22s %14s %14s %14s\n", "step", "n = 256", "n = 512", "n = 1024");
for (const std::string step : {"naive", "module 01", "tiled", "packed portable", "packed avx2", "packed avx512", "threads"}) {
  if (step == "packed avx2" && !accel::path_supported(accel::Path::Avx2)) continue;
  if (step == "packed avx512" && !accel::path_supported(accel::Path::Avx512)) continue;
  std::printf("%-22s", step.c_str());
  for (int64_t n : {256, 512, 1024}) {
    if (step == "naive" && n == 1024) {
      std::printf(" %14s", "(skipped)");
      continue;
    }
    const Tensor a = randn({n, n}, 1), b = randn({n, n}, 2);
    Tensor c = zeros({n, n});
    const float* pa = a.data();
    const float* pb = b.data();
    float* pc = c.data();
    std::function<void()> work;
    if (step == "naive") {
      work = [&] {
        for (int64_t i = 0; i < n; ++i)
          for (int64_t j = 0; j < n; ++j) {
            float acc = 0;
            for (int64_t p = 0; p < n; ++p) acc += pa[i * n + p] * pb[p * n + j];
            pc[i * n + j] = acc;
          }
      };
    } else if (step == "module 01") {
      work = [&] { c = native::matmul_2d(a, b); };
    } else if (step == "tiled") {
      work = [&] {  // a 4 x 16 tile of C in registers, A and B read in place
        for (int64_t i0 = 0; i0 < n; i0 += 4)
          for (int64_t j0 = 0; j0 < n; j0 += 16) {
            float acc[4][16] = {};
            for (int64_t p = 0; p < n; ++p) {
              const float a_col[4] = {pa[i0 * n + p], pa[(i0 + 1) * n + p], pa[(i0 + 2) * n + p], pa[(i0 + 3) * n + p]};
              for (int64_t j = 0; j < 16; ++j) {
                const float b_pj = pb[p * n + j0 + j];
                for (int64_t i = 0; i < 4; ++i) acc[i][j] += a_col[i] * b_pj;
              }
            }
            for (int64_t i = 0; i < 4; ++i)
              for (int64_t j = 0; j < 16; ++j) pc[(i0 + i) * n + j0 + j] = acc[i][j];
          }
      };
    } else {
      const accel::Path path = step == "packed portable" ? accel::Path::Portable
                               : step == "packed avx2"   ? accel::Path::Avx2
                               : step == "packed avx512" ? accel::Path::Avx512
                                                         : accel::best_path(accel::cpu_features());
      work = [&, path] {
        accel::ScopedKernelPath forced(path);
        accel::gemm(accel::matrix_view(a), accel::matrix_view(b), pc, n);
      };
    }
    set_num_threads(step == "threads" ? threads : 1);
    const double seconds = median_seconds(n <= 256 ? 7 : (step == "naive" ? 1 : 3), work);
    set_num_threads(threads);
    const double speed = accel::gflops(n, n, n, seconds);
    std::printf(" %7.1f (%3.0f%%)", speed, 100.0 * speed / peak);
  }
  std::printf("\n");
}

// %% [markdown]
// ### Transposes cost nothing
//
// `Aᵀ·B` and `A·Bᵀ` on the fast kernel read the transposed operand in place (part 4). Module 01's
// `matmul_2d` copies it with `contiguous()` first. Here are all three forms at 1024, on all
// threads; the same numbers come out (the largest difference to module 01's result is printed).

// %%
//| demo
{
  using timing::median_seconds;
  const int64_t n = 1024;
  const Tensor a = randn({n, n}, 3), b = randn({n, n}, 4);
  struct Form {
    const char* name;
    Tensor left, right;
  };
  const std::vector<Form> forms = {{"A  @ B ", a, b}, {"At @ B ", a.t(), b}, {"A  @ Bt", a, b.t()}};
  for (const Form& form : forms) {
    const double fast = median_seconds(3, [&] { (void)accel::matmul(form.left, form.right); });
    const double slow = median_seconds(1, [&] { (void)native::matmul_2d(form.left, form.right); });
    const float difference =
        abs(accel::matmul(form.left, form.right) - native::matmul_2d(form.left, form.right)).max().item();
    std::printf("%s  fast kernel %6.1f GFLOP/s   module 01 %5.1f GFLOP/s   largest difference %.2g\n", form.name,
                accel::gflops(n, n, n, fast), accel::gflops(n, n, n, slow), static_cast<double>(difference));
  }
}

// %% [markdown]
// ### The fused epilogue
//
// A large `Linear` with a ReLU, `relu(x·Wᵀ + b)` for `x [4096, 512]` and `W [1024, 512]`, written
// as three ops (the matmul on the fast kernel, the bias add, the ReLU) and as one GEMM whose
// epilogue adds the bias and applies the ReLU while each tile is in L1.

// %%
//| demo
{
  using timing::median_seconds;
  const Tensor x = randn({4096, 512}, 5), w = randn({1024, 512}, 6), bias = randn({1024}, 7);
  const double three_ops = median_seconds(3, [&] { (void)relu(x.matmul(w.t()) + bias); });
  const double fused = median_seconds(3, [&] {
    (void)accel::matmul(x, w.t(), accel::Epilogue{nullptr, bias.data(), true});
  });
  const float difference =
      abs(relu(x.matmul(w.t()) + bias) - accel::matmul(x, w.t(), {nullptr, bias.data(), true})).max().item();
  std::printf("relu(x @ W^T + b), [4096, 512] x [512, 1024]: three ops %.1f ms, fused epilogue %.1f ms (%.2fx); "
              "largest difference %.2g\n",
              three_ops * 1e3, fused * 1e3, three_ops / fused, static_cast<double>(difference));
}

// %% [markdown]
// ### Threads
//
// The same 1024 product on 1, 2, ... threads (up to 4, or the machine's hardware threads if it
// has more). On a machine with 2 cores, 3 and 4 threads share them: expect no gain, or a loss.

// %%
//| demo
{
  using timing::median_seconds;
  const int64_t n = 1024;
  const Tensor a = randn({n, n}, 8), b = randn({n, n}, 9);
  const int saved = get_num_threads();
  double one = 0;
  for (int t = 1; t <= std::max(4, saved); ++t) {
    set_num_threads(t);
    const double seconds = median_seconds(5, [&] { (void)accel::matmul(a, b); });
    if (t == 1) one = seconds;
    std::printf("  %d thread%s: %6.1f GFLOP/s  (%.2fx one thread)\n", t, t == 1 ? " " : "s",
                accel::gflops(n, n, n, seconds), one / seconds);
  }
  set_num_threads(saved);
}

// %% [markdown]
// ### A convolution without the big matrix
//
// The CNN milestone's second layer, `Conv2d(16, 32, 5, padding 2)` on a batch of 64 maps of
// 14×14, forward and backward, as module 09's im2col + matmul (on this module's GEMM) and image by
// image (part 10), each the median of 5 runs; and the largest tensor each forward pass makes,
// counted by module 01's allocation hook.

// %%
//| demo
{
  using timing::median_seconds;
  static std::atomic<std::size_t> largest{0};
  static const memory::AllocationObserver watch{[](std::size_t bytes) noexcept {
                                                  std::size_t seen = largest.load();
                                                  while (bytes > seen && !largest.compare_exchange_weak(seen, bytes)) {
                                                  }
                                                },
                                                [](std::size_t) noexcept {}};
  nn::Conv2d conv(16, 32, 5, 1, 2, true, 5);
  const Tensor x = randn({64, 16, 14, 14}, 6).requires_grad_();
  const Tensor g = randn({64, 32, 14, 14}, 7);
  auto measure = [&](bool by_image) {
    accel::FastConv2dGuard kernel(by_image);
    largest = 0;
    memory::set_allocation_observer(&watch);
    (void)conv(x);
    memory::set_allocation_observer(nullptr);
    const double forward = median_seconds(5, [&] { (void)conv(x); });
    const double step = median_seconds(5, [&] { (conv(x) * g).sum().backward(); });
    std::printf("  %-34s forward %6.2f ms, forward + backward %6.2f ms, largest tensor %5.1f MB\n",
                by_image ? "image by image (part 10)" : "im2col + matmul (module 09)", forward * 1e3, step * 1e3,
                largest.load() / 1e6);
    return step;
  };
  std::printf("Conv2d(16, 32, 5, padding 2) on [64, 16, 14, 14], %d thread%s (median of 5):\n", get_num_threads(),
              get_num_threads() == 1 ? "" : "s");
  const double composed = measure(false);
  const double by_image = measure(true);
  std::printf("  image by image: %.2fx the speed of im2col + matmul\n", composed / by_image);
}

// %% [markdown]
// ### The CNN milestone's network, before and after
//
// Module 09's last demo timed a training step of the CNN milestone's network (conv(1, 16, 5, p2)
// → ReLU → pool, conv(16, 32, 5, p2) → ReLU → pool, flatten, Linear(1568, 10), Adam, batch of
// 64). Here is the same step with `Tensor::matmul` on module 01's kernel and conv2d as module
// 09's composition (`FastMatmulGuard off(false)`, `FastConv2dGuard`), then with this module's GEMM
// behind the composition, then with part 10's convolution as well, with no other change: the
// layers, autograd and Adam are the code of modules 01–09. The losses of the runs are printed side
// by side: the same network from the same seeds, so they agree to float rounding.

// %%
//| demo
{
  auto make_cnn = [] {
    return nn::Sequential(nn::Conv2d(1, 16, 5, 1, 2, true, 1), nn::ReLU(), nn::MaxPool2d(2),
                          nn::Conv2d(16, 32, 5, 1, 2, true, 2), nn::ReLU(), nn::MaxPool2d(2), nn::Flatten(),
                          nn::Linear(32 * 7 * 7, 10, true, 3));
  };
  const Tensor images = randn({64, 1, 28, 28}, 4);
  std::vector<float> classes(64);
  for (std::size_t i = 0; i < classes.size(); ++i) classes[i] = static_cast<float>(i % 10);
  const Tensor labels(classes, {64});
  auto time_steps = [&](bool fast, int steps, std::vector<float>& losses, bool fast_conv = true) {
    accel::FastMatmulGuard kernel(fast);
    accel::FastConv2dGuard convolution(fast && fast_conv);
    nn::Sequential cnn = make_cnn();
    optim::Adam adam(cnn.parameters(), optim::AdamOptions(1e-3));
    std::vector<double> times;
    for (int i = 0; i <= steps; ++i) {  // step 0 is the warm-up (Adam allocates its state)
      const auto start = std::chrono::steady_clock::now();
      const Tensor loss = nn::functional::cross_entropy(cnn(images), labels);
      adam.zero_grad();
      loss.backward();
      adam.step();
      if (i > 0) times.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
      losses.push_back(loss.item());
    }
    std::sort(times.begin(), times.end());
    return times[times.size() / 2];
  };
  std::vector<float> slow_losses, fast_losses, one_thread_losses, composed_losses, composed_one_losses;
  const double before = time_steps(false, 5, slow_losses);
  const double composed = time_steps(true, 5, composed_losses, false);
  const double after = time_steps(true, 5, fast_losses);
  const int saved = get_num_threads();
  set_num_threads(1);
  const double composed_one = time_steps(true, 5, composed_one_losses, false);
  const double after_one = time_steps(true, 5, one_thread_losses);
  set_num_threads(saved);
  auto row = [&](const std::string& what, double seconds) {
    std::printf("  %-46s %6.1f ms  (%4.0f images/s)  %.2fx\n", what.c_str(), seconds * 1e3, 64 / seconds,
                before / seconds);
  };
  const std::string all = std::to_string(saved) + (saved == 1 ? " thread" : " threads");
  std::printf("CNN training step, batch 64 (median of 5):\n");
  row("module 01's matmul, module 09's im2col + matmul", before);
  row("GEMM, module 09's im2col + matmul, 1 thread", composed_one);
  row("GEMM, convolution image by image, 1 thread", after_one);
  row("GEMM, module 09's im2col + matmul, " + all, composed);
  row("GEMM, convolution image by image, " + all, after);
  std::printf("  an epoch of 60,000 images in %.0f s instead of %.0f s\n", 60000 / 64.0 * after,
              60000 / 64.0 * before);
  std::printf("  losses, step by step (module 01 / fast kernel):");
  for (std::size_t i = 0; i < slow_losses.size(); ++i) std::printf(" %.5f/%.5f", slow_losses[i], fast_losses[i]);
  std::printf("\n");
}

// %% [markdown]
// ## Summary
//
// You built the GEMM of production libraries, and every earlier module got faster without a line
// of them changing:
//
// - **FLOPs and the peak**: `2·m·n·k`, GFLOP/s, and a measured ceiling to compare them with;
// - **matrices as views**: data, sizes and strides, so transposes and slices are read in place;
// - **the register tile**: a micro-kernel that keeps MR × NR accumulators in registers, in
//   portable C++, AVX2 + FMA and AVX-512, each compiled for its instructions only;
// - **packing**: A and B copied, block by block, into the panels the kernel reads, with transposes
//   folded into the copy, and zero padding so the kernel never branches;
// - **the blocked loop nest**: KC, MC and NC chosen for L1, L2 and L3; edge tiles through a local
//   tile; and a **fused epilogue** (bias, ReLU) applied once, after the last k block;
// - **a persistent thread pool** with dynamic scheduling, exceptions carried back to the caller,
//   and no deadlock when a task runs a GEMM; `set_num_threads`, `get_num_threads`,
//   `TINYTORCH_NUM_THREADS`;
// - **partitioning** C into rectangles that never synchronize;
// - **run-time dispatch** that picks the fastest kernel the CPU has and never one it lacks;
// - a kernel installed behind `Tensor::matmul` before `main`, and kept by the linker, so `Linear`,
//   `Conv2d` and every backward pass run on it;
// - **a convolution image by image**, in module 09's slot: the columns of one image at a time in
//   the cache instead of a matrix of the whole batch in memory, the bias fused as the epilogue,
//   the columns computed again in the backward pass instead of kept, and the images shared out
//   among the threads.
//
// The CNN milestone now trains in a fraction of the time: **CNN, fast**.
//
// ## Reflect
//
// 1. Estimate, then measure: how many GFLOP/s does one core of this machine reach at most? Write
//    your estimate (clock × FMA units × lanes × 2) before you run demo 1. How far is module 01's
//    matmul from it, and is the gap closer to 2×, 10× or 50×?
// 2. Before running demo 3, predict which step gains most at n = 1024: the register tile, the
//    packing, the hand-written SIMD or the threads. Then explain the measured order. Why does
//    "tiled" (no packing) fall behind at 1024 but not at 256?
// 3. A 6 × 16 AVX2 tile does 12 FMAs for 8 loads per step. Estimate the ratio for 4 × 8 and for
//    8 × 32 with AVX-512, and predict which tiles are FMA-bound and which are load-bound on a core
//    that does 2 FMAs and 2 loads per cycle. Change `kAvx512MR` to 4 and measure.
// 4. KC = 256 makes a B panel of 256 × 32 floats. Estimate its size in KiB and compare it with
//    this machine's L1 (`lscpu`). Predict what KC = 1024 does to the GFLOP/s of demo 3, then
//    change it in `blocking_for` and measure.
// 5. The CNN's `Linear(1568, 10)` multiplies `[64, 1568]` by `[1568, 10]`. Estimate the share of
//    the kernel's FMAs that multiply zero padding with NR = 32. How would you write a kernel for
//    `n = 10`? (Look at the packed-B layout: what if B were the "A" side?)
// 6. Predict the speed-up of the CNN step on 2 threads over 1 thread before demo 8 prints it.
//    Then look at which part of the step does *not* run on the GEMM (im2col, col2im, pooling,
//    Adam, ReLU): by Amdahl's law, what is the best speed-up you can get from the GEMM
//    alone? Module 10's profiler shows the split.
// 7. Part 10 computes each image's columns twice (forward and backward) instead of keeping them.
//    Estimate, for the CNN milestone's second layer at batch 64, the bytes the composition keeps
//    alive from the forward pass to the backward pass, and the extra im2col work part 10 does
//    instead. Then predict at which output size an image's product gets too small to be faster
//    than the whole batch's (the weight is packed once per image), and check your guess against
//    `kMinPositionsByImage` with demo 7's code on a layer of 8 × 8 and one of 16 × 16 outputs.
//
// Next: module 12, tokenization. From here on every matrix product runs on this kernel: the
// embeddings, attention and transformer blocks of modules 13–15 are products of exactly the
// shapes this module has made fast, and the transformer milestone trains in minutes, not hours.
