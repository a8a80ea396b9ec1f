// Tests for module 05 (autograd): the public API of <tinytorch/core/autograd.hpp>, and the
// contract that the ops of modules 01-04 become differentiable without being edited.
// Linked with gtest_main, together with the quick tests in autograd_dev.cpp.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <tinytorch/core/autograd.hpp>
#include <tinytorch/core/layers.hpp>
#include <tinytorch/core/losses.hpp>
#include <tinytorch/testing.hpp>

// Outside the anonymous namespace and never inlined, like a function of a student's program:
// anomaly mode reads its name from the program's exported symbols.
[[gnu::noinline]] tinytorch::Tensor loss_with_a_bad_sqrt(const tinytorch::Tensor& v) {
  return tinytorch::sqrt((v - v.detach()) * 1.0f).sum();
}

namespace {

using namespace tinytorch;
using tinytorch::testing::all_finite;
using tinytorch::testing::error_message;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

using Function = std::function<Tensor(const std::vector<Tensor>&)>;

// Gradient check with the module's float32 tolerances; the failure message is gradcheck's report.
void expect_gradients_match(const char* what, const Function& f, const std::vector<Tensor>& inputs,
                            uint64_t seed = 11) {
  const autograd::GradcheckResult result = autograd::gradcheck(f, inputs, {.seed = seed});
  EXPECT_TRUE(result.ok) << what << ": autograd disagrees with finite differences\n" << result.report;
}

Tensor leaf(Tensor t) { return t.requires_grad_(); }
// Uniform in [low, high): inputs kept away from the kinks and poles of relu, abs, log, sqrt.
Tensor uniform(Shape shape, float low, float high, uint64_t seed) { return rand(std::move(shape), seed) * (high - low) + low; }
// Values of random sign with magnitude in [0.2, 2): no element near 0.
Tensor away_from_zero(Shape shape, uint64_t seed) {
  Tensor magnitude = uniform(shape, 0.2f, 2.0f, seed);
  Tensor sign = map(rand(shape, seed + 1000), [](float u) { return u < 0.5f ? -1.0f : 1.0f; });
  return magnitude * sign;
}

// ---------------------------------------------------------------------------------------
// Every op of modules 01 and 02, against finite differences with a random upstream gradient.

TEST(AutogradOps, ElementwiseArithmeticWithBroadcasting) {
  const Tensor a = leaf(randn({3, 4}, 1));
  const Tensor row = leaf(randn({4}, 2));
  const Tensor column = leaf(randn({3, 1}, 3));
  const Tensor positive = leaf(uniform({3, 4}, 0.5f, 2.0f, 4));
  expect_gradients_match("add", [](const auto& v) { return v[0] + v[1]; }, {a, row});
  expect_gradients_match("sub", [](const auto& v) { return v[0] - v[1]; }, {column, a});
  expect_gradients_match("mul", [](const auto& v) { return v[0] * v[1]; }, {column, row});
  expect_gradients_match("div", [](const auto& v) { return v[0] / v[1]; }, {row, positive});
  expect_gradients_match("x * x", [](const auto& v) { return v[0] * v[0]; }, {a});
  // module 01 reads a permuted input and a stride-0 bias in place: the gradients must not notice
  const Tensor channels_first = leaf(randn({3, 2, 2, 4}, 8));
  const Tensor bias = leaf(randn({3}, 9));
  expect_gradients_match(
      "permuted [N, C, H, W] + bias [1, C, 1, 1]",
      [](const auto& v) { return v[0].permute({1, 0, 2, 3}) + v[1].view({1, 3, 1, 1}); }, {channels_first, bias});
  expect_gradients_match(
      "bias [1, C, 1, 1] * permuted [N, C, H, W]",
      [](const auto& v) { return v[1].view({1, 3, 1, 1}) * v[0].permute({1, 0, 2, 3}); }, {channels_first, bias});
}

TEST(AutogradOps, OpsWithANumber) {
  const Tensor a = leaf(randn({2, 3}, 5));
  const Tensor positive = leaf(uniform({2, 3}, 0.5f, 2.0f, 6));
  expect_gradients_match("x + c, x - c", [](const auto& v) { return (v[0] + 2.0f) - 0.5f; }, {a});
  expect_gradients_match("x * c, x / c", [](const auto& v) { return v[0] * 3.0f / 4.0f; }, {a});
  expect_gradients_match("c - x, -x", [](const auto& v) { return 1.0f - (-v[0]); }, {a});
  expect_gradients_match("c / x", [](const auto& v) { return 2.0f / v[0]; }, {positive});
}

TEST(AutogradOps, Reductions) {
  const Tensor a = leaf(randn({3, 4, 2}, 7));
  expect_gradients_match("sum()", [](const auto& v) { return v[0].sum(); }, {a});
  expect_gradients_match("sum(axis)", [](const auto& v) { return v[0].sum(1); }, {a});
  expect_gradients_match("sum(-1, keepdim)", [](const auto& v) { return v[0].sum(-1, true); }, {a});
  expect_gradients_match("mean()", [](const auto& v) { return v[0].mean(); }, {a});
  expect_gradients_match("mean(axis)", [](const auto& v) { return v[0].mean(0); }, {a});
  expect_gradients_match("max()", [](const auto& v) { return v[0].max(); }, {a});
  expect_gradients_match("max(axis)", [](const auto& v) { return v[0].max(1); }, {a});
  expect_gradients_match("max(0, keepdim)", [](const auto& v) { return v[0].max(0, true); }, {a});
}

TEST(AutogradOps, MaxSplitsTheGradientBetweenTies) {
  Tensor x = leaf(tensor({{1, 5, 5}, {7, 2, 3}}));
  x.max(1).sum().backward();
  EXPECT_THAT(x.grad().to_vector(), ElementsAre(0, 0.5f, 0.5f, 1, 0, 0))
      << "the gradient goes to each slice's maximum only, shared equally between ties";
}

TEST(AutogradOps, MatrixProducts) {
  const Tensor a = leaf(randn({3, 4}, 8));
  const Tensor b = leaf(randn({4, 5}, 9));
  const Tensor v = leaf(randn({4}, 10));
  const Tensor u = leaf(randn({3}, 12));
  expect_gradients_match("matrix @ matrix", [](const auto& x) { return x[0].matmul(x[1]); }, {a, b});
  expect_gradients_match("matrix @ vector", [](const auto& x) { return x[0].matmul(x[1]); }, {a, v});
  expect_gradients_match("vector @ matrix", [](const auto& x) { return x[0].matmul(x[1]); }, {u, a});
  expect_gradients_match("vector @ vector", [](const auto& x) { return x[0].matmul(x[1]); }, {v, v});
  expect_gradients_match("transposed operands", [](const auto& x) { return x[1].t().matmul(x[0].t()); }, {a, b});
}

TEST(AutogradOps, Views) {
  const Tensor a = leaf(randn({2, 3, 4}, 13));
  const Tensor row = leaf(randn({4}, 14));
  expect_gradients_match("transpose", [](const auto& v) { return v[0].transpose(0, 2); }, {a});
  expect_gradients_match("view, reshape, flatten", [](const auto& v) { return v[0].view({6, 4}).reshape({4, 6}).flatten(); }, {a});
  expect_gradients_match("reshape of a transposed view", [](const auto& v) { return v[0].transpose(1, 2).reshape({-1}); }, {a});
  expect_gradients_match("permute", [](const auto& v) { return v[0].permute({2, 0, 1}); }, {a});
  expect_gradients_match("unsqueeze, squeeze", [](const auto& v) { return v[0].unsqueeze(1).squeeze(0 + 1); }, {a});
  expect_gradients_match("expand", [](const auto& v) { return v[0].expand({3, 4}); }, {row});
  expect_gradients_match("clone, contiguous", [](const auto& v) { return v[0].t().contiguous().clone(); }, {row.reshape({2, 2})});
}

TEST(AutogradOps, ElementwiseMath) {
  const Tensor a = leaf(randn({3, 4}, 15));
  const Tensor positive = leaf(uniform({3, 4}, 0.3f, 3.0f, 16));
  const Tensor signed_away = leaf(away_from_zero({3, 4}, 17));
  expect_gradients_match("exp", [](const auto& v) { return exp(v[0]); }, {a});
  expect_gradients_match("log", [](const auto& v) { return log(v[0]); }, {positive});
  expect_gradients_match("sqrt", [](const auto& v) { return sqrt(v[0]); }, {positive});
  expect_gradients_match("abs", [](const auto& v) { return abs(v[0]); }, {signed_away});
  expect_gradients_match("pow 3", [](const auto& v) { return pow(v[0], 3.0f); }, {a});
  expect_gradients_match("pow 2", [](const auto& v) { return pow(v[0], 2.0f); }, {a});
  expect_gradients_match("pow 0.5", [](const auto& v) { return pow(v[0], 0.5f); }, {positive});
  expect_gradients_match("clamp", [](const auto& v) { return clamp(v[0], -0.1f, 0.1f); }, {signed_away});
}

// relu's backward is one pass into an empty() buffer (module 01): over a freed buffer of 7s, and
// for a transposed (non-contiguous) input, every element of the gradient must still be written.
TEST(AutogradOps, ReluBackwardWritesEveryElementAndReadsAView) {
  const Tensor base = randn({300, 257}, 23);  // 77,100 floats: large enough for the buffer cache
  Tensor x = leaf(base);
  const Tensor weights = randn({257, 300}, 24);
  const Tensor loss = (relu(x.t()) * weights).sum();
  { Tensor sevens = full({257, 300}, 7); }
  loss.backward();
  const Tensor expected = map(base.t(), [](float v) { return v > 0.0f ? 1.0f : 0.0f; }) * weights;
  ASSERT_EQ(x.grad().shape(), (Shape{300, 257}));
  EXPECT_EQ(x.grad().t().contiguous().to_vector(), expected.contiguous().to_vector())
      << "the gradient passes where x > 0 and is exactly 0 elsewhere, in the view's order";
}

TEST(AutogradOps, Activations) {
  const Tensor signed_away = leaf(away_from_zero({3, 4}, 18));
  const Tensor a = leaf(randn({3, 4}, 19) * 3.0f);
  expect_gradients_match("relu", [](const auto& v) { return relu(v[0]); }, {signed_away});
  expect_gradients_match("leaky_relu", [](const auto& v) { return leaky_relu(v[0], 0.2f); }, {signed_away});
  expect_gradients_match("sigmoid", [](const auto& v) { return sigmoid(v[0]); }, {a});
  expect_gradients_match("tanh", [](const auto& v) { return tanh(v[0]); }, {a});
  expect_gradients_match("gelu", [](const auto& v) { return gelu(v[0]); }, {a});
  expect_gradients_match("softmax(-1)", [](const auto& v) { return softmax(v[0]); }, {a});
  expect_gradients_match("softmax(0)", [](const auto& v) { return softmax(v[0], 0); }, {a});
  expect_gradients_match("log_softmax(-1)", [](const auto& v) { return log_softmax(v[0]); }, {a});
  expect_gradients_match("log_softmax(0)", [](const auto& v) { return log_softmax(v[0], 0); }, {a});
}

TEST(AutogradOps, ActivationsAtLargeInputsHaveFiniteGradients) {
  Tensor x = leaf(tensor({-1000, -50, 0.5f, 50, 1000}));
  (sigmoid(x) + tanh(x) + log_softmax(x) + softmax(x)).sum().backward();
  EXPECT_TRUE(all_finite(x.grad())) << x.grad();
}

// ---------------------------------------------------------------------------------------
// Broadcasting and accumulation

TEST(AutogradEngine, BroadcastGradientsAreSummedToTheInputsShape) {
  Tensor batch = leaf(ones({4, 3}));
  Tensor bias = leaf(tensor({1, 2, 3}));
  Tensor column = leaf(ones({4, 1}));
  (batch + bias + column).sum().backward();
  EXPECT_EQ(bias.grad().shape(), (Shape{3})) << "a [3] bias broadcast over 4 rows has a [3] gradient";
  EXPECT_THAT(bias.grad().to_vector(), ElementsAre(4, 4, 4)) << "each bias element was used 4 times";
  EXPECT_EQ(column.grad().shape(), (Shape{4, 1}));
  EXPECT_THAT(column.grad().to_vector(), ElementsAre(3, 3, 3, 3));
}

TEST(AutogradEngine, GradientsAccumulateAcrossBackwardCalls) {
  Tensor w = leaf(tensor({1, 2}));
  (w * 3.0f).sum().backward();
  (w * 3.0f).sum().backward();
  EXPECT_THAT(w.grad().to_vector(), ElementsAre(6, 6)) << "a second backward adds to .grad(), as in PyTorch";
}

TEST(AutogradEngine, GradientAccumulatesInPlaceIntoTheSameTensor) {
  Tensor w = leaf(tensor({1, 2}));
  (w * 2.0f).sum().backward();
  const Tensor first = w.grad();
  (w * 2.0f).sum().backward();
  EXPECT_EQ(w.grad().impl_ptr(), first.impl_ptr()) << "the gradient tensor is reused, not replaced";
  EXPECT_THAT(first.to_vector(), ElementsAre(4, 4));
}

TEST(AutogradEngine, LeafGradientsAreTensorsOfTheirOwn) {
  Tensor a = leaf(zeros({3}));
  Tensor b = leaf(zeros({3}));
  (a + b).sum().backward();  // add hands one tensor to both; sum hands a stride-0 expand
  EXPECT_TRUE(a.grad().is_contiguous()) << "a stride-0 view kept as a gradient: the next += writes one float";
  EXPECT_NE(a.grad().storage(), b.grad().storage()) << "two weights must not share one gradient tensor";
  a.grad().fill_(5);
  EXPECT_THAT(b.grad().to_vector(), ElementsAre(1, 1, 1));
}

TEST(AutogradEngine, ATensorUsedOnTwoPathsGetsTheSumOfBoth) {
  Tensor x = leaf(tensor({3}));
  Tensor t = x * x;                      // 2x = 6
  Tensor y = t + exp(t * 0.0f) * x + t;  // + 1 + 2x: 6 + 1 + 6 = 13
  y.backward();
  EXPECT_FLOAT_EQ(x.grad().item(), 13.0f);
}

TEST(AutogradEngine, BackwardWithAnExplicitGradient) {
  Tensor x = leaf(tensor({1, 2, 3}));
  Tensor y = x * 2.0f;
  y.backward(tensor({1, 10, 100}));
  EXPECT_THAT(x.grad().to_vector(), ElementsAre(2, 20, 200));
}

TEST(AutogradEngine, DataThatNeedsNoGradientGetsNone) {
  Tensor data = randn({4, 3}, 20);
  Tensor w = leaf(randn({3, 2}, 21));
  data.matmul(w).sum().backward();
  EXPECT_FALSE(data.grad().defined()) << "the data does not require grad: no gradient, and none computed";
  EXPECT_TRUE(w.grad().defined());
}

TEST(AutogradEngine, ALongChainNeedsNoRecursion) {
  Tensor x = leaf(tensor({1}));
  Tensor y = x;
  for (int i = 0; i < 100000; ++i) y = y * 1.00001f;
  y.backward();
  const double expected = std::pow(static_cast<double>(1.00001f), 100000);  // 1.00001f is 1.0000100136...
  EXPECT_NEAR(x.grad().item(), expected, 1e-3 * expected) << "d/dx of x * c^100000 is c^100000 (about e)";
}

TEST(AutogradEngine, ALongChainIsFreedWithoutRecursion) {
  Tensor x = leaf(tensor({1}));
  std::weak_ptr<TensorImpl> middle;
  {
    Tensor y = x;
    for (int i = 0; i < 100000; ++i) {
      y = y + 1.0f;
      if (i == 50000) middle = y.impl_ptr();
    }
    EXPECT_FALSE(middle.expired());
  }  // the chain is destroyed here, with no backward: ~Node must not recurse 100,000 deep
  EXPECT_TRUE(middle.expired());
}

// ---------------------------------------------------------------------------------------
// Memory: the graph is freed by backward

TEST(AutogradMemory, BackwardFreesTheTensorsTheGraphKept) {
  Tensor w = leaf(randn({3, 3}, 22));
  std::weak_ptr<TensorImpl> hidden;
  Tensor loss;
  {
    Tensor h = relu(w.matmul(w));
    hidden = h.impl_ptr();
    loss = (h * h).sum();
  }
  EXPECT_FALSE(hidden.expired()) << "before backward the graph keeps the intermediate alive";
  loss.backward();
  EXPECT_TRUE(hidden.expired()) << "after backward the graph must let go of it";
}

TEST(AutogradMemory, ASecondBackwardThroughAFreedGraphIsAnError) {
  Tensor w = leaf(tensor({1, 2}));
  Tensor loss = (w * w).sum();
  loss.backward();
  EXPECT_THAT(error_message<std::logic_error>([&] { loss.backward(); }), HasSubstr("already freed"));
}

TEST(AutogradMemory, RetainGraphAllowsASecondBackward) {
  Tensor w = leaf(tensor({1, 2}));
  Tensor loss = (w * w).sum();
  autograd::backward(loss, Tensor(), /*retain_graph=*/true);
  autograd::backward(loss);
  EXPECT_THAT(w.grad().to_vector(), ElementsAre(4, 8));
}

// ---------------------------------------------------------------------------------------
// Switching autograd off

TEST(AutogradNoGrad, NothingIsRecordedUnderNoGradGuard) {
  Tensor w = leaf(ones({2}));
  {
    NoGradGuard no_grad;
    EXPECT_FALSE(GradMode::is_enabled());
    Tensor y = w * 2.0f;
    EXPECT_FALSE(y.requires_grad());
    EXPECT_EQ(autograd::grad_fn(y), nullptr);
    w -= 0.5f;  // how an optimizer updates a weight
  }
  EXPECT_TRUE(GradMode::is_enabled());
  EXPECT_THAT(w.to_vector(), ElementsAre(0.5f, 0.5f));
  (w * 2.0f).sum().backward();  // recording again after the guard
  EXPECT_THAT(w.grad().to_vector(), ElementsAre(2, 2));
}

TEST(AutogradNoGrad, DetachStopsTheGradient) {
  Tensor x = leaf(tensor({2}));
  Tensor y = x * x.detach();  // the detached x is a constant: dy/dx = x = 2, not 2x = 4
  y.backward();
  EXPECT_FLOAT_EQ(x.grad().item(), 2.0f);
}

// ---------------------------------------------------------------------------------------
// Errors that name what went wrong

TEST(AutogradErrors, BackwardChecksWhatItIsGiven) {
  EXPECT_THAT(error_message<std::logic_error>([] { (ones({2}) * 2.0f).sum().backward(); }),
              HasSubstr("does not require grad"));
  Tensor x = leaf(ones({2, 2}));
  EXPECT_THAT(error_message<ShapeError>([&] { (x * 2.0f).backward(); }), HasSubstr("[2, 2]"));
  EXPECT_THAT(error_message<ShapeError>([&] { (x * 2.0f).backward(ones({3})); }), HasSubstr("[3]"));
  (x * 2.0f).backward(ones({2, 2}));  // a non-scalar root with a gradient of its shape
  EXPECT_THAT(x.grad().to_vector(), ElementsAre(2, 2, 2, 2));
}

TEST(AutogradErrors, MapHasNoBackwardAndSaysSo) {
  Tensor x = leaf(tensor({1, 2}));
  const std::string message = error_message<std::logic_error>([&] { map(x, [](float v) { return v * v; }).sum().backward(); });
  EXPECT_THAT(message, HasSubstr("'map'"));
  EXPECT_THAT(message, HasSubstr("autograd::function"));
}

TEST(AutogradErrors, AnOpWithoutABackwardIsAnErrorNotASilentZero) {
  Tensor x = leaf(tensor({1, 2}));
  Tensor y = autograd::record("mystery_op", {x}, [&] { return x * 2.0f; });
  EXPECT_THAT(error_message<std::logic_error>([&] { y.sum().backward(); }), HasSubstr("'mystery_op'"));
}

TEST(AutogradErrors, ABackwardThatReturnsTheWrongShapeIsNamed) {
  Tensor x = leaf(ones({4, 3}));
  Tensor bias = leaf(ones({3}));
  Tensor y = autograd::function("bad_add", {x, bias}, [&] { return x + bias; },
                                [](const autograd::BackwardContext& ctx) -> std::vector<Tensor> {
                                  return {ctx.grad, ctx.grad};  // forgot sum_to for the bias
                                });
  const std::string message = error_message<ShapeError>([&] { y.sum().backward(); });
  EXPECT_THAT(message, HasSubstr("'bad_add'"));
  EXPECT_THAT(message, HasSubstr("input 1 of shape [3]"));
}

// ---------------------------------------------------------------------------------------
// Ops of later modules: autograd::function

Tensor cube(const Tensor& x) {
  return autograd::function("cube", {x}, [&] { return x * x * x; },
                            [](const autograd::BackwardContext& ctx) -> std::vector<Tensor> {
                              const Tensor& input = ctx.inputs[0];
                              return {ctx.grad * 3.0f * input * input};
                            });
}

TEST(AutogradFunction, AnOpWithItsOwnBackwardIsDifferentiable) {
  expect_gradients_match("cube", [](const auto& v) { return cube(v[0]); }, {leaf(randn({5}, 23))});
  Tensor x = leaf(tensor({2}));
  Tensor y = cube(x);
  ASSERT_NE(autograd::grad_fn(y), nullptr);
  EXPECT_EQ(autograd::grad_fn(y)->name, "cube");
  EXPECT_EQ(autograd::grad_fn(y)->inputs.size(), 1u) << "one step of the graph, not three multiplications";
  EXPECT_FALSE(cube(tensor({2})).requires_grad()) << "nothing is recorded when no input requires grad";
}

// ---------------------------------------------------------------------------------------
// Anomaly mode

TEST(AutogradAnomaly, NamesTheOpAndWhereItWasCreated) {
  Tensor v = leaf(tensor({1, 2, 3}));
  autograd::DetectAnomalyGuard detect;
  EXPECT_TRUE(autograd::is_anomaly_enabled());
  Tensor loss = loss_with_a_bad_sqrt(v);
  const std::string message = error_message<autograd::AnomalyError>([&] { loss.backward(); });
  EXPECT_THAT(message, HasSubstr("'sqrt'"));
  EXPECT_THAT(message, HasSubstr("infinity"));
  EXPECT_THAT(message, HasSubstr("loss_with_a_bad_sqrt")) << "the function that created the op is named";
}

TEST(AutogradAnomaly, OffByDefault) {
  EXPECT_FALSE(autograd::is_anomaly_enabled());
  Tensor v = leaf(tensor({1, 2, 3}));
  loss_with_a_bad_sqrt(v).backward();  // no error: the infinity goes into the gradient silently
  EXPECT_FALSE(all_finite(v.grad()));
}

// ---------------------------------------------------------------------------------------
// Gradient checking itself

TEST(AutogradGradcheck, CatchesAWrongBackward) {
  const Function wrong_square = [](const std::vector<Tensor>& v) {
    const Tensor& x = v[0];
    return autograd::function("wrong_square", {x}, [&] { return x * x; },
                              [](const autograd::BackwardContext& ctx) -> std::vector<Tensor> {
                                return {ctx.grad * ctx.inputs[0]};  // forgot the factor 2
                              });
  };
  const autograd::GradcheckResult result = autograd::gradcheck(wrong_square, {leaf(randn({4}, 24))});
  EXPECT_FALSE(result.ok) << "a check that cannot fail checks nothing";
  EXPECT_THAT(result.report, HasSubstr("input 0 [4]"));
}

TEST(AutogradGradcheck, LeavesTheCallersTensorsAlone) {
  Tensor x = leaf(tensor({1, 2}));
  (void)autograd::gradcheck([](const auto& v) { return v[0] * v[0]; }, {x});
  EXPECT_FALSE(x.grad().defined());
  EXPECT_THAT(x.to_vector(), ElementsAre(1, 2));
}

// ---------------------------------------------------------------------------------------
// Integration: a two-layer network from modules 01 and 02 learns with gradients from here.

TEST(AutogradIntegration, ATwoLayerNetworkLearnsXor) {
  const Tensor x = tensor({{0, 0}, {0, 1}, {1, 0}, {1, 1}});
  const Tensor y = tensor({{0}, {1}, {1}, {0}});
  Tensor w1 = leaf(randn({2, 8}, 25));
  Tensor b1 = leaf(zeros({8}));
  Tensor w2 = leaf(randn({8, 1}, 26) * 0.5f);
  Tensor b2 = leaf(zeros({1}));
  float first = 0.0f;
  float last = 0.0f;
  for (int step = 0; step < 2000; ++step) {
    const Tensor out = sigmoid(tanh(x.matmul(w1) + b1).matmul(w2) + b2);
    const Tensor loss = ((out - y) * (out - y)).mean();
    if (step == 0) first = loss.item();
    last = loss.item();
    for (Tensor* p : {&w1, &b1, &w2, &b2}) p->mutable_grad() = Tensor();
    loss.backward();
    NoGradGuard no_grad;
    for (Tensor* p : {&w1, &b1, &w2, &b2}) *p -= p->grad() * 2.0f;
  }
  EXPECT_LT(last, first / 10) << "loss went from " << first << " to " << last;
  NoGradGuard no_grad;
  const Tensor out = sigmoid(tanh(x.matmul(w1) + b1).matmul(w2) + b2);
  const std::vector<float> p = out.to_vector();
  EXPECT_LT(p[0], 0.5f);
  EXPECT_GT(p[1], 0.5f);
  EXPECT_GT(p[2], 0.5f);
  EXPECT_LT(p[3], 0.5f);
}

// ---------------------------------------------------------------------------------------
// Module 03's layers, unchanged, are differentiable: their parameters' gradients against
// finite differences of the whole module.

// Compares every parameter's .grad() after backward of sum(module(x) * v) with central
// differences, perturbing the parameters in place (the module reads them).
void expect_parameter_gradients_match(const char* what, nn::Module& module, const Tensor& x, uint64_t seed = 31) {
  for (Tensor& p : module.parameters()) p.mutable_grad() = Tensor();
  const Tensor out = module(x);
  const Tensor v = randn(out.shape(), seed);
  (out * v).sum().backward();
  const std::vector<float> weights = v.to_vector();
  std::vector<Tensor> params = module.parameters();
  ASSERT_FALSE(params.empty());
  const autograd::ScalarFunction loss = [&](const std::vector<Tensor>&) {
    const std::vector<float> y = module(x).to_vector();
    double total = 0.0;
    for (std::size_t i = 0; i < y.size(); ++i) total += static_cast<double>(y[i]) * weights[i];
    return total;
  };
  const std::vector<std::pair<std::string, Tensor>> named = module.named_parameters();
  for (std::size_t i = 0; i < params.size(); ++i) {
    ASSERT_TRUE(params[i].grad().defined()) << what << ": no gradient reached " << named[i].first;
    const Tensor numeric = autograd::numerical_gradient(loss, params, i, 1e-2f);
    EXPECT_TRUE(allclose(params[i].grad(), numeric, 1e-2f, 2e-3f))
        << what << ": the gradient of " << named[i].first << " disagrees with finite differences\nautograd:\n"
        << params[i].grad() << "\nfinite differences:\n" << numeric;
  }
}

TEST(AutogradLayers, LinearIsDifferentiableWithoutAnEdit) {
  nn::Linear layer(5, 3, true, 1);
  expect_parameter_gradients_match("Linear", layer, randn({4, 5}, 2));
  nn::Linear no_bias(5, 3, false, 3);
  expect_parameter_gradients_match("Linear without bias", no_bias, randn({4, 5}, 4));
  nn::Linear single(5, 3, true, 5);
  expect_parameter_gradients_match("Linear on one sample", single, randn({5}, 6));
}

TEST(AutogradLayers, TheInputOfALinearLayerGetsItsGradient) {
  nn::Linear layer(4, 3, true, 7);
  expect_gradients_match("Linear, input", [&](const auto& v) { return layer(v[0]); }, {leaf(randn({2, 4}, 8))});
}

TEST(AutogradLayers, AnMlpInSequentialIsDifferentiable) {
  nn::Sequential mlp(nn::Linear(6, 8, true, 9), nn::Tanh(), nn::Linear(8, 5, true, 10), nn::Sigmoid(),
                     nn::Linear(5, 3, true, 11), nn::LogSoftmax(1));
  expect_parameter_gradients_match("Linear-Tanh-Linear-Sigmoid-Linear-LogSoftmax", mlp, randn({4, 6}, 12));
  // Smooth activations only: a weight nudged by the finite-difference step can move a
  // pre-activation across ReLU's kink, where the two sides of the difference disagree.
  nn::Sequential gelu_mlp(nn::Linear(6, 8, true, 13), nn::GELU(), nn::Linear(8, 4, true, 14), nn::Sigmoid(),
                          nn::Linear(4, 3, true, 15), nn::Softmax(1));
  expect_parameter_gradients_match("Linear-GELU-Linear-Sigmoid-Linear-Softmax", gelu_mlp, randn({4, 6}, 16));
}

TEST(AutogradLayers, DropoutScalesTheGradientOfTheKeptElements) {
  nn::Dropout dropout(0.5, 17);
  Tensor x = leaf(ones({1000}));
  const Tensor y = dropout(x);
  y.sum().backward();
  const std::vector<float> out = y.to_vector();
  const std::vector<float> grad = x.grad().to_vector();
  for (std::size_t i = 0; i < out.size(); ++i) {
    ASSERT_EQ(grad[i], out[i] == 0.0f ? 0.0f : 2.0f) << "element " << i << ": a kept element's gradient is 1 / (1 - p)";
  }
  dropout.eval();
  Tensor z = leaf(ones({3}));
  dropout(z).sum().backward();
  EXPECT_THAT(z.grad().to_vector(), ElementsAre(1, 1, 1)) << "in eval mode dropout is the identity";
}

TEST(AutogradLayers, NoGradGuardEvaluatesAModelWithoutAGraph) {
  nn::Sequential mlp(nn::Linear(4, 3, true, 18), nn::ReLU(), nn::Linear(3, 2, true, 19));
  {
    NoGradGuard no_grad;
    const Tensor out = mlp(randn({5, 4}, 20));
    EXPECT_FALSE(out.requires_grad());
    EXPECT_EQ(autograd::grad_fn(out), nullptr);
  }
  mlp(randn({5, 4}, 20)).sum().backward();
  for (const auto& [name, p] : mlp.named_parameters()) EXPECT_TRUE(p.grad().defined()) << name;
}

// ---------------------------------------------------------------------------------------
// Module 04's losses, unchanged, are differentiable.

namespace F = nn::functional;

TEST(AutogradLosses, GatherScatterAddsTheGradientBack) {
  Tensor x = leaf(tensor({{10, 11, 12}, {20, 21, 22}}));
  gather(x, 1, tensor({{2, 2}, {0, 1}})).sum().backward();
  EXPECT_THAT(x.grad().to_vector(), ElementsAre(0, 0, 2, 1, 1, 0)) << "an entry picked twice gets both gradients";
  expect_gradients_match("gather along 0", [](const auto& v) { return gather(v[0], 0, tensor({{1, 0, 1}, {0, 0, 1}})); },
                         {leaf(randn({2, 3}, 40))});
}

TEST(AutogradLosses, CrossEntropyAndNllFromLogits) {
  const Tensor logits = leaf(randn({5, 4}, 41) * 2.0f);
  const Tensor targets = tensor({0, 3, 1, 1, 2});
  expect_gradients_match("cross_entropy", [&](const auto& v) { return F::cross_entropy(v[0], targets); }, {logits});
  expect_gradients_match("cross_entropy, sum", [&](const auto& v) { return F::cross_entropy(v[0], targets, nn::Reduction::Sum); },
                         {logits});
  expect_gradients_match("nll_loss of log_softmax", [&](const auto& v) { return F::nll_loss(log_softmax(v[0], 1), targets); },
                         {logits});
}

TEST(AutogradLosses, CrossEntropyGradientIsSoftmaxMinusOneHot) {
  Tensor logits = leaf(tensor({{1, 2, 3}, {1000, 0, -1000}}));
  F::cross_entropy(logits, tensor({2, 1})).backward();
  const Tensor expected = (softmax(logits.detach(), 1) - tensor({{0, 0, 1}, {0, 1, 0}})) / 2.0f;
  EXPECT_TRUE(allclose(logits.grad(), expected, 1e-5f, 1e-6f))
      << "d cross_entropy / d logits = (softmax - onehot) / N, finite even for logits of 1000\n"
      << logits.grad();
}

TEST(AutogradLosses, RegressionAndBinaryLosses) {
  const Tensor target = randn({3, 4}, 42);
  const Tensor labels = map(rand({3, 4}, 43), [](float u) { return u < 0.5f ? 0.0f : 1.0f; });
  const Tensor probs = leaf(uniform({3, 4}, 0.1f, 0.9f, 44));
  const Tensor logits = leaf(randn({3, 4}, 45) * 2.0f);
  expect_gradients_match("mse_loss", [&](const auto& v) { return F::mse_loss(v[0], target); }, {leaf(randn({3, 4}, 46))});
  expect_gradients_match("binary_cross_entropy", [&](const auto& v) { return F::binary_cross_entropy(v[0], labels); },
                         {probs});
  expect_gradients_match("binary_cross_entropy_with_logits",
                         [&](const auto& v) { return F::binary_cross_entropy_with_logits(v[0], labels); }, {logits});
  expect_gradients_match("soft targets of bce_with_logits",
                         [&](const auto& v) { return F::binary_cross_entropy_with_logits(v[0], v[1]); },
                         {logits, leaf(uniform({3, 4}, 0.1f, 0.9f, 47))});
}

TEST(AutogradLosses, BinaryCrossEntropyWithLogitsIsFiniteAtTheExtremes) {
  Tensor x = leaf(tensor({-1000, 0, 1000}));
  F::binary_cross_entropy_with_logits(x, tensor({1, 1, 0})).backward();
  EXPECT_THAT(x.grad().to_vector(), ElementsAre(-1.0f / 3, -0.5f / 3, 1.0f / 3)) << "(sigmoid(x) - y) / N";
}

TEST(AutogradIntegration, AnMlpOfModule03LearnsWithModule04sCrossEntropy) {
  // Three clusters in 2-D, one per class: a 2-16-3 MLP must separate them.
  const Tensor centres = tensor({{0, 3}, {3, -2}, {-3, -2}});
  const Tensor labels = tensor({0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2});
  const Tensor points = gather(centres, 0, labels.unsqueeze(1).expand({12, 2}).contiguous()) + randn({12, 2}, 48) * 0.5f;
  nn::Sequential model(nn::Linear(2, 16, true, 49), nn::ReLU(), nn::Linear(16, 3, true, 50));
  nn::CrossEntropyLoss criterion;
  float first = 0.0f;
  float last = 0.0f;
  for (int step = 0; step < 200; ++step) {
    for (Tensor& p : model.parameters()) p.mutable_grad() = Tensor();
    const Tensor loss = criterion(model(points), labels);
    if (step == 0) first = loss.item();
    last = loss.item();
    loss.backward();
    NoGradGuard no_grad;
    for (Tensor& p : model.parameters()) p -= p.grad() * 0.1f;
  }
  EXPECT_LT(last, first / 5) << "loss went from " << first << " to " << last;
  NoGradGuard no_grad;
  EXPECT_EQ(F::accuracy(model(points), labels), 1.0f);
}

// BEGIN HIDDEN TESTS
TEST(AutogradHidden, SumToRejectsAShapeThatDoesNotBroadcast) {
  EXPECT_THROW(autograd::sum_to(ones({2, 3}), {4}), ShapeError);
  EXPECT_EQ(autograd::sum_to(ones({2, 3}), {1, 3}).shape(), (Shape{1, 3}));
  EXPECT_EQ(autograd::sum_to(ones({2, 3}), {}).item(), 6.0f);
}

TEST(AutogradHidden, DiamondGraphRunsEachNodeOnce) {
  Tensor x = leaf(tensor({1, 2}));
  Tensor t = exp(x);
  Tensor y = (t * 2.0f + t * 3.0f).sum();  // dy/dx = 5 e^x
  y.backward();
  EXPECT_NEAR(x.grad().to_vector()[0], 5.0f * std::exp(1.0f), 1e-4f);
  EXPECT_NEAR(x.grad().to_vector()[1], 5.0f * std::exp(2.0f), 1e-4f);
}

TEST(AutogradHidden, SoftmaxAlongTheMiddleAxisOfThreeDims) {
  expect_gradients_match("softmax(1) of [2, 3, 4]", [](const auto& v) { return softmax(v[0], 1); }, {leaf(randn({2, 3, 4}, 27))});
  expect_gradients_match("log_softmax(1) of [2, 3, 4]", [](const auto& v) { return log_softmax(v[0], 1); },
                         {leaf(randn({2, 3, 4}, 28))});
}

TEST(AutogradHidden, GradientOfAnExpandedSumReachesEveryElement) {
  Tensor x = leaf(tensor({{1, 2}, {3, 4}}));
  x.sum().backward();
  EXPECT_THAT(x.grad().to_vector(), ElementsAre(1, 1, 1, 1));
  EXPECT_EQ(x.grad().strides(), (Shape{2, 1}));
}
// END HIDDEN TESTS

}  // namespace
