// The libtorch side of the benchmarks that compare tinytorch with a peer: plain C++ types
// only, so that the benchmark's own file never includes libtorch's (heavy) headers. Built
// only when Debian's libtorch-dev is installed (TINYTORCH_BENCH_HAS_TORCH).
#pragma once

#include <cstdint>
#include <memory>
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
// "libtorch 1.13.1", or "libtorch (not in this build)".
std::string torch_version();
// Trains a 784-256-128-10 ReLU MLP with Adam(lr) on `train` with libtorch, batches of
// `batch` in a seeded shuffled order, `threads` intra-op threads; evaluates on `test`.
PeerRun train_mlp_libtorch(const FlatDataset& train, const FlatDataset& test, int epochs, int batch, double lr,
                           int threads, uint64_t seed);

// One layer of a network, described in tinytorch's terms so that libtorch can build the same one
// (torch::nn's layer of the same name, with the same sizes and the same numbers in it).
struct Layer {
  enum class Kind { Conv2d, MaxPool2d, AvgPool2d, BatchNorm2d, Linear, ReLU, Flatten };
  Kind kind = Kind::ReLU;
  int64_t in = 0, out = 0;                      // channels (Conv2d, BatchNorm2d) or features (Linear)
  int64_t kernel = 0, stride = 0, padding = 0;  // Conv2d, MaxPool2d, AvgPool2d
  bool bias = true;                             // Conv2d, Linear
  double eps = 1e-5, momentum = 0.1;            // BatchNorm2d
  // Row-major values: weight then bias (Conv2d, Linear), gamma then beta (BatchNorm2d).
  std::vector<std::vector<float>> parameters;
  // running_mean then running_var (BatchNorm2d).
  std::vector<std::vector<float>> buffers;
};

// What a backward pass starts from: a gradient of the output's shape handed to output.backward(),
// or the mean cross-entropy of the output (logits [N, C]) against class indices.
struct Objective {
  enum class Kind { Upstream, CrossEntropy };
  Kind kind = Kind::Upstream;
  std::vector<float> values;  // the upstream gradient, or N class indices
};

// The numbers of one forward and backward pass.
struct Pass {
  std::vector<float> output;  // the loss (one value) for CrossEntropy
  std::vector<float> input_grad;
  std::vector<std::vector<float>> parameter_grads;  // in the order of the layers' parameters
  std::vector<std::vector<float>> buffers;          // after the pass, in the order of the layers' buffers
};

// Steps of training, timed.
struct TrainingRun {
  double seconds = 0.0;
  double last_loss = 0.0;  // the loss of the last step
};

// A network built by libtorch from `Layer`s: a torch::nn::Sequential with their numbers copied in,
// float32 on the CPU, with `threads` intra-op and inter-op threads (the inter-op count can be set
// once per process: later networks keep the first). Throws std::logic_error without libtorch.
class PeerNetwork {
 public:
  PeerNetwork(const std::vector<Layer>& layers, int threads);
  ~PeerNetwork();
  PeerNetwork(const PeerNetwork&) = delete;
  PeerNetwork& operator=(const PeerNetwork&) = delete;

  // One pass on `input` (row-major, of `shape`) in training or evaluation mode, gradients zeroed
  // first; with an empty network the output is the input (a loss on its own).
  Pass forward_backward(const std::vector<float>& input, const std::vector<int64_t>& shape, const Objective& objective,
                        bool training);

  // What train_steps trains on: `images` of `shape` [n, ...], `labels` n class indices, and
  // torch::optim::SGD with lr and momentum (its state persists across calls of train_steps).
  void prepare_training(const std::vector<float>& images, const std::vector<int64_t>& shape,
                        const std::vector<float>& labels, double lr, double momentum);
  // `steps` training steps (zero_grad, mean cross-entropy, backward, SGD step) on consecutive
  // batches of `batch` rows, continuing where the last call stopped and wrapping around the
  // data, timed.
  TrainingRun train_steps(int steps, int64_t batch);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace bench
