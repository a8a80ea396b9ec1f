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

std::string torch_version() {
  return "libtorch " + std::to_string(TORCH_VERSION_MAJOR) + "." + std::to_string(TORCH_VERSION_MINOR) + "." +
         std::to_string(TORCH_VERSION_PATCH);
}

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
  run.version = torch_version();
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

namespace {

// A float32 tensor of `shape` holding a copy of `values`.
torch::Tensor from_values(const std::vector<float>& values, const std::vector<int64_t>& shape) {
  const torch::Tensor t = torch::from_blob(const_cast<float*>(values.data()), shape, torch::kFloat32);
  if (t.numel() != static_cast<int64_t>(values.size())) {
    throw std::invalid_argument("bench peer: " + std::to_string(values.size()) + " values for a tensor of " +
                                std::to_string(t.numel()) + " elements");
  }
  return t.clone();
}

std::vector<float> to_values(const torch::Tensor& t) {
  const torch::Tensor c = t.detach().to(torch::kFloat32).contiguous();
  return std::vector<float>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
}

// Copies `values` into `target` (a parameter or buffer of the same number of elements).
void load(torch::Tensor target, const std::vector<float>& values) {
  torch::NoGradGuard no_grad;
  target.copy_(from_values(values, target.sizes().vec()));
}

// torch::nn's layer for `layer`, without its numbers.
torch::nn::AnyModule make_layer(const Layer& layer) {
  namespace nn = torch::nn;
  switch (layer.kind) {
    case Layer::Kind::Conv2d:
      return nn::AnyModule(nn::Conv2d(nn::Conv2dOptions(layer.in, layer.out, layer.kernel)
                                          .stride(layer.stride)
                                          .padding(layer.padding)
                                          .bias(layer.bias)));
    case Layer::Kind::MaxPool2d:
      return nn::AnyModule(
          nn::MaxPool2d(nn::MaxPool2dOptions(layer.kernel).stride(layer.stride).padding(layer.padding)));
    case Layer::Kind::AvgPool2d:
      return nn::AnyModule(
          nn::AvgPool2d(nn::AvgPool2dOptions(layer.kernel).stride(layer.stride).padding(layer.padding)));
    case Layer::Kind::BatchNorm2d:
      return nn::AnyModule(nn::BatchNorm2d(nn::BatchNorm2dOptions(layer.in).eps(layer.eps).momentum(layer.momentum)));
    case Layer::Kind::Linear:
      return nn::AnyModule(nn::Linear(nn::LinearOptions(layer.in, layer.out).bias(layer.bias)));
    case Layer::Kind::ReLU:
      return nn::AnyModule(nn::ReLU());
    case Layer::Kind::Flatten:
      return nn::AnyModule(nn::Flatten());
  }
  throw std::logic_error("bench peer: unknown layer kind");
}

// The names of a layer's parameters and buffers, in the order Layer lists their values.
std::vector<std::string> parameter_names(const Layer& layer) {
  switch (layer.kind) {
    case Layer::Kind::Conv2d:
    case Layer::Kind::Linear:
      return layer.bias ? std::vector<std::string>{"weight", "bias"} : std::vector<std::string>{"weight"};
    case Layer::Kind::BatchNorm2d:
      return {"weight", "bias"};
    default:
      return {};
  }
}
std::vector<std::string> buffer_names(const Layer& layer) {
  if (layer.kind == Layer::Kind::BatchNorm2d) return {"running_mean", "running_var"};
  return {};
}

// Sets the intra-op threads, and the inter-op threads the first time (libtorch allows it once).
void use_threads(int threads) {
  torch::set_num_threads(threads);
  static const bool interop_set = [threads] {
    at::set_num_interop_threads(threads);
    return true;
  }();
  (void)interop_set;
}

}  // namespace

struct PeerNetwork::Impl {
  torch::nn::Sequential model;
  std::vector<torch::Tensor> parameters;  // in the order of the layers' values
  std::vector<torch::Tensor> buffers;
  torch::Tensor images, labels;  // prepare_training's
  std::unique_ptr<torch::optim::SGD> optimizer;
  int64_t next_row = 0;
};

PeerNetwork::PeerNetwork(const std::vector<Layer>& layers, int threads) : impl_(std::make_unique<Impl>()) {
  use_threads(threads);
  for (const Layer& layer : layers) {
    torch::nn::AnyModule any = make_layer(layer);
    const std::shared_ptr<torch::nn::Module> module = any.ptr();
    const std::vector<std::string> names = parameter_names(layer), buffers = buffer_names(layer);
    if (names.size() != layer.parameters.size() || buffers.size() != layer.buffers.size()) {
      throw std::invalid_argument("bench peer: a layer with " + std::to_string(layer.parameters.size()) +
                                  " parameters and " + std::to_string(layer.buffers.size()) + " buffers, expected " +
                                  std::to_string(names.size()) + " and " + std::to_string(buffers.size()));
    }
    for (std::size_t i = 0; i < names.size(); ++i) {
      torch::Tensor p = module->named_parameters(false)[names[i]];
      load(p, layer.parameters[i]);
      impl_->parameters.push_back(p);
    }
    for (std::size_t i = 0; i < buffers.size(); ++i) {
      torch::Tensor b = module->named_buffers(false)[buffers[i]];
      load(b, layer.buffers[i]);
      impl_->buffers.push_back(b);
    }
    impl_->model->push_back(std::move(any));
  }
}

PeerNetwork::~PeerNetwork() = default;

Pass PeerNetwork::forward_backward(const std::vector<float>& input, const std::vector<int64_t>& shape,
                                   const Objective& objective, bool training) {
  Impl& m = *impl_;
  m.model->train(training);
  for (torch::Tensor& p : m.parameters) p.mutable_grad() = torch::Tensor();
  const torch::Tensor x = from_values(input, shape).requires_grad_(true);
  const torch::Tensor out = m.model->is_empty() ? x : m.model->forward(x);
  Pass pass;
  if (objective.kind == Objective::Kind::CrossEntropy) {
    const torch::Tensor targets = from_values(objective.values, {out.size(0)}).to(torch::kLong);
    const torch::Tensor loss = torch::nn::functional::cross_entropy(out, targets);
    loss.backward();
    pass.output = to_values(loss);
  } else {
    out.backward(from_values(objective.values, out.sizes().vec()));
    pass.output = to_values(out);
  }
  pass.input_grad = to_values(x.grad());
  for (const torch::Tensor& p : m.parameters) pass.parameter_grads.push_back(to_values(p.grad()));
  for (const torch::Tensor& b : m.buffers) pass.buffers.push_back(to_values(b));
  return pass;
}

void PeerNetwork::prepare_training(const std::vector<float>& images, const std::vector<int64_t>& shape,
                                   const std::vector<float>& labels, double lr, double momentum) {
  Impl& m = *impl_;
  m.images = from_values(images, shape);
  m.labels = from_values(labels, {shape.at(0)}).to(torch::kLong);
  m.optimizer =
      std::make_unique<torch::optim::SGD>(m.model->parameters(), torch::optim::SGDOptions(lr).momentum(momentum));
  m.next_row = 0;
}

TrainingRun PeerNetwork::train_steps(int steps, int64_t batch) {
  Impl& m = *impl_;
  if (!m.optimizer) throw std::logic_error("bench peer: train_steps before prepare_training");
  const int64_t n = m.images.size(0);
  if (batch > n) throw std::invalid_argument("bench peer: a batch larger than the training data");
  m.model->train();
  const auto start = std::chrono::steady_clock::now();
  torch::Tensor loss;
  for (int step = 0; step < steps; ++step) {
    if (m.next_row + batch > n) m.next_row = 0;
    const torch::Tensor x = m.images.slice(0, m.next_row, m.next_row + batch);
    const torch::Tensor y = m.labels.slice(0, m.next_row, m.next_row + batch);
    m.next_row += batch;
    m.optimizer->zero_grad();
    loss = torch::nn::functional::cross_entropy(m.model->forward(x), y);
    loss.backward();
    m.optimizer->step();
  }
  TrainingRun run;
  run.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  run.last_loss = loss.defined() ? loss.item<double>() : 0.0;
  return run;
}

#else

bool torch_available() { return false; }

std::string torch_version() { return "libtorch (not in this build)"; }

namespace {
[[noreturn]] void no_torch() {
  throw std::logic_error("this build has no libtorch (install Debian's libtorch-dev and reconfigure)");
}
}  // namespace

struct PeerNetwork::Impl {};
PeerNetwork::PeerNetwork(const std::vector<Layer>&, int) { no_torch(); }
PeerNetwork::~PeerNetwork() = default;
Pass PeerNetwork::forward_backward(const std::vector<float>&, const std::vector<int64_t>&, const Objective&, bool) {
  no_torch();
}
void PeerNetwork::prepare_training(const std::vector<float>&, const std::vector<int64_t>&, const std::vector<float>&,
                                   double, double) {
  no_torch();
}
TrainingRun PeerNetwork::train_steps(int, int64_t) { no_torch(); }

PeerRun train_mlp_libtorch(const FlatDataset&, const FlatDataset&, int, int, double, int, uint64_t) {
  throw std::logic_error("this build has no libtorch (install Debian's libtorch-dev and reconfigure)");
}

#endif

}  // namespace bench
