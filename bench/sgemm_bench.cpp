// sgemm_bench: module 11's GEMM against OpenBLAS (Debian's libopenblas-dev, optional), float32,
// on square products n = 128 ... 2048 and on the matrix products of one training step of the CNN
// milestone's network (batch 64), of cnn_bench's reference CNN (batch 64) and of the MLP's (batch
// 128), in the transposed forms autograd hands the kernel. 1 and 2 threads (or --threads LIST);
// GFLOP/s from the median of several runs, with the best and worst; the ratio tinytorch / OpenBLAS.
// Goal: >= 0.8x OpenBLAS at n = 1024. --only TEXT keeps the products whose name contains TEXT
// ("ref" for the reference CNN's).
//
//   cmake --build --preset default --target sgemm_bench && nice build/bench/sgemm_bench [--runs 7] [--threads 1,2]
//   [--only TEXT]
// On several threads set OPENBLAS_THREAD_TIMEOUT=4: OpenBLAS's idle threads otherwise spin after
// each of its products and slow tinytorch's next one (fc1's 2-thread figures 66-80 -> 124-146).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <tinytorch/core/acceleration.hpp>

#include "runs.hpp"

#ifdef TINYTORCH_BENCH_HAS_OPENBLAS
#include <cblas.h>
extern "C" void openblas_set_num_threads(int threads);
#endif

namespace {

using namespace tinytorch;
using tito::bench::Runs;

// One product C [m, n] = op(A) [m, k] · op(B) [k, n], with op a transpose or not: a transposed
// operand is stored as its contiguous transpose and read through a view (tinytorch) or the
// transpose flag (OpenBLAS).
struct Product {
  std::string name;
  int64_t m, n, k;
  bool transpose_a = false, transpose_b = false;
};

double seconds_of(const std::function<void()>& work) {
  const auto start = std::chrono::steady_clock::now();
  work();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Runs of `work`: one warm-up, then at least `runs`, and more until 0.2 s have passed (at most 50).
Runs measure(int runs, const std::function<void()>& work) {
  work();
  Runs result;
  double total = 0;
  while (static_cast<int>(result.size()) < runs || (total < 0.2 && result.size() < 50)) {
    result.add(seconds_of(work));
    total += result.last();
  }
  return result;
}

// "152.3 GFLOP/s (141.0-160.2)": from the median, worst and best times.
std::string describe(const Runs& runs, double flops) {
  char text[96];
  std::snprintf(text, sizeof text, "%6.1f (%5.1f-%5.1f)", flops / runs.median() / 1e9, flops / runs.worst() / 1e9,
                flops / runs.best() / 1e9);
  return text;
}

std::vector<int> parse_list(const char* text) {
  std::vector<int> values;
  for (const char* p = text; *p;) {
    values.push_back(std::atoi(p));
    while (*p && *p != ',') ++p;
    if (*p == ',') ++p;
  }
  return values;
}

}  // namespace

int main(int argc, char** argv) {
  int runs = 7;
  std::vector<int> thread_counts = {1, 2};
  std::string only;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--runs") == 0 && i + 1 < argc) {
      runs = std::max(1, std::atoi(argv[++i]));
    } else if (std::strcmp(argv[i], "--threads") == 0 && i + 1 < argc) {
      thread_counts = parse_list(argv[++i]);
    } else if (std::strcmp(argv[i], "--only") == 0 && i + 1 < argc) {
      only = argv[++i];
    } else {
      std::fprintf(stderr, "usage: sgemm_bench [--runs N] [--threads 1,2,...] [--only TEXT]\n");
      return 2;
    }
  }
#ifdef TINYTORCH_BENCH_HAS_OPENBLAS
  const bool have_openblas = true;
#else
  const bool have_openblas = false;
  std::printf(
      "OpenBLAS was not found when this was built (apt-get install libopenblas-dev, then reconfigure): "
      "tinytorch alone\n");
#endif
  std::printf(
      "tinytorch kernel path: %s (peak of one core on it: %.0f GFLOP/s); median of at least %d runs, "
      "GFLOP/s (worst-best)\n",
      accel::path_name(accel::kernel_path()), accel::measure_peak_gflops(accel::kernel_path(), 0.1), runs);

#ifdef TINYTORCH_BENCH_HAS_OPENBLAS
  if (std::getenv("OPENBLAS_THREAD_TIMEOUT") == nullptr &&
      std::any_of(thread_counts.begin(), thread_counts.end(), [](int t) { return t > 1; })) {
    std::printf(
        "note: OpenBLAS's threads spin for a while after each of its products and take the core from tinytorch's "
        "next one; for fair figures on several threads run with OPENBLAS_THREAD_TIMEOUT=4\n");
  }
#endif
  std::vector<Product> products;
  for (int64_t n : {128, 256, 512, 1024, 2048}) products.push_back({"n = " + std::to_string(n), n, n, n});
  // The CNN milestone's training step, batch 64: conv1 (1 -> 16, 5x5, 28x28), conv2 (16 -> 32, 5x5,
  // 14x14), Linear(1568, 10), forward and the products of backward (module 05's matmul backward:
  // grad_a = g @ b^T, grad_b = a^T @ g).
  products.push_back({"conv1 fwd  W[16,25] @ cols[25,50176]", 16, 50176, 25});
  products.push_back({"conv1 dW   g[16,50176] @ cols^T", 16, 25, 50176, false, true});
  products.push_back({"conv2 fwd  W[32,400] @ cols[400,12544]", 32, 12544, 400});
  products.push_back({"conv2 dW   g[32,12544] @ cols^T", 32, 400, 12544, false, true});
  products.push_back({"conv2 dcol W^T[400,32] @ g[32,12544]", 400, 12544, 32, true, false});
  products.push_back({"fc fwd     x[64,1568] @ W^T", 64, 10, 1568, false, true});
  products.push_back({"fc dx      g[64,10] @ W[10,1568]", 64, 1568, 10});
  products.push_back({"fc dW      x^T[1568,64] @ g[64,10]", 1568, 10, 64, true, false});
  // cnn_bench's reference CNN, batch 64: conv1 (3 -> 32, 3x3, padding 1, 32x32), conv2 (32 -> 64,
  // 3x3, padding 1, 16x16), Linear(4096, 128); the same forms as above.
  products.push_back({"ref conv1 fwd  W[32,27] @ cols[27,65536]", 32, 65536, 27});
  products.push_back({"ref conv1 dW   g[32,65536] @ cols^T", 32, 27, 65536, false, true});
  products.push_back({"ref conv2 fwd  W[64,288] @ cols[288,16384]", 64, 16384, 288});
  products.push_back({"ref conv2 dW   g[64,16384] @ cols^T", 64, 288, 16384, false, true});
  products.push_back({"ref conv2 dcol W^T[288,64] @ g[64,16384]", 288, 16384, 64, true, false});
  products.push_back({"ref fc1 fwd    x[64,4096] @ W^T", 64, 128, 4096, false, true});
  products.push_back({"ref fc1 dx     g[64,128] @ W[128,4096]", 64, 4096, 128});
  products.push_back({"ref fc1 dW     g^T[128,64] @ x[64,4096]", 128, 4096, 64, true, false});
  // The reference CNN's convolutions one image at a time, as module 11's part 10 runs them (each
  // image's products on one thread, the images shared out: compare the figures of 1 thread).
  products.push_back({"img conv1 fwd  W[32,27] @ cols_n[27,1024]", 32, 1024, 27});
  products.push_back({"img conv1 dW   g_n[32,1024] @ cols_n^T", 32, 27, 1024, false, true});
  products.push_back({"img conv2 fwd  W[64,288] @ cols_n[288,256]", 64, 256, 288});
  products.push_back({"img conv2 dW   g_n[64,256] @ cols_n^T", 64, 288, 256, false, true});
  products.push_back({"img conv2 dcol W^T[288,64] @ g_n[64,256]", 288, 256, 64, true, false});
  // The MLP milestone's training step, batch 128 (784-256-128-10): forward x @ W^T, and the
  // weight gradients in the weights' own layout, g^T @ x (module 05), the input gradients g @ W.
  products.push_back({"mlp fc1 fwd x[128,784] @ W^T", 128, 256, 784, false, true});
  products.push_back({"mlp fc1 dW  g^T[256,128] @ x[128,784]", 256, 784, 128, true, false});
  products.push_back({"mlp fc2 fwd x[128,256] @ W^T", 128, 128, 256, false, true});
  products.push_back({"mlp fc2 dx  g[128,128] @ W[128,256]", 128, 256, 128});
  products.push_back({"mlp fc2 dW  g^T[128,128] @ x[128,256]", 128, 256, 128, true, false});
  products.push_back({"mlp fc3 fwd x[128,128] @ W^T", 128, 10, 128, false, true});
  products.push_back({"mlp fc3 dx  g[128,10] @ W[10,128]", 128, 128, 10});
  products.push_back({"mlp fc3 dW  g^T[10,128] @ x[128,128]", 10, 128, 128, true, false});

  for (int threads : thread_counts) {
    set_num_threads(threads);
#ifdef TINYTORCH_BENCH_HAS_OPENBLAS
    openblas_set_num_threads(threads);
#endif
    std::printf("\n%d thread%s%s\n", threads, threads == 1 ? "" : "s", have_openblas ? "" : " (tinytorch only)");
    std::printf("  %-40s %24s %24s %7s %9s\n", "product", "tinytorch", have_openblas ? "OpenBLAS" : "", "ratio",
                "max diff");
    for (const Product& p : products) {
      if (p.name.find(only) == std::string::npos) continue;
      // Stored operands: A as [m, k] or, transposed, [k, m]; B as [k, n] or [n, k].
      const Tensor a_store = p.transpose_a ? randn({p.k, p.m}, 1) : randn({p.m, p.k}, 1);
      const Tensor b_store = p.transpose_b ? randn({p.n, p.k}, 2) : randn({p.k, p.n}, 2);
      const Tensor a = p.transpose_a ? a_store.t() : a_store;
      const Tensor b = p.transpose_b ? b_store.t() : b_store;
      std::vector<float> ours(static_cast<std::size_t>(p.m * p.n)), theirs(ours.size());
      const double flops = 2.0 * static_cast<double>(p.m * p.n * p.k);
      const Runs tinytorch_runs =
          measure(runs, [&] { accel::gemm(accel::matrix_view(a), accel::matrix_view(b), ours.data(), p.n); });
      std::string peer = "", ratio = "", difference = "";
#ifdef TINYTORCH_BENCH_HAS_OPENBLAS
      const Runs openblas_runs = measure(runs, [&] {
        cblas_sgemm(CblasRowMajor, p.transpose_a ? CblasTrans : CblasNoTrans, p.transpose_b ? CblasTrans : CblasNoTrans,
                    static_cast<int>(p.m), static_cast<int>(p.n), static_cast<int>(p.k), 1.0f, a_store.data(),
                    static_cast<int>(p.transpose_a ? p.m : p.k), b_store.data(),
                    static_cast<int>(p.transpose_b ? p.k : p.n), 0.0f, theirs.data(), static_cast<int>(p.n));
      });
      peer = describe(openblas_runs, flops);
      char text[32];
      std::snprintf(text, sizeof text, "%5.2fx", openblas_runs.median() / tinytorch_runs.median());
      ratio = text;
      double largest = 0;
      for (std::size_t i = 0; i < ours.size(); ++i) largest = std::max(largest, std::fabs(double(ours[i]) - theirs[i]));
      std::snprintf(text, sizeof text, "%.1e", largest);
      difference = text;
#endif
      std::printf("  %-40s %24s %24s %7s %9s\n", p.name.c_str(), describe(tinytorch_runs, flops).c_str(), peer.c_str(),
                  ratio.c_str(), difference.c_str());
    }
  }
  return 0;
}
