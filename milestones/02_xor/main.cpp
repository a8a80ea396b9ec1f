// Milestone 02: XOR (Minsky and Papert, 1969), after module 05.
//
// The four points of XOR are not a dataset: they are the whole problem, written
// below. One nn::Linear(2, 1) draws one straight line through the plane, and no
// line puts (0,1) and (1,0) on one side and (0,0) and (1,1) on the other: at
// best 3 of the 4 points are right. A hidden layer (2-4-1, tanh) bends the
// boundary and gets all 4. Both learn the same way, with module 05's autograd
// and plain gradient descent written out (optimizers arrive in module 06):
//     loss.backward();  under NoGradGuard:  p -= lr * p.grad()
#include <milestone.hpp>

#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include <epoch_log.hpp>
#include <tinytorch/core/autograd.hpp>
#include <tinytorch/core/layers.hpp>
#include <tinytorch/core/losses.hpp>
#include <tinytorch/image.hpp>

namespace {

using namespace tinytorch;
namespace F = nn::functional;

constexpr int kStepsPerEpoch = 50;  // one step is the whole of XOR: 4 points
constexpr float kLearningRate = 1.0f;
constexpr int64_t kHidden = 4;

// Plain gradient descent on `model`'s parameters, then their gradients cleared.
void descend(nn::Module& model, float lr) {
  NoGradGuard no_grad;
  for (Tensor& p : model.parameters()) {
    if (!p.grad().defined()) continue;
    p -= lr * p.grad();
    p.mutable_grad() = Tensor();
  }
}

double grad_norm(const nn::Module& model) {
  double sum = 0;
  for (const Tensor& p : model.parameters()) {
    if (p.grad().defined()) sum += (p.grad() * p.grad()).sum().item();
  }
  return std::sqrt(sum);
}

// The fraction of the points whose logit has the target's sign (z > 0 means 1).
double accuracy(const Tensor& z, const Tensor& y) {
  const std::vector<float> logits = z.to_vector(), targets = y.to_vector();
  int right = 0;
  for (std::size_t i = 0; i < logits.size(); ++i) right += (logits[i] > 0.0f) == (targets[i] > 0.5f);
  return static_cast<double>(right) / static_cast<double>(logits.size());
}

// What `model` says, sigmoid(z), over the square [-0.5, 1.5]^2, with the four
// points on it: a filled dot for XOR = 1, a ring for 0.
plot::Image decision_map(nn::Module& model, const std::vector<float>& points, const std::vector<float>& targets) {
  constexpr int n = 64, scale = 4;
  std::vector<float> grid;
  for (int row = 0; row < n; ++row) {
    for (int col = 0; col < n; ++col) {
      grid.push_back(-0.5f + 2.0f * (static_cast<float>(col) + 0.5f) / n);
      grid.push_back(1.5f - 2.0f * (static_cast<float>(row) + 0.5f) / n);
    }
  }
  std::vector<float> p;
  {
    NoGradGuard no_grad;
    p = (sigmoid(model(Tensor(grid, {n * n, 2}))) - 0.5f).to_vector();
  }
  plot::Image image = plot::scale_nearest(plot::from_diverging(p, n, n, 0.5f), scale);
  for (std::size_t i = 0; i < targets.size(); ++i) {
    const double x = (points[2 * i] + 0.5) / 2.0 * n * scale, y = (1.5 - points[2 * i + 1]) / 2.0 * n * scale;
    plot::fill_circle(image, x, y, 9, plot::colors::black);
    if (targets[i] < 0.5f) plot::fill_circle(image, x, y, 5, plot::colors::white);
  }
  return image;
}

}  // namespace

int main(int argc, char** argv) {
  milestone::Run run(argc, argv, {.epochs = 20, .quick_batches = 50, .seed = 1969});
  const std::vector<float> points = {0, 0, 0, 1, 1, 0, 1, 1};
  const std::vector<float> targets = {0, 1, 1, 0};
  const Tensor x(points, {4, 2});
  const Tensor y(targets, {4, 1});
  std::printf("XOR: the 4 points (0,0)->0 (0,1)->1 (1,0)->1 (1,1)->0 (the whole problem, not a dataset)\n");

  nn::Linear single(2, 1, true, run.seed());
  nn::Sequential mlp(nn::Linear(2, kHidden, true, run.seed() + 1), nn::Tanh(),
                     nn::Linear(kHidden, 1, true, run.seed() + 2));
  milestone::EpochLog log({"mlp_loss", "single_layer_loss", "mlp_accuracy", "single_layer_accuracy"});

  double mlp_loss = 0, single_loss = 0;
  for (int epoch = 0; epoch < run.epochs(); ++epoch) {
    const std::size_t steps = run.batches(kStepsPerEpoch);
    for (std::size_t s = 0; s < steps; ++s) {
      const Tensor loss = F::binary_cross_entropy_with_logits(mlp(x), y);
      loss.backward();
      mlp_loss = loss.item();
      run.loss(mlp_loss);
      run.grad_norm(grad_norm(mlp));
      descend(mlp, kLearningRate);

      const Tensor line_loss = F::binary_cross_entropy_with_logits(single(x), y);
      line_loss.backward();
      single_loss = line_loss.item();
      descend(single, kLearningRate);
    }
    double mlp_acc = 0, single_acc = 0;
    {
      NoGradGuard no_grad;
      mlp_acc = accuracy(mlp(x), y);
      single_acc = accuracy(single(x), y);
    }
    log.add({mlp_loss, single_loss, mlp_acc, single_acc});
    run.end_epoch();
    std::printf("  MLP loss %.4f, %d/4 right; single layer loss %.4f, %d/4 right\n", mlp_loss,
                static_cast<int>(std::lround(4 * mlp_acc)), single_loss, static_cast<int>(std::lround(4 * single_acc)));
  }

  NoGradGuard no_grad;
  const Tensor mlp_p = sigmoid(mlp(x)), single_p = sigmoid(single(x));
  const double mlp_acc = accuracy(mlp(x), y), single_acc = accuracy(single(x), y);
  std::printf("\n   x1 x2  XOR   single layer   MLP 2-%lld-1\n", static_cast<long long>(kHidden));
  for (int i = 0; i < 4; ++i) {
    std::printf("   %2.0f %2.0f  %3.0f   %12.3f   %9.3f\n", points[2 * i], points[2 * i + 1], targets[i],
                single_p.to_vector()[i], mlp_p.to_vector()[i]);
  }
  std::printf("   accuracy     %9.0f%%   %8.0f%%\n\n", 100 * single_acc, 100 * mlp_acc);

  run.metric("mlp_accuracy", mlp_acc);
  run.metric("single_layer_accuracy", single_acc);
  run.metric("mlp_loss", mlp_loss);
  run.metric("single_layer_loss", single_loss);
  run.note("data: the 4 points of XOR, written in the program (not a dataset); accuracy is on those 4 points");
  log.write_csv(run.out() / "log.csv");
  log.write_curves(run.out() / "curves.png", "XOR: one layer against a hidden layer",
                   {{"loss", "binary cross-entropy", {"mlp_loss", "single_layer_loss"}},
                    {"accuracy", "fraction of the 4 points", {"mlp_accuracy", "single_layer_accuracy"}, 0.0, 1.05}});
  plot::write_png(run.out() / "decision.png",
                  plot::grid({decision_map(single, points, targets), decision_map(mlp, points, targets)}, 2, 8,
                             plot::colors::white, {"single layer", "MLP 2-4-1"}));
  run.artifact("log.csv");
  run.artifact("curves.png");
  run.artifact("decision.png");
  return run.finish(mlp_acc == 1.0 && single_acc <= 0.75);
}
