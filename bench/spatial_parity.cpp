// spatial_parity: tinytorch's spatial layers against libtorch's, number for number. Each case
// builds a network in tinytorch, describes it to libtorch (the same layers, tinytorch's weights
// copied in), runs one forward and backward pass on both with the same float32 input and the same
// random upstream gradient (or the same cross-entropy loss), and prints the largest absolute and
// relative difference of the output and of every gradient (input, each parameter) and of the
// batch-norm running statistics after the pass. Relative is max|tinytorch - libtorch| over
// max|libtorch| of the whole tensor: an error measured against the tensor's scale, so that an
// element that happens to be near zero does not make a correct result look wrong. The goal of
// issue 9: every relative difference at most 1e-4. Exits 0 when every case meets it, 1 when one
// does not (or on an error), 2 on a usage error, and 77 (the conventional "skipped") in a build
// without libtorch, where nothing was compared.
//
//   build/bench/spatial_parity [--seed S]
#include <tinytorch/core/losses.hpp>
#include <tinytorch/core/spatial.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "peer_layers.hpp"
#include "tinytorch_matmul.hpp"
#include "torch_peer.hpp"

namespace tt = tinytorch;
namespace nn = tinytorch::nn;

namespace {

constexpr double kGoal = 1e-4;

// A network, its input, and what its backward pass starts from.
struct Case {
  std::string title;
  nn::Sequential model;
  tt::Tensor input;
  std::vector<float> labels;  // class indices: the loss is cross-entropy; empty: a random upstream gradient
  bool training = true;
};

struct Difference {
  std::size_t count = 0;  // values compared
  double scale = 0.0;     // max|libtorch|
  double absolute = 0.0;
  double relative = 0.0;
  std::string problem;  // set when the two cannot be compared (a missing gradient, different sizes)
};

Difference compare(const std::vector<float>& ours, const std::vector<float>& theirs) {
  Difference d;
  if (ours.empty() || theirs.empty()) {
    d.problem = std::string("no values from ") + (ours.empty() ? "tinytorch" : "libtorch") + " (a missing gradient?)";
  } else if (ours.size() != theirs.size()) {
    d.problem = std::to_string(ours.size()) + " values against libtorch's " + std::to_string(theirs.size());
  }
  if (!d.problem.empty()) return d;
  d.count = ours.size();
  for (std::size_t i = 0; i < ours.size(); ++i) {
    d.absolute = std::max(d.absolute, std::abs(static_cast<double>(ours[i]) - static_cast<double>(theirs[i])));
    d.scale = std::max(d.scale, std::abs(static_cast<double>(theirs[i])));
    if (!std::isfinite(ours[i]) || !std::isfinite(theirs[i])) d.problem = "a value that is not finite";
  }
  d.relative = d.absolute == 0.0 ? 0.0 : d.absolute / std::max(d.scale, 1e-30);
  return d;
}

std::string shape_text(const tt::Shape& shape) {
  std::string text = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) text += (i ? ", " : "") + std::to_string(shape[i]);
  return text + "]";
}

std::string layer_text(const nn::Module& module) {
  std::ostringstream os;
  module.pretty_print(os);
  return os.str();
}

// The case's layers, one line: "Conv2d(...) -> ReLU -> ...".
std::string network_text(const nn::Sequential& model) {
  std::string text;
  for (std::size_t i = 0; i < model.size(); ++i) text += (i ? " -> " : "") + layer_text(*model[i]);
  return text.empty() ? "(no layers)" : text;
}

std::vector<float> class_indices(int64_t n, int64_t classes, uint64_t seed) {
  std::mt19937 generator(static_cast<std::mt19937::result_type>(seed));
  std::vector<float> labels(static_cast<std::size_t>(n));
  for (float& label : labels) label = static_cast<float>(generator() % static_cast<uint32_t>(classes));
  return labels;
}

// Sets every element of `tensor` (a parameter or a buffer) to `values`, outside autograd.
void set(const tt::Tensor& tensor, const tt::Tensor& values) {
  tt::NoGradGuard no_grad;
  tt::Tensor(tensor).copy_(values);
}

// The pass on the tinytorch side, in the peer's terms.
bench::Pass run_tinytorch(Case& c, const bench::DescribedNetwork& network, const std::vector<float>& upstream) {
  c.model.train(c.training);
  tt::Tensor x = c.input.clone();
  x.requires_grad_();
  const tt::Tensor out = c.model.empty() ? x : c.model(x);
  bench::Pass pass;
  if (!c.labels.empty()) {
    const tt::Tensor loss =
        nn::functional::cross_entropy(out, tt::Tensor(c.labels, {static_cast<int64_t>(c.labels.size())}));
    loss.backward();
    pass.output = {loss.item()};
  } else {
    out.backward(tt::Tensor(upstream, out.shape()));
    pass.output = out.contiguous().to_vector();
  }
  pass.input_grad = x.grad().defined() ? x.grad().contiguous().to_vector() : std::vector<float>{};
  for (const auto& [name, p] : network.parameters) {
    pass.parameter_grads.push_back(p.grad().defined() ? p.grad().contiguous().to_vector() : std::vector<float>{});
  }
  for (const auto& [name, b] : network.buffers) pass.buffers.push_back(b.contiguous().to_vector());
  return pass;
}

// The upstream gradient: random, of the output's shape (found by a forward pass without a graph).
std::vector<float> random_upstream(Case& c, uint64_t seed) {
  if (!c.labels.empty()) return {};
  tt::NoGradGuard no_grad;
  c.model.eval();  // leaves the running statistics alone; the shape is the same in both modes
  const tt::Shape shape = c.model.empty() ? c.input.shape() : c.model(c.input).shape();
  return tt::randn(shape, seed).to_vector();
}

// Whether parameter `index` of `network` belongs to a BatchNorm2d: its weight is gamma, its bias beta.
const char* batch_norm_name(const bench::DescribedNetwork& network, std::size_t index) {
  for (const bench::Layer& layer : network.layers) {
    if (index < layer.parameters.size()) {
      if (layer.kind != bench::Layer::Kind::BatchNorm2d) return nullptr;
      return index == 0 ? "gamma" : "beta";
    }
    index -= layer.parameters.size();
  }
  return nullptr;
}

// Prints one compared quantity; returns whether it meets the goal.
bool report(const std::string& what, const Difference& d) {
  if (!d.problem.empty()) {
    std::printf("    %-26s %s   FAIL\n", what.c_str(), d.problem.c_str());
    return false;
  }
  const bool met = d.relative <= kGoal;
  std::printf("    %-26s %7zu values  max|libtorch| %9.3e  max abs diff %9.3e  rel %9.3e%s\n", what.c_str(), d.count,
              d.scale, d.absolute, d.relative, met ? "" : "   FAIL");
  return met;
}

// Runs one case on both sides and prints it; returns whether every difference meets the goal.
bool run_case(int number, Case c, uint64_t seed) {
  std::printf("case %2d: %s\n         %s, input %s, %s\n", number, c.title.c_str(), network_text(c.model).c_str(),
              shape_text(c.input.shape()).c_str(),
              !c.labels.empty()
                  ? "cross-entropy loss"
                  : (c.training ? "train mode, random upstream gradient" : "eval mode, random upstream gradient"));
  const bench::DescribedNetwork network = bench::describe(c.model);  // before tinytorch's pass moves the stats
  const std::vector<float> upstream = random_upstream(c, seed);
  bench::Objective objective;
  objective.kind = c.labels.empty() ? bench::Objective::Kind::Upstream : bench::Objective::Kind::CrossEntropy;
  objective.values = c.labels.empty() ? upstream : c.labels;
  const bench::Pass ours = run_tinytorch(c, network, upstream);
  bench::PeerNetwork peer(network.layers, /*threads=*/1);
  const bench::Pass theirs =
      peer.forward_backward(c.input.contiguous().to_vector(), c.input.shape(), objective, c.training);

  bool met = report(c.labels.empty() ? "output" : "loss", compare(ours.output, theirs.output));
  met &= report("input grad", compare(ours.input_grad, theirs.input_grad));
  for (std::size_t i = 0; i < network.parameters.size(); ++i) {
    const char* bn = batch_norm_name(network, i);
    const std::string name = network.parameters[i].first + (bn ? std::string(" (") + bn + ")" : "") + " grad";
    met &= report(name, compare(ours.parameter_grads[i], theirs.parameter_grads[i]));
  }
  for (std::size_t i = 0; i < network.buffers.size(); ++i) {
    met &= report(network.buffers[i].first + " after", compare(ours.buffers[i], theirs.buffers[i]));
  }
  std::printf("    %s\n\n", met ? "PASS" : "FAIL");
  return met;
}

Case conv(std::string title, int64_t in, int64_t out, int64_t kernel, int64_t stride, int64_t padding, bool bias,
          tt::Shape input, uint64_t seed) {
  return Case{std::move(title),
              nn::Sequential(nn::Conv2d(in, out, kernel, stride, padding, bias, seed)),
              tt::randn(input, seed + 1),
              {},
              true};
}

Case single(std::string title, nn::Sequential model, tt::Shape input, uint64_t seed) {
  return Case{std::move(title), std::move(model), tt::randn(input, seed), {}, true};
}

// BatchNorm2d(6) with random gamma, beta and running statistics, on inputs whose channels have
// their own means and scales.
Case batch_norm(bool training, uint64_t seed) {
  auto bn = std::make_shared<nn::BatchNorm2d>(6);
  set(bn->weight, tt::randn({6}, seed).mul(0.5f).add(1.0f));
  set(bn->bias, tt::randn({6}, seed + 1));
  set(bn->running_mean, tt::randn({6}, seed + 2));
  set(bn->running_var, tt::rand({6}, seed + 3).add(0.5f));
  const tt::Tensor channel_mean = tt::arange(6).sub(2.5f).view({1, 6, 1, 1});
  const tt::Tensor channel_scale = tt::arange(6).mul(0.5f).add(0.5f).view({1, 6, 1, 1});
  const tt::Tensor input = tt::randn({4, 6, 5, 7}, seed + 4).mul(channel_scale).add(channel_mean);
  return Case{training ? "BatchNorm2d, training: batch statistics, running statistics updated"
                       : "BatchNorm2d, evaluation: running statistics",
              nn::Sequential(bn),
              input,
              {},
              training};
}

Case cross_entropy(uint64_t seed) {
  return Case{"cross_entropy from logits (mean over the batch)", nn::Sequential(), tt::randn({16, 10}, seed).mul(3.0f),
              class_indices(16, 10, seed + 1), true};
}

Case reference_cnn(uint64_t seed) {
  return Case{"the reference CNN, whole: loss and every parameter grad", bench::reference_cnn(seed),
              tt::randn({64, 3, 32, 32}, seed + 10), class_indices(64, 10, seed + 11), true};
}

[[noreturn]] void usage(const std::string& problem, int code) {
  std::fprintf(code == 0 ? stdout : stderr,
               "spatial_parity: %s\nusage: spatial_parity [--seed S]\n"
               "Runs tinytorch's Conv2d, MaxPool2d, AvgPool2d, BatchNorm2d, Linear, cross_entropy and the reference\n"
               "CNN against libtorch with the same weights and inputs; prints the largest differences of outputs\n"
               "and gradients; exits 0 when all are within 1e-4 relative, 1 otherwise.\n",
               problem.c_str());
  std::exit(code);
}

uint64_t parse_seed(int argc, char** argv) {
  uint64_t seed = 9;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--seed") {
      if (i + 1 >= argc) usage("--seed needs a value", 2);
      seed = std::strtoull(argv[++i], nullptr, 10);
    } else if (arg == "--help" || arg == "-h") {
      usage("tinytorch's spatial layers against libtorch's", 0);
    } else {
      usage("unknown argument '" + std::string(arg) + "'", 2);
    }
  }
  return seed;
}

}  // namespace

int main(int argc, char** argv) {
  const uint64_t s = parse_seed(argc, argv);
  if (!bench::torch_available()) {
    std::printf(
        "spatial_parity: libtorch is not in this build, so there is nothing to compare with\n"
        "(apt-get install libtorch-dev and reconfigure)\n");
    return 77;
  }
  try {
    std::printf(
        "tinytorch against %s, float32 on both sides, 1 thread, seed %llu; goal: relative difference "
        "<= %.0e\n(relative: max|tinytorch - libtorch| / max|libtorch| over the tensor)\n"
        "tinytorch's matrix products: %s\n\n",
        bench::torch_version().c_str(), static_cast<unsigned long long>(s), kGoal, bench::use_matmul(true, 1).c_str());
    int number = 0, failed = 0;
    auto run = [&](Case c) {
      ++number;
      if (!run_case(number, std::move(c), s * 1000 + number)) ++failed;
    };
    run(conv("Conv2d: stride 1, no padding, non-square input", 3, 8, 3, 1, 0, true, {2, 3, 9, 7}, s + 1));
    run(conv("Conv2d: stride 2, padding 1, no bias", 3, 8, 3, 2, 1, false, {4, 3, 10, 13}, s + 2));
    run(conv("Conv2d: kernel 5, padding 2 (same size)", 4, 6, 5, 1, 2, true, {3, 4, 8, 11}, s + 3));
    run(conv("Conv2d: even kernel, stride 2, padding 2", 2, 5, 4, 2, 2, true, {2, 2, 11, 9}, s + 4));
    run(conv("Conv2d: 1x1, no bias", 6, 4, 1, 1, 0, false, {2, 6, 5, 3}, s + 5));
    run(conv("Conv2d: 16 -> 32 channels on 14x14 (long sums)", 16, 32, 3, 1, 1, true, {8, 16, 14, 14}, s + 6));
    run(single("MaxPool2d, odd sizes", nn::Sequential(nn::MaxPool2d(2)), {2, 3, 9, 7}, s + 7));
    run(single("MaxPool2d, overlapping windows", nn::Sequential(nn::MaxPool2d(3, 2)), {2, 4, 11, 8}, s + 8));
    run(single("AvgPool2d", nn::Sequential(nn::AvgPool2d(2)), {2, 3, 8, 6}, s + 9));
    run(single("AvgPool2d, padded (padding counted)", nn::Sequential(nn::AvgPool2d(3, 2, 1)), {2, 3, 9, 10}, s + 10));
    run(batch_norm(true, s + 11));
    run(batch_norm(false, s + 12));
    run(single(
        "a block: Conv2d without bias (BatchNorm2d follows), BatchNorm2d, ReLU, MaxPool2d",
        nn::Sequential(nn::Conv2d(3, 8, 3, 1, 1, false, s + 19), nn::BatchNorm2d(8), nn::ReLU(), nn::MaxPool2d(2)),
        {4, 3, 12, 10}, s + 20));
    run(single("Linear", nn::Sequential(nn::Linear(37, 19, true, s + 13)), {8, 37}, s + 14));
    run(single("Linear without bias", nn::Sequential(nn::Linear(64, 10, false, s + 15)), {5, 64}, s + 16));
    run(cross_entropy(s + 17));
    run(reference_cnn(s + 18));
    if (failed == 0) {
      std::printf("all %d cases PASS (every relative difference <= %.0e)\n", number, kGoal);
    } else {
      std::printf("%d of %d cases FAIL the goal (relative difference <= %.0e)\n", failed, number, kGoal);
    }
    return failed == 0 ? 0 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "spatial_parity: %s\n", e.what());
    return 1;
  }
}
