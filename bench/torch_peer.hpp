// The libtorch side of the benchmarks that compare tinytorch with a peer: plain C++ types
// only, so that the benchmark's own file never includes libtorch's (heavy) headers. Built
// only when Debian's libtorch-dev is installed (TINYTORCH_BENCH_HAS_TORCH).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace bench {

// Fashion-MNIST (or any 784-feature, 10-class set) as flat floats: images row-major, labels as class indices.
struct FlatDataset {
  std::vector<float> images;  // n x 784, pixels in [0, 1]
  std::vector<float> labels;  // n class indices
  int64_t n = 0;
};

struct PeerRun {
  std::vector<double> epoch_seconds;  // one per epoch
  double test_accuracy = 0.0;         // after the last epoch
  std::string version;                // "libtorch 1.13.1"
};

// Whether this build has libtorch.
bool torch_available();
// Trains a 784-256-128-10 ReLU MLP with Adam(lr) on `train` with libtorch, batches of
// `batch` in a seeded shuffled order, `threads` intra-op threads; evaluates on `test`.
PeerRun train_mlp_libtorch(const FlatDataset& train, const FlatDataset& test, int epochs, int batch, double lr,
                           int threads, uint64_t seed);

}  // namespace bench
