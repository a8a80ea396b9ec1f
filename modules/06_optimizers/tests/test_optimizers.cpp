// Tests for module 06 (optimizers): the public API of <tinytorch/core/optim.hpp>.
// Every optimizer is compared, over several steps, with PyTorch's update rules written below in
// double precision (torch.optim's for-loop implementations, line for line; no torch at test time).
// Linked with gtest_main, together with the quick tests in optimizers_dev.cpp.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include <tinytorch/core/optim.hpp>
#include <tinytorch/testing.hpp>

namespace {

using namespace tinytorch;
using tinytorch::testing::error_message;
using ::testing::HasSubstr;

using Vec = std::vector<double>;

// ---------------------------------------------------------------------------------------
// PyTorch's rules in double: the references every optimizer is checked against.

// torch.optim.SGD, _single_tensor_sgd.
struct ReferenceSGD {
  double lr;
  double momentum = 0;
  double dampening = 0;
  double weight_decay = 0;
  bool nesterov = false;
  Vec buffer;

  void step(Vec& w, const Vec& g) {
    const bool first = buffer.empty();
    if (momentum != 0 && first) buffer.assign(w.size(), 0.0);
    for (std::size_t j = 0; j < w.size(); ++j) {
      double d = g[j] + weight_decay * w[j];
      if (momentum != 0) {
        buffer[j] = first ? d : momentum * buffer[j] + (1 - dampening) * d;
        d = nesterov ? d + momentum * buffer[j] : buffer[j];
      }
      w[j] -= lr * d;
    }
  }
};

// torch.optim.Adam (decoupled = false) and torch.optim.AdamW (decoupled = true), _single_tensor_adam.
struct ReferenceAdam {
  double lr;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0;
  bool decoupled = false;
  int step_count = 0;
  Vec m, v;

  void step(Vec& w, const Vec& g) {
    if (m.empty()) {
      m.assign(w.size(), 0.0);
      v.assign(w.size(), 0.0);
    }
    ++step_count;
    const double step_size = lr / (1 - std::pow(beta1, step_count));
    const double bias_correction2_sqrt = std::sqrt(1 - std::pow(beta2, step_count));
    for (std::size_t j = 0; j < w.size(); ++j) {
      double d = g[j];
      if (decoupled) {
        w[j] *= 1 - lr * weight_decay;
      } else {
        d += weight_decay * w[j];
      }
      m[j] = beta1 * m[j] + (1 - beta1) * d;
      v[j] = beta2 * v[j] + (1 - beta2) * d * d;
      w[j] -= step_size * m[j] / (std::sqrt(v[j]) / bias_correction2_sqrt + eps);
    }
  }
};

Vec doubles(const Tensor& t) {
  const std::vector<float> values = t.to_vector();
  return Vec(values.begin(), values.end());
}

// float32 arithmetic against a double reference: within rtol relative (and atol absolute) per element.
::testing::AssertionResult close_to(const Tensor& actual, const Vec& expected, double rtol = 2e-5,
                                    double atol = 1e-6) {
  const Vec got = doubles(actual);
  if (got.size() != expected.size()) {
    return ::testing::AssertionFailure() << got.size() << " elements, expected " << expected.size();
  }
  for (std::size_t j = 0; j < got.size(); ++j) {
    if (!(std::fabs(got[j] - expected[j]) <= atol + rtol * std::fabs(expected[j]))) {
      return ::testing::AssertionFailure() << "element " << j << " is " << got[j] << ", PyTorch's rule gives "
                                           << expected[j];
    }
  }
  return ::testing::AssertionSuccess();
}

// The gradient of `p` set by hand, as backward() would leave it.
void set_grad(const Tensor& p, const std::vector<float>& values) { p.mutable_grad() = Tensor(values, p.shape()); }

// A different, reproducible gradient for every step.
std::vector<float> gradient_at(int step, int64_t n, uint64_t seed) {
  return randn({n}, seed * 1000 + static_cast<uint64_t>(step)).to_vector();
}

Vec as_doubles(const std::vector<float>& values) { return Vec(values.begin(), values.end()); }

using Factory = std::function<std::unique_ptr<optim::Optimizer>(std::vector<Tensor>)>;

struct Kind {
  const char* name;
  Factory make;
  int64_t state_floats = 0;  // floats of state per parameter element after a step
};

// Every optimizer of the module, in the configurations a student writes separately.
std::vector<Kind> every_optimizer() {
  return {
      {"SGD",
       [](std::vector<Tensor> p) { return std::make_unique<optim::SGD>(p, optim::SGDOptions(0.1).weight_decay(0.01)); },
       0},
      {"SGD with momentum",
       [](std::vector<Tensor> p) {
         return std::make_unique<optim::SGD>(p, optim::SGDOptions(0.1).momentum(0.9).weight_decay(0.01));
       },
       1},
      {"SGD with Nesterov momentum",
       [](std::vector<Tensor> p) {
         return std::make_unique<optim::SGD>(p, optim::SGDOptions(0.1).momentum(0.9).nesterov(true));
       },
       1},
      {"Adam",
       [](std::vector<Tensor> p) {
         return std::make_unique<optim::Adam>(p, optim::AdamOptions(0.1).weight_decay(0.01));
       },
       2},
      {"AdamW", [](std::vector<Tensor> p) { return std::make_unique<optim::AdamW>(p, optim::AdamWOptions(0.1)); }, 2},
  };
}

// Runs `action`, turning an error that in-place updates outside NoGradGuard cause into a message that says so.
template <typename Action>
void step_without_recording_errors(const char* kind, Action action) {
  try {
    action();
  } catch (const NotImplemented&) {
    throw;
  } catch (const std::logic_error& e) {
    FAIL() << kind << ": step() threw \"" << e.what()
           << "\". An optimizer changes parameters in place, which autograd refuses while it records: "
              "open a NoGradGuard at the top of step()";
  }
}

// ---------------------------------------------------------------------------------------
// zero_grad

TEST(OptimizerZeroGrad, SetsEveryGradientToNone) {
  Tensor a = randn({2, 3}, 1).requires_grad_();
  Tensor b = randn({3}, 2).requires_grad_();
  (a.sum() + (b * b).sum()).backward();
  ASSERT_TRUE(a.grad().defined());
  optim::SGD sgd({a, b}, 0.1);
  sgd.zero_grad();
  EXPECT_FALSE(a.grad().defined()) << "zero_grad() left a gradient: set the slot itself, p.mutable_grad() = "
                                      "Tensor() (p.grad() = Tensor() only re-points a copy of the handle)";
  EXPECT_FALSE(b.grad().defined()) << "zero_grad() must drop the gradient of every parameter, not just the first";
}

TEST(OptimizerZeroGrad, WithoutSetToNoneZeroesTheSameTensor) {
  Tensor w = randn({4}, 3).requires_grad_();
  Tensor unused = randn({2}, 4).requires_grad_();
  (w * w).sum().backward();
  const Tensor before = w.grad();
  optim::SGD sgd({w, unused}, 0.1);
  sgd.zero_grad(/*set_to_none=*/false);
  ASSERT_TRUE(w.grad().defined()) << "zero_grad(false) zeroes the gradient, it does not drop it";
  EXPECT_EQ(w.grad().impl_ptr(), before.impl_ptr()) << "zero_grad(false) must zero the gradient in place";
  EXPECT_EQ(before.to_vector(), std::vector<float>(4, 0.0f));
  EXPECT_FALSE(unused.grad().defined()) << "a parameter without a gradient keeps none (PyTorch makes no zeros for it)";
}

TEST(OptimizerZeroGrad, NoStaleGradientReachesTheNextStep) {
  Tensor w = tensor({1, 2}).requires_grad_();
  optim::SGD sgd({w}, 0.5);
  (w * 3.0f).sum().backward();  // gradient [3, 3]
  sgd.zero_grad();
  (w * w).sum().backward();     // gradient 2w = [2, 4]
  EXPECT_EQ(w.grad().to_vector(), (std::vector<float>{2, 4}))
      << "the first step's gradient is still in .grad(): zero_grad() did not reset it, so backward() added to it";
  sgd.step();
  EXPECT_TRUE(close_to(w, {1 - 0.5 * 2, 2 - 0.5 * 4}));
}

// ---------------------------------------------------------------------------------------
// What every optimizer must do, whatever its rule

TEST(OptimizerContract, UpdatesTheCallersTensorInPlace) {
  for (const Kind& kind : every_optimizer()) {
    Tensor w = tensor({{1, 2}, {3, 4}}).requires_grad_();
    const Tensor model_handle = w;  // what a layer holds
    const TensorImpl* impl = w.impl_ptr().get();
    const Storage* storage = w.storage().get();
    auto optimizer = kind.make({w});
    set_grad(w, {1, -1, 2, -2});
    step_without_recording_errors(kind.name, [&] { optimizer->step(); });
    EXPECT_EQ(optimizer->parameters()[0].impl_ptr().get(), impl)
        << kind.name << ": the optimizer's handle now points at another tensor; the model still holds the old one";
    EXPECT_EQ(w.storage().get(), storage) << kind.name << ": the parameter got new storage instead of an update in place";
    EXPECT_NE(model_handle.to_vector(), (std::vector<float>{1, 2, 3, 4}))
        << kind.name << ": the caller's tensor did not change: step() updated a copy (to_vector(), clone(), or a "
                        "local handle re-pointed by p = p - lr * g) instead of writing through data()";
  }
}

TEST(OptimizerContract, AStepIsNotRecorded) {
  for (const Kind& kind : every_optimizer()) {
    Tensor w = tensor({1, -2, 3}).requires_grad_();
    auto optimizer = kind.make({w});
    (w * w).sum().backward();
    step_without_recording_errors(kind.name, [&] { optimizer->step(); });
    EXPECT_EQ(autograd::grad_fn(w), nullptr)
        << kind.name << ": after step() the parameter has a grad_fn: the update was recorded as an op (run it under "
                        "NoGradGuard, in place), so the weight is no longer a leaf";
    EXPECT_TRUE(w.requires_grad()) << kind.name << ": the parameter must still require grad after a step";
    Tensor next = (w * w).sum();  // the next step's graph starts at the leaf, with nothing of the update in it
    ASSERT_NE(autograd::grad_fn(next), nullptr);
    EXPECT_THAT(autograd::graph_str(next), ::testing::Not(HasSubstr("sub")));
  }
}

TEST(OptimizerContract, AParameterWithoutAGradientIsLeftAlone) {
  for (const Kind& kind : every_optimizer()) {
    Tensor used = tensor({1, 2}).requires_grad_();
    Tensor frozen = tensor({5, 6}).requires_grad_();
    auto optimizer = kind.make({used, frozen});
    for (int step = 0; step < 3; ++step) {
      optimizer->zero_grad();
      (used * used).sum().backward();
      optimizer->step();
    }
    EXPECT_EQ(frozen.to_vector(), (std::vector<float>{5, 6}))
        << kind.name << ": a parameter with no gradient was moved (weight decay or momentum applied to a "
                        "parameter that took no part in the loss): skip it when its grad() is undefined";
    EXPECT_EQ(optimizer->state_bytes(), kind.state_floats * used.numel() * 4)
        << kind.name << ": state is kept only for parameters that have taken a step";
  }
}

TEST(OptimizerContract, ANonContiguousParameterIsAClearError) {
  Tensor w = randn({2, 3}, 5).requires_grad_();
  optim::SGD good({w}, 0.1);
  set_grad(w, {1, 1, 1, 1, 1, 1});
  good.step();  // the same optimizer, built right, steps
  Tensor view = randn({3, 2}, 6).t().requires_grad_();  // a leaf that is a transposed view
  optim::SGD sgd({view}, 0.1);
  view.mutable_grad() = ones({2, 3});
  const std::string message = error_message<std::invalid_argument>([&] { sgd.step(); });
  EXPECT_THAT(message, HasSubstr("parameter 0 [2, 3]"));
  EXPECT_THAT(message, HasSubstr("not contiguous"));
}

TEST(OptimizerContract, AGradientOfTheWrongShapeIsAClearError) {
  for (const Kind& kind : every_optimizer()) {
    Tensor a = zeros({2}).requires_grad_();
    Tensor w = zeros({2, 3}).requires_grad_();
    auto optimizer = kind.make({a, w});
    set_grad(a, {1, 1});
    optimizer->step();  // a right-shaped gradient steps
    w.mutable_grad() = ones({3, 2});
    const std::string message = error_message<ShapeError>([&] { optimizer->step(); });
    EXPECT_THAT(message, HasSubstr("parameter 1 [2, 3]")) << kind.name << ": call checked_grad(i) in step()";
    EXPECT_THAT(message, HasSubstr("[3, 2]"));
  }
}

TEST(OptimizerContract, StepUsesTheCurrentLearningRate) {
  for (const Kind& kind : every_optimizer()) {
    Tensor a = zeros({1}).requires_grad_();
    Tensor b = zeros({1}).requires_grad_();
    auto fast = kind.make({a});
    auto slow = kind.make({b});
    slow->set_lr(fast->lr() / 10);
    set_grad(a, {1});
    set_grad(b, {1});
    fast->step();
    slow->step();
    EXPECT_NEAR(b.item() / a.item(), 0.1, 1e-5)
        << kind.name << ": after set_lr() the step must use the new rate: read lr() in step(), not the options'";
  }
}

TEST(OptimizerErrors, ConstructionNamesWhatIsWrong) {
  Tensor w = zeros({2}).requires_grad_();
  optim::SGD sgd({w}, 0.1);
  set_grad(w, {1, 1});
  sgd.step();  // a well-made optimizer steps
  EXPECT_TRUE(close_to(w, {-0.1, -0.1}));
  EXPECT_THAT(error_message<std::invalid_argument>([&] { optim::SGD({w, w}, 0.1); }), HasSubstr("twice"));
  EXPECT_THAT(error_message<std::invalid_argument>([&] { optim::SGD({w * 2.0f}, 0.1); }), HasSubstr("not a leaf"));
  EXPECT_THAT(error_message<std::invalid_argument>([&] { optim::SGD({w}, -0.1); }), HasSubstr("learning rate: -0.1"));
  EXPECT_THAT(error_message<std::invalid_argument>([&] { optim::SGD(std::vector<Tensor>{}, 0.1); }),
              HasSubstr("empty"));
  EXPECT_THAT(error_message<std::invalid_argument>([&] { optim::Adam({w}, optim::AdamOptions().betas({0.9, 1.0})); }),
              HasSubstr("beta2"));
  EXPECT_THAT(error_message<std::invalid_argument>([&] { sgd.set_lr(std::nan("")); }), HasSubstr("learning rate"));
}

// ---------------------------------------------------------------------------------------
// SGD

TEST(OptimizerSGD, PlainStepsMatchPyTorch) {
  Tensor w = randn({5}, 10).requires_grad_();
  ReferenceSGD reference{.lr = 0.05, .weight_decay = 0.1};
  Vec expected = doubles(w);
  optim::SGD sgd({w}, optim::SGDOptions(0.05).weight_decay(0.1));
  for (int step = 0; step < 4; ++step) {
    const std::vector<float> g = gradient_at(step, 5, 1);
    set_grad(w, g);
    sgd.step();
    reference.step(expected, as_doubles(g));
    ASSERT_TRUE(close_to(w, expected)) << "after step " << step + 1
                                       << " (weight decay adds weight_decay * w, the weight before the step, to g)";
  }
}

TEST(OptimizerSGD, TheMomentumBufferStartsAtTheFirstGradient) {
  Tensor w = zeros({2}).requires_grad_();
  optim::SGD sgd({w}, optim::SGDOptions(0.1).momentum(0.9).dampening(0.5));
  set_grad(w, {1, -2});
  sgd.step();
  EXPECT_TRUE(close_to(w, {-0.1, 0.2}))
      << "the first step with momentum is lr * g: PyTorch's buffer starts as the first gradient itself. A buffer that "
         "starts at zero and takes the usual update gives (1 - dampening) * lr * g, half of it here";
  ASSERT_TRUE(sgd.state(0).momentum_buffer.defined());
  EXPECT_TRUE(close_to(sgd.state(0).momentum_buffer, {1, -2}));
  EXPECT_EQ(sgd.state(0).momentum_buffer.shape(), w.shape()) << "the buffer has the parameter's shape";
}

TEST(OptimizerSGD, MomentumMatchesPyTorchOverSeveralSteps) {
  Tensor w = randn({2, 3}, 11).requires_grad_();
  ReferenceSGD reference{.lr = 0.05, .momentum = 0.9, .dampening = 0.1, .weight_decay = 0.01};
  Vec expected = doubles(w);
  optim::SGD sgd({w}, optim::SGDOptions(0.05).momentum(0.9).dampening(0.1).weight_decay(0.01));
  for (int step = 0; step < 6; ++step) {
    const std::vector<float> g = gradient_at(step, 6, 2);
    set_grad(w, g);
    sgd.step();
    reference.step(expected, as_doubles(g));
    ASSERT_TRUE(close_to(w, expected))
        << "after step " << step + 1 << ": the buffer is momentum * b + (1 - dampening) * d (a sum that grows to "
        << "1 / (1 - momentum) gradients, not an average such as momentum * b + (1 - momentum) * d)";
  }
}

TEST(OptimizerSGD, NesterovMatchesPyTorch) {
  Tensor w = randn({4}, 12).requires_grad_();
  ReferenceSGD reference{.lr = 0.02, .momentum = 0.8, .weight_decay = 0.05, .nesterov = true};
  Vec expected = doubles(w);
  optim::SGD sgd({w}, optim::SGDOptions(0.02).momentum(0.8).weight_decay(0.05).nesterov(true));
  for (int step = 0; step < 5; ++step) {
    const std::vector<float> g = gradient_at(step, 4, 3);
    set_grad(w, g);
    sgd.step();
    reference.step(expected, as_doubles(g));
    ASSERT_TRUE(close_to(w, expected))
        << "after step " << step + 1 << ": Nesterov steps by d + momentum * b, with b already updated this step";
  }
}

TEST(OptimizerSGD, NesterovNeedsMomentumAndNoDampening) {
  Tensor w = zeros({1}).requires_grad_();
  optim::SGD nesterov({w}, optim::SGDOptions(0.1).momentum(0.5).nesterov(true));
  set_grad(w, {1});
  nesterov.step();
  EXPECT_TRUE(close_to(w, {-0.1 * (1 + 0.5 * 1)})) << "Nesterov's first step: lr * (g + momentum * g)";
  EXPECT_THAT(error_message<std::invalid_argument>([&] { optim::SGD({w}, optim::SGDOptions(0.1).nesterov(true)); }),
              HasSubstr("Nesterov momentum requires a momentum > 0 and zero dampening"));
  EXPECT_THAT(error_message<std::invalid_argument>(
                  [&] { optim::SGD({w}, optim::SGDOptions(0.1).momentum(0.9).dampening(0.1).nesterov(true)); }),
              HasSubstr("dampening 0.1"));
}

TEST(OptimizerSGD, TheMomentumBufferIsUpdatedInPlace) {
  Tensor w = zeros({3}).requires_grad_();
  optim::SGD sgd({w}, optim::SGDOptions(0.1).momentum(0.9));
  set_grad(w, {1, 2, 3});
  sgd.step();
  const Storage* buffer = sgd.state(0).momentum_buffer.storage().get();
  set_grad(w, {1, 2, 3});
  sgd.step();
  EXPECT_EQ(sgd.state(0).momentum_buffer.storage().get(), buffer)
      << "the momentum buffer was replaced at step 2: allocate it once, at the first step, and update it in place";
  EXPECT_TRUE(close_to(sgd.state(0).momentum_buffer, {1.9, 3.8, 5.7}));
}

TEST(OptimizerSGD, AZeroGradientIsNotNoGradient) {
  Tensor w = zeros({1}).requires_grad_();
  optim::SGD sgd({w}, optim::SGDOptions(0.1).momentum(0.9));
  set_grad(w, {1});
  sgd.step();  // velocity 1, w = -0.1
  sgd.zero_grad(/*set_to_none=*/false);
  sgd.step();  // a zero gradient: the velocity still carries the weight, 0.9 * 1
  EXPECT_TRUE(close_to(w, {-0.1 - 0.09})) << "with a zero gradient momentum still moves the weight";
  sgd.zero_grad();
  sgd.step();  // no gradient: skipped
  EXPECT_TRUE(close_to(w, {-0.19})) << "with no gradient at all (zero_grad's default) the parameter is skipped";
}

// ---------------------------------------------------------------------------------------
// Adam and AdamW

TEST(OptimizerAdam, TheFirstStepIsLrTimesTheSign) {
  Tensor w = zeros({3}).requires_grad_();
  optim::Adam adam({w}, optim::AdamOptions(0.01));
  set_grad(w, {2, -0.5f, 1e-3f});
  adam.step();
  const Vec moved = doubles(w);
  const Vec expected = {-0.01 * 2 / (2 + 1e-8), 0.01 * 0.5 / (0.5 + 1e-8), -0.01 * 1e-3 / (1e-3 + 1e-8)};
  EXPECT_TRUE(close_to(w, expected))
      << "Adam's first step moves each weight by lr * g / (|g| + eps), about lr whatever |g|; it moved the first by "
      << -moved[0] / 0.01 << " lr. Without bias correction it is about 3.16 lr (m = 0.1 g, sqrt(v) = 0.0316 |g|): "
      << "divide by 1 - beta^t";
}

TEST(OptimizerAdam, MatchesPyTorchOverSeveralSteps) {
  Tensor a = randn({2, 2}, 13).requires_grad_();
  Tensor b = randn({3}, 14).requires_grad_();
  ReferenceAdam ra{.lr = 0.01, .beta1 = 0.8, .beta2 = 0.95, .eps = 1e-6};
  ReferenceAdam rb = ra;
  Vec ea = doubles(a), eb = doubles(b);
  optim::Adam adam({a, b}, optim::AdamOptions(0.01).betas({0.8, 0.95}).eps(1e-6));
  for (int step = 0; step < 6; ++step) {
    const std::vector<float> ga = gradient_at(step, 4, 4), gb = gradient_at(step, 3, 5);
    set_grad(a, ga);
    set_grad(b, gb);
    adam.step();
    ra.step(ea, as_doubles(ga));
    rb.step(eb, as_doubles(gb));
    ASSERT_TRUE(close_to(a, ea)) << "parameter 0 after step " << step + 1;
    ASSERT_TRUE(close_to(b, eb)) << "parameter 1 after step " << step + 1;
  }
  EXPECT_EQ(adam.state(1).step, 6);
  EXPECT_TRUE(close_to(adam.state(1).exp_avg, rb.m));
  EXPECT_TRUE(close_to(adam.state(1).exp_avg_sq, rb.v));
}

TEST(OptimizerAdam, WeightDecayIsAddedToTheGradient) {
  Tensor w = tensor({4}).requires_grad_();
  optim::Adam adam({w}, optim::AdamOptions(0.1).weight_decay(0.5));
  set_grad(w, {0});
  adam.step();
  EXPECT_TRUE(close_to(w, {3.9}))
      << "Adam's weight_decay is L2: g + weight_decay * w goes through the moments, so with g = 0 the weight moves by "
         "about lr (3.9). 3.8 is AdamW's decoupled decay, 4 * (1 - lr * weight_decay): not Adam's";
}

TEST(OptimizerAdamW, DecaysTheWeightNotTheGradient) {
  Tensor w = tensor({4}).requires_grad_();
  Tensor v = tensor({-2, 3}).requires_grad_();
  optim::AdamW adamw({w, v}, optim::AdamWOptions(0.1).weight_decay(0.5));
  set_grad(w, {0});
  set_grad(v, {0, 0});
  adamw.step();
  EXPECT_TRUE(close_to(w, {3.8}))
      << "AdamW multiplies the weight by 1 - lr * weight_decay and leaves the gradient alone: 4 -> 3.8. 3.9 is "
         "Adam's L2 (decay through the gradient); 3.7 is both at once";
  EXPECT_TRUE(close_to(v, {-1.9, 2.85}));
}

TEST(OptimizerAdamW, MatchesPyTorchOverSeveralSteps) {
  Tensor w = randn({5}, 15).requires_grad_();
  ReferenceAdam reference{.lr = 0.02, .beta1 = 0.9, .beta2 = 0.99, .weight_decay = 0.1, .decoupled = true};
  Vec expected = doubles(w);
  optim::AdamW adamw({w}, optim::AdamWOptions(0.02).betas({0.9, 0.99}).weight_decay(0.1));
  for (int step = 0; step < 6; ++step) {
    const std::vector<float> g = gradient_at(step, 5, 6);
    set_grad(w, g);
    adamw.step();
    reference.step(expected, as_doubles(g));
    ASSERT_TRUE(close_to(w, expected)) << "after step " << step + 1;
  }
}

TEST(OptimizerAdamW, DefaultsAreLibtorchs) {
  Tensor w = tensor({1}).requires_grad_();
  optim::AdamW adamw({w});
  EXPECT_DOUBLE_EQ(adamw.options().weight_decay(), 0.01);
  EXPECT_DOUBLE_EQ(adamw.options().lr(), 1e-3);
  set_grad(w, {0});
  adamw.step();
  EXPECT_TRUE(close_to(w, {1 - 1e-3 * 0.01}, 1e-7, 0)) << "a zero gradient with the defaults: w * (1 - 1e-3 * 0.01)";
}

TEST(OptimizerAdam, StateIsPerParameterAndUpdatedInPlace) {
  Tensor a = zeros({2}).requires_grad_();
  Tensor b = zeros({2}).requires_grad_();
  optim::Adam adam({a, b}, optim::AdamOptions(0.1));
  set_grad(a, {1, 1});
  adam.step();  // b has no gradient: it takes no step, and its count stays 0
  EXPECT_EQ(adam.state(0).step, 1);
  EXPECT_EQ(adam.state(1).step, 0);
  EXPECT_FALSE(adam.state(1).exp_avg.defined());
  const Storage* moments = adam.state(0).exp_avg.storage().get();
  set_grad(a, {1, 1});
  set_grad(b, {1, 1});
  adam.step();
  EXPECT_EQ(adam.state(0).exp_avg.storage().get(), moments) << "the moments are updated in place, not reallocated";
  EXPECT_EQ(adam.state(1).step, 1);
  EXPECT_TRUE(close_to(b, {-0.1, -0.1})) << "b's first step is a first step: its bias correction uses its own count";
}

TEST(OptimizerState, AdamKeepsTwoFloatsPerParameterMomentumOne) {
  auto make = [] {
    Tensor w = zeros({100, 10}).requires_grad_();
    set_grad(w, std::vector<float>(1000, 1.0f));
    return w;
  };
  optim::SGD plain({make()}, 0.1);
  optim::SGD momentum({make()}, optim::SGDOptions(0.1).momentum(0.9));
  optim::Adam adam({make()});
  plain.step();
  momentum.step();
  adam.step();
  EXPECT_EQ(plain.state_bytes(), 0);
  EXPECT_EQ(momentum.state_bytes(), 4000);
  EXPECT_EQ(adam.state_bytes(), 8000);
}

TEST(OptimizerAdam, TheKernelWorksOnRawBuffers) {
  std::vector<float> w = {1, -1, 0.5f, 2};
  const std::vector<float> g = {0.3f, -0.2f, 0.0f, 1.5f};
  std::vector<float> m(4, 0.0f), v(4, 0.0f);
  ReferenceAdam reference{.lr = 0.05, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8, .weight_decay = 0.2};
  Vec expected(w.begin(), w.end());
  for (int t = 1; t <= 3; ++t) {
    optim::AdamStep s{0.9, 0.999, 1e-8, optim::adam_bias_correction(0.05, 0.9, 0.999, t)};
    s.l2 = 0.2;
    optim::adam_update(w.data(), g.data(), m.data(), v.data(), 4, s);
    reference.step(expected, as_doubles(g));
  }
  EXPECT_TRUE(close_to(Tensor(w, {4}), expected)) << "three steps of adam_update with l2 = 0.2";
  EXPECT_TRUE(close_to(Tensor(m, {4}), reference.m));
}

// ---------------------------------------------------------------------------------------
// Learning-rate schedules

TEST(OptimizerSchedule, StepLRDropsAfterEveryStepSizeEpochs) {
  Tensor w = zeros({1}).requires_grad_();
  optim::SGD sgd({w}, 0.1);
  optim::StepLR scheduler(sgd, 3, 0.1);
  const Vec expected = {0.1, 0.1, 0.1, 0.01, 0.01, 0.01, 0.001, 0.001};
  for (std::size_t epoch = 0; epoch < expected.size(); ++epoch) {
    EXPECT_NEAR(scheduler.get_last_lr(), expected[epoch], 1e-12)
        << "epoch " << epoch << ": epochs 0-2 train at 0.1, 3-5 at 0.01. A schedule off by one epoch uses "
        << "(epoch + 1) / step_size, or drops at epoch 0";
    EXPECT_DOUBLE_EQ(sgd.lr(), scheduler.get_last_lr()) << "the scheduler sets the optimizer's learning rate";
    EXPECT_EQ(scheduler.last_epoch(), static_cast<int64_t>(epoch));
    scheduler.step();
  }
}

TEST(OptimizerSchedule, CosineAnnealingGoesFromTheBaseRateToEtaMin) {
  Tensor w = zeros({1}).requires_grad_();
  optim::SGD sgd({w}, 0.1);
  optim::CosineAnnealingLR scheduler(sgd, 4, 0.01);
  const double pi = 3.14159265358979323846;
  for (int epoch = 0; epoch <= 4; ++epoch) {
    const double expected = 0.01 + 0.09 * (1 + std::cos(pi * epoch / 4)) / 2;
    EXPECT_NEAR(scheduler.get_last_lr(), expected, 1e-12)
        << "epoch " << epoch << " of T_max 4: epoch 0 is the base rate, epoch T_max is eta_min (convert to double "
        << "before dividing epoch by T_max)";
    scheduler.step();
  }
}

TEST(OptimizerSchedule, TheOptimizerStepsAtTheScheduledRate) {
  Tensor w = zeros({1}).requires_grad_();
  optim::SGD sgd({w}, 1.0);
  optim::LinearLR warmup(sgd, 0.25, 1.0, 3);  // factors 0.25, 0.5, 0.75, 1, 1, ...
  Vec positions;
  for (int epoch = 0; epoch < 5; ++epoch) {
    set_grad(w, {1});
    sgd.step();
    positions.push_back(w.item());
    warmup.step();
  }
  EXPECT_TRUE(close_to(Tensor(std::vector<float>(positions.begin(), positions.end()), {5}),
                       {-0.25, -0.75, -1.5, -2.5, -3.5}))
      << "a warm-up from 0.25 to 1 over 3 epochs: each epoch's step uses that epoch's rate";
}

TEST(OptimizerSchedule, BadArgumentsAreClearErrors) {
  Tensor w = zeros({1}).requires_grad_();
  optim::SGD sgd({w}, 0.1);
  optim::StepLR good(sgd, 1, 0.5);
  good.step();
  EXPECT_NEAR(sgd.lr(), 0.05, 1e-12);
  EXPECT_THAT(error_message<std::invalid_argument>([&] { optim::StepLR(sgd, 0); }), HasSubstr("step_size"));
  EXPECT_THAT(error_message<std::invalid_argument>([&] { optim::CosineAnnealingLR(sgd, 0); }), HasSubstr("T_max"));
}

// ---------------------------------------------------------------------------------------
// Gradient clipping

TEST(OptimizerClip, TheNormIsTakenOverAllParametersTogether) {
  Tensor a = zeros({2}).requires_grad_();
  Tensor b = zeros({1}).requires_grad_();
  Tensor no_grad = zeros({3}).requires_grad_();
  set_grad(a, {3, 4});
  set_grad(b, {12});
  const double total = nn::utils::clip_grad_norm_({a, no_grad, b}, 6.5);
  EXPECT_NEAR(total, 13.0, 1e-6) << "the 2-norm of all gradients as one vector is sqrt(9 + 16 + 144) = 13; 17 is the "
                                    "sum of per-parameter norms, 12 the largest of them";
  const double coef = 6.5 / (13.0 + 1e-6);
  EXPECT_TRUE(close_to(a.grad(), {3 * coef, 4 * coef}))
      << "every gradient is scaled by the same max_norm / (total_norm + 1e-6): clipping each parameter to max_norm on "
         "its own changes the step's direction";
  EXPECT_TRUE(close_to(b.grad(), {12 * coef}));
  EXPECT_FALSE(no_grad.grad().defined()) << "a parameter without a gradient is skipped, and gets none";
}

TEST(OptimizerClip, SmallGradientsAreLeftAlone) {
  Tensor a = zeros({2}).requires_grad_();
  set_grad(a, {0.3f, 0.4f});
  const Tensor before = a.grad();
  EXPECT_NEAR(nn::utils::clip_grad_norm_({a}, 1.0), 0.5, 1e-6);
  EXPECT_EQ(a.grad().impl_ptr(), before.impl_ptr());
  EXPECT_EQ(a.grad().to_vector(), (std::vector<float>{0.3f, 0.4f}));
}

TEST(OptimizerClip, ANonFiniteNormIsHandledAsPyTorchDoes) {
  const float inf = std::numeric_limits<float>::infinity();
  Tensor a = zeros({2}).requires_grad_();
  Tensor b = zeros({1}).requires_grad_();
  set_grad(a, {1, inf});
  set_grad(b, {2});
  EXPECT_TRUE(std::isinf(nn::utils::clip_grad_norm_({a, b}, 1.0))) << "the infinite norm is returned, for you to check";
  EXPECT_EQ(b.grad().item(), 0.0f) << "PyTorch's default scales by max_norm / inf = 0";
  EXPECT_TRUE(std::isnan(a.grad().to_vector()[1])) << "inf * 0 is NaN, as in PyTorch";
  set_grad(a, {1, inf});
  const std::string message =
      error_message<std::runtime_error>([&] { nn::utils::clip_grad_norm_({a, b}, 1.0, 2.0, /*error_if_nonfinite=*/true); });
  EXPECT_THAT(message, HasSubstr("inf"));
  EXPECT_THAT(message, HasSubstr("cannot be clipped"));
}

TEST(OptimizerClip, OtherNorms) {
  EXPECT_NEAR(nn::utils::get_total_norm({tensor({3, -4}), Tensor(), tensor({1})}, INFINITY), 4.0, 1e-12)
      << "the infinity norm is the largest |x| (undefined tensors are skipped)";
  EXPECT_NEAR(nn::utils::get_total_norm({tensor({3, -4}), tensor({1})}, 1.0), 8.0, 1e-12);
  EXPECT_NEAR(nn::utils::get_total_norm({tensor({3, -4}), tensor({1})}, 3.0), std::cbrt(27.0 + 64 + 1), 1e-9);
  EXPECT_NEAR(nn::utils::get_total_norm({}), 0.0, 0.0);
}

TEST(OptimizerClip, ClipGradValueClampsEachElement) {
  Tensor a = zeros({3}).requires_grad_();
  set_grad(a, {-5, 0.5f, 7});
  nn::utils::clip_grad_value_({a}, 1.0);
  EXPECT_EQ(a.grad().to_vector(), (std::vector<float>{-1, 0.5f, 1}));
  EXPECT_NEAR(nn::utils::get_total_norm({a.grad()}), std::sqrt(2.25), 1e-6);
}

// ---------------------------------------------------------------------------------------
// Integration: modules 01, 02, 05 and 06 as a student uses them

TEST(OptimizerIntegration, EveryOptimizerFitsALinearRegression) {
  const Tensor x = randn({64, 3}, 20);
  const Tensor y = x.matmul(tensor({{2}, {-1}, {0.5f}})) + 0.3f + 0.01f * randn({64, 1}, 21);
  const std::vector<Kind> kinds = {
      {"SGD", [](std::vector<Tensor> p) { return std::make_unique<optim::SGD>(p, optim::SGDOptions(0.1)); }},
      {"SGD with momentum",
       [](std::vector<Tensor> p) { return std::make_unique<optim::SGD>(p, optim::SGDOptions(0.02).momentum(0.9)); }},
      {"SGD with Nesterov momentum",
       [](std::vector<Tensor> p) {
         return std::make_unique<optim::SGD>(p, optim::SGDOptions(0.02).momentum(0.9).nesterov(true));
       }},
      {"Adam", [](std::vector<Tensor> p) { return std::make_unique<optim::Adam>(p, optim::AdamOptions(0.05)); }},
      {"AdamW", [](std::vector<Tensor> p) { return std::make_unique<optim::AdamW>(p, optim::AdamWOptions(0.05)); }},
  };
  for (const Kind& kind : kinds) {
    Tensor w = zeros({3, 1}).requires_grad_();
    Tensor b = zeros({1}).requires_grad_();
    auto optimizer = kind.make({w, b});
    float first = 0, last = 0;
    for (int step = 0; step < 300; ++step) {
      optimizer->zero_grad();
      const Tensor error = x.matmul(w) + b - y;
      const Tensor loss = (error * error).mean();
      if (step == 0) first = loss.item();
      last = loss.item();
      loss.backward();
      optimizer->step();
    }
    EXPECT_GT(first, 1.0f);
    EXPECT_LT(last, 1e-3f) << kind.name << ": the loss went from " << first << " to " << last;
    EXPECT_TRUE(close_to(w, {2, -1, 0.5}, 0, 0.02)) << kind.name << " found the wrong weights";
  }
}

TEST(OptimizerIntegration, SoftmaxRegressionWithAdamWAScheduleAndClipping) {
  // Three clusters in the plane, 30 points each.
  const float centres[3][2] = {{-2, 0}, {2, 0}, {0, 2.5f}};
  const std::vector<float> noise = randn({90, 2}, 22).to_vector();
  std::vector<float> points, onehot;
  for (int i = 0; i < 90; ++i) {
    const int c = i % 3;
    points.push_back(centres[c][0] + 0.5f * noise[2 * i]);
    points.push_back(centres[c][1] + 0.5f * noise[2 * i + 1]);
    for (int k = 0; k < 3; ++k) onehot.push_back(k == c ? 1.0f : 0.0f);
  }
  const Tensor x(points, {90, 2});
  const Tensor target(onehot, {90, 3});
  Tensor w = (0.1f * randn({2, 3}, 23)).requires_grad_();
  Tensor b = zeros({3}).requires_grad_();
  optim::AdamW optimizer({w, b}, optim::AdamWOptions(0.1));
  optim::CosineAnnealingLR schedule(optimizer, 20);
  float loss_value = 0;
  for (int epoch = 0; epoch < 20; ++epoch) {
    for (int step = 0; step < 10; ++step) {
      optimizer.zero_grad();
      const Tensor loss = -(target * log_softmax(x.matmul(w) + b, 1)).sum(1).mean();
      loss_value = loss.item();
      loss.backward();
      nn::utils::clip_grad_norm_({w, b}, 1.0);
      optimizer.step();
    }
    schedule.step();
  }
  EXPECT_LT(loss_value, 0.15f);
  NoGradGuard no_grad;
  const std::vector<float> logits = (x.matmul(w) + b).to_vector();
  int correct = 0;
  for (int i = 0; i < 90; ++i) {
    const float* row = &logits[static_cast<std::size_t>(3 * i)];
    const int predicted = static_cast<int>(std::max_element(row, row + 3) - row);
    correct += predicted == i % 3;
  }
  EXPECT_GE(correct, 87) << "of 90 points classified correctly";
}

// BEGIN HIDDEN TESTS
TEST(OptimizerHidden, SGDWithSeveralParametersAndAGapInTheGradients) {
  Tensor a = randn({3, 2}, 30).requires_grad_();
  Tensor b = randn({4}, 31).requires_grad_();
  ReferenceSGD ra{.lr = 0.03, .momentum = 0.7, .weight_decay = 0.2, .nesterov = true};
  ReferenceSGD rb = ra;
  Vec ea = doubles(a), eb = doubles(b);
  optim::SGD sgd({a, b}, optim::SGDOptions(0.03).momentum(0.7).weight_decay(0.2).nesterov(true));
  for (int step = 0; step < 5; ++step) {
    sgd.zero_grad();
    const std::vector<float> ga = gradient_at(step, 6, 7), gb = gradient_at(step, 4, 8);
    set_grad(a, ga);
    if (step != 2) set_grad(b, gb);  // b sits out step 3
    sgd.step();
    ra.step(ea, as_doubles(ga));
    if (step != 2) rb.step(eb, as_doubles(gb));
    ASSERT_TRUE(close_to(a, ea)) << "a, step " << step + 1;
    ASSERT_TRUE(close_to(b, eb)) << "b, step " << step + 1;
  }
}

TEST(OptimizerHidden, AdamCountsStepsPerParameter) {
  Tensor a = randn({2}, 32).requires_grad_();
  Tensor b = randn({2}, 33).requires_grad_();
  ReferenceAdam ra{.lr = 0.05, .weight_decay = 0.1};
  ReferenceAdam rb = ra;
  Vec ea = doubles(a), eb = doubles(b);
  optim::Adam adam({a, b}, optim::AdamOptions(0.05).weight_decay(0.1));
  for (int step = 0; step < 5; ++step) {
    adam.zero_grad();
    const std::vector<float> ga = gradient_at(step, 2, 9), gb = gradient_at(step, 2, 10);
    set_grad(a, ga);
    if (step >= 2) set_grad(b, gb);
    adam.step();
    ra.step(ea, as_doubles(ga));
    if (step >= 2) rb.step(eb, as_doubles(gb));
  }
  EXPECT_TRUE(close_to(a, ea));
  EXPECT_TRUE(close_to(b, eb));
  EXPECT_EQ(adam.state(1).step, 3);
}

TEST(OptimizerHidden, AdamWWithLargeDecayAndRealGradients) {
  Tensor w = randn({6}, 34).requires_grad_();
  ReferenceAdam reference{.lr = 0.1, .beta1 = 0.5, .beta2 = 0.9, .eps = 1e-4, .weight_decay = 2.0, .decoupled = true};
  Vec expected = doubles(w);
  optim::AdamW adamw({w}, optim::AdamWOptions(0.1).betas({0.5, 0.9}).eps(1e-4).weight_decay(2.0));
  for (int step = 0; step < 4; ++step) {
    const std::vector<float> g = gradient_at(step, 6, 11);
    set_grad(w, g);
    adamw.step();
    reference.step(expected, as_doubles(g));
  }
  EXPECT_TRUE(close_to(w, expected));
}

TEST(OptimizerHidden, AdamWFollowsTheScheduledRateInItsDecay) {
  Tensor w = tensor({10}).requires_grad_();
  optim::AdamW adamw({w}, optim::AdamWOptions(0.1).weight_decay(1.0));
  adamw.set_lr(0.2);
  set_grad(w, {0});
  adamw.step();
  EXPECT_TRUE(close_to(w, {8.0})) << "decay_factor is 1 - lr() * weight_decay with this step's lr";
}

TEST(OptimizerHidden, SchedulesPastTheEndAndOtherParameters) {
  Tensor w = zeros({1}).requires_grad_();
  optim::SGD a({w}, 0.2);
  optim::CosineAnnealingLR cosine(a, 2);
  EXPECT_NEAR(cosine.lr_at(3), 0.1, 1e-12) << "past T_max the cosine rises again, as PyTorch's closed form";
  EXPECT_NEAR(cosine.lr_at(4), 0.2, 1e-12);
  optim::SGD b({w}, 1.0);
  optim::StepLR step_lr(b, 1, 0.5);
  for (int i = 0; i < 4; ++i) step_lr.step();
  EXPECT_NEAR(b.lr(), 0.0625, 1e-12);
}

TEST(OptimizerHidden, ANaNGradientMakesEveryGradientNaN) {
  Tensor a = zeros({2}).requires_grad_();
  Tensor b = zeros({1}).requires_grad_();
  set_grad(a, {1, std::nanf("")});
  set_grad(b, {2});
  EXPECT_TRUE(std::isnan(nn::utils::clip_grad_norm_({a, b}, 1.0)));
  EXPECT_TRUE(std::isnan(b.grad().item())) << "PyTorch scales by clamp(NaN, max = 1) = NaN";
  EXPECT_TRUE(std::isnan(nn::utils::get_total_norm({tensor({1, 5}), tensor({std::nanf(""), 2})}, INFINITY)))
      << "the infinity norm of a NaN gradient is NaN";
}

TEST(OptimizerHidden, ClipByTheInfinityNorm) {
  Tensor a = zeros({3}).requires_grad_();
  set_grad(a, {1, -8, 2});
  EXPECT_NEAR(nn::utils::clip_grad_norm_({a}, 4.0, INFINITY), 8.0, 1e-9);
  const double coef = 4.0 / (8.0 + 1e-6);
  EXPECT_TRUE(close_to(a.grad(), {coef, -8 * coef, 2 * coef}));
}

TEST(OptimizerHidden, ZeroGradOnManyParameters) {
  std::vector<Tensor> params;
  for (int i = 0; i < 5; ++i) params.push_back(randn({2}, 40 + i).requires_grad_());
  optim::Adam adam(params);
  for (const Tensor& p : params) set_grad(p, {1, 1});
  adam.zero_grad(false);
  for (const Tensor& p : params) EXPECT_EQ(p.grad().to_vector(), (std::vector<float>{0, 0}));
  adam.zero_grad();
  for (const Tensor& p : params) EXPECT_FALSE(p.grad().defined());
}
// END HIDDEN TESTS

}  // namespace
