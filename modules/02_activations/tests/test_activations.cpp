// Tests for module 02 (activations): the public API of <tinytorch/core/activations.hpp>.
// Linked with gtest_main, together with the quick tests in activations_dev.cpp.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cfenv>
#include <cmath>
#include <limits>
#include <numbers>
#include <string>
#include <vector>

#include <tinytorch/core/activations.hpp>
#include <tinytorch/testing.hpp>

namespace {

using namespace tinytorch;
using tinytorch::testing::all_finite;
using tinytorch::testing::error_message;
using ::testing::ElementsAre;
using ::testing::FloatNear;
using ::testing::HasSubstr;
using ::testing::Pointwise;

using Values = std::vector<float>;

constexpr float kInf = std::numeric_limits<float>::infinity();

// A tensor of the same shape holding std::exp / std::log of each element: references.
Tensor exp_of(const Tensor& t) {
  Values v = t.to_vector();
  for (float& x : v) x = std::exp(x);
  return Tensor(v, t.shape());
}

Tensor log_of(const Tensor& t) {
  Values v = t.to_vector();
  for (float& x : v) x = std::log(x);
  return Tensor(v, t.shape());
}

// ---------------------------------------------------------------------------------------
// ReLU and leaky ReLU

TEST(ActivationsRelu, ZeroesNegativesAndKeepsPositives) {
  EXPECT_THAT(relu(tensor({-2, -0.5f, 0, 0.5f, 2})).to_vector(), ElementsAre(0, 0, 0, 0.5f, 2));
}

TEST(ActivationsRelu, KeepsTheShape) {
  EXPECT_EQ(relu(zeros({2, 3})).shape(), (Shape{2, 3}));
  EXPECT_EQ(relu(randn({2, 3, 4}, 1)).shape(), (Shape{2, 3, 4}));
}

TEST(ActivationsRelu, ReturnsANewTensorAndLeavesTheInputAlone) {
  Tensor x = tensor({-1, 2});
  Tensor y = relu(x);
  EXPECT_THAT(x.to_vector(), ElementsAre(-1, 2));
  y.at({1}) = 7;
  EXPECT_EQ(x.at({1}), 2.0f);
}

TEST(ActivationsRelu, TransposedInputInLogicalOrder) {
  Tensor m = tensor({{1, -2}, {-3, 4}}).t();  // [[1, -3], [-2, 4]], not contiguous
  Tensor y = relu(m);
  EXPECT_EQ(y.shape(), (Shape{2, 2}));
  EXPECT_THAT(y.to_vector(), ElementsAre(1, 0, 0, 4));
}

TEST(ActivationsLeakyRelu, ScalesNegativesBySlope) {
  EXPECT_THAT(leaky_relu(tensor({-10, -1, 0, 2}), 0.1f).to_vector(),
              Pointwise(FloatNear(1e-6f), Values{-1, -0.1f, 0, 2}));
}

TEST(ActivationsLeakyRelu, DefaultSlopeIsOneHundredth) {
  EXPECT_THAT(leaky_relu(tensor({-100, 3})).to_vector(), Pointwise(FloatNear(1e-6f), Values{-1, 3}));
}

TEST(ActivationsLeakyRelu, SlopeZeroIsReluAndSlopeOneIsIdentity) {
  Tensor x = randn({4, 5}, 2);
  EXPECT_EQ(leaky_relu(x, 0.0f).to_vector(), relu(x).to_vector());
  EXPECT_EQ(leaky_relu(x, 1.0f).to_vector(), x.to_vector());
}

// ---------------------------------------------------------------------------------------
// Sigmoid and tanh

TEST(ActivationsSigmoid, HandComputedValues) {
  EXPECT_THAT(sigmoid(tensor({-2, -1, 0, 1, 2})).to_vector(),
              Pointwise(FloatNear(1e-6f), Values{0.1192029f, 0.2689414f, 0.5f, 0.7310586f, 0.8807971f}));
}

TEST(ActivationsSigmoid, ExtremeInputsSaturateWithoutNaN) {
  Tensor y = sigmoid(tensor({-1000, -100, 100, 1000}));
  EXPECT_TRUE(all_finite(y));
  EXPECT_THAT(y.to_vector(), Pointwise(FloatNear(1e-30f), Values{0, 0, 1, 1}));
}

TEST(ActivationsSigmoid, SymmetricAroundOneHalf) {
  Tensor x = randn({50}, 3) * 5.0f;
  // sigmoid(-x) = 1 - sigmoid(x)
  EXPECT_TRUE(allclose(sigmoid(-x), 1.0f - sigmoid(x), 1e-5f, 1e-6f));
}

TEST(ActivationsSigmoid, KeepsTheShapeOfAView) {
  Tensor x = randn({3, 4}, 4).t();
  Tensor y = sigmoid(x);
  EXPECT_EQ(y.shape(), (Shape{4, 3}));
  EXPECT_NEAR(y.at({2, 1}), 1.0f / (1.0f + std::exp(-x.at({2, 1}))), 1e-6f);
}

TEST(ActivationsSigmoid, NeverOverflowsInsideExp) {
  const Tensor x = tensor({-1000, -100, -89, -1, 0, 1, 89, 100, 1000});
  std::feclearexcept(FE_OVERFLOW);
  const Tensor y = sigmoid(x);
  EXPECT_FALSE(std::fetestexcept(FE_OVERFLOW))
      << "sigmoid computed exp() of a large positive number, which overflowed to infinity. The textbook "
         "1 / (1 + exp(-x)) does that for x below -88.7 (in double, below -709): use exp(x) / (1 + exp(x)) "
         "when x < 0";
  EXPECT_TRUE(all_finite(y));
}

TEST(ActivationsSigmoid, KeepsTinyProbabilitiesOfLargeNegativeInputs) {
  // sigmoid(-89) = e^-89 / (1 + e^-89) = 2.2273636e-39: tiny, but a float holds it.
  const float y = sigmoid(tensor({-89})).item();
  EXPECT_NEAR(y, 2.2273636e-39f, 1e-43f)
      << "sigmoid(-89) came out as " << y
      << ": 1 / (1 + exp(89)) in float gives 0, because exp(89) overflows; exp(-89) / (1 + exp(-89)) does not";
}

TEST(ActivationsMath, ElementwiseFunctionsOfAnyView) {
  Tensor x = tensor({{1, 4}, {9, 16}}).t();  // [[1, 9], [4, 16]]
  EXPECT_THAT(sqrt(x).to_vector(), ElementsAre(1, 3, 2, 4));
  EXPECT_THAT(pow(x, 2).to_vector(), ElementsAre(1, 81, 16, 256));
  EXPECT_THAT(pow(x, 0.5f).to_vector(), Pointwise(FloatNear(1e-6f), Values{1, 3, 2, 4}));
  EXPECT_THAT(log(exp(tensor({-2, 0, 3}))).to_vector(), Pointwise(FloatNear(1e-6f), Values{-2, 0, 3}));
  EXPECT_THAT(abs(tensor({-2, 0, 3})).to_vector(), ElementsAre(2, 0, 3));
  EXPECT_THAT(clamp(tensor({-5, 0.5f, 5}), 0, 1).to_vector(), ElementsAre(0, 0.5f, 1));
  EXPECT_THAT(clamp_min(tensor({-5, 5}), -1).to_vector(), ElementsAre(-1, 5));
  EXPECT_THAT(clamp_max(tensor({-5, 5}), 1).to_vector(), ElementsAre(-5, 1));
  EXPECT_THAT(error_message<std::invalid_argument>([] { clamp(tensor({1}), 2, 1); }), HasSubstr("larger than max"));
}

// The ops tell autograd their names (module 05 differentiates them by name); a recorder
// of the test's own stands in for module 05.
std::vector<std::string> recorded_ops;
void name_recorder(autograd::OpCall call, const Tensor& output) {
  output.impl_ptr()->requires_grad = true;
  recorded_ops.push_back(call.op);
}

TEST(ActivationsAutogradSlot, EveryFunctionIsOneRecordedOp) {
  recorded_ops.clear();
  autograd::set_recorder(&name_recorder);
  Tensor x = randn({2, 3}, 1).requires_grad_();
  (void)relu(x);
  (void)leaky_relu(x);
  (void)sigmoid(x);
  (void)tanh(x);
  (void)gelu(x);
  (void)softmax(x, 0);
  (void)log_softmax(x);
  (void)exp(x);
  (void)log(x);
  (void)sqrt(x);
  (void)abs(x);
  (void)pow(x, 3);
  (void)clamp(x, -1, 1);
  autograd::set_recorder(nullptr);
  EXPECT_EQ(recorded_ops, (std::vector<std::string>{"relu", "leaky_relu", "sigmoid", "tanh", "gelu", "softmax",
                                                     "log_softmax", "exp", "log", "sqrt", "abs", "pow", "clamp_min",
                                                     "clamp_max"}))
      << "each function is one step of the graph, whatever its kernel computes inside";
}

TEST(ActivationsTanh, HandComputedValues) {
  EXPECT_THAT(tanh(tensor({-1, 0, 0.5f, 1})).to_vector(),
              Pointwise(FloatNear(1e-6f), Values{-0.7615942f, 0, 0.4621172f, 0.7615942f}));
}

TEST(ActivationsTanh, SaturatesAtPlusAndMinusOne) {
  Tensor y = tanh(tensor({-1000, -20, 20, 1000}));
  EXPECT_TRUE(all_finite(y));
  EXPECT_THAT(y.to_vector(), ElementsAre(-1, -1, 1, 1));
}

TEST(ActivationsTanh, IsAStretchedSigmoid) {
  Tensor x = randn({40}, 5) * 3.0f;
  // tanh(x) = 2 sigmoid(2x) - 1
  EXPECT_TRUE(allclose(tanh(x), 2.0f * sigmoid(2.0f * x) - 1.0f, 1e-5f, 1e-6f));
}

// ---------------------------------------------------------------------------------------
// GELU

TEST(ActivationsGelu, TanhApproximationValues) {
  EXPECT_THAT(gelu(tensor({-3, -1, 0, 0.5f, 1, 3})).to_vector(),
              Pointwise(FloatNear(1e-5f), Values{-0.0036374f, -0.1588080f, 0, 0.3457140f, 0.8411920f, 2.9963626f}));
}

TEST(ActivationsGelu, CloseToTheExactErfFormula) {
  Tensor x = arange(-4, 4, 0.25f);
  const Values got = gelu(x).to_vector();
  const Values in = x.to_vector();
  for (std::size_t i = 0; i < in.size(); ++i) {
    const float exact = 0.5f * in[i] * (1.0f + std::erf(in[i] / std::numbers::sqrt2_v<float>));
    EXPECT_NEAR(got[i], exact, 1e-3f) << "at x = " << in[i];
  }
}

TEST(ActivationsGelu, LargeInputsBehaveLikeRelu) {
  Tensor y = gelu(tensor({-1000, -30, 30, 1000}));
  EXPECT_TRUE(all_finite(y));
  EXPECT_THAT(y.to_vector(), Pointwise(FloatNear(1e-4f), Values{0, 0, 30, 1000}));
}

// ---------------------------------------------------------------------------------------
// Softmax

TEST(ActivationsSoftmax, HandComputedRow) {
  EXPECT_THAT(softmax(tensor({1, 2, 3})).to_vector(),
              Pointwise(FloatNear(1e-6f), Values{0.0900306f, 0.2447285f, 0.6652410f}));
}

TEST(ActivationsSoftmax, RowsArePositiveAndSumToOne) {
  Tensor p = softmax(randn({4, 7}, 6) * 4.0f);
  EXPECT_EQ(p.shape(), (Shape{4, 7}));
  for (float v : p.to_vector()) EXPECT_GT(v, 0.0f);
  EXPECT_THAT(p.sum(1).to_vector(), Pointwise(FloatNear(1e-5f), Values{1, 1, 1, 1}));
}

TEST(ActivationsSoftmax, StableForLargePositiveInputs) {
  Tensor p = softmax(tensor({1000, 1001, 1002}));
  EXPECT_TRUE(all_finite(p));
  EXPECT_THAT(p.to_vector(), Pointwise(FloatNear(1e-6f), Values{0.0900306f, 0.2447285f, 0.6652410f}));
}

TEST(ActivationsSoftmax, StableForLargeNegativeInputs) {
  Tensor p = softmax(tensor({{-1000, -1000}, {-1000, 1000}}));
  EXPECT_TRUE(all_finite(p));
  EXPECT_THAT(p.to_vector(), Pointwise(FloatNear(1e-6f), Values{0.5f, 0.5f, 0, 1}));
}

TEST(ActivationsSoftmax, AxisZeroNormalizesColumns) {
  Tensor m = tensor({{0, 1}, {0, 1}});
  EXPECT_THAT(softmax(m, 0).to_vector(), Pointwise(FloatNear(1e-6f), Values{0.5f, 0.5f, 0.5f, 0.5f}));
  EXPECT_THAT(softmax(m, 1).to_vector(),
              Pointwise(FloatNear(1e-6f), Values{0.2689414f, 0.7310586f, 0.2689414f, 0.7310586f}));
  Tensor p = softmax(randn({5, 3}, 7), 0);
  EXPECT_THAT(p.sum(0).to_vector(), Pointwise(FloatNear(1e-5f), Values{1, 1, 1}));
}

TEST(ActivationsSoftmax, NegativeAxisCountsFromTheEnd) {
  Tensor x = randn({2, 3, 4}, 8);
  EXPECT_TRUE(allclose(softmax(x, -1), softmax(x, 2)));
  EXPECT_TRUE(allclose(softmax(x, -2), softmax(x, 1)));
  EXPECT_TRUE(allclose(softmax(x, -3), softmax(x, 0)));
  EXPECT_TRUE(allclose(softmax(x), softmax(x, 2)));  // the default is the last axis
}

TEST(ActivationsSoftmax, TransposedInputMatchesItsContiguousCopy) {
  Tensor x = randn({3, 5}, 9).t();  // [5, 3], not contiguous
  ASSERT_FALSE(x.is_contiguous());
  EXPECT_TRUE(allclose(softmax(x, 1), softmax(x.contiguous(), 1)));
  EXPECT_TRUE(allclose(softmax(x, 0), softmax(x.contiguous(), 0)));
}

TEST(ActivationsSoftmax, AddingAConstantChangesNothing) {
  Tensor x = randn({3, 4}, 10);
  EXPECT_TRUE(allclose(softmax(x + 7.0f), softmax(x), 1e-5f, 1e-6f));
}

TEST(ActivationsSoftmax, MaskedEntriesGetProbabilityZero) {
  EXPECT_THAT(softmax(tensor({0, -kInf, 0})).to_vector(), ElementsAre(0.5f, 0.0f, 0.5f));
}

TEST(ActivationsSoftmax, BadAxisIsAnIndexError) {
  EXPECT_THAT(error_message<IndexError>([] { softmax(zeros({2, 3}), 2); }), HasSubstr("2"));
  error_message<IndexError>([] { log_softmax(zeros({2, 3}), -3); });
}

// ---------------------------------------------------------------------------------------
// Log-softmax

TEST(ActivationsLogSoftmax, HandComputedRow) {
  EXPECT_THAT(log_softmax(tensor({1, 2, 3})).to_vector(),
              Pointwise(FloatNear(1e-5f), Values{-2.4076059f, -1.4076059f, -0.4076059f}));
}

TEST(ActivationsLogSoftmax, EqualsLogOfSoftmaxOnModerateValues) {
  Tensor x = randn({3, 6}, 11) * 3.0f;
  EXPECT_TRUE(allclose(log_softmax(x), log_of(softmax(x)), 1e-4f, 1e-5f));
  EXPECT_TRUE(allclose(log_softmax(x, 0), log_of(softmax(x, 0)), 1e-4f, 1e-5f));
}

TEST(ActivationsLogSoftmax, FiniteWhereLogOfSoftmaxIsMinusInfinity) {
  Tensor y = log_softmax(tensor({{1000, 0}, {-1000, 1000}}));
  EXPECT_TRUE(all_finite(y));
  EXPECT_THAT(y.to_vector(), Pointwise(FloatNear(1e-3f), Values{0, -1000, -2000, 0}));
}

TEST(ActivationsLogSoftmax, ExponentialSumsToOneAlongTheAxis) {
  Tensor x = randn({4, 3}, 12);
  EXPECT_THAT(exp_of(log_softmax(x, 0)).sum(0).to_vector(), Pointwise(FloatNear(1e-5f), Values{1, 1, 1}));
}

TEST(ActivationsLogSoftmax, TransposedInputAndNegativeAxis) {
  Tensor x = randn({2, 4, 3}, 13).transpose(0, 2);  // [3, 4, 2], not contiguous
  EXPECT_EQ(log_softmax(x, -2).shape(), (Shape{3, 4, 2}));
  EXPECT_TRUE(allclose(log_softmax(x, -2), log_softmax(x.contiguous(), 1), 1e-5f, 1e-6f));
}

// BEGIN HIDDEN TESTS
TEST(ActivationsHidden, SoftmaxAlongTheMiddleAxisMatchesTheDefinition) {
  Tensor x = randn({2, 3, 4}, 21) * 2.0f;
  Tensor p = softmax(x, 1);
  for (int64_t i = 0; i < 2; ++i) {
    for (int64_t k = 0; k < 4; ++k) {
      double total = 0;
      for (int64_t j = 0; j < 3; ++j) total += std::exp(static_cast<double>(x.at({i, j, k})));
      for (int64_t j = 0; j < 3; ++j) {
        EXPECT_NEAR(p.at({i, j, k}), std::exp(static_cast<double>(x.at({i, j, k}))) / total, 1e-6);
      }
    }
  }
}

TEST(ActivationsHidden, SigmoidMatchesTheDefinitionOnModerateInputs) {
  Tensor x = randn({64}, 22) * 4.0f;
  const Values in = x.to_vector();
  const Values got = sigmoid(x).to_vector();
  for (std::size_t i = 0; i < in.size(); ++i) EXPECT_NEAR(got[i], 1.0 / (1.0 + std::exp(-double{in[i]})), 1e-6);
}

TEST(ActivationsHidden, LeakyReluOfATransposedView) {
  Tensor m = tensor({{-4, 2}, {6, -8}}).t();  // [[-4, 6], [2, -8]]
  EXPECT_THAT(leaky_relu(m, 0.25f).to_vector(), ElementsAre(-1, 6, 2, -2));
}

TEST(ActivationsHidden, SizeOneAxisGivesProbabilityOne) {
  Tensor x = randn({3, 1}, 23);
  EXPECT_THAT(softmax(x, 1).to_vector(), ElementsAre(1, 1, 1));
  EXPECT_THAT(log_softmax(x, 1).to_vector(), ElementsAre(0, 0, 0));
}
// END HIDDEN TESTS

}  // namespace
