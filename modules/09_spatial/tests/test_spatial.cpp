// Tests for module 09 (spatial): the public API of <tinytorch/core/spatial.hpp>.
// Expected values come from small references written here with at() straight from the formulas
// (never from the code under test), from numbers worked out by hand, and from finite differences
// (module 05's gradcheck). The real-data tests read the real Fashion-MNIST from the tito data
// cache and fail, naming the fetch command, when it is missing.
// Linked with gtest_main, together with the quick tests in spatial_dev.cpp.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <numeric>
#include <optional>
#include <sstream>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include <tinytorch/core/spatial.hpp>
#include <tinytorch/testing.hpp>

namespace {

using namespace tinytorch;
namespace F = tinytorch::nn::functional;
namespace ds = tinytorch::data::datasets;
using ::testing::HasSubstr;
using tinytorch::testing::all_finite;
using tinytorch::testing::error_message;

using Function = std::function<Tensor(const std::vector<Tensor>&)>;

// ---------------------------------------------------------------------------------------
// References, straight from the formulas, with at(): slow and obviously right.

// out[n, o, oh, ow] = bias[o] + sum over c, ki, kj of w[o, c, ki, kj] * x[n, c, oh*S - P + ki, ow*S - P + kj].
Tensor reference_conv(const Tensor& x, const Tensor& w, const Tensor& b, int64_t stride, int64_t padding) {
  const int64_t n_ = x.size(0), c_ = x.size(1), h = x.size(2), wd = x.size(3), o_ = w.size(0), k = w.size(2);
  const int64_t oh_ = (h + 2 * padding - k) / stride + 1, ow_ = (wd + 2 * padding - k) / stride + 1;
  Tensor out = zeros({n_, o_, oh_, ow_});
  for (int64_t n = 0; n < n_; ++n)
    for (int64_t o = 0; o < o_; ++o)
      for (int64_t oh = 0; oh < oh_; ++oh)
        for (int64_t ow = 0; ow < ow_; ++ow) {
          double acc = b.defined() ? b.at({o}) : 0.0;
          for (int64_t c = 0; c < c_; ++c)
            for (int64_t ki = 0; ki < k; ++ki)
              for (int64_t kj = 0; kj < k; ++kj) {
                const int64_t ih = oh * stride - padding + ki, iw = ow * stride - padding + kj;
                if (ih >= 0 && ih < h && iw >= 0 && iw < wd) acc += w.at({o, c, ki, kj}) * x.at({n, c, ih, iw});
              }
          out.at({n, o, oh, ow}) = static_cast<float>(acc);
        }
  return out;
}

// The im2col matrix by its definition: [(c*K + ki)*K + kj, (n*OH + oh)*OW + ow] = x[n, c, ...] or 0.
Tensor reference_im2col(const Tensor& x, int64_t k, int64_t stride, int64_t padding) {
  const int64_t n_ = x.size(0), c_ = x.size(1), h = x.size(2), wd = x.size(3);
  const int64_t oh_ = (h + 2 * padding - k) / stride + 1, ow_ = (wd + 2 * padding - k) / stride + 1;
  Tensor cols = zeros({c_ * k * k, n_ * oh_ * ow_});
  for (int64_t c = 0; c < c_; ++c)
    for (int64_t ki = 0; ki < k; ++ki)
      for (int64_t kj = 0; kj < k; ++kj)
        for (int64_t n = 0; n < n_; ++n)
          for (int64_t oh = 0; oh < oh_; ++oh)
            for (int64_t ow = 0; ow < ow_; ++ow) {
              const int64_t ih = oh * stride - padding + ki, iw = ow * stride - padding + kj;
              if (ih >= 0 && ih < h && iw >= 0 && iw < wd) {
                cols.at({(c * k + ki) * k + kj, (n * oh_ + oh) * ow_ + ow}) = x.at({n, c, ih, iw});
              }
            }
  return cols;
}

// Pooling by its definition: the max (first one wins) or the mean (padding zeros included).
Tensor reference_pool(const Tensor& x, int64_t k, int64_t stride, int64_t padding, bool max) {
  const int64_t n_ = x.size(0), c_ = x.size(1), h = x.size(2), wd = x.size(3);
  const int64_t oh_ = (h + 2 * padding - k) / stride + 1, ow_ = (wd + 2 * padding - k) / stride + 1;
  Tensor out = zeros({n_, c_, oh_, ow_});
  for (int64_t n = 0; n < n_; ++n)
    for (int64_t c = 0; c < c_; ++c)
      for (int64_t oh = 0; oh < oh_; ++oh)
        for (int64_t ow = 0; ow < ow_; ++ow) {
          double acc = max ? -std::numeric_limits<double>::infinity() : 0.0;
          for (int64_t ki = 0; ki < k; ++ki)
            for (int64_t kj = 0; kj < k; ++kj) {
              const int64_t ih = oh * stride - padding + ki, iw = ow * stride - padding + kj;
              const double v = ih >= 0 && ih < h && iw >= 0 && iw < wd ? x.at({n, c, ih, iw}) : 0.0;
              acc = max ? std::max(acc, v) : acc + v / static_cast<double>(k * k);
            }
          out.at({n, c, oh, ow}) = static_cast<float>(acc);
        }
  return out;
}

// Sum of the elementwise products: <a, b>.
double dot(const Tensor& a, const Tensor& b) {
  const std::vector<float> x = a.to_vector(), y = b.to_vector();
  double total = 0.0;
  for (std::size_t i = 0; i < x.size(); ++i) total += static_cast<double>(x[i]) * y[i];
  return total;
}

// A leaf that requires grad.
Tensor leaf(const Tensor& t) { return t.detach().clone().requires_grad_(); }

// The values 0, 0.1, 0.2, ... in a seeded random order: no two within finite differences' reach,
// so a max never changes its winner when one input is nudged by eps = 0.01.
Tensor distinct_values(const Shape& shape, uint64_t seed) {
  const int64_t n = shape_numel(shape);
  std::vector<float> values(static_cast<std::size_t>(n));
  for (int64_t i = 0; i < n; ++i) values[static_cast<std::size_t>(i)] = 0.1f * static_cast<float>(i);
  Generator g(seed);
  for (int64_t i = n - 1; i > 0; --i) std::swap(values[i], values[g.next_u64() % static_cast<uint64_t>(i + 1)]);
  return Tensor(values, shape);
}

// Expects autograd's gradient of f at `inputs` (those that require grad) to match finite differences.
void expect_gradcheck(const std::string& what, const Function& f, const std::vector<Tensor>& inputs,
                      uint64_t seed = 7) {
  const autograd::GradcheckResult result = autograd::gradcheck(f, inputs, {.seed = seed});
  EXPECT_TRUE(result.ok) << what << ": autograd and finite differences disagree\n" << result.report;
}

// The description a module prints, as errors name it.
std::string printed(const nn::Module& module) {
  std::ostringstream os;
  module.pretty_print(os);
  return os.str();
}

// The real Fashion-MNIST from the tito data cache, or a test failure that names the fetch command.
std::optional<ds::FashionMNIST> real_fashion_mnist(bool train) {
  return tinytorch::testing::real_dataset<ds::FashionMNIST, data::DatasetNotFound>(train);
}

// A convolution configuration of the tests: input [n, c, h, w], o filters of k x k.
struct ConvCase {
  int64_t n, c, h, w, o, k, stride, padding;
  bool bias;
};

std::string describe(const ConvCase& t) {
  return "input [" + std::to_string(t.n) + ", " + std::to_string(t.c) + ", " + std::to_string(t.h) + ", " +
         std::to_string(t.w) + "], " + std::to_string(t.o) + " filters of " + std::to_string(t.k) + "x" +
         std::to_string(t.k) + ", stride " + std::to_string(t.stride) + ", padding " + std::to_string(t.padding) +
         (t.bias ? ", bias" : ", no bias");
}

// Square and non-square images, strides 1 to 3, padding 0 to 2, batches of 1 and 3, 1x1 to 4x4 kernels.
std::vector<ConvCase> conv_cases() {
  return {{1, 1, 5, 5, 1, 3, 1, 0, false}, {3, 2, 6, 9, 4, 3, 1, 1, true},  {2, 3, 7, 5, 2, 2, 2, 0, true},
          {1, 2, 9, 4, 3, 3, 2, 2, true},  {2, 1, 8, 8, 2, 4, 3, 1, false}, {3, 4, 5, 6, 5, 1, 1, 0, true},
          {1, 3, 4, 7, 2, 5, 1, 2, true},  {2, 2, 5, 5, 3, 5, 2, 2, false}};
}

// ---------------------------------------------------------------------------------------
// Part 1: output sizes

TEST(SpatialOutputSize, TheFormulaAlongOneDimension) {
  EXPECT_EQ(conv_output_size(28, 5, 1, 0), 24);
  EXPECT_EQ(conv_output_size(28, 5, 1, 2), 28) << "padding (K - 1) / 2 keeps the size";
  EXPECT_EQ(conv_output_size(28, 2, 2, 0), 14);
  EXPECT_EQ(conv_output_size(27, 2, 2, 0), 13) << "the last row is dropped when the stride does not divide evenly";
  EXPECT_EQ(conv_output_size(6, 3, 2, 0), 2) << "windows start at 0 and 2; one at 4 would need positions 4 to 6";
  EXPECT_EQ(conv_output_size(7, 3, 2, 1), 4);
  EXPECT_EQ(conv_output_size(10, 3, 3, 1), 4);
  EXPECT_EQ(conv_output_size(5, 5, 1, 0), 1) << "a window exactly as large as the input fits once";
  EXPECT_EQ(conv_output_size(1, 1, 1, 0), 1);
}

TEST(SpatialOutputSize, AWindowThatDoesNotFitGivesZeroNotOne) {
  EXPECT_EQ(conv_output_size(4, 5, 1, 0), 0);
  EXPECT_EQ(conv_output_size(4, 5, 2, 0), 0)
      << "C++ division truncates toward zero: (4 - 5) / 2 + 1 is 1, so check size + 2 padding < kernel first";
  EXPECT_EQ(conv_output_size(1, 3, 2, 0), 0) << "(1 - 3) / 2 + 1 is 0 by luck; (4 - 5) / 2 + 1 is not";
  EXPECT_EQ(conv_output_size(2, 7, 3, 2), 0) << "2 + 2*2 = 6 positions cannot hold a window of 7";
  EXPECT_EQ(conv_output_size(2, 6, 3, 2), 1) << "2 + 2*2 = 6 positions hold a window of 6 once";
}

// ---------------------------------------------------------------------------------------
// Part 2: the direct convolution

TEST(SpatialDirect, TwoChannelsInTwoChannelsOutByHand) {
  // Image: channel 0 = [[1, 2], [3, 4]], channel 1 = [[0, 1], [1, 0]]. Kernel 2x2 covers it once.
  const Tensor x = tensor({1, 2, 3, 4, 0, 1, 1, 0}).reshape({1, 2, 2, 2});
  // Filter 0 sums channel 0; filter 1 takes channel 0's top-left minus channel 1's top-right.
  const Tensor w = tensor({1, 1, 1, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, -1, 0, 0}).reshape({2, 2, 2, 2});
  const Tensor out = native::conv2d_direct(x, w, tensor({100, 200}), 1, 0);
  EXPECT_EQ(out.shape(), (Shape{1, 2, 1, 1}));
  EXPECT_EQ(out.to_vector(), (std::vector<float>{110, 200})) << "filter 0: 1+2+3+4 + 100; filter 1: 1 - 1 + 200";
}

TEST(SpatialDirect, MatchesTheDefinitionForStridesPaddingAndNonSquareImages) {
  uint64_t seed = 100;
  for (const ConvCase& t : conv_cases()) {
    const Tensor x = randn({t.n, t.c, t.h, t.w}, ++seed), w = randn({t.o, t.c, t.k, t.k}, ++seed);
    const Tensor b = t.bias ? randn({t.o}, ++seed) : Tensor();
    const Tensor expected = reference_conv(x, w, b, t.stride, t.padding);
    const Tensor out = native::conv2d_direct(x, w, b, t.stride, t.padding);
    ASSERT_EQ(out.shape(), expected.shape()) << describe(t);
    EXPECT_TRUE(allclose(out, expected, 1e-4f, 1e-5f)) << describe(t);
  }
}

TEST(SpatialDirect, ReadsAViewWhereItsElementsAre) {
  const Tensor base = randn({1, 2, 5, 4}, 3), w = randn({3, 2, 3, 3}, 4);
  const Tensor view = base.transpose(2, 3);  // [1, 2, 4, 5], not contiguous
  EXPECT_TRUE(
      allclose(native::conv2d_direct(view, w, Tensor(), 1, 1), reference_conv(view, w, Tensor(), 1, 1), 1e-4f, 1e-5f))
      << "a transposed input is a view: make it contiguous() before reading data()";
}

// ---------------------------------------------------------------------------------------
// Part 3: im2col and col2im

TEST(SpatialIm2col, RowsAreKernelEntriesAndColumnsAreWindows) {
  // Two images of two channels, 3x3 each: channel c of image n holds 100 n + 10 c + (pixel number).
  std::vector<float> values;
  for (int n = 0; n < 2; ++n)
    for (int c = 0; c < 2; ++c)
      for (int p = 0; p < 9; ++p) values.push_back(static_cast<float>(100 * n + 10 * c + p));
  const Tensor x(values, {2, 2, 3, 3});
  const Tensor cols = native::im2col(x, 2, 1, 0);
  ASSERT_EQ(cols.shape(), (Shape{8, 8})) << "2 channels x 2 x 2 kernel entries, 2 images x 2 x 2 windows";
  EXPECT_EQ(cols.at({0, 0}), 0.0f);
  EXPECT_EQ(cols.at({0, 1}), 1.0f) << "column 1 is image 0's window at (0, 1)";
  EXPECT_EQ(cols.at({0, 4}), 100.0f) << "image 1's windows start at column OH * OW = 4, not at column 1";
  EXPECT_EQ(cols.at({3, 3}), 8.0f) << "row 3 is kernel entry (c 0, ki 1, kj 1) of window (1, 1): pixel 8";
  EXPECT_EQ(cols.at({4, 0}), 10.0f) << "rows 4 to 7 are channel 1's kernel entries";
  EXPECT_EQ(cols.at({7, 7}), 118.0f) << "the last entry: image 1, channel 1, pixel 8";
  EXPECT_EQ(cols.to_vector(), reference_im2col(x, 2, 1, 0).to_vector());
}

TEST(SpatialIm2col, PaddingReadsZerosStrideSkipsAndImagesMayBeNonSquare) {
  uint64_t seed = 200;
  for (const ConvCase& t : conv_cases()) {
    const Tensor x = randn({t.n, t.c, t.h, t.w}, ++seed);
    EXPECT_EQ(native::im2col(x, t.k, t.stride, t.padding).to_vector(),
              reference_im2col(x, t.k, t.stride, t.padding).to_vector())
        << describe(t);
  }
  const Tensor padded = native::im2col(ones({1, 1, 2, 2}), 3, 1, 1);
  EXPECT_EQ(padded.shape(), (Shape{9, 4}));
  EXPECT_EQ(padded.sum().item(), 16.0f) << "each of the 4 pixels appears in all 4 windows; the rest is padding, 0";
}

TEST(SpatialIm2col, WritesThePaddingsZerosIntoABufferThatHeldAnotherTensor) {
  // cols is [4 * 3 * 3, 4 * 16 * 16] = 36 x 1024 floats: large enough for module 01's buffer cache,
  // so im2col's empty() most likely gets the 7s back.
  const Tensor x = randn({4, 4, 16, 16}, 31);
  for (const auto& [stride, padding] : std::vector<std::pair<int64_t, int64_t>>{{1, 1}, {1, 2}, {2, 1}}) {
    const Tensor expected = reference_im2col(x, 3, stride, padding);
    { Tensor sevens = full(expected.shape(), 7); }
    EXPECT_EQ(native::im2col(x, 3, stride, padding).to_vector(), expected.to_vector())
        << "stride " << stride << ", padding " << padding << ": every entry of padding must be written as 0";
  }
}

TEST(SpatialIm2col, TheColumnsInsideTheImageForEveryKernelColumn) {
  for (int64_t width = 1; width <= 6; ++width) {
    for (int64_t kernel = 1; kernel <= 5; ++kernel) {
      for (int64_t stride = 1; stride <= 3; ++stride) {
        for (int64_t padding = 0; padding <= 2; ++padding) {
          const int64_t out_w = conv_output_size(width, kernel, stride, padding);
          for (int64_t kj = 0; kj < kernel && out_w > 0; ++kj) {
            std::vector<int64_t> inside;
            for (int64_t ow = 0; ow < out_w; ++ow) {
              const int64_t iw = ow * stride - padding + kj;
              if (iw >= 0 && iw < width) inside.push_back(ow);
            }
            const native::ColumnRange range = native::columns_inside(width, out_w, kj, stride, padding);
            const std::string where = "width " + std::to_string(width) + ", kernel " + std::to_string(kernel) +
                                      ", stride " + std::to_string(stride) + ", padding " + std::to_string(padding) +
                                      ", kj " + std::to_string(kj);
            ASSERT_LE(range.first, range.end) << where;
            ASSERT_EQ(range.end - range.first, static_cast<int64_t>(inside.size())) << where;
            if (!inside.empty()) {
              EXPECT_EQ(range.first, inside.front()) << where;
            }
          }
        }
      }
    }
  }
}

TEST(SpatialIm2col, ReadsAViewWhereItsElementsAre) {
  const Tensor base = randn({2, 3, 4, 5}, 5);
  const Tensor view = base.permute({0, 1, 3, 2});  // [2, 3, 5, 4]
  EXPECT_EQ(native::im2col(view, 3, 1, 1).to_vector(), reference_im2col(view, 3, 1, 1).to_vector())
      << "a permuted input is a view: make it contiguous() before reading data()";
}

TEST(SpatialCol2im, IsTheAdjointOfIm2col) {
  uint64_t seed = 300;
  for (const ConvCase& t : conv_cases()) {
    const Tensor x = randn({t.n, t.c, t.h, t.w}, ++seed);
    const Tensor cols = native::im2col(x, t.k, t.stride, t.padding);
    const Tensor c = randn(cols.shape(), ++seed);
    const Tensor back = native::col2im(c, x.shape(), t.k, t.stride, t.padding);
    ASSERT_EQ(back.shape(), x.shape()) << describe(t);
    EXPECT_NEAR(dot(cols, c), dot(x, back), 1e-3 * (1.0 + std::fabs(dot(cols, c))))
        << describe(t) << ": <im2col(x), c> must equal <x, col2im(c)>";
  }
}

TEST(SpatialCol2im, OverlappingWindowsAddUpAndPaddingIsDropped) {
  const Tensor counts = native::col2im(ones({9, 9}), {1, 1, 3, 3}, 3, 1, 1);
  EXPECT_EQ(counts.to_vector(), (std::vector<float>{4, 6, 4, 6, 9, 6, 4, 6, 4}))
      << "each pixel receives one 1 per window that covers it (+=, not =); padding entries go nowhere";
  const Tensor tiles = native::col2im(arange(1, 9).reshape({4, 2}), {1, 1, 2, 4}, 2, 2, 0);
  EXPECT_EQ(tiles.to_vector(), (std::vector<float>{1, 3, 2, 4, 5, 7, 6, 8}))
      << "with stride = kernel the windows tile the image: every entry goes back to one pixel";
}

TEST(SpatialCol2im, StartsFromZerosEveryTime) {
  const Tensor cols = randn({4, 4}, 6);
  const std::vector<float> first = native::col2im(cols, {1, 1, 3, 3}, 2, 1, 0).to_vector();
  EXPECT_EQ(native::col2im(cols, {1, 1, 3, 3}, 2, 1, 0).to_vector(), first)
      << "a second call must give the same result: make a new zeros tensor in each call";
}

TEST(SpatialIm2col, ThePublicOpsCheckTheirArguments) {
  EXPECT_EQ(error_message<ShapeError>([] {
              im2col(zeros({3, 4, 4}), 3);
            }),
            "im2col(kernel=3, stride=1, padding=0): expected an input [N, C, H, W], got [3, 4, 4] (a single image? add "
            "the batch dimension with unsqueeze(0))");
  EXPECT_EQ(error_message<ShapeError>([] {
              im2col(zeros({1, 1, 2, 5}), 3, 1, 0);
            }),
            "im2col(kernel=3, stride=1, padding=0): input [1, 1, 2, 5] gives an output of 0x3 (a 3x3 window does not "
            "fit in 2x5 with padding 0)");
  EXPECT_THAT(error_message<ShapeError>([] {
                col2im(zeros({9, 5}), {1, 1, 4, 4}, 3);
              }),
              HasSubstr("expected columns of shape [9, 4], got [9, 5]"));
  EXPECT_THAT(error_message<std::invalid_argument>([] {
                im2col(zeros({1, 1, 4, 4}), 2, 0);
              }),
              HasSubstr("the kernel and the stride must be at least 1"));
  EXPECT_EQ(im2col(randn({1, 2, 4, 4}, 7), 3, 1, 1).to_vector(),
            native::im2col(randn({1, 2, 4, 4}, 7), 3, 1, 1).to_vector());
}

// ---------------------------------------------------------------------------------------
// Part 4: conv2d and nn::Conv2d

TEST(SpatialConv2d, MatchesTheDefinitionForStridesPaddingAndNonSquareImages) {
  uint64_t seed = 400;
  for (const ConvCase& t : conv_cases()) {
    const Tensor x = randn({t.n, t.c, t.h, t.w}, ++seed), w = randn({t.o, t.c, t.k, t.k}, ++seed);
    const Tensor b = t.bias ? randn({t.o}, ++seed) : Tensor();
    const Tensor out = F::conv2d(x, w, b, t.stride, t.padding);
    const Tensor expected = reference_conv(x, w, b, t.stride, t.padding);
    ASSERT_EQ(out.shape(), expected.shape()) << describe(t);
    EXPECT_TRUE(allclose(out, expected, 1e-4f, 1e-5f))
        << describe(t) << ": a product viewed as [N, O, OH, OW] instead of [O, N, OH, OW] then permuted has the "
        << "right shape and the wrong numbers";
  }
}

TEST(SpatialConv2d, TheOutputIsAContiguousTensorOfItsOwn) {
  const Tensor x = randn({2, 3, 5, 5}, 8), w = randn({4, 3, 3, 3}, 9);
  EXPECT_TRUE(F::conv2d(x, w).is_contiguous()) << "without a bias, return out.contiguous(), not the permuted view";
  EXPECT_TRUE(F::conv2d(x, w, randn({4}, 10)).is_contiguous());
}

// Counts the tensor buffers of one size made while it lives, through module 01's allocation hook.
class AllocationsOfSize {
 public:
  explicit AllocationsOfSize(std::size_t bytes) {
    bytes_ = bytes;
    count_ = 0;
    memory::set_allocation_observer(&observer_);
  }
  ~AllocationsOfSize() { memory::set_allocation_observer(nullptr); }
  AllocationsOfSize(const AllocationsOfSize&) = delete;
  AllocationsOfSize& operator=(const AllocationsOfSize&) = delete;
  int count() const { return count_; }

 private:
  static void allocated(std::size_t bytes) noexcept { count_ += bytes == bytes_ ? 1 : 0; }
  static void freed(std::size_t) noexcept {}
  static inline std::size_t bytes_ = 0;
  static inline int count_ = 0;
  static constexpr memory::AllocationObserver observer_{&allocated, &freed};
};

TEST(SpatialConv2d, TheBiasIsAddedInThePermutesOnePass) {
  const Tensor x = randn({4, 3, 6, 6}, 13), w = randn({5, 3, 3, 3}, 14), b = randn({5}, 15);
  const std::size_t output_bytes = 4 * 5 * 6 * 6 * sizeof(float);  // the product [O, N*OH*OW] has as many
  AllocationsOfSize counted(output_bytes);
  const Tensor out = F::conv2d(x, w, b, 1, 1);
  EXPECT_EQ(counted.count(), 2)
      << "conv2d should allocate two tensors of the output's size, the product and the output: adding the "
         "bias to the permuted view reads both in place (out.contiguous() + bias, or a bias expanded and "
         "copied, makes more)";
}

TEST(SpatialConv2d, ShapeErrorsNameTheShapes) {
  const Tensor w = zeros({16, 3, 5, 5});
  EXPECT_EQ(error_message<ShapeError>([&] {
              F::conv2d(zeros({2, 1, 28, 28}), w);
            }),
            "conv2d(weight [16, 3, 5, 5], stride=1, padding=0): expected an input [N, 3, H, W], got [2, 1, 28, 28] "
            "(1 channel, not 3)");
  EXPECT_EQ(error_message<ShapeError>([&] {
              F::conv2d(zeros({2, 3, 4, 4}), w);
            }),
            "conv2d(weight [16, 3, 5, 5], stride=1, padding=0): input [2, 3, 4, 4] gives an output of 0x0 (a 5x5 "
            "window does not fit in 4x4 with padding 0)");
  EXPECT_THAT(error_message<ShapeError>([] {
                F::conv2d(zeros({1, 3, 8, 8}), zeros({16, 3, 5, 4}));
              }),
              HasSubstr("the weight must be [O, C, K, K]"));
  EXPECT_THAT(error_message<ShapeError>([&] {
                F::conv2d(zeros({1, 3, 8, 8}), w, zeros({3}));
              }),
              HasSubstr("the bias must be [16], got [3]"));
}

TEST(SpatialConv2d, NothingIsRecordedWithoutAGradient) {
  const Tensor x = randn({1, 2, 5, 5}, 11), w = randn({3, 2, 3, 3}, 12);
  EXPECT_EQ(autograd::grad_fn(F::conv2d(x, w)), nullptr) << "no input requires grad: no graph";
  EXPECT_TRUE(F::conv2d(x, leaf(w)).requires_grad());
  NoGradGuard no_grad;
  EXPECT_FALSE(F::conv2d(leaf(x), leaf(w)).requires_grad()) << "inside NoGradGuard nothing is recorded";
}

TEST(SpatialConv2dLayer, ParametersNamesAndPrinting) {
  nn::Conv2d conv(3, 16, 5, 2, 1, true, 1);
  const nn::NamedTensors named = conv.named_parameters();
  ASSERT_EQ(named.size(), 2u);
  EXPECT_EQ(named[0].first, "weight");
  EXPECT_EQ(named[0].second.shape(), (Shape{16, 3, 5, 5}));
  EXPECT_EQ(named[1].first, "bias");
  EXPECT_EQ(named[1].second.shape(), (Shape{16}));
  EXPECT_TRUE(conv.weight.requires_grad());
  EXPECT_EQ(printed(conv), "Conv2d(3, 16, kernel=5, stride=2, padding=1)");
  nn::Conv2d no_bias(1, 4, 3, 1, 0, false, 2);
  EXPECT_EQ(no_bias.named_parameters().size(), 1u);
  EXPECT_FALSE(no_bias.bias.defined());
  EXPECT_EQ(printed(no_bias), "Conv2d(1, 4, kernel=3, stride=1, padding=0, bias=false)");
  EXPECT_EQ(nn::parameter_count(no_bias), 36);
}

TEST(SpatialConv2dLayer, StartsAsPyTorchDoes) {
  nn::Conv2d conv(16, 32, 5, 1, 2, true, 3);
  const double bound = 1.0 / std::sqrt(16.0 * 25.0);  // fan-in C*K*K = 400
  const std::vector<float> w = conv.weight.to_vector(), b = conv.bias.to_vector();
  const auto [wmin, wmax] = std::minmax_element(w.begin(), w.end());
  EXPECT_LE(*wmax, bound);
  EXPECT_GE(*wmin, -bound);
  EXPECT_GT(*wmax, 0.95 * bound) << "the weight spans U(-1/sqrt(C*K*K), 1/sqrt(C*K*K)) = +-" << bound
                                 << "; a bound from the fan-in C = 16 alone would be 0.25";
  double square = 0.0;
  for (float v : w) square += static_cast<double>(v) * v;
  EXPECT_NEAR(std::sqrt(square / static_cast<double>(w.size())), bound / std::sqrt(3.0), 0.05 * bound);
  for (float v : b) {
    EXPECT_LE(std::fabs(v), bound) << "the bias is drawn from the same U(-1/sqrt(fan_in), 1/sqrt(fan_in))";
  }
  EXPECT_EQ(nn::Conv2d(16, 32, 5, 1, 2, true, 3).weight.to_vector(), w) << "the same seed gives the same weights";
  EXPECT_NE(nn::Conv2d(16, 32, 5, 1, 2, true, 4).weight.to_vector(), w);
}

TEST(SpatialConv2dLayer, ForwardIsConv2dWithTheLayersParameters) {
  nn::Conv2d conv(2, 3, 3, 2, 1, true, 5);
  const Tensor x = randn({2, 2, 7, 6}, 6);
  const Tensor out = conv(x);
  EXPECT_EQ(out.shape(), (Shape{2, 3, 4, 3}));
  EXPECT_TRUE(allclose(out, reference_conv(x, conv.weight, conv.bias, 2, 1), 1e-4f, 1e-5f));
}

TEST(SpatialConv2dLayer, ErrorsInTheLayersOwnWords) {
  nn::Conv2d conv(3, 16, 5, 1, 0, true, 7);
  EXPECT_EQ(
      error_message<ShapeError>([&] {
        conv(zeros({2, 3, 4, 4}));
      }),
      "Conv2d(3, 16, kernel=5, stride=1, padding=0): input [2, 3, 4, 4] gives an output of 0x0 (a 5x5 window does "
      "not fit in 4x4 with padding 0)");
  EXPECT_EQ(error_message<ShapeError>([&] {
              conv(zeros({2, 1, 28, 28}));
            }),
            "Conv2d(3, 16, kernel=5, stride=1, padding=0): expected an input [N, 3, H, W], got [2, 1, 28, 28] (1 "
            "channel, not 3)");
  nn::Conv2d first(1, 16, 5, 1, 2, true, 8);
  EXPECT_EQ(error_message<ShapeError>([&] {
              first(zeros({64, 784}));
            }),
            "Conv2d(1, 16, kernel=5, stride=1, padding=2): expected an input [N, 1, H, W], got [64, 784]");
  EXPECT_THAT(error_message<ShapeError>([&] { first(zeros({1, 28, 28})); }), HasSubstr("unsqueeze(0)"));
  EXPECT_THAT(error_message<std::invalid_argument>([] { nn::Conv2d(0, 16, 5); }),
              HasSubstr("the channel counts must be positive"));
  EXPECT_THAT(error_message<std::invalid_argument>([] { nn::Conv2d(1, 16, 5, 0); }),
              HasSubstr("Conv2d(1, 16, kernel=5, stride=0, padding=0): the kernel and the stride must be at least 1"));
}

// ---------------------------------------------------------------------------------------
// Gradients: every op and layer against finite differences

TEST(SpatialGrad, Im2colAndCol2imAgainstFiniteDifferences) {
  expect_gradcheck("im2col, kernel 3, stride 2, padding 1, [2, 2, 5, 7]",
                   [](const std::vector<Tensor>& v) { return im2col(v[0], 3, 2, 1); }, {leaf(randn({2, 2, 5, 7}, 1))});
  expect_gradcheck("im2col, kernel 2, stride 1, [1, 3, 4, 3]",
                   [](const std::vector<Tensor>& v) { return im2col(v[0], 2, 1, 0); }, {leaf(randn({1, 3, 4, 3}, 2))});
  expect_gradcheck("col2im, kernel 3, stride 2, padding 1, to [2, 2, 5, 7]",
                   [](const std::vector<Tensor>& v) {
                     return col2im(v[0], {2, 2, 5, 7}, 3, 2, 1);
                   },
                   {leaf(randn({18, 24}, 3))});
  expect_gradcheck("col2im, kernel 2, stride 1, to [1, 1, 3, 4]",
                   [](const std::vector<Tensor>& v) {
                     return col2im(v[0], {1, 1, 3, 4}, 2, 1, 0);
                   },
                   {leaf(randn({4, 6}, 4))});
}

TEST(SpatialGrad, Conv2dAgainstFiniteDifferencesInInputWeightAndBias) {
  uint64_t seed = 500;
  for (const ConvCase& t : conv_cases()) {
    if (t.n * t.c * t.h * t.w > 150) continue;  // finite differences cost two passes per element
    std::vector<Tensor> inputs = {leaf(randn({t.n, t.c, t.h, t.w}, ++seed)), leaf(randn({t.o, t.c, t.k, t.k}, ++seed))};
    if (t.bias) inputs.push_back(leaf(randn({t.o}, ++seed)));
    expect_gradcheck(
        "conv2d, " + describe(t),
        [t](const std::vector<Tensor>& v) {
          return F::conv2d(v[0], v[1], t.bias ? v[2] : Tensor(), t.stride, t.padding);
        },
        inputs);
  }
}

TEST(SpatialGrad, TheConv2dLayersParametersGetTheirGradients) {
  nn::Conv2d conv(2, 3, 3, 2, 1, true, 9);
  const Tensor x = leaf(randn({2, 2, 5, 6}, 10));
  const Tensor v = randn({2, 3, 3, 3}, 11);
  (conv(x) * v).sum().backward();
  ASSERT_TRUE(conv.weight.grad().defined()) << "no gradient reached the weight";
  ASSERT_TRUE(conv.bias.grad().defined()) << "no gradient reached the bias";
  ASSERT_TRUE(x.grad().defined()) << "no gradient reached the input";
  // The same gradients from finite differences of the functional form, at the layer's own weights.
  const autograd::GradcheckResult result =
      autograd::gradcheck([](const std::vector<Tensor>& in) { return F::conv2d(in[0], in[1], in[2], 2, 1); },
                          {x, leaf(conv.weight), leaf(conv.bias)}, {.seed = 12});
  EXPECT_TRUE(result.ok) << result.report;
  const Tensor expected_bias_grad = v.sum(0).sum(1).sum(1);
  EXPECT_TRUE(allclose(conv.bias.grad(), expected_bias_grad, 1e-4f, 1e-5f))
      << "the bias gradient is the upstream gradient summed over images and positions";
}

TEST(SpatialGrad, PoolingAgainstFiniteDifferences) {
  expect_gradcheck("max_pool2d(2), [2, 2, 4, 6]", [](const std::vector<Tensor>& v) { return F::max_pool2d(v[0], 2); },
                   {leaf(distinct_values({2, 2, 4, 6}, 1))});
  expect_gradcheck("max_pool2d(3, stride 2), overlapping, [1, 2, 7, 5]",
                   [](const std::vector<Tensor>& v) { return F::max_pool2d(v[0], 3, 2); },
                   {leaf(distinct_values({1, 2, 7, 5}, 2))});
  expect_gradcheck("max_pool2d(2, stride 1), [2, 1, 3, 4]",
                   [](const std::vector<Tensor>& v) { return F::max_pool2d(v[0], 2, 1); },
                   {leaf(distinct_values({2, 1, 3, 4}, 3))});
  expect_gradcheck("avg_pool2d(2), [2, 2, 4, 6]", [](const std::vector<Tensor>& v) { return F::avg_pool2d(v[0], 2); },
                   {leaf(randn({2, 2, 4, 6}, 4))});
  expect_gradcheck("avg_pool2d(3, stride 2, padding 1), [2, 3, 5, 7]",
                   [](const std::vector<Tensor>& v) { return F::avg_pool2d(v[0], 3, 2, 1); },
                   {leaf(randn({2, 3, 5, 7}, 5))});
}

TEST(SpatialGrad, BatchNormInTrainingAgainstFiniteDifferences) {
  for (const Shape& shape : std::vector<Shape>{{3, 2, 3, 4}, {2, 3, 1, 5}, {4, 1, 2, 2}}) {
    const int64_t c = shape[1];
    expect_gradcheck(
        "batch_norm in training, input " + shape_str(shape),
        [](const std::vector<Tensor>& v) { return F::batch_norm(v[0], Tensor(), Tensor(), v[1], v[2], true); },
        {leaf(randn(shape, 20 + c) * 2.0f + 1.0f), leaf(randn({c}, 30 + c) + 1.5f), leaf(randn({c}, 40 + c))});
  }
}

TEST(SpatialGrad, BatchNormInEvaluationAgainstFiniteDifferences) {
  const Tensor running_mean = tensor({0.5f, -1.0f}), running_var = tensor({2.0f, 0.25f});
  expect_gradcheck(
      "batch_norm in evaluation",
      [&](const std::vector<Tensor>& v) { return F::batch_norm(v[0], running_mean, running_var, v[1], v[2], false); },
      {leaf(randn({3, 2, 2, 3}, 50)), leaf(randn({2}, 51)), leaf(randn({2}, 52))});
}

TEST(SpatialGrad, TheBatchNormGradientGoesThroughTheStatistics) {
  const Tensor x = randn({4, 2, 3, 3}, 60) * 3.0f;
  const Tensor g = randn({4, 2, 3, 3}, 61);
  const native::BatchStats stats = native::batch_norm_stats(x);
  Tensor invstd = zeros({2});
  for (int64_t c = 0; c < 2; ++c) invstd.data()[c] = 1.0f / std::sqrt(stats.var.data()[c] + 1e-5f);
  const native::BatchNormGrads grads = native::batch_norm_backward(g, x, stats.mean, invstd, tensor({2.0f, 0.5f}));
  for (int64_t c = 0; c < 2; ++c) {
    const Tensor dx = select(grads.input, 1, c);
    EXPECT_NEAR(dx.sum().item(), 0.0f, 1e-4f)
        << "channel " << c << ": shifting every input of a channel changes nothing, so its gradients must sum to 0; "
        << "gamma * invstd * g alone treats the mean and the variance as constants";
  }
  const native::BatchNormGrads flat = native::batch_norm_backward(ones({4, 2, 3, 3}), x, stats.mean, invstd, ones({2}));
  EXPECT_LT(abs(flat.input).max().item(), 1e-5f) << "a constant upstream gradient cannot change a normalized output";
}

TEST(SpatialGrad, FlattenPassesTheGradientThrough) {
  nn::Flatten flatten;
  expect_gradcheck("Flatten", [&](const std::vector<Tensor>& v) { return flatten(v[0]) * 2.0f; },
                   {leaf(randn({2, 3, 2, 2}, 70))});
}

TEST(SpatialGrad, ASmallCnnAgainstFiniteDifferences) {
  // max pool -> conv -> tanh -> avg pool -> conv -> flatten -> linear, with every parameter an input.
  // The max pool comes first, on well-separated inputs, so that no finite-difference step changes a
  // winner; tanh, not ReLU, because a nudged weight can move a pre-activation across ReLU's kink.
  nn::MaxPool2d max_pool(2);
  nn::AvgPool2d avg_pool(2);
  nn::Flatten flatten;
  const Function cnn = [&](const std::vector<Tensor>& v) {
    const Tensor h = avg_pool(tanh(F::conv2d(max_pool(v[0]), v[1], v[2], 1, 1)));
    return flatten(F::conv2d(h, v[3], v[4], 2, 1)).matmul(v[5].t()) + v[6];
  };
  expect_gradcheck(
      "maxpool-conv-tanh-avgpool-conv-flatten-linear", cnn,
      {leaf(distinct_values({2, 1, 8, 12}, 80) * 0.3f), leaf(randn({3, 1, 3, 3}, 81) * 0.5f), leaf(randn({3}, 82)),
       leaf(randn({2, 3, 3, 3}, 83) * 0.3f), leaf(randn({2}, 84)), leaf(randn({4, 4}, 85)), leaf(randn({4}, 86))});
}

// ---------------------------------------------------------------------------------------
// Part 5: pooling

TEST(SpatialMaxPool, MatchesTheDefinitionForStridesNonSquareImagesAndBatches) {
  for (const auto& [shape, kernel, stride] : std::vector<std::tuple<Shape, int64_t, int64_t>>{
           {{2, 3, 6, 4}, 2, 2}, {{1, 2, 7, 5}, 3, 2}, {{3, 1, 4, 9}, 2, 1}, {{1, 1, 5, 5}, 5, 5}}) {
    const Tensor x = randn(shape, static_cast<uint64_t>(kernel * 10 + stride));
    EXPECT_EQ(F::max_pool2d(x, kernel, stride).to_vector(), reference_pool(x, kernel, stride, 0, true).to_vector())
        << "input " << shape_str(shape) << ", kernel " << kernel << ", stride " << stride;
  }
}

// The solution has a straight-line path for the 2x2 window with stride 2 beside the loop for any
// window (see the text); both must pick the same winner: the first maximum, or the last NaN.
TEST(SpatialMaxPool, EveryWindowSizeKeepsTheFirstMaximumAndANaN) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  for (const auto& [kernel, stride] :
       std::vector<std::pair<int64_t, int64_t>>{{2, 2}, {2, 1}, {3, 2}, {3, 1}, {4, 3}}) {
    // Few distinct values, so windows tie; one NaN in the second plane.
    std::vector<float> values = map(randn({2, 3, 9, 8}, static_cast<uint64_t>(kernel * 7 + stride)), [](float v) {
                                  return std::round(v);
                                }).to_vector();
    values[72 + 3 * 8 + 5] = nan;
    const Tensor x(values, {2, 3, 9, 8});
    const native::MaxPool2dResult r = native::max_pool2d(x, kernel, stride);
    const int64_t out_h = (9 - kernel) / stride + 1, out_w = (8 - kernel) / stride + 1;
    ASSERT_EQ(r.argmax.size(), static_cast<std::size_t>(6 * out_h * out_w));
    const std::vector<float> out = r.output.to_vector();
    std::size_t i = 0;
    for (int64_t p = 0; p < 6; ++p) {
      for (int64_t oh = 0; oh < out_h; ++oh) {
        for (int64_t ow = 0; ow < out_w; ++ow, ++i) {
          int64_t expected = -1;
          for (int64_t ki = 0; ki < kernel; ++ki) {
            for (int64_t kj = 0; kj < kernel; ++kj) {
              const int64_t at = p * 72 + (oh * stride + ki) * 8 + ow * stride + kj;
              const float v = values[static_cast<std::size_t>(at)];
              if (expected < 0 || std::isnan(v) || v > values[static_cast<std::size_t>(expected)]) expected = at;
            }
          }
          ASSERT_EQ(r.argmax[i], expected) << "kernel " << kernel << ", stride " << stride << ", output " << i;
          const float want = values[static_cast<std::size_t>(expected)];
          EXPECT_TRUE(std::isnan(want) ? std::isnan(out[i]) : out[i] == want)
              << "kernel " << kernel << ", stride " << stride << ", output " << i;
        }
      }
    }
  }
}

TEST(SpatialMaxPool, TheArgmaxIsAPositionInTheWholeInput) {
  const Tensor x = distinct_values({2, 2, 2, 2}, 9);
  const native::MaxPool2dResult r = native::max_pool2d(x, 2, 2);
  ASSERT_EQ(r.argmax.size(), 4u);
  for (std::size_t p = 0; p < 4; ++p) {
    EXPECT_GE(r.argmax[p], static_cast<int64_t>(4 * p))
        << "plane " << p << " starts at position " << 4 * p << ": add p * H * W to the position inside the plane";
    EXPECT_LT(r.argmax[p], static_cast<int64_t>(4 * p + 4));
    EXPECT_EQ(x.to_vector()[static_cast<std::size_t>(r.argmax[p])], r.output.to_vector()[p]);
  }
}

TEST(SpatialMaxPool, ATieGoesToTheFirstMaximum) {
  Tensor x = leaf(tensor({5, 5, 7, 7, 5, 5, 0, 7}).reshape({1, 1, 2, 4}));
  const Tensor y = F::max_pool2d(x, 2);
  EXPECT_EQ(y.to_vector(), (std::vector<float>{5, 7}));
  y.sum().backward();
  EXPECT_EQ(x.grad().to_vector(), (std::vector<float>{1, 0, 1, 0, 0, 0, 0, 0}))
      << "exactly one input gets each output's gradient, the first maximum in row order (> not >=)";
}

TEST(SpatialMaxPool, AWinnerOfOverlappingWindowsGetsEveryGradient) {
  Tensor x = leaf(tensor({0, 0, 0, 0, 9, 0, 0, 0, 0}).reshape({1, 1, 3, 3}));
  const Tensor y = F::max_pool2d(x, 2, 1);
  EXPECT_EQ(y.to_vector(), (std::vector<float>{9, 9, 9, 9}));
  (y * tensor({1, 2, 3, 4}).reshape({1, 1, 2, 2})).sum().backward();
  EXPECT_EQ(x.grad().to_vector(), (std::vector<float>{0, 0, 0, 0, 10, 0, 0, 0, 0}))
      << "the centre wins all four windows and must receive 1 + 2 + 3 + 4 (+=, not =)";
}

TEST(SpatialMaxPool, TheLayerAndItsErrors) {
  nn::MaxPool2d pool(2);
  EXPECT_EQ(printed(pool), "MaxPool2d(kernel=2, stride=2)") << "the stride defaults to the kernel";
  EXPECT_EQ(printed(nn::MaxPool2d(3, 1)), "MaxPool2d(kernel=3, stride=1)");
  EXPECT_EQ(nn::parameter_count(pool), 0);
  EXPECT_EQ(pool(zeros({4, 16, 28, 28})).shape(), (Shape{4, 16, 14, 14}));
  EXPECT_EQ(error_message<ShapeError>([&] {
              pool(zeros({1, 1, 1, 5}));
            }),
            "MaxPool2d(kernel=2, stride=2): input [1, 1, 1, 5] gives an output of 0x2 (a 2x2 window does not fit in "
            "1x5 with padding 0)");
  EXPECT_EQ(error_message<ShapeError>([&] {
              pool(zeros({16, 28, 28}));
            }),
            "MaxPool2d(kernel=2, stride=2): expected an input [N, C, H, W], got [16, 28, 28] (a single image? add the "
            "batch dimension with unsqueeze(0))");
}

TEST(SpatialAvgPool, MatchesTheDefinitionWithPaddingCounted) {
  for (const auto& [shape, kernel, stride, padding] : std::vector<std::tuple<Shape, int64_t, int64_t, int64_t>>{
           {{2, 3, 6, 4}, 2, 2, 0}, {{1, 2, 7, 5}, 3, 2, 1}, {{3, 1, 4, 9}, 2, 1, 0}, {{1, 2, 5, 6}, 3, 3, 1}}) {
    const Tensor x = randn(shape, static_cast<uint64_t>(kernel * 100 + stride * 10 + padding));
    const Tensor out = F::avg_pool2d(x, kernel, stride, padding);
    const Tensor expected = reference_pool(x, kernel, stride, padding, false);
    ASSERT_EQ(out.shape(), expected.shape());
    EXPECT_TRUE(allclose(out, expected, 1e-5f, 1e-6f))
        << "input " << shape_str(shape) << ", kernel " << kernel << ", stride " << stride << ", padding " << padding;
  }
}

TEST(SpatialAvgPool, AViewIsPooledWhereItsElementsAre) {
  const Tensor base = randn({2, 2, 4, 6}, 90);
  const Tensor view = base.transpose(2, 3);  // [2, 2, 6, 4]
  EXPECT_TRUE(allclose(F::avg_pool2d(view, 2), reference_pool(view, 2, 2, 0, false), 1e-5f, 1e-6f))
      << "reshape, not view: a transposed input must be copied before it is seen as [N*C, 1, H, W]";
}

TEST(SpatialAvgPool, TheLayerAndItsErrors) {
  nn::AvgPool2d pool(2);
  EXPECT_EQ(printed(pool), "AvgPool2d(kernel=2, stride=2, padding=0)");
  EXPECT_EQ(printed(nn::AvgPool2d(3, 2, 1)), "AvgPool2d(kernel=3, stride=2, padding=1)");
  EXPECT_EQ(pool(ones({2, 3, 8, 6})).shape(), (Shape{2, 3, 4, 3}));
  EXPECT_EQ(
      error_message<ShapeError>([&] {
        pool(zeros({1, 1, 1, 1}));
      }),
      "AvgPool2d(kernel=2, stride=2, padding=0): input [1, 1, 1, 1] gives an output of 0x0 (a 2x2 window does not "
      "fit in 1x1 with padding 0)");
  EXPECT_THAT(error_message<std::invalid_argument>([] { nn::AvgPool2d(2, 2, -1); }),
              HasSubstr("the padding at least 0"));
}

// ---------------------------------------------------------------------------------------
// Part 6: batch normalization

TEST(SpatialBatchNormStats, EachChannelIsNRunsOfHTimesWValues) {
  // Three images, two channels of 2x2: channel 0 of image n holds n, channel 1 holds 10 n + pixel.
  std::vector<float> values;
  for (int n = 0; n < 3; ++n) {
    for (int p = 0; p < 4; ++p) values.push_back(static_cast<float>(n));
    for (int p = 0; p < 4; ++p) values.push_back(static_cast<float>(10 * n + p));
  }
  const native::BatchStats stats = native::batch_norm_stats(Tensor(values, {3, 2, 2, 2}));
  EXPECT_EQ(stats.mean.shape(), (Shape{2}));
  EXPECT_NEAR(stats.mean.to_vector()[0], 1.0f, 1e-6f);
  EXPECT_NEAR(stats.mean.to_vector()[1], 11.5f, 1e-5f);
  EXPECT_NEAR(stats.var.to_vector()[0], 2.0f / 3.0f, 1e-6f) << "the variance divides by N*H*W (biased), not N*H*W - 1";
  EXPECT_NEAR(stats.var.to_vector()[1], 200.0f / 3.0f + 1.25f, 1e-4f);
}

TEST(SpatialBatchNormStats, SurviveALargeMean) {
  const Tensor x = randn({16, 1, 16, 16}, 100) * 0.01f + 1000.0f;
  const native::BatchStats stats = native::batch_norm_stats(x);
  double sum = 0.0, squares = 0.0;
  for (float v : x.to_vector()) sum += v;
  const double mean = sum / static_cast<double>(x.numel());
  for (float v : x.to_vector()) squares += (v - mean) * (v - mean);
  const double var = squares / static_cast<double>(x.numel());
  EXPECT_NEAR(stats.mean.item(), mean, 1e-3);
  EXPECT_NEAR(stats.var.item(), var, 0.02 * var)
      << "activations of mean 1000 and standard deviation 0.01: E[x^2] - E[x]^2 (or a float accumulator) loses "
         "the variance in rounding; sum the deviations from the channel's first value, in double";
  nn::BatchNorm2d bn(1);
  EXPECT_TRUE(all_finite(bn(x)));
}

TEST(SpatialBatchNormStats, AMeanOfTenThousandNeedsTheShiftEvenInDouble) {
  // Channel 0 sits at 10^4 with a standard deviation of 0.01, channel 1 at -10^4 with 1.
  const Tensor noise = randn({8, 2, 16, 16}, 101);
  std::vector<float> values = noise.to_vector();
  for (std::size_t i = 0; i < values.size(); ++i) {
    const bool first = (i / 256) % 2 == 0;
    values[i] = first ? 1e4f + 0.01f * values[i] : -1e4f + values[i];
  }
  const Tensor x(values, {8, 2, 16, 16});
  const native::BatchStats stats = native::batch_norm_stats(x);
  for (int64_t c = 0; c < 2; ++c) {
    double sum = 0.0, squares = 0.0;
    for (int64_t n = 0; n < 8; ++n) {
      for (int64_t i = 0; i < 256; ++i) sum += values[static_cast<std::size_t>((n * 2 + c) * 256 + i)];
    }
    const double mean = sum / 2048.0;
    for (int64_t n = 0; n < 8; ++n) {
      for (int64_t i = 0; i < 256; ++i) {
        const double d = values[static_cast<std::size_t>((n * 2 + c) * 256 + i)] - mean;
        squares += d * d;
      }
    }
    const double var = squares / 2048.0;
    EXPECT_NEAR(stats.mean.to_vector()[static_cast<std::size_t>(c)], mean, 1e-3) << "channel " << c;
    EXPECT_NEAR(stats.var.to_vector()[static_cast<std::size_t>(c)], var, 1e-4 * var)
        << "channel " << c << ": the sums of v and v^2 cancel to two or three digits even in double; sum v - K and "
        << "(v - K)^2 with K the channel's first value";
  }
}

TEST(SpatialBatchNormStats, AConstantChannelHasVarianceZeroNotANegativeRoundingError) {
  const native::BatchStats stats = native::batch_norm_stats(full({4, 3, 5, 5}, 0.1f));
  for (float v : stats.var.to_vector()) EXPECT_EQ(v, 0.0f);
  for (float v : stats.mean.to_vector()) EXPECT_NEAR(v, 0.1f, 1e-7f);
}

TEST(SpatialBatchNorm, TrainingGivesEachChannelMeanBetaAndStandardDeviationGamma) {
  nn::BatchNorm2d bn(3);
  bn.weight.detach().copy_(tensor({2.0f, 0.5f, 1.0f}));
  bn.bias.detach().copy_(tensor({1.0f, -1.0f, 0.0f}));
  const Tensor x = randn({5, 3, 4, 6}, 101) * tensor({3.0f, 0.1f, 10.0f}).view({1, 3, 1, 1}) +
                   tensor({-4.0f, 2.0f, 50.0f}).view({1, 3, 1, 1});
  const native::BatchStats stats = native::batch_norm_stats(bn(x));
  const std::vector<float> mean = stats.mean.to_vector(), var = stats.var.to_vector();
  EXPECT_NEAR(mean[0], 1.0f, 1e-4f);
  EXPECT_NEAR(mean[1], -1.0f, 1e-4f);
  EXPECT_NEAR(mean[2], 0.0f, 1e-4f);
  EXPECT_NEAR(var[0], 4.0f, 1e-2f);
  EXPECT_NEAR(var[1], 0.25f, 1e-2f) << "a channel with standard deviation 0.1 must be scaled up too (eps is tiny)";
  EXPECT_NEAR(var[2], 1.0f, 1e-2f);
}

TEST(SpatialBatchNorm, NormalizeUsesTheGivenStatistics) {
  const Tensor x = tensor({1, 3, 10, 20}).reshape({2, 2, 1, 1});
  const Tensor y = native::batch_norm_normalize(x, tensor({2, 10}), tensor({1, 0.5f}), tensor({10, 2}), tensor({5, 0}));
  EXPECT_EQ(y.to_vector(), (std::vector<float>{-5, -7, 85, 10}))
      << "channel 0: (x - 2) * 1 * 10 + 5; channel 1: (x - 10) * 0.5 * 2";
}

TEST(SpatialBatchNorm, RunningStatisticsFollowPyTorch) {
  Tensor rm = zeros({2}), rv = ones({2});
  F::update_running_stats(rm, rv, tensor({2.0f, -4.0f}), tensor({3.0f, 1.0f}), 4, 0.1);
  EXPECT_NEAR(rm.to_vector()[0], 0.2f, 1e-6f)
      << "momentum weighs the new value: 0.9 * 0 + 0.1 * 2, not 0.1 * 0 + 0.9 * 2";
  EXPECT_NEAR(rm.to_vector()[1], -0.4f, 1e-6f);
  EXPECT_NEAR(rv.to_vector()[0], 1.3f, 1e-6f)
      << "the running variance takes the unbiased batch variance: 0.9 * 1 + 0.1 * 3 * 4/3";
  EXPECT_NEAR(rv.to_vector()[1], 0.9f + 0.1f * 4.0f / 3.0f, 1e-6f);

  nn::BatchNorm2d bn(1, 1e-5, 0.5);
  const Tensor x = tensor({1, 2, 3, 6}).reshape({2, 1, 1, 2});  // mean 3, biased var 3.5, unbiased 14/3
  bn(x);
  EXPECT_NEAR(bn.running_mean.item(), 1.5f, 1e-6f);
  EXPECT_NEAR(bn.running_var.item(), 0.5f + 0.5f * 14.0f / 3.0f, 1e-5f);
}

TEST(SpatialBatchNorm, EvaluationUsesTheRunningStatisticsAndLeavesThemAlone) {
  nn::BatchNorm2d bn(2);
  bn.running_mean.copy_(tensor({1.0f, -2.0f}));
  bn.running_var.copy_(tensor({4.0f, 0.25f}));
  bn.weight.detach().copy_(tensor({3.0f, 1.0f}));
  bn.bias.detach().copy_(tensor({0.5f, 0.0f}));
  bn.eval();
  const Tensor x = randn({3, 2, 2, 2}, 102);
  const Tensor y = bn(x);
  const std::vector<float> in = x.to_vector(), out = y.to_vector();
  for (std::size_t i = 0; i < in.size(); ++i) {
    const bool channel0 = (i / 4) % 2 == 0;
    const float expected =
        channel0 ? (in[i] - 1.0f) / std::sqrt(4.0f + 1e-5f) * 3.0f + 0.5f : (in[i] + 2.0f) / std::sqrt(0.25f + 1e-5f);
    EXPECT_NEAR(out[i], expected, 1e-4f) << "element " << i << ": evaluation must use the running statistics";
  }
  EXPECT_EQ(bn.running_mean.to_vector(), (std::vector<float>{1.0f, -2.0f})) << "evaluation must not update them";
  EXPECT_EQ(bn.running_var.to_vector(), (std::vector<float>{4.0f, 0.25f}));
  EXPECT_TRUE(allclose(bn(select(x, 0, 1).unsqueeze(0)), select(y, 0, 1).unsqueeze(0), 1e-6f, 1e-6f))
      << "in evaluation an image's output must not depend on the rest of its batch";
}

TEST(SpatialBatchNorm, ParametersAndBuffers) {
  nn::BatchNorm2d bn(4);
  const nn::NamedTensors params = bn.named_parameters(), buffers = bn.named_buffers();
  ASSERT_EQ(params.size(), 2u);
  ASSERT_EQ(buffers.size(), 2u) << "running_mean and running_var are buffers, not parameters";
  EXPECT_EQ(params[0].first, "weight");
  EXPECT_EQ(params[0].second.to_vector(), std::vector<float>(4, 1.0f));
  EXPECT_EQ(params[1].first, "bias");
  EXPECT_EQ(params[1].second.to_vector(), std::vector<float>(4, 0.0f));
  EXPECT_EQ(buffers[0].first, "running_mean");
  EXPECT_EQ(buffers[0].second.to_vector(), std::vector<float>(4, 0.0f));
  EXPECT_EQ(buffers[1].first, "running_var");
  EXPECT_EQ(buffers[1].second.to_vector(), std::vector<float>(4, 1.0f))
      << "running_var starts at 1: an untrained network in eval() then divides by sqrt(1 + eps), not sqrt(eps)";
  EXPECT_FALSE(buffers[0].second.requires_grad());
  EXPECT_EQ(printed(bn), "BatchNorm2d(4, eps=1e-05, momentum=0.1)");
  EXPECT_EQ(printed(nn::BatchNorm2d(8, 1e-3, 0.01)), "BatchNorm2d(8, eps=0.001, momentum=0.01)");
}

TEST(SpatialBatchNorm, OneValuePerChannelCannotBeNormalizedInTraining) {
  nn::BatchNorm2d bn(16);
  EXPECT_EQ(error_message<ShapeError>([&] {
              bn(zeros({1, 16, 1, 1}));
            }),
            "BatchNorm2d(16, eps=1e-05, momentum=0.1): expected more than 1 value per channel when training, got input "
            "[1, 16, 1, 1] (use a larger batch, or eval())");
  bn.eval();
  EXPECT_EQ(bn(ones({1, 16, 1, 1})).shape(), (Shape{1, 16, 1, 1})) << "in evaluation a single value is fine";
  EXPECT_EQ(error_message<ShapeError>([&] {
              bn(zeros({2, 8, 4, 4}));
            }),
            "BatchNorm2d(16, eps=1e-05, momentum=0.1): expected an input [N, 16, H, W], got [2, 8, 4, 4]");
}

// ---------------------------------------------------------------------------------------
// Part 7: Flatten

TEST(SpatialFlatten, MergesTheChosenDimensions) {
  const Tensor x = arange(2 * 3 * 4 * 5).reshape({2, 3, 4, 5});
  EXPECT_EQ(nn::Flatten()(x).shape(), (Shape{2, 60}));
  EXPECT_EQ(nn::Flatten()(x).to_vector(), x.to_vector()) << "flattening keeps the row-major order";
  EXPECT_EQ(nn::Flatten(1, 2)(x).shape(), (Shape{2, 12, 5}));
  EXPECT_EQ(nn::Flatten(-2)(x).shape(), (Shape{2, 3, 20}));
  EXPECT_EQ(nn::Flatten(0, -1)(x).shape(), (Shape{120}));
  EXPECT_EQ(nn::Flatten(2, 2)(x).shape(), (Shape{2, 3, 4, 5}));
  EXPECT_EQ(nn::Flatten()(x.transpose(1, 3)).to_vector(), x.transpose(1, 3).contiguous().to_vector())
      << "a view is flattened in its own order (reshape copies it)";
}

TEST(SpatialFlatten, AnEmptyBatchStaysEmpty) {
  EXPECT_EQ(nn::Flatten()(zeros({0, 32, 7, 7})).shape(), (Shape{0, 1568}))
      << "reshape({N, -1}) cannot infer -1 for zero elements: compute the merged size";
}

TEST(SpatialFlatten, DimensionsThatDoNotExistAreAnError) {
  EXPECT_EQ(printed(nn::Flatten()), "Flatten(start_dim=1, end_dim=-1)");
  EXPECT_EQ(error_message<IndexError>([] { nn::Flatten()(zeros({5})); }),
            "Flatten(start_dim=1, end_dim=-1): an input [5] with 1 dimension has no dimensions 1 to -1 to merge");
  EXPECT_THAT(error_message<IndexError>([] {
                nn::Flatten(2, 1)(zeros({2, 3, 4}));
              }),
              HasSubstr("no dimensions 2 to 1"));
}

// ---------------------------------------------------------------------------------------
// Real data: the real Fashion-MNIST from the tito data cache

TEST(SpatialRealFashionMnist, SobelFindsTheOutlineOfARealImage) {
  auto test = real_fashion_mnist(false);
  ASSERT_TRUE(test);
  const Tensor image = test->get(0).data.unsqueeze(0);  // an ankle boot on black
  const Tensor sobel = tensor({-1, 0, 1, -2, 0, 2, -1, 0, 1, -1, -2, -1, 0, 0, 0, 1, 2, 1}).reshape({2, 1, 3, 3});
  const Tensor g = F::conv2d(image, sobel, Tensor(), 1, 1);
  ASSERT_EQ(g.shape(), (Shape{1, 2, 28, 28}));
  const Tensor magnitude = sqrt(select(g, 1, 0) * select(g, 1, 0) + select(g, 1, 1) * select(g, 1, 1));
  EXPECT_EQ(narrow(narrow(magnitude, 1, 0, 5), 2, 0, 5).max().item(), 0.0f) << "the black top-left corner has no edge";
  int64_t strong = 0;
  for (float v : magnitude.to_vector()) strong += v > 1.0f ? 1 : 0;
  EXPECT_GT(strong, 40) << "the outline of the boot should give dozens of strong edges";
  EXPECT_TRUE(allclose(g, reference_conv(image, sobel, Tensor(), 1, 1), 1e-5f, 1e-5f));
}

// ---------------------------------------------------------------------------------------
// Integration: modules 01-09 as a student uses them

TEST(SpatialIntegration, ASmallCnnLearnsRealFashionMnist) {
  auto train = real_fashion_mnist(true);
  auto test = real_fashion_mnist(false);
  ASSERT_TRUE(train && test);
  const data::transforms::Normalize normalize({0.2860f}, {0.3530f});
  data::DataLoader loader(data::MapDataset(*train, normalize),
                          data::DataLoaderOptions(64).shuffle(true).seed(0).drop_last(true));
  nn::Sequential model(nn::Conv2d(1, 8, 5, 1, 2, true, 1), nn::ReLU(), nn::MaxPool2d(2),
                       nn::Conv2d(8, 16, 5, 1, 2, true, 2), nn::ReLU(), nn::MaxPool2d(2), nn::Flatten(),
                       nn::Linear(16 * 7 * 7, 10, true, 3));
  optim::Adam adam(model.parameters(), optim::AdamOptions(2e-3));
  loader.start_epoch(0);
  const int64_t steps = 200;  // 12,800 images: a fifth of an epoch
  double first = 0.0, last = 0.0;
  for (int64_t b = 0; b < steps; ++b) {
    const data::Example batch = loader.batch(b);
    const Tensor loss = F::cross_entropy(model(batch.data), batch.target);
    adam.zero_grad();
    loss.backward();
    adam.step();
    if (b < 20) first += loss.item() / 20.0;
    if (b >= steps - 20) last += loss.item() / 20.0;
  }
  EXPECT_LT(last, 0.6 * first) << "the loss did not fall: first 20 batches " << first << ", last 20 " << last;
  model.eval();
  NoGradGuard no_grad;
  data::DataLoader evaluation(data::MapDataset(*test, normalize), data::DataLoaderOptions(500));
  double correct = 0.0;
  for (int64_t b = 0; b < 4; ++b) {
    const data::Example batch = evaluation.batch(b);
    const Tensor logits = model(batch.data);
    ASSERT_TRUE(all_finite(logits));
    correct += F::accuracy(logits, batch.target) * 500.0;
  }
  const double accuracy = correct / 2000.0;
  std::cout << "[   INFO   ] after " << steps << " batches of 64: test accuracy " << accuracy * 100
            << "% on 2,000 real test images\n";
  EXPECT_GT(accuracy, 0.75) << "a small CNN trained on a fifth of an epoch of real Fashion-MNIST should pass 75% "
                               "test accuracy (about 83% measured here; chance is 10%)";
}

TEST(SpatialIntegration, ACnnWithBatchNormTrainsAndEvaluatesWithItsRunningStatistics) {
  auto train = real_fashion_mnist(true);
  auto test = real_fashion_mnist(false);
  ASSERT_TRUE(train && test);
  data::DataLoader loader(*train, data::DataLoaderOptions(64).shuffle(true).seed(1).drop_last(true));
  auto bn = std::make_shared<nn::BatchNorm2d>(8);
  nn::Sequential model(nn::Conv2d(1, 8, 3, 1, 1, false, 4), bn, nn::ReLU(), nn::MaxPool2d(4), nn::Flatten(),
                       nn::Linear(8 * 7 * 7, 10, true, 5));
  optim::SGD sgd(model.parameters(), optim::SGDOptions(0.02).momentum(0.9));
  loader.start_epoch(0);
  for (int64_t b = 0; b < 150; ++b) {
    const data::Example batch = loader.batch(b);  // raw pixels in [0, 1]: batch norm does the normalizing
    const Tensor loss = F::cross_entropy(model(batch.data), batch.target);
    sgd.zero_grad();
    loss.backward();
    sgd.step();
  }
  for (float v : bn->running_var.to_vector()) EXPECT_NE(v, 1.0f) << "training must update the running variance";
  model.eval();
  NoGradGuard no_grad;
  data::DataLoader evaluation(*test, data::DataLoaderOptions(1000));
  const data::Example batch = evaluation.batch(0);
  const Tensor logits = model(batch.data);
  const double accuracy = F::accuracy(logits, batch.target);
  std::cout << "[   INFO   ] conv-batchnorm-relu-pool-linear after 150 batches: test accuracy " << accuracy * 100
            << "% on 1,000 real test images\n";
  EXPECT_GT(accuracy, 0.7) << "evaluated with its running statistics, the network should pass 70% (chance is 10%)";
  const Tensor one = model(narrow(batch.data, 0, 3, 1));
  EXPECT_TRUE(allclose(one, narrow(logits, 0, 3, 1), 1e-4f, 1e-4f))
      << "in eval() an image's logits must not depend on the batch it is evaluated in";
}

// BEGIN HIDDEN TESTS
TEST(SpatialHidden, OutputSizeEdgeCases) {
  EXPECT_EQ(conv_output_size(0, 1, 1, 0), 0);
  EXPECT_EQ(conv_output_size(0, 3, 1, 1), 0) << "two zeros of padding and nothing else cannot hold a window of 3";
  EXPECT_EQ(conv_output_size(0, 2, 1, 1), 1) << "two zeros of padding hold a window of 2 once";
  EXPECT_EQ(conv_output_size(3, 7, 5, 1), 0);
  EXPECT_EQ(conv_output_size(100, 3, 1, 0), 98);
  EXPECT_EQ(conv_output_size(5, 2, 3, 0), 2);
}

TEST(SpatialHidden, ANaNWinsItsWindow) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const Tensor x = tensor({1, 2, 3, nan, 5, 6, 7, 8}).reshape({1, 1, 2, 4});
  const native::MaxPool2dResult r = native::max_pool2d(x, 2, 2);
  EXPECT_EQ(r.output.to_vector()[0], 6.0f);
  EXPECT_TRUE(std::isnan(r.output.to_vector()[1])) << "a NaN must win its window (v > best || isnan(v)), as in PyTorch";
  EXPECT_EQ(r.argmax[1], 3);
}

TEST(SpatialHidden, MomentumZeroAndOne) {
  Tensor rm = tensor({3.0f}), rv = tensor({2.0f});
  F::update_running_stats(rm, rv, tensor({7.0f}), tensor({5.0f}), 2, 0.0);
  EXPECT_EQ(rm.item(), 3.0f);
  EXPECT_EQ(rv.item(), 2.0f);
  F::update_running_stats(rm, rv, tensor({7.0f}), tensor({5.0f}), 2, 1.0);
  EXPECT_EQ(rm.item(), 7.0f);
  EXPECT_EQ(rv.item(), 10.0f) << "momentum 1 takes the unbiased batch variance: 5 * 2 / 1";
}

TEST(SpatialHidden, Conv2dWeightIsDrawnBeforeTheBias) {
  nn::Conv2d conv(2, 3, 3, 1, 0, true, 21);
  Generator g(21);
  Tensor w = zeros({3, 2, 3, 3});
  nn::init::kaiming_uniform_(w, std::sqrt(5.0), nn::init::FanMode::FanIn, nn::init::Nonlinearity::LeakyReLU, g);
  Tensor b = zeros({3});
  nn::init::uniform_(b, -1.0 / std::sqrt(18.0), 1.0 / std::sqrt(18.0), g);
  EXPECT_EQ(conv.weight.to_vector(), w.to_vector());
  EXPECT_EQ(conv.bias.to_vector(), b.to_vector());
}

TEST(SpatialHidden, KernelsOnViewsAndOneByOneImages) {
  const Tensor base = randn({3, 2, 1, 4}, 22);
  const Tensor view = base.permute({0, 1, 3, 2});  // [3, 2, 4, 1]
  const Tensor w = randn({2, 2, 1, 1}, 23);
  EXPECT_TRUE(allclose(F::conv2d(view, w), reference_conv(view, w, Tensor(), 1, 0), 1e-5f, 1e-6f));
  EXPECT_EQ(F::max_pool2d(view, 1).to_vector(), view.contiguous().to_vector());
  const native::BatchStats stats = native::batch_norm_stats(view);
  const native::BatchStats expected = native::batch_norm_stats(view.contiguous());
  EXPECT_EQ(stats.mean.to_vector(), expected.mean.to_vector());
  const Tensor g = randn({3, 2, 4, 1}, 24);
  const native::BatchNormGrads a = native::batch_norm_backward(g.transpose(2, 3).contiguous().transpose(2, 3), view,
                                                               stats.mean, ones({2}), ones({2}));
  const native::BatchNormGrads c = native::batch_norm_backward(g, view.contiguous(), stats.mean, ones({2}), ones({2}));
  EXPECT_TRUE(allclose(a.input, c.input, 1e-5f, 1e-6f));
}

TEST(SpatialHidden, FlattenOfAnEmptyBatchFromTheMiddle) {
  EXPECT_EQ(nn::Flatten(2)(zeros({0, 3, 4, 5})).shape(), (Shape{0, 3, 20}));
  EXPECT_EQ(nn::Flatten(0, 1)(zeros({3, 0, 2})).shape(), (Shape{0, 2}));
}
// END HIDDEN TESTS

}  // namespace
