// Tests for module 01 (tensor): the public API of <tinytorch/core/tensor.hpp>.
// Linked with gtest_main, together with the quick tests in tensor_dev.cpp.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <sstream>
#include <string>
#include <vector>

#include <tinytorch/core/tensor.hpp>
#include <tinytorch/testing.hpp>

namespace {

using namespace tinytorch;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using tinytorch::testing::error_message;

using Values = std::vector<float>;

std::string printed(const Tensor& t) {
  std::ostringstream out;
  out << t;
  return out.str();
}

// C = A B by the definition, through at(): the reference for matmul.
Tensor reference_matmul(const Tensor& a, const Tensor& b) {
  const int64_t m = a.size(0), k = a.size(1), n = b.size(1);
  Tensor out = zeros({m, n});
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      double acc = 0;
      for (int64_t p = 0; p < k; ++p) acc += static_cast<double>(a.at({i, p})) * b.at({p, j});
      out.at({i, j}) = static_cast<float>(acc);
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// Shapes and strides

TEST(TensorShapes, ShapeStrIsABracketedCommaList) {
  EXPECT_EQ(shape_str({2, 3}), "[2, 3]");
  EXPECT_EQ(shape_str({64, 3, 32, 32}), "[64, 3, 32, 32]");
  EXPECT_EQ(shape_str({7}), "[7]");
  EXPECT_EQ(shape_str({}), "[]");
}

TEST(TensorShapes, NumelIsTheProductAndRejectsNegativeSizes) {
  EXPECT_EQ(shape_numel({2, 3, 4}), 24);
  EXPECT_EQ(shape_numel({}), 1);
  EXPECT_EQ(shape_numel({4, 0}), 0);
  EXPECT_THAT(error_message<ShapeError>([] { shape_numel({-1, 3}); }), HasSubstr("[-1, 3]"));
}

TEST(TensorShapes, ContiguousStridesAreRowMajor) {
  EXPECT_EQ(contiguous_strides({2, 3}), (Shape{3, 1}));
  EXPECT_EQ(contiguous_strides({2, 3, 4}), (Shape{12, 4, 1}));
  EXPECT_EQ(contiguous_strides({5}), (Shape{1}));
  EXPECT_EQ(contiguous_strides({}), (Shape{}));
}

// ---------------------------------------------------------------------------------------
// Construction

TEST(TensorCreate, FromDataIsContiguousRowMajor) {
  Tensor m({1, 2, 3, 4, 5, 6}, {2, 3});
  EXPECT_EQ(m.shape(), (Shape{2, 3}));
  EXPECT_EQ(m.strides(), (Shape{3, 1}));
  EXPECT_EQ(m.offset(), 0);
  EXPECT_EQ(m.dim(), 2);
  EXPECT_EQ(m.numel(), 6);
  EXPECT_EQ(m.size(0), 2);
  EXPECT_EQ(m.size(-1), 3);
  EXPECT_EQ(m.storage()->size(), 6);
  EXPECT_THAT(m.to_vector(), ElementsAre(1, 2, 3, 4, 5, 6));
}

TEST(TensorCreate, WrongNumberOfValuesNamesTheShape) {
  const std::string message = error_message<ShapeError>([] { Tensor({1, 2, 3}, {2, 2}); });
  EXPECT_THAT(message, HasSubstr("[2, 2]"));
  EXPECT_THAT(message, HasSubstr("3 values"));
}

TEST(TensorCreate, ListsAreRowMajor) {
  Tensor v = tensor({1.5f, -2, 3});
  EXPECT_EQ(v.shape(), (Shape{3}));
  EXPECT_THAT(v.to_vector(), ElementsAre(1.5f, -2, 3));
  Tensor m = tensor({{1, 2, 3}, {4, 5, 6}});
  EXPECT_EQ(m.shape(), (Shape{2, 3}));
  EXPECT_THAT(m.to_vector(), ElementsAre(1, 2, 3, 4, 5, 6));
  Tensor column = tensor({{1}, {2}});
  EXPECT_EQ(column.shape(), (Shape{2, 1}));
}

TEST(TensorCreate, RaggedRowsAreAShapeError) {
  EXPECT_THAT(error_message<ShapeError>([] { tensor({{1, 2}, {3}}); }), HasSubstr("row 1"));
}

TEST(TensorCreate, FullZerosOnesFillEveryElement) {
  EXPECT_THAT(full({2, 2}, 7).to_vector(), ElementsAre(7, 7, 7, 7));
  EXPECT_THAT(zeros({3}).to_vector(), ElementsAre(0, 0, 0));
  EXPECT_THAT(ones({1, 2}).to_vector(), ElementsAre(1, 1));
  EXPECT_EQ(zeros({2, 0, 3}).numel(), 0);
}

TEST(TensorCreate, LikeFunctionsCopyTheShapeNotTheData) {
  Tensor m = tensor({{1, 2, 3}, {4, 5, 6}});
  Tensor z = zeros_like(m);
  EXPECT_EQ(z.shape(), m.shape());
  EXPECT_NE(z.storage(), m.storage());
  EXPECT_THAT(z.to_vector(), ElementsAre(0, 0, 0, 0, 0, 0));
  EXPECT_THAT(ones_like(m.t()).shape(), ElementsAre(3, 2));
}

TEST(TensorCreate, ScalarTensorHasNoDimensions) {
  Tensor s = scalar_tensor(2.5f);
  EXPECT_EQ(s.dim(), 0);
  EXPECT_EQ(s.shape(), (Shape{}));
  EXPECT_EQ(s.numel(), 1);
  EXPECT_EQ(s.item(), 2.5f);
}

TEST(TensorCreate, ArangeExcludesTheEnd) {
  EXPECT_THAT(arange(5).to_vector(), ElementsAre(0, 1, 2, 3, 4));
  EXPECT_THAT(arange(2, 5).to_vector(), ElementsAre(2, 3, 4));
  EXPECT_THAT(arange(1, 2, 0.25f).to_vector(), ElementsAre(1, 1.25f, 1.5f, 1.75f));
  EXPECT_EQ(arange(0, 1, 0.3f).numel(), 4);  // 0, 0.3, 0.6, 0.9
  EXPECT_THAT(arange(3, 0, -1).to_vector(), ElementsAre(3, 2, 1));
  EXPECT_EQ(arange(2, 2).numel(), 0);
}

TEST(TensorCreate, ArangeRejectsZeroOrWrongWayStep) {
  EXPECT_THROW(arange(0, 5, 0), std::invalid_argument);
  EXPECT_THROW(arange(0, 5, -1), std::invalid_argument);
}

TEST(TensorCreate, CopiesShareTheTensorCloneDoesNot) {
  Tensor a = zeros({2, 2});
  Tensor b = a;
  b.at({0, 0}) = 5;
  EXPECT_EQ(a.at({0, 0}), 5.0f);
  Tensor c = a.clone();
  c.at({0, 0}) = 9;
  EXPECT_EQ(a.at({0, 0}), 5.0f);
  EXPECT_NE(c.storage(), a.storage());
}

TEST(TensorCreate, DefaultTensorIsUndefined) {
  Tensor t;
  EXPECT_FALSE(t.defined());
  EXPECT_THROW(t.shape(), std::logic_error);
  EXPECT_TRUE(zeros({1}).defined());
}

TEST(TensorCreate, ViewConstructorRejectsViewsOutsideTheStorage) {
  auto storage = std::make_shared<Storage>(std::vector<float>(6, 0.0f));
  EXPECT_NO_THROW(Tensor(storage, {3}, {2}, 1));  // positions 1, 3, 5
  EXPECT_THROW(Tensor(storage, {3}, {2}, 2), IndexError);
  EXPECT_THROW(Tensor(storage, {3}, {2, 1}, 0), ShapeError);
}

// ---------------------------------------------------------------------------------------
// Random numbers

// Buffers of at least 64 KiB go through the buffer cache.
constexpr int64_t kLarge = 1 << 16;

// Sets the cache's limit for one test and puts the old one back.
class CacheLimit {
 public:
  explicit CacheLimit(std::size_t bytes) : old_(memory::buffer_cache_stats().limit_bytes) {
    memory::set_buffer_cache_limit(bytes);
  }
  ~CacheLimit() { memory::set_buffer_cache_limit(old_); }
  CacheLimit(const CacheLimit&) = delete;
  CacheLimit& operator=(const CacheLimit&) = delete;

 private:
  std::size_t old_;
};

TEST(TensorBufferCache, AFreedTensorsBufferGoesToTheNextTensorOfItsSize) {
  const float* first = nullptr;
  {
    Tensor t = full({kLarge}, 7);
    first = t.data();
  }
  const memory::BufferCacheStats before = memory::buffer_cache_stats();
  EXPECT_GE(before.cached_bytes, kLarge * sizeof(float));
  Tensor again = zeros({kLarge});
  EXPECT_EQ(again.data(), first) << "the buffer freed last is handed out first";
  const memory::BufferCacheStats after = memory::buffer_cache_stats();
  EXPECT_EQ(after.hits, before.hits + 1);
  EXPECT_EQ(after.misses, before.misses);
  EXPECT_EQ(after.cached_bytes, before.cached_bytes - kLarge * sizeof(float));
  EXPECT_EQ(again.sum().item(), 0.0f) << "zeros() wrote over the sevens";
}

TEST(TensorBufferCache, EmptyTakesABufferAsItIsAndTheOpsStillWriteEveryElement) {
  const float* first = nullptr;
  {
    Tensor t = full({kLarge}, 7);
    first = t.data();
  }
  const std::size_t hits = memory::buffer_cache_stats().hits;
  {
    Tensor e = empty({2, kLarge / 2});
    EXPECT_EQ(e.shape(), (Shape{2, kLarge / 2}));
    EXPECT_EQ(e.data(), first) << "empty() takes the freed buffer";
    EXPECT_EQ(memory::buffer_cache_stats().hits, hits + 1);
    EXPECT_EQ(e.data()[kLarge - 1], 7.0f) << "and leaves its values alone: that is the pass over memory it saves";
  }
  // map and elementwise make their outputs with empty(): over a buffer of 7s they must still
  // write every element.
  const Tensor twos = full({kLarge}, 2);
  { Tensor sevens = full({kLarge}, 7); }
  const Tensor negated = map(twos, [](float v) { return -v; });
  for (int64_t i = 0; i < kLarge; ++i) ASSERT_EQ(negated.data()[i], -2.0f) << "map, element " << i;
  { Tensor sevens = full({kLarge}, 7); }
  const Tensor sums = twos + tensor({1.0f});
  for (int64_t i = 0; i < kLarge; ++i) ASSERT_EQ(sums.data()[i], 3.0f) << "broadcast add, element " << i;
}

// The slot for threads: with no runner, one call on this thread; with one, its pieces. A test
// runner that cuts [0, count) into pieces of `grain` and runs them last to first shows that
// map writes each element from its own piece.
namespace {
std::vector<std::pair<int64_t, int64_t>> pieces_seen;
void backwards_runner(int64_t count, int64_t grain, void (*body)(void*, int64_t, int64_t), void* context) {
  std::vector<std::pair<int64_t, int64_t>> pieces;
  for (int64_t begin = 0; begin < count; begin += grain) pieces.emplace_back(begin, std::min(count, begin + grain));
  for (auto piece = pieces.rbegin(); piece != pieces.rend(); ++piece) {
    pieces_seen.push_back(*piece);
    body(context, piece->first, piece->second);
  }
}
}  // namespace

TEST(TensorParallelFor, OneCallWithoutARunnerAndTheRunnersPiecesWithOne) {
  ASSERT_EQ(native::parallel_runner(), nullptr) << "nothing installs a runner before module 11";
  std::vector<std::pair<int64_t, int64_t>> calls;
  native::parallel_for(1000, 10, [&](int64_t begin, int64_t end) { calls.emplace_back(begin, end); });
  EXPECT_EQ(calls, (std::vector<std::pair<int64_t, int64_t>>{{0, 1000}}));
  native::parallel_for(0, 10, [&](int64_t, int64_t) { ADD_FAILURE() << "an empty range runs nothing"; });

  native::set_parallel_runner(&backwards_runner);
  pieces_seen.clear();
  calls.clear();
  native::parallel_for(25, 10, [&](int64_t begin, int64_t end) { calls.emplace_back(begin, end); });
  EXPECT_EQ(calls, (std::vector<std::pair<int64_t, int64_t>>{{20, 25}, {10, 20}, {0, 10}}));
  calls.clear();
  native::parallel_for(8, 10, [&](int64_t begin, int64_t end) { calls.emplace_back(begin, end); });
  EXPECT_EQ(calls, (std::vector<std::pair<int64_t, int64_t>>{{0, 8}})) << "count <= grain: no runner";

  pieces_seen.clear();
  const Tensor x = arange(200000);
  const Tensor y = map(x, [](float v) { return 2 * v + 1; });
  native::set_parallel_runner(nullptr);
  EXPECT_GT(pieces_seen.size(), 1u) << "map of 200,000 elements goes through parallel_for";
  const std::vector<float> values = y.to_vector();
  for (int64_t i = 0; i < 200000; ++i) ASSERT_EQ(values[static_cast<std::size_t>(i)], 2.0f * i + 1) << i;
}

TEST(TensorBufferCache, CloneAndRandnTakeTheirBuffersFromTheCache) {
  Tensor source = randn({3, kLarge}, 1);
  { Tensor warm = source.clone(); }
  const std::size_t hits = memory::buffer_cache_stats().hits;
  Tensor copy = source.clone();
  EXPECT_EQ(memory::buffer_cache_stats().hits, hits + 1);
  EXPECT_TRUE(allclose(copy, source, 0, 0));
  { Tensor warm = randn({kLarge + 1}, 2); }
  const std::size_t hits_before_randn = memory::buffer_cache_stats().hits;
  Tensor again = randn({kLarge + 1}, 2);
  EXPECT_EQ(memory::buffer_cache_stats().hits, hits_before_randn + 1);
  EXPECT_TRUE(allclose(again, randn({kLarge + 1}, 2), 0, 0)) << "the seed's numbers, not the old buffer's";
}

TEST(TensorBufferCache, SmallBuffersAreLeftToMalloc) {
  const memory::BufferCacheStats before = memory::buffer_cache_stats();
  for (int i = 0; i < 3; ++i) (void)zeros({1000});
  const memory::BufferCacheStats after = memory::buffer_cache_stats();
  EXPECT_EQ(after.hits, before.hits);
  EXPECT_EQ(after.misses, before.misses);
  EXPECT_EQ(after.cached_bytes, before.cached_bytes);
}

TEST(TensorBufferCache, ASizeNobodyAskedForIsNotKept) {
  const std::size_t unusual = kLarge + 12345;  // no new_buffer of this size anywhere in these tests
  const std::size_t cached = memory::buffer_cache_stats().cached_bytes;
  { Tensor t(std::vector<float>(unusual, 1.0f), {static_cast<int64_t>(unusual)}); }
  EXPECT_EQ(memory::buffer_cache_stats().cached_bytes, cached);
}

TEST(TensorBufferCache, TheLimitBoundsWhatIsHeldAndZeroTurnsItOff) {
  {
    memory::empty_buffer_cache();
    const CacheLimit limit(3 * kLarge * sizeof(float));
    {
      std::vector<Tensor> five;
      for (int i = 0; i < 5; ++i) five.push_back(zeros({kLarge}));
    }
    EXPECT_EQ(memory::buffer_cache_stats().cached_bytes, 3 * kLarge * sizeof(float)) << "three of the five fit";
    EXPECT_EQ(memory::buffer_cache_stats().limit_bytes, 3 * kLarge * sizeof(float));
  }
  const CacheLimit off(0);
  EXPECT_EQ(memory::buffer_cache_stats().cached_bytes, 0u) << "lowering the limit frees what is over it";
  { Tensor t = zeros({kLarge}); }
  EXPECT_EQ(memory::buffer_cache_stats().cached_bytes, 0u);
}

TEST(TensorBufferCache, EmptyingFreesEveryBufferAndKeepsLiveTensors) {
  Tensor live = full({kLarge}, 3);
  { Tensor dead = zeros({kLarge}); }
  EXPECT_GT(memory::buffer_cache_stats().cached_bytes, 0u);
  memory::empty_buffer_cache();
  EXPECT_EQ(memory::buffer_cache_stats().cached_bytes, 0u);
  EXPECT_EQ(live.sum().item(), 3.0f * kLarge);
  EXPECT_GT(memory::buffer_cache_stats().limit_bytes, 0u) << "emptying is not turning it off";
}

TEST(TensorRandom, SameSeedGivesTheSameValues) {
  EXPECT_EQ(randn({3, 4}, 123).to_vector(), randn({3, 4}, 123).to_vector());
  EXPECT_EQ(rand({3, 4}, 123).to_vector(), rand({3, 4}, 123).to_vector());
}

TEST(TensorRandom, DifferentSeedsGiveDifferentValues) {
  EXPECT_NE(randn({16}, 1).to_vector(), randn({16}, 2).to_vector());
}

TEST(TensorRandom, SeedGivesTheseExactNumbersOnEveryPlatform) {
  // SplitMix64 + Box-Muller, as specified in the module: these are the numbers of seed 42.
  const Values got = randn({4}, 42).to_vector();
  const Values want = {0.882248998f, -0.450849593f, 0.18835251f, 0.219586149f};
  ASSERT_EQ(got.size(), want.size());
  for (std::size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(got[i], want[i], 1e-6f) << "element " << i;
}

TEST(TensorRandom, RandnHasMeanZeroAndStdOne) {
  const Values v = randn({10000}, 2024).to_vector();
  double sum = 0, square = 0;
  for (float x : v) {
    sum += x;
    square += static_cast<double>(x) * x;
  }
  const double mean = sum / static_cast<double>(v.size());
  const double stddev = std::sqrt(square / static_cast<double>(v.size()) - mean * mean);
  EXPECT_NEAR(mean, 0.0, 0.05);
  EXPECT_NEAR(stddev, 1.0, 0.05);
}

TEST(TensorRandom, RandIsUniformInTheUnitInterval) {
  const Values v = rand({10000}, 5).to_vector();
  double sum = 0;
  for (float x : v) {
    ASSERT_GE(x, 0.0f);
    ASSERT_LT(x, 1.0f);
    sum += x;
  }
  EXPECT_NEAR(sum / static_cast<double>(v.size()), 0.5, 0.02);
}

TEST(TensorRandom, OneGeneratorContinuesItsStreamAcrossTensors) {
  Generator generator(7);
  Values joined = randn({3}, generator).to_vector();
  const Values rest = randn({2}, generator).to_vector();
  joined.insert(joined.end(), rest.begin(), rest.end());
  EXPECT_EQ(joined, randn({5}, 7).to_vector());
}

// ---------------------------------------------------------------------------------------
// Element access

TEST(TensorAccess, AtReadsAndWritesThroughStrides) {
  Tensor m = tensor({{1, 2, 3}, {4, 5, 6}});
  EXPECT_EQ(m.at({0, 0}), 1.0f);
  EXPECT_EQ(m.at({1, 2}), 6.0f);
  m.at({1, 1}) = 50;
  EXPECT_EQ(m.storage()->data()[4], 50.0f);
  EXPECT_EQ(m.at({-1, -1}), 6.0f);  // negative indices count from the end
  EXPECT_EQ(m.at({-2, 0}), 1.0f);
}

TEST(TensorAccess, OutOfBoundsNamesIndexDimensionAndSize) {
  Tensor m = zeros({2, 3});
  const std::string message = error_message<IndexError>([&] { m.at({0, 3}); });
  EXPECT_THAT(message, HasSubstr("index 3"));
  EXPECT_THAT(message, HasSubstr("dimension 1"));
  EXPECT_THAT(message, HasSubstr("size 3"));
  EXPECT_THROW(m.at({-3, 0}), IndexError);
}

TEST(TensorAccess, WrongNumberOfIndicesIsAnIndexError) {
  Tensor m = zeros({2, 3});
  EXPECT_THAT(error_message<IndexError>([&] { m.at({1}); }), HasSubstr("[2, 3]"));
}

TEST(TensorAccess, ItemNeedsExactlyOneElement) {
  EXPECT_EQ(tensor({5}).item(), 5.0f);
  EXPECT_EQ(full({1, 1}, 3).item(), 3.0f);
  EXPECT_THAT(error_message<ShapeError>([] { tensor({1, 2}).item(); }), HasSubstr("2 elements"));
}

// ---------------------------------------------------------------------------------------
// Views and copies

TEST(TensorViews, TransposeSwapsShapeAndStrides) {
  Tensor mt = tensor({{1, 2, 3}, {4, 5, 6}}).transpose(0, 1);
  EXPECT_EQ(mt.shape(), (Shape{3, 2}));
  EXPECT_EQ(mt.strides(), (Shape{1, 3}));
  EXPECT_FALSE(mt.is_contiguous());
  EXPECT_EQ(mt.at({2, 0}), 3.0f);
  EXPECT_THAT(mt.to_vector(), ElementsAre(1, 4, 2, 5, 3, 6));
}

TEST(TensorViews, TransposeSharesStorageWithTheOriginal) {
  Tensor m = tensor({{1, 2, 3}, {4, 5, 6}});
  Tensor mt = m.t();
  EXPECT_EQ(mt.storage(), m.storage());
  mt.at({2, 0}) = 30;
  EXPECT_EQ(m.at({0, 2}), 30.0f);
}

TEST(TensorViews, TransposeAcceptsNegativeDimensions) {
  Tensor x = zeros({2, 3, 4});
  Tensor y = x.transpose(-1, -3);
  EXPECT_EQ(y.shape(), (Shape{4, 3, 2}));
  EXPECT_EQ(y.strides(), (Shape{1, 4, 12}));
  EXPECT_THROW(x.transpose(0, 3), IndexError);
}

TEST(TensorViews, TOfAVectorIsItselfAndOfThreeDimsIsAnError) {
  Tensor v = tensor({1, 2, 3});
  EXPECT_EQ(v.t().shape(), (Shape{3}));
  EXPECT_THROW(zeros({2, 2, 2}).t(), ShapeError);
}

TEST(TensorViews, ContiguousOfAContiguousTensorCopiesNothing) {
  Tensor m = tensor({{1, 2}, {3, 4}});
  EXPECT_TRUE(m.is_contiguous());
  EXPECT_EQ(m.contiguous().storage(), m.storage());
}

TEST(TensorViews, ContiguousCopiesAViewIntoRowMajorOrder) {
  Tensor m = tensor({{1, 2, 3}, {4, 5, 6}});
  Tensor c = m.t().contiguous();
  EXPECT_NE(c.storage(), m.storage());
  EXPECT_TRUE(c.is_contiguous());
  EXPECT_EQ(c.strides(), (Shape{2, 1}));
  EXPECT_THAT(Values(c.data(), c.data() + 6), ElementsAre(1, 4, 2, 5, 3, 6));
}

TEST(TensorViews, SizeOneDimensionsDoNotBreakContiguity) {
  Tensor row = tensor({1, 2, 3}).reshape({3, 1}).t();  // shape [1, 3], strides [1, 1]
  EXPECT_EQ(row.shape(), (Shape{1, 3}));
  EXPECT_TRUE(row.is_contiguous());
}

TEST(TensorViews, ReshapeOfAContiguousTensorIsAView) {
  Tensor r = arange(6);
  Tensor m = r.reshape({2, 3});
  EXPECT_EQ(m.storage(), r.storage());
  EXPECT_EQ(m.strides(), (Shape{3, 1}));
  m.at({1, 0}) = 100;
  EXPECT_EQ(r.at({3}), 100.0f);
}

TEST(TensorViews, ReshapeInfersOneMinusOneAndFlattens) {
  EXPECT_EQ(arange(12).reshape({-1, 4}).shape(), (Shape{3, 4}));
  EXPECT_EQ(arange(12).reshape({2, -1, 3}).shape(), (Shape{2, 2, 3}));
  EXPECT_EQ(arange(12).reshape({3, 4}).reshape({-1}).shape(), (Shape{12}));
  EXPECT_EQ(scalar_tensor(1).reshape({1, 1}).shape(), (Shape{1, 1}));
  EXPECT_EQ(zeros({2, 3, 4}).flatten().shape(), (Shape{24}));
  EXPECT_EQ(scalar_tensor(3).flatten().shape(), (Shape{1}));
}

TEST(TensorViews, ReshapeOfANonContiguousTensorCopies) {
  Tensor m = tensor({{1, 2, 3}, {4, 5, 6}});
  Tensor flat = m.t().reshape({6});
  EXPECT_NE(flat.storage(), m.storage());
  EXPECT_THAT(flat.to_vector(), ElementsAre(1, 4, 2, 5, 3, 6));
}

TEST(TensorViews, ImpossibleReshapeNamesBothShapes) {
  const std::string message = error_message<ShapeError>([] { zeros({2, 3}).reshape({4, 2}); });
  EXPECT_THAT(message, HasSubstr("[2, 3]"));
  EXPECT_THAT(message, HasSubstr("[4, 2]"));
  EXPECT_THAT(error_message<ShapeError>([] { zeros({2, 3}).reshape({4, -1}); }), HasSubstr("[4, -1]"));
  EXPECT_THAT(error_message<ShapeError>([] { zeros({2, 3}).reshape({-1, -1}); }), HasSubstr("only one"));
}

TEST(TensorViews, ViewOfANonContiguousTensorIsAShapeError) {
  const std::string message = error_message<ShapeError>([] { zeros({2, 3}).t().view({6}); });
  EXPECT_THAT(message, HasSubstr("not contiguous"));
  EXPECT_THAT(message, HasSubstr("reshape"));
}

TEST(TensorViews, ViewOfAViewKeepsTheOffset) {
  auto storage = std::make_shared<Storage>(std::vector<float>{0, 1, 2, 3, 4, 5, 6});
  Tensor tail(storage, {6}, {1}, 1);  // [1, 2, 3, 4, 5, 6]
  Tensor m = tail.view({2, 3});
  EXPECT_EQ(m.offset(), 1);
  EXPECT_EQ(m.at({1, 0}), 4.0f);
  EXPECT_EQ(m.data()[0], 1.0f);
}

TEST(TensorViews, ExpandStretchesWithStrideZeroAndSharesStorage) {
  Tensor row = tensor({1, 2, 3});
  Tensor e = row.expand({2, 3});
  EXPECT_EQ(e.shape(), (Shape{2, 3}));
  EXPECT_EQ(e.strides(), (Shape{0, 1}));
  EXPECT_EQ(e.storage(), row.storage());
  EXPECT_FALSE(e.is_contiguous());
  EXPECT_THAT(e.to_vector(), ElementsAre(1, 2, 3, 1, 2, 3));
  EXPECT_THAT(error_message<ShapeError>([&] { tensor({1, 2}).expand({2, 3}); }), HasSubstr("[2] to [2, 3]"));
}

// ---------------------------------------------------------------------------------------
// Broadcasting

TEST(TensorBroadcast, SameShapesCombineElementByElement) {
  Tensor a = tensor({{1, 2}, {3, 4}});
  Tensor b = tensor({{10, 20}, {30, 40}});
  EXPECT_THAT((a + b).to_vector(), ElementsAre(11, 22, 33, 44));
  EXPECT_THAT((b - a).to_vector(), ElementsAre(9, 18, 27, 36));
  EXPECT_THAT((a * b).to_vector(), ElementsAre(10, 40, 90, 160));
  EXPECT_THAT((b / a).to_vector(), ElementsAre(10, 10, 10, 10));
}

TEST(TensorBroadcast, SizeOneDimStretches) {
  Tensor m = tensor({{1, 2, 3}, {4, 5, 6}});
  Tensor column = tensor({{10}, {20}});
  Tensor sum = m + column;
  EXPECT_EQ(sum.shape(), (Shape{2, 3}));
  EXPECT_THAT(sum.to_vector(), ElementsAre(11, 12, 13, 24, 25, 26));
}

TEST(TensorBroadcast, MissingLeadingDimsActAsOne) {
  Tensor m = tensor({{1, 2, 3}, {4, 5, 6}});
  EXPECT_THAT((m * tensor({1, 10, 100})).to_vector(), ElementsAre(1, 20, 300, 4, 50, 600));
  EXPECT_THAT((tensor({1, 10, 100}) * m).to_vector(), ElementsAre(1, 20, 300, 4, 50, 600));
  EXPECT_EQ((zeros({4, 1, 3}) + zeros({2, 1})).shape(), (Shape{4, 2, 3}));
}

TEST(TensorBroadcast, BothOperandsStretch) {
  Tensor column = arange(3).reshape({3, 1});
  Tensor row = arange(4).reshape({1, 4}) * 10;
  Tensor table = column + row;
  EXPECT_EQ(table.shape(), (Shape{3, 4}));
  EXPECT_THAT(table.to_vector(), ElementsAre(0, 10, 20, 30, 1, 11, 21, 31, 2, 12, 22, 32));
}

TEST(TensorBroadcast, ScalarTensorBroadcastsToAnything) {
  EXPECT_THAT((tensor({{1, 2}, {3, 4}}) - scalar_tensor(1)).to_vector(), ElementsAre(0, 1, 2, 3));
}

TEST(TensorBroadcast, BroadcastShapesFollowsNumpyRules) {
  EXPECT_EQ(broadcast_shapes({2, 3}, {3}), (Shape{2, 3}));
  EXPECT_EQ(broadcast_shapes({5, 1, 4}, {3, 1}), (Shape{5, 3, 4}));
  EXPECT_EQ(broadcast_shapes({}, {2, 2}), (Shape{2, 2}));
  EXPECT_EQ(broadcast_shapes({1}, {0}), (Shape{0}));
}

TEST(TensorBroadcast, IncompatibleShapesNameBothShapes) {
  const std::string message = error_message<ShapeError>([] { zeros({2, 3}) + zeros({4}); });
  EXPECT_THAT(message, HasSubstr("cannot broadcast shapes [2, 3] and [4]"));
  EXPECT_THAT(error_message<ShapeError>([] { zeros({3, 2}) * zeros({2, 3}); }), HasSubstr("[3, 2] and [2, 3]"));
  EXPECT_THROW(zeros({2}) + zeros({3}), std::invalid_argument);  // ShapeError is one
}

TEST(TensorBroadcast, NonContiguousOperandsWork) {
  Tensor m = tensor({{1, 2, 3}, {4, 5, 6}});
  Tensor sum = m.t() + tensor({100, 200});  // [3, 2] + [2]
  EXPECT_THAT(sum.to_vector(), ElementsAre(101, 204, 102, 205, 103, 206));
}

// a - b element by element through at() on the expanded views: the definition, whatever the
// layouts (a minus, so that swapped inputs show).
Tensor reference_broadcast(const Tensor& a, const Tensor& b) {
  const Shape shape = broadcast_shapes(a.shape(), b.shape());
  const Tensor x = a.expand(shape), y = b.expand(shape);
  Values values;
  for (int64_t i = 0; i < shape_numel(shape); ++i) {
    std::vector<int64_t> index(shape.size());
    for (int64_t d = static_cast<int64_t>(shape.size()) - 1, rest = i; d >= 0; --d) {
      index[static_cast<std::size_t>(d)] = rest % shape[static_cast<std::size_t>(d)];
      rest /= shape[static_cast<std::size_t>(d)];
    }
    values.push_back(x.at(index) - y.at(index));
  }
  return Tensor(values, shape);
}

TEST(TensorBroadcast, EveryLayoutOfTwoViewsMatchesTheDefinition) {
  const Tensor grid = arange(60);  // one buffer, seen through views with offsets and strides
  struct Case {
    const char* what;
    Tensor a, b;
  };
  const std::vector<Case> cases = {
      {"[2, 3] - [2, 1]: merges in a, not in the stretched column", arange(6).reshape({2, 3}), tensor({{1}, {2}})},
      {"[2, 1] - [2, 3]: the same, the other way round", tensor({{1}, {2}}), arange(6).reshape({2, 3})},
      {"[3, 1, 4] - [2, 1]: both stretch, in different dimensions", arange(12).reshape({3, 1, 4}), tensor({{1}, {2}})},
      {"a view with an offset and strides [5, 2] - [3]", Tensor(grid.storage(), {2, 3}, {5, 2}, 3), tensor({1, 2, 3})},
      {"a transpose - a row with an offset", arange(12).reshape({3, 4}).t(), Tensor(grid.storage(), {3}, {1}, 7)},
      {"a permuted [N, C, H, W] - a bias [1, C, 1, 1]", arange(60).reshape({3, 2, 2, 5}).permute({1, 0, 2, 3}),
       tensor({1, 2, 3}).view({1, 3, 1, 1})},
      {"0-D - 0-D", scalar_tensor(5), scalar_tensor(2)},
      {"[4] - 0-D", arange(4), scalar_tensor(2)},
  };
  for (const Case& c : cases) {
    const Tensor expected = reference_broadcast(c.a, c.b);
    const Tensor got = c.a - c.b;
    ASSERT_EQ(got.shape(), expected.shape()) << c.what;
    EXPECT_EQ(got.to_vector(), expected.to_vector()) << c.what;
  }
  EXPECT_EQ((zeros({0, 3}) + tensor({1, 2, 3})).shape(), (Shape{0, 3})) << "an empty result has nothing to walk";
}

// Counts the tensor buffers made while it lives, through module 01's allocation hook.
class AllocationCount {
 public:
  AllocationCount() {
    count_ = 0;
    bytes_ = 0;
    memory::set_allocation_observer(&observer_);
  }
  ~AllocationCount() { memory::set_allocation_observer(nullptr); }
  AllocationCount(const AllocationCount&) = delete;
  AllocationCount& operator=(const AllocationCount&) = delete;
  int count() const { return count_; }
  std::size_t bytes() const { return bytes_; }

 private:
  static void allocated(std::size_t bytes) noexcept {
    ++count_;
    bytes_ += bytes;
  }
  static void freed(std::size_t) noexcept {}
  static inline int count_ = 0;
  static inline std::size_t bytes_ = 0;
  static constexpr memory::AllocationObserver observer_{&allocated, &freed};
};

TEST(TensorBroadcast, AStretchedInputIsNotCopied) {
  const Tensor batch = randn({64, 256}, 1), bias = randn({256}, 2);
  const Tensor images = randn({8, 4, 6, 6}, 3), channels = randn({4}, 4).view({1, 4, 1, 1});
  const Tensor permuted = randn({4, 8, 6, 6}, 5).permute({1, 0, 2, 3});
  {
    AllocationCount counted;
    const Tensor sum = batch + bias;
    EXPECT_EQ(counted.count(), 1) << "[64, 256] + [256] must allocate its output only: expand(...).contiguous() "
                                     "copies the stretched bias into a [64, 256] temporary";
    EXPECT_EQ(counted.bytes(), 64u * 256u * sizeof(float));
  }
  {
    AllocationCount counted;
    const Tensor sum = images * channels;
    EXPECT_EQ(counted.count(), 1) << "a [1, C, 1, 1] factor is read through its stride-0 view, not copied";
  }
  {
    AllocationCount counted;
    const Tensor sum = permuted + channels;
    EXPECT_EQ(counted.count(), 1) << "a permuted input is read in place, not made contiguous first";
  }
}

// ---------------------------------------------------------------------------------------
// Scalars and in-place updates

TEST(TensorScalar, TensorOpNumber) {
  Tensor v = tensor({1, 2, 4});
  EXPECT_THAT((v + 1).to_vector(), ElementsAre(2, 3, 5));
  EXPECT_THAT((v - 1).to_vector(), ElementsAre(0, 1, 3));
  EXPECT_THAT((v * 2).to_vector(), ElementsAre(2, 4, 8));
  EXPECT_THAT((v / 2).to_vector(), ElementsAre(0.5f, 1, 2));
  EXPECT_NE((v + 1).storage(), v.storage());  // a new tensor; v is unchanged
  EXPECT_THAT(v.to_vector(), ElementsAre(1, 2, 4));
}

TEST(TensorScalar, NumberOpTensorKeepsTheOrder) {
  Tensor v = tensor({1, 2, 4});
  EXPECT_THAT((1 + v).to_vector(), ElementsAre(2, 3, 5));
  EXPECT_THAT((10 - v).to_vector(), ElementsAre(9, 8, 6));
  EXPECT_THAT((3 * v).to_vector(), ElementsAre(3, 6, 12));
  EXPECT_THAT((8 / v).to_vector(), ElementsAre(8, 4, 2));
}

TEST(TensorScalar, NegationAndNamedMethodsMatchOperators) {
  Tensor v = tensor({1, -2});
  EXPECT_THAT((-v).to_vector(), ElementsAre(-1, 2));
  EXPECT_EQ(v.neg().to_vector(), (-v).to_vector());
  EXPECT_EQ(v.add(tensor({3, 4})).to_vector(), (v + tensor({3, 4})).to_vector());
  EXPECT_EQ(v.mul(3).to_vector(), (v * 3).to_vector());
}

TEST(TensorInPlace, CompoundAssignmentChangesEveryHandle) {
  Tensor a = tensor({1, 2, 3});
  Tensor b = a;
  a += 1;
  a *= tensor({2, 2, 2});
  EXPECT_THAT(b.to_vector(), ElementsAre(4, 6, 8));
}

TEST(TensorInPlace, WritesGoThroughViews) {
  Tensor m = zeros({2, 3});
  Tensor column = m.t();
  column += tensor({1, 2});  // [3, 2] += [2]: row i of m gets i + 1
  EXPECT_THAT(m.to_vector(), ElementsAre(1, 1, 1, 2, 2, 2));
  m.t().fill_(7);
  EXPECT_THAT(m.to_vector(), ElementsAre(7, 7, 7, 7, 7, 7));
}

TEST(TensorInPlace, CopyBroadcastsTheSource) {
  Tensor m = zeros({2, 3});
  m.copy_(tensor({1, 2, 3}));
  EXPECT_THAT(m.to_vector(), ElementsAre(1, 2, 3, 1, 2, 3));
  EXPECT_THROW(m.copy_(zeros({4})), ShapeError);
}

// ---------------------------------------------------------------------------------------
// Reductions

TEST(TensorReduce, AllElementsGiveAZeroDimTensor) {
  Tensor x = tensor({{1, 2, 3}, {4, 5, 6}});
  EXPECT_EQ(x.sum().dim(), 0);
  EXPECT_EQ(x.sum().item(), 21.0f);
  EXPECT_EQ(x.mean().item(), 3.5f);
  EXPECT_EQ(x.max().item(), 6.0f);
  EXPECT_EQ(tensor({-3, -1, -2}).max().item(), -1.0f);
}

TEST(TensorReduce, AlongEachAxis) {
  Tensor x = tensor({{1, 2, 3}, {4, 5, 6}});
  EXPECT_EQ(x.sum(0).shape(), (Shape{3}));
  EXPECT_THAT(x.sum(0).to_vector(), ElementsAre(5, 7, 9));
  EXPECT_THAT(x.sum(1).to_vector(), ElementsAre(6, 15));
  EXPECT_THAT(x.mean(0).to_vector(), ElementsAre(2.5f, 3.5f, 4.5f));
  EXPECT_THAT(x.max(1).to_vector(), ElementsAre(3, 6));
}

TEST(TensorReduce, NegativeAxisCountsFromTheEnd) {
  Tensor x = arange(24).reshape({2, 3, 4});
  EXPECT_EQ(x.sum(-1).to_vector(), x.sum(2).to_vector());
  EXPECT_EQ(x.max(-3).to_vector(), x.max(0).to_vector());
}

TEST(TensorReduce, KeepdimLeavesASizeOneDimension) {
  Tensor x = arange(24).reshape({2, 3, 4});
  EXPECT_EQ(x.sum(1).shape(), (Shape{2, 4}));
  EXPECT_EQ(x.sum(1, true).shape(), (Shape{2, 1, 4}));
  EXPECT_EQ(x.mean(-1, true).shape(), (Shape{2, 3, 1}));
  EXPECT_EQ(x.max(0, true).shape(), (Shape{1, 3, 4}));
  Tensor centred = x - x.mean(-1, true);  // keepdim lets the result broadcast back
  EXPECT_NEAR(centred.sum().item(), 0.0f, 1e-4f);
}

TEST(TensorReduce, MiddleAxisOfThreeDims) {
  Tensor x = arange(24).reshape({2, 3, 4});
  // element [o, k, i] = 12 o + 4 k + i; summing k: 36 o + 12 + 3 i
  EXPECT_THAT(x.sum(1).to_vector(), ElementsAre(12, 15, 18, 21, 48, 51, 54, 57));
  EXPECT_THAT(x.max(1).to_vector(), ElementsAre(8, 9, 10, 11, 20, 21, 22, 23));
}

TEST(TensorReduce, AxisOutOfRangeIsAnIndexError) {
  EXPECT_THAT(error_message<IndexError>([] { zeros({2, 3}).sum(2); }), HasSubstr("dimension 2"));
  EXPECT_THROW(zeros({2, 3}).max(-3), IndexError);
}

TEST(TensorReduce, NonContiguousInput) {
  Tensor x = tensor({{1, 2, 3}, {4, 5, 6}}).t();  // [[1, 4], [2, 5], [3, 6]]
  EXPECT_THAT(x.sum(0).to_vector(), ElementsAre(6, 15));
  EXPECT_THAT(x.max(1).to_vector(), ElementsAre(4, 5, 6));
}

TEST(TensorReduce, MaxOfAnEmptyTensorIsAShapeError) {
  EXPECT_THROW(zeros({0}).max(), ShapeError);
  EXPECT_THROW(zeros({2, 0}).max(1), ShapeError);
  EXPECT_EQ(zeros({2, 0}).sum().item(), 0.0f);
}

// ---------------------------------------------------------------------------------------
// Matrix multiplication

TEST(TensorMatmul, TwoByTwoValues) {
  Tensor c = tensor({{1, 2}, {3, 4}}).matmul(tensor({{5, 6}, {7, 8}}));
  EXPECT_EQ(c.shape(), (Shape{2, 2}));
  EXPECT_THAT(c.to_vector(), ElementsAre(19, 22, 43, 50));
}

TEST(TensorMatmul, RectangularShapesMatchTheDefinition) {
  Tensor a = randn({5, 7}, 1);
  Tensor b = randn({7, 3}, 2);
  Tensor c = matmul(a, b);
  EXPECT_EQ(c.shape(), (Shape{5, 3}));
  EXPECT_TRUE(allclose(c, reference_matmul(a, b), 1e-5f, 1e-5f));
}

TEST(TensorMatmul, InnerSizeMismatchNamesBothShapes) {
  const std::string message = error_message<ShapeError>([] { matmul(zeros({2, 3}), zeros({4, 5})); });
  EXPECT_THAT(message, HasSubstr("[2, 3]"));
  EXPECT_THAT(message, HasSubstr("[4, 5]"));
}

TEST(TensorMatmul, VectorOperands) {
  Tensor m = tensor({{1, 2, 3}, {4, 5, 6}});
  Tensor mv = m.matmul(tensor({1, 0, 1}));  // [2, 3] x [3] -> [2]
  EXPECT_EQ(mv.shape(), (Shape{2}));
  EXPECT_THAT(mv.to_vector(), ElementsAre(4, 10));
  Tensor vm = tensor({1, 1}).matmul(m);  // [2] x [2, 3] -> [3]
  EXPECT_EQ(vm.shape(), (Shape{3}));
  EXPECT_THAT(vm.to_vector(), ElementsAre(5, 7, 9));
  Tensor dot = tensor({1, 2, 3}).matmul(tensor({4, 5, 6}));  // [3] x [3] -> []
  EXPECT_EQ(dot.dim(), 0);
  EXPECT_EQ(dot.item(), 32.0f);
}

TEST(TensorMatmul, TransposedOperandsAreHandled) {
  Tensor a = randn({4, 6}, 3);
  Tensor b = randn({5, 6}, 4);
  EXPECT_TRUE(allclose(a.matmul(b.t()), reference_matmul(a, b.t().contiguous()), 1e-5f, 1e-5f));
  EXPECT_TRUE(allclose(a.t().matmul(a), reference_matmul(a.t().contiguous(), a), 1e-5f, 1e-5f));
}

TEST(TensorMatmul, MoreThanTwoDimensionsIsAShapeError) {
  EXPECT_THAT(error_message<ShapeError>([] { matmul(zeros({2, 2, 2}), zeros({2, 2})); }), HasSubstr("[2, 2, 2]"));
}

// ---------------------------------------------------------------------------------------
// Printing

TEST(TensorPrint, WholeNumbersGetATrailingDot) { EXPECT_EQ(printed(tensor({1, 2, 3})), "tensor([1., 2., 3.])"); }

TEST(TensorPrint, MatrixRowsAlignUnderEachOther) {
  EXPECT_EQ(printed(tensor({{1, 2}, {3, 4}})), "tensor([[1., 2.],\n        [3., 4.]])");
}

TEST(TensorPrint, FractionsGetFourDecimals) {
  EXPECT_EQ(printed(tensor({0.5f, 1.25f, -2})), "tensor([ 0.5000,  1.2500, -2.0000])");
}

TEST(TensorPrint, NumbersAreRightAligned) {
  EXPECT_EQ(printed(tensor({{1, -20}, {300, 4}})), "tensor([[  1., -20.],\n        [300.,   4.]])");
}

TEST(TensorPrint, ScalarsAndEmptyTensors) {
  EXPECT_EQ(printed(scalar_tensor(3)), "tensor(3.)");
  EXPECT_EQ(printed(zeros({0})), "tensor([])");
  EXPECT_EQ(printed(zeros({2, 0})), "tensor([], size=(2, 0))");
}

TEST(TensorPrint, ThreeDimensionsSeparateBlocksWithABlankLine) {
  EXPECT_EQ(printed(arange(8).reshape({2, 2, 2})),
            "tensor([[[0., 1.],\n"
            "         [2., 3.]],\n"
            "\n"
            "        [[4., 5.],\n"
            "         [6., 7.]]])");
}

TEST(TensorPrint, ViewsPrintInLogicalOrder) {
  EXPECT_EQ(printed(tensor({{1, 2, 3}, {4, 5, 6}}).t()), "tensor([[1., 4.],\n        [2., 5.],\n        [3., 6.]])");
}

TEST(TensorPrint, WideMagnitudesUseScientificNotation) {
  EXPECT_EQ(printed(tensor({1e-5f, 1})), "tensor([1.0000e-05, 1.0000e+00])");
}

TEST(TensorPrint, LongRowsWrapAtEightyColumns) {
  EXPECT_EQ(printed(arange(20)),
            "tensor([ 0.,  1.,  2.,  3.,  4.,  5.,  6.,  7.,  8.,  9., 10., 11., 12., 13.,\n"
            "        14., 15., 16., 17., 18., 19.])");
}

TEST(TensorPrint, LargeTensorsAreSummarized) {
  EXPECT_EQ(printed(arange(1001).div(1000)), "tensor([0.0000, 0.0010, 0.0020,  ..., 0.9980, 0.9990, 1.0000])");
  const std::string big = printed(zeros({100, 100}));
  EXPECT_THAT(big, HasSubstr("[0., 0., 0.,  ..., 0., 0., 0.]"));
  EXPECT_THAT(big, HasSubstr("        ...,\n"));
}

// ---------------------------------------------------------------------------------------
// A view that starts in the middle of its storage, through every path that reads or writes
// elements. The classic bug: forgetting offset() (or adding it twice) in one of them.

// Storage [100, 101, ..., 123]; the view is the 2x3 block at offset 5 with row stride 4:
//   [[105, 106, 107],
//    [109, 110, 111]]
Tensor offset_view() {
  std::vector<float> values(24);
  for (std::size_t i = 0; i < values.size(); ++i) values[i] = 100.0f + static_cast<float>(i);
  return Tensor(std::make_shared<Storage>(std::move(values)), {2, 3}, {4, 1}, 5);
}

const char* const kOffsetHint = "a view that starts at offset 5 of its storage: did this path forget offset()?";

TEST(TensorOffset, ElementAccessAddsTheOffsetOnce) {
  Tensor v = offset_view();
  EXPECT_EQ(v.at({0, 0}), 105.0f) << kOffsetHint;
  EXPECT_EQ(v.at({1, 2}), 111.0f) << kOffsetHint;
  EXPECT_EQ(v.at({-1, -1}), 111.0f) << kOffsetHint;
  Tensor one(v.storage(), {1}, {1}, 7);
  EXPECT_EQ(one.item(), 107.0f) << kOffsetHint;
}

TEST(TensorOffset, CopiesReadTheViewNotTheStorageStart) {
  Tensor v = offset_view();
  EXPECT_FALSE(v.is_contiguous()) << "row stride 4 with 3 columns leaves gaps";
  EXPECT_THAT(v.to_vector(), ElementsAre(105, 106, 107, 109, 110, 111)) << kOffsetHint;
  EXPECT_THAT(v.clone().to_vector(), ElementsAre(105, 106, 107, 109, 110, 111)) << kOffsetHint;
  EXPECT_THAT(v.contiguous().to_vector(), ElementsAre(105, 106, 107, 109, 110, 111)) << kOffsetHint;
  EXPECT_THAT(v.reshape({6}).to_vector(), ElementsAre(105, 106, 107, 109, 110, 111)) << kOffsetHint;
  EXPECT_THAT(v.t().to_vector(), ElementsAre(105, 109, 106, 110, 107, 111)) << kOffsetHint;
}

TEST(TensorOffset, ViewsKeepTheOffset) {
  Tensor v = offset_view();
  EXPECT_EQ(v.t().offset(), 5) << "transpose must keep the offset";
  EXPECT_EQ(v.expand({4, 2, 3}).offset(), 5) << "expand must keep the offset";
  EXPECT_THAT(v.expand({2, 2, 3}).to_vector(), ElementsAre(105, 106, 107, 109, 110, 111, 105, 106, 107, 109, 110, 111));
  Tensor row(v.storage(), {3}, {1}, 9);  // [109, 110, 111], contiguous, offset 9
  EXPECT_EQ(row.view({3, 1}).offset(), 9) << "view must keep the offset";
  EXPECT_THAT(row.view({3, 1}).to_vector(), ElementsAre(109, 110, 111)) << kOffsetHint;
  EXPECT_THAT(v.unsqueeze(0).squeeze(0).to_vector(), ElementsAre(105, 106, 107, 109, 110, 111));
  EXPECT_THAT(v.permute({1, 0}).to_vector(), ElementsAre(105, 109, 106, 110, 107, 111));
}

TEST(TensorOffset, ArithmeticReadsBothOffsetViews) {
  Tensor v = offset_view();
  EXPECT_THAT((v - 100).to_vector(), ElementsAre(5, 6, 7, 9, 10, 11)) << kOffsetHint;
  EXPECT_THAT((v - v.t().t()).to_vector(), ElementsAre(0, 0, 0, 0, 0, 0)) << kOffsetHint;
  Tensor row(v.storage(), {3}, {1}, 0);  // [100, 101, 102]
  EXPECT_THAT((v - row).to_vector(), ElementsAre(5, 5, 5, 9, 9, 9)) << kOffsetHint;
  EXPECT_THAT((200 - v).to_vector(), ElementsAre(95, 94, 93, 91, 90, 89)) << kOffsetHint;
}

TEST(TensorOffset, ReductionsSeeOnlyTheView) {
  Tensor v = offset_view();
  EXPECT_EQ(v.sum().item(), 648.0f) << kOffsetHint;
  EXPECT_EQ(v.max().item(), 111.0f) << kOffsetHint;
  EXPECT_THAT(v.sum(0).to_vector(), ElementsAre(214, 216, 218)) << kOffsetHint;
  EXPECT_THAT(v.sum(1).to_vector(), ElementsAre(318, 330)) << kOffsetHint;
  EXPECT_THAT(v.max(1).to_vector(), ElementsAre(107, 111)) << kOffsetHint;
  EXPECT_FLOAT_EQ(v.mean().item(), 108.0f) << kOffsetHint;
}

TEST(TensorOffset, MatmulReadsTheViews) {
  Tensor v = offset_view() - 100;  // [[5, 6, 7], [9, 10, 11]]
  Tensor a = offset_view();
  Tensor ones_col = ones({3, 1});
  EXPECT_THAT(a.matmul(ones_col).to_vector(), ElementsAre(318, 330)) << kOffsetHint;
  EXPECT_THAT(v.t().matmul(tensor({1, 1})).to_vector(), ElementsAre(14, 16, 18)) << kOffsetHint;
}

TEST(TensorOffset, WritesLandInsideTheView) {
  Tensor v = offset_view();
  v.fill_(0);
  const float* storage = v.storage()->data();
  EXPECT_EQ(storage[4], 104.0f) << "fill_ wrote before the view";
  EXPECT_EQ(storage[5], 0.0f) << kOffsetHint;
  EXPECT_EQ(storage[8], 108.0f) << "fill_ wrote into the gap between rows";
  EXPECT_EQ(storage[11], 0.0f);
  EXPECT_EQ(storage[12], 112.0f) << "fill_ wrote after the view";
  v.copy_(tensor({{1, 2, 3}, {4, 5, 6}}));
  EXPECT_THAT(v.to_vector(), ElementsAre(1, 2, 3, 4, 5, 6));
  EXPECT_EQ(storage[8], 108.0f) << "copy_ wrote into the gap between rows";
  v += 10;
  EXPECT_THAT(v.to_vector(), ElementsAre(11, 12, 13, 14, 15, 16));
}

TEST(TensorOffset, PrintingReadsTheView) {
  EXPECT_EQ(printed(offset_view() - 100), "tensor([[ 5.,  6.,  7.],\n        [ 9., 10., 11.]])");
  EXPECT_EQ(printed(offset_view()), "tensor([[105., 106., 107.],\n        [109., 110., 111.]])");
}

// ---------------------------------------------------------------------------------------
// Accumulating in float: once a float total reaches 2^24 = 16,777,216, adding 1 changes
// nothing (the next float is 16,777,218). A sum of many numbers must not stop counting.

Tensor big_then_ones() {
  std::vector<float> values(1001, 1.0f);
  values[0] = 16777216.0f;
  return Tensor(std::move(values), {1001});
}

TEST(TensorReduce, SumDoesNotStopCountingAtTwoToTheTwentyFour) {
  EXPECT_EQ(big_then_ones().sum().item(), 16778216.0f)
      << "2^24 + 1000 ones must be 16778216: a float accumulator stays at 16777216 (accumulate in double)";
}

TEST(TensorReduce, SumAlongAnAxisDoesNotStopCountingEither) {
  Tensor column = big_then_ones().reshape({1001, 1});
  EXPECT_EQ(column.sum(0).item(), 16778216.0f)
      << "reduce_dim folds 1001 values into one output: accumulate in double, not in the float output";
  EXPECT_FLOAT_EQ(column.mean(0).item(), 16778216.0f / 1001.0f);
}

// ---------------------------------------------------------------------------------------
// More views

TEST(TensorViews, UnsqueezeInsertsASizeOneDimension) {
  Tensor v = tensor({1, 2, 3});
  EXPECT_EQ(v.unsqueeze(0).shape(), (Shape{1, 3}));
  EXPECT_EQ(v.unsqueeze(1).shape(), (Shape{3, 1}));
  EXPECT_EQ(v.unsqueeze(-1).shape(), (Shape{3, 1}));
  EXPECT_EQ(v.unsqueeze(0).storage(), v.storage());
  EXPECT_TRUE(v.unsqueeze(1).is_contiguous());
  EXPECT_EQ(scalar_tensor(2).unsqueeze(0).shape(), (Shape{1}));
  EXPECT_THROW(v.unsqueeze(3), IndexError);
}

TEST(TensorViews, SqueezeRemovesOnlyASizeOneDimension) {
  Tensor m = zeros({2, 1, 3});
  EXPECT_EQ(m.squeeze(1).shape(), (Shape{2, 3}));
  EXPECT_EQ(m.squeeze(-2).shape(), (Shape{2, 3}));
  EXPECT_THAT(error_message<ShapeError>([&] { m.squeeze(0); }), HasSubstr("size 2, not 1"));
}

TEST(TensorViews, PermuteReordersShapeAndStrides) {
  Tensor x = arange(24).reshape({2, 3, 4});
  Tensor p = x.permute({2, 0, 1});
  EXPECT_EQ(p.shape(), (Shape{4, 2, 3}));
  EXPECT_EQ(p.strides(), (Shape{1, 12, 4}));
  EXPECT_EQ(p.storage(), x.storage());
  EXPECT_EQ(p.at({3, 1, 2}), x.at({1, 2, 3}));
  EXPECT_THAT(error_message<ShapeError>([&] { x.permute({0, 1}); }), HasSubstr("[2, 3, 4]"));
  EXPECT_THAT(error_message<ShapeError>([&] { x.permute({0, 1, 1}); }), HasSubstr("repeats"));
}

TEST(TensorMap, AppliesTheFunctionToEveryElementOfAnyView) {
  Tensor m = tensor({{1, 2, 3}, {4, 5, 6}});
  EXPECT_THAT(map(m.t(), [](float v) { return v * 10; }).to_vector(), ElementsAre(10, 40, 20, 50, 30, 60));
  EXPECT_EQ(map(m, [](float v) { return v; }).shape(), (Shape{2, 3}));
}

// ---------------------------------------------------------------------------------------
// The autograd slot. Before module 05 no recorder is installed and ops record nothing; these
// tests install a recorder of their own to check what every op tells autograd.

struct Recorded {
  std::string op;
  std::vector<Tensor> inputs;
  std::vector<int64_t> ints;
  float scalar;
};
std::vector<Recorded> recorded_calls;

void test_recorder(autograd::OpCall call, const Tensor& output) {
  output.impl_ptr()->requires_grad = true;  // as module 05's recorder does
  recorded_calls.push_back({call.op, std::move(call.inputs), std::move(call.ints), call.scalar});
}

class TensorAutogradSlot : public ::testing::Test {
 protected:
  void SetUp() override {
    recorded_calls.clear();
    autograd::set_recorder(&test_recorder);
  }
  void TearDown() override {
    autograd::set_recorder(nullptr);
    recorded_calls.clear();
  }
  std::vector<std::string> ops() const {
    std::vector<std::string> names;
    for (const Recorded& r : recorded_calls) names.push_back(r.op);
    return names;
  }
};

TEST(TensorAutogradSlotDormant, NothingIsRecordedWithoutARecorder) {
  Tensor w = ones({2, 2}).requires_grad_();
  EXPECT_TRUE(w.requires_grad());
  Tensor y = w.matmul(w) + 1;
  EXPECT_FALSE(y.requires_grad()) << "before module 05 no op records, so results do not require grad";
  EXPECT_FALSE(ones({2}).requires_grad());
}

TEST_F(TensorAutogradSlot, OpsOnTensorsThatRequireGradAreRecordedOnce) {
  Tensor a = tensor({{1, 2}, {3, 4}}).requires_grad_();
  Tensor b = tensor({10, 20});
  Tensor c = a + b;
  ASSERT_EQ(ops(), (std::vector<std::string>{"add"})) << "one step per op, none for the kernel's own work";
  EXPECT_EQ(recorded_calls[0].inputs.size(), 2u);
  EXPECT_EQ(recorded_calls[0].inputs[0].impl_ptr(), a.impl_ptr());
  EXPECT_EQ(recorded_calls[0].inputs[1].impl_ptr(), b.impl_ptr());
  EXPECT_TRUE(c.requires_grad());
  EXPECT_THAT(c.to_vector(), ElementsAre(11, 22, 13, 24)) << "recording must not change the numbers";
}

TEST_F(TensorAutogradSlot, ArgumentsThatAreNotTensorsAreRecorded) {
  Tensor a = randn({2, 3, 4}, 1).requires_grad_();
  (void)a.sum(1, true);
  (void)a.transpose(0, 2);
  (void)a.permute({2, 0, 1});
  (void)a.mul(0.5f);
  (void)(3.0f - a);
  ASSERT_EQ(ops(), (std::vector<std::string>{"sum_dim", "transpose", "permute", "mul_scalar", "rsub_scalar"}));
  EXPECT_EQ(recorded_calls[0].ints, (std::vector<int64_t>{1, 1}));
  EXPECT_EQ(recorded_calls[1].ints, (std::vector<int64_t>{0, 2}));
  EXPECT_EQ(recorded_calls[2].ints, (std::vector<int64_t>{2, 0, 1}));
  EXPECT_EQ(recorded_calls[3].scalar, 0.5f);
  EXPECT_EQ(recorded_calls[4].scalar, 3.0f);
}

TEST_F(TensorAutogradSlot, EveryPrimitiveOpHasItsName) {
  Tensor a = randn({2, 3}, 2).requires_grad_();
  Tensor b = randn({3, 2}, 3);
  (void)a.clone();
  (void)a.view({3, 2});
  (void)a.expand({4, 2, 3});
  (void)a.unsqueeze(0);
  (void)a.unsqueeze(0).squeeze(0);
  (void)a.sum();
  (void)a.max();
  (void)a.max(0);
  (void)a.matmul(b);
  (void)(a - a);
  (void)(a * a);
  (void)(a / 2);
  (void)(a / a);
  (void)(2 / a);
  (void)(a + 1);
  (void)(a - 1);
  (void)(-a);
  EXPECT_EQ(ops(), (std::vector<std::string>{"clone", "view", "expand", "unsqueeze", "unsqueeze", "squeeze", "sum",
                                             "max", "max_dim", "matmul", "sub", "mul", "div_scalar", "div",
                                             "rdiv_scalar", "add_scalar", "sub_scalar", "neg"}));
}

TEST_F(TensorAutogradSlot, CompositeOpsAreRecordedThroughTheirParts) {
  Tensor a = randn({2, 3}, 4).requires_grad_();
  (void)a.mean();
  EXPECT_EQ(ops(), (std::vector<std::string>{"sum", "div_scalar"})) << "mean() is sum() then a division";
  recorded_calls.clear();
  (void)a.t().reshape({6});
  EXPECT_EQ(ops(), (std::vector<std::string>{"transpose", "clone", "view"}))
      << "reshape of a transposed view is clone() then view()";
}

TEST_F(TensorAutogradSlot, MapIsRecordedUnderItsOwnName) {
  Tensor a = ones({3}).requires_grad_();
  (void)map(a, [](float v) { return v * v; });
  EXPECT_EQ(ops(), (std::vector<std::string>{"map"})) << "autograd must know that map happened, to refuse it";
}

TEST_F(TensorAutogradSlot, NothingIsRecordedWhenNoInputRequiresGrad) {
  Tensor a = ones({2, 2});
  Tensor c = a.matmul(a) + a.sum();
  EXPECT_TRUE(recorded_calls.empty());
  EXPECT_FALSE(c.requires_grad());
}

TEST_F(TensorAutogradSlot, PauseRecordingStopsRecordingOnThisThread) {
  Tensor a = ones({2}).requires_grad_();
  {
    autograd::PauseRecording pause;
    Tensor b = a * 2;
    EXPECT_FALSE(b.requires_grad());
  }
  EXPECT_TRUE(recorded_calls.empty());
  (void)(a * 2);
  EXPECT_EQ(ops(), (std::vector<std::string>{"mul_scalar"}));
}

TEST_F(TensorAutogradSlot, ARecordedResultIsNeverItsOwnInput) {
  Tensor a = ones({2}).requires_grad_();
  Tensor same = autograd::record("identity", {a}, [&] { return a; });
  EXPECT_NE(same.impl_ptr(), a.impl_ptr()) << "recording onto the input itself would make a cycle";
  EXPECT_EQ(same.storage(), a.storage());
}

TEST_F(TensorAutogradSlot, InPlaceChangesOfRecordedTensorsAreRefused) {
  Tensor w = ones({2}).requires_grad_();
  EXPECT_THAT(error_message<std::logic_error>([&] { w += 1; }), HasSubstr("NoGradGuard"));
  EXPECT_THROW(w.fill_(0), std::logic_error);
  EXPECT_THROW(zeros({2}).copy_(w), std::logic_error);
  autograd::PauseRecording pause;  // how an optimizer updates its weights
  w -= 0.5f;
  EXPECT_THAT(w.to_vector(), ElementsAre(0.5f, 0.5f));
}

TEST(TensorAutogradSlotDormant, DetachSharesTheNumbersButNotTheGraph) {
  Tensor w = tensor({1, 2}).requires_grad_();
  Tensor d = w.detach();
  EXPECT_FALSE(d.requires_grad());
  EXPECT_EQ(d.storage(), w.storage());
  EXPECT_NE(d.impl_ptr(), w.impl_ptr());
  EXPECT_FALSE(w.requires_grad_(false).requires_grad());
  EXPECT_THROW(Tensor().requires_grad_(), std::logic_error);
}

TEST(TensorAutogradSlotDormant, PrintingSaysRequiresGrad) {
  EXPECT_EQ(printed(tensor({1, 2}).requires_grad_()), "tensor([1., 2.], requires_grad=True)");
}

// BEGIN HIDDEN TESTS
TEST(TensorHidden, CopyFromAnOverlappingViewReadsTheOldValues) {
  Tensor m = tensor({{1, 2}, {3, 4}});
  m.copy_(m.t());
  EXPECT_THAT(m.to_vector(), ElementsAre(1, 3, 2, 4));
}

TEST(TensorHidden, LargerMatmulMatchesTheDefinition) {
  Tensor a = randn({33, 17}, 11);
  Tensor b = randn({17, 29}, 12);
  EXPECT_TRUE(allclose(a.matmul(b), reference_matmul(a, b), 1e-4f, 1e-5f));
}

TEST(TensorHidden, ReductionsOfATransposedThreeDimView) {
  Tensor x = randn({3, 4, 5}, 9);
  Tensor y = x.transpose(0, 2);  // [5, 4, 3], not contiguous
  Tensor want = y.contiguous().sum(1);
  EXPECT_TRUE(allclose(y.sum(1), want));
  EXPECT_NEAR(y.sum().item(), x.sum().item(), 1e-4f);
}

TEST(TensorHidden, AllcloseComparesShapesAndTolerances) {
  EXPECT_TRUE(allclose(tensor({1, 2}), tensor({1, 2.000001f})));
  EXPECT_FALSE(allclose(tensor({1, 2}), tensor({1, 2.1f})));
  EXPECT_FALSE(allclose(tensor({1, 2}), tensor({{1, 2}})));
}
// END HIDDEN TESTS

}  // namespace
