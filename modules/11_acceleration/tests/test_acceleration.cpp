// Tests for module 11 (acceleration): the public API of <tinytorch/core/acceleration.hpp>.
// The reference is module 01's matmul_2d (native::matmul_2d, the student's own i-p-j loop). Most
// products use small integers (-4 .. 4): every product and every partial sum is then exact in
// float32, whatever the order of the additions or the use of FMA, so the fast kernel must equal
// the reference *exactly*, and a single missing or doubled term is caught. Products of random
// normal numbers are compared with a float32 bound instead (allclose). Every kernel path this CPU
// has is forced in turn (the portable one included), with 1 to 4 threads.
// Linked with gtest_main, together with the quick tests in acceleration_dev.cpp.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <functional>
#include <mutex>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <tinytorch/core/acceleration.hpp>
#include <tinytorch/testing.hpp>

namespace {

using namespace tinytorch;
namespace F = tinytorch::nn::functional;
namespace ds = tinytorch::data::datasets;
using ::testing::HasSubstr;
using tinytorch::testing::error_message;

// Integers from -4 to 4, seeded: products and their sums are exact in float32.
Tensor small_ints(const Shape& shape, uint64_t seed) {
  Generator g(seed);
  std::vector<float> values(static_cast<std::size_t>(shape_numel(shape)));
  for (float& v : values) v = static_cast<float>(static_cast<int>(g.next_u64() % 9) - 4);
  return Tensor(values, shape);
}

// Restores the library's thread count when a test ends.
class ThreadCount {
 public:
  explicit ThreadCount(int threads) : saved_(get_num_threads()) { set_num_threads(threads); }
  ~ThreadCount() { set_num_threads(saved_); }

 private:
  int saved_;
};

// The operands of one product in one of the forms a GEMM meets: A·B, Aᵀ·B, A·Bᵀ, Aᵀ·Bᵀ (the
// transposed operand a view of a contiguous tensor), and a general strided view.
struct Operands {
  std::string form;
  Tensor a, b;
};

std::vector<Operands> forms(int64_t m, int64_t n, int64_t k, uint64_t seed) {
  const Tensor a = small_ints({m, k}, seed), b = small_ints({k, n}, seed + 1);
  const Tensor at = a.t().contiguous(), bt = b.t().contiguous();  // [k, m] and [n, k]
  // Every other row and column of a larger tensor, starting at an offset: strides (2·2k, 2), ...
  Tensor wide_a = zeros({2 * m + 1, 2 * k + 1}), wide_b = zeros({2 * k + 1, 2 * n + 1});
  for (int64_t i = 0; i < m; ++i)
    for (int64_t p = 0; p < k; ++p) wide_a.at({2 * i + 1, 2 * p + 1}) = a.at({i, p});
  for (int64_t p = 0; p < k; ++p)
    for (int64_t j = 0; j < n; ++j) wide_b.at({2 * p + 1, 2 * j + 1}) = b.at({p, j});
  auto every_other = [](const Tensor& t, int64_t rows, int64_t cols) {
    return Tensor(t.storage(), {rows, cols}, {2 * t.strides()[0], 2}, t.strides()[0] + 1);
  };
  return {{"A.B", a, b},
          {"At.B", at.t(), b},
          {"A.Bt", a, bt.t()},
          {"At.Bt", at.t(), bt.t()},
          {"strided views with an offset", every_other(wide_a, m, k), every_other(wide_b, k, n)}};
}

// m x n x k: every shape class the kernel must get right.
struct Shape3 {
  int64_t m, n, k;
};
const std::vector<Shape3>& shape_classes() {
  static const std::vector<Shape3> shapes = {
      {1, 1, 1},       // a single element
      {1, 333, 77},    // 1 x N: a row vector times a matrix
      {333, 1, 77},    // N x 1
      {65, 97, 1},     // K = 1: an outer product
      {37, 53, 29},    // nothing a multiple of any tile
      {8, 32, 256},    // exactly one AVX-512 tile, one k block
      {48, 96, 512},   // whole tiles of every path, two k blocks
      {100, 70, 300},  // edge tiles in both directions, a partial k block
      {13, 17, 3000},  // large K: twelve k blocks
      {300, 20, 40},   // m larger than MC: several row blocks
      {20, 2100, 9},   // n larger than NC: two column blocks
  };
  return shapes;
}

std::string describe(const Shape3& s) {
  return std::to_string(s.m) + "x" + std::to_string(s.n) + "x" + std::to_string(s.k);
}

// The first element where `ours` and module 01's result differ, or success.
::testing::AssertionResult equals_module01(const Tensor& ours, const Tensor& a, const Tensor& b) {
  const Tensor expected = native::matmul_2d(a, b);
  if (ours.shape() != expected.shape()) {
    return ::testing::AssertionFailure() << "shape " << shape_str(ours.shape()) << ", expected "
                                         << shape_str(expected.shape());
  }
  const std::vector<float> got = ours.contiguous().to_vector(), want = expected.to_vector();
  for (std::size_t i = 0; i < got.size(); ++i) {
    if (got[i] != want[i]) {
      const int64_t n = expected.size(1);
      return ::testing::AssertionFailure()
             << "element (" << static_cast<int64_t>(i) / n << ", " << static_cast<int64_t>(i) % n << ") is " << got[i]
             << ", module 01 says " << want[i] << " (integer data: every sum is exact, so they must be equal)";
    }
  }
  return ::testing::AssertionSuccess();
}

// True when every element of a and b is within the float32 rounding of a k-term dot product.
::testing::AssertionResult close_to_module01(const Tensor& ours, const Tensor& a, const Tensor& b) {
  const Tensor expected = native::matmul_2d(a, b);
  const Tensor magnitude = native::matmul_2d(abs(a), abs(b));  // sum over p of |a_ip b_pj|
  const double k = static_cast<double>(a.size(1));
  const std::vector<float> got = ours.contiguous().to_vector(), want = expected.to_vector(),
                           scale = magnitude.to_vector();
  for (std::size_t i = 0; i < got.size(); ++i) {
    // Each result is within k·u·Σ|a b| of the exact sum (u = 2^-24); we allow 2·k·u of slack
    // between the two, which random data stays far inside.
    const double bound = 2.0 * k * std::ldexp(1.0, -24) * scale[i] + 1e-30;
    if (!(std::fabs(static_cast<double>(got[i]) - want[i]) <= bound)) {
      return ::testing::AssertionFailure() << "element " << i << " is " << got[i] << ", module 01 says " << want[i]
                                           << " (allowed difference " << bound << ")";
    }
  }
  return ::testing::AssertionSuccess();
}

Tensor leaf(const Tensor& t) { return t.detach().clone().requires_grad_(); }

// ---------------------------------------------------------------------------------------
// Part 1: FLOPs and the peak

TEST(AccelGflops, CountsTwoFlopsPerMultiplyAddInDouble) {
  EXPECT_DOUBLE_EQ(accel::gflops(2, 3, 4, 1.0), 48e-9);
  EXPECT_NEAR(accel::gflops(100000, 100000, 100000, 1.0), 2e6, 1e-3)
      << "2·m·n·k must be computed without integer overflow";
}

// ---------------------------------------------------------------------------------------
// Part 2: matrix_view

TEST(AccelMatrixView, SizesStridesAndTheFirstElementOfAnyView) {
  const Tensor x = arange(24).reshape({2, 3, 4});
  const accel::MatrixView v = accel::matrix_view(select(x, 0, 1));  // [3, 4] starting at 12
  EXPECT_EQ(v.rows, 3);
  EXPECT_EQ(v.cols, 4);
  EXPECT_EQ(v.row_stride, 4);
  EXPECT_EQ(v.col_stride, 1);
  EXPECT_EQ(v.at(0, 0), 12.0f) << "a view's first element is at its offset: use data(), not storage()->data()";
  const accel::MatrixView e = accel::matrix_view(arange(3).reshape({3, 1}).expand({3, 5}));
  EXPECT_EQ(e.col_stride, 0) << "an expanded dimension has stride 0";
  EXPECT_EQ(e.at(2, 4), 2.0f);
  EXPECT_THAT(error_message<ShapeError>([&] { accel::matrix_view(x); }), HasSubstr("[2, 3, 4]"));
}

// ---------------------------------------------------------------------------------------
// Part 3: micro-kernels

TEST(AccelMicrokernel, EveryPathComputesItsTileAndTouchesNothingElse) {
  for (accel::Path path : accel::supported_paths()) {
    const accel::Kernel& kernel = accel::kernel_for(path);
    for (int64_t kc : {1, 7, 256}) {
      std::vector<float> a(static_cast<std::size_t>(kc * kernel.mr)), b(static_cast<std::size_t>(kc * kernel.nr));
      const std::vector<float> av = small_ints({kc * kernel.mr}, 10 + kc).to_vector();
      const std::vector<float> bv = small_ints({kc * kernel.nr}, 20 + kc).to_vector();
      std::copy(av.begin(), av.end(), a.begin());
      std::copy(bv.begin(), bv.end(), b.begin());
      const int64_t ldc = kernel.nr + 3;
      std::vector<float> c(static_cast<std::size_t>((kernel.mr + 1) * ldc), 1000.0f);
      for (bool accumulate : {false, true}) {
        kernel.run(kc, a.data(), b.data(), c.data(), ldc, accumulate);
        for (int64_t i = 0; i < kernel.mr + 1; ++i) {
          for (int64_t j = 0; j < ldc; ++j) {
            float expected = 1000.0f;
            if (i < kernel.mr && j < kernel.nr) {
              float sum = 0;
              for (int64_t p = 0; p < kc; ++p) sum += a[p * kernel.mr + i] * b[p * kernel.nr + j];
              expected = accumulate ? 2 * sum : sum;  // the first call wrote sum, the second added it
            }
            ASSERT_EQ(c[i * ldc + j], expected)
                << accel::path_name(path) << ", kc " << kc << ", accumulate " << accumulate << ", (" << i << ", " << j
                << ")" << (i >= kernel.mr || j >= kernel.nr ? ": outside the tile, must stay untouched" : "");
          }
        }
      }
    }
  }
}

// ---------------------------------------------------------------------------------------
// Part 4: packing

// transpose_block (written for you) on this CPU's path and on the portable one: the definition,
// zeros for the rows past `rows`, and not a float written outside the block.
TEST(AccelPack, TransposeBlockOnEveryPathWritesTheBlockAndNothingElse) {
  std::vector<float> src(8 * 11);
  for (std::size_t i = 0; i < src.size(); ++i) src[i] = static_cast<float>(i + 1);
  {
    // Your pack_b of a transposed 8 x 8 block (rows of 11 floats, from column 2) is that block,
    // transposed: the same floats as transpose_block's.
    const accel::MatrixView b{src.data() + 2, 8, 8, 1, 11};
    std::vector<float> packed(64, -7.0f), transposed(64, -7.0f);
    accel::pack_b(b, 0, 8, 0, 8, 8, packed.data());
    accel::transpose_block_portable(src.data() + 2, 11, 8, transposed.data(), 8, 8);
    EXPECT_EQ(packed, transposed);
  }
  using Transpose = void (*)(const float*, int64_t, int64_t, float*, int64_t, int64_t);
  for (const auto& [name, transpose] : std::vector<std::pair<const char*, Transpose>>{
           {"dispatched", &accel::transpose_block}, {"portable", &accel::transpose_block_portable}}) {
    for (const auto& [width, dst_stride] : std::vector<std::pair<int64_t, int64_t>>{{4, 4}, {6, 6}, {8, 8}, {8, 16}}) {
      for (int64_t rows = 0; rows <= width; ++rows) {
        std::vector<float> dst(static_cast<std::size_t>(8 * dst_stride + 8), -7.0f);
        transpose(src.data() + 2, 11, rows, dst.data(), dst_stride, width);
        const std::string where = std::string(name) + ", width " + std::to_string(width) + ", dst_stride " +
                                  std::to_string(dst_stride) + ", rows " + std::to_string(rows);
        for (int64_t i = 0; i < static_cast<int64_t>(dst.size()); ++i) {
          const int64_t v = i / dst_stride, u = i % dst_stride;
          float expected = -7.0f;  // outside the block: untouched
          if (v < 8 && u < width) expected = u < rows ? src[static_cast<std::size_t>(u * 11 + v + 2)] : 0.0f;
          ASSERT_EQ(dst[static_cast<std::size_t>(i)], expected) << where << ", float " << i;
        }
      }
    }
  }
}

TEST(AccelPack, EveryLayoutOfTheSameMatrixGivesTheSamePanels) {
  const Tensor m = small_ints({23, 19}, 3);
  const Tensor column_major = m.t().contiguous().t();
  Tensor wide = zeros({23, 40});
  for (int64_t i = 0; i < 23; ++i)
    for (int64_t j = 0; j < 19; ++j) wide.at({i, 2 * j}) = m.at({i, j});
  const Tensor strided(wide.storage(), {23, 19}, {40, 2}, 0);
  for (int64_t tile : {4, 6, 8}) {
    // A block of rows 5..20 (mc = 15) and columns 3..16 (kc = 13): offsets inside the matrix.
    const std::size_t floats = static_cast<std::size_t>((15 + tile) * 13);
    std::vector<float> reference(floats, -1), other(floats, -1);
    accel::pack_a(accel::matrix_view(m), 5, 15, 3, 13, tile, reference.data());
    for (int64_t q = 0; q < (15 + tile - 1) / tile; ++q)
      for (int64_t p = 0; p < 13; ++p)
        for (int64_t r = 0; r < tile; ++r) {
          const int64_t i = q * tile + r;
          const float expected = i < 15 ? m.at({5 + i, 3 + p}) : 0.0f;
          ASSERT_EQ(reference[(q * 13 + p) * tile + r], expected)
              << "pack_a panel " << q << ", p " << p << ", r " << r << (i >= 15 ? ": padding must be 0" : "");
        }
    for (const Tensor* layout : {&column_major, &strided}) {
      std::fill(other.begin(), other.end(), -1.0f);
      accel::pack_a(accel::matrix_view(*layout), 5, 15, 3, 13, tile, other.data());
      ASSERT_EQ(std::vector<float>(other.begin(), other.begin() + ((15 + tile - 1) / tile) * tile * 13),
                std::vector<float>(reference.begin(), reference.begin() + ((15 + tile - 1) / tile) * tile * 13))
          << "pack_a of a " << (layout == &strided ? "strided" : "column-major") << " view, mr " << tile;
    }
  }
  for (int64_t tile : {16, 32}) {
    // Rows 2..19 of B (kc = 17) and columns 1..18 (nc = 17).
    const std::size_t floats = static_cast<std::size_t>((17 + tile) * 17);
    std::vector<float> reference(floats, -1), other(floats, -1);
    accel::pack_b(accel::matrix_view(m), 2, 17, 1, 17, tile, reference.data());
    for (int64_t q = 0; q < (17 + tile - 1) / tile; ++q)
      for (int64_t p = 0; p < 17; ++p)
        for (int64_t c = 0; c < tile; ++c) {
          const int64_t j = q * tile + c;
          const float expected = j < 17 ? m.at({2 + p, 1 + j}) : 0.0f;
          ASSERT_EQ(reference[(q * 17 + p) * tile + c], expected)
              << "pack_b panel " << q << ", p " << p << ", c " << c << (j >= 17 ? ": padding must be 0" : "");
        }
    for (const Tensor* layout : {&column_major, &strided}) {
      std::fill(other.begin(), other.end(), -1.0f);
      accel::pack_b(accel::matrix_view(*layout), 2, 17, 1, 17, tile, other.data());
      const std::size_t used = static_cast<std::size_t>(((17 + tile - 1) / tile) * tile * 17);
      ASSERT_EQ(std::vector<float>(other.begin(), other.begin() + used),
                std::vector<float>(reference.begin(), reference.begin() + used))
          << "pack_b of a " << (layout == &strided ? "strided" : "column-major") << " view, nr " << tile;
    }
  }
}

// ---------------------------------------------------------------------------------------
// Part 5: the loop nest, edge tiles, the epilogue

TEST(AccelGemmRect, ARectangleWritesItsPartOfCAndNothingElse) {
  const Tensor a = small_ints({70, 300}, 5), b = small_ints({300, 90}, 6);
  const Tensor expected = native::matmul_2d(a, b);
  for (accel::Path path : accel::supported_paths()) {
    const accel::Kernel& kernel = accel::kernel_for(path);
    const accel::Rect rect{kernel.mr, 2 * kernel.mr + 3, kernel.nr, 41};  // an inner part, ragged
    std::vector<float> c(70 * 90, -5.0f);
    accel::gemm_rect(kernel, accel::blocking_for(kernel), accel::matrix_view(a), accel::matrix_view(b), c.data(), 90,
                     rect, {});
    for (int64_t i = 0; i < 70; ++i)
      for (int64_t j = 0; j < 90; ++j) {
        const bool inside = i >= rect.row0 && i < rect.row0 + rect.rows && j >= rect.col0 && j < rect.col0 + rect.cols;
        ASSERT_EQ(c[static_cast<std::size_t>(i * 90 + j)], inside ? expected.at({i, j}) : -5.0f)
            << accel::path_name(path) << " (" << i << ", " << j << ") " << (inside ? "inside" : "outside")
            << " the rect {" << rect.row0 << ", " << rect.rows << ", " << rect.col0 << ", " << rect.cols << "}";
      }
  }
}

TEST(AccelGemm, TheRowStrideOfCIsRespected) {
  // C inside a wider buffer (ldc = n + 5): the five extra columns of every row must survive.
  const Tensor a = small_ints({45, 33}, 7), b = small_ints({33, 50}, 8);
  const Tensor expected = native::matmul_2d(a, b);
  for (accel::Path path : accel::supported_paths()) {
    accel::ScopedKernelPath forced(path);
    std::vector<float> c(45 * 55, 9.0f);
    accel::gemm(accel::matrix_view(a), accel::matrix_view(b), c.data(), 55);
    for (int64_t i = 0; i < 45; ++i)
      for (int64_t j = 0; j < 55; ++j)
        ASSERT_EQ(c[static_cast<std::size_t>(i * 55 + j)], j < 50 ? expected.at({i, j}) : 9.0f)
            << accel::path_name(path) << " (" << i << ", " << j << ")" << (j >= 50 ? ": past the row's end" : "");
  }
}

TEST(AccelEpilogue, BiasPerRowBiasPerColumnAndReluMatchTheUnfusedOps) {
  const Tensor a = randn({37, 70}, 9), b = randn({70, 45}, 10);
  const Tensor row_bias = randn({37}, 11), column_bias = randn({45}, 12);
  const Tensor product = native::matmul_2d(a, b);
  struct Case {
    const char* name;
    accel::Epilogue epilogue;
    Tensor expected;
  };
  const std::vector<Case> cases = {
      {"row bias", {row_bias.data(), nullptr, false}, product + row_bias.view({37, 1})},
      {"column bias", {nullptr, column_bias.data(), false}, product + column_bias},
      {"relu", {nullptr, nullptr, true}, relu(product)},
      {"both biases and relu",
       {row_bias.data(), column_bias.data(), true},
       relu(product + row_bias.view({37, 1}) + column_bias)},
  };
  for (accel::Path path : accel::supported_paths()) {
    accel::ScopedKernelPath forced(path);
    for (const Case& c : cases) {
      EXPECT_TRUE(allclose(accel::matmul(a, b, c.epilogue), c.expected, 1e-4f, 1e-5f))
          << accel::path_name(path) << ", " << c.name;
    }
  }
}

TEST(AccelEpilogue, AnEmptyInnerDimensionGivesZerosThenTheEpilogue) {
  const Tensor bias = tensor({1, -2, 3});
  const Tensor out = accel::matmul(zeros({4, 0}), zeros({0, 3}), {nullptr, bias.data(), true});
  EXPECT_EQ(out.shape(), (Shape{4, 3}));
  EXPECT_EQ(out.to_vector(), (std::vector<float>{1, 0, 3, 1, 0, 3, 1, 0, 3, 1, 0, 3}))
      << "k = 0: C is all zeros (as module 01's matmul), then bias and ReLU";
  EXPECT_EQ(accel::matmul(zeros({0, 5}), zeros({5, 3})).shape(), (Shape{0, 3}));
}

// accel::matmul makes its output with empty(): a buffer that held another tensor (here, 7s) must
// come back holding the product in every element, on every path and for k = 0 too.
TEST(AccelMatmul, AnOutputBufferThatHeldAnotherTensorIsOverwrittenEverywhere) {
  const Tensor a = randn({130, 37}, 11), b = randn({37, 129}, 12);
  const Tensor expected = native::matmul_2d(a, b);
  for (accel::Path path : accel::supported_paths()) {
    accel::ScopedKernelPath forced(path);
    { Tensor sevens = full({130, 129}, 7); }
    const Tensor out = accel::matmul(a, b);
    EXPECT_TRUE(allclose(out, expected, 1e-4f, 1e-4f)) << accel::path_name(path);
    { Tensor sevens = full({130, 129}, 7); }
    const Tensor none = accel::matmul(zeros({130, 0}), zeros({0, 129}));
    EXPECT_EQ(none.sum().item(), 0.0f) << "k = 0 on " << accel::path_name(path) << ": zeros, not the old 7s";
  }
}

// ---------------------------------------------------------------------------------------
// Every shape class, every form, every path, every thread count.

TEST(AccelGemm, EveryShapeClassFormPathAndThreadCountEqualsModule01) {
  uint64_t seed = 100;
  for (const Shape3& shape : shape_classes()) {
    for (const Operands& ops : forms(shape.m, shape.n, shape.k, seed += 2)) {
      for (accel::Path path : accel::supported_paths()) {
        accel::ScopedKernelPath forced(path);
        for (int threads = 1; threads <= 4; ++threads) {
          ThreadCount count(threads);
          ASSERT_TRUE(equals_module01(accel::matmul(ops.a, ops.b), ops.a, ops.b))
              << describe(shape) << ", " << ops.form << ", " << accel::path_name(path) << ", " << threads
              << " thread(s)";
        }
      }
    }
  }
}

TEST(AccelGemm, LargeProductsSplitAcrossThreadsEqualModule01) {
  // Large enough to pass kParallelWork, so every thread count really splits C.
  for (const Shape3& shape : {Shape3{257, 263, 300}, Shape3{16, 5000, 60}, Shape3{400, 50, 600}}) {
    ASSERT_GE(shape.m * shape.n * shape.k, accel::kParallelWork) << describe(shape);
    const Tensor a = small_ints({shape.m, shape.k}, 31), b = small_ints({shape.k, shape.n}, 32);
    for (accel::Path path : accel::supported_paths()) {
      accel::ScopedKernelPath forced(path);
      for (int threads = 1; threads <= 4; ++threads) {
        ThreadCount count(threads);
        ASSERT_TRUE(equals_module01(accel::matmul(a, b.t().contiguous().t()), a, b))
            << describe(shape) << ", " << accel::path_name(path) << ", " << threads << " thread(s)";
      }
    }
  }
}

TEST(AccelGemm, RandomNormalDataIsWithinFloat32Rounding) {
  // The CNN milestone's GEMM shapes (batch 4 instead of 64), in the forms autograd produces.
  struct Product {
    const char* name;
    Tensor a, b;
  };
  const Tensor w2 = randn({32, 400}, 40), cols2 = randn({400, 784}, 41), g2 = randn({32, 784}, 42);
  const Tensor x = randn({4, 1568}, 43), w = randn({10, 1568}, 44), g = randn({4, 10}, 45);
  const std::vector<Product> products = {
      {"conv2 forward: W [32, 400] @ cols [400, N*196]", w2, cols2},
      {"conv2 weight grad: g @ cols^T", g2, cols2.t()},
      {"conv2 cols grad: W^T @ g", w2.t(), g2},
      {"linear forward: x @ W^T", x, w.t()},
      {"linear input grad: g @ W", g, w},
      {"linear weight grad: x^T @ g", x.t(), g},
  };
  for (accel::Path path : accel::supported_paths()) {
    accel::ScopedKernelPath forced(path);
    for (const Product& p : products) {
      EXPECT_TRUE(close_to_module01(accel::matmul(p.a, p.b), p.a, p.b)) << accel::path_name(path) << ", " << p.name;
    }
  }
}

TEST(AccelGemm, MismatchedShapesAreShapeErrors) {
  (void)accel::matmul(zeros({2, 3}), zeros({3, 4}));
  EXPECT_THAT(error_message<ShapeError>([] {
                accel::matmul(zeros({2, 3}), zeros({4, 5}));
              }),
              HasSubstr("[2, 3] and [4, 5]"));
  EXPECT_THROW(accel::matmul(zeros({2, 3, 1}), zeros({3, 4})), ShapeError);
}

// ---------------------------------------------------------------------------------------
// Part 6: the thread pool

TEST(AccelThreadPool, EveryTaskRunsExactlyOnceOnSeveralThreads) {
  accel::ThreadPool pool(4);
  EXPECT_EQ(pool.size(), 4);
  std::vector<std::atomic<int>> hits(1000);
  std::mutex mutex;
  std::set<std::thread::id> seen;
  pool.run(1000, [&](int64_t i) {
    hits[static_cast<std::size_t>(i)] += 1;
    if (i % 50 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(2));  // let the others in
    std::lock_guard<std::mutex> lock(mutex);
    seen.insert(std::this_thread::get_id());
  });
  for (std::size_t i = 0; i < hits.size(); ++i) ASSERT_EQ(hits[i].load(), 1) << "task " << i;
  EXPECT_GE(seen.size(), 2u) << "a pool of 4 ran 1000 tasks on one thread: are the workers taking tasks?";
  EXPECT_LE(seen.size(), 4u);
}

TEST(AccelThreadPool, RepeatedJobsEachSeeEveryTask) {
  accel::ThreadPool pool(3);
  std::atomic<int64_t> total{0};
  for (int job = 0; job < 2000; ++job) {
    pool.run(job % 7, [&](int64_t i) { total += i + 1; });
  }
  int64_t expected = 0;
  for (int job = 0; job < 2000; ++job) expected += (job % 7) * (job % 7 + 1) / 2;
  EXPECT_EQ(total.load(), expected) << "a job run twice, or a task lost, by a worker that saw a stale generation";
}

TEST(AccelThreadPool, TheFirstExceptionReachesTheCallerAndThePoolGoesOn) {
  accel::ThreadPool pool(4);
  std::atomic<int> ran{0};
  const std::string message = error_message<std::runtime_error>([&] {
    pool.run(100, [&](int64_t i) {
      ++ran;
      if (i == 3) throw std::runtime_error("task 3 failed");
    });
  });
  EXPECT_EQ(message, "task 3 failed");
  EXPECT_LT(ran.load(), 100 + 1);
  std::atomic<int> after{0};
  pool.run(50, [&](int64_t) { ++after; });
  EXPECT_EQ(after.load(), 50) << "the pool must keep working after a task threw";
  EXPECT_THROW(pool.run(1, [](int64_t) { throw std::logic_error("alone"); }), std::logic_error)
      << "a job of one task runs on the caller, and its exception propagates too";
}

TEST(AccelThreadPool, ARunInsideATaskRunsSeriallyInsteadOfDeadlocking) {
  accel::ThreadPool pool(3);
  std::atomic<int> inner{0};
  pool.run(6, [&](int64_t) { pool.run(5, [&](int64_t) { ++inner; }); });
  EXPECT_EQ(inner.load(), 30);
}

TEST(AccelThreadPool, TwoThreadsRunningJobsAtOnceBothFinish) {
  accel::ThreadPool pool(3);
  std::atomic<int64_t> first{0}, second{0};
  pool.run(10, [&](int64_t i) { second += i; });  // on this thread first: an error is reported here
  std::exception_ptr error;                       // what the other thread's jobs threw, rethrown here
  {
    std::jthread other([&] {  // a jthread joins when it goes out of scope, even on an exception
      try {
        for (int j = 0; j < 200; ++j) pool.run(10, [&](int64_t i) { first += i; });
      } catch (...) {
        error = std::current_exception();
      }
    });
    for (int j = 1; j < 200; ++j) pool.run(10, [&](int64_t i) { second += i; });
  }
  if (error) std::rethrow_exception(error);
  EXPECT_EQ(first.load(), 200 * 45);
  EXPECT_EQ(second.load(), 200 * 45);
}

TEST(AccelThreadPool, ALibraryGemmInsideATaskWorks) {
  // A GEMM inside a task of the library's own pool: its run() must not wait for the pool.
  ThreadCount count(2);
  const Tensor a = small_ints({200, 150}, 50), b = small_ints({150, 120}, 51);
  std::vector<Tensor> results(4);
  accel::thread_pool()->run(4, [&](int64_t i) { results[static_cast<std::size_t>(i)] = accel::matmul(a, b); });
  for (const Tensor& r : results) EXPECT_TRUE(equals_module01(r, a, b));
}

// Module 01's slot for threads holds this module's runner from the start, and its pieces cover
// [0, count) exactly once, never more of them than threads or count / grain.
TEST(AccelThreads, TheParallelForRunnerCoversEveryElementOnceOnThePool) {
  EXPECT_EQ(native::parallel_runner(), &accel::run_on_pool) << "installed before main, with the GEMM";
  {
    ThreadCount two(2);
    std::atomic<int> ran{0};
    accel::thread_pool()->run(2, [&](int64_t) { ++ran; });  // your ThreadPool::run, which the runner uses
    ASSERT_EQ(ran.load(), 2);
    std::atomic<int> pieces{0};
    native::parallel_for(1000, 7, [&](int64_t, int64_t) { ++pieces; });
    EXPECT_EQ(pieces.load(), 2) << "2 threads and plenty of work: one piece per thread of the pool";
  }
  for (int threads : {1, 2, 3}) {
    ThreadCount count(threads);
    for (const auto& [elements, grain] :
         std::vector<std::pair<int64_t, int64_t>>{{1, 1}, {10, 3}, {1000, 7}, {99, 50}}) {
      std::mutex mutex;
      std::vector<std::pair<int64_t, int64_t>> pieces;
      native::parallel_for(elements, grain, [&](int64_t begin, int64_t end) {
        const std::lock_guard<std::mutex> lock(mutex);
        pieces.emplace_back(begin, end);
      });
      std::sort(pieces.begin(), pieces.end());
      const std::string where =
          std::to_string(threads) + " threads, count " + std::to_string(elements) + ", grain " + std::to_string(grain);
      ASSERT_FALSE(pieces.empty()) << where;
      EXPECT_EQ(pieces.front().first, 0) << where;
      EXPECT_EQ(pieces.back().second, elements) << where;
      for (std::size_t i = 1; i < pieces.size(); ++i) EXPECT_EQ(pieces[i].first, pieces[i - 1].second) << where;
      EXPECT_LE(static_cast<int64_t>(pieces.size()), std::max<int64_t>(1, std::min<int64_t>(threads, elements / grain)))
          << where;
    }
  }
}

// The loops that go through parallel_for give the same numbers on one thread and on several.
TEST(AccelThreads, TheOpsOnParallelForGiveTheSameNumbersOnEveryThreadCount) {
  const Tensor x = randn({8, 16, 40, 40}, 71);  // 204,800 floats: several pieces for every one of these ops
  const auto run = [&] {
    Tensor input = leaf(x);
    const Tensor cols = im2col(input, 3, 1, 1);
    const Tensor pooled = nn::functional::max_pool2d(relu(input) * 2.0f, 2);
    (cols.sum() + (pooled * pooled).sum()).backward();
    return std::vector<std::vector<float>>{cols.to_vector(), pooled.to_vector(), input.grad().to_vector()};
  };
  std::vector<std::vector<float>> one;
  {
    ThreadCount count(1);
    one = run();
  }
  for (int threads : {2, 3}) {
    ThreadCount count(threads);
    EXPECT_EQ(run(), one) << threads
                          << " threads: im2col, col2im, max pooling and its backward, relu and its "
                             "backward must not depend on how the work is cut";
  }
}

TEST(AccelThreads, SetAndGetTheLibrarysThreadCount) {
  const Tensor a = small_ints({300, 300}, 60), b = small_ints({300, 300}, 61);
  for (int threads : {1, 3, 2, 4}) {
    ThreadCount count(threads);
    EXPECT_EQ(get_num_threads(), threads);
    EXPECT_EQ(accel::thread_pool()->size(), threads);
    EXPECT_TRUE(equals_module01(accel::matmul(a, b), a, b)) << threads << " threads";
  }
  EXPECT_THAT(error_message<std::invalid_argument>([] { set_num_threads(0); }), HasSubstr("at least 1"));
}

TEST(AccelThreads, ParseAThreadCountStrictly) {
  EXPECT_EQ(accel::parse_num_threads("1"), 1);
  EXPECT_EQ(accel::parse_num_threads("16"), 16);
  EXPECT_EQ(accel::parse_num_threads("1024"), 1024);
  EXPECT_EQ(accel::parse_num_threads("  8  "), 8);
  for (const char* bad : {"", "   ", "0", "-2", "1025", "3x", "x3", "two", "2.5", "+4", "99999999999999999999"}) {
    EXPECT_EQ(accel::parse_num_threads(bad), std::nullopt) << "\"" << bad << "\" is not a thread count";
  }
}

TEST(AccelThreads, TheEnvironmentVariableSetsTheDefault) {
  ASSERT_EQ(accel::parse_num_threads("3"), 3);
  const char* saved = std::getenv("TINYTORCH_NUM_THREADS");
  const std::string saved_value = saved ? saved : "";
  setenv("TINYTORCH_NUM_THREADS", "3", 1);
  EXPECT_EQ(default_num_threads(), 3);
  setenv("TINYTORCH_NUM_THREADS", "lots", 1);
  EXPECT_EQ(default_num_threads(), static_cast<int>(std::max(1u, std::thread::hardware_concurrency())))
      << "an unreadable value falls back to the hardware threads";
  unsetenv("TINYTORCH_NUM_THREADS");
  EXPECT_EQ(default_num_threads(), static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
  // In a fresh process (a death-test child re-runs this test from the start), the library's pool
  // is created from the variable on first use.
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  setenv("TINYTORCH_NUM_THREADS", "3", 1);
  EXPECT_EXIT(std::exit(get_num_threads() == 3 ? 0 : 1), ::testing::ExitedWithCode(0), "")
      << "a program started with TINYTORCH_NUM_THREADS=3 must use 3 threads";
  if (saved) {
    setenv("TINYTORCH_NUM_THREADS", saved_value.c_str(), 1);
  } else {
    unsetenv("TINYTORCH_NUM_THREADS");
  }
}

// ---------------------------------------------------------------------------------------
// Part 7: dispatch

TEST(AccelDispatch, TheChoiceForEveryKindOfCpu) {
  using accel::Path;
  EXPECT_EQ(accel::best_path({}), Path::Portable) << "a CPU without SIMD gets the portable kernel";
  EXPECT_EQ(accel::best_path({.avx2 = true, .fma = false, .avx512f = false}), Path::Portable)
      << "AVX2 without FMA cannot run the AVX2 kernel";
  EXPECT_EQ(accel::best_path({.avx2 = false, .fma = true, .avx512f = false}), Path::Portable);
#if defined(__x86_64__)
  EXPECT_EQ(accel::best_path({.avx2 = true, .fma = true, .avx512f = false}), Path::Avx2)
      << "a CPU with only AVX2 (and FMA) must get the AVX2 kernel, never the AVX-512 one";
  EXPECT_EQ(accel::best_path({.avx2 = true, .fma = true, .avx512f = true}), Path::Avx512);
#endif
  EXPECT_TRUE(accel::path_supported(accel::best_path(accel::cpu_features())))
      << "the path chosen for this CPU must be one it runs";
}

TEST(AccelDispatch, ForcingAPathAndRestoringIt) {
  const accel::Path automatic = accel::best_path(accel::cpu_features());
  if (std::getenv("TINYTORCH_KERNEL") == nullptr) EXPECT_EQ(accel::kernel_path(), automatic);
  const accel::Path before = accel::kernel_path();
  {
    accel::ScopedKernelPath forced(accel::Path::Portable);
    EXPECT_EQ(accel::kernel_path(), accel::Path::Portable);
    const Tensor a = small_ints({40, 30}, 70), b = small_ints({30, 50}, 71);
    EXPECT_TRUE(equals_module01(accel::matmul(a, b), a, b));
  }
  EXPECT_EQ(accel::kernel_path(), before);
}

// ---------------------------------------------------------------------------------------
// Part 9: the hook. Linear and Conv2d, forward and backward, with and without the kernel.

// The gradients of every parameter and of the input after backward of sum(out * weights).
struct Pass {
  Tensor out;
  std::vector<Tensor> grads;
};

Pass run_pass(nn::Module& module, const Tensor& input, uint64_t seed) {
  for (const Tensor& p : module.parameters()) p.mutable_grad() = Tensor();
  Tensor x = leaf(input);
  const Tensor out = module.forward(x);
  (out * randn(out.shape(), seed)).sum().backward();
  Pass pass{out.detach().clone(), {x.grad().clone()}};
  for (const Tensor& p : module.parameters()) pass.grads.push_back(p.grad().clone());
  return pass;
}

void expect_same_pass(nn::Module& module, const Tensor& input, const std::string& what) {
  ASSERT_TRUE(accel::fast_matmul_enabled());
  const Pass fast = run_pass(module, input, 5);
  Pass slow;
  {
    accel::FastMatmulGuard off(false);
    accel::FastConv2dGuard composed(false);  // module 09's im2col + module 01's matmul
    EXPECT_FALSE(accel::fast_matmul_enabled());
    EXPECT_FALSE(accel::fast_conv2d_enabled());
    slow = run_pass(module, input, 5);
  }
  EXPECT_TRUE(accel::fast_matmul_enabled()) << "the guard must restore the kernel";
  EXPECT_TRUE(accel::fast_conv2d_enabled()) << "the guard must restore the convolution";
  EXPECT_TRUE(allclose(fast.out, slow.out, 1e-4f, 1e-5f)) << what << ": forward";
  ASSERT_EQ(fast.grads.size(), slow.grads.size());
  for (std::size_t i = 0; i < fast.grads.size(); ++i) {
    EXPECT_TRUE(allclose(fast.grads[i], slow.grads[i], 1e-4f, 1e-4f))
        << what << ": gradient " << i << (i == 0 ? " (the input)" : " (a parameter)");
  }
}

TEST(AccelHook, LinearForwardAndBackwardGiveTheSameNumbersWithAndWithoutTheKernel) {
  nn::Linear fc(300, 70, true, 1);
  expect_same_pass(fc, randn({50, 300}, 2), "Linear(300, 70)");
  nn::Linear last(1568, 10, true, 3);
  expect_same_pass(last, randn({64, 1568}, 4), "Linear(1568, 10) on a batch of 64");
}

TEST(AccelHook, Conv2dForwardAndBackwardGiveTheSameNumbersWithAndWithoutTheKernel) {
  nn::Conv2d conv(3, 16, 5, 1, 2, true, 5);
  expect_same_pass(conv, randn({4, 3, 20, 18}, 6), "Conv2d(3, 16, 5, padding 2)");
  nn::Conv2d strided(4, 6, 3, 2, 1, true, 7);
  expect_same_pass(strided, randn({2, 4, 9, 11}, 8), "Conv2d(4, 6, 3, stride 2, padding 1)");
}

TEST(AccelHook, TheKernelReallyRunsBehindTensorMatmul) {
  // Forced to the portable path, the result of Tensor::matmul is bit for bit the portable GEMM's.
  // (With FMA the SIMD kernels round differently from module 01's loop, so the two paths tell
  // apart whose numbers came out.)
  const Tensor a = randn({64, 700}, 9), b = randn({700, 96}, 10);
  for (accel::Path path : accel::supported_paths()) {
    accel::ScopedKernelPath forced(path);
    const accel::Kernel& kernel = accel::kernel_for(path);
    std::vector<float> c(64 * 96);
    accel::gemm_rect(kernel, accel::blocking_for(kernel), accel::matrix_view(a), accel::matrix_view(b), c.data(), 96,
                     {0, 64, 0, 96}, {});
    EXPECT_EQ(a.matmul(b).to_vector(), c) << accel::path_name(path);
  }
}

// autograd's gradient of `f` at `inputs` against finite differences.
void expect_gradcheck(const std::string& what, const std::function<Tensor(const std::vector<Tensor>&)>& f,
                      const std::vector<Tensor>& inputs) {
  const autograd::GradcheckResult r = autograd::gradcheck(f, inputs, {.seed = 3});
  EXPECT_TRUE(r.ok) << what << "\n" << r.report;
}

TEST(AccelGradcheck, MatmulLinearAndConvAgainstFiniteDifferencesOnTheFastKernel) {
  ASSERT_TRUE(accel::fast_matmul_enabled());
  expect_gradcheck("a @ b", [](const auto& v) { return v[0].matmul(v[1]); },
                   {leaf(randn({7, 9}, 1)), leaf(randn({9, 5}, 2))});
  expect_gradcheck("a^T @ b^T", [](const auto& v) { return v[0].t().matmul(v[1].t()); },
                   {leaf(randn({9, 7}, 3)), leaf(randn({5, 9}, 4))});
  expect_gradcheck("matrix @ vector", [](const auto& v) { return v[0].matmul(v[1]); },
                   {leaf(randn({6, 4}, 5)), leaf(randn({4}, 6))});
  expect_gradcheck("linear: x @ W^T + b", [](const auto& v) { return v[0].matmul(v[1].t()) + v[2]; },
                   {leaf(randn({5, 8}, 7)), leaf(randn({3, 8}, 8)), leaf(randn({3}, 9))});
  expect_gradcheck("conv2d, stride 2, padding 1", [](const auto& v) { return F::conv2d(v[0], v[1], v[2], 2, 1); },
                   {leaf(randn({2, 2, 5, 4}, 10)), leaf(randn({3, 2, 3, 3}, 11)), leaf(randn({3}, 12))});
}

// ---------------------------------------------------------------------------------------
// Part 10: the convolution image by image

struct ConvCase {
  int64_t batch, channels, height, width, out_channels, kernel, stride, padding;
  bool bias;
};

std::string describe(const ConvCase& c) {
  std::ostringstream out;
  out << "input [" << c.batch << ", " << c.channels << ", " << c.height << ", " << c.width << "], weight ["
      << c.out_channels << ", " << c.channels << ", " << c.kernel << ", " << c.kernel << "], stride " << c.stride
      << ", padding " << c.padding << (c.bias ? ", bias" : ", no bias");
  return out.str();
}

// The output and the gradients of input, weight and bias (undefined without one) of a convolution
// for a sum weighted by fixed random numbers: part 10's (accel::conv2d, whatever the output's size),
// or module 09's im2col + matmul.
std::vector<Tensor> conv_pass(const ConvCase& c, uint64_t seed, bool by_image) {
  Tensor x = leaf(randn({c.batch, c.channels, c.height, c.width}, seed));
  Tensor w = leaf(randn({c.out_channels, c.channels, c.kernel, c.kernel}, seed + 1));
  Tensor b = c.bias ? leaf(randn({c.out_channels}, seed + 2)) : Tensor();
  accel::FastConv2dGuard composed(false);
  const Tensor out = by_image ? accel::conv2d(x, w, b, c.stride, c.padding) : F::conv2d(x, w, b, c.stride, c.padding);
  (out * randn(out.shape(), seed + 3)).sum().backward();
  return {out.detach(), x.grad(), w.grad(), c.bias ? b.grad() : Tensor()};
}

const std::vector<ConvCase>& conv_cases() {
  static const std::vector<ConvCase> cases = {
      {1, 3, 8, 8, 4, 3, 1, 1, true},      // one image: the products on gemm and its threads
      {5, 3, 9, 7, 4, 3, 2, 1, true},      // an odd batch over the threads, a stride and padding
      {3, 2, 6, 6, 5, 1, 1, 0, false},     // a 1x1 kernel, no bias
      {4, 1, 28, 28, 8, 5, 1, 2, true},    // the milestone's first layer, smaller
      {2, 4, 5, 5, 3, 5, 1, 0, true},      // a 1x1 output: one position per image
      {7, 16, 14, 14, 32, 5, 1, 2, true},  // the milestone's second layer: k = 400, several k blocks
  };
  return cases;
}

TEST(AccelConv2d, EveryShapeAndThreadCountGivesModule09sNumbersAndGradients) {
  ASSERT_TRUE(accel::fast_conv2d_enabled()) << "the convolution is installed before main";
  for (const ConvCase& c : conv_cases()) {
    const std::vector<Tensor> expected = conv_pass(c, 40, false);
    for (int threads : {1, 2, 3}) {
      ThreadCount count(threads);
      const std::vector<Tensor> got = conv_pass(c, 40, true);
      const char* names[] = {"the output", "the input's gradient", "the weight's gradient", "the bias's gradient"};
      for (std::size_t i = 0; i < got.size(); ++i) {
        if (!expected[i].defined()) {
          EXPECT_FALSE(got[i].defined()) << describe(c) << ": " << names[i];
          continue;
        }
        ASSERT_EQ(got[i].shape(), expected[i].shape()) << describe(c) << ": " << names[i];
        EXPECT_TRUE(allclose(got[i], expected[i], 1e-4f, 1e-4f))
            << describe(c) << ", " << threads << " threads: " << names[i]
            << " differs from module 09's im2col + matmul";
      }
    }
  }
}

TEST(AccelConv2d, GradientsAgainstFiniteDifferences) {
  expect_gradcheck("accel::conv2d, stride 2, padding 1",
                   [](const auto& v) { return accel::conv2d(v[0], v[1], v[2], 2, 1); },
                   {leaf(randn({2, 2, 5, 4}, 10)), leaf(randn({3, 2, 3, 3}, 11)), leaf(randn({3}, 12))});
  expect_gradcheck("accel::conv2d, no bias, three images",
                   [](const auto& v) { return accel::conv2d(v[0], v[1], Tensor(), 1, 0); },
                   {leaf(randn({3, 2, 4, 4}, 13)), leaf(randn({2, 2, 2, 2}, 14))});
}

TEST(AccelConv2d, AViewThatIsNotContiguousIsReadAsItsValues) {
  const Tensor base = randn({3, 2, 12, 13}, 45), w = randn({4, 2, 3, 3}, 46), b = randn({4}, 47);
  const Tensor view = base.transpose(2, 3);  // [3, 2, 13, 12], strides of the transpose
  ASSERT_FALSE(view.is_contiguous());
  Tensor expected;
  {
    accel::FastConv2dGuard composed(false);
    expected = F::conv2d(view.contiguous(), w, b, 1, 1);
  }
  EXPECT_TRUE(allclose(accel::conv2d(view, w, b, 1, 1), expected, 1e-4f, 1e-5f));
  EXPECT_TRUE(allclose(accel::conv2d(view, w, b, 1, 1), accel::conv2d(view.contiguous(), w, b, 1, 1), 0, 0));
}

TEST(AccelConv2d, TheSameThreadCountGivesTheSameNumbersEveryTime) {
  const ConvCase c{9, 3, 10, 10, 6, 3, 1, 1, true};
  ThreadCount count(2);
  const std::vector<Tensor> first = conv_pass(c, 50, true), second = conv_pass(c, 50, true);
  for (std::size_t i = 0; i < first.size(); ++i) {
    EXPECT_EQ(first[i].to_vector(), second[i].to_vector())
        << "result " << i << ": the partial sums of the threads are added in a fixed order";
  }
}

TEST(AccelConv2d, AnInputThatNeedsNoGradientGetsNone) {
  nn::Conv2d conv(2, 4, 3, 1, 1, true, 60);
  const Tensor images = randn({3, 2, 12, 12}, 61);  // data: no gradient wanted; 144 positions, image by image
  conv(images).sum().backward();
  EXPECT_FALSE(images.grad().defined());
  ASSERT_TRUE(conv.weight.grad().defined());
  Tensor expected;
  {
    accel::FastConv2dGuard composed(false);
    Tensor w = leaf(conv.weight);
    F::conv2d(images, w, conv.bias.detach(), 1, 1).sum().backward();
    expected = w.grad();
  }
  EXPECT_TRUE(allclose(conv.weight.grad(), expected, 1e-4f, 1e-4f));
  EXPECT_TRUE(allclose(conv.bias.grad(), full({4}, 3 * 144), 1e-4f, 1e-4f)) << "d sum / d bias = N * OH * OW";
}

// The largest tensor made while the observer is installed.
std::atomic<std::size_t> largest_made{0};
void note_made(std::size_t bytes) noexcept {
  std::size_t seen = largest_made.load();
  while (bytes > seen && !largest_made.compare_exchange_weak(seen, bytes)) {
  }
}
void note_freed(std::size_t) noexcept {}
const memory::AllocationObserver largest_observer{&note_made, &note_freed};

TEST(AccelConv2d, NoTensorAsLargeAsTheColumnsOfTheWholeBatchIsMade) {
  Tensor x = leaf(randn({16, 8, 16, 16}, 70));
  nn::Conv2d conv(8, 16, 3, 1, 1, true, 71);
  const std::size_t batch_columns = 8 * 3 * 3 * 16 * 16 * 16 * sizeof(float);  // im2col of the batch: 1.2 MB
  largest_made = 0;
  memory::set_allocation_observer(&largest_observer);
  conv(x).sum().backward();
  memory::set_allocation_observer(nullptr);
  EXPECT_LT(largest_made.load(), batch_columns / 2)
      << "forward and backward must work on the columns of one image at a time (the largest tensors here are the "
         "output and its gradient, 0.26 MB)";
  EXPECT_TRUE(x.grad().defined());
}

TEST(AccelConv2d, IsInModule09sSlotAndRecordedAsOneOp) {
  EXPECT_TRUE(accel::fast_conv2d_enabled());
  EXPECT_EQ(accel::fast_conv2d_problem(), "") << "the convolution passed its start-up check";
  nn::Conv2d conv(2, 3, 3, 1, 1, true, 80);
  const Tensor out = conv(randn({2, 2, 12, 11}, 81));  // 132 output positions per image
  ASSERT_NE(autograd::grad_fn(out), nullptr);
  EXPECT_EQ(autograd::grad_fn(out)->name, "conv2d");
  EXPECT_NE(autograd::grad_fn(conv(randn({2, 2, 11, 11}, 82)))->name, "conv2d")
      << "121 positions per image, fewer than kMinPositionsByImage = " << accel::kMinPositionsByImage
      << ": the kernel declines, and module 09's composition runs";
  {
    accel::FastConv2dGuard composed(false);
    EXPECT_EQ(native::conv2d_kernel(), nullptr);
    EXPECT_NE(autograd::grad_fn(conv(randn({2, 2, 12, 11}, 81)))->name, "conv2d") << "module 09's composition";
  }
}

TEST(AccelConv2d, TheStartUpCheckRefusesAWrongOrUnfinishedConvolution) {
  EXPECT_EQ(accel::check_conv2d_kernel(&accel::conv2d_forward), "");
  EXPECT_THAT(accel::check_conv2d_kernel([](const Tensor& x, const Tensor& w, const Tensor& b, int64_t s, int64_t p) {
                return accel::conv2d_forward(x, w, b, s, p) * 1.01f;
              }),
              HasSubstr("wrong numbers"));
  EXPECT_THAT(accel::check_conv2d_kernel([](const Tensor& x, const Tensor& w, const Tensor&, int64_t s, int64_t p) {
                return accel::conv2d_forward(x, w, Tensor(), s, p);
              }),
              HasSubstr("wrong numbers"))
      << "a forward that forgets the bias";
  EXPECT_THAT(accel::check_conv2d_kernel([](const Tensor&, const Tensor&, const Tensor&, int64_t, int64_t) -> Tensor {
                throw NotImplemented();
              }),
              HasSubstr(NotImplemented::kPrefix));
}

// ---------------------------------------------------------------------------------------
// Integration: the milestone's kind of network on real data, on the fast kernel

TEST(AccelIntegration, ACnnLearnsRealFashionMnistOnTheFastKernel) {
  ASSERT_TRUE(accel::fast_matmul_enabled());
  (void)accel::matmul(ones({2, 2}), ones({2, 2}));  // the kernel itself, before any data is read
  ds::FashionMNIST train(true), test(false);
  namespace T = data::transforms;
  const T::Normalize normalize({0.2860f}, {0.3530f});
  data::DataLoader loader(data::MapDataset(train, normalize),
                          data::DataLoaderOptions(64).shuffle(true).seed(1).drop_last(true));
  nn::Sequential cnn(nn::Conv2d(1, 8, 5, 1, 2, true, 1), nn::ReLU(), nn::MaxPool2d(2),
                     nn::Conv2d(8, 16, 5, 1, 2, true, 2), nn::ReLU(), nn::MaxPool2d(2), nn::Flatten(),
                     nn::Linear(16 * 7 * 7, 10, true, 3));
  optim::Adam adam(cnn.parameters(), optim::AdamOptions(2e-3));
  loader.start_epoch(0);
  for (int64_t b = 0; b < 150; ++b) {
    const data::Example batch = loader.batch(b);
    const Tensor loss = F::cross_entropy(cnn(batch.data), batch.target);
    adam.zero_grad();
    loss.backward();
    adam.step();
  }
  cnn.eval();
  NoGradGuard no_grad;
  data::DataLoader evaluation(data::MapDataset(test, normalize), data::DataLoaderOptions(500));
  double correct = 0;
  for (int64_t b = 0; b < 2; ++b) {
    const data::Example batch = evaluation.batch(b);
    correct += F::accuracy(cnn(batch.data), batch.target) * 500.0;
  }
  EXPECT_GT(correct / 1000.0, 0.70) << "150 batches of real Fashion-MNIST on the fast kernel";
}

// BEGIN HIDDEN TESTS
TEST(AccelHidden, ReluIsAppliedOnceAfterTheLastKBlock) {
  // k = 600 spans several k blocks (two of 300 with KC = 320, three of 200 with 256). The first
  // 256 terms of every dot product are -1, the other 344 are +1: the sum is 88, and the partial
  // sum after the first block is negative, so a ReLU applied then would not give 88.
  const int64_t k = 600;
  Tensor a = ones({9, k}), b = ones({k, 33});
  for (int64_t p = 0; p < 256; ++p)
    for (int64_t j = 0; j < 33; ++j) b.at({p, j}) = -1.0f;
  for (accel::Path path : accel::supported_paths()) {
    accel::ScopedKernelPath forced(path);
    const Tensor out = accel::matmul(a, b, {nullptr, nullptr, true});
    EXPECT_EQ(out.at({0, 0}), 88.0f) << accel::path_name(path);
    EXPECT_EQ(out.at({8, 32}), 88.0f) << accel::path_name(path) << ", an edge tile";
    const Tensor bias = full({33}, -100.0f);
    EXPECT_EQ(accel::matmul(a, b, {nullptr, bias.data(), true}).at({4, 7}), 0.0f)
        << "the bias is added once, to the finished sum";
  }
}

TEST(AccelHidden, PartitionCoversCExactlyOnceAndBalancesTheTiles) {
  for (int64_t m : {1, 7, 8, 33, 100, 1000}) {
    for (int64_t n : {1, 10, 31, 32, 400, 12544}) {
      for (int parts : {1, 2, 3, 4, 7}) {
        const std::vector<accel::Rect> rects = accel::partition(m, n, 8, 32, parts);
        ASSERT_LE(static_cast<int>(rects.size()), parts);
        ASSERT_GE(rects.size(), 1u);
        std::vector<int> covered(static_cast<std::size_t>(m * n));
        int64_t largest = 0, smallest = m * n;
        for (const accel::Rect& r : rects) {
          ASSERT_EQ(r.row0 % 8, 0);
          ASSERT_EQ(r.col0 % 32, 0);
          largest = std::max(largest, r.rows * r.cols);
          smallest = std::min(smallest, r.rows * r.cols);
          for (int64_t i = r.row0; i < r.row0 + r.rows; ++i)
            for (int64_t j = r.col0; j < r.col0 + r.cols; ++j) ++covered[static_cast<std::size_t>(i * n + j)];
        }
        for (int c : covered) ASSERT_EQ(c, 1) << m << "x" << n << " in " << parts;
        const int64_t tiles = ((m + 7) / 8) * ((n + 31) / 32);
        if (tiles >= parts && parts == 2) EXPECT_EQ(rects.size(), 2u) << m << "x" << n << ": two threads, two rects";
        if (rects.size() > 1 && m >= 64 && n >= 512) {
          EXPECT_LE(largest, 3 * smallest) << m << "x" << n << " in " << parts << ": unbalanced";
        }
      }
    }
  }
  EXPECT_TRUE(accel::partition(0, 10, 8, 32, 4).empty());
}

TEST(AccelHidden, KernelsOnExpandedViewsAndOneByOneMatrices) {
  const Tensor column = small_ints({50, 1}, 80), row = small_ints({1, 40}, 81);
  const Tensor expanded_a = column.expand({50, 30}), expanded_b = row.expand({30, 40});
  for (accel::Path path : accel::supported_paths()) {
    accel::ScopedKernelPath forced(path);
    EXPECT_TRUE(equals_module01(accel::matmul(expanded_a, expanded_b), expanded_a, expanded_b))
        << accel::path_name(path) << ": stride-0 views";
    EXPECT_EQ(accel::matmul(tensor({{3}}), tensor({{-2}})).item(), -6.0f);
  }
}
// END HIDDEN TESTS

}  // namespace
