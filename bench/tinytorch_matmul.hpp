// Which matrix product tinytorch runs in a course benchmark, and on how many threads. With module
// 11 in the package the benchmark links it (bench/CMakeLists.txt) and its GEMM installs itself
// behind Tensor::matmul: Linear and Conv2d run on it. `--matmul module01` switches it off, to
// measure the library before module 11; without module 11 there is only module 01's matmul,
// on one thread.
#pragma once

#include <string>

#if defined(TINYTORCH_BENCH_HAS_ACCELERATION)
#include <tinytorch/core/acceleration.hpp>
#endif

namespace bench {

// True when this build has module 11's GEMM.
constexpr bool has_fast_matmul() {
#if defined(TINYTORCH_BENCH_HAS_ACCELERATION)
  return true;
#else
  return false;
#endif
}

// Uses module 11's GEMM on `threads` threads (fast), or module 01's matmul (which has one); with
// the GEMM, convolutions run image by image (module 11's part 10, `by_image`) or as module 09's
// im2col + matmul. Returns what was chosen, for the benchmark's header, e.g. "module 11's GEMM
// (avx512 path), 1 thread, convolutions image by image".
inline std::string use_matmul(bool fast, int threads, bool by_image = true) {
#if defined(TINYTORCH_BENCH_HAS_ACCELERATION)
  tinytorch::accel::set_fast_matmul(fast);
  tinytorch::accel::set_fast_conv2d(fast && by_image);
  if (fast) {
    tinytorch::set_num_threads(threads);
    return std::string("module 11's GEMM (") + tinytorch::accel::path_name(tinytorch::accel::kernel_path()) +
           " path), " + std::to_string(threads) + (threads == 1 ? " thread" : " threads") +
           (by_image ? ", convolutions image by image" : ", convolutions as im2col + matmul");
  }
#else
  (void)fast;
  (void)threads;
  (void)by_image;
#endif
  return "module 01's matmul, 1 thread";
}

}  // namespace bench
