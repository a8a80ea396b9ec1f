// Tests for module 04 (losses): the public API of <tinytorch/core/losses.hpp>.
// Linked with gtest_main, together with the quick tests in losses_dev.cpp.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cfenv>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include <tinytorch/core/losses.hpp>
#include <tinytorch/course.hpp>
#include <tinytorch/testing.hpp>

namespace {

using namespace tinytorch;
namespace F = tinytorch::nn::functional;
namespace fs = std::filesystem;
using tinytorch::nn::Reduction;
using tinytorch::testing::all_finite;
using tinytorch::testing::error_message;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::FloatNear;
using ::testing::HasSubstr;
using ::testing::Pointwise;

using Values = std::vector<float>;

constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
const double kLn2 = std::log(2.0);
const double kLn10 = std::log(10.0);

// A result students often get instead of the right one, and what it means.
struct WrongAnswer {
  double value;
  const char* meaning;
};

// Why `got` is wrong, when it is one of the known wrong answers (or NaN / inf).
std::string diagnosis(float got, std::initializer_list<WrongAnswer> wrong) {
  if (std::isnan(got)) return "\nthe result is NaN";
  if (std::isinf(got)) return "\nthe result is infinite";
  for (const WrongAnswer& w : wrong) {
    if (std::fabs(got - w.value) <= 1e-4 * std::max(1.0, std::fabs(w.value))) return std::string("\n") + w.meaning;
  }
  return "";
}

// Class indices 0 .. classes-1, drawn from a seed.
Tensor random_targets(int64_t rows, int64_t classes, uint64_t seed) {
  return map(rand({rows}, seed), [classes](float u) { return std::floor(u * static_cast<float>(classes)); });
}

// Cross-entropy of every row, in double: log sum exp(row) - row[target], the max taken out.
std::vector<double> reference_cross_entropy(const Tensor& logits, const Tensor& targets) {
  const int64_t rows = logits.size(0), classes = logits.size(1);
  std::vector<double> losses;
  for (int64_t i = 0; i < rows; ++i) {
    double m = -std::numeric_limits<double>::infinity();
    for (int64_t j = 0; j < classes; ++j) m = std::max(m, double{logits.at({i, j})});
    double total = 0;
    for (int64_t j = 0; j < classes; ++j) total += std::exp(double{logits.at({i, j})} - m);
    const auto t = static_cast<int64_t>(targets.at({i}));
    losses.push_back(m + std::log(total) - double{logits.at({i, t})});
  }
  return losses;
}

double mean_of(const std::vector<double>& v) {
  double total = 0;
  for (double x : v) total += x;
  return total / static_cast<double>(v.size());
}

// -(y log p + (1 - y) log(1 - p)) in double, without a clamp (for p strictly inside (0, 1)).
double reference_bce(double p, double y) { return -(y * std::log(p) + (1 - y) * std::log1p(-p)); }

// ---------------------------------------------------------------------------------------
// Reductions

TEST(LossesReduction, MeanIsTheDefaultSumAddsNoneKeepsEveryLoss) {
  Tensor input = tensor({{1, 2}, {3, 4}});
  Tensor target = ones({2, 2});
  EXPECT_FLOAT_EQ(F::mse_loss(input, target).item(), 3.5f) << "the default reduction is the mean";
  EXPECT_FLOAT_EQ(F::mse_loss(input, target, Reduction::Mean).item(), 3.5f);
  EXPECT_FLOAT_EQ(F::mse_loss(input, target, Reduction::Sum).item(), 14.0f);
  Tensor none = F::mse_loss(input, target, Reduction::None);
  EXPECT_EQ(none.shape(), (Shape{2, 2}));
  EXPECT_THAT(none.to_vector(), ElementsAre(0, 1, 4, 9));
  EXPECT_EQ(F::mse_loss(input, target).shape(), Shape{}) << "a reduced loss is a 0-D tensor";
}

TEST(LossesReduction, ParsesPyTorchsNamesAndRejectsOthers) {
  Tensor losses = tensor({1, 2, 3});
  EXPECT_EQ(F::apply_reduction(losses, nn::parse_reduction("sum")).item(), 6.0f);
  EXPECT_EQ(F::apply_reduction(losses, nn::parse_reduction("mean")).item(), 2.0f);
  EXPECT_EQ(F::apply_reduction(losses, nn::parse_reduction("none")).shape(), (Shape{3}));
  EXPECT_EQ(nn::reduction_name(Reduction::Sum), "sum");
  EXPECT_THAT(error_message<std::invalid_argument>([] { nn::parse_reduction("avg"); }),
              AllOf(HasSubstr("\"avg\""), HasSubstr("\"mean\""), HasSubstr("\"sum\""), HasSubstr("\"none\"")));
  error_message<std::invalid_argument>([] { nn::parse_reduction("Mean"); });
}

TEST(LossesReduction, AValueOutsideTheEnumIsAnError) {
  EXPECT_THAT(error_message<std::invalid_argument>(
                  [] { F::apply_reduction(tensor({1, 2}), static_cast<Reduction>(7)); }),
              HasSubstr("7"))
      << "a Reduction forced in with static_cast must not fall through to a silent default";
}

TEST(LossesReduction, TheLossObjectsHoldTheirReduction) {
  Tensor logits = randn({5, 4}, 1);
  Tensor targets = tensor({0, 3, 1, 1, 2});
  EXPECT_EQ(nn::CrossEntropyLoss().reduction(), Reduction::Mean);
  EXPECT_EQ(nn::CrossEntropyLoss(Reduction::Sum)(logits, targets).item(),
            F::cross_entropy(logits, targets, Reduction::Sum).item());
  EXPECT_EQ(nn::NLLLoss()(log_softmax(logits), targets).item(), F::nll_loss(log_softmax(logits), targets).item());
  Tensor p = sigmoid(logits);
  Tensor y = map(rand({5, 4}, 2), [](float u) { return u < 0.5f ? 0.0f : 1.0f; });
  EXPECT_EQ(nn::BCELoss(Reduction::None).forward(p, y).shape(), (Shape{5, 4}));
  EXPECT_EQ(nn::BCEWithLogitsLoss()(logits, y).item(), F::binary_cross_entropy_with_logits(logits, y).item());
  EXPECT_EQ(nn::MSELoss(Reduction::Sum)(p, y).item(), F::mse_loss(p, y, Reduction::Sum).item());
}

// ---------------------------------------------------------------------------------------
// Mean squared error

TEST(LossesMse, HandComputedValue) {
  EXPECT_NEAR(F::mse_loss(tensor({2.5f, 0, 2}), tensor({3, -0.5f, 2})).item(), 0.5 / 3, 1e-7);
  EXPECT_EQ(F::mse_loss(tensor({1, 2}), tensor({1, 2})).item(), 0.0f);
}

TEST(LossesMse, TheMeanIsOverEveryElement) {
  Tensor input = tensor({{1, 2, 3}, {4, 5, 6}});  // squares sum to 91
  const float got = F::mse_loss(input, zeros({2, 3})).item();
  EXPECT_NEAR(got, 91.0 / 6, 1e-5) << diagnosis(
      got, {{91.0, "that is the sum: the default reduction is the mean over all 6 elements"},
            {91.0 / 2, "that is the sum of each row averaged over the rows: the mean divides by N * D = 6, not N"},
            {91.0 / 3, "that is the sum of each column averaged over the columns: the mean divides by every element"}});
}

TEST(LossesMse, ShapesMustMatchExactlyNoBroadcasting) {
  const std::string message = error_message<ShapeError>([] { F::mse_loss(zeros({4, 1}), zeros({4})); });
  EXPECT_THAT(message, AllOf(HasSubstr("[4, 1]"), HasSubstr("[4]")))
      << "broadcasting [4, 1] against [4] makes a [4, 4] loss that compares every input with every target";
  EXPECT_THAT(error_message<ShapeError>([] { F::mse_loss(zeros({2, 3}), zeros({3})); }), HasSubstr("[2, 3]"));
}

TEST(LossesMse, MatchesADoublePrecisionReference) {
  Tensor input = randn({7, 5}, 3) * 4.0f;
  Tensor target = randn({7, 5}, 4);
  const Values a = input.to_vector(), b = target.to_vector();
  double total = 0;
  for (std::size_t i = 0; i < a.size(); ++i) total += (double{a[i]} - b[i]) * (double{a[i]} - b[i]);
  EXPECT_NEAR(F::mse_loss(input, target).item(), total / 35, 1e-5 * total / 35);
  EXPECT_NEAR(F::mse_loss(input, target, Reduction::Sum).item(), total, 1e-5 * total);
}

TEST(LossesMse, WorksOnTransposedViews) {
  Tensor input = randn({3, 4}, 5).t();
  Tensor target = randn({4, 3}, 6);
  ASSERT_FALSE(input.is_contiguous());
  EXPECT_TRUE(allclose(F::mse_loss(input, target, Reduction::None),
                       F::mse_loss(input.contiguous(), target, Reduction::None)));
}

// ---------------------------------------------------------------------------------------
// Log-sum-exp

TEST(LossesLogSumExp, HandComputedAlongEachAxis) {
  Tensor x = tensor({{1, 2, 3}, {0, 0, 0}});
  EXPECT_THAT(logsumexp(x, 1).to_vector(), Pointwise(FloatNear(1e-5f), Values{3.4076059f, 1.0986123f}));
  EXPECT_EQ(logsumexp(x, 1).shape(), (Shape{2}));
  EXPECT_EQ(logsumexp(x, -1, true).shape(), (Shape{2, 1})) << "keepdim leaves the axis as size 1";
  EXPECT_THAT(logsumexp(x, 0).to_vector(),
              Pointwise(FloatNear(1e-5f), Values{1.3132617f, 2.1269280f, 3.0485874f}));
}

TEST(LossesLogSumExp, NoOverflowForHugeOrTinyLogits) {
  std::feclearexcept(FE_OVERFLOW);
  Tensor y = logsumexp(tensor({{1000, 1000}, {-1000, -1000}, {1000, -1000}}), 1);
  EXPECT_FALSE(std::fetestexcept(FE_OVERFLOW))
      << "exp() of a large number overflowed: subtract the max of each slice before exp";
  EXPECT_TRUE(all_finite(y)) << "log(sum(exp(x))) without the max shift is inf for 1000 and -inf for -1000";
  EXPECT_THAT(y.to_vector(), Pointwise(FloatNear(1e-3f), Values{1000.6931f, -999.3069f, 1000.0f}));
}

TEST(LossesLogSumExp, MaskedAndInfiniteSlices) {
  Tensor y = logsumexp(tensor({{-kInf, -kInf}, {0, -kInf}, {kInf, 0}}), 1);
  const Values v = y.to_vector();
  EXPECT_EQ(v[0], -kInf) << "every entry masked: the log of a sum of zeros is -inf (not NaN from -inf - -inf)";
  EXPECT_NEAR(v[1], 0.0f, 1e-6f) << "a masked entry (-inf) adds exp(-inf) = 0 to the sum";
  EXPECT_EQ(v[2], kInf) << "a +inf entry makes the sum infinite (not NaN from inf - inf)";
}

TEST(LossesLogSumExp, MatchesADoublePrecisionReference) {
  Tensor x = randn({3, 5, 4}, 7) * 10.0f;
  Tensor y = logsumexp(x, 1);
  ASSERT_EQ(y.shape(), (Shape{3, 4}));
  for (int64_t i = 0; i < 3; ++i) {
    for (int64_t k = 0; k < 4; ++k) {
      double total = 0;
      for (int64_t j = 0; j < 5; ++j) total += std::exp(double{x.at({i, j, k})});
      EXPECT_NEAR(y.at({i, k}), std::log(total), 1e-5 * (1 + std::fabs(std::log(total))));
    }
  }
}

// ---------------------------------------------------------------------------------------
// Gather

TEST(LossesGather, PicksOneEntryPerRow) {
  Tensor x = tensor({{10, 11, 12}, {20, 21, 22}});
  Tensor picked = gather(x, 1, tensor({{2}, {0}}));
  EXPECT_EQ(picked.shape(), (Shape{2, 1})) << "the result has the index's shape";
  EXPECT_THAT(picked.to_vector(), ElementsAre(12, 20));
  EXPECT_THAT(gather(x, -1, tensor({{0, 0, 2}, {1, 1, 1}})).to_vector(), ElementsAre(10, 10, 12, 21, 21, 21))
      << "an index may repeat, and dim -1 is the last";
}

TEST(LossesGather, AlongDimensionZero) {
  Tensor x = tensor({{10, 11, 12}, {20, 21, 22}});
  EXPECT_THAT(gather(x, 0, tensor({{1, 0, 1}})).to_vector(), ElementsAre(20, 11, 22))
      << "along dim 0, index[0][j] picks a row for column j";
  EXPECT_THAT(gather(x, 0, tensor({{1, 1, 0}, {0, 0, 0}, {1, 0, 1}})).to_vector(),
              ElementsAre(20, 21, 12, 10, 11, 12, 20, 11, 22));
}

TEST(LossesGather, ReadsViewsThroughTheirStrides) {
  Tensor x = tensor({{10, 20}, {11, 21}, {12, 22}}).t();  // [[10, 11, 12], [20, 21, 22]], not contiguous
  Tensor index = tensor({{2, 0}}).t();                    // [[2], [0]], not contiguous
  EXPECT_THAT(gather(x, 1, index).to_vector(), ElementsAre(12, 20));
}

TEST(LossesGather, AnIndexOutOfRangeNamesItsValuePositionAndSize) {
  const std::string message = error_message<IndexError>([] { gather(zeros({2, 10}), 1, tensor({{3}, {12}})); });
  EXPECT_THAT(message, AllOf(HasSubstr("12"), HasSubstr("[1, 0]"), HasSubstr("size 10")));
  EXPECT_THAT(error_message<IndexError>([] { gather(zeros({2, 3}), 1, tensor({{-1}, {0}})); }), HasSubstr("-1"));
  EXPECT_THAT(error_message<IndexError>([] { gather(zeros({2, 3}), 1, tensor({{0.5f}, {0}})); }), HasSubstr("0.5"));
}

TEST(LossesGather, ShapesThatDoNotFitNameBothShapes) {
  EXPECT_THAT(error_message<ShapeError>([] { gather(zeros({2, 3}), 1, zeros({2})); }),
              AllOf(HasSubstr("[2]"), HasSubstr("[2, 3]")));
  EXPECT_THAT(error_message<ShapeError>([] { gather(zeros({2, 3}), 1, zeros({3, 1})); }),
              AllOf(HasSubstr("[3, 1]"), HasSubstr("[2, 3]")));
  error_message<IndexError>([] { gather(zeros({2, 3}), 2, zeros({2, 1})); });
}

// ---------------------------------------------------------------------------------------
// Negative log-likelihood and cross-entropy

TEST(LossesNll, PicksMinusTheLogProbabilityOfTheTarget) {
  Tensor lp = log(tensor({{0.7f, 0.2f, 0.1f}, {0.1f, 0.1f, 0.8f}}));
  EXPECT_THAT(F::nll_loss(lp, tensor({0, 2}), Reduction::None).to_vector(),
              Pointwise(FloatNear(1e-6f), Values{0.3566749f, 0.2231436f}));
  EXPECT_NEAR(F::nll_loss(lp, tensor({0, 2})).item(), 0.2899092f, 1e-6f);
  EXPECT_NEAR(F::nll_loss(lp, tensor({1, 1}), Reduction::Sum).item(), -std::log(0.2) - std::log(0.1), 1e-5);
}

TEST(LossesCrossEntropy, HandComputedValues) {
  Tensor logits = tensor({{1, 2, 3}, {1, 2, 3}, {0, 0, 0}});
  Tensor targets = tensor({2, 0, 1});
  EXPECT_THAT(F::cross_entropy(logits, targets, Reduction::None).to_vector(),
              Pointwise(FloatNear(1e-5f), Values{0.4076059f, 2.4076059f, 1.0986123f}));
  // What the usual mistakes give for this batch (N = C = 3, so they all run without an error).
  const Values ls = log_softmax(logits).to_vector();
  double one_hot = 0;
  for (int r = 0; r < 3; ++r) one_hot -= 2 * ls[r * 3 + 0] + 0 * ls[r * 3 + 1] + 1 * ls[r * 3 + 2];
  double wrong_axis = 0;  // log-sum-exp down the columns, one per row index
  const double column_lse[3] = {std::log(2 * std::exp(1.0) + 1), std::log(2 * std::exp(2.0) + 1),
                                std::log(2 * std::exp(3.0) + 1)};
  const double picked[3] = {3, 1, 0};
  for (int r = 0; r < 3; ++r) wrong_axis += column_lse[r] - picked[r];
  const float got = F::cross_entropy(logits, targets).item();
  EXPECT_NEAR(got, 1.3046080f, 1e-5f) << diagnosis(
      got, {{3.9138241, "that is the sum of the rows' losses: the default reduction is the mean over the N = 3 rows"},
            {one_hot / 3, "that is what one-hot targets give: targets hold class indices; pick logits[i][targets[i]] "
                          "with gather instead of multiplying by the targets"},
            {wrong_axis / 3, "log-sum-exp ran down the batch (axis 0): it runs along the classes, axis 1"},
            {3.9138241 / 9, "that divides by N * C = 9: the mean is over the N rows, one loss per row"}});
}

TEST(LossesCrossEntropy, LogitsOfAThousandNeedTheMaxShift) {
  Tensor logits = tensor({{1000, 1000}, {1000, -1000}, {-1000, -1000}, {1000, 999}});
  std::feclearexcept(FE_OVERFLOW);
  Tensor losses = F::cross_entropy(logits, tensor({0, 1, 1, 1}), Reduction::None);
  EXPECT_FALSE(std::fetestexcept(FE_OVERFLOW))
      << "exp(1000) overflowed: compute log-sum-exp as m + log(sum(exp(x - m))) with m the max of the row";
  EXPECT_TRUE(all_finite(losses)) << "without the max shift, exp(1000) = inf and inf - inf or inf / inf is NaN, and "
                                     "for -1000 every exp underflows to 0 and log(0) = -inf; with log(softmax(x)), "
                                     "row [1000, -1000] gives its target probability e^-2000 = 0 and -log(0) = inf";
  EXPECT_THAT(losses.to_vector(), Pointwise(FloatNear(2e-3f), Values{0.6931472f, 2000, 0.6931472f, 1.3132617f}));
}

TEST(LossesCrossEntropy, AConfidentMistakeCostsItsMarginNotInfinity) {
  const float got = F::cross_entropy(tensor({{1000, 0}}), tensor({1})).item();
  EXPECT_NEAR(got, 1000.0f, 1e-2f)
      << "log(softmax(x)) gives inf here: softmax([1000, 0])[1] = e^-1000 underflows to 0, and -log(0) = inf. "
         "Compute logsumexp(row) - row[target] instead";
  EXPECT_NEAR(F::cross_entropy(tensor({{0, -1000}, {-300, 300}}), tensor({1, 0})).item(), (1000 + 600) / 2.0f, 1e-2f);
}

TEST(LossesCrossEntropy, EqualLogitsGiveLogOfTheNumberOfClasses) {
  EXPECT_NEAR(F::cross_entropy(zeros({5, 10}), tensor({0, 1, 2, 3, 9})).item(), kLn10, 1e-6);
  EXPECT_NEAR(F::cross_entropy(full({3, 2}, 7), tensor({0, 1, 0})).item(), kLn2, 1e-6);
}

TEST(LossesCrossEntropy, MeanIsOverTheRows) {
  Tensor logits = tensor({{2, 0, 0}, {0, 2, 0}, {0, 0, 2}, {1, 1, 1}});
  Tensor targets = tensor({0, 0, 2, 1});
  const double mean = mean_of(reference_cross_entropy(logits, targets));
  const float got = F::cross_entropy(logits, targets).item();
  EXPECT_NEAR(got, mean, 1e-5) << diagnosis(
      got, {{4 * mean, "that is the sum: Reduction::Mean divides by the number of rows, N = 4"},
            {4 * mean / 12, "that divides by N * C = 12: there is one loss per row, not per logit"}});
  EXPECT_NEAR(F::cross_entropy(logits, targets, Reduction::Sum).item(), 4 * mean, 1e-5);
  EXPECT_EQ(F::cross_entropy(logits, targets, Reduction::None).shape(), (Shape{4})) << "one loss per row";
}

TEST(LossesCrossEntropy, EqualsNllOfLogSoftmax) {
  Tensor logits = randn({6, 5}, 8) * 3.0f;
  Tensor targets = random_targets(6, 5, 9);
  EXPECT_TRUE(allclose(F::cross_entropy(logits, targets, Reduction::None),
                       F::nll_loss(log_softmax(logits, 1), targets, Reduction::None), 1e-5f, 1e-6f));
}

TEST(LossesCrossEntropy, AddingAConstantToEveryLogitChangesNothing) {
  Tensor logits = randn({4, 6}, 10);
  Tensor targets = random_targets(4, 6, 11);
  EXPECT_TRUE(allclose(F::cross_entropy(logits + 500.0f, targets, Reduction::None),
                       F::cross_entropy(logits, targets, Reduction::None), 1e-3f, 1e-3f))
      << "softmax ignores a constant shift, so the loss must too (up to float rounding of x + 500)";
}

TEST(LossesCrossEntropy, MatchesADoublePrecisionReference) {
  Tensor logits = randn({16, 10}, 12) * 5.0f;
  Tensor targets = random_targets(16, 10, 13);
  const std::vector<double> expected = reference_cross_entropy(logits, targets);
  const Values got = F::cross_entropy(logits, targets, Reduction::None).to_vector();
  for (std::size_t i = 0; i < expected.size(); ++i) {
    EXPECT_NEAR(got[i], expected[i], 1e-5 * (1 + expected[i])) << "row " << i;
  }
  EXPECT_NEAR(F::cross_entropy(logits, targets).item(), mean_of(expected), 1e-5 * mean_of(expected));
}

TEST(LossesCrossEntropy, OneHotTargetsAreAShapeErrorWithAHint) {
  Tensor one_hot = tensor({{0, 1, 0}, {1, 0, 0}});
  EXPECT_THAT(error_message<ShapeError>([&] { F::cross_entropy(zeros({2, 3}), one_hot); }),
              AllOf(HasSubstr("[2, 3]"), HasSubstr("class indices"), HasSubstr("argmax")));
}

TEST(LossesCrossEntropy, ATargetThatIsNotAClassIndexIsNamedWithItsPositionAndC) {
  EXPECT_THAT(error_message<IndexError>([] { F::cross_entropy(zeros({4, 10}), tensor({1, 2, 3.5f, 0})); }),
              AllOf(HasSubstr("3.5"), HasSubstr("position 2"), HasSubstr("[0, 10)")));
  EXPECT_THAT(error_message<IndexError>([] { F::cross_entropy(zeros({2, 10}), tensor({10, 0})); }),
              AllOf(HasSubstr("target 10"), HasSubstr("position 0"), HasSubstr("10 classes")))
      << "class indices run from 0 to C - 1";
  EXPECT_THAT(error_message<IndexError>([] { F::cross_entropy(zeros({2, 3}), tensor({0, -1})); }),
              AllOf(HasSubstr("-1"), HasSubstr("position 1")));
  EXPECT_THAT(error_message<IndexError>([] { F::nll_loss(zeros({2, 3}), tensor({kNaN, 0})); }), HasSubstr("nan"));
}

TEST(LossesCrossEntropy, ShapeErrorsNameTheShapes) {
  EXPECT_THAT(error_message<ShapeError>([] { F::cross_entropy(zeros({10}), tensor({3})); }),
              AllOf(HasSubstr("[10]"), HasSubstr("[N, C]")));
  EXPECT_THAT(error_message<ShapeError>([] { F::cross_entropy(zeros({4, 10}), tensor({1, 2, 3})); }),
              AllOf(HasSubstr("[3]"), HasSubstr("[4, 10]")));
  EXPECT_THAT(error_message<ShapeError>([] { F::nll_loss(zeros({2, 3, 4}), tensor({0, 1})); }),
              HasSubstr("[2, 3, 4]"));
}

// ---------------------------------------------------------------------------------------
// Binary cross-entropy

TEST(LossesBce, HandComputedValues) {
  EXPECT_THAT(F::binary_cross_entropy(tensor({0.9f, 0.2f, 0.5f}), tensor({1, 0, 1}), Reduction::None).to_vector(),
              Pointwise(FloatNear(1e-6f), Values{0.1053605f, 0.2231436f, 0.6931472f}));
  EXPECT_NEAR(F::binary_cross_entropy(tensor({0.9f, 0.9f}), tensor({1, 0})).item(), (0.1053605f + 2.3025851f) / 2,
              1e-5f);
}

TEST(LossesBce, ProbabilitiesOfZeroAndOneGiveFiniteLosses) {
  const Values got = F::binary_cross_entropy(tensor({0, 0, 1, 1}), tensor({0, 1, 0, 1}), Reduction::None).to_vector();
  EXPECT_EQ(got[0], 0.0f) << "p = 0, y = 0 is a right answer: 0 * log(0) = 0 * -inf = NaN unless log(0) is clamped "
                             "to -100 before it is multiplied by y";
  EXPECT_EQ(got[1], 100.0f) << "p = 0, y = 1: -log(0) = inf unless clamped at -100, as PyTorch does";
  EXPECT_EQ(got[2], 100.0f) << "p = 1, y = 0: log(1 - p) = log(0) must be clamped at -100 too";
  EXPECT_EQ(got[3], 0.0f) << "p = 1, y = 1 is a right answer: (1 - y) * log(1 - p) = 0 * -inf = NaN unless clamped";
}

TEST(LossesBce, TheClampIsAtMinusOneHundred) {
  const Values got = F::binary_cross_entropy(tensor({1e-40f, 1e-44f}), tensor({1, 1}), Reduction::None).to_vector();
  EXPECT_NEAR(got[0], -std::log(double{1e-40f}), 1e-3) << "log(1e-40) = -92.1 is above the clamp: keep it";
  EXPECT_EQ(got[1], 100.0f) << "log(1e-44) = -101.3 is below -100: clamp it";
}

TEST(LossesBce, MatchesADoublePrecisionReference) {
  Tensor p = rand({6, 7}, 14) * 0.998f + 0.001f;
  Tensor y = rand({6, 7}, 15);  // soft targets are allowed
  const Values pv = p.to_vector(), yv = y.to_vector();
  const Values got = F::binary_cross_entropy(p, y, Reduction::None).to_vector();
  double total = 0;
  for (std::size_t i = 0; i < pv.size(); ++i) {
    const double expected = reference_bce(pv[i], yv[i]);
    EXPECT_NEAR(got[i], expected, 1e-5 * (1 + expected)) << "p = " << pv[i] << ", y = " << yv[i];
    total += expected;
  }
  EXPECT_NEAR(F::binary_cross_entropy(p, y).item(), total / 42, 1e-5);
}

TEST(LossesBce, ProbabilitiesOutsideZeroToOneAreAnError) {
  EXPECT_THAT(error_message<std::invalid_argument>(
                  [] { F::binary_cross_entropy(tensor({0.5f, 0.2f, 1.5f}), tensor({1, 0, 1})); }),
              AllOf(HasSubstr("1.5"), HasSubstr("[2]"), HasSubstr("with_logits")));
  error_message<std::invalid_argument>([] { F::binary_cross_entropy(tensor({-0.1f}), tensor({0})); });
  error_message<std::invalid_argument>([] { F::binary_cross_entropy(tensor({kNaN}), tensor({0})); });
}

TEST(LossesBce, ShapesMustMatch) {
  EXPECT_THAT(error_message<ShapeError>([] { F::binary_cross_entropy(full({4, 1}, 0.5f), zeros({4})); }),
              AllOf(HasSubstr("[4, 1]"), HasSubstr("[4]")));
  EXPECT_THAT(error_message<ShapeError>([] { F::binary_cross_entropy_with_logits(zeros({3}), zeros({3, 1})); }),
              AllOf(HasSubstr("[3, 1]"), HasSubstr("[3]")));
}

TEST(LossesBceWithLogits, HandComputedValues) {
  EXPECT_THAT(F::binary_cross_entropy_with_logits(tensor({0, 2, -2, 2}), tensor({1, 0, 1, 1}), Reduction::None)
                  .to_vector(),
              Pointwise(FloatNear(1e-6f), Values{0.6931472f, 2.1269280f, 2.1269280f, 0.1269280f}));
}

TEST(LossesBceWithLogits, NoOverflowForLogitsOfAThousand) {
  std::feclearexcept(FE_OVERFLOW);
  const Values got = F::binary_cross_entropy_with_logits(tensor({-1000, -1000, 1000, 1000}), tensor({0, 1, 0, 1}),
                                                         Reduction::None)
                         .to_vector();
  EXPECT_FALSE(std::fetestexcept(FE_OVERFLOW))
      << "exp() of a large positive number overflowed: the textbook log(1 + exp(-x)) does that for x = -1000. "
         "Use max(x, 0) - x y + log(1 + exp(-|x|))";
  EXPECT_THAT(got, Pointwise(FloatNear(1e-3f), Values{0, 1000, 1000, 0}))
      << "a confident mistake costs its logit (1000), not inf, and not 100 (the clamp of BCE of the sigmoid)";
}

TEST(LossesBceWithLogits, EqualsBceOfTheSigmoidOnModerateLogits) {
  Tensor x = randn({5, 4}, 16) * 3.0f;
  Tensor y = rand({5, 4}, 17);
  EXPECT_TRUE(allclose(F::binary_cross_entropy_with_logits(x, y, Reduction::None),
                       F::binary_cross_entropy(sigmoid(x), y, Reduction::None), 1e-4f, 1e-5f));
}

TEST(LossesBceWithLogits, MatchesADoublePrecisionReference) {
  Tensor x = randn({40}, 18) * 5.0f;
  Tensor y = rand({40}, 19);
  const Values xv = x.to_vector(), yv = y.to_vector();
  const Values got = F::binary_cross_entropy_with_logits(x, y, Reduction::None).to_vector();
  for (std::size_t i = 0; i < xv.size(); ++i) {
    const double p = 1 / (1 + std::exp(-double{xv[i]}));
    const double expected = reference_bce(p, yv[i]);
    EXPECT_NEAR(got[i], expected, 1e-5 * (1 + expected)) << "x = " << xv[i] << ", y = " << yv[i];
  }
}

// ---------------------------------------------------------------------------------------
// Argmax, argmin, accuracy

TEST(LossesArgmax, TheFirstOfTiedMaximaAsPyTorch) {
  const Values got = argmax(tensor({{1, 3, 3}, {7, 2, 7}, {4, 4, 4}}), 1).to_vector();
  EXPECT_THAT(got, ElementsAre(1, 0, 0)) << "PyTorch returns the first of tied maxima; a >= comparison moves to the "
                                            "last one";
  EXPECT_THAT(argmax(tensor({{5, 1}, {5, 2}, {0, 9}}), 0).to_vector(), ElementsAre(0, 2));
}

TEST(LossesArgmax, AlongAnyAxisWithKeepdim) {
  Tensor x = randn({3, 4, 5}, 20);
  for (int64_t axis : {0, 1, 2, -1}) {
    const int64_t d = axis < 0 ? axis + 3 : axis;
    Tensor got = argmax(x, axis);
    Shape expected_shape = x.shape();
    expected_shape.erase(expected_shape.begin() + d);
    ASSERT_EQ(got.shape(), expected_shape) << "axis " << axis;
    Shape kept = x.shape();
    kept[static_cast<std::size_t>(d)] = 1;
    EXPECT_EQ(argmax(x, axis, true).shape(), kept) << "axis " << axis;
    // Each index must point at the largest element of its slice.
    Tensor best = x.max(axis);
    Tensor at_index = gather(x, d, argmax(x, axis, true)).squeeze(d);
    EXPECT_EQ(at_index.to_vector(), best.to_vector()) << "axis " << axis;
  }
}

TEST(LossesArgmax, ANaNCountsAsTheLargest) {
  EXPECT_THAT(argmax(tensor({{2, kNaN, 5}, {kNaN, 9, kNaN}}), 1).to_vector(), ElementsAre(1, 0))
      << "as PyTorch, a NaN is reported as the argmax (the first NaN): a broken row must not look like class 0 or 2";
}

TEST(LossesArgmax, ArgminIsTheFirstSmallest) {
  EXPECT_THAT(argmin(tensor({{3, 1, 1}, {-2, 5, -2}}), 1).to_vector(), ElementsAre(1, 0));
  EXPECT_EQ(argmin(tensor({{3, 1}, {0, 4}}), 0, true).shape(), (Shape{1, 2}));
  EXPECT_THAT(argmin(tensor({{3, 1}, {0, 4}}), 0).to_vector(), ElementsAre(1, 0));
}

TEST(LossesArgmax, ReadsTransposedViews) {
  Tensor x = tensor({{1, 9}, {8, 2}, {3, 7}}).t();  // [[1, 8, 3], [9, 2, 7]], not contiguous
  EXPECT_THAT(argmax(x, 1).to_vector(), ElementsAre(1, 0));
  EXPECT_THAT(argmax(x, 0).to_vector(), ElementsAre(1, 0, 1));
}

TEST(LossesArgmax, BadAxesAndEmptySlicesAreErrors) {
  EXPECT_THAT(error_message<ShapeError>([] { argmax(zeros({3, 0}), 1); }), HasSubstr("[3, 0]"));
  error_message<IndexError>([] { argmax(zeros({2, 3}), 2); });
  error_message<IndexError>([] { argmin(zeros({2, 3}), -3); });
  EXPECT_EQ(argmax(zeros({0, 3}), 1).shape(), (Shape{0})) << "no rows: no indices, and no error";
}

TEST(LossesAccuracy, FractionOfRowsWhoseArgmaxIsTheTarget) {
  Tensor logits = tensor({{2, 1, 0}, {0, 3, 1}, {1, 0, 4}, {5, 0, 0}});
  EXPECT_EQ(F::accuracy(logits, tensor({0, 1, 2, 2})), 0.75f);
  EXPECT_EQ(F::accuracy(logits, tensor({0, 1, 2, 0})), 1.0f);
  EXPECT_EQ(F::accuracy(logits, tensor({1, 0, 0, 1})), 0.0f);
  EXPECT_EQ(F::accuracy(softmax(logits), tensor({0, 1, 2, 2})), 0.75f) << "probabilities give the same argmax";
}

TEST(LossesAccuracy, TiesGoToTheFirstClass) {
  EXPECT_EQ(F::accuracy(zeros({4, 3}), tensor({0, 0, 1, 2})), 0.5f)
      << "equal scores predict class 0 (the first of tied maxima), so exactly the two class-0 rows are right";
}

TEST(LossesAccuracy, AnEmptyBatchIsAnErrorNotNaN) {
  EXPECT_THAT(error_message<ShapeError>([] { F::accuracy(zeros({0, 10}), zeros({0})); }), HasSubstr("[0, 10]"))
      << "0 correct out of 0 is 0 / 0 = NaN: say that the batch is empty instead";
}

TEST(LossesAccuracy, ChecksItsTargetsLikeTheLosses) {
  EXPECT_THAT(error_message<ShapeError>([] { F::accuracy(zeros({2, 3}), tensor({{0, 1, 0}, {1, 0, 0}})); }),
              HasSubstr("argmax"));
  EXPECT_THAT(error_message<IndexError>([] { F::accuracy(zeros({2, 3}), tensor({0, 3})); }), HasSubstr("[0, 3)"));
}

TEST(LossesAccuracy, CountsWhatTheLossWeighs) {
  Tensor targets = tensor({0, 1});
  Tensor barely_right = tensor({{0.1f, 0}, {0, 0.1f}});
  Tensor confident_with_a_mistake = tensor({{9, 0}, {9, 0}});
  EXPECT_GT(F::accuracy(barely_right, targets), F::accuracy(confident_with_a_mistake, targets));
  EXPECT_LT(F::cross_entropy(barely_right, targets).item(), F::cross_entropy(confident_with_a_mistake, targets).item());
}

// ---------------------------------------------------------------------------------------
// The autograd slot: every loss must be made of recorded ops, so that module 05 can
// differentiate it. A recorder of the test's own stands in for module 05 and keeps the graph.

struct Node {
  std::string op;
  std::vector<Tensor> inputs;
  std::vector<int64_t> ints;
  Tensor output;
};
std::vector<Node> graph;

void graph_recorder(autograd::OpCall call, const Tensor& output) {
  output.impl_ptr()->requires_grad = true;
  graph.push_back({call.op, call.inputs, call.ints, output});
}

// Every op name of modules/README.md's op table ("map" has no backward, so it is not one).
const std::set<std::string> kDifferentiableOps = {
    "clone", "view", "transpose", "expand", "unsqueeze", "squeeze", "permute", "add", "sub", "mul", "div",
    "add_scalar", "sub_scalar", "mul_scalar", "div_scalar", "rsub_scalar", "rdiv_scalar", "neg", "sum", "sum_dim",
    "max", "max_dim", "matmul", "exp", "log", "sqrt", "abs", "pow", "clamp_min", "clamp_max", "relu", "leaky_relu",
    "sigmoid", "tanh", "gelu", "softmax", "log_softmax", "gather", "binary_cross_entropy",
    "binary_cross_entropy_with_logits", "cross_entropy"};

class LossesAutogradSlot : public ::testing::Test {
 protected:
  void SetUp() override {
    graph.clear();
    autograd::set_recorder(&graph_recorder);
  }
  void TearDown() override {
    autograd::set_recorder(nullptr);
    graph.clear();
  }
  static std::vector<std::string> ops() {
    std::vector<std::string> names;
    for (const Node& n : graph) names.push_back(n.op);
    return names;
  }
  // True when `leaf` is reached from `result` by walking back through recorded ops.
  static bool reaches(const Tensor& result, const Tensor& leaf) {
    std::map<const TensorImpl*, const Node*> made_by;
    for (const Node& n : graph) made_by[n.output.impl_ptr().get()] = &n;
    std::vector<const TensorImpl*> todo = {result.impl_ptr().get()};
    std::set<const TensorImpl*> seen;
    while (!todo.empty()) {
      const TensorImpl* t = todo.back();
      todo.pop_back();
      if (t == leaf.impl_ptr().get()) return true;
      if (!seen.insert(t).second) continue;
      auto it = made_by.find(t);
      if (it == made_by.end()) continue;
      for (const Tensor& input : it->second->inputs) todo.push_back(input.impl_ptr().get());
    }
    return false;
  }
};

TEST_F(LossesAutogradSlot, EveryLossIsConnectedToItsInputThroughRecordedOps) {
  Tensor logits = randn({4, 3}, 21).requires_grad_();
  Tensor targets = tensor({0, 2, 1, 2});
  Tensor soft = rand({4, 3}, 22);
  struct Case {
    const char* name;
    std::function<Tensor(Reduction)> loss;
  };
  const std::vector<Case> cases = {
      {"mse_loss", [&](Reduction r) { return F::mse_loss(logits, soft, r); }},
      {"cross_entropy", [&](Reduction r) { return F::cross_entropy(logits, targets, r); }},
      {"nll_loss of log_softmax", [&](Reduction r) { return F::nll_loss(log_softmax(logits), targets, r); }},
      {"binary_cross_entropy of sigmoid", [&](Reduction r) { return F::binary_cross_entropy(sigmoid(logits), soft, r); }},
      {"binary_cross_entropy_with_logits",
       [&](Reduction r) { return F::binary_cross_entropy_with_logits(logits, soft, r); }},
  };
  for (const Case& c : cases) {
    for (Reduction r : {Reduction::Mean, Reduction::Sum, Reduction::None}) {
      graph.clear();
      const Tensor loss = c.loss(r);
      const std::string what = std::string(c.name) + " with reduction " + nn::reduction_name(r);
      EXPECT_TRUE(loss.requires_grad())
          << what << ": the result does not require grad, so it was computed outside recorded ops (a data() loop, "
          << "to_vector() or a new Tensor(...)) and module 05 could not differentiate it";
      EXPECT_TRUE(reaches(loss, logits)) << what << ": the recorded ops do not lead back to the input";
      for (const Node& n : graph) {
        EXPECT_TRUE(kDifferentiableOps.count(n.op))
            << what << " records \"" << n.op << "\", which has no backward in modules/README.md's op table "
            << "(\"map\" never has one: wrap the computation in an op of its own)";
      }
    }
  }
}

TEST_F(LossesAutogradSlot, TheNewOpsRecordTheirNamesInputsAndArguments) {
  Tensor x = randn({2, 3}, 23).requires_grad_();
  Tensor index = tensor({{2}, {0}});
  (void)gather(x, -1, index);
  ASSERT_EQ(ops(), (std::vector<std::string>{"gather"})) << "gather is one op: its checks record nothing";
  EXPECT_EQ(graph[0].ints, (std::vector<int64_t>{1})) << "the dimension is recorded, counted from the front";
  ASSERT_EQ(graph[0].inputs.size(), 2u);
  EXPECT_EQ(graph[0].inputs[0].impl_ptr(), x.impl_ptr());
  EXPECT_EQ(graph[0].inputs[1].impl_ptr(), index.impl_ptr()) << "backward needs the index";

  graph.clear();
  Tensor p = rand({4}, 24).requires_grad_();
  Tensor y = tensor({0, 1, 1, 0});
  (void)F::binary_cross_entropy(p, y, Reduction::None);
  (void)F::binary_cross_entropy_with_logits(p, y, Reduction::None);
  EXPECT_EQ(ops(), (std::vector<std::string>{"binary_cross_entropy", "binary_cross_entropy_with_logits"}))
      << "each binary cross-entropy is one op (the composed gradient would be NaN at p = 0, or wrong at x = 0)";
  ASSERT_EQ(graph[0].inputs.size(), 2u);
  EXPECT_EQ(graph[0].inputs[0].impl_ptr(), p.impl_ptr());
  EXPECT_EQ(graph[0].inputs[1].impl_ptr(), y.impl_ptr());
}

TEST_F(LossesAutogradSlot, ArgmaxArgminAndAccuracyRecordNothing) {
  Tensor logits = randn({4, 3}, 25).requires_grad_();
  Tensor a = argmax(logits, 1);
  Tensor b = argmin(logits, 0, true);
  (void)F::accuracy(logits, tensor({0, 1, 2, 0}));
  EXPECT_TRUE(graph.empty()) << "indices are not differentiable: argmax must not record (its kernel's work included)";
  EXPECT_FALSE(a.requires_grad());
  EXPECT_FALSE(b.requires_grad());
}

// ---------------------------------------------------------------------------------------
// Real data: a "model" that predicts the class frequencies of Fashion-MNIST's labels.

// The first 100 labels of Fashion-MNIST's test set (t10k-labels-idx1-ubyte): the real labels
// this test uses when the tito data cache does not hold the dataset.
const Values kFirstTestLabels = {
    9, 2, 1, 1, 6, 1, 4, 6, 5, 7, 4, 5, 7, 3, 4, 1, 2, 4, 8, 0, 2, 5, 7, 9, 1, 4, 6, 0, 9, 3, 8, 8, 3, 3,
    8, 0, 7, 5, 7, 9, 6, 1, 3, 7, 6, 7, 2, 1, 2, 2, 4, 4, 5, 8, 2, 2, 8, 4, 8, 0, 7, 7, 8, 5, 1, 1, 2, 3,
    9, 8, 7, 0, 2, 6, 2, 3, 1, 2, 8, 4, 1, 8, 5, 9, 5, 0, 3, 2, 0, 6, 5, 3, 6, 7, 1, 8, 0, 1, 4, 2};

// Fashion-MNIST in the tito data cache: $TITO_DATA_DIR, else data/cache/ of this course.
fs::path fashion_mnist_dir() {
  if (const char* env = std::getenv("TITO_DATA_DIR"); env != nullptr && *env != '\0') {
    return fs::path(env) / "fashion-mnist" / "idx";
  }
  // The course the library was configured from (not __FILE__: tito's builds map the course
  // folder out of it, so it is a relative path).
  return fs::path(tinytorch::course::root()) / "data" / "cache" / "fashion-mnist" / "idx";
}

// The labels of an IDX label file (magic 0x00000801, a big-endian count, a byte per label);
// nothing when the file does not exist.
std::optional<Values> read_idx_labels(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return std::nullopt;
  unsigned char header[8] = {};
  in.read(reinterpret_cast<char*>(header), sizeof header);
  auto be32 = [&](int at) {
    return uint32_t{header[at]} << 24 | uint32_t{header[at + 1]} << 16 | uint32_t{header[at + 2]} << 8 |
           uint32_t{header[at + 3]};
  };
  if (!in || be32(0) != 0x801) throw std::runtime_error(file.string() + ": not an IDX label file");
  std::vector<unsigned char> bytes(be32(4));
  if (!in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()))) {
    throw std::runtime_error(file.string() + ": truncated");
  }
  return Values(bytes.begin(), bytes.end());
}

TEST(LossesRealData, ClassFrequencyModelOfFashionMnistTestLabels) {
  Values labels = kFirstTestLabels;
  const fs::path file = fashion_mnist_dir() / "t10k-labels-idx1-ubyte";
  const std::optional<Values> all = read_idx_labels(file);
  if (all) {
    ASSERT_EQ(all->size(), 10000u) << file;
    EXPECT_EQ(Values(all->begin(), all->begin() + 100), kFirstTestLabels)
        << "the labels stored in this test must be the first 100 of " << file;
    labels = *all;
  } else {
    std::cout << "Fashion-MNIST is not in the tito data cache (" << file << "): using the 100 real test labels "
              << "stored in this test. Import the dataset with\n"
              << "  tito data fetch fashion-mnist --from /usr/share/datasets/fashion-mnist\n";
  }
  RecordProperty("labels", all ? file.string() : "the first 100 test labels stored in the test");

  const auto n = static_cast<int64_t>(labels.size());
  std::vector<double> counts(10, 0);
  for (float label : labels) counts[static_cast<std::size_t>(label)] += 1;
  Values log_frequencies;
  double entropy = 0;  // the frequency model's cross-entropy on its own labels
  for (double c : counts) {
    log_frequencies.push_back(static_cast<float>(std::log(c / n)));
    if (c > 0) entropy -= c / n * std::log(c / n);
  }
  const Tensor targets = Tensor(labels, {n});
  const Tensor logits = Tensor(log_frequencies, {1, 10}).expand({n, 10});  // the same row for every image

  const float loss = F::cross_entropy(logits, targets).item();
  EXPECT_NEAR(loss, entropy, 1e-5 * entropy) << "the frequency model's loss is the entropy of the labels";
  EXPECT_NEAR(F::nll_loss(log_softmax(logits, 1), targets).item(), entropy, 1e-5 * entropy);
  const auto most = std::max_element(counts.begin(), counts.end());  // the first of the most frequent classes
  EXPECT_FLOAT_EQ(F::accuracy(logits, targets), static_cast<float>(*most / n))
      << "always predicting the (first) most frequent class is right for exactly its share of the labels";
  if (all) {
    EXPECT_NEAR(loss, kLn10, 1e-5) << "Fashion-MNIST's test set is balanced (1000 per class): its loss is ln 10";
    EXPECT_FLOAT_EQ(F::accuracy(logits, targets), 0.1f) << "ten tied classes: argmax picks class 0, 1000 of 10000";
  }
}

// ---------------------------------------------------------------------------------------
// Integration: modules 01, 02 and 04 as a student uses them.

TEST(LossesIntegration, APerceptronTrainedWithRosenblattsRuleIsScoredByTheLosses) {
  // Two separable clouds of 2-D points: class 1 around (2, 2), class 0 around (-2, -2).
  const int64_t n = 200;
  Values label_values;
  for (int64_t i = 0; i < n; ++i) label_values.push_back(i % 2 == 0 ? 1.0f : 0.0f);
  const Tensor y = Tensor(label_values, {n});
  const Tensor x = randn({n, 2}, 26) * 0.7f + (y.unsqueeze(1) * 4.0f - 2.0f);  // broadcast [n, 1] over [n, 2]

  Tensor w = zeros({2});
  float b = 0;
  auto scores = [&] { return x.matmul(w) + b; };                                   // [n]
  auto two_class_logits = [&] { return scores().unsqueeze(1) * tensor({0, 1}); };  // [0, s]: class 1 wins when s > 0
  const float loss_before = F::binary_cross_entropy_with_logits(scores(), y).item();
  EXPECT_NEAR(loss_before, kLn2, 1e-6) << "zero weights give every example p = 0.5";
  EXPECT_EQ(F::accuracy(two_class_logits(), y), 0.5f) << "zero scores tie, and ties predict class 0";

  // Rosenblatt's rule: for every misclassified point, add it to the weights (class 1) or subtract it (class 0).
  for (int epoch = 0; epoch < 10; ++epoch) {
    int mistakes = 0;
    for (int64_t i = 0; i < n; ++i) {
      const float s = w.at({0}) * x.at({i, 0}) + w.at({1}) * x.at({i, 1}) + b;
      const float error = y.at({i}) - (s > 0 ? 1.0f : 0.0f);
      if (error == 0) continue;
      ++mistakes;
      w.at({0}) += error * x.at({i, 0});
      w.at({1}) += error * x.at({i, 1});
      b += error;
    }
    if (mistakes == 0) break;
  }
  EXPECT_EQ(F::accuracy(two_class_logits(), y), 1.0f) << "the clouds are separable, so the perceptron converges";
  const float loss_after = F::binary_cross_entropy_with_logits(scores(), y).item();
  EXPECT_LT(loss_after, loss_before) << "separating the classes lowers the loss";
  // Three ways to score the same logits agree: softmax([0, s])[1] = sigmoid(s).
  EXPECT_NEAR(F::cross_entropy(two_class_logits(), y).item(), loss_after, 1e-5);
  EXPECT_NEAR(F::binary_cross_entropy(sigmoid(scores()), y).item(), loss_after, 1e-4);
  EXPECT_NEAR(F::nll_loss(log_softmax(two_class_logits(), 1), y).item(), loss_after, 1e-5);
}

// BEGIN HIDDEN TESTS
TEST(LossesHidden, CrossEntropyOfATransposedViewWithOffsetTargets) {
  Tensor logits = randn({10, 6}, 31).t();  // [6, 10], not contiguous
  Tensor all = tensor({9, 1, 3, 0, 2, 5, 7, 4});
  Tensor targets = Tensor(all.storage(), {6}, {1}, 2);  // [3, 0, 2, 5, 7, 4]: a view with an offset
  const std::vector<double> expected = reference_cross_entropy(logits.contiguous(), targets.contiguous());
  const Values got = F::cross_entropy(logits, targets, Reduction::None).to_vector();
  for (std::size_t i = 0; i < expected.size(); ++i) EXPECT_NEAR(got[i], expected[i], 1e-5 * (1 + expected[i]));
}

TEST(LossesHidden, NllLossTrustsItsInput) {
  EXPECT_NEAR(F::nll_loss(tensor({{5, -2}, {0.5f, 3}}), tensor({1, 0})).item(), 0.75f, 1e-6f)
      << "nll_loss picks and negates; it takes no softmax or log of its own";
}

TEST(LossesHidden, ManyClassesAndLargeLogits) {
  Tensor logits = randn({8, 1000}, 32) * 30.0f;
  Tensor targets = random_targets(8, 1000, 33);
  const std::vector<double> expected = reference_cross_entropy(logits, targets);
  const Values got = F::cross_entropy(logits, targets, Reduction::None).to_vector();
  for (std::size_t i = 0; i < expected.size(); ++i) EXPECT_NEAR(got[i], expected[i], 1e-4 * (1 + expected[i]));
}

TEST(LossesHidden, ArgmaxAlongTheMiddleAxisWithTies) {
  Tensor x = tensor({{1, 5, 5, 2}, {7, 7, 0, 7}}).view({2, 2, 2});  // [[[1, 5], [5, 2]], [[7, 7], [0, 7]]]
  EXPECT_THAT(argmax(x, 1).to_vector(), ElementsAre(1, 0, 0, 0));
  EXPECT_THAT(argmax(x, 2).to_vector(), ElementsAre(1, 0, 0, 1));
  EXPECT_THAT(argmax(x, 0).to_vector(), ElementsAre(1, 1, 0, 1));
}

TEST(LossesHidden, GatherAlongTheFirstAxisOfAThreeDimensionalTensor) {
  Tensor x = randn({4, 2, 3}, 34);
  Tensor index = tensor({{3, 0, 1}, {2, 2, 0}, {1, 3, 3}, {0, 0, 2}, {3, 1, 1}}).view({5, 1, 3}).expand({5, 2, 3});
  Tensor got = gather(x, 0, index);
  ASSERT_EQ(got.shape(), (Shape{5, 2, 3}));
  for (int64_t j = 0; j < 5; ++j) {
    for (int64_t r = 0; r < 2; ++r) {
      for (int64_t c = 0; c < 3; ++c) {
        const auto p = static_cast<int64_t>(index.at({j, r, c}));
        EXPECT_EQ(got.at({j, r, c}), x.at({p, r, c}));
      }
    }
  }
}

TEST(LossesHidden, AccuracyCountsEveryRow) {
  Tensor logits = tensor({{1, 0}, {0, 1}, {1, 0}, {0, 1}, {1, 0}, {0, 1}, {1, 0}});
  EXPECT_FLOAT_EQ(F::accuracy(logits, tensor({0, 1, 1, 1, 0, 0, 0})), 5.0f / 7);
}

TEST(LossesHidden, LogSumExpOfTheMiddleAxisWithKeepdim) {
  Tensor x = randn({2, 3, 2}, 35) * 50.0f;
  Tensor y = logsumexp(x, -2, true);
  ASSERT_EQ(y.shape(), (Shape{2, 1, 2}));
  for (int64_t i = 0; i < 2; ++i) {
    for (int64_t k = 0; k < 2; ++k) {
      double m = -1e300;
      for (int64_t j = 0; j < 3; ++j) m = std::max(m, double{x.at({i, j, k})});
      double total = 0;
      for (int64_t j = 0; j < 3; ++j) total += std::exp(double{x.at({i, j, k})} - m);
      EXPECT_NEAR(y.at({i, 0, k}), m + std::log(total), 1e-4 * (1 + std::fabs(m)));
    }
  }
}

TEST(LossesHidden, MseOfThreeDimensionalViews) {
  Tensor a = randn({2, 3, 4}, 36).transpose(0, 2);  // [4, 3, 2]
  Tensor b = randn({4, 3, 2}, 37);
  Tensor d = a.contiguous() - b;
  EXPECT_NEAR(F::mse_loss(a, b).item(), (d * d).mean().item(), 1e-5f);
}

TEST(LossesHidden, ReductionsOfNoLosses) {
  EXPECT_EQ(F::apply_reduction(zeros({0}), Reduction::Sum).item(), 0.0f);
  EXPECT_TRUE(std::isnan(F::apply_reduction(zeros({0}), Reduction::Mean).item())) << "as PyTorch: 0 / 0";
}

TEST(LossesHidden, BceOfAMatrixWithSoftTargets) {
  Tensor p = rand({3, 5}, 38) * 0.9f + 0.05f;
  Tensor y = rand({3, 5}, 39);
  const Values pv = p.to_vector(), yv = y.to_vector();
  double total = 0;
  for (std::size_t i = 0; i < pv.size(); ++i) total += reference_bce(pv[i], yv[i]);
  EXPECT_NEAR(F::binary_cross_entropy(p, y, Reduction::Sum).item(), total, 1e-5 * total);
  EXPECT_NEAR(F::binary_cross_entropy_with_logits(log(p) - log(1.0f - p), y, Reduction::Sum).item(), total,
              1e-4 * total);
}
// END HIDDEN TESTS

}  // namespace
