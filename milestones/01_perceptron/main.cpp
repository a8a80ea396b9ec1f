// Milestone 01: the perceptron (Rosenblatt, 1957), after module 04.
//
// One nn::Linear(784, 1) (module 03) separates two real Fashion-MNIST classes,
// T-shirt/top and Trouser. There is no autograd yet (module 05), so the
// gradient is written out: for binary cross-entropy with logits (module 04)
// the gradient at the logit z is sigmoid(z) - y, so
//     dW = (sigmoid(z) - y)^T X / B,   db = mean(sigmoid(z) - y).
// Beside it, the same layer learns by Rosenblatt's own rule, which is that
// update with the step function in place of the sigmoid:
//     W += lr (y - step(z))^T X: only mistakes move the weights.
#include <milestone.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <numeric>
#include <string>
#include <vector>

#include <epoch_log.hpp>
#include <tinytorch/core/layers.hpp>
#include <tinytorch/core/losses.hpp>
#include <tinytorch/image.hpp>

#include "idx.hpp"

namespace {

using namespace tinytorch;
namespace F = nn::functional;

constexpr int kNegative = 0;  // T-shirt/top: target 0
constexpr int kPositive = 1;  // Trouser: target 1
constexpr int64_t kPixels = 28 * 28;
constexpr int64_t kBatchSize = 64;
constexpr float kLearningRate = 0.1f;  // the gradient rule's step
constexpr float kRuleRate = 0.01f;     // Rosenblatt's rule: only the scale of W against its init depends on it

// The images of the two classes as rows of X [N, 784] in [0, 1], and y [N, 1]: 1 for Trouser.
struct TwoClasses {
  std::vector<float> x;
  std::vector<float> y;
  int64_t size() const { return static_cast<int64_t>(y.size()); }
};

TwoClasses two_classes(const perceptron::IdxImages& split) {
  TwoClasses out;
  for (int64_t i = 0; i < split.count; ++i) {
    const int label = split.labels[static_cast<std::size_t>(i)];
    if (label != kNegative && label != kPositive) continue;
    const uint8_t* image = split.pixels.data() + i * kPixels;
    for (int64_t p = 0; p < kPixels; ++p) out.x.push_back(static_cast<float>(image[p]) / 255.0f);
    out.y.push_back(label == kPositive ? 1.0f : 0.0f);
  }
  return out;
}

// Rows `order[begin, end)` of `data` as a batch: X [B, 784], y [B, 1].
std::pair<Tensor, Tensor> batch(const TwoClasses& data, const std::vector<int64_t>& order, std::size_t begin,
                                std::size_t end) {
  std::vector<float> x, y;
  x.reserve((end - begin) * kPixels);
  for (std::size_t k = begin; k < end; ++k) {
    const float* row = data.x.data() + order[k] * kPixels;
    x.insert(x.end(), row, row + kPixels);
    y.push_back(data.y[static_cast<std::size_t>(order[k])]);
  }
  const auto b = static_cast<int64_t>(end - begin);
  return {Tensor(std::move(x), {b, kPixels}), Tensor(std::move(y), {b, 1})};
}

// A new order of 0 .. n-1 for every epoch, from the seed (Fisher-Yates on module 01's Generator).
std::vector<int64_t> shuffled(int64_t n, uint64_t seed, int epoch) {
  std::vector<int64_t> order(static_cast<std::size_t>(n));
  std::iota(order.begin(), order.end(), int64_t{0});
  Generator g(seed * 1000003u + static_cast<uint64_t>(epoch) + 1);
  for (int64_t i = n - 1; i > 0; --i) std::swap(order[i], order[g.next_u64() % static_cast<uint64_t>(i + 1)]);
  return order;
}

// 1 where z > 0, else 0: the perceptron's threshold unit.
Tensor step(const Tensor& z) {
  return map(z, [](float v) { return v > 0.0f ? 1.0f : 0.0f; });
}

// The fraction of rows whose threshold unit gives the target.
double binary_accuracy(const Tensor& z, const Tensor& y) { return (1.0f - abs(step(z) - y)).mean().item(); }

double squared_norm(const Tensor& t) { return (t * t).sum().item(); }

struct Figures {
  double loss = 0;
  double accuracy = 0;
};

Figures evaluate(nn::Linear& layer, const Tensor& x, const Tensor& y) {
  const Tensor z = layer(x);
  return {F::binary_cross_entropy_with_logits(z, y).item(), binary_accuracy(z, y)};
}

// The learned weights as 28 x 28 images (red pushes towards Trouser, blue towards T-shirt/top).
void write_weights_png(const std::filesystem::path& path, nn::Linear& gradient_rule, nn::Linear& rosenblatt) {
  std::vector<plot::Image> tiles = {
      plot::scale_nearest(plot::from_diverging(gradient_rule.weight.to_vector(), 28, 28), 8),
      plot::scale_nearest(plot::from_diverging(rosenblatt.weight.to_vector(), 28, 28), 8)};
  plot::write_png(path, plot::grid(tiles, 2, 8, plot::colors::white, {"gradient of BCE", "Rosenblatt's rule"}));
}

}  // namespace

int main(int argc, char** argv) {
  milestone::Run run(argc, argv, {.epochs = 10, .quick_batches = 20, .seed = 1957});
  TwoClasses train, test;
  try {
    train = two_classes(perceptron::read_fashion_mnist(run.data_dir(), true));
    test = two_classes(perceptron::read_fashion_mnist(run.data_dir(), false));
  } catch (const perceptron::DataError& e) {
    std::cerr << "milestone_perceptron: " << e.what() << "\n";
    return 1;
  }
  std::printf("Fashion-MNIST, T-shirt/top (0) against Trouser (1): %lld training and %lld test images\n",
              static_cast<long long>(train.size()), static_cast<long long>(test.size()));
  const Tensor test_x(test.x, {test.size(), kPixels});
  const Tensor test_y(test.y, {test.size(), 1});

  nn::Linear layer(kPixels, 1, true, run.seed());       // trained by the gradient of BCE
  nn::Linear rosenblatt(kPixels, 1, true, run.seed());  // the same start, trained by Rosenblatt's rule
  milestone::EpochLog log(
      {"train_loss", "test_loss", "train_accuracy", "test_accuracy", "rule_train_mistakes", "rule_test_accuracy"});

  const std::size_t batches = run.batches(static_cast<std::size_t>((train.size() + kBatchSize - 1) / kBatchSize));
  double training_seconds = 0;  // the epochs' own time: the harness's first epoch also holds reading the files
  for (int epoch = 0; epoch < run.epochs(); ++epoch) {
    const auto started = std::chrono::steady_clock::now();
    const std::vector<int64_t> order = shuffled(train.size(), run.seed(), epoch);
    double loss_sum = 0, correct = 0, mistakes = 0;
    int64_t seen = 0;
    for (std::size_t b = 0; b < batches; ++b) {
      const std::size_t begin = b * kBatchSize;
      const std::size_t end = std::min<std::size_t>(begin + kBatchSize, order.size());
      const auto [x, y] = batch(train, order, begin, end);
      const auto n = static_cast<float>(end - begin);

      const Tensor z = layer(x);
      const Tensor loss = F::binary_cross_entropy_with_logits(z, y);
      const Tensor dz = (sigmoid(z) - y) / n;  // d loss / d z, for the batch mean
      const Tensor dw = dz.t().matmul(x);      // [1, 784]
      const Tensor db = dz.sum(0);             // [1]
      run.loss(loss.item());
      run.grad_norm(std::sqrt(squared_norm(dw) + squared_norm(db)));
      loss_sum += loss.item() * n;
      correct += binary_accuracy(z, y) * n;
      seen += static_cast<int64_t>(n);
      layer.weight -= kLearningRate * dw;
      layer.bias -= kLearningRate * db;

      const Tensor error = y - step(rosenblatt(x));  // +1 a missed Trouser, -1 a missed top, 0 right
      mistakes += abs(error).sum().item();
      rosenblatt.weight += kRuleRate * error.t().matmul(x);
      rosenblatt.bias += kRuleRate * error.sum(0);
    }
    const Figures on_test = evaluate(layer, test_x, test_y);
    const double rule_test = evaluate(rosenblatt, test_x, test_y).accuracy;
    training_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    log.add({loss_sum / static_cast<double>(seen), on_test.loss, correct / static_cast<double>(seen), on_test.accuracy,
             mistakes, rule_test});
    run.end_epoch();
    std::printf(
        "  train accuracy %.2f%%, test loss %.4f, test accuracy %.2f%%; Rosenblatt's rule: %.0f mistakes, "
        "test accuracy %.2f%%\n",
        100 * correct / static_cast<double>(seen), on_test.loss, 100 * on_test.accuracy, mistakes, 100 * rule_test);
  }

  const Figures final_test = evaluate(layer, test_x, test_y);
  const double rule_test = evaluate(rosenblatt, test_x, test_y).accuracy;
  run.metric("test_accuracy", final_test.accuracy);
  run.metric("test_loss", final_test.loss);
  run.metric("test_errors", std::round((1 - final_test.accuracy) * static_cast<double>(test.size())));
  run.metric("rosenblatt_rule_test_accuracy", rule_test);
  run.metric("seconds_per_epoch", training_seconds / run.epochs());
  run.note("classes: T-shirt/top (0) against Trouser (1); " + std::to_string(train.size()) + " training and " +
           std::to_string(test.size()) + " test images of the real Fashion-MNIST");
  log.write_csv(run.out() / "log.csv");
  log.write_curves(run.out() / "curves.png", "Perceptron: T-shirt/top vs Trouser",
                   {{"loss", "binary cross-entropy", {"train_loss", "test_loss"}},
                    {"accuracy", "fraction correct", {"train_accuracy", "test_accuracy", "rule_test_accuracy"}}});
  write_weights_png(run.out() / "weights.png", layer, rosenblatt);
  run.artifact("log.csv");
  run.artifact("curves.png");
  run.artifact("weights.png");
  return run.finish(final_test.accuracy >= 0.95);
}
