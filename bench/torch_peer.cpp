// The libtorch side of the benchmarks (see torch_peer.hpp).
#include "torch_peer.hpp"

#include <chrono>
#include <stdexcept>

#ifdef TINYTORCH_BENCH_HAS_TORCH
#include <torch/torch.h>
#endif

namespace bench {

#ifdef TINYTORCH_BENCH_HAS_TORCH

bool torch_available() { return true; }

PeerRun train_mlp_libtorch(const FlatDataset& train, const FlatDataset& test, int epochs, int batch, double lr,
                           int threads, uint64_t seed) {
  torch::set_num_threads(threads);
  torch::manual_seed(seed);
  auto as_tensor = [](const std::vector<float>& values, std::vector<int64_t> shape) {
    return torch::from_blob(const_cast<float*>(values.data()), shape, torch::kFloat32).clone();
  };
  const torch::Tensor train_x = as_tensor(train.images, {train.n, 784});
  const torch::Tensor train_y = as_tensor(train.labels, {train.n}).to(torch::kLong);
  const torch::Tensor test_x = as_tensor(test.images, {test.n, 784});
  const torch::Tensor test_y = as_tensor(test.labels, {test.n}).to(torch::kLong);

  torch::nn::Sequential model(torch::nn::Linear(784, 256), torch::nn::ReLU(), torch::nn::Linear(256, 128),
                              torch::nn::ReLU(), torch::nn::Linear(128, 10));
  torch::optim::Adam optimizer(model->parameters(), torch::optim::AdamOptions(lr));
  PeerRun run;
  run.version = "libtorch " + std::to_string(TORCH_VERSION_MAJOR) + "." + std::to_string(TORCH_VERSION_MINOR) + "." +
                std::to_string(TORCH_VERSION_PATCH);
  for (int epoch = 0; epoch < epochs; ++epoch) {
    const auto start = std::chrono::steady_clock::now();
    model->train();
    const torch::Tensor order = torch::randperm(train.n, torch::kLong);
    for (int64_t first = 0; first < train.n; first += batch) {
      const torch::Tensor rows = order.slice(0, first, std::min<int64_t>(first + batch, train.n));
      const torch::Tensor x = train_x.index_select(0, rows);
      const torch::Tensor y = train_y.index_select(0, rows);
      optimizer.zero_grad();
      const torch::Tensor loss = torch::nn::functional::cross_entropy(model->forward(x), y);
      loss.backward();
      optimizer.step();
    }
    run.epoch_seconds.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  torch::NoGradGuard no_grad;
  model->eval();
  const torch::Tensor predicted = model->forward(test_x).argmax(1);
  run.test_accuracy = predicted.eq(test_y).to(torch::kFloat64).mean().item<double>();
  return run;
}

#else

bool torch_available() { return false; }

PeerRun train_mlp_libtorch(const FlatDataset&, const FlatDataset&, int, int, double, int, uint64_t) {
  throw std::logic_error("this build has no libtorch (install Debian's libtorch-dev and reconfigure)");
}

#endif

}  // namespace bench
