// Tests for module 08 (dataloader): the public API of <tinytorch/core/data.hpp>.
// Small IDX and CIFAR-10 files are written byte by byte into temporary folders (the layout is
// spelled out here, not borrowed from the code under test); the real-data tests read the real
// Fashion-MNIST from the tito data cache and fail, naming the fetch command, when it is missing.
// Linked with gtest_main, together with the quick tests in dataloader_dev.cpp.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <numeric>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <tinytorch/core/data.hpp>
#include <tinytorch/course.hpp>
#include <tinytorch/testing.hpp>

namespace {

using namespace tinytorch;
namespace fs = std::filesystem;
namespace ds = tinytorch::data::datasets;
namespace T = tinytorch::data::transforms;
using ::testing::HasSubstr;
using ::testing::Not;
using tinytorch::testing::all_finite;
using tinytorch::testing::error_message;

// ---------------------------------------------------------------------------------------
// Helpers: a temporary folder, and dataset files written byte by byte.

// A fresh folder for one test, removed with everything in it when the test ends.
class TempDir {
 public:
  TempDir() {
    const auto* test = ::testing::UnitTest::GetInstance()->current_test_info();
    path_ =
        fs::temp_directory_path() / ("tinytorch-data-" + std::string(test->name()) + "-" + std::to_string(::getpid()));
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

void put_be32(std::vector<uint8_t>& out, uint32_t v) {
  out.push_back(static_cast<uint8_t>(v >> 24));
  out.push_back(static_cast<uint8_t>(v >> 16));
  out.push_back(static_cast<uint8_t>(v >> 8));
  out.push_back(static_cast<uint8_t>(v));
}

// An IDX file of unsigned bytes: 00 00 08 NDIM, the big-endian sizes, then `data`.
std::vector<uint8_t> idx_bytes(const std::vector<uint32_t>& dims, const std::vector<uint8_t>& data) {
  std::vector<uint8_t> out = {0x00, 0x00, 0x08, static_cast<uint8_t>(dims.size())};
  for (uint32_t d : dims) put_be32(out, d);
  out.insert(out.end(), data.begin(), data.end());
  return out;
}

void write_file(const fs::path& file, const std::vector<uint8_t>& bytes) {
  fs::create_directories(file.parent_path());
  std::ofstream out(file, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

// Pixel k of generated image n: every image different, every value 0..255 used.
uint8_t generated_pixel(uint32_t n, uint32_t k) { return static_cast<uint8_t>((7 * n + 3 * k) % 256); }
uint8_t generated_label(uint32_t n) { return static_cast<uint8_t>((n * 3 + 1) % 10); }

// An MNIST-style cache: CACHE/NAME/idx/{train,t10k}-{images-idx3,labels-idx1}-ubyte with
// n_train and n_test generated images of rows x cols.
void write_idx_dataset(const fs::path& cache, const std::string& name, uint32_t n_train, uint32_t n_test,
                       uint32_t rows = 28, uint32_t cols = 28) {
  for (const auto& [split, n] : {std::pair<std::string, uint32_t>{"train", n_train}, {"t10k", n_test}}) {
    std::vector<uint8_t> pixels, labels;
    for (uint32_t i = 0; i < n; ++i) {
      for (uint32_t k = 0; k < rows * cols; ++k) pixels.push_back(generated_pixel(i, k));
      labels.push_back(generated_label(i));
    }
    write_file(cache / name / "idx" / (split + "-images-idx3-ubyte"), idx_bytes({n, rows, cols}, pixels));
    write_file(cache / name / "idx" / (split + "-labels-idx1-ubyte"), idx_bytes({n}, labels));
  }
}

// One CIFAR-10 record: the label, then the red plane, the green plane, the blue plane (1024
// bytes each, row by row). Three different patterns, so that mixing up planes shows.
uint8_t red_of(uint32_t p, uint32_t salt) { return static_cast<uint8_t>((p + salt) % 97); }
uint8_t green_of(uint32_t p, uint32_t salt) { return static_cast<uint8_t>(100 + (p + salt) % 53); }
uint8_t blue_of(uint32_t p, uint32_t salt) { return static_cast<uint8_t>(200 + (p + salt) % 41); }

std::vector<uint8_t> cifar_record(uint8_t label, uint32_t salt) {
  std::vector<uint8_t> record = {label};
  for (uint32_t p = 0; p < 1024; ++p) record.push_back(red_of(p, salt));
  for (uint32_t p = 0; p < 1024; ++p) record.push_back(green_of(p, salt));
  for (uint32_t p = 0; p < 1024; ++p) record.push_back(blue_of(p, salt));
  return record;
}

// A CIFAR-10 cache: CACHE/cifar10/cifar-10-batches-bin/ with five training files and a test file
// of `per_file` records each. Record r of file f (f = 0..4 train, 5 test) has label (f * per_file + r) % 10.
void write_cifar10(const fs::path& cache, uint32_t per_file) {
  const fs::path folder = cache / "cifar10" / "cifar-10-batches-bin";
  for (uint32_t f = 0; f < 6; ++f) {
    std::vector<uint8_t> bytes;
    for (uint32_t r = 0; r < per_file; ++r) {
      const std::vector<uint8_t> record = cifar_record(static_cast<uint8_t>((f * per_file + r) % 10), f * 1000 + r);
      bytes.insert(bytes.end(), record.begin(), record.end());
    }
    write_file(folder / (f < 5 ? "data_batch_" + std::to_string(f + 1) + ".bin" : "test_batch.bin"), bytes);
  }
}

// The real Fashion-MNIST from the tito data cache, or a test failure that names the fetch command.
std::optional<ds::FashionMNIST> real_fashion_mnist(bool train) {
  return tinytorch::testing::real_dataset<ds::FashionMNIST, data::DatasetNotFound>(train);
}

// Sets (or, with nullptr, unsets) TITO_DATA_DIR for one scope.
class ScopedDataDir {
 public:
  explicit ScopedDataDir(const char* value) {
    if (const char* old = std::getenv("TITO_DATA_DIR")) old_ = old;
    if (value != nullptr) {
      ::setenv("TITO_DATA_DIR", value, 1);
    } else {
      ::unsetenv("TITO_DATA_DIR");
    }
  }
  ~ScopedDataDir() {
    if (old_) {
      ::setenv("TITO_DATA_DIR", old_->c_str(), 1);
    } else {
      ::unsetenv("TITO_DATA_DIR");
    }
  }

 private:
  std::optional<std::string> old_;
};

// Example indices of a dataset whose data and targets are both 0..n-1: what a batch holds.
std::vector<int64_t> indices_of(const data::Example& batch) {
  std::vector<int64_t> out;
  for (float v : batch.target.to_vector()) out.push_back(static_cast<int64_t>(v));
  return out;
}

data::TensorDataset counting_dataset(int64_t n) {
  return data::TensorDataset(arange(static_cast<float>(n)), arange(static_cast<float>(n)));
}

// ---------------------------------------------------------------------------------------
// Part 1: narrow, select, cat, stack

TEST(DataOps, NarrowOfAViewStartsAtTheViewsOffset) {
  const Tensor m = arange(24).reshape({4, 6});
  const Tensor row = select(m, 0, 2);  // [12 .. 17], offset 12
  const Tensor window = narrow(row, 0, 1, 3);
  EXPECT_EQ(window.to_vector(), (std::vector<float>{13, 14, 15}))
      << "narrow of a view must start from the view's offset (self.offset() + start * stride), not from 0; "
         "{1, 2, 3} means the offset was dropped";
  EXPECT_EQ(window.offset(), 13);
  const Tensor columns = narrow(m.t(), 0, 2, 2);  // columns 2 and 3 of m, as rows
  EXPECT_EQ(columns.to_vector(), (std::vector<float>{2, 8, 14, 20, 3, 9, 15, 21}))
      << "narrow of a transposed tensor must keep its strides";
}

TEST(DataOps, NarrowIsAViewThatWritesThrough) {
  Tensor m = zeros({3, 4});
  Tensor middle = narrow(m, 1, 1, 2);
  EXPECT_EQ(middle.storage(), m.storage()) << "narrow must share the storage (a view), not copy";
  EXPECT_EQ(middle.strides(), (Shape{4, 1}));
  middle.fill_(1.0f);
  EXPECT_EQ(m.to_vector(), (std::vector<float>{0, 1, 1, 0, 0, 1, 1, 0, 0, 1, 1, 0}));
}

TEST(DataOps, NarrowChecksItsWindow) {
  const Tensor m = arange(12).reshape({3, 4});
  EXPECT_EQ(narrow(m, 0, -1, 1).to_vector(), (std::vector<float>{8, 9, 10, 11}))
      << "a negative start counts from the end";
  EXPECT_EQ(narrow(m, 1, 4, 0).numel(), 0) << "an empty window at the end is allowed";
  EXPECT_THAT(error_message<IndexError>([&] { narrow(m, 0, 2, 2); }), HasSubstr("do not fit in dimension 0 of size 3"));
  EXPECT_THAT(error_message<IndexError>([&] { narrow(m, 2, 0, 1); }), HasSubstr("dimension 2 is out of range"));
}

TEST(DataOps, SelectDropsTheDimension) {
  const Tensor m = arange(12).reshape({3, 4});
  const Tensor last_column = select(m, 1, -1);
  EXPECT_EQ(last_column.shape(), (Shape{3}));
  EXPECT_EQ(last_column.to_vector(), (std::vector<float>{3, 7, 11}));
  EXPECT_EQ(select(m, 0, 1).offset(), 4);
  EXPECT_EQ(select(arange(5), 0, 2).shape(), (Shape{})) << "select of a 1-D tensor is 0-D";
  EXPECT_THAT(error_message<IndexError>([&] { select(m, 0, 3); }),
              HasSubstr("index 3 is out of range for dimension 0"));
}

TEST(DataOps, CatAlongEveryDimension) {
  const Tensor a = arange(24).reshape({2, 3, 4});
  const Tensor b = arange(100, 108).reshape({2, 1, 4});
  const Tensor c = cat({a, b}, 1);
  ASSERT_EQ(c.shape(), (Shape{2, 4, 4}));
  for (int64_t i = 0; i < 2; ++i) {
    for (int64_t j = 0; j < 4; ++j) {
      for (int64_t k = 0; k < 4; ++k) {
        const float expected = j < 3 ? a.at({i, j, k}) : b.at({i, 0, k});
        ASSERT_EQ(c.at({i, j, k}), expected)
            << "cat along dim 1 at [" << i << ", " << j << ", " << k << "]: each outer index holds the run of a, then "
            << "the run of b (outer = sizes before dim, inner = sizes after)";
      }
    }
  }
  const Tensor last = cat({a, a}, -1);
  EXPECT_EQ(last.shape(), (Shape{2, 3, 8}));
  EXPECT_EQ(last.at({1, 2, 5}), a.at({1, 2, 1}));
  EXPECT_EQ(cat({a, a}, 0).at({1, 0, 0}), 12.0f);
  EXPECT_TRUE(cat({a, b}, 1).is_contiguous());
}

TEST(DataOps, CatOfViewsCopiesTheirElements) {
  const Tensor t = arange(6).reshape({2, 3}).t();  // [[0, 3], [1, 4], [2, 5]]: not contiguous
  const Tensor column = narrow(t, 1, 1, 1);        // [[3], [4], [5]]
  EXPECT_EQ(cat({t, column}, 1).to_vector(), (std::vector<float>{0, 3, 3, 1, 4, 4, 2, 5, 5}))
      << "cat of non-contiguous inputs: call contiguous() on each input before copying its runs";
  EXPECT_EQ(cat({t, narrow(t, 0, 1, 2)}, 0).to_vector(), (std::vector<float>{0, 3, 1, 4, 2, 5, 1, 4, 2, 5}));
}

TEST(DataOps, CatChecksItsInputs) {
  EXPECT_EQ(cat({ones({1, 2}), zeros({2, 2})}).shape(), (Shape{3, 2}));
  EXPECT_THAT(error_message<ShapeError>([] {
                cat({ones({2, 3}), ones({2, 4})}, 0);
              }),
              HasSubstr("tensor 1 has shape [2, 4] but tensor 0 has shape [2, 3]"));
  EXPECT_THAT(error_message<ShapeError>([] { cat({ones({2, 3}), ones({2, 3, 1})}, 0); }), HasSubstr("tensor 1"));
  EXPECT_THAT(error_message<std::invalid_argument>([] { cat({}); }), HasSubstr("empty list"));
  EXPECT_THAT(error_message<ShapeError>([] { cat({scalar_tensor(1), scalar_tensor(2)}); }), HasSubstr("stack()"));
}

TEST(DataOps, StackMakesANewDimension) {
  const Tensor a = tensor({{1, 2, 3}, {4, 5, 6}});
  const Tensor b = a * 10.0f;
  const Tensor s0 = stack({a, b});
  EXPECT_EQ(s0.shape(), (Shape{2, 2, 3}));
  EXPECT_EQ(s0.to_vector(), (std::vector<float>{1, 2, 3, 4, 5, 6, 10, 20, 30, 40, 50, 60}));
  const Tensor s1 = stack({a, b}, 1);
  EXPECT_EQ(s1.shape(), (Shape{2, 2, 3}));
  EXPECT_EQ(s1.to_vector(), (std::vector<float>{1, 2, 3, 10, 20, 30, 4, 5, 6, 40, 50, 60}))
      << "stack along dim 1: result[i][0] is a[i], result[i][1] is b[i]";
  const Tensor last = stack({a, b}, -1);
  EXPECT_EQ(last.shape(), (Shape{2, 3, 2})) << "stack(-1) puts the new dimension last (dim() + 1 counts the new one)";
  EXPECT_EQ(last.at({1, 2, 1}), 60.0f);
  const Tensor labels = stack({scalar_tensor(3), scalar_tensor(1), scalar_tensor(4)});
  EXPECT_EQ(labels.shape(), (Shape{3}));
  EXPECT_EQ(labels.to_vector(), (std::vector<float>{3, 1, 4}));
}

TEST(DataOps, StackNamesTheShapesItWasGiven) {
  const std::string message = error_message<ShapeError>([] {
    stack({zeros({1, 28, 28}), zeros({1, 28, 28}), zeros({1, 28, 27})});
  });
  EXPECT_THAT(message, HasSubstr("stack()"));
  EXPECT_THAT(message, HasSubstr("tensor 2 has shape [1, 28, 27]"));
  EXPECT_THAT(message, HasSubstr("[1, 28, 28]"));
  EXPECT_THAT(message, Not(HasSubstr("[1, 1, 28")))
      << "check the shapes before unsqueezing: the caller passed [1, 28, 27]";
  EXPECT_THAT(error_message<std::invalid_argument>([] { stack({}); }), HasSubstr("empty list"));
}

TEST(DataOpsGrad, NarrowAndSelectAgainstFiniteDifferences) {
  const Tensor x = randn({4, 5}, 1).requires_grad_();
  for (const auto& [name, f] : std::vector<std::pair<std::string, std::function<Tensor(const std::vector<Tensor>&)>>>{
           {"narrow dim 0", [](const std::vector<Tensor>& xs) { return narrow(xs[0], 0, 1, 2) * 3.0f; }},
           {"narrow dim 1", [](const std::vector<Tensor>& xs) { return exp(narrow(xs[0], 1, 2, 3)); }},
           {"narrow of narrow", [](const std::vector<Tensor>& xs) { return narrow(narrow(xs[0], 1, 1, 4), 1, 1, 2); }},
           {"select", [](const std::vector<Tensor>& xs) { return select(xs[0], 1, 3) * select(xs[0], 0, 0).sum(); }}}) {
    const autograd::GradcheckResult result = autograd::gradcheck(f, {x}, {.seed = 7});
    EXPECT_TRUE(result.ok) << name << ": " << result.report;
  }
}

TEST(DataOpsGrad, CatAndStackAgainstFiniteDifferences) {
  const Tensor a = randn({2, 3}, 2).requires_grad_();
  const Tensor b = randn({2, 1}, 3).requires_grad_();
  const Tensor c = randn({2, 3}, 4);  // no gradient wanted
  for (const auto& [name, f] : std::vector<std::pair<std::string, std::function<Tensor(const std::vector<Tensor>&)>>>{
           {"cat dim 1",
            [](const std::vector<Tensor>& xs) {
              return cat({xs[0], xs[1], xs[2]}, 1);
            }},
           {"cat dim 0", [](const std::vector<Tensor>& xs) { return cat({xs[0], xs[2], xs[0]}, 0); }},
           {"cat of a view", [](const std::vector<Tensor>& xs) { return cat({xs[0].t(), xs[2].t()}, 1) * 2.0f; }},
           {"stack", [](const std::vector<Tensor>& xs) { return stack({xs[0], xs[2], xs[0] * xs[0]}, 1); }},
           {"stack of 0-D", [](const std::vector<Tensor>& xs) {
              return stack({xs[1].sum(), select(xs[0], 1, 2).sum()});
            }}}) {
    const autograd::GradcheckResult result = autograd::gradcheck(f, {a, b, c}, {.seed = 11});
    EXPECT_TRUE(result.ok) << name << ": " << result.report;
  }
}

TEST(DataOpsGrad, NothingIsRecordedWithoutAGradient) {
  const Tensor a = ones({2, 2}), b = zeros({1, 2});
  EXPECT_EQ(autograd::grad_fn(cat({a, b})), nullptr) << "an op on tensors that do not require grad records nothing";
  EXPECT_FALSE(stack({a, a}).requires_grad());
  const Tensor w = ones({2, 2}).requires_grad_();
  EXPECT_TRUE(cat({w, b}).requires_grad());
  NoGradGuard no_grad;
  EXPECT_FALSE(cat({w, b}).requires_grad()) << "inside NoGradGuard nothing is recorded";
  EXPECT_FALSE(narrow(w, 0, 0, 1).requires_grad());
}

// ---------------------------------------------------------------------------------------
// Part 2: datasets

TEST(DataTensorDataset, ExamplesAreViewsOfTheTensors) {
  const Tensor images = arange(5 * 2 * 3).reshape({5, 2, 3});
  data::TensorDataset ds(images, arange(5));
  const data::Example e = ds.get(3);
  EXPECT_EQ(e.data.storage(), images.storage()) << "get must return views (select), not copies";
  EXPECT_EQ(e.data.offset(), 18);
  EXPECT_EQ(e.data.shape(), (Shape{2, 3}));
  EXPECT_EQ(e.target.item(), 3.0f);
}

TEST(DataTensorDataset, AnIndexOutsideIsAnError) {
  data::TensorDataset ds = counting_dataset(6);
  EXPECT_EQ(ds.get(5).target.item(), 5.0f);
  EXPECT_THAT(error_message<IndexError>([&] { ds.get(6); }), HasSubstr("index 6 is out of range for a dataset of 6"));
  EXPECT_THAT(error_message<IndexError>([&] { ds.get(-1); }), HasSubstr("index -1"))
      << "select() accepts -1, but a dataset index of -1 is the caller's bug: check the index first";
  EXPECT_THAT(error_message<ShapeError>([] {
                data::TensorDataset(zeros({5, 2}), zeros({4}));
              }),
              HasSubstr("5 examples but targets [4] has 4"));
}

// ---------------------------------------------------------------------------------------
// Part 3: shuffling

TEST(DataShuffle, TheOrderIsModule07sShuffleOrder) {
  data::DataLoader loader(counting_dataset(40), data::DataLoaderOptions(8).shuffle(true).seed(13));
  for (int64_t epoch : {0, 1, 6}) {
    loader.start_epoch(epoch);
    EXPECT_EQ(loader.order(), data::shuffle_order(40, 13, epoch))
        << "the order of epoch " << epoch << " must be module 07's shuffle_order(n, seed, epoch)";
  }
}

TEST(DataShuffle, TheOrderChangesPerEpochAndFollowsTheSeed) {
  data::DataLoader loader(counting_dataset(100), data::DataLoaderOptions(10).shuffle(true).seed(1));
  std::set<std::vector<int64_t>> orders;
  for (int64_t epoch = 0; epoch < 5; ++epoch) {
    loader.start_epoch(epoch);
    std::vector<int64_t> sorted = loader.order();
    std::sort(sorted.begin(), sorted.end());
    ASSERT_EQ(sorted.size(), 100u);
    ASSERT_EQ(sorted.back(), 99);
    ASSERT_EQ(std::adjacent_find(sorted.begin(), sorted.end()), sorted.end())
        << "the order of an epoch repeats an example";
    orders.insert(loader.order());
  }
  EXPECT_EQ(orders.size(), 5u) << "five epochs gave only " << orders.size() << " different orders: the shuffle "
                               << "must change with the epoch (shuffle_order(n, seed, epoch))";
  data::DataLoader other(counting_dataset(100), data::DataLoaderOptions(10).shuffle(true).seed(2));
  other.start_epoch(0);
  loader.start_epoch(0);
  EXPECT_NE(other.order(), loader.order()) << "seeds 1 and 2 gave the same order: the shuffle ignores the seed";
  data::DataLoader again(counting_dataset(100), data::DataLoaderOptions(10).shuffle(true).seed(1));
  again.start_epoch(0);
  EXPECT_EQ(again.order(), loader.order()) << "the same seed and epoch must give the same order";
}

TEST(DataShuffle, AResumedRunSeesTheSameBatches) {
  data::DataLoader running(counting_dataset(50), data::DataLoaderOptions(8).shuffle(true).seed(42));
  for (int64_t epoch = 0; epoch < 4; ++epoch) {
    running.start_epoch(epoch);
    for (int64_t b = 0; b < running.num_batches(); ++b) running.batch(b);
  }
  const std::vector<int64_t> batch_of_epoch_3 = indices_of(running.batch(2));
  data::DataLoader resumed(counting_dataset(50), data::DataLoaderOptions(8).shuffle(true).seed(42));
  resumed.start_epoch(3);
  EXPECT_EQ(indices_of(resumed.batch(2)), batch_of_epoch_3)
      << "a new loader that starts at epoch 3 must see the batches the running one saw in epoch 3: the order must "
         "come from (seed, epoch) alone, not from a generator that has been running since epoch 0";
}

TEST(DataShuffle, WithoutShuffleTheOrderIsTheDatasets) {
  data::DataLoader loader(counting_dataset(7), data::DataLoaderOptions(3));
  for (int64_t epoch : {0, 5}) {
    loader.start_epoch(epoch);
    EXPECT_EQ(loader.order(), (std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6}));
    EXPECT_EQ(loader.epoch(), epoch);
  }
}

TEST(DataShuffle, NeighbouringSeedsAndEpochsAreUnrelated) {
  data::DataLoader seed0(counting_dataset(30), data::DataLoaderOptions(30).shuffle(true).seed(0));
  data::DataLoader seed1(counting_dataset(30), data::DataLoaderOptions(30).shuffle(true).seed(1));
  seed0.start_epoch(1);
  seed1.start_epoch(0);
  EXPECT_NE(seed0.order(), seed1.order())
      << "seed 0 epoch 1 must not be seed 1 epoch 0 (module 07's derive_seed mixes them)";
}

// ---------------------------------------------------------------------------------------
// Part 4: the DataLoader

TEST(DataLoader, EveryExampleOnceAnEpoch) {
  data::DataLoader loader(counting_dataset(103), data::DataLoaderOptions(10).shuffle(true).seed(7));
  EXPECT_EQ(loader.num_batches(), 11) << "103 examples in batches of 10 are 11 batches: 10 full and one of 3";
  EXPECT_EQ(loader.num_examples(), 103);
  for (int64_t epoch : {0, 1}) {
    loader.start_epoch(epoch);
    std::vector<int64_t> seen;
    for (int64_t b = 0; b < loader.num_batches(); ++b) {
      const std::vector<int64_t> batch = indices_of(loader.batch(b));
      EXPECT_EQ(batch.size(), b < 10 ? 10u : 3u) << "batch " << b;
      seen.insert(seen.end(), batch.begin(), batch.end());
    }
    std::sort(seen.begin(), seen.end());
    std::vector<int64_t> all(103);
    std::iota(all.begin(), all.end(), int64_t{0});
    EXPECT_EQ(seen, all) << "epoch " << epoch << " did not show every example exactly once (" << seen.size()
                         << " seen): without drop_last, the short last batch must be kept";
  }
}

TEST(DataLoader, DropLastDropsOnlyTheShortBatch) {
  data::DataLoader loader(counting_dataset(103), data::DataLoaderOptions(10).shuffle(true).seed(7).drop_last(true));
  EXPECT_EQ(loader.num_batches(), 10) << "with drop_last the short batch of 3 is left out";
  EXPECT_EQ(loader.num_examples(), 100);
  loader.start_epoch(0);
  for (int64_t b = 0; b < 10; ++b) EXPECT_EQ(loader.batch(b).data.size(0), 10);
  EXPECT_THAT(error_message<IndexError>([&] { loader.batch(10); }), HasSubstr("has 10 batches"));
  data::DataLoader exact(counting_dataset(100), data::DataLoaderOptions(10).drop_last(true));
  EXPECT_EQ(exact.num_batches(), 10) << "100 examples in batches of 10 leave nothing to drop";
  data::DataLoader keep(counting_dataset(100), data::DataLoaderOptions(10));
  EXPECT_EQ(keep.num_batches(), 10) << "100 examples in batches of 10 are 10 batches, not 11";
}

TEST(DataLoader, BatchesKeepImagesWithTheirLabels) {
  std::vector<float> pixels;
  for (int i = 0; i < 20; ++i) pixels.insert(pixels.end(), 4, static_cast<float>(i));
  data::TensorDataset ds(Tensor(pixels, {20, 1, 2, 2}), arange(20));
  data::DataLoader loader(ds, data::DataLoaderOptions(6).shuffle(true).seed(3));
  loader.start_epoch(2);
  const data::Example batch = loader.batch(1);
  ASSERT_EQ(batch.data.shape(), (Shape{6, 1, 2, 2}));
  ASSERT_EQ(batch.target.shape(), (Shape{6}));
  const std::vector<int64_t> expected = loader.batch_indices(1);
  for (int64_t k = 0; k < 6; ++k) {
    EXPECT_EQ(batch.target.at({k}), static_cast<float>(expected[static_cast<std::size_t>(k)]))
        << "target " << k << " of the batch is not example " << expected[static_cast<std::size_t>(k)] << "'s";
    EXPECT_EQ(batch.data.at({k, 0, 1, 1}), batch.target.at({k})) << "image " << k << " lost its label";
  }
}

TEST(DataLoader, BatchIndicesFollowTheOrder) {
  data::DataLoader loader(counting_dataset(10), data::DataLoaderOptions(4).shuffle(true).seed(9));
  loader.start_epoch(1);
  const std::vector<int64_t>& order = loader.order();
  EXPECT_EQ(loader.batch_indices(0), (std::vector<int64_t>(order.begin(), order.begin() + 4)));
  EXPECT_EQ(loader.batch_indices(2), (std::vector<int64_t>(order.begin() + 8, order.end())));
  EXPECT_EQ(indices_of(loader.batch(2)), loader.batch_indices(2));
}

TEST(DataLoader, IsABatchSourceForTheTrainer) {
  data::DataLoader loader(counting_dataset(10), data::DataLoaderOptions().batch_size(4).shuffle(true).seed(5));
  EXPECT_EQ(loader.options().batch_size(), 4);
  EXPECT_TRUE(loader.options().shuffle());
  EXPECT_EQ(loader.options().seed(), 5u);
  EXPECT_FALSE(loader.options().drop_last());
  data::BatchSource& source = loader;
  EXPECT_EQ(source.num_batches(), 3);
  EXPECT_EQ(source.num_examples(), 10);
  source.start_epoch(4);
  EXPECT_EQ(loader.epoch(), 4);
  EXPECT_EQ(indices_of(source.batch(0)), loader.batch_indices(0));
}

TEST(DataLoader, RangeForGoesThroughTheCurrentEpoch) {
  data::DataLoader loader(counting_dataset(10), data::DataLoaderOptions(3).shuffle(true).seed(2));
  std::vector<int64_t> first_pass;
  for (data::Example batch : loader) {  // no start_epoch: epoch 0
    const std::vector<int64_t> indices = indices_of(batch);
    first_pass.insert(first_pass.end(), indices.begin(), indices.end());
  }
  EXPECT_EQ(loader.epoch(), 0);
  EXPECT_EQ(first_pass, loader.order());
  int batches = 0;
  loader.start_epoch(1);
  for (const data::Example& batch : loader) batches += batch.data.size(0) > 0;
  EXPECT_EQ(batches, 4);
}

TEST(DataLoader, BadArgumentsAreClearErrors) {
  data::DataLoader loader(counting_dataset(5), data::DataLoaderOptions(2));
  EXPECT_EQ(loader.num_batches(), 3);
  EXPECT_THAT(
      error_message<std::invalid_argument>([] { data::DataLoader(counting_dataset(5), data::DataLoaderOptions(0)); }),
      HasSubstr("batch_size must be at least 1, got 0"));
  EXPECT_THAT(error_message<IndexError>([&] { loader.batch(-1); }), HasSubstr("index -1 is out of range"));
  EXPECT_THAT(error_message<std::invalid_argument>([&] { loader.start_epoch(-1); }), HasSubstr("epoch must be >= 0"));
  EXPECT_THAT(error_message<std::invalid_argument>(
                  [] { data::DataLoader(std::shared_ptr<data::Dataset>(), data::DataLoaderOptions(4)); }),
              HasSubstr("null"));
}

// A dataset that remembers the epochs it was told about.
class EpochRecorder : public data::Dataset {
 public:
  int64_t size() const override { return 4; }
  data::Example get(int64_t index) override { return {scalar_tensor(static_cast<float>(index)), scalar_tensor(0)}; }
  void set_epoch(int64_t epoch) override { epochs.push_back(epoch); }
  std::vector<int64_t> epochs;
};

TEST(DataLoader, TellsTheDatasetWhichEpochStarts) {
  auto recorder = std::make_shared<EpochRecorder>();
  data::DataLoader loader(recorder, data::DataLoaderOptions(2));
  loader.start_epoch(0);
  loader.start_epoch(3);
  EXPECT_EQ(recorder->epochs, (std::vector<int64_t>{0, 3}))
      << "start_epoch must call the dataset's set_epoch(epoch): without it, random transforms repeat every epoch";
}

TEST(DataLoader, CollateStacksDataAndTargets) {
  const data::Example batch = data::collate({{ones({1, 2}), scalar_tensor(4)}, {zeros({1, 2}), scalar_tensor(2)}});
  EXPECT_EQ(batch.data.shape(), (Shape{2, 1, 2}));
  EXPECT_EQ(batch.data.to_vector(), (std::vector<float>{1, 1, 0, 0}));
  EXPECT_EQ(batch.target.to_vector(), (std::vector<float>{4, 2}));
  EXPECT_THAT(error_message<std::invalid_argument>([] { data::collate({}); }), HasSubstr("no examples"));
}

// ---------------------------------------------------------------------------------------
// Part 5: the IDX and CIFAR-10 formats

TEST(DataIdx, NumbersAreBigEndian) {
  const uint8_t count[] = {0x00, 0x00, 0xEA, 0x60};
  EXPECT_EQ(ds::read_be32(count), 60000u)
      << "the IDX count 00 00 EA 60 is 60000; 1625948160 (0x60EA0000) means the bytes were read little-endian";
  const uint8_t mixed[] = {0x12, 0x34, 0x56, 0x78};
  EXPECT_EQ(ds::read_be32(mixed), 0x12345678u);
  const uint8_t high[] = {0xFF, 0xFF, 0xFF, 0xFE};
  EXPECT_EQ(ds::read_be32(high), 0xFFFFFFFEu) << "cast each byte to uint32_t before shifting it";
}

TEST(DataIdx, TheHeaderGivesTheSizesAndWhereTheDataStarts) {
  const std::vector<uint8_t> images = idx_bytes({3, 5, 4}, std::vector<uint8_t>(60, 1));
  const ds::IdxHeader h = ds::parse_idx_header(images, 3, "images");
  EXPECT_EQ(h.dims, (std::vector<int64_t>{3, 5, 4}))
      << "the sizes of an IDX file are big-endian 32-bit numbers after the magic number";
  EXPECT_EQ(h.data_offset, 16);
  const ds::IdxHeader l = ds::parse_idx_header(idx_bytes({7}, std::vector<uint8_t>(7, 0)), 1, "labels");
  EXPECT_EQ(l.dims, (std::vector<int64_t>{7}));
  EXPECT_EQ(l.data_offset, 8) << "a label file's header is 8 bytes: the magic number and one size";
}

TEST(DataIdx, PixelsAreScaledToZeroOne) {
  const std::vector<uint8_t> file = idx_bytes({1, 2, 3}, {0, 51, 102, 200, 254, 255});
  const Tensor images = ds::decode_idx_images(ds::parse_idx_header(file, 3, "f"), file);
  ASSERT_EQ(images.shape(), (Shape{1, 1, 2, 3})) << "images are [N, 1, rows, cols]: one grey channel";
  const std::vector<float> v = images.to_vector();
  EXPECT_FLOAT_EQ(v[5], 1.0f) << "pixel 255 must be 1.0: divide by 255 (by 256 gives 0.996; no division gives 255)";
  EXPECT_FLOAT_EQ(v[0], 0.0f);
  EXPECT_NEAR(v[1], 0.2f, 1e-7f);
  EXPECT_NEAR(v[3], 200.0f / 255.0f, 1e-7f)
      << "pixel 200 came out as " << v[3] << ": a negative value means the byte was read as a signed char";
  EXPECT_NEAR(v[4], 254.0f / 255.0f, 1e-7f);
}

TEST(DataIdx, ImagesKeepTheirRowMajorLayout) {
  std::vector<uint8_t> pixels(2 * 3 * 4);
  std::iota(pixels.begin(), pixels.end(), uint8_t{0});
  const std::vector<uint8_t> file = idx_bytes({2, 3, 4}, pixels);
  const Tensor images = ds::decode_idx_images(ds::parse_idx_header(file, 3, "f"), file);
  ASSERT_EQ(images.shape(), (Shape{2, 1, 3, 4})) << "dims {N, rows, cols} = {2, 3, 4} give [2, 1, 3, 4]";
  EXPECT_FLOAT_EQ(images.at({1, 0, 2, 1}) * 255.0f, 1 * 12 + 2 * 4 + 1);
}

TEST(DataIdx, LabelsAreTheBytesAsTheyAre) {
  const std::vector<uint8_t> file = idx_bytes({8}, {3, 1, 4, 1, 5, 9, 2, 6});
  const Tensor labels = ds::decode_idx_labels(ds::parse_idx_header(file, 1, "labels"), file);
  ASSERT_EQ(labels.shape(), (Shape{8}));
  EXPECT_EQ(labels.to_vector(), (std::vector<float>{3, 1, 4, 1, 5, 9, 2, 6}))
      << "labels are the bytes after the 8-byte header, as they are: 0-based classes (no + 1 or - 1), starting at "
         "header.data_offset";
}

TEST(DataIdx, AWrongMagicNumberNamesTheFileAndTheNumbers) {
  const std::vector<uint8_t> labels = idx_bytes({4}, {0, 1, 2, 3});
  EXPECT_EQ(ds::parse_idx_header(labels, 1, "train-labels-idx1-ubyte").dims, (std::vector<int64_t>{4}));
  const std::string message =
      error_message<data::DatasetFormatError>([&] { ds::parse_idx_header(labels, 3, "train-labels-idx1-ubyte"); });
  EXPECT_THAT(message, HasSubstr("train-labels-idx1-ubyte"));
  EXPECT_THAT(message, HasSubstr("magic number 0x00000801"));
  EXPECT_THAT(message, HasSubstr("expected 0x00000803"));
  std::vector<uint8_t> gzip = {0x1F, 0x8B, 0x08, 0x08, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
  EXPECT_THAT(error_message<data::DatasetFormatError>([&] { ds::parse_idx_header(gzip, 3, "x.gz"); }),
              HasSubstr("magic number 0x1F8B0808"));
}

TEST(DataIdx, ATruncatedFileSaysWhatTheHeaderPromised) {
  std::vector<uint8_t> file = idx_bytes({3, 5, 4}, std::vector<uint8_t>(60, 7));
  EXPECT_EQ(ds::parse_idx_header(file, 3, "images").dims[0], 3);
  file.resize(50);
  const std::string message = error_message<data::DatasetFormatError>([&] { ds::parse_idx_header(file, 3, "images"); });
  EXPECT_THAT(message, HasSubstr("images: truncated"));
  EXPECT_THAT(message, HasSubstr("3 x 5 x 4"));
  EXPECT_THAT(message, HasSubstr("76 bytes with the header"));
  EXPECT_THAT(message, HasSubstr("the file has 50 bytes"));
  const std::vector<uint8_t> stub = {0x00, 0x00};
  EXPECT_THAT(error_message<data::DatasetFormatError>([&] { ds::parse_idx_header(stub, 3, "images"); }),
              HasSubstr("truncated: 2 bytes"))
      << "check the length before reading the magic number";
  std::vector<uint8_t> longer = idx_bytes({2}, {1, 2, 3});
  EXPECT_THAT(error_message<data::DatasetFormatError>([&] { ds::parse_idx_header(longer, 1, "labels"); }),
              HasSubstr("too long"));
}

TEST(DataCifar, PlanesAreChannelsNotInterleavedPixels) {
  std::vector<uint8_t> records = cifar_record(6, 0);
  const std::vector<uint8_t> second = cifar_record(2, 5);
  records.insert(records.end(), second.begin(), second.end());
  std::vector<float> images(2 * 3072), labels(2);
  ds::decode_cifar10_records(records.data(), 2, images.data(), labels.data());
  EXPECT_EQ(labels, (std::vector<float>{6, 2})) << "the label is the first byte of each 3073-byte record";
  for (uint32_t r = 0; r < 2; ++r) {
    for (uint32_t p : {0u, 1u, 33u, 1023u}) {
      const uint32_t salt = r == 0 ? 0 : 5;
      const float* image = images.data() + r * 3072;
      EXPECT_FLOAT_EQ(image[p] * 255.0f, red_of(p, salt)) << "record " << r << ", red pixel " << p;
      EXPECT_FLOAT_EQ(image[1024 + p] * 255.0f, green_of(p, salt))
          << "record " << r << ", green pixel " << p
          << ": the planes are R (1024 bytes), then G, then B; reading record[1 + 3p + c] treats them as interleaved "
             "RGB pixels";
      EXPECT_FLOAT_EQ(image[2048 + p] * 255.0f, blue_of(p, salt)) << "record " << r << ", blue pixel " << p;
    }
  }
}

// ---------------------------------------------------------------------------------------
// Part 5: the readers, on generated files in a temporary cache

TEST(DataReaders, ReadAFashionMnistCache) {
  TempDir cache;
  write_idx_dataset(cache.path(), "fashion-mnist", 5, 3);
  ds::FashionMNIST train(cache.path(), true);
  ASSERT_EQ(train.size(), 5);
  EXPECT_EQ(train.images().shape(), (Shape{5, 1, 28, 28}));
  EXPECT_EQ(train.folder(), cache.path() / "fashion-mnist" / "idx");
  const data::Example e = train.get(4);
  EXPECT_EQ(e.target.item(), generated_label(4));
  EXPECT_FLOAT_EQ(e.data.at({0, 1, 2}) * 255.0f, generated_pixel(4, 28 + 2));
  EXPECT_EQ(train.classes().size(), 10u);
  EXPECT_EQ(train.classes()[0], "T-shirt/top");
  EXPECT_EQ(train.classes()[9], "Ankle boot");
  EXPECT_EQ(ds::FashionMNIST(cache.path(), false).size(), 3) << "the test split is the t10k files";
}

TEST(DataReaders, MnistReadsItsOwnFolder) {
  TempDir cache;
  write_idx_dataset(cache.path(), "mnist", 2, 4, 28, 28);
  ds::MNIST test(cache.path(), false);
  EXPECT_EQ(test.size(), 4);
  EXPECT_EQ(test.classes()[7], "7");
  EXPECT_EQ(test.get(3).target.item(), generated_label(3));
  EXPECT_THAT(error_message<data::DatasetNotFound>([&] { ds::FashionMNIST(cache.path(), false); }),
              HasSubstr("fashion-mnist"));
}

TEST(DataReaders, ImagesAndLabelsMustAgree) {
  TempDir cache;
  write_idx_dataset(cache.path(), "fashion-mnist", 5, 3);
  const fs::path labels = cache.path() / "fashion-mnist" / "idx" / "train-labels-idx1-ubyte";
  write_file(labels, idx_bytes({4}, {1, 2, 3, 4}));
  const std::string message = error_message<data::DatasetFormatError>([&] { ds::FashionMNIST(cache.path(), true); });
  EXPECT_THAT(message, HasSubstr("train-images-idx3-ubyte holds 5 images"));
  EXPECT_THAT(message, HasSubstr("train-labels-idx1-ubyte holds 4 labels"));
  write_file(labels, idx_bytes({5}, {1, 2, 10, 4, 5}));
  EXPECT_THAT(error_message<data::DatasetFormatError>([&] { ds::FashionMNIST(cache.path(), true); }),
              HasSubstr("label 10 of example 2 is not a class (expected 0 to 9)"));
}

TEST(DataReaders, CifarReadsFiveTrainingFilesInOrder) {
  TempDir cache;
  write_cifar10(cache.path(), 2);
  ds::CIFAR10 train(cache.path(), true);
  ASSERT_EQ(train.size(), 10) << "the training split is data_batch_1.bin to data_batch_5.bin";
  EXPECT_EQ(train.images().shape(), (Shape{10, 3, 32, 32}));
  EXPECT_EQ(train.targets().to_vector(), (std::vector<float>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
  const data::Example e = train.get(7);  // file 3 (data_batch_4.bin), record 1
  EXPECT_FLOAT_EQ(e.data.at({1, 0, 5}) * 255.0f, green_of(5, 3 * 1000 + 1));
  EXPECT_FLOAT_EQ(e.data.at({2, 31, 31}) * 255.0f, blue_of(1023, 3 * 1000 + 1));
  EXPECT_EQ(train.classes()[3], "cat");
  ds::CIFAR10 test(cache.path(), false);
  EXPECT_EQ(test.size(), 2);
  EXPECT_EQ(test.targets().to_vector(), (std::vector<float>{0, 1}));
}

// ---------------------------------------------------------------------------------------
// Errors: a missing or damaged file says which and what to do

TEST(DataErrors, AMissingFileNamesItAndTheFetchCommand) {
  TempDir cache;
  write_idx_dataset(cache.path(), "fashion-mnist", 2, 2);
  EXPECT_EQ(ds::FashionMNIST(cache.path(), true).size(), 2);
  const fs::path labels = cache.path() / "fashion-mnist" / "idx" / "train-labels-idx1-ubyte";
  fs::remove(labels);
  const std::string message = error_message<data::DatasetNotFound>([&] { ds::FashionMNIST(cache.path(), true); });
  EXPECT_THAT(message, HasSubstr(labels.string() + " does not exist"));
  EXPECT_THAT(message, HasSubstr("tito data --cache " + cache.path().string() + " fetch fashion-mnist"));
  EXPECT_THAT(message, HasSubstr("fetch fashion-mnist --from /usr/share/datasets/fashion-mnist"));

  TempDir empty;
  const ScopedDataDir data_dir(empty.path().c_str());
  EXPECT_EQ(ds::cache_dir(), empty.path()) << "TITO_DATA_DIR names the cache";
  const std::string usual = error_message<data::DatasetNotFound>([] { ds::FashionMNIST(false); });
  EXPECT_THAT(usual, HasSubstr((empty.path() / "fashion-mnist" / "idx" / "t10k-images-idx3-ubyte").string()));
  EXPECT_THAT(usual, HasSubstr("  tito data fetch fashion-mnist\n"));
  EXPECT_THAT(error_message<data::DatasetNotFound>([] { ds::MNIST(true); }), HasSubstr("tito data fetch mnist"));
  EXPECT_THAT(error_message<data::DatasetNotFound>([] { ds::CIFAR10(true); }),
              HasSubstr("data_batch_1.bin does not exist"));
  const ScopedDataDir unset(nullptr);
  EXPECT_EQ(ds::cache_dir(), fs::path(course::root()) / "data" / "cache")
      << "without TITO_DATA_DIR the cache is the course's data/cache";
}

TEST(DataErrors, ACifarFileMissingOrCutShort) {
  TempDir cache;
  write_cifar10(cache.path(), 2);
  EXPECT_EQ(ds::CIFAR10(cache.path(), true).size(), 10);
  const fs::path third = cache.path() / "cifar10" / "cifar-10-batches-bin" / "data_batch_3.bin";
  std::vector<uint8_t> bytes = cifar_record(1, 0);
  bytes.resize(bytes.size() * 2 - 1, 0);
  write_file(third, bytes);
  const std::string truncated = error_message<data::DatasetFormatError>([&] { ds::CIFAR10(cache.path(), true); });
  EXPECT_THAT(truncated,
              HasSubstr("data_batch_3.bin: truncated: 6145 bytes is 1 whole records of 3073 bytes and 3072"));
  fs::remove(third);
  const std::string missing = error_message<data::DatasetNotFound>([&] { ds::CIFAR10(cache.path(), true); });
  EXPECT_THAT(missing, HasSubstr("data_batch_3.bin does not exist"));
  EXPECT_THAT(missing, HasSubstr("fetch cifar10"));
}

// ---------------------------------------------------------------------------------------
// Part 6: transforms

TEST(DataTransforms, AHorizontalFlipReversesEachRow) {
  const Tensor image = tensor({{1, 2, 3}, {4, 5, 6}}).unsqueeze(0);
  const std::vector<float> flipped = T::functional::hflip(image).to_vector();
  EXPECT_NE(flipped, (std::vector<float>{4, 5, 6, 1, 2, 3})) << "that is the vertical flip: the rows swapped";
  EXPECT_EQ(flipped, (std::vector<float>{3, 2, 1, 6, 5, 4}))
      << "a horizontal flip reverses each row (the columns swap)";
  const Tensor two = stack({tensor({{1, 2}, {3, 4}}), tensor({{5, 6}, {7, 8}})});  // [2, 2, 2]
  EXPECT_EQ(T::functional::hflip(two).to_vector(), (std::vector<float>{2, 1, 4, 3, 6, 5, 8, 7})) << "every channel";
}

TEST(DataTransforms, AFlipTwiceIsTheIdentity) {
  const Tensor image = randn({3, 5, 7}, 3);
  EXPECT_EQ(T::functional::hflip(T::functional::hflip(image)).to_vector(), image.to_vector());
  EXPECT_EQ(T::functional::hflip(image).shape(), image.shape());
  EXPECT_THAT(error_message<ShapeError>([] { T::functional::hflip(zeros({4, 4})); }), HasSubstr("[C, H, W]"));
}

// The 4x4 image 1 .. 16, row by row, as [1, 4, 4].
Tensor sixteen() { return arange(1, 17).reshape({1, 4, 4}); }

TEST(DataTransforms, ACropWithPaddingShowsTheZerosAtTheCorner) {
  const std::vector<float> corner = T::functional::padded_crop(sixteen(), 0, 0, 4, 2).to_vector();
  EXPECT_NE(corner, sixteen().to_vector()) << "the window at (0, 0) of the padded image starts 2 pixels outside the "
                                              "image: (top, left) are in padded coordinates, subtract the padding";
  EXPECT_EQ(corner, (std::vector<float>{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 0, 0, 5, 6}));
  EXPECT_EQ(T::functional::padded_crop(sixteen(), 2, 2, 4, 2).to_vector(), sixteen().to_vector())
      << "the window at (padding, padding) is the image itself";
  EXPECT_EQ(T::functional::padded_crop(sixteen(), 4, 3, 4, 2).to_vector(),
            (std::vector<float>{10, 11, 12, 0, 14, 15, 16, 0, 0, 0, 0, 0, 0, 0, 0, 0}));
  EXPECT_EQ(T::functional::padded_crop(sixteen(), 1, 0, 2, 0).to_vector(), (std::vector<float>{5, 6, 9, 10}));
  EXPECT_THAT(error_message<ShapeError>([] { T::functional::padded_crop(sixteen(), 3, 0, 2, 0); }),
              HasSubstr("does not fit"));
}

TEST(DataTransforms, ACropCutsEveryChannelAlike) {
  const Tensor image = arange(3 * 3 * 5).reshape({3, 3, 5});  // 3 channels of 3x5
  const Tensor crop = T::functional::padded_crop(image, 0, 2, 3, 1);
  ASSERT_EQ(crop.shape(), (Shape{3, 3, 3}));
  for (int64_t c = 0; c < 3; ++c) {
    for (int64_t y = 0; y < 3; ++y) {
      for (int64_t x = 0; x < 3; ++x) {
        const int64_t sy = y - 1, sx = 2 + x - 1;
        const float expected = sy >= 0 && sy < 3 && sx >= 0 && sx < 5 ? image.at({c, sy, sx}) : 0.0f;
        EXPECT_EQ(crop.at({c, y, x}), expected) << "channel " << c << ", window pixel (" << y << ", " << x << ")";
      }
    }
  }
}

TEST(DataTransforms, ARandomCropReachesEveryPositionAndNoOther) {
  const Tensor image = sixteen();
  const T::RandomCrop crop(4, /*padding=*/2, /*seed=*/3);
  std::map<std::pair<int64_t, int64_t>, int> positions;
  for (int64_t index = 0; index < 1500; ++index) {
    const std::vector<float> out = crop(image, {index, 0}).to_vector();
    int found = 0;
    for (int64_t top = 0; top <= 4; ++top) {
      for (int64_t left = 0; left <= 4; ++left) {
        if (T::functional::padded_crop(image, top, left, 4, 2).to_vector() == out) {
          ++positions[{top, left}];
          ++found;
        }
      }
    }
    ASSERT_EQ(found, 1) << "the crop of example " << index << " is not a window of the padded image";
  }
  EXPECT_EQ(positions.size(), 25u) << "a 4x4 crop of a 4x4 image padded by 2 fits at 5 x 5 = 25 positions, and "
                                   << positions.size()
                                   << " came up in 1500 examples: draw next_u64() % (H + 2p - size + 1)";
}

TEST(DataTransforms, ARandomCropIsAFunctionOfTheKey) {
  const Tensor image = randn({1, 10, 10}, 4);
  const T::RandomCrop crop(8, 2, 1);
  EXPECT_EQ(crop(image, {5, 2}).to_vector(), crop(image, {5, 2}).to_vector()) << "the same key gives the same crop";
  int different_epochs = 0, different_seeds = 0;
  const T::RandomCrop other_seed(8, 2, 2);
  for (int64_t index = 0; index < 20; ++index) {
    different_epochs += crop(image, {index, 0}).to_vector() != crop(image, {index, 1}).to_vector();
    different_seeds += crop(image, {index, 0}).to_vector() != other_seed(image, {index, 0}).to_vector();
  }
  EXPECT_GE(different_epochs, 12) << "the crops of 20 examples hardly changed from epoch 0 to epoch 1: draw from "
                                     "example_generator(seed_, key), which mixes in the epoch";
  EXPECT_GE(different_seeds, 12) << "two seeds gave the same crops: use the transform's seed";
}

TEST(DataTransforms, ARandomFlipFlipsAFractionPOfTheExamples) {
  const Tensor image = randn({1, 3, 4}, 8);
  const std::vector<float> flipped = T::functional::hflip(image).to_vector();
  int count = 0;
  const T::RandomHorizontalFlip flip(0.3, 5);
  for (int64_t index = 0; index < 4000; ++index) count += flip(image, {index, 1}).to_vector() == flipped;
  EXPECT_NEAR(count / 4000.0, 0.3, 0.03);
  EXPECT_EQ(T::RandomHorizontalFlip(1.0)(image, {3, 0}).to_vector(), flipped);
  EXPECT_EQ(T::RandomHorizontalFlip(0.0)(image, {3, 0}).to_vector(), image.to_vector());
  EXPECT_THAT(error_message<std::invalid_argument>([] { T::RandomHorizontalFlip(1.5); }),
              HasSubstr("p must be in [0, 1]"));
}

TEST(DataTransforms, NormalizeGivesMeanZeroAndStandardDeviationOne) {
  const Tensor red = randn({1, 100, 100}, 1) * 2.0f + 3.0f;    // mean 3, std 2
  const Tensor green = randn({1, 100, 100}, 2) * 0.5f - 1.0f;  // mean -1, std 0.5
  const Tensor out = T::Normalize({3.0f, -1.0f}, {2.0f, 0.5f})(cat({red, green}, 0));
  for (int64_t c = 0; c < 2; ++c) {
    const Tensor channel = select(out, 0, c);
    const float mean = channel.mean().item();
    const float std_dev = std::sqrt(((channel - mean) * (channel - mean)).mean().item());
    EXPECT_NEAR(mean, 0.0f, 0.05f) << "channel " << c << ": subtract that channel's mean";
    EXPECT_NEAR(std_dev, 1.0f, 0.05f) << "channel " << c << " has standard deviation " << std_dev
                                      << " after Normalize: divide by the standard deviation (not the variance), "
                                      << "after subtracting the mean";
  }
}

TEST(DataTransforms, NormalizeUsesTheGivenStatisticsNotTheImages) {
  const Tensor flat = full({1, 2, 2}, 0.5f);
  EXPECT_EQ(T::Normalize({0.25f}, {0.5f})(flat).to_vector(), (std::vector<float>{0.5f, 0.5f, 0.5f, 0.5f}))
      << "(0.5 - 0.25) / 0.5 = 0.5 for every pixel: use the given mean and std, not the image's own";
  const Tensor three = stack({full({2, 2}, 1.0f), full({2, 2}, 2.0f), full({2, 2}, 3.0f)});
  EXPECT_EQ(T::Normalize({1.0f}, {2.0f})(three).to_vector(),
            (std::vector<float>{0, 0, 0, 0, 0.5f, 0.5f, 0.5f, 0.5f, 1, 1, 1, 1}))
      << "one mean and one std apply to every channel";
  EXPECT_THAT(error_message<ShapeError>([&] {
                T::Normalize({1.0f, 2.0f}, {1.0f, 1.0f})(three);
              }),
              HasSubstr("3 channels but 2 means"));
  EXPECT_THAT(error_message<std::invalid_argument>([] { T::Normalize({0.0f}, {0.0f}); }), HasSubstr("must be > 0"));
}

TEST(DataTransforms, ComposeAppliesTheTransformsInOrder) {
  const Tensor x = full({1, 1, 2}, 5.0f);
  const T::Compose forward(T::Normalize({1.0f}, {2.0f}), T::Normalize({0.0f}, {0.5f}));  // ((x - 1) / 2) / 0.5 = x - 1
  EXPECT_EQ(forward(x).to_vector(), (std::vector<float>{4, 4})) << "Compose(a, b) applies a first, then b";
  const T::Compose crop_then_flip(T::RandomCrop(4, 2, 1), T::RandomHorizontalFlip(1.0, 2));
  EXPECT_EQ(crop_then_flip(sixteen(), {9, 3}).to_vector(),
            T::functional::hflip(T::RandomCrop(4, 2, 1)(sixteen(), {9, 3})).to_vector())
      << "every transform of a Compose gets the same key";
}

TEST(DataTransforms, ATransformLeavesItsInputAlone) {
  const Tensor image = randn({2, 6, 6}, 9);
  const std::vector<float> before = image.to_vector();
  T::Compose(T::RandomCrop(6, 1, 1), T::RandomHorizontalFlip(1.0, 2), T::Normalize({1.0f}, {3.0f}))(image, {0, 0});
  T::functional::hflip(image);
  T::functional::padded_crop(image, 0, 0, 4, 0);
  EXPECT_EQ(image.to_vector(), before) << "a transform returns a new image; the dataset's tensor must not change";
}

TEST(DataMapDataset, TheSameExampleGetsTheSameCropInAnyOrder) {
  data::MapDataset cropped(data::TensorDataset(randn({20, 1, 8, 8}, 1), arange(20)), T::RandomCrop(8, 2, 7));
  std::vector<std::vector<float>> forward(20), backward(20);
  for (int64_t i = 0; i < 20; ++i) forward[static_cast<std::size_t>(i)] = cropped.get(i).data.to_vector();
  for (int64_t i = 19; i >= 0; --i) backward[static_cast<std::size_t>(i)] = cropped.get(i).data.to_vector();
  for (std::size_t i = 0; i < 20; ++i) {
    EXPECT_EQ(forward[i], backward[i]) << "example " << i << " got another crop when the examples were read in "
                                       << "another order: key the transform with {index, epoch}, not a counter";
  }
  EXPECT_EQ(cropped.get(4).target.item(), 4.0f) << "the target is not transformed";
  EXPECT_EQ(cropped.size(), 20);
}

TEST(DataMapDataset, CropsChangeFromEpochToEpochThroughTheLoader) {
  data::MapDataset cropped(data::TensorDataset(randn({16, 1, 8, 8}, 2), arange(16)), T::RandomCrop(8, 2, 7));
  data::DataLoader loader(cropped, data::DataLoaderOptions(16));
  loader.start_epoch(0);
  const std::vector<float> epoch0 = loader.batch(0).data.to_vector();
  loader.start_epoch(1);
  const std::vector<float> epoch1 = loader.batch(0).data.to_vector();
  EXPECT_NE(epoch0, epoch1) << "every example got the same crop in epochs 0 and 1: start_epoch must call set_epoch, "
                               "and MapDataset::get must pass its epoch in the key";
  loader.start_epoch(0);
  EXPECT_EQ(loader.batch(0).data.to_vector(), epoch0) << "epoch 0 again must give epoch 0's crops";
}

// ---------------------------------------------------------------------------------------
// Real data: the real Fashion-MNIST from the tito data cache

TEST(DataRealFashionMnist, BothSplitsHaveTheirCountsAndLabels) {
  auto train = real_fashion_mnist(true);
  auto test = real_fashion_mnist(false);
  ASSERT_TRUE(train && test);
  EXPECT_EQ(train->size(), 60000);
  EXPECT_EQ(test->size(), 10000);
  EXPECT_EQ(train->get(0).data.shape(), (Shape{1, 28, 28}));
  EXPECT_EQ(test->get(0).target.item(), 9.0f) << "the first test image of Fashion-MNIST is an ankle boot (class 9)";
  EXPECT_EQ(train->get(0).target.item(), 9.0f) << "so is the first training image";
  EXPECT_EQ(test->classes()[9], "Ankle boot");
  EXPECT_EQ(train->folder(), ds::cache_dir() / "fashion-mnist" / "idx");
  std::vector<int> train_counts(10, 0), test_counts(10, 0);
  for (float label : train->targets().to_vector()) ++train_counts.at(static_cast<std::size_t>(label));
  for (float label : test->targets().to_vector()) ++test_counts.at(static_cast<std::size_t>(label));
  EXPECT_EQ(train_counts, std::vector<int>(10, 6000)) << "Fashion-MNIST's training set has 6,000 images of each class";
  EXPECT_EQ(test_counts, std::vector<int>(10, 1000));
  EXPECT_EQ(train->images().max().item(), 1.0f);
  EXPECT_EQ(-(-train->images()).max().item(), 0.0f);
  const std::vector<std::string> art = data::ascii_art(test->get(0).data);
  EXPECT_EQ(art.size(), 14u);
  EXPECT_EQ(art[0].size(), 28u);
}

TEST(DataRealFashionMnist, PixelStatisticsAreFashionMnists) {
  auto train = real_fashion_mnist(true);
  ASSERT_TRUE(train);
  const Tensor& images = train->images();
  const float* pixel = images.data();
  double sum = 0.0, square = 0.0;
  for (int64_t i = 0; i < images.numel(); ++i) sum += pixel[i];
  const double mean = sum / static_cast<double>(images.numel());
  for (int64_t i = 0; i < images.numel(); ++i) square += (pixel[i] - mean) * (pixel[i] - mean);
  const double std_dev = std::sqrt(square / static_cast<double>(images.numel()));
  EXPECT_NEAR(mean, 0.28604, 1e-4) << "the mean pixel of Fashion-MNIST's training set is 0.2860 (pixels / 255)";
  EXPECT_NEAR(std_dev, 0.35302, 1e-4) << "its standard deviation is 0.3530";
}

// ---------------------------------------------------------------------------------------
// Integration: modules 01-08 as a student uses them

TEST(DataIntegration, AnMlpLearnsRealFashionMnistFromTheLoader) {
  auto train = real_fashion_mnist(true);
  auto test = real_fashion_mnist(false);
  ASSERT_TRUE(train && test);
  const T::Normalize normalize({0.2860f}, {0.3530f});
  data::DataLoader loader(data::MapDataset(*train, normalize),
                          data::DataLoaderOptions(64).shuffle(true).seed(0).drop_last(true));
  nn::Sequential model(nn::Linear(784, 128, true, 1), nn::ReLU(), nn::Linear(128, 10, true, 2));
  optim::Adam adam(model.parameters(), optim::AdamOptions(1e-3));
  data::BatchSource& source = loader;  // what module 07's Trainer reads
  source.start_epoch(0);
  const int64_t steps = 250;  // 16,000 images: about a quarter of an epoch
  double first_losses = 0.0, last_losses = 0.0;
  for (int64_t b = 0; b < steps; ++b) {
    const data::Example batch = source.batch(b);
    const Tensor logits = model(batch.data.reshape({batch.data.size(0), 784}));
    const Tensor loss = nn::functional::cross_entropy(logits, batch.target);
    adam.zero_grad();
    loss.backward();
    adam.step();
    if (b < 20) first_losses += loss.item() / 20.0;
    if (b >= steps - 20) last_losses += loss.item() / 20.0;
  }
  EXPECT_LT(last_losses, 0.8 * first_losses)
      << "the loss did not fall: first 20 batches " << first_losses << ", last 20 " << last_losses;
  model.eval();
  NoGradGuard no_grad;
  data::DataLoader evaluation(data::MapDataset(*test, normalize), data::DataLoaderOptions(1000));
  double correct = 0.0;
  for (const data::Example& batch : evaluation) {
    const Tensor logits = model(batch.data.reshape({batch.data.size(0), 784}));
    ASSERT_TRUE(all_finite(logits));
    correct += nn::functional::accuracy(logits, batch.target) * static_cast<double>(batch.data.size(0));
  }
  const double accuracy = correct / static_cast<double>(evaluation.num_examples());
  std::cout << "[   INFO   ] after " << steps << " batches of 64: test accuracy " << accuracy * 100 << "% on "
            << evaluation.num_examples() << " real test images\n";
  EXPECT_EQ(evaluation.num_examples(), 10000) << "an evaluation loader must see the whole test set";
  EXPECT_GT(accuracy, 0.75) << "an MLP trained on a quarter of an epoch of real Fashion-MNIST should pass 75% test "
                               "accuracy (chance is 10%)";
}

// BEGIN HIDDEN TESTS
TEST(DataHidden, RandomCropDrawsTopThenLeft) {
  const T::RandomCrop crop(3, 1, 11);
  const Tensor image = arange(1, 26).reshape({1, 5, 5});
  for (int64_t index : {0, 1, 2, 17}) {
    Generator g = T::example_generator(11, {index, 4});
    const auto top = static_cast<int64_t>(g.next_u64() % 5);
    const auto left = static_cast<int64_t>(g.next_u64() % 5);
    EXPECT_EQ(crop(image, {index, 4}).to_vector(), T::functional::padded_crop(image, top, left, 3, 1).to_vector());
  }
}

TEST(DataHidden, LoaderEdgeCases) {
  data::DataLoader big(counting_dataset(5), data::DataLoaderOptions(8));
  EXPECT_EQ(big.num_batches(), 1);
  EXPECT_EQ(big.batch(0).data.size(0), 5);
  data::DataLoader big_drop(counting_dataset(5), data::DataLoaderOptions(8).drop_last(true));
  EXPECT_EQ(big_drop.num_batches(), 0);
  EXPECT_EQ(big_drop.num_examples(), 0);
  data::DataLoader none(counting_dataset(0), data::DataLoaderOptions(3));
  EXPECT_EQ(none.num_batches(), 0);
  int batches = 0;
  for (const data::Example& batch : none) batches += static_cast<int>(batch.data.size(0));
  EXPECT_EQ(batches, 0);
  data::DataLoader one(counting_dataset(7), data::DataLoaderOptions(1).shuffle(true).seed(1));
  one.start_epoch(2);
  EXPECT_EQ(one.num_batches(), 7);
  EXPECT_EQ(indices_of(one.batch(6)), std::vector<int64_t>{one.order()[6]});
}

TEST(DataHidden, OpsOnViewsAndEmptyPieces) {
  const Tensor m = arange(12).reshape({3, 4});
  EXPECT_EQ(cat({m, narrow(m, 0, 0, 0), m}, 0).shape(), (Shape{6, 4}));
  EXPECT_EQ(cat({narrow(m, 1, 0, 0), m}, 1).to_vector(), m.to_vector());
  const Tensor s = stack({select(m.t(), 0, 1), select(m.t(), 0, 3)}, 1);  // columns 1 and 3, side by side
  EXPECT_EQ(s.to_vector(), (std::vector<float>{1, 3, 5, 7, 9, 11}));
  EXPECT_EQ(narrow(narrow(m, 1, 1, 3), 0, 1, 2).to_vector(), (std::vector<float>{5, 6, 7, 9, 10, 11}));
  EXPECT_EQ(T::functional::hflip(m.t().unsqueeze(0)).to_vector(),
            (std::vector<float>{8, 4, 0, 9, 5, 1, 10, 6, 2, 11, 7, 3}));
  EXPECT_EQ(T::Normalize({1.0f}, {1.0f})(m.t().unsqueeze(0)).to_vector(), (m.t().contiguous() - 1.0f).to_vector());
  EXPECT_EQ(T::functional::padded_crop(m.t().unsqueeze(0), 1, 0, 2, 0).to_vector(), (std::vector<float>{1, 5, 2, 6}));
}

TEST(DataHidden, AHugeHeaderIsTruncatedNotAnOverflow) {
  const std::vector<uint8_t> file = idx_bytes({100000, 100000, 1}, std::vector<uint8_t>(10, 0));
  EXPECT_THAT(error_message<data::DatasetFormatError>([&] { ds::parse_idx_header(file, 3, "big"); }),
              HasSubstr("10000000016 bytes with the header"));
}

TEST(DataHidden, ARealSizedHeader) {
  std::vector<uint8_t> file = idx_bytes({60000, 28, 28}, std::vector<uint8_t>(60000 * 784, 255));
  const ds::IdxHeader h = ds::parse_idx_header(file, 3, "train-images-idx3-ubyte");
  EXPECT_EQ(h.dims, (std::vector<int64_t>{60000, 28, 28}));
  const Tensor images = ds::decode_idx_images(h, file);
  EXPECT_EQ(images.shape(), (Shape{60000, 1, 28, 28}));
  EXPECT_EQ(images.data()[60000 * 784 - 1], 1.0f);
}

TEST(DataHidden, NestedMapDatasetsPassTheEpochOn) {
  data::MapDataset inner(data::TensorDataset(randn({4, 1, 6, 6}, 5), arange(4)), T::RandomCrop(6, 2, 3));
  auto outer = std::make_shared<data::MapDataset>(inner, T::RandomHorizontalFlip(0.5, 4));
  data::DataLoader loader(outer, data::DataLoaderOptions(4));
  loader.start_epoch(5);
  EXPECT_EQ(outer->epoch(), 5);
  const std::vector<float> through_loader = loader.batch(0).data.to_vector();
  std::vector<Tensor> expected;
  for (int64_t i = 0; i < 4; ++i) {
    const Tensor crop =
        T::RandomCrop(6, 2, 3)(data::TensorDataset(randn({4, 1, 6, 6}, 5), arange(4)).get(i).data, {i, 5});
    expected.push_back(T::RandomHorizontalFlip(0.5, 4)(crop, {i, 5}));
  }
  EXPECT_EQ(through_loader, stack(expected).to_vector());
}

TEST(DataHidden, CifarTestSplitAndLabelRange) {
  TempDir cache;
  write_cifar10(cache.path(), 3);
  EXPECT_EQ(ds::CIFAR10(cache.path(), false).targets().to_vector(), (std::vector<float>{5, 6, 7}));
  std::vector<uint8_t> bad = cifar_record(12, 0);
  write_file(cache.path() / "cifar10" / "cifar-10-batches-bin" / "test_batch.bin", bad);
  EXPECT_THAT(error_message<data::DatasetFormatError>([&] { ds::CIFAR10(cache.path(), false); }),
              HasSubstr("label 12 of example 0 is not a class"));
}

TEST(DataHidden, CollateKeepsTheOrderOfRepeatedExamples) {
  data::TensorDataset ds = counting_dataset(5);
  const data::Example batch = data::collate({ds.get(3), ds.get(1), ds.get(3)});
  EXPECT_EQ(batch.data.to_vector(), (std::vector<float>{3, 1, 3}));
  EXPECT_EQ(batch.target.to_vector(), (std::vector<float>{3, 1, 3}));
}
// END HIDDEN TESTS

}  // namespace
