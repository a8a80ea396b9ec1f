// %% [markdown]
// # Module 07: Training
//
// Modules 01 to 06 gave you every part of learning: a network (03), a loss (04), its gradient
// (05), and a rule that moves the weights downhill (06). Module 06 ended with the loop that
// joins them:
//
// ```cpp
// for (int step = 0; step < steps; ++step) {
//   optimizer.zero_grad();
//   Tensor loss = compute_loss();
//   loss.backward();
//   optimizer.step();
// }
// ```
//
// That loop trains. It does not yet tell you *whether* it trains well. A real run needs more
// around it, and every framework grows the same pieces: PyTorch Lightning's `Trainer`, Keras's
// `fit`, Hugging Face's `Trainer`. In this module you build that machinery for `tinytorch`:
//
// - **batches and epochs**: the data cut into batches, shuffled anew every epoch, from a seed;
// - **one config** that holds every hyperparameter of a run, checked before anything runs;
// - **a training phase and an evaluation phase**: `model.train()` and `model.eval()`, and no
//   graph recorded while evaluating;
// - **metrics that mean what they say**: a loss and an accuracy averaged over *examples*,
//   not over batches;
// - **early stopping**: stop when the validation loss has not improved for `patience` epochs,
//   and keep the best weights;
// - **a CSV log** with one row per epoch, and **training curves** as a PNG;
// - **checkpoints**: the weights, the buffers, the optimizer's state and the epoch, in a file
//   format you design byte by byte, with a checksum and errors that say what is wrong;
// - **reproducibility**: the same seed gives the same numbers, bit for bit.
//
// By the end you will be able to
//
// - write a training step and the two epoch loops, and say why each line is where it is;
// - read a pair of training curves and say whether a model underfits, fits or overfits;
// - explain what has to be seeded for a run to repeat exactly, and what a checkpoint must hold
//   for a resumed run to be the *same* run;
// - design a binary file format that fails loudly (magic number, version, checksum) rather
//   than loading garbage.
//
// ## What you will build
//
// | part | what | you write |
// |---|---|---|
// | 1 | batches: an in-memory `BatchSource`, shuffled per epoch | `shuffle_order` |
// | 2 | `train::Config`: every hyperparameter, checked | `Config::validate` |
// | 3 | the training step | `Trainer::train_step` |
// | 4 | the epoch loops and their metrics | `MetricAccumulator`, `Trainer::train_epoch`, `Trainer::evaluate` |
// | 5 | early stopping | `EarlyStopping::update` |
// | 6 | the CSV log | `csv_row` |
// | 7 | checkpoints | `make_checkpoint`, `encode_checkpoint`, `decode_checkpoint`, `load_model_state` |
// | 8 | `Trainer::fit`: the whole run, with progress, log, curves (given) | |
//
// Given, and yours to read and use: `TensorBatches` (module 08's `DataLoader` is its general
// form), the generated data sets `make_spirals` and `make_circles`, the optimizer factory, the
// byte-level reader and writer of the checkpoint format, the progress bar, the plotting, and
// `fit`, which puts your pieces together.
//
// Difficulty: ⭐ a few lines, ⭐⭐ needs a plan, ⭐⭐⭐ the heart of the module.
//
// After each function, run `tito test training`; `tito module run training` shows the demos:
// a network learning two spirals with a progress bar, its CSV log and curves, early stopping
// catching an overfitting network, a checkpoint restoring a damaged model, and two runs with one
// seed agreeing to the last bit.

// %%
//| default_exp core/training

// %%
//| export
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <iosfwd>
#include <limits>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <tinytorch/core/optim.hpp>
#include <tinytorch/terminal.hpp>

// %%
//| export impl
#include <algorithm>
#include <bit>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <numbers>
#include <sstream>
#include <unordered_map>

#include <tinytorch/files.hpp>
#include <tinytorch/plot.hpp>

// %% [markdown]
// ## Part 1: Batches and epochs
//
// A training set is too big to push through the network at once, and one example at a time is
// too slow and too noisy. So a training loop reads **batches**: `B` examples stacked into one
// tensor `[B, ...]`, with their targets `[B]`. One pass over all the batches is an **epoch**.
//
// `data::BatchSource` is the contract between the data and the loop. The `Trainer` you build
// reads nothing else, so the same loop trains on a tensor in memory (this module's
// `TensorBatches`), on Fashion-MNIST read from disk (module 08's `DataLoader`), or on anything
// else that can say how many batches it has and hand out batch `i`:
//
//     start_epoch(0)  batch(0) batch(1) ... batch(n-1)     epoch 1
//     start_epoch(1)  batch(0) batch(1) ... batch(n-1)     epoch 2, in a new order
//
// The batches of an epoch need not all be the same size: 1,000 examples in batches of 64 are 15
// batches of 64 and one of 40. Part 4 is about what that does to an average.

// %%
//| export
namespace tinytorch::data {

// One batch: inputs [B, ...] and targets [B] (class indices, as floats) or [B, ...].
struct Example {
  Tensor data;
  Tensor target;
};

// A source of batches, epoch after epoch: what Trainer reads (module 08's DataLoader is one).
class BatchSource {
 public:
  virtual ~BatchSource() = default;
  // Batches in one epoch.
  virtual int64_t num_batches() const = 0;
  // Examples in one epoch (the sum of the batch sizes).
  virtual int64_t num_examples() const = 0;
  // Starts epoch `epoch` (0, 1, ...): a shuffling source reorders here, from its seed and the epoch.
  virtual void start_epoch(int64_t epoch) = 0;
  // Batch `index` of the current epoch, 0 <= index < num_batches().
  virtual Example batch(int64_t index) = 0;
};

}  // namespace tinytorch::data

// %% [markdown]
// ### Shuffling, and what it must depend on
//
// Stochastic gradient descent assumes each batch is a fair sample of the data. Data sets are
// often stored in order (all the zeros, then all the ones...), so a loop that reads them in
// order trains on a run of one class, then another, and forgets as it goes. Every epoch
// therefore visits the examples in a fresh random order.
//
// *Random*, but reproducible. The order of epoch `e` is a function of **the seed and `e`
// only**:
//
//     order(seed, epoch) = Fisher–Yates shuffle of 0..n-1, drawing from Generator(derive_seed(seed, epoch))
//
// Why not one generator, seeded once, that keeps drawing epoch after epoch? Because then the
// order of epoch 5 depends on how many numbers were drawn in epochs 1 to 4. A run resumed from a
// checkpoint at epoch 5 starts a fresh generator and sees a *different* epoch 5 from the run
// that never stopped; a data source that is asked for an epoch twice, or a test that runs one
// epoch on its own, would each see something else. A pure function of `(seed, epoch)` has none
// of those problems. (PyTorch's `DistributedSampler` does the same: `set_epoch(e)` seeds the
// shuffle with `seed + epoch`.)
//
// `derive_seed(seed, stream)` (given) turns a seed and a stream number (here the epoch) into
// the seed of a generator of its own. It mixes the pair through SplitMix64's finalizer (the
// scrambling step of module 01's `Generator`), so that neighbouring pairs give unrelated
// streams. Plain `seed + epoch`, as in `DistributedSampler`, does not: the run with seed 1 sees
// the orders of the run with seed 0, one epoch later. Module 08 derives more streams from the
// same function (one per example, for its random crops and flips), so it takes any 64-bit
// stream number, not only an epoch.
//
// The **Fisher–Yates shuffle** is the standard way to make a uniformly random permutation in
// place, in one pass:
//
//     for i = n-1 down to 1:
//         j = a random integer in [0, i]
//         swap(order[i], order[j])
//
// Each position `i`, from the end, gets a uniformly chosen element of those not yet placed.

// %%
//| export
namespace tinytorch::data {

// A seed for stream `stream` (an epoch, an example) of `seed`: different pairs give unrelated
// generators, and the same pair always the same one.
uint64_t derive_seed(uint64_t seed, uint64_t stream);

// The order in which epoch `epoch` visits n examples: a permutation of 0..n-1 that depends on
// (seed, epoch) only (Fisher–Yates, drawing from Generator(derive_seed(seed, epoch))).
// std::invalid_argument for n < 0.
std::vector<int64_t> shuffle_order(int64_t n, uint64_t seed, int64_t epoch);

}  // namespace tinytorch::data

// %%
//| export impl
namespace tinytorch::data {

uint64_t derive_seed(uint64_t seed, uint64_t stream) {
  auto mix = [](uint64_t z) {  // SplitMix64's finalizer: every input bit changes half the output bits
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  };
  // Draw number `stream` (from 0) of Generator(mix(seed)), computed without the draws before it.
  return mix(mix(seed) + 0x9E3779B97F4A7C15ull * (stream + 1));
}

}  // namespace tinytorch::data

// %% [markdown]
// ### ⭐⭐ `shuffle_order`: a reproducible permutation
//
// **TODO**: Return the order of epoch `epoch` for `n` examples: `0, 1, ..., n-1` shuffled with
// Fisher–Yates, drawing from a `Generator` made from `derive_seed(seed, epoch)`.
//
// **APPROACH**:
// 1. `std::vector<int64_t> order(n)`, filled with `0..n-1` (`std::iota`, or a loop).
// 2. `Generator generator(derive_seed(seed, static_cast<uint64_t>(epoch)));`
// 3. For `i` from `n - 1` down to `1`: `j = generator.next_u64() % (i + 1)`, then
//    `std::swap(order[i], order[j])`.
// 4. Return `order`.
//
// **EXAMPLE**:
// ```cpp
// shuffle_order(5, 42, 0)   // {4, 0, 1, 3, 2}: every number once
// shuffle_order(5, 42, 0)   // the same again: a function of (seed, epoch)
// shuffle_order(5, 42, 1)   // {3, 4, 2, 1, 0}: the next epoch, another order
// ```
//
// **HINTS**:
// - Follow the recipe exactly (from the end, `% (i + 1)`, one draw per position): a test checks
//   the exact order a seed gives, because "reproducible" means *the same numbers*, and anyone
//   who reads your code should be able to predict them.
// - Do not keep a `Generator` in a `static` or a member that lives across epochs: the order
//   would then depend on what was drawn before, which is what this design avoids.
// - `j` in `[0, i]`, not `[0, n)`: drawing from the whole range at every step (the "naive
//   shuffle") makes some permutations more likely than others (module 08 counts how much).
// - `% (i + 1)`, not `% i`: `j` must be able to equal `i` (an element may stay where it is).
//   With `% i` (Sattolo's algorithm) every element moves, and only the `(n-1)!` cyclic orders
//   can come out.
//
// **SYSTEMS THINKING**: shuffling moves 8-byte indices, not the examples: 60,000 Fashion-MNIST
// images are 188 MB of floats but their order is 480 KB. The batches gather their rows through
// the order when they are asked for. `% (i + 1)` is very slightly biased (some remainders come
// up once more often, out of 2⁶⁴ draws); for `n` in the millions the bias is about 10⁻¹³, far
// below anything a training run can feel.

// %%
//| export impl
namespace tinytorch::data {

std::vector<int64_t> shuffle_order(int64_t n, uint64_t seed, int64_t epoch) {
  if (n < 0) throw std::invalid_argument("shuffle_order(): n must be >= 0, got " + std::to_string(n));
  // BEGIN SOLUTION
  std::vector<int64_t> order(static_cast<std::size_t>(n));
  for (int64_t i = 0; i < n; ++i) order[static_cast<std::size_t>(i)] = i;
  Generator generator(derive_seed(seed, static_cast<uint64_t>(epoch)));
  for (int64_t i = n - 1; i > 0; --i) {
    const auto j = static_cast<int64_t>(generator.next_u64() % static_cast<uint64_t>(i + 1));
    std::swap(order[static_cast<std::size_t>(i)], order[static_cast<std::size_t>(j)]);
  }
  return order;
  // END SOLUTION
}

}  // namespace tinytorch::data

// %%
//| test
#include <algorithm>
#include <cmath>
#include <sstream>

using namespace tinytorch;

TEST(UnitShuffleOrder, APermutationThatDependsOnSeedAndEpochOnly) {
  std::vector<int64_t> order = data::shuffle_order(100, 7, 3);
  EXPECT_EQ(order, data::shuffle_order(100, 7, 3)) << "the same (seed, epoch) must give the same order";
  EXPECT_NE(order, data::shuffle_order(100, 7, 4)) << "each epoch needs its own order";
  std::sort(order.begin(), order.end());
  for (int64_t i = 0; i < 100; ++i) ASSERT_EQ(order[static_cast<std::size_t>(i)], i) << "not a permutation";
}

// %% [markdown]
// ### `TensorBatches` (given): batches of tensors in memory
//
// The simplest `BatchSource`: a data tensor `[N, ...]` and a target tensor `[N]` (or `[N, ...]`),
// cut into batches of `batch_size` rows, in `shuffle_order` when `shuffle` is on.
// `drop_last` skips a last batch that would be smaller than the others (some layers, such as
// batch normalization in module 09, behave badly on a batch of 3). Module 08's `DataLoader` is
// the general version: any `Dataset`, transforms, files on disk.
//
// A batch is a *copy* of its rows (`gather_rows`), made when it is asked for: the shuffled rows
// are scattered through memory, and the network wants one contiguous `[B, ...]` tensor.
//
// Two more given helpers make the honest, generated problems the demos and tests train on:
// `make_spirals` (interleaved spiral arms, one per class: no straight line separates them) and
// `make_circles` (a ring around a disc). They are generated, not real: module 08 brings the real
// data, and says so.

// %%
//| export
namespace tinytorch::data {

// Rows `rows` of `source` (along its first dimension), in that order, as a new contiguous tensor
// [rows.size(), ...]. IndexError for a row outside the tensor. Not recorded by autograd: for data.
Tensor gather_rows(const Tensor& source, const std::vector<int64_t>& rows);

// How a TensorBatches cuts its tensors.
struct TensorBatchesOptions {
  int64_t batch_size = 64;  // rows per batch (the last one may have fewer)
  bool shuffle = false;     // a new order every epoch, from (seed, epoch)
  uint64_t seed = 0;        // of the shuffle
  bool drop_last = false;   // skip a last batch smaller than batch_size
};

// A BatchSource over a data tensor [N, ...] and a target tensor [N] or [N, ...] held in memory:
// example i is row i of both.
class TensorBatches : public BatchSource {
 public:
  // std::invalid_argument when the tensors do not have the same first dimension N >= 1, or
  // batch_size < 1. The tensors are copied (made contiguous) once.
  TensorBatches(const Tensor& data, const Tensor& targets, TensorBatchesOptions options = {});

  // ceil(N / batch_size), or floor with drop_last.
  int64_t num_batches() const override;
  // N, or the examples of the whole batches with drop_last.
  int64_t num_examples() const override;
  // The order of epoch `epoch`: shuffle_order(N, seed, epoch) with shuffle, else 0..N-1.
  void start_epoch(int64_t epoch) override;
  // Rows order[index * batch_size, ...) of data and targets. IndexError outside 0..num_batches()-1.
  Example batch(int64_t index) override;

  // The visiting order of the current epoch.
  const std::vector<int64_t>& order() const noexcept { return order_; }
  const TensorBatchesOptions& options() const noexcept { return options_; }

 private:
  Tensor data_;
  Tensor targets_;
  TensorBatchesOptions options_;
  std::vector<int64_t> order_;
};

// Two-dimensional points on `classes` interleaved spiral arms, `per_class` on each: data [N, 2]
// with N = classes * per_class, targets [N] (the arm, 0..classes-1). `noise` is the standard
// deviation of Gaussian noise added to every coordinate. A generated problem that no straight line
// separates (CS231n's spiral data).
Example make_spirals(int64_t per_class, int64_t classes = 3, double noise = 0.1, uint64_t seed = 0);

// n points: half on a circle of radius 1 (class 0), half on one of radius `factor` (class 1), with
// Gaussian `noise` (scikit-learn's make_circles): data [n, 2], targets [n].
Example make_circles(int64_t n, double noise = 0.05, double factor = 0.5, uint64_t seed = 0);

}  // namespace tinytorch::data

// %%
//| export impl
namespace tinytorch::data {

Tensor gather_rows(const Tensor& source, const std::vector<int64_t>& rows) {
  if (source.dim() < 1) throw ShapeError("gather_rows(): a tensor of shape [] has no rows");
  const Tensor from = source.is_contiguous() ? source : source.detach().contiguous();
  const int64_t n = from.size(0);
  const int64_t row = n == 0 ? 0 : from.numel() / n;
  Shape shape = from.shape();
  shape[0] = static_cast<int64_t>(rows.size());
  Tensor out = zeros(shape);
  const float* in = from.data();
  float* dst = out.data();
  for (std::size_t i = 0; i < rows.size(); ++i) {
    if (rows[i] < 0 || rows[i] >= n) {
      throw IndexError("gather_rows(): row " + std::to_string(rows[i]) + " of a tensor of shape " +
                       shape_str(from.shape()) + " (rows 0 to " + std::to_string(n - 1) + ")");
    }
    std::memcpy(dst + static_cast<int64_t>(i) * row, in + rows[i] * row, static_cast<std::size_t>(row) * sizeof(float));
  }
  return out;
}

TensorBatches::TensorBatches(const Tensor& data, const Tensor& targets, TensorBatchesOptions options)
    : options_(options) {
  if (!data.defined() || !targets.defined() || data.dim() < 1 || targets.dim() < 1) {
    throw std::invalid_argument("TensorBatches: data and targets must be tensors with a first dimension");
  }
  if (data.size(0) != targets.size(0) || data.size(0) < 1) {
    throw std::invalid_argument("TensorBatches: data " + shape_str(data.shape()) + " and targets " +
                                shape_str(targets.shape()) + " must have the same number of rows, at least 1");
  }
  if (options.batch_size < 1) {
    throw std::invalid_argument("TensorBatches: batch_size must be >= 1, got " + std::to_string(options.batch_size));
  }
  NoGradGuard no_grad;
  data_ = data.detach().contiguous().clone();
  targets_ = targets.detach().contiguous().clone();
  start_epoch(0);
}

int64_t TensorBatches::num_batches() const {
  const int64_t n = data_.size(0), b = options_.batch_size;
  return options_.drop_last ? n / b : (n + b - 1) / b;
}

int64_t TensorBatches::num_examples() const {
  return options_.drop_last ? num_batches() * options_.batch_size : data_.size(0);
}

void TensorBatches::start_epoch(int64_t epoch) {
  const int64_t n = data_.size(0);
  if (options_.shuffle) {
    order_ = shuffle_order(n, options_.seed, epoch);
    return;
  }
  order_.resize(static_cast<std::size_t>(n));
  for (int64_t i = 0; i < n; ++i) order_[static_cast<std::size_t>(i)] = i;
}

Example TensorBatches::batch(int64_t index) {
  if (index < 0 || index >= num_batches()) {
    throw IndexError("TensorBatches::batch(" + std::to_string(index) + "): an epoch has batches 0 to " +
                     std::to_string(num_batches() - 1));
  }
  const int64_t first = index * options_.batch_size;
  const int64_t last = std::min(first + options_.batch_size, data_.size(0));
  const std::vector<int64_t> rows(order_.begin() + first, order_.begin() + last);
  return {gather_rows(data_, rows), gather_rows(targets_, rows)};
}

Example make_spirals(int64_t per_class, int64_t classes, double noise, uint64_t seed) {
  if (per_class < 1 || classes < 2) throw std::invalid_argument("make_spirals(): needs per_class >= 1 and classes >= 2");
  Generator generator(seed);
  const int64_t n = per_class * classes;
  std::vector<float> points, labels;
  points.reserve(static_cast<std::size_t>(2 * n));
  for (int64_t c = 0; c < classes; ++c) {
    for (int64_t i = 0; i < per_class; ++i) {
      const double r = per_class == 1 ? 1.0 : static_cast<double>(i) / static_cast<double>(per_class - 1);
      const double angle = 4.0 * r + 2.0 * std::numbers::pi * static_cast<double>(c) / static_cast<double>(classes);
      points.push_back(static_cast<float>(r * std::sin(angle) + noise * generator.normal()));
      points.push_back(static_cast<float>(r * std::cos(angle) + noise * generator.normal()));
      labels.push_back(static_cast<float>(c));
    }
  }
  return {Tensor(points, {n, 2}), Tensor(labels, {n})};
}

Example make_circles(int64_t n, double noise, double factor, uint64_t seed) {
  if (n < 2) throw std::invalid_argument("make_circles(): needs n >= 2");
  Generator generator(seed);
  std::vector<float> points, labels;
  for (int64_t i = 0; i < n; ++i) {
    const int64_t label = i % 2;
    const double angle = 2.0 * std::numbers::pi * generator.uniform();
    const double radius = label == 0 ? 1.0 : factor;
    points.push_back(static_cast<float>(radius * std::cos(angle) + noise * generator.normal()));
    points.push_back(static_cast<float>(radius * std::sin(angle) + noise * generator.normal()));
    labels.push_back(static_cast<float>(label));
  }
  return {Tensor(points, {n, 2}), Tensor(labels, {n})};
}

}  // namespace tinytorch::data

// %%
//| test
TEST(UnitTensorBatches, EveryExampleOnceAndASmallerLastBatch) {
  const Tensor x = arange(10.0f).reshape({10, 1});
  data::TensorBatches batches(x, arange(10.0f), {.batch_size = 4, .shuffle = true, .seed = 1});
  EXPECT_EQ(batches.num_batches(), 3);
  EXPECT_EQ(batches.batch(2).data.shape(), (Shape{2, 1})) << "10 examples in batches of 4: 4, 4 and 2";
  std::vector<float> seen;
  for (int64_t b = 0; b < 3; ++b) {
    for (float v : batches.batch(b).data.to_vector()) seen.push_back(v);
  }
  std::sort(seen.begin(), seen.end());
  EXPECT_EQ(seen, arange(10.0f).to_vector());
}

// %% [markdown]
// ## Part 2: One config for the whole run
//
// A training run has a dozen or more numbers that decide how it goes: epochs, batch size,
// learning rate, the optimizer and its options, the schedule, clipping, patience, the seed. Put
// them in **one struct**, each with a comment and a sensible default, and three good things
// follow:
//
// 1. **A run is described by one value.** Printed at the start of the log, it says exactly what
//    produced these numbers. Two runs that differ differ in a printed line.
// 2. **Nothing is scattered.** No learning rate hard-coded in one file and a batch size in
//    another; no "magic number" nobody remembers choosing.
// 3. **It can be checked before anything runs.** A learning rate of `-0.1` or a batch size of 0
//    should fail in the first millisecond with a message that names the field, not after an
//    hour of training, and not as a NaN.
//
// Production frameworks all have one: Lightning's `Trainer(...)` arguments, Hugging Face's
// `TrainingArguments`, the `config` dictionary of every research codebase. Ours is
// `train::Config`, a plain struct you fill with designated initializers:
//
// ```cpp
// train::Config config{.epochs = 30, .batch_size = 32, .lr = 1e-2, .patience = 5, .seed = 42};
// config.validate();          // throws ConfigError("Config.lr = -0.1: must be ...") for a bad value
// std::cout << config;        // every field, one per line: the record of the run
// ```
//
// `make_optimizer` and `make_scheduler` (given) turn it into module 06's objects.

// %%
//| export
namespace tinytorch::train {

// Which optimizer of module 06 a run uses.
enum class OptimizerKind { SGD, Adam, AdamW };
// How the learning rate changes from epoch to epoch.
enum class Schedule {
  Constant,  // lr every epoch
  Step,      // lr * gamma every step_size epochs (optim::StepLR)
  Cosine,    // from lr down to eta_min over the epochs (optim::CosineAnnealingLR)
};
// What the run prints while it trains.
enum class ProgressMode {
  Auto,   // a redrawn bar on a smart terminal, plain lines in a pipe or CI
  Bar,    // the bar even when the terminal does not look smart
  Lines,  // one plain line per epoch
  Off,    // nothing
};

// "SGD", "Adam", "AdamW"; "constant", "step", "cosine"; "auto", "bar", "lines", "off".
std::string to_string(OptimizerKind kind);
std::string to_string(Schedule schedule);
std::string to_string(ProgressMode mode);

// A hyperparameter with a value it cannot have: what() is "Config.FIELD = VALUE: what it must be".
class ConfigError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

// Every hyperparameter of a training run, with its default.
struct Config {
  // -- how long
  int64_t epochs = 10;       // passes over the training data
  int64_t max_batches = 0;   // at most this many batches per epoch in each phase; 0: all (a quick check uses a few)
  // -- data
  int64_t batch_size = 64;   // examples per optimizer step (for batch_options: the sources are built with it)
  bool shuffle = true;       // visit the training examples in a new order every epoch, from (seed, epoch)
  bool drop_last = false;    // skip a last training batch smaller than batch_size
  // -- optimizer (module 06)
  OptimizerKind optimizer = OptimizerKind::Adam;
  double lr = 1e-3;          // learning rate of the first epoch: 1e-3 suits Adam, 0.01-0.1 suits SGD
  double momentum = 0.9;     // SGD only: how much of the last step's velocity carries over (0: plain SGD)
  bool nesterov = false;     // SGD only: Nesterov momentum (needs momentum > 0)
  double weight_decay = 0;   // SGD and Adam: L2 added to the gradient; AdamW: the decoupled decay (0.01 is usual)
  double beta1 = 0.9;        // Adam, AdamW: decay rate of the moving average of the gradient
  double beta2 = 0.999;      // Adam, AdamW: decay rate of the moving average of its square
  double eps = 1e-8;         // Adam, AdamW: added to the denominator
  // -- learning-rate schedule
  Schedule schedule = Schedule::Constant;
  int64_t step_size = 10;    // Step: epochs between two drops
  double gamma = 0.1;        // Step: the factor of each drop
  double eta_min = 0;        // Cosine: the learning rate the cosine reaches at the last epoch
  // -- gradients
  double clip_norm = 0;      // clip the total gradient norm to this before each step; 0: no clipping (1.0 is common)
  // -- early stopping (needs a validation source)
  int64_t patience = 0;      // stop after this many epochs in a row without a better validation loss; 0: never stop
  double min_delta = 0;      // a validation loss counts as better only when it is lower by more than this
  bool restore_best = true;  // end the run with the weights of the epoch of the best validation loss
  // -- reproducibility
  uint64_t seed = 0;         // the data order (batch_options) and whatever else the run seeds from it
  // -- output
  std::string out_dir;       // where log.csv, curves.png, last.ttc and best.ttc go; "": write no files
  bool save_checkpoints = true;  // with out_dir: last.ttc after every epoch, best.ttc at every improvement
  ProgressMode progress = ProgressMode::Auto;  // what the run prints

  // Throws ConfigError for the first field with a value it cannot have, naming the field and the value.
  void validate() const;
};

// Every field, one "name = value" per line, in the order above.
std::ostream& operator<<(std::ostream& os, const Config& config);

// The options of the training (training = true) or evaluation source for this config: its batch
// size, and the shuffle, seed and drop_last of training (an evaluation source is read in order,
// whole).
data::TensorBatchesOptions batch_options(const Config& config, bool training);

// The optimizer the config names, over `parameters`, with its learning rate and options.
std::unique_ptr<optim::Optimizer> make_optimizer(const Config& config, std::vector<Tensor> parameters);

// The schedule the config names, driving `optimizer` (which must outlive it); null for Constant.
std::unique_ptr<optim::LRScheduler> make_scheduler(const Config& config, optim::Optimizer& optimizer);

}  // namespace tinytorch::train

// %%
//| export impl
namespace tinytorch::train {

namespace {

// 0.001 -> "0.001", 1e-08 -> "1e-08", 3 -> "3": numbers as a person writes them.
std::string number_str(double value) {
  std::ostringstream out;
  out << value;
  return out.str();
}

std::string quoted(const std::string& text) { return "\"" + text + "\""; }

// Throws ConfigError("Config.<field> = <value>: <rule>") unless ok.
void require(bool ok, const char* field, const std::string& value, const char* rule) {
  if (!ok) throw ConfigError(std::string("Config.") + field + " = " + value + ": " + rule);
}
void require(bool ok, const char* field, double value, const char* rule) {
  require(ok, field, number_str(value), rule);
}
void require(bool ok, const char* field, int64_t value, const char* rule) {
  require(ok, field, std::to_string(value), rule);
}

}  // namespace

std::string to_string(OptimizerKind kind) {
  switch (kind) {
    case OptimizerKind::SGD: return "SGD";
    case OptimizerKind::Adam: return "Adam";
    case OptimizerKind::AdamW: return "AdamW";
  }
  return "?";
}

std::string to_string(Schedule schedule) {
  switch (schedule) {
    case Schedule::Constant: return "constant";
    case Schedule::Step: return "step";
    case Schedule::Cosine: return "cosine";
  }
  return "?";
}

std::string to_string(ProgressMode mode) {
  switch (mode) {
    case ProgressMode::Auto: return "auto";
    case ProgressMode::Bar: return "bar";
    case ProgressMode::Lines: return "lines";
    case ProgressMode::Off: return "off";
  }
  return "?";
}

std::ostream& operator<<(std::ostream& os, const Config& c) {
  const char* yes_no[] = {"false", "true"};
  os << "epochs = " << c.epochs << "\n"
     << "max_batches = " << c.max_batches << "\n"
     << "batch_size = " << c.batch_size << "\n"
     << "shuffle = " << yes_no[c.shuffle] << "\n"
     << "drop_last = " << yes_no[c.drop_last] << "\n"
     << "optimizer = " << to_string(c.optimizer) << "\n"
     << "lr = " << number_str(c.lr) << "\n"
     << "momentum = " << number_str(c.momentum) << "\n"
     << "nesterov = " << yes_no[c.nesterov] << "\n"
     << "weight_decay = " << number_str(c.weight_decay) << "\n"
     << "beta1 = " << number_str(c.beta1) << "\n"
     << "beta2 = " << number_str(c.beta2) << "\n"
     << "eps = " << number_str(c.eps) << "\n"
     << "schedule = " << to_string(c.schedule) << "\n"
     << "step_size = " << c.step_size << "\n"
     << "gamma = " << number_str(c.gamma) << "\n"
     << "eta_min = " << number_str(c.eta_min) << "\n"
     << "clip_norm = " << number_str(c.clip_norm) << "\n"
     << "patience = " << c.patience << "\n"
     << "min_delta = " << number_str(c.min_delta) << "\n"
     << "restore_best = " << yes_no[c.restore_best] << "\n"
     << "seed = " << c.seed << "\n"
     << "out_dir = " << quoted(c.out_dir) << "\n"
     << "save_checkpoints = " << yes_no[c.save_checkpoints] << "\n"
     << "progress = " << to_string(c.progress) << "\n";
  return os;
}

}  // namespace tinytorch::train

// %% [markdown]
// ### ⭐ `Config::validate`: fail in the first millisecond
//
// **TODO**: Check every field that can hold a value that makes no sense, in the order they are
// declared, with `require(ok, "field", value, "what it must be")` (given: it throws
// `ConfigError("Config.field = value: what it must be")` when `ok` is false).
//
// **APPROACH**: One `require` per rule:
//
// | field | must be |
// |---|---|
// | `epochs`, `batch_size`, `step_size` | `>= 1` |
// | `max_batches`, `patience` | `>= 0` |
// | `lr` | finite and `> 0` |
// | `momentum` | in `[0, 1)` |
// | `nesterov` | only with `optimizer == SGD` and `momentum > 0` (pass `"true"` as the value) |
// | `weight_decay`, `eps`, `eta_min`, `clip_norm`, `min_delta` | finite and `>= 0` |
// | `beta1`, `beta2` | in `[0, 1)` |
// | `gamma` | in `(0, 1]` |
// | `eta_min` | also `<= lr` |
//
// Write "finite" as `std::isfinite(x)`; a NaN fails `x > 0` *and* `x <= 0`, so test what a value
// must be (`lr > 0`), never what it must not be (`!(lr <= 0)` lets NaN through).
//
// **EXAMPLE**:
// ```cpp
// train::Config{.lr = -0.1}.validate();
// // ConfigError: Config.lr = -0.1: must be a finite number > 0
// train::Config{.batch_size = 0}.validate();
// // ConfigError: Config.batch_size = 0: must be at least 1
// ```
//
// **HINTS**:
// - The rule texts are yours to word; a test checks that the message starts with
//   `Config.<field> = <value>: ` and names the right field.
// - `require` has overloads for `double`, `int64_t` and a `std::string` value.
//
// **SYSTEMS THINKING**: a misconfigured run on a cluster can burn a thousand GPU-hours before
// anyone looks at it. Validation is the cheapest code in the training stack per hour saved,
// which is why Hugging Face's `TrainingArguments.__post_init__` is several hundred lines of it.

// %%
//| export impl
namespace tinytorch::train {

void Config::validate() const {
  // BEGIN SOLUTION
  require(epochs >= 1, "epochs", epochs, "must be at least 1");
  require(max_batches >= 0, "max_batches", max_batches, "must be >= 0 (0: every batch)");
  require(batch_size >= 1, "batch_size", batch_size, "must be at least 1");
  require(std::isfinite(lr) && lr > 0, "lr", lr, "must be a finite number > 0");
  require(momentum >= 0 && momentum < 1, "momentum", momentum, "must be in [0, 1)");
  require(!nesterov || (optimizer == OptimizerKind::SGD && momentum > 0), "nesterov", std::string("true"),
          "needs optimizer = SGD and momentum > 0");
  require(std::isfinite(weight_decay) && weight_decay >= 0, "weight_decay", weight_decay, "must be a finite number >= 0");
  require(beta1 >= 0 && beta1 < 1, "beta1", beta1, "must be in [0, 1)");
  require(beta2 >= 0 && beta2 < 1, "beta2", beta2, "must be in [0, 1)");
  require(std::isfinite(eps) && eps >= 0, "eps", eps, "must be a finite number >= 0");
  require(step_size >= 1, "step_size", step_size, "must be at least 1");
  require(gamma > 0 && gamma <= 1, "gamma", gamma, "must be in (0, 1]");
  require(std::isfinite(eta_min) && eta_min >= 0 && eta_min <= lr, "eta_min", eta_min, "must be in [0, lr]");
  require(std::isfinite(clip_norm) && clip_norm >= 0, "clip_norm", clip_norm, "must be a finite number >= 0 (0: off)");
  require(patience >= 0, "patience", patience, "must be >= 0 (0: no early stopping)");
  require(std::isfinite(min_delta) && min_delta >= 0, "min_delta", min_delta, "must be a finite number >= 0");
  // END SOLUTION
}

data::TensorBatchesOptions batch_options(const Config& config, bool training) {
  return {.batch_size = config.batch_size,
          .shuffle = training && config.shuffle,
          .seed = config.seed,
          .drop_last = training && config.drop_last};
}

std::unique_ptr<optim::Optimizer> make_optimizer(const Config& c, std::vector<Tensor> parameters) {
  switch (c.optimizer) {
    case OptimizerKind::SGD:
      return std::make_unique<optim::SGD>(
          std::move(parameters),
          optim::SGDOptions(c.lr).momentum(c.momentum).nesterov(c.nesterov).weight_decay(c.weight_decay));
    case OptimizerKind::Adam:
      return std::make_unique<optim::Adam>(
          std::move(parameters),
          optim::AdamOptions(c.lr).betas({c.beta1, c.beta2}).eps(c.eps).weight_decay(c.weight_decay));
    case OptimizerKind::AdamW:
      return std::make_unique<optim::AdamW>(
          std::move(parameters),
          optim::AdamWOptions(c.lr).betas({c.beta1, c.beta2}).eps(c.eps).weight_decay(c.weight_decay));
  }
  throw ConfigError("Config.optimizer: not one of SGD, Adam, AdamW");
}

std::unique_ptr<optim::LRScheduler> make_scheduler(const Config& c, optim::Optimizer& optimizer) {
  switch (c.schedule) {
    case Schedule::Constant: return nullptr;
    case Schedule::Step: return std::make_unique<optim::StepLR>(optimizer, c.step_size, c.gamma);
    case Schedule::Cosine: return std::make_unique<optim::CosineAnnealingLR>(optimizer, c.epochs, c.eta_min);
  }
  throw ConfigError("Config.schedule: not one of constant, step, cosine");
}

}  // namespace tinytorch::train

// %%
//| test
TEST(UnitConfig, ABadValueIsNamedWithItsField) {
  EXPECT_NO_THROW(train::Config{}.validate()) << "the defaults must be valid";
  try {
    train::Config{.lr = -0.1}.validate();
    ADD_FAILURE() << "a negative learning rate must be refused";
  } catch (const train::ConfigError& e) {
    EXPECT_EQ(std::string(e.what()).rfind("Config.lr = -0.1: ", 0), 0u) << e.what();
  }
}

// %% [markdown]
// ## Part 3: The training step
//
// One step of training, for one batch, is six lines, and their order is the whole lesson:
//
//     1. optimizer.zero_grad()            forget the last batch's gradients
//     2. logits = model(batch.data)       forward: recorded by autograd
//     3. loss = cross_entropy(logits, y)  how wrong, on average over the batch
//     4. loss.backward()                  every parameter's .grad()
//     5. clip_grad_norm_(parameters, c)   optional: cap the step's size
//     6. optimizer.step()                 move every weight
//
// - **`zero_grad` first.** Gradients *accumulate* (module 05): without it, step 2's gradient
//   is added to step 1's, step 3's to both, and the optimizer follows the sum of every batch so
//   far. Training still "works" for a while, which is what makes the bug dangerous.
// - **Clip between backward and step**: after the gradients exist, before they are used.
//   `clip_grad_norm_` returns the norm *before* clipping; we return it either way (measured with
//   the given `gradient_norm` when not clipping), because a gradient norm that climbs is the
//   earliest warning that a run is about to diverge, and module 08's milestones record it for
//   every batch.
// - **Accuracy comes from the same logits**: no second forward pass. It is the accuracy of
//   the weights *before* this step, which is what "training accuracy" means in every log.
//
// The training step leaves this batch's gradients in `.grad()` (the next step's `zero_grad`
// clears them), so hooks and tests can look at them.
//
// Our `Trainer` is for classification: the model returns logits `[B, C]`, the targets are
// class indices `[B]`, the loss is `cross_entropy` and the metric is `accuracy` (module 04).
//
// Here is the `Trainer` whole; you write its step and its two loops, `fit` is given.

// %%
//| export
namespace tinytorch::train {

// The mean loss and accuracy of one phase (an epoch of training, or one evaluation).
struct PhaseMetrics {
  double loss = std::numeric_limits<double>::quiet_NaN();      // mean cross-entropy per example
  double accuracy = std::numeric_limits<double>::quiet_NaN();  // fraction of examples classified right
  int64_t examples = 0;
  int64_t batches = 0;
  double seconds = 0;
};

// Adds up the batches of a phase and averages them over examples.
class MetricAccumulator {
 public:
  MetricAccumulator();
  // Adds one batch: its mean loss and its accuracy over its `batch_size` examples.
  void add(double mean_loss, double accuracy, int64_t batch_size);
  // The means over every example added so far (NaN before the first), the counts, and the
  // seconds since the accumulator was made.
  PhaseMetrics result() const;

 private:
  double loss_sum_ = 0;  // sum over examples of their loss
  double correct_ = 0;   // examples classified right
  int64_t examples_ = 0;
  int64_t batches_ = 0;
  std::chrono::steady_clock::time_point started_;
};

// What one training step reports.
struct StepResult {
  double loss = 0;        // the batch's mean loss
  double accuracy = 0;    // the fraction of the batch classified right (before the step)
  int64_t batch_size = 0;
  double grad_norm = 0;   // the total gradient norm, before any clipping
};

// What a batch hook hears after every training step (a milestone records loss and grad_norm).
struct BatchEvent {
  int64_t epoch = 0;    // 1 for the first epoch
  int64_t batch = 0;    // 1 for the first batch of the epoch
  int64_t batches = 0;  // batches this epoch
  double loss = 0;
  double accuracy = 0;
  double grad_norm = 0;
  int64_t batch_size = 0;
  double lr = 0;        // the learning rate of the step
};

// One row of the log: an epoch of training and its evaluation.
struct EpochMetrics {
  int64_t epoch = 0;         // 1 for the first
  PhaseMetrics train;
  PhaseMetrics validation;   // examples == 0 when the run has no validation source
  double lr = 0;             // the learning rate the epoch trained with
  double seconds = 0;        // wall time of the epoch: training and validation
  double examples_per_second = 0;  // training examples per second of training
  bool improved = false;     // the best validation loss so far

  bool has_validation() const noexcept { return validation.examples > 0; }
};

// The record of a run.
struct History {
  std::vector<EpochMetrics> epochs;
  int64_t best_epoch = 0;   // the epoch of the best validation loss; 0 without validation
  double best_loss = std::numeric_limits<double>::quiet_NaN();
  int64_t stopped_epoch = 0;  // the epoch after which early stopping ended the run; 0 if it ran to the end
  bool restored_best = false; // the model was given back the weights of best_epoch
  std::vector<std::filesystem::path> files;  // what the run wrote
};

using BatchHook = std::function<void(const BatchEvent&)>;
using EpochHook = std::function<void(const EpochMetrics&)>;

// A training run that went wrong in a way the trainer can name (a NaN loss, say).
class TrainingError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The total (2-)norm of the gradients of `parameters`, as one vector; parameters without a
// gradient are skipped. What clip_grad_norm_ returns, without clipping.
double gradient_norm(const std::vector<Tensor>& parameters);

// Trains a classifier (logits [B, C], class indices [B], cross-entropy) as the config says.
class Trainer {
 public:
  // Checks the config (Config::validate) and makes its optimizer and schedule for
  // model.parameters(). The model must outlive the trainer.
  Trainer(nn::Module& model, Config config);

  // Where fit() prints, and for what kind of terminal (default: std::cout, as term::detect()
  // finds it; config.progress can force the bar, plain lines, or silence).
  void set_output(std::ostream& out, term::Terminal terminal);
  // Called after every training step, in the order added.
  void on_batch(BatchHook hook);
  // Called after every epoch, with its row of the log.
  void on_epoch(EpochHook hook);

  // One step on one batch: zero_grad, forward, loss, backward, clip, step.
  StepResult train_step(const data::Example& batch);
  // One epoch of training (epoch_index 0 for the first: what source.start_epoch gets), in
  // training mode, averaged over examples.
  PhaseMetrics train_epoch(data::BatchSource& source, int64_t epoch_index);
  // The loss and accuracy on `source`, in evaluation mode, without recording a graph or
  // changing a weight.
  PhaseMetrics evaluate(data::BatchSource& source);
  // Trains from epoch epochs_done() + 1 to config().epochs, evaluating on `validation` after
  // each epoch when given: the log, early stopping, checkpoints, curves (see part 8).
  History fit(data::BatchSource& train, data::BatchSource* validation = nullptr);

  // Writes the model, the optimizer's state and epochs_done() to `path` (part 7).
  void save_checkpoint(const std::filesystem::path& path) const;
  // Restores what save_checkpoint wrote, and the schedule at that epoch; returns the epoch.
  int64_t load_checkpoint(const std::filesystem::path& path);

  nn::Module& model() noexcept { return model_; }
  optim::Optimizer& optimizer() noexcept { return *optimizer_; }
  const Config& config() const noexcept { return config_; }
  const History& history() const noexcept { return history_; }
  // Epochs trained so far (by fit, or restored by load_checkpoint).
  int64_t epochs_done() const noexcept { return epochs_done_; }

 private:
  // Runs train_step on batch `index` of `batches`, checks that the loss is finite, and tells the
  // batch hooks and the progress bar (given; train_epoch calls it).
  StepResult run_batch(const data::Example& batch, int64_t epoch_index, int64_t index, int64_t batches);
  // The batches a phase runs: all of the source's, or config().max_batches of them.
  int64_t batches_to_run(const data::BatchSource& source) const;
  // The output's terminal, as config().progress decides.
  term::Terminal output_terminal() const;

  nn::Module& model_;
  Config config_;
  std::vector<Tensor> parameters_;
  std::unique_ptr<optim::Optimizer> optimizer_;
  std::unique_ptr<optim::LRScheduler> scheduler_;
  std::vector<BatchHook> batch_hooks_;
  std::vector<EpochHook> epoch_hooks_;
  std::ostream* out_;
  std::optional<term::Terminal> terminal_;
  std::unique_ptr<term::StatusLine> status_;  // while fit() runs
  double running_loss_ = 0;                   // of the epoch so far, for the status line
  int64_t running_examples_ = 0;
  History history_;
  int64_t epochs_done_ = 0;
};

}  // namespace tinytorch::train

// %%
//| export impl
namespace tinytorch::train {

double gradient_norm(const std::vector<Tensor>& parameters) {
  std::vector<Tensor> grads;
  for (const Tensor& p : parameters) {
    if (p.grad().defined()) grads.push_back(p.grad());
  }
  return nn::utils::get_total_norm(grads);
}

Trainer::Trainer(nn::Module& model, Config config) : model_(model), config_(std::move(config)), out_(&std::cout) {
  config_.validate();
  parameters_ = model_.parameters();
  if (parameters_.empty()) throw std::invalid_argument("Trainer: the model (" + model_.name() + ") has no parameters to train");
  optimizer_ = make_optimizer(config_, parameters_);
  scheduler_ = make_scheduler(config_, *optimizer_);
}

void Trainer::set_output(std::ostream& out, term::Terminal terminal) {
  out_ = &out;
  terminal_ = terminal;
}

void Trainer::on_batch(BatchHook hook) { batch_hooks_.push_back(std::move(hook)); }

void Trainer::on_epoch(EpochHook hook) { epoch_hooks_.push_back(std::move(hook)); }

int64_t Trainer::batches_to_run(const data::BatchSource& source) const {
  const int64_t all = source.num_batches();
  return config_.max_batches > 0 ? std::min(all, config_.max_batches) : all;
}

}  // namespace tinytorch::train

// %% [markdown]
// ### ⭐⭐ `Trainer::train_step`
//
// **TODO**: Run the six lines above on `batch`, through `optimizer_` and `model_`, and return
// the batch's loss, accuracy, size and gradient norm.
//
// **APPROACH**:
// 1. `optimizer_->zero_grad();`
// 2. `const Tensor logits = model_(batch.data);` and
//    `const Tensor loss = nn::functional::cross_entropy(logits, batch.target);`
// 3. `loss.backward();`
// 4. `grad_norm`: `nn::utils::clip_grad_norm_(parameters_, config_.clip_norm)` when
//    `config_.clip_norm > 0`, otherwise `gradient_norm(parameters_)`.
// 5. `optimizer_->step();`
// 6. Return `{loss.item(), nn::functional::accuracy(logits, batch.target), batch.data.size(0), grad_norm}`.
//
// **EXAMPLE**:
// ```cpp
// train::Trainer trainer(model, {.optimizer = train::OptimizerKind::SGD, .lr = 0.1, .momentum = 0});
// train::StepResult r = trainer.train_step(batch);   // r.loss 1.09 (about ln 3 for 3 classes at the start)
// // every weight moved by -0.1 * its .grad(), which holds this batch's gradient
// ```
//
// **HINTS**:
// - `zero_grad()` *first*. At the end it would also clear the gradients before anyone looked
//   at them, and a test looks at them.
// - `model_(x)` is `model_.forward(x)` (module 03).
// - `parameters_` holds the same tensors as the model (handles), so clipping them clips the
//   gradients the optimizer will use.
//
// **SYSTEMS THINKING**: where does the time of this step go? The forward pass costs one matrix
// product per layer, backward two (one for the input's gradient, one for the weight's), so a
// step is about three forwards; the optimizer's update is one pass over the weights (module
// 06), and `zero_grad` with `set_to_none` costs nothing. For the 784-256-128-10 MLP with a batch
// of 128, the products are about 3 × 2 × 128 × 235,000 ≈ 180 MFLOP per step, the update 0.2
// million weights.

// %%
//| export impl
namespace tinytorch::train {

StepResult Trainer::train_step(const data::Example& batch) {
  // BEGIN SOLUTION
  optimizer_->zero_grad();
  const Tensor logits = model_(batch.data);
  const Tensor loss = nn::functional::cross_entropy(logits, batch.target);
  loss.backward();
  const double grad_norm =
      config_.clip_norm > 0 ? nn::utils::clip_grad_norm_(parameters_, config_.clip_norm) : gradient_norm(parameters_);
  optimizer_->step();
  return {loss.item(), nn::functional::accuracy(logits, batch.target), batch.data.size(0), grad_norm};
  // END SOLUTION
}

}  // namespace tinytorch::train

// %%
//| test
TEST(UnitTrainStep, TheStepMovesTheWeightsDownTheGradient) {
  nn::Linear model(2, 2, true, 1);
  train::Trainer trainer(model, {.optimizer = train::OptimizerKind::SGD, .lr = 0.5, .momentum = 0});
  const std::vector<float> before = model.weight.to_vector();
  const train::StepResult r = trainer.train_step({tensor({{1, 2}, {-1, 0.5f}}), tensor({0, 1})});
  ASSERT_TRUE(model.weight.grad().defined()) << "the step must leave this batch's gradients in .grad()";
  const std::vector<float> grad = model.weight.grad().to_vector();
  for (std::size_t i = 0; i < before.size(); ++i) EXPECT_NEAR(model.weight.to_vector()[i], before[i] - 0.5f * grad[i], 1e-6f);
  EXPECT_EQ(r.batch_size, 2);
  EXPECT_GT(r.grad_norm, 0.0);
}

// %% [markdown]
// ## Part 4: The two loops, and averages that mean what they say
//
// An epoch of training runs the step on every batch; an evaluation runs the model on every batch
// of another data set, without learning from it. Both report a **mean loss and an accuracy over
// the phase**, and here is the trap. 1,000 examples in batches of 64 are 15 batches of 64 and one
// of 40. If the last batch's accuracy is 0.5 and the others' 0.9, then
//
//     mean of the 16 batch accuracies     = (15 × 0.9 + 0.5) / 16          = 0.875
//     fraction of the examples right      = (15 × 64 × 0.9 + 40 × 0.5) / 1000 = 0.884
//
// Only the second is "the accuracy on the validation set". The first gives the 40 examples of
// the last batch the weight of 64, and changes when you change the batch size; with a last batch
// of one example it can be off by several points. So the accumulator keeps **sums over
// examples**: `loss × batch_size` (the batch's mean loss times its examples is its summed loss)
// and `accuracy × batch_size` (its examples right), and divides by the number of examples at the
// end. It keeps them in `double`: module 01 showed what a `float` sum of 60,000 numbers loses.
//
// **Training mode and evaluation mode.** Dropout (module 03) drops units in training and passes
// everything in evaluation; batch normalization (module 09) uses the batch's statistics in
// training and its running averages in evaluation. So each phase puts the model in its mode *at
// its start*: `model.train()` in `train_epoch`, `model.eval()` in `evaluate`. Forget `eval()` and
// the validation loss is measured with dropout on: noisy, pessimistic, and different every time.
// Forget `train()` and, after the first evaluation, the model trains without dropout for the
// rest of the run.
//
// **No graph in evaluation.** Every op on a tensor that requires grad records a node and keeps
// its inputs alive (module 05), for a backward pass that evaluation never runs. A
// `NoGradGuard` for the whole of `evaluate` records nothing: no graph's worth of memory per batch,
// and a little less time. (The demo at the end measures both: the memory is what matters.)

// %% [markdown]
// ### ⭐ `MetricAccumulator::add` and `result`
//
// **TODO**: `add` adds one batch to the sums; `result` fills `loss`, `accuracy`, `examples` and
// `batches` of the `PhaseMetrics` (its `seconds` is given), NaN for the two means before any
// batch.
//
// **APPROACH**:
// 1. `add`: `loss_sum_ += mean_loss * batch_size; correct_ += accuracy * batch_size;
//    examples_ += batch_size; ++batches_;`
// 2. `result`: when `examples_ > 0`, `m.loss = loss_sum_ / examples_` and
//    `m.accuracy = correct_ / examples_`; always `m.examples = examples_; m.batches = batches_;`.
//
// **EXAMPLE**:
// ```cpp
// train::MetricAccumulator m;
// m.add(1.0, 1.0, 4);     // 4 examples, all right, mean loss 1
// m.add(3.0, 0.0, 1);     // 1 example, wrong, loss 3
// m.result().accuracy     // 0.8 = 4 of 5 (not 0.5, the mean of the two batches)
// m.result().loss         // 1.4 = (4 × 1 + 1 × 3) / 5
// ```
//
// **HINTS**:
// - `double` sums, and `static_cast<double>(batch_size)` before multiplying.
// - The means are NaN with no examples, not 0: a loss of 0 would look like a perfect model.
//
// **SYSTEMS THINKING**: the same mistake hides in distributed training. Eight GPUs each average
// their own shard's metric; if the shards differ in size (the last one usually does), the mean
// of the eight means is wrong in exactly this way. Production code reduces *sums and counts*
// across workers (`torchmetrics` keeps `correct` and `total` as its state), then divides once.

// %%
//| export impl
namespace tinytorch::train {

MetricAccumulator::MetricAccumulator() : started_(std::chrono::steady_clock::now()) {}

void MetricAccumulator::add(double mean_loss, double accuracy, int64_t batch_size) {
  if (batch_size < 1) throw std::invalid_argument("MetricAccumulator::add(): a batch of " + std::to_string(batch_size) + " examples");
  // BEGIN SOLUTION
  const auto n = static_cast<double>(batch_size);
  loss_sum_ += mean_loss * n;
  correct_ += accuracy * n;
  examples_ += batch_size;
  ++batches_;
  // END SOLUTION
}

PhaseMetrics MetricAccumulator::result() const {
  PhaseMetrics m;
  m.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
  // BEGIN SOLUTION
  if (examples_ > 0) {
    m.loss = loss_sum_ / static_cast<double>(examples_);
    m.accuracy = correct_ / static_cast<double>(examples_);
  }
  m.examples = examples_;
  m.batches = batches_;
  // END SOLUTION
  return m;
}

}  // namespace tinytorch::train

// %%
//| test
TEST(UnitMetricAccumulator, WeighsEveryExampleOnce) {
  train::MetricAccumulator m;
  m.add(1.0, 1.0, 4);
  m.add(3.0, 0.0, 1);
  EXPECT_DOUBLE_EQ(m.result().accuracy, 0.8) << "4 of 5 examples right; 0.5 is the mean of the batches";
  EXPECT_DOUBLE_EQ(m.result().loss, 1.4);
  EXPECT_EQ(m.result().examples, 5);
}

// %% [markdown]
// ### ⭐⭐ `Trainer::train_epoch`
//
// **TODO**: Train for one epoch: the model in training mode, the source at epoch `epoch_index`,
// then every batch through `run_batch` (given: it calls your `train_step`, stops the run with a
// clear error if the loss is NaN, and tells the hooks and the progress bar), its results added
// to a `MetricAccumulator`. Return the accumulator's result.
//
// **APPROACH**:
// 1. `model_.train();` and `source.start_epoch(epoch_index);`
// 2. `MetricAccumulator metrics;` and `const int64_t batches = batches_to_run(source);`
//    (all batches, or `config_.max_batches` of them).
// 3. For `i` in `[0, batches)`:
//    `const StepResult step = run_batch(source.batch(i), epoch_index, i, batches);` then
//    `metrics.add(step.loss, step.accuracy, step.batch_size);`
// 4. `return metrics.result();`
//
// **EXAMPLE**:
// ```cpp
// data::TensorBatches batches(x, y, {.batch_size = 64, .shuffle = true, .seed = 0});
// train::PhaseMetrics m = trainer.train_epoch(batches, 0);   // m.examples == x.size(0)
// ```
//
// **HINTS**:
// - `model_.train()` every epoch, not once in the constructor: `evaluate` (next) switches the
//   model to evaluation mode, and the next epoch must switch it back.
// - Call `start_epoch` before the first `batch(...)`: it is where a shuffling source draws the
//   epoch's order.
//
// **SYSTEMS THINKING**: `source.batch(i)` gathers a batch's rows into a fresh tensor, one copy
// of `B` examples per step. Next to the forward and backward passes of even a small network that
// copy is noise, but for a tiny model on a big batch it is not: production loaders prepare the
// next batch on another thread while this one trains (module 08 discusses prefetching).

// %%
//| export impl
namespace tinytorch::train {

PhaseMetrics Trainer::train_epoch(data::BatchSource& source, int64_t epoch_index) {
  // BEGIN SOLUTION
  model_.train();
  source.start_epoch(epoch_index);
  MetricAccumulator metrics;
  const int64_t batches = batches_to_run(source);
  for (int64_t i = 0; i < batches; ++i) {
    const StepResult step = run_batch(source.batch(i), epoch_index, i, batches);
    metrics.add(step.loss, step.accuracy, step.batch_size);
  }
  return metrics.result();
  // END SOLUTION
}

}  // namespace tinytorch::train

// %% [markdown]
// ### ⭐⭐ `Trainer::evaluate`
//
// **TODO**: Measure the model on `source`: evaluation mode, nothing recorded, every batch's
// mean loss and accuracy added to a `MetricAccumulator`. Return its result.
//
// **APPROACH**:
// 1. `model_.eval();` and `NoGradGuard no_grad;` for the whole function.
// 2. `source.start_epoch(0);` (an evaluation reads the source in its epoch-0 order, every time).
// 3. For each of `batches_to_run(source)` batches: `const data::Example batch = source.batch(i);`
//    `const Tensor logits = model_(batch.data);` then add
//    `cross_entropy(logits, batch.target).item()`, `accuracy(logits, batch.target)` and
//    `batch.data.size(0)`.
// 4. `return metrics.result();`
//
// **EXAMPLE**:
// ```cpp
// train::PhaseMetrics v = trainer.evaluate(validation);   // v.loss, v.accuracy over every example
// trainer.evaluate(validation).loss == v.loss             // evaluation changes nothing: same numbers
// ```
//
// **HINTS**:
// - Not `run_batch` or `train_step`: evaluation never calls `backward()` or `step()`.
// - One `NoGradGuard` at the top covers every op in the function; a guard inside a block stops
//   at the block's end.
// - Do not put the model back in training mode at the end: `train_epoch` does that itself.
//
// **SYSTEMS THINKING**: evaluation costs one forward pass per example, training about three
// (forward, and backward's two products), so an evaluation over a validation set a fifth the
// size of the training set adds under a tenth to an epoch. With recording on, each op would also
// allocate a node and keep its inputs alive until the loss tensor is dropped: for a big batch
// that is the activation memory of a training step, spent for nothing.

// %%
//| export impl
namespace tinytorch::train {

PhaseMetrics Trainer::evaluate(data::BatchSource& source) {
  // BEGIN SOLUTION
  model_.eval();
  NoGradGuard no_grad;
  source.start_epoch(0);
  MetricAccumulator metrics;
  const int64_t batches = batches_to_run(source);
  for (int64_t i = 0; i < batches; ++i) {
    const data::Example batch = source.batch(i);
    const Tensor logits = model_(batch.data);
    metrics.add(nn::functional::cross_entropy(logits, batch.target).item(),
                nn::functional::accuracy(logits, batch.target), batch.data.size(0));
  }
  return metrics.result();
  // END SOLUTION
}

}  // namespace tinytorch::train

// %% [markdown]
// `run_batch` (given) is what `train_epoch` calls for each batch. Besides your step it does the
// bookkeeping a real run needs: it refuses to go on after a NaN or infinite loss (nothing good
// comes after one, and the sooner it says so, the closer the message is to the cause), calls the
// batch hooks, and redraws the progress bar while `fit` runs.

// %%
//| export impl
namespace tinytorch::train {

namespace {

// 0.851 -> "85.1%"
std::string percent(double fraction) {
  if (!std::isfinite(fraction)) return "-";
  char text[32];
  std::snprintf(text, sizeof text, "%.1f%%", 100.0 * fraction);
  return text;
}

// 12345 -> "12,345"
std::string grouped(double value) {
  if (!std::isfinite(value)) return "-";
  std::string digits = std::to_string(static_cast<long long>(std::llround(value)));
  for (int i = static_cast<int>(digits.size()) - 3; i > 0 && digits[static_cast<std::size_t>(i) - 1] != '-'; i -= 3) {
    digits.insert(static_cast<std::size_t>(i), ",");
  }
  return digits;
}

std::string fixed(double value, int decimals) {
  if (!std::isfinite(value)) return "-";
  char text[48];
  std::snprintf(text, sizeof text, "%.*f", decimals, value);
  return text;
}

std::string scientific(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.2e", value);
  return text;
}

}  // namespace

StepResult Trainer::run_batch(const data::Example& batch, int64_t epoch_index, int64_t index, int64_t batches) {
  const StepResult step = train_step(batch);
  if (!std::isfinite(step.loss)) {
    throw TrainingError("epoch " + std::to_string(epoch_index + 1) + ", batch " + std::to_string(index + 1) +
                        ": the training loss is " + number_str(step.loss) +
                        ". The learning rate may be too large (Config.lr = " + number_str(optimizer_->lr()) +
                        "): lower it, or clip the gradients (Config.clip_norm = 1); "
                        "autograd::DetectAnomalyGuard names the op where a NaN first appears");
  }
  const BatchEvent event{.epoch = epoch_index + 1,
                         .batch = index + 1,
                         .batches = batches,
                         .loss = step.loss,
                         .accuracy = step.accuracy,
                         .grad_norm = step.grad_norm,
                         .batch_size = step.batch_size,
                         .lr = optimizer_->lr()};
  for (const BatchHook& hook : batch_hooks_) hook(event);
  if (status_) {
    if (index == 0) {
      running_loss_ = 0;
      running_examples_ = 0;
    }
    running_loss_ += step.loss * static_cast<double>(step.batch_size);
    running_examples_ += step.batch_size;
    const int width = std::clamp(status_->terminal().width - 60, 10, 30);
    status_->update("epoch " + std::to_string(epoch_index + 1) + "/" + std::to_string(config_.epochs) + " [" +
                        term::bar(static_cast<double>(index + 1) / static_cast<double>(batches), width) + "] " +
                        std::to_string(index + 1) + "/" + std::to_string(batches) + "  loss " +
                        fixed(running_loss_ / static_cast<double>(running_examples_), 4),
                    index + 1 == batches);
  }
  return step;
}

}  // namespace tinytorch::train

// %%
//| test
TEST(UnitEvaluate, AnUnevenLastBatchIsWeighedByItsSize) {
  nn::Linear model(1, 2, true, 1);
  {
    NoGradGuard no_grad;
    model.weight.copy_(tensor({{1}, {-1}}));  // class 0 for x > 0, class 1 for x < 0
    model.bias.fill_(0.0f);
  }
  train::Trainer trainer(model, {});
  // Four examples classified right in batches of 4, then one wrong one alone.
  data::TensorBatches source(tensor({{1}, {2}, {3}, {4}, {5}}), tensor({0, 0, 0, 0, 1}), {.batch_size = 4});
  EXPECT_NEAR(trainer.evaluate(source).accuracy, 0.8, 1e-12) << "4 of 5 examples; 0.5 would be the mean of the batches";
}

// %% [markdown]
// ### A first run, by hand
//
// With the step and the two loops, you can train. The demo below builds three spiral arms of 300
// points each (generated by `make_spirals`, so the problem is honest but not real data), an MLP
// 2-64-64-3, and runs ten epochs of your `train_epoch` and `evaluate`, printing one line per
// epoch. A linear model cannot beat about 50% here; watch the MLP bend its boundary around the
// arms. (The demo first trains a single `Linear` layer the same way, to measure that claim.)

// %%
//| demo
#include <cstdio>

const data::Example spirals = data::make_spirals(300, 3, 0.05, 1);
const data::Example held_out = data::make_spirals(100, 3, 0.05, 2);
nn::Sequential model(nn::Linear(2, 64, true, 1), nn::ReLU(), nn::Linear(64, 64, true, 2), nn::ReLU(),
                     nn::Linear(64, 3, true, 3));
train::Config config{.epochs = 10, .batch_size = 32, .lr = 0.01, .seed = 7};
train::Trainer trainer(model, config);
data::TensorBatches train_batches(spirals.data, spirals.target, train::batch_options(config, true));
data::TensorBatches val_batches(held_out.data, held_out.target, train::batch_options(config, false));
{
  nn::Linear linear(2, 3, true, 1);
  train::Trainer straight(linear, config);
  data::TensorBatches batches(spirals.data, spirals.target, train::batch_options(config, true));
  data::TensorBatches held(held_out.data, held_out.target, train::batch_options(config, false));
  for (int64_t epoch = 0; epoch < config.epochs; ++epoch) straight.train_epoch(batches, epoch);
  std::printf("a single Linear(2, 3) after %lld epochs: validation accuracy %.1f%% (straight boundaries)\n\n",
              static_cast<long long>(config.epochs), 100 * straight.evaluate(held).accuracy);
}
std::printf("three spiral arms, 900 generated training points and 300 held out; MLP 2-64-64-3, Adam lr 0.01\n\n");
std::printf("%5s  %10s %9s  %10s %9s\n", "epoch", "train loss", "accuracy", "val loss", "accuracy");
for (int64_t epoch = 0; epoch < config.epochs; ++epoch) {
  const train::PhaseMetrics t = trainer.train_epoch(train_batches, epoch);
  const train::PhaseMetrics v = trainer.evaluate(val_batches);
  std::printf("%5lld  %10.4f %8.1f%%  %10.4f %8.1f%%\n", static_cast<long long>(epoch + 1), t.loss, 100 * t.accuracy,
              v.loss, 100 * v.accuracy);
}

// %% [markdown]
// ## Part 5: Early stopping
//
// Train long enough and a network starts to **memorize**: the training loss keeps falling while
// the validation loss, after falling with it, turns and rises. From that epoch on, every further
// epoch makes the model worse at what you want (data it has not seen) and better at what you do
// not (the noise of the training set). **Early stopping** watches the validation loss and stops
// when it has not improved for `patience` epochs in a row:
//
//     epoch      1     2     3     4     5     6     7
//     val loss  0.90  0.70  0.72  0.69  0.71  0.73  0.74     patience = 3
//     best?      ✓     ✓     ✗     ✓     ✗     ✗     ✗
//     bad run    0     0     1     0     1     2     3  →  stop after epoch 7, best was epoch 4
//
// The counter counts epochs **without improvement since the best**, and resets at every new
// best; training stops when it *reaches* `patience`. Off by one either way is the classic
// bug: stopping when the counter *exceeds* patience trains one epoch too many, counting the best
// epoch itself one too few. `min_delta` says how much lower counts as lower: a validation loss
// that improves in the fifth decimal is noise, not progress.
//
// Why patience at all, rather than stopping at the first rise? Because validation losses are
// noisy: epoch 3 above rises, and epoch 4 is the best of the run. Patience trades a few wasted
// epochs for not stopping on noise. And since the last epochs of a stopped run are, by
// definition, worse than the best one, the trainer keeps a copy of the best weights and gives
// them back at the end (`restore_best`, Keras's `restore_best_weights`).

// %%
//| export
namespace tinytorch::train {

// Watches the validation loss, epoch after epoch: which was best, and whether to stop.
class EarlyStopping {
 public:
  // Stop after `patience` epochs in a row without a loss lower than the best by more than
  // `min_delta`. patience 0 never stops (it still tracks the best epoch).
  explicit EarlyStopping(int64_t patience, double min_delta = 0.0);

  // Records the validation loss of epoch `epoch`; true when the run should stop after it.
  bool update(double loss, int64_t epoch);

  bool improved() const noexcept { return improved_; }          // the last update was a new best
  int64_t best_epoch() const noexcept { return best_epoch_; }   // 0 before the first update
  double best_loss() const noexcept { return best_loss_; }      // +infinity before the first update
  int64_t bad_epochs() const noexcept { return bad_epochs_; }   // updates since the best
  int64_t patience() const noexcept { return patience_; }

 private:
  int64_t patience_;
  double min_delta_;
  double best_loss_ = std::numeric_limits<double>::infinity();
  int64_t best_epoch_ = 0;
  int64_t bad_epochs_ = 0;
  bool improved_ = false;
};

}  // namespace tinytorch::train

// %%
//| export impl
namespace tinytorch::train {

EarlyStopping::EarlyStopping(int64_t patience, double min_delta) : patience_(patience), min_delta_(min_delta) {
  if (patience < 0) throw std::invalid_argument("EarlyStopping: patience must be >= 0, got " + std::to_string(patience));
  if (!(min_delta >= 0)) throw std::invalid_argument("EarlyStopping: min_delta must be >= 0, got " + number_str(min_delta));
}

}  // namespace tinytorch::train

// %% [markdown]
// ### ⭐⭐ `EarlyStopping::update`
//
// **TODO**: Decide whether `loss` is a new best (lower than `best_loss_` by more than
// `min_delta_`); update `improved_`, the best loss and epoch, and `bad_epochs_`; return whether
// the run should stop now.
//
// **APPROACH**:
// 1. `improved_ = loss < best_loss_ - min_delta_;`
// 2. Improved: `best_loss_ = loss; best_epoch_ = epoch; bad_epochs_ = 0;`. Otherwise
//    `++bad_epochs_;`.
// 3. `return patience_ > 0 && bad_epochs_ >= patience_;`
//
// **EXAMPLE**:
// ```cpp
// train::EarlyStopping stop(3);
// for (double loss : {0.90, 0.70, 0.72, 0.69, 0.71, 0.73})  // false every time
//   stop.update(loss, ++epoch);
// stop.update(0.74, 7)   // true: 3 epochs (5, 6, 7) without beating epoch 4's 0.69
// stop.best_epoch()      // 4
// ```
//
// **HINTS**:
// - The first loss is always a best: `best_loss_` starts at infinity.
// - A NaN loss is never an improvement, and `loss < best - min_delta` is false for NaN, as it
//   should be. `!(loss >= best - min_delta)` would call NaN an improvement.
// - `>=`, not `>`: with patience 3 the run stops *at* the third bad epoch.
//
// **SYSTEMS THINKING**: early stopping is a regularizer that costs nothing: it limits how far the
// weights travel from their start, much as weight decay does, and it saves the epochs it skips.
// Its price is a validation set held out of training, and a copy of the best weights in memory
// (the size of the model, once).

// %%
//| export impl
namespace tinytorch::train {

bool EarlyStopping::update(double loss, int64_t epoch) {
  // BEGIN SOLUTION
  improved_ = loss < best_loss_ - min_delta_;  // false for NaN: never an improvement
  if (improved_) {
    best_loss_ = loss;
    best_epoch_ = epoch;
    bad_epochs_ = 0;
  } else {
    ++bad_epochs_;
  }
  return patience_ > 0 && bad_epochs_ >= patience_;
  // END SOLUTION
}

}  // namespace tinytorch::train

// %%
//| test
TEST(UnitEarlyStopping, StopsAtThePatiencethEpochWithoutABetterLoss) {
  train::EarlyStopping stop(3);
  int64_t epoch = 0;
  for (double loss : {0.90, 0.70, 0.72, 0.69, 0.71, 0.73}) EXPECT_FALSE(stop.update(loss, ++epoch)) << "epoch " << epoch;
  EXPECT_TRUE(stop.update(0.74, 7)) << "three epochs (5, 6, 7) without beating epoch 4: stop now";
  EXPECT_EQ(stop.best_epoch(), 4);
}

// %% [markdown]
// ## Part 6: The CSV log
//
// A run's numbers belong in a file, not only on the terminal: to plot them, to compare two runs,
// to find out next month what this one did. CSV is the lowest common denominator that every tool
// reads (a spreadsheet, pandas, gnuplot, `column -t -s,`). Ours has one row per epoch, under a
// fixed header:
//
//     epoch,train_loss,train_accuracy,val_loss,val_accuracy,lr,seconds,examples_per_second
//     1,1.0412187,0.48666667,0.8902235,0.59333333,0.01,0.071,12741.7
//
// Numbers are written with nine significant digits (`csv_number`, given): enough for a float's
// value to survive the trip to text and back, so a log can be compared with another exactly. A
// run without validation leaves its two columns empty (`1,1.04,0.49,,,0.01,...`): an empty field
// is "no value"; a 0 would be a perfect loss and a terrible accuracy.
//
// **Written atomically, every epoch.** After each epoch, `fit` rewrites the whole log: header and
// every row, into a temporary file that is then renamed over `log.csv` (`io::write_file_atomically`).
// A reader, or a run killed between two epochs, only ever sees a complete file. The alternative,
// appending one row and flushing, is cheaper, but a crash in mid-write leaves half a row that
// breaks every parser, and a second run into the same folder silently continues the first one's
// file. A log is small (a hundred epochs are a few kilobytes), so rewriting it costs nothing.
// One thing to know: `tail -f log.csv` follows the old file; use `tail -F`, which reopens it.

// %%
//| export
namespace tinytorch::train {

// The header of the log: the columns of csv_row, in order.
inline constexpr std::string_view kCsvHeader =
    "epoch,train_loss,train_accuracy,val_loss,val_accuracy,lr,seconds,examples_per_second";

// A number for the log: nine significant digits ("0.48666667", "0.01", "12741.7"); "" for NaN.
std::string csv_number(double value);

// One row of the log, without a newline: the epoch, then each column of kCsvHeader; the two
// validation columns empty when the epoch had no validation.
std::string csv_row(const EpochMetrics& metrics);

// The whole log: the header and one row per epoch, each line ending in "\n".
std::string csv_log(const std::vector<EpochMetrics>& epochs);

}  // namespace tinytorch::train

// %%
//| export impl
namespace tinytorch::train {

std::string csv_number(double value) {
  if (std::isnan(value)) return "";
  char text[32];
  std::snprintf(text, sizeof text, "%.9g", value);
  return text;
}

}  // namespace tinytorch::train

// %% [markdown]
// ### ⭐ `csv_row`
//
// **TODO**: Join the epoch and the seven numbers of `kCsvHeader`'s columns, in that order, with
// commas; the validation loss and accuracy empty when `metrics.has_validation()` is false.
//
// **APPROACH**:
// 1. `std::string row = std::to_string(metrics.epoch);`
// 2. Append `"," + csv_number(...)` for `train.loss`, `train.accuracy`.
// 3. For `validation.loss` and `validation.accuracy`: `","` followed by the number, or by
//    nothing without validation.
// 4. Then `lr`, `seconds`, `examples_per_second`. Return `row`.
//
// **EXAMPLE**:
// ```cpp
// train::EpochMetrics m{.epoch = 3, .train = {.loss = 0.5, .accuracy = 0.75, .examples = 100},
//                       .lr = 0.01, .seconds = 1.5, .examples_per_second = 80};
// train::csv_row(m)   // "3,0.5,0.75,,,0.01,1.5,80"
// ```
//
// **HINTS**:
// - Check your order against `kCsvHeader`, column by column: a test reads the row back by
//   the header's names, so `val_loss` and `train_loss` swapped is caught.
// - No trailing comma and no newline: `csv_log` adds the newlines.
//
// **SYSTEMS THINKING**: the log is written after every epoch, so it must cost nothing next to
// an epoch: a few hundred bytes of `snprintf`. Logging *per batch* is another matter: at
// thousands of steps a second, formatting and writing a line per step can cost more than the
// step. Production loggers (TensorBoard, Weights & Biases) buffer in memory and write in the
// background; the milestone harness keeps per-batch numbers in memory and writes them once.

// %%
//| export impl
namespace tinytorch::train {

std::string csv_row(const EpochMetrics& metrics) {
  // BEGIN SOLUTION
  std::string row = std::to_string(metrics.epoch);
  row += "," + csv_number(metrics.train.loss);
  row += "," + csv_number(metrics.train.accuracy);
  row += "," + (metrics.has_validation() ? csv_number(metrics.validation.loss) : std::string());
  row += "," + (metrics.has_validation() ? csv_number(metrics.validation.accuracy) : std::string());
  row += "," + csv_number(metrics.lr);
  row += "," + csv_number(metrics.seconds);
  row += "," + csv_number(metrics.examples_per_second);
  return row;
  // END SOLUTION
}

std::string csv_log(const std::vector<EpochMetrics>& epochs) {
  std::string log = std::string(kCsvHeader) + "\n";
  for (const EpochMetrics& m : epochs) log += csv_row(m) + "\n";
  return log;
}

}  // namespace tinytorch::train

// %%
//| test
TEST(UnitCsvRow, TheColumnsOfTheHeaderInOrder) {
  train::EpochMetrics m{.epoch = 3, .train = {.loss = 0.5, .accuracy = 0.75, .examples = 100},
                        .lr = 0.01, .seconds = 1.5, .examples_per_second = 80};
  EXPECT_EQ(train::csv_row(m), "3,0.5,0.75,,,0.01,1.5,80");
  m.validation = {.loss = 0.625, .accuracy = 0.5, .examples = 10};
  EXPECT_EQ(train::csv_row(m), "3,0.5,0.75,0.625,0.5,0.01,1.5,80");
}

// %% [markdown]
// ## Part 7: Checkpoints
//
// A run of hours must survive a crash, a reboot, a preempted cloud machine; a trained model must
// outlive the process that trained it. A **checkpoint** is the state of a run in a file. What
// belongs in it?
//
// - **the parameters**, by name (module 03's `named_parameters()`: `"0.weight"`, `"fc1.bias"`);
// - **the buffers**: state that is not learned by gradient but is part of the model, such as
//   batch normalization's running mean (module 09). A checkpoint without them restores a model
//   that *evaluates differently* from the one that was saved;
// - **the optimizer's state**: SGD's velocity, Adam's two moments and step counts (module 06),
//   and the learning rate. Resume Adam without its moments and the first steps after the resume
//   are bias-corrected from zero: large, misdirected steps that undo part of the training. It is
//   no longer the same run;
// - **the epoch**, so a resumed run knows where it is (its schedule, its data order:
//   `shuffle_order(seed, epoch)` gives the resumed epoch the same order as before).
//
// ### A file format of our own
//
// Why not just write the floats out? Because a file outlives the code that wrote it, travels
// between machines, gets truncated by a full disk and corrupted by a bad copy. A format that
// *fails loudly* on all of these needs four things, the same four PNG, zip and every database
// file have:
//
// 1. A **magic number**: fixed first bytes that say "this is a tinytorch checkpoint". Ours,
//    `89 54 54 43 4B 50 54 0A` (`\x89TTCKPT\n`), copies PNG's trick: a first byte above 127 is
//    caught by anything that strips the high bit, and the final `\n` by anything that
//    rewrites line endings.
// 2. A **version**, so that a later tinytorch can change the layout and still read (or clearly
//    refuse) old files, and an old one refuses a newer file instead of misreading it.
// 3. **Names and shapes** with every tensor, so loading matches by name, not by position, and a
//    tensor of the wrong shape is named with both shapes.
// 4. A **checksum** of everything before it: CRC-32, the checksum of PNG and gzip, catches a
//    flipped bit or a damaged block. (It is not security: anyone can recompute it.)
//
// Every number is **little-endian**, fixed width, so the file reads the same on every machine.
// The layout, version 1:
//
// | bytes | field |
// |---|---|
// | 8 | magic `89 54 54 43 4B 50 54 0A` |
// | 4 | u32 version = 1 |
// | 8 | i64 epoch (epochs completed) |
// | 4 + n | the optimizer's name: u32 length n, then n bytes (`"Adam"`; `""` for no optimizer state) |
// | 4 + … | the parameters: u32 count, then one *tensor record* each |
// | 4 + … | the buffers: u32 count, then one tensor record each |
// | 4 + … | the optimizer's tensors: u32 count, then one tensor record each (`"0.weight.exp_avg"`) |
// | 4 + … | the optimizer's numbers: u32 count, then for each: its name (u32 length + bytes) and an f64 (`"lr"`, `"0.weight.step"`) |
// | 4 | u32 CRC-32 of every byte before it |
//
// A **tensor record** is its name (u32 length + bytes), u32 rank `r`, `r` sizes as i64, then the
// `numel` values as f32, in row-major order.
//
// `ByteWriter` and `ByteReader` (given) do the byte-level work: they append and read
// little-endian numbers, length-prefixed text and tensor data, and the reader checks every read
// against the bytes that are left, so a cut-short file is an error naming the file, the offset
// and what was being read, never a read past the end.

// %%
//| export
namespace tinytorch::train {

// The first 8 bytes of every checkpoint.
inline constexpr std::string_view kCheckpointMagic{"\x89TTCKPT\n", 8};
// The layout this tinytorch writes (and the newest it reads).
inline constexpr uint32_t kCheckpointVersion = 1;

// A checkpoint that cannot be read or does not fit: what() names the file and what is wrong.
class CheckpointError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The state of a run: what a checkpoint file holds.
struct Checkpoint {
  int64_t epoch = 0;                   // epochs completed
  nn::NamedTensors parameters;         // the model's named_parameters(), copied
  nn::NamedTensors buffers;            // its named_buffers(), copied
  std::string optimizer;               // "SGD", "Adam", "AdamW"; "" when the checkpoint has no optimizer state
  nn::NamedTensors optimizer_tensors;  // "<parameter>.momentum_buffer", "<parameter>.exp_avg", ...
  std::vector<std::pair<std::string, double>> optimizer_numbers;  // "lr", "<parameter>.step"
};

// A snapshot of `model` (and of `optimizer`'s state, unless null) after `epoch` epochs: copies,
// so that later training does not change it.
Checkpoint make_checkpoint(const nn::Module& model, const optim::Optimizer* optimizer, int64_t epoch);

// The bytes of a checkpoint file (the layout above).
std::string encode_checkpoint(const Checkpoint& checkpoint);
// The checkpoint in `bytes`; CheckpointError naming `file` for a wrong magic number, a newer
// version, a truncated file, a checksum mismatch or anything after the checksum.
Checkpoint decode_checkpoint(std::string_view bytes, const std::string& file);

// Writes encode_checkpoint(checkpoint) to `path`, atomically.
void save_checkpoint(const std::filesystem::path& path, const Checkpoint& checkpoint);
// Reads and decodes `path` (io::FileError when it cannot be read).
Checkpoint load_checkpoint(const std::filesystem::path& path);

// Copies the checkpoint's parameters and buffers into `model`, in place. CheckpointError naming
// `source` (a file name) for a tensor the model has and the checkpoint lacks, one the checkpoint
// has and the model lacks, or a shape mismatch (naming both shapes); on error nothing is changed.
void load_model_state(nn::Module& model, const Checkpoint& checkpoint, const std::string& source);

// Puts the checkpoint's optimizer state into `optimizer` (of the same kind, over the same
// parameters, in `model`), and its learning rate. CheckpointError naming `source` when it does not fit.
void load_optimizer_state(optim::Optimizer& optimizer, const nn::Module& model, const Checkpoint& checkpoint,
                          const std::string& source);

}  // namespace tinytorch::train

// %%
//| export impl
namespace tinytorch::train {

namespace {

// Appends little-endian numbers, length-prefixed text and tensor data to a string of bytes.
class ByteWriter {
 public:
  void raw(std::string_view bytes) { bytes_.append(bytes); }
  void u32(uint32_t value) { little_endian(value, 4); }
  void i64(int64_t value) { little_endian(static_cast<uint64_t>(value), 8); }
  void f64(double value) { little_endian(std::bit_cast<uint64_t>(value), 8); }
  // A u32 length, then the bytes.
  void text(std::string_view text) {
    u32(static_cast<uint32_t>(text.size()));
    raw(text);
  }
  // The tensor's numel() values as f32, in row-major order.
  void floats(const Tensor& tensor) {
    const Tensor values = tensor.contiguous();
    const float* data = values.data();
    for (int64_t i = 0; i < values.numel(); ++i) little_endian(std::bit_cast<uint32_t>(data[i]), 4);
  }
  const std::string& bytes() const noexcept { return bytes_; }
  std::string take() { return std::move(bytes_); }

 private:
  void little_endian(uint64_t value, int width) {
    for (int i = 0; i < width; ++i) bytes_.push_back(static_cast<char>((value >> (8 * i)) & 0xFF));
  }
  std::string bytes_;
};

// Reads what ByteWriter writes, checking every read against the bytes left: a short file is a
// CheckpointError "FILE is truncated: ...", never a read past the end.
class ByteReader {
 public:
  ByteReader(std::string_view bytes, std::string file) : bytes_(bytes), file_(std::move(file)) {}

  // The next n bytes; `what` says what they are, for the error message.
  std::string_view raw(std::size_t n, const std::string& what) {
    need(n, what);
    const std::string_view out = bytes_.substr(offset_, n);
    offset_ += n;
    return out;
  }
  uint32_t u32(const std::string& what) { return static_cast<uint32_t>(little_endian(4, what)); }
  int64_t i64(const std::string& what) { return static_cast<int64_t>(little_endian(8, what)); }
  double f64(const std::string& what) { return std::bit_cast<double>(little_endian(8, what)); }
  // A u32 length, then that many bytes.
  std::string text(const std::string& what) {
    const uint32_t length = u32("the length of " + what);
    return std::string(raw(length, what));
  }
  // A tensor of `shape` from numel() f32 values. `what` names it.
  Tensor tensor(const Shape& shape, const std::string& what) {
    int64_t numel = 1;
    for (int64_t size : shape) {
      if (size < 0) fail("tensor '" + what + "' has a negative size " + std::to_string(size) + " (a damaged file?)");
      if (size > 0 && numel > (std::numeric_limits<int64_t>::max() / 4) / size) {
        fail("tensor '" + what + "' of shape " + shape_str(shape) + " is larger than any file (a damaged file?)");
      }
      numel *= size;
    }
    need(static_cast<std::size_t>(numel) * 4, "the values of tensor '" + what + "' " + shape_str(shape));
    std::vector<float> values(static_cast<std::size_t>(numel));
    for (float& v : values) v = std::bit_cast<float>(static_cast<uint32_t>(little_endian(4, what)));
    return Tensor(std::move(values), shape);
  }

  std::size_t offset() const noexcept { return offset_; }
  std::size_t remaining() const noexcept { return bytes_.size() - offset_; }
  const std::string& file() const noexcept { return file_; }
  // Throws CheckpointError("FILE: message").
  [[noreturn]] void fail(const std::string& message) const { throw CheckpointError(file_ + ": " + message); }

 private:
  void need(std::size_t n, const std::string& what) const {
    if (n <= remaining()) return;
    throw CheckpointError(file_ + " is truncated: " + what + " needs " + std::to_string(n) + " bytes at offset " +
                          std::to_string(offset_) + ", and " + std::to_string(remaining()) +
                          " are left (a file cut short, or a damaged length field)");
  }
  uint64_t little_endian(int width, const std::string& what) {
    const std::string_view b = raw(static_cast<std::size_t>(width), what);
    uint64_t value = 0;
    for (int i = 0; i < width; ++i) value |= static_cast<uint64_t>(static_cast<unsigned char>(b[i])) << (8 * i);
    return value;
  }

  std::string_view bytes_;
  std::string file_;
  std::size_t offset_ = 0;
};

// "89 54 54 43": the first n bytes, for a message about a wrong magic number.
std::string hex_bytes(std::string_view bytes, std::size_t n) {
  std::string out;
  char hex[4];
  for (std::size_t i = 0; i < std::min(n, bytes.size()); ++i) {
    std::snprintf(hex, sizeof hex, "%02X", static_cast<unsigned char>(bytes[i]));
    out += (i > 0 ? " " : "") + std::string(hex);
  }
  return out.empty() ? "nothing" : out;
}

// The tensor named `name` in `list`, or null.
const Tensor* find_tensor(const nn::NamedTensors& list, const std::string& name) {
  for (const auto& [n, tensor] : list) {
    if (n == name) return &tensor;
  }
  return nullptr;
}

}  // namespace

}  // namespace tinytorch::train

// %% [markdown]
// ### ⭐ `make_checkpoint`: everything, and copies of it
//
// **TODO**: Fill a `Checkpoint` with the epoch, a *copy* of every named parameter and every named
// buffer of `model`, and, when `optimizer` is not null, the optimizer's state through the given
// `save_optimizer_state(*optimizer, model, checkpoint)`.
//
// **APPROACH**:
// 1. `checkpoint.epoch = epoch;`
// 2. For each `[name, tensor]` of `model.named_parameters()`:
//    `checkpoint.parameters.emplace_back(name, tensor.detach().clone());`
// 3. The same for `model.named_buffers()` into `checkpoint.buffers`.
// 4. `if (optimizer != nullptr) save_optimizer_state(*optimizer, model, checkpoint);`
//
// **EXAMPLE**:
// ```cpp
// train::Checkpoint c = train::make_checkpoint(model, &trainer.optimizer(), 5);
// c.parameters[0].first    // "0.weight"
// // train on: c still holds the weights of epoch 5
// ```
//
// **HINTS**:
// - A `Tensor` is a handle (module 01). `emplace_back(name, tensor)` stores the *model's own*
//   tensor, which the next optimizer step changes in place: the "snapshot" would follow the
//   model. `clone()` copies the numbers; `detach()` first, so the copy is not recorded.
// - Buffers are easy to forget because a model without batch normalization has none. A test
//   gives you one.
//
// **SYSTEMS THINKING**: a snapshot costs the model's size in memory, and a checkpoint with Adam
// three times the model's size on disk (weights and two moments). For a 7-billion-parameter
// model in float32 that is 84 GB per checkpoint, which is why large runs write checkpoints
// from every machine in parallel, in shards, and keep only the last few.

// %%
//| export impl
namespace tinytorch::train {

namespace {

// What an optimizer is, for a checkpoint: "SGD", "Adam" or "AdamW".
std::string optimizer_kind(const optim::Optimizer& optimizer) {
  if (dynamic_cast<const optim::SGD*>(&optimizer) != nullptr) return "SGD";
  if (dynamic_cast<const optim::Adam*>(&optimizer) != nullptr) return "Adam";
  if (dynamic_cast<const optim::AdamW*>(&optimizer) != nullptr) return "AdamW";
  throw CheckpointError("checkpoints hold the state of SGD, Adam and AdamW; this optimizer is none of them");
}

// The name of each of the optimizer's parameters: its name in the model, or "#i" when the model
// does not have it.
std::vector<std::string> parameter_names(const optim::Optimizer& optimizer, const nn::Module& model) {
  std::unordered_map<const TensorImpl*, std::string> names;
  for (const auto& [name, tensor] : model.named_parameters()) names.emplace(tensor.impl_ptr().get(), name);
  std::vector<std::string> out;
  for (std::size_t i = 0; i < optimizer.parameters().size(); ++i) {
    const auto found = names.find(optimizer.parameters()[i].impl_ptr().get());
    out.push_back(found != names.end() ? found->second : "#" + std::to_string(i));
  }
  return out;
}

Tensor copy_of(const Tensor& t) { return t.detach().clone(); }

// Adds the optimizer's kind, learning rate and per-parameter state to the checkpoint (given).
void save_optimizer_state(const optim::Optimizer& optimizer, const nn::Module& model, Checkpoint& checkpoint) {
  checkpoint.optimizer = optimizer_kind(optimizer);
  checkpoint.optimizer_numbers.emplace_back("lr", optimizer.lr());
  const std::vector<std::string> names = parameter_names(optimizer, model);
  auto adam_state = [&](const optim::AdamParamState& s, const std::string& name) {
    if (!s.exp_avg.defined()) return;  // no step yet: no state
    checkpoint.optimizer_numbers.emplace_back(name + ".step", static_cast<double>(s.step));
    checkpoint.optimizer_tensors.emplace_back(name + ".exp_avg", copy_of(s.exp_avg));
    checkpoint.optimizer_tensors.emplace_back(name + ".exp_avg_sq", copy_of(s.exp_avg_sq));
  };
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (const auto* sgd = dynamic_cast<const optim::SGD*>(&optimizer)) {
      const Tensor& buffer = sgd->state(i).momentum_buffer;
      if (buffer.defined()) checkpoint.optimizer_tensors.emplace_back(names[i] + ".momentum_buffer", copy_of(buffer));
    } else if (const auto* adam = dynamic_cast<const optim::Adam*>(&optimizer)) {
      adam_state(adam->state(i), names[i]);
    } else if (const auto* adamw = dynamic_cast<const optim::AdamW*>(&optimizer)) {
      adam_state(adamw->state(i), names[i]);
    }
  }
}

}  // namespace

Checkpoint make_checkpoint(const nn::Module& model, const optim::Optimizer* optimizer, int64_t epoch) {
  Checkpoint checkpoint;
  // BEGIN SOLUTION
  checkpoint.epoch = epoch;
  for (const auto& [name, tensor] : model.named_parameters()) checkpoint.parameters.emplace_back(name, copy_of(tensor));
  for (const auto& [name, tensor] : model.named_buffers()) checkpoint.buffers.emplace_back(name, copy_of(tensor));
  if (optimizer != nullptr) save_optimizer_state(*optimizer, model, checkpoint);
  // END SOLUTION
  return checkpoint;
}

}  // namespace tinytorch::train

// %% [markdown]
// ### ⭐⭐ `encode_checkpoint`: the byte layout
//
// **TODO**: Write the checkpoint into `out` (a `ByteWriter`), field by field, in the order of the
// table above, and end with the CRC-32 of everything written before it.
//
// **APPROACH**:
// 1. `out.raw(kCheckpointMagic); out.u32(kCheckpointVersion); out.i64(checkpoint.epoch);`
//    `out.text(checkpoint.optimizer);`
// 2. For each of the three lists (`parameters`, `buffers`, `optimizer_tensors`):
//    `out.u32(count)`, then for each `[name, tensor]`: `out.text(name)`,
//    `out.u32(tensor.dim())`, `out.i64(size)` for each size of `tensor.shape()`, `out.floats(tensor)`.
// 3. `out.u32(count)` of `optimizer_numbers`, then for each: `out.text(name); out.f64(value);`
// 4. `out.u32(io::crc32(out.bytes()));`
//
// **EXAMPLE**:
// ```cpp
// train::Checkpoint c{.epoch = 2, .parameters = {{"w", tensor({1.5f})}}};
// train::encode_checkpoint(c)
// // 89 54 54 43 4B 50 54 0A   magic        01 00 00 00   version 1
// // 02 00 00 00 00 00 00 00   epoch 2      00 00 00 00   optimizer "" (length 0)
// // 01 00 00 00   one parameter:  01 00 00 00 77  "w"   01 00 00 00  rank 1
// //               01 00 00 00 00 00 00 00  size 1       00 00 C0 3F  1.5f
// // 00 00 00 00   no buffers   00 00 00 00   no optimizer tensors   00 00 00 00   no numbers
// // xx xx xx xx   the CRC-32 of the 61 bytes above
// ```
//
// **HINTS**:
// - A lambda `write_tensors(const nn::NamedTensors& list)` saves writing the record three times.
// - The casts: `static_cast<uint32_t>(list.size())`, `static_cast<uint32_t>(tensor.dim())`.
// - The CRC is of `out.bytes()` at that moment: everything but itself.
//
// **SYSTEMS THINKING**: the floats are the file: a 784-256-128-10 MLP with Adam is 705,438
// floats (2.8 MB) and fewer than 300 bytes of everything else. We write them one at a time
// through a shift loop, which is clear and portable; production formats (PyTorch's zip of
// raw storages, safetensors) write each tensor's memory in one `write` call, at disk speed, and
// safetensors can even map the file into memory and read tensors without copying them at all.

// %%
//| export impl
namespace tinytorch::train {

std::string encode_checkpoint(const Checkpoint& checkpoint) {
  ByteWriter out;
  // BEGIN SOLUTION
  out.raw(kCheckpointMagic);
  out.u32(kCheckpointVersion);
  out.i64(checkpoint.epoch);
  out.text(checkpoint.optimizer);
  auto write_tensors = [&](const nn::NamedTensors& list) {
    out.u32(static_cast<uint32_t>(list.size()));
    for (const auto& [name, tensor] : list) {
      out.text(name);
      out.u32(static_cast<uint32_t>(tensor.dim()));
      for (int64_t size : tensor.shape()) out.i64(size);
      out.floats(tensor);
    }
  };
  write_tensors(checkpoint.parameters);
  write_tensors(checkpoint.buffers);
  write_tensors(checkpoint.optimizer_tensors);
  out.u32(static_cast<uint32_t>(checkpoint.optimizer_numbers.size()));
  for (const auto& [name, value] : checkpoint.optimizer_numbers) {
    out.text(name);
    out.f64(value);
  }
  out.u32(io::crc32(out.bytes()));
  // END SOLUTION
  return out.take();
}

}  // namespace tinytorch::train

// %% [markdown]
// ### ⭐⭐⭐ `decode_checkpoint`: read it back, and refuse what is wrong
//
// **TODO**: Read the fields in the order `encode_checkpoint` wrote them, through `in` (a
// `ByteReader`), into `checkpoint`; refuse a wrong magic number, a version newer than
// `kCheckpointVersion` (or 0), a rank above 32, anything after the checksum, and a checksum that
// does not match. Every error goes through `in.fail(message)`, which puts the file's name in
// front.
//
// **APPROACH**:
// 1. Magic: `if (bytes.substr(0, 8) != kCheckpointMagic)` fail with
//    `"not a tinytorch checkpoint: it starts with " + hex_bytes(bytes, 8) + ", a checkpoint with " +
//    hex_bytes(kCheckpointMagic, 8)`. Then `in.raw(8, "the magic number");`
// 2. `const uint32_t version = in.u32("the version");` fail unless `1 <= version <=
//    kCheckpointVersion`, saying it is `"a version N checkpoint; this tinytorch reads version 1
//    (was it written by a newer one?)"`.
// 3. `checkpoint.epoch = in.i64("the epoch"); checkpoint.optimizer = in.text("the optimizer's name");`
// 4. Three lists of tensor records (a lambda again): the count, then for each: `name =
//    in.text("a tensor's name")`, `rank = in.u32(...)` (fail above 32), the sizes with
//    `in.i64(...)`, and `in.tensor(shape, name)`.
// 5. The numbers: a count, then `in.text(...)` and `in.f64(...)` for each.
// 6. `const std::size_t end = in.offset();` `stored = in.u32("the checksum")`; fail if
//    `in.remaining() != 0` ("N bytes after the checksum"); fail if
//    `stored != io::crc32(bytes.substr(0, end))`, with both values in hexadecimal.
//
// **EXAMPLE**:
// ```cpp
// train::decode_checkpoint(train::encode_checkpoint(c), "run.ttc")   // c again, exactly
// train::decode_checkpoint("PK\x03\x04...", "model.zip")
// // CheckpointError: model.zip: not a tinytorch checkpoint: it starts with 50 4B 03 04 ...
// train::decode_checkpoint(bytes.substr(0, 47), "run.ttc")   // bytes: the example of encode_checkpoint
// // CheckpointError: run.ttc is truncated: the values of tensor 'w' [1] needs 4 bytes at offset 45, and 2 are left ...
// ```
//
// **HINTS**:
// - Check the magic *before* reading anything else: for a file that is not a checkpoint at all,
//   "not a tinytorch checkpoint" is the only helpful message.
// - Check the version before the layout that depends on it.
// - The reader already reports a truncated file; your checks are the ones it cannot know.
// - `char hex[16]; std::snprintf(hex, sizeof hex, "%08X", value);` formats a checksum.
//
// **SYSTEMS THINKING**: every length in the file is read *before* the bytes it describes, and
// checked against what is left before anything is allocated. A reader that trusted a length
// field would allocate whatever a damaged (or malicious) file asked for: four bytes of garbage
// can ask for 16 GB. Pickle-based formats are worse: loading one runs code, which is why
// PyTorch now loads with `weights_only=True` and the safetensors format exists.

// %%
//| export impl
namespace tinytorch::train {

Checkpoint decode_checkpoint(std::string_view bytes, const std::string& file) {
  ByteReader in(bytes, file);
  Checkpoint checkpoint;
  // BEGIN SOLUTION
  if (bytes.substr(0, kCheckpointMagic.size()) != kCheckpointMagic) {
    in.fail("not a tinytorch checkpoint: it starts with " + hex_bytes(bytes, 8) + ", a checkpoint with " +
            hex_bytes(kCheckpointMagic, 8));
  }
  in.raw(kCheckpointMagic.size(), "the magic number");
  const uint32_t version = in.u32("the version");
  if (version < 1 || version > kCheckpointVersion) {
    in.fail("a version " + std::to_string(version) + " checkpoint; this tinytorch reads version " +
            std::to_string(kCheckpointVersion) + " (was it written by a newer one?)");
  }
  checkpoint.epoch = in.i64("the epoch");
  checkpoint.optimizer = in.text("the optimizer's name");
  auto read_tensors = [&](nn::NamedTensors& list, const std::string& kind) {
    const uint32_t count = in.u32("the number of " + kind);
    for (uint32_t i = 0; i < count; ++i) {
      std::string name = in.text("the name of " + kind + " " + std::to_string(i));
      const uint32_t rank = in.u32("the rank of '" + name + "'");
      if (rank > 32) in.fail("tensor '" + name + "' has rank " + std::to_string(rank) + " (a damaged file?)");
      Shape shape;
      for (uint32_t d = 0; d < rank; ++d) shape.push_back(in.i64("a size of '" + name + "'"));
      Tensor tensor = in.tensor(shape, name);
      list.emplace_back(std::move(name), std::move(tensor));
    }
  };
  read_tensors(checkpoint.parameters, "parameters");
  read_tensors(checkpoint.buffers, "buffers");
  read_tensors(checkpoint.optimizer_tensors, "optimizer tensors");
  const uint32_t numbers = in.u32("the number of optimizer numbers");
  for (uint32_t i = 0; i < numbers; ++i) {
    std::string name = in.text("the name of optimizer number " + std::to_string(i));
    const double value = in.f64("the value of '" + name + "'");
    checkpoint.optimizer_numbers.emplace_back(std::move(name), value);
  }
  const std::size_t end = in.offset();
  const uint32_t stored = in.u32("the checksum");
  if (in.remaining() != 0) in.fail(std::to_string(in.remaining()) + " bytes after the checksum (two files joined?)");
  const uint32_t actual = io::crc32(bytes.substr(0, end));
  if (stored != actual) {
    char expected_hex[16], actual_hex[16];
    std::snprintf(expected_hex, sizeof expected_hex, "%08X", stored);
    std::snprintf(actual_hex, sizeof actual_hex, "%08X", actual);
    in.fail(std::string("checksum mismatch: the file says CRC-32 ") + expected_hex + ", its bytes give " + actual_hex +
            " (the file is damaged)");
  }
  // END SOLUTION
  return checkpoint;
}

void save_checkpoint(const std::filesystem::path& path, const Checkpoint& checkpoint) {
  io::write_file_atomically(path, encode_checkpoint(checkpoint));
}

Checkpoint load_checkpoint(const std::filesystem::path& path) {
  return decode_checkpoint(io::read_file(path), path.string());
}

}  // namespace tinytorch::train

// %%
//| test
TEST(UnitCheckpointFormat, ARoundTripGivesEveryTensorAndNumberBack) {
  train::Checkpoint c{.epoch = 7, .parameters = {{"w", tensor({{1.5f, -2}, {0, 3}})}}, .optimizer = "Adam",
                      .optimizer_numbers = {{"lr", 0.001}}};
  const train::Checkpoint back = train::decode_checkpoint(train::encode_checkpoint(c), "test.ttc");
  EXPECT_EQ(back.epoch, 7);
  ASSERT_EQ(back.parameters.size(), 1u);
  EXPECT_EQ(back.parameters[0].first, "w");
  EXPECT_EQ(back.parameters[0].second.shape(), (Shape{2, 2}));
  EXPECT_EQ(back.parameters[0].second.to_vector(), (std::vector<float>{1.5f, -2, 0, 3}));
  EXPECT_EQ(back.optimizer, "Adam");
  EXPECT_EQ(back.optimizer_numbers, c.optimizer_numbers);
}

// %% [markdown]
// ### ⭐⭐ `load_model_state`: by name, checked, all or nothing
//
// **TODO**: Copy the checkpoint's parameters and buffers into the model's, matched by name.
// First check everything (both lists), then copy: a load that fails must leave the model as it
// was.
//
// **APPROACH**:
// 1. `nn::NamedTensors parameters = model.named_parameters(), buffers = model.named_buffers();`
//    (lists of handles to the model's own tensors: copying a list copies no numbers)
// 2. A lambda `check(kind, mine, saved)` (kind is `"parameter"` or `"buffer"`):
//    - for each `[name, tensor]` of `mine`: `find_tensor(saved, name)` (given); if null, throw
//      `CheckpointError(source + " has no " + kind + " '" + name + "', which the model has")`; if
//      its shape differs: `CheckpointError(kind + " '" + name + "' is " + shape_str(saved shape) +
//      " in " + source + ", the model's is " + shape_str(tensor.shape()))`;
//    - for each name of `saved` that `mine` lacks: `CheckpointError(source + " has a " + kind +
//      " '" + name + "' that the model does not have")`.
// 3. `check("parameter", parameters, checkpoint.parameters);` and the same for buffers.
// 4. `NoGradGuard no_grad;` then `tensor.copy_(*find_tensor(saved, name))` for every tensor of
//    both lists.
//
// **EXAMPLE**:
// ```cpp
// train::load_model_state(model, train::load_checkpoint("run/best.ttc"), "run/best.ttc");
// // a model with fc1 of 32 units and a checkpoint with 64:
// // CheckpointError: parameter 'fc1.weight' is [64, 2] in run/best.ttc, the model's is [32, 2]
// ```
//
// **HINTS**:
// - `copy_` writes into the model's own tensor, in place: the optimizer, which holds handles to
//   the same tensors, sees the loaded weights. `tensor = saved` would re-point a local copy.
// - In-place changes of tensors that require grad are refused while autograd records (module
//   01): the `NoGradGuard` is not optional.
// - Matching by name, not by position, is what lets a checkpoint load into a model whose
//   parameters were registered in another order.
//
// **SYSTEMS THINKING**: PyTorch's `load_state_dict(strict=True)` makes exactly these checks and
// lists *all* the missing and unexpected keys at once; `strict=False` loads what matches and
// returns the rest, which is how a pre-trained backbone is loaded under a new classification
// head (fine-tuning): the head's weights are "missing" on purpose.

// %%
//| export impl
namespace tinytorch::train {

void load_model_state(nn::Module& model, const Checkpoint& checkpoint, const std::string& source) {
  // BEGIN SOLUTION
  nn::NamedTensors parameters = model.named_parameters(), buffers = model.named_buffers();
  auto check = [&](const std::string& kind, const nn::NamedTensors& mine, const nn::NamedTensors& saved) {
    for (const auto& [name, tensor] : mine) {
      const Tensor* stored = find_tensor(saved, name);
      if (stored == nullptr) throw CheckpointError(source + " has no " + kind + " '" + name + "', which the model has");
      if (stored->shape() != tensor.shape()) {
        throw CheckpointError(kind + " '" + name + "' is " + shape_str(stored->shape()) + " in " + source +
                              ", the model's is " + shape_str(tensor.shape()));
      }
    }
    for (const auto& [name, stored] : saved) {
      if (find_tensor(mine, name) == nullptr) {
        throw CheckpointError(source + " has a " + kind + " '" + name + "' that the model does not have");
      }
    }
  };
  check("parameter", parameters, checkpoint.parameters);
  check("buffer", buffers, checkpoint.buffers);
  NoGradGuard no_grad;
  for (auto& [name, tensor] : parameters) tensor.copy_(*find_tensor(checkpoint.parameters, name));
  for (auto& [name, tensor] : buffers) tensor.copy_(*find_tensor(checkpoint.buffers, name));
  // END SOLUTION
}

}  // namespace tinytorch::train

// %% [markdown]
// The optimizer's half (given): the kind must match, every state tensor must belong to one of the
// optimizer's parameters and have its shape; then SGD's velocity or Adam's moments and step count
// are put back, and the learning rate. `Trainer::save_checkpoint` and `load_checkpoint` join the
// two halves; loading also re-creates the schedule at the checkpoint's epoch (a schedule is a
// formula of the epoch, module 06).

// %%
//| export impl
namespace tinytorch::train {

void load_optimizer_state(optim::Optimizer& optimizer, const nn::Module& model, const Checkpoint& checkpoint,
                          const std::string& source) {
  const std::string kind = optimizer_kind(optimizer);
  if (checkpoint.optimizer.empty()) {
    throw CheckpointError(source + " holds no optimizer state (it was saved without an optimizer)");
  }
  if (checkpoint.optimizer != kind) {
    throw CheckpointError(source + " holds the state of " + checkpoint.optimizer + ", and the optimizer is " + kind);
  }
  const std::vector<std::string> names = parameter_names(optimizer, model);
  std::unordered_map<std::string, std::size_t> index;
  for (std::size_t i = 0; i < names.size(); ++i) index.emplace(names[i], i);
  // "0.weight.exp_avg" -> parameter "0.weight", state "exp_avg", checked against the parameter.
  auto owner = [&](const std::string& entry, const char* what) -> std::pair<std::size_t, std::string> {
    const std::size_t dot = entry.rfind('.');
    const auto found = dot == std::string::npos ? index.end() : index.find(entry.substr(0, dot));
    if (found == index.end()) {
      throw CheckpointError(source + " has optimizer " + what + " '" + entry + "' for a parameter the optimizer does not have");
    }
    return {found->second, entry.substr(dot + 1)};
  };
  double lr = optimizer.lr();
  std::vector<std::optional<double>> steps(names.size());
  for (const auto& [name, value] : checkpoint.optimizer_numbers) {
    if (name == "lr") {
      lr = value;
      continue;
    }
    const auto [i, state] = owner(name, "number");
    if (state != "step") throw CheckpointError(source + " has an optimizer number '" + name + "' that " + kind + " does not keep");
    steps[i] = value;
  }
  std::vector<std::unordered_map<std::string, Tensor>> tensors(names.size());
  for (const auto& [name, tensor] : checkpoint.optimizer_tensors) {
    const auto [i, state] = owner(name, "tensor");
    const Tensor& p = optimizer.parameters()[i];
    if (tensor.shape() != p.shape()) {
      throw CheckpointError("optimizer tensor '" + name + "' is " + shape_str(tensor.shape()) + " in " + source +
                            ", its parameter is " + shape_str(p.shape()));
    }
    const bool known = kind == "SGD" ? state == "momentum_buffer" : (state == "exp_avg" || state == "exp_avg_sq");
    if (!known) throw CheckpointError(source + " has an optimizer tensor '" + name + "' that " + kind + " does not keep");
    tensors[i][state] = copy_of(tensor);
  }
  auto adam_state = [&](optim::AdamParamState& s, std::size_t i) {
    const bool has_moments = tensors[i].count("exp_avg") && tensors[i].count("exp_avg_sq");
    if (has_moments != steps[i].has_value()) {
      throw CheckpointError(source + ": the Adam state of '" + names[i] + "' is incomplete (step, exp_avg, exp_avg_sq)");
    }
    s = optim::AdamParamState{};
    if (!has_moments) return;
    s.step = static_cast<int64_t>(*steps[i]);
    s.exp_avg = tensors[i]["exp_avg"];
    s.exp_avg_sq = tensors[i]["exp_avg_sq"];
  };
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (auto* sgd = dynamic_cast<optim::SGD*>(&optimizer)) {
      sgd->state(i).momentum_buffer = tensors[i].count("momentum_buffer") ? tensors[i]["momentum_buffer"] : Tensor();
    } else if (auto* adam = dynamic_cast<optim::Adam*>(&optimizer)) {
      adam_state(adam->state(i), i);
    } else if (auto* adamw = dynamic_cast<optim::AdamW*>(&optimizer)) {
      adam_state(adamw->state(i), i);
    }
  }
  optimizer.set_lr(lr);
}

void Trainer::save_checkpoint(const std::filesystem::path& path) const {
  train::save_checkpoint(path, make_checkpoint(model_, optimizer_.get(), epochs_done_));
}

int64_t Trainer::load_checkpoint(const std::filesystem::path& path) {
  const Checkpoint checkpoint = train::load_checkpoint(path);
  load_model_state(model_, checkpoint, path.string());
  load_optimizer_state(*optimizer_, model_, checkpoint, path.string());
  epochs_done_ = checkpoint.epoch;
  if (scheduler_) {  // the schedule at that epoch: re-made from the base rate, stepped epoch times
    const double lr = optimizer_->lr();
    optimizer_->set_lr(config_.lr);
    scheduler_ = make_scheduler(config_, *optimizer_);
    for (int64_t e = 0; e < epochs_done_; ++e) scheduler_->step();
    optimizer_->set_lr(lr);  // the rate the run had, as saved
  }
  return epochs_done_;
}

}  // namespace tinytorch::train

// %% [markdown]
// A checkpoint at work. The demo trains the spiral network for a few epochs and saves it; then
// it adds noise to every weight (a stand-in for whatever can go wrong: a bad update, a bug, a
// bit flip), and the accuracy falls; then it loads the checkpoint, and the accuracy is back,
// to the last digit. Last, it shows what the checks catch: a file cut short, a flipped byte, and
// a model of another shape.

// %%
//| demo
#include <cstdio>
#include <filesystem>

#include <tinytorch/files.hpp>
#include <tinytorch/image.hpp>

const std::filesystem::path folder = std::filesystem::absolute("build/demos/07_training");
const data::Example spirals = data::make_spirals(300, 3, 0.05, 1);
const data::Example held_out = data::make_spirals(100, 3, 0.05, 2);
nn::Sequential model(nn::Linear(2, 64, true, 1), nn::ReLU(), nn::Linear(64, 64, true, 2), nn::ReLU(),
                     nn::Linear(64, 3, true, 3));
train::Trainer trainer(model, {.epochs = 15, .batch_size = 32, .lr = 0.01, .progress = train::ProgressMode::Off});
data::TensorBatches train_batches(spirals.data, spirals.target, {.batch_size = 32, .shuffle = true, .seed = 7});
data::TensorBatches val_batches(held_out.data, held_out.target, {.batch_size = 100});
trainer.fit(train_batches);
const std::filesystem::path file = folder / "spirals.ttc";
trainer.save_checkpoint(file);
const double saved = trainer.evaluate(val_batches).accuracy;
std::printf("trained 15 epochs: validation accuracy %.2f%%; saved %s (%lld bytes)\n", 100 * saved, file.c_str(),
            static_cast<long long>(std::filesystem::file_size(file)));
{
  NoGradGuard no_grad;
  uint64_t seed = 100;
  for (Tensor& p : model.parameters()) p += randn(p.shape(), seed++) * 0.5f;
}
std::printf("after noise of std 0.5 on every weight: %.2f%%\n", 100 * trainer.evaluate(val_batches).accuracy);
trainer.load_checkpoint(file);
const double restored = trainer.evaluate(val_batches).accuracy;
std::printf("after load_checkpoint:                  %.2f%% (%s)\n\n", 100 * restored,
            restored == saved ? "the same, to the last bit" : "DIFFERENT: the checkpoint lost something");

std::string bytes = io::read_file(file);
auto try_load = [&](const std::string& what, const std::string& content) {
  try {
    train::decode_checkpoint(content, file.filename().string());
    std::printf("%-22s loaded?!\n", what.c_str());
  } catch (const train::CheckpointError& e) {
    std::printf("%-22s %s\n", what.c_str(), e.what());
  }
};
try_load("cut to 1000 bytes:", bytes.substr(0, 1000));
std::string flipped = bytes;
flipped[flipped.size() / 2] ^= 0x10;
try_load("one bit flipped:", flipped);
try_load("a PNG instead:", plot::encode_png(plot::Image(8, 8)));
nn::Sequential wider(nn::Linear(2, 128, true, 1), nn::ReLU(), nn::Linear(128, 64, true, 2), nn::ReLU(),
                     nn::Linear(64, 3, true, 3));
try {
  train::load_model_state(wider, train::load_checkpoint(file), file.filename().string());
} catch (const train::CheckpointError& e) {
  std::printf("%-22s %s\n", "a wider model:", e.what());
}

// %% [markdown]
// ## Part 8: `fit`, the whole run (given)
//
// `fit` is what a user calls: your pieces, in the order a run needs them. Read it: every line is
// something this module explained.
//
//     for each epoch from epochs_done() + 1 to config.epochs:
//         train_epoch                        (its progress bar on a smart terminal)
//         evaluate on the validation source  (when there is one)
//         early stopping: update; keep a copy of the weights at every new best
//         log.csv rewritten, last.ttc and best.ttc saved  (with out_dir)
//         epoch hooks; one line printed
//         stop if early stopping says so; otherwise the schedule steps to the next epoch
//     restore the best weights (restore_best), write curves.png
//
// The **learning rate in the log** is the one the epoch trained with: read before the schedule
// steps. **Output** follows the rule of every good command-line tool (ninja's, tito's): on a
// smart terminal (a tty, `TERM` not `dumb`, `CI` not set) a bar redrawn in place at most ten
// times a second, colour unless `NO_COLOR` is set; in a pipe or CI, one plain line per epoch and
// no escape codes, so a log file reads cleanly. The decision is made once, at the start
// (`term::detect`, in the support library); the trainer never asks again.
//
// The **curves** (`write_curves_png`) are two panels: loss and accuracy against the epoch, train
// and validation, with the epoch where early stopping ended the run marked by a dashed line, and
// the best epoch by a dot. They are drawn by the support library's plotting (`plot::Figure`, a
// bitmap font, libpng), which module 09 reuses for images and feature maps.

// %%
//| export
namespace tinytorch::train {

// The training curves of `history` as a PNG at `path`: loss and accuracy against the epoch, train
// and validation, the early-stop epoch and the best epoch marked; `title` above them.
void write_curves_png(const std::filesystem::path& path, const History& history,
                      const std::string& title = "Training curves");

}  // namespace tinytorch::train

// %%
//| export impl
namespace tinytorch::train {

void write_curves_png(const std::filesystem::path& path, const History& history, const std::string& title) {
  std::vector<double> epochs, train_loss, val_loss, train_acc, val_acc;
  for (const EpochMetrics& m : history.epochs) {
    epochs.push_back(static_cast<double>(m.epoch));
    train_loss.push_back(m.train.loss);
    train_acc.push_back(m.train.accuracy);
    val_loss.push_back(m.has_validation() ? m.validation.loss : std::nan(""));
    val_acc.push_back(m.has_validation() ? m.validation.accuracy : std::nan(""));
  }
  const bool has_validation = !history.epochs.empty() && history.epochs.front().has_validation();
  const bool markers = epochs.size() <= 30;
  plot::Figure figure{.title = title};
  auto panel = [&](const std::string& name, const std::string& y_label, const std::vector<double>& train,
                   const std::vector<double>& validation) {
    plot::Axes axes{.title = name, .x_label = "epoch", .y_label = y_label, .integer_x = true};
    if (!epochs.empty()) {  // half an epoch to spare at each end, so the first and last markers show whole
      axes.x_min = epochs.front() - 0.5;
      axes.x_max = epochs.back() + 0.5;
    }
    axes.series.push_back({.label = "train", .x = epochs, .y = train, .color = plot::colors::blue, .markers = markers});
    if (has_validation) {
      axes.series.push_back(
          {.label = "validation", .x = epochs, .y = validation, .color = plot::colors::orange, .markers = markers});
    }
    if (history.stopped_epoch > 0) {
      axes.vertical_lines.push_back({.x = static_cast<double>(history.stopped_epoch),
                                     .label = "early stop (epoch " + std::to_string(history.stopped_epoch) + ")",
                                     .color = plot::colors::red});
    }
    if (history.best_epoch > 0 && has_validation) {
      const std::size_t i = static_cast<std::size_t>(history.best_epoch - history.epochs.front().epoch);
      if (i < validation.size()) {
        axes.points.push_back({.x = static_cast<double>(history.best_epoch),
                               .y = validation[i],
                               .label = "best: epoch " + std::to_string(history.best_epoch),
                               .color = plot::colors::green});
      }
    }
    figure.panels.push_back(std::move(axes));
  };
  panel("loss", "cross-entropy", train_loss, val_loss);
  panel("accuracy", "fraction correct", train_acc, val_acc);
  plot::write_png(path, plot::render(figure));
}

term::Terminal Trainer::output_terminal() const {
  term::Terminal t = terminal_ ? *terminal_ : (out_ == &std::cout ? term::detect(1) : term::Terminal{});
  if (config_.progress == ProgressMode::Bar) {
    const char* no_color = std::getenv("NO_COLOR");
    t.smart = true;
    t.color = no_color == nullptr || no_color[0] == '\0';
  } else if (config_.progress == ProgressMode::Lines) {
    t.smart = false;
    t.color = false;
  }
  return t;
}

namespace {

// One line per epoch: "epoch  3/20  train 0.4321 85.1%  val 0.4420 84.0%  lr 1.00e-02  0.21 s  4,812 ex/s  best"
std::string epoch_line(const EpochMetrics& m, int64_t epochs, const term::Terminal& t, bool stopping) {
  const int width = static_cast<int>(std::to_string(epochs).size());
  char head[64];
  std::snprintf(head, sizeof head, "epoch %*lld/%lld", width, static_cast<long long>(m.epoch),
                static_cast<long long>(epochs));
  std::string line = std::string(head) + "  train loss " + fixed(m.train.loss, 4) + " acc " + percent(m.train.accuracy);
  if (m.has_validation()) line += "  val loss " + fixed(m.validation.loss, 4) + " acc " + percent(m.validation.accuracy);
  line += "  lr " + scientific(m.lr) + "  " + fixed(m.seconds, 2) + " s  " + grouped(m.examples_per_second) + " ex/s";
  if (m.improved) line += "  " + term::paint("best", term::Color::Green, t);
  if (stopping) line += "  " + term::paint("early stop", term::Color::Yellow, t);
  return line;
}

}  // namespace

History Trainer::fit(data::BatchSource& train, data::BatchSource* validation) {
  if (config_.patience > 0 && validation == nullptr) {
    throw std::invalid_argument("Trainer::fit(): Config.patience = " + std::to_string(config_.patience) +
                                " needs a validation source: pass fit(train, &validation), or set patience = 0");
  }
  const bool quiet = config_.progress == ProgressMode::Off;
  std::ostringstream discard;
  std::ostream& out = quiet ? discard : *out_;
  const term::Terminal terminal = output_terminal();
  status_ = std::make_unique<term::StatusLine>(out, terminal);
  struct StatusReset {  // the status line lives as long as this call, also when it throws
    std::unique_ptr<term::StatusLine>& status;
    ~StatusReset() { status.reset(); }
  } status_reset{status_};

  const std::filesystem::path dir = config_.out_dir;
  const bool write_files = !config_.out_dir.empty();
  history_ = History{};
  EarlyStopping stopper(config_.patience, config_.min_delta);
  std::optional<Checkpoint> best;  // the weights of the best epoch, in memory

  status_->print("training " + model_.name() + " (" + grouped(static_cast<double>(nn::parameter_count(model_))) +
                 " parameters) for " + std::to_string(config_.epochs) + " epochs: " + to_string(config_.optimizer) +
                 " lr " + number_str(config_.lr) + ", " + grouped(static_cast<double>(train.num_examples())) +
                 " training examples" +
                 (validation ? ", " + grouped(static_cast<double>(validation->num_examples())) + " for validation" : ""));

  for (int64_t epoch = epochs_done_ + 1; epoch <= config_.epochs; ++epoch) {
    EpochMetrics m;
    m.epoch = epoch;
    m.lr = optimizer_->lr();
    const auto started = std::chrono::steady_clock::now();
    m.train = train_epoch(train, epoch - 1);
    if (validation != nullptr) {
      status_->update("epoch " + std::to_string(epoch) + "/" + std::to_string(config_.epochs) + " validating ...", true);
      m.validation = evaluate(*validation);
    }
    m.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    m.examples_per_second = m.train.seconds > 0 ? static_cast<double>(m.train.examples) / m.train.seconds : 0;
    epochs_done_ = epoch;

    bool stop = false;
    if (validation != nullptr) {
      stop = stopper.update(m.validation.loss, epoch);
      m.improved = stopper.improved();
      if (m.improved) {
        history_.best_epoch = epoch;
        history_.best_loss = m.validation.loss;
        if (config_.restore_best) best = make_checkpoint(model_, nullptr, epoch);
        if (write_files && config_.save_checkpoints) save_checkpoint(dir / "best.ttc");
      }
    }
    history_.epochs.push_back(m);
    if (write_files) {
      io::write_file_atomically(dir / "log.csv", csv_log(history_.epochs));
      if (config_.save_checkpoints) save_checkpoint(dir / "last.ttc");
    }
    for (const EpochHook& hook : epoch_hooks_) hook(m);
    status_->print(epoch_line(m, config_.epochs, terminal, stop));
    if (stop) {
      history_.stopped_epoch = epoch;
      break;
    }
    if (scheduler_) scheduler_->step();
  }

  std::string summary;
  if (history_.stopped_epoch > 0) {
    summary = "stopped early after epoch " + std::to_string(history_.stopped_epoch) + ": no better validation loss for " +
              std::to_string(config_.patience) + " epochs";
  }
  if (best && config_.restore_best) {
    load_model_state(model_, *best, "the best weights (epoch " + std::to_string(best->epoch) + ", in memory)");
    history_.restored_best = true;
    summary += std::string(summary.empty() ? "" : "; ") + "restored the weights of epoch " +
               std::to_string(best->epoch) + " (validation loss " + fixed(history_.best_loss, 4) + ")";
  }
  if (write_files) {
    write_curves_png(dir / "curves.png", history_);
    history_.files.push_back(dir / "log.csv");
    history_.files.push_back(dir / "curves.png");
    if (config_.save_checkpoints) {
      history_.files.push_back(dir / "last.ttc");
      if (history_.best_epoch > 0) history_.files.push_back(dir / "best.ttc");
    }
  }
  if (!summary.empty()) status_->print(summary);
  return history_;
}

}  // namespace tinytorch::train

// %% [markdown]
// ### The whole run
//
// The same spirals, now through `fit`: twenty epochs with a validation set, a cosine schedule,
// the progress bar (run `tito module run training` in a terminal to see it redraw; in a pipe you
// get one line per epoch), and then the CSV log and the curves that `fit` wrote. Open the PNG:
// both losses fall together and the two accuracies climb together: a model that *fits*, neither
// too simple for the spirals nor memorizing them.

// %%
//| demo
#include <cstdio>
#include <filesystem>
#include <iostream>

#include <tinytorch/files.hpp>

const std::filesystem::path folder = std::filesystem::absolute("build/demos/07_training/spirals");
const data::Example spirals = data::make_spirals(300, 3, 0.05, 1);
const data::Example held_out = data::make_spirals(100, 3, 0.05, 2);
nn::Sequential model(nn::Linear(2, 64, true, 1), nn::ReLU(), nn::Linear(64, 64, true, 2), nn::ReLU(),
                     nn::Linear(64, 3, true, 3));
train::Config config{.epochs = 20, .batch_size = 32, .lr = 0.01, .schedule = train::Schedule::Cosine,
                     .seed = 7, .out_dir = folder.string()};
std::cout << "the config of this run:\n" << config << "\n" << std::flush;
train::Trainer trainer(model, config);
data::TensorBatches train_batches(spirals.data, spirals.target, train::batch_options(config, true));
data::TensorBatches val_batches(held_out.data, held_out.target, train::batch_options(config, false));
const train::History history = trainer.fit(train_batches, &val_batches);
std::printf("\n%s (the CSV log):\n%s\n", (folder / "log.csv").c_str(), io::read_file(folder / "log.csv").c_str());
std::printf("curves: %s\n", (folder / "curves.png").c_str());

// %% [markdown]
// ### Early stopping at work
//
// Now a setup that *overfits*, on purpose: two rings that overlap (`make_circles` with noise
// 0.25, so no boundary can be right everywhere), only 40 training points against 1,000 for
// validation, and a network far too big for them (2-256-256-2, 67,000 weights), without weight
// decay. The network learns the rings for a few epochs, then starts to memorize where each of
// its 40 points happens to lie: the training loss keeps falling while the validation loss turns
// and climbs. With `patience = 15`, the run stops fifteen epochs after the best one and hands
// back the best weights. Look at the curves: the dashed line is where it stopped, the dot where
// it was best.

// %%
//| demo
#include <cstdio>
#include <filesystem>

const std::filesystem::path folder = std::filesystem::absolute("build/demos/07_training/overfit");
const data::Example few = data::make_circles(40, 0.25, 0.5, 11);
const data::Example many = data::make_circles(1000, 0.25, 0.5, 12);
nn::Sequential model(nn::Linear(2, 256, true, 1), nn::ReLU(), nn::Linear(256, 256, true, 2), nn::ReLU(),
                     nn::Linear(256, 2, true, 3));
train::Config config{.epochs = 300, .batch_size = 8, .lr = 0.002, .patience = 15, .seed = 3,
                     .out_dir = folder.string(), .progress = train::ProgressMode::Lines};
train::Trainer trainer(model, config);
data::TensorBatches train_batches(few.data, few.target, train::batch_options(config, true));
data::TensorBatches val_batches(many.data, many.target, train::batch_options(config, false));
const train::History history = trainer.fit(train_batches, &val_batches);
const train::EpochMetrics& last = history.epochs.back();
const train::EpochMetrics& best = history.epochs[static_cast<std::size_t>(history.best_epoch - 1)];
std::printf("\nbest epoch %lld: train loss %.4f, validation loss %.4f (accuracy %.1f%%)\n",
            static_cast<long long>(history.best_epoch), best.train.loss, best.validation.loss,
            100 * best.validation.accuracy);
std::printf("last epoch %lld: train loss %.4f, validation loss %.4f (accuracy %.1f%%): memorizing\n",
            static_cast<long long>(last.epoch), last.train.loss, last.validation.loss, 100 * last.validation.accuracy);
std::printf("after restore_best, the model's validation accuracy: %.1f%%\n",
            100 * trainer.evaluate(val_batches).accuracy);
std::printf("curves: %s\n", (folder / "curves.png").c_str());

// %% [markdown]
// ## Part 9: The same seed, the same numbers
//
// A run is reproducible when the same code, data and seed give the same numbers. What does that
// take here? Every source of randomness must be seeded, and none may depend on anything else:
//
// | randomness | seeded by | here |
// |---|---|---|
// | the initial weights | the layer's seed, or `nn::init::manual_seed` | `nn::Linear(2, 64, true, 1)` |
// | dropout's masks | the Dropout's seed (module 03) | `nn::Dropout(0.2, 5)` |
// | the data order | `(seed, epoch)`: your `shuffle_order` | `Config::seed` → `batch_options` |
//
// Then the arithmetic must be deterministic too: the same operations in the same order. On one
// thread, as here, it is. On a GPU it often is not: atomic additions land in a different order
// each run, and float addition is not associative, so the last bits differ; PyTorch offers
// `torch.use_deterministic_algorithms(True)` at a cost in speed. (Module 11's thread pool must
// keep each sum's order fixed for the same reason.)
//
// The demo runs the same training twice and compares every number of the two histories and
// every weight, bit for bit; then once with another seed.

// %%
//| demo
#include <cstdio>
#include <cstring>

auto run = [](uint64_t seed) {
  const data::Example points = data::make_circles(400, 0.1, 0.5, 21);
  nn::Sequential model(nn::Linear(2, 32, true, seed), nn::ReLU(), nn::Dropout(0.2, seed + 1),
                       nn::Linear(32, 2, true, seed + 2));
  train::Config config{.epochs = 5, .batch_size = 16, .lr = 0.01, .seed = seed, .progress = train::ProgressMode::Off};
  train::Trainer trainer(model, config);
  data::TensorBatches batches(points.data, points.target, train::batch_options(config, true));
  const train::History history = trainer.fit(batches);
  std::vector<double> numbers;
  for (const train::EpochMetrics& m : history.epochs) {
    numbers.push_back(m.train.loss);
    numbers.push_back(m.train.accuracy);
  }
  for (const Tensor& p : model.parameters()) {
    for (float v : p.to_vector()) numbers.push_back(v);
  }
  return numbers;
};
const std::vector<double> first = run(42), second = run(42), other = run(43);
const bool same = first.size() == second.size() &&
                  std::memcmp(first.data(), second.data(), first.size() * sizeof(double)) == 0;
std::size_t differ = 0;
for (std::size_t i = 0; i < first.size(); ++i) differ += first[i] != other[i];
std::printf("two runs with seed 42: %zu numbers (losses, accuracies, weights) compared: %s\n", first.size(),
            same ? "identical, bit for bit" : "DIFFERENT");
std::printf("train loss after epoch 5: %.17g and %.17g\n", first[8], second[8]);
std::printf("a run with seed 43: %zu of %zu numbers differ (loss after epoch 5: %.17g)\n", differ, first.size(), other[8]);

// %% [markdown]
// ### What evaluation with recording on costs
//
// Why is the `NoGradGuard` in `evaluate` not a detail? The demo runs the 784-256-128-10 MLP of
// module 08's milestone on a batch of 256 random images, once recording, once under the guard,
// and counts what the recorded graph keeps alive until the loss tensor is dropped: the nodes,
// and the floats of the tensors they hold.

// %%
//| demo
#include <chrono>
#include <cmath>
#include <cstdio>

nn::Sequential mlp(nn::Linear(784, 256, true, 1), nn::ReLU(), nn::Linear(256, 128, true, 2), nn::ReLU(),
                   nn::Linear(128, 10, true, 3));
const Tensor images = rand({256, 784}, 4);
const Tensor labels = map(arange(256.0f), [](float v) { return std::fmod(v, 10.0f); });
auto forward_loss = [&] { return nn::functional::cross_entropy(mlp(images), labels); };
auto milliseconds = [](auto work) {
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 10; ++i) work();
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count() / 10;
};
mlp.eval();
const Tensor recorded = forward_loss();
const autograd::GraphTask graph = autograd::collect_graph(autograd::grad_fn(recorded));
int64_t kept = 0;
for (const auto& node : graph.nodes) kept += node->output.numel();
const double recorded_ms = milliseconds([&] { forward_loss(); });
double guarded_ms = 0;
{
  NoGradGuard no_grad;
  const Tensor plain = forward_loss();
  std::printf("evaluating a batch of 256 through 784-256-128-10:\n");
  std::printf("  recording:       %zu graph nodes, holding %lld floats (%.2f MB) of intermediate results until the loss "
              "is dropped\n",
              graph.nodes.size(), static_cast<long long>(kept), kept * 4 / 1e6);
  std::printf("  NoGradGuard:     %s, nothing held\n", autograd::grad_fn(plain) ? "a graph?!" : "no graph");
  guarded_ms = milliseconds([&] { forward_loss(); });
}
std::printf("  time per batch:  %.2f ms recording, %.2f ms under the guard\n\n", recorded_ms, guarded_ms);

// What a checkpoint of this MLP weighs, with Adam's state after one step.
train::Trainer trainer(mlp, {.progress = train::ProgressMode::Off});
trainer.train_step({images, labels});
const std::string bytes = train::encode_checkpoint(train::make_checkpoint(mlp, &trainer.optimizer(), 1));
std::printf("a checkpoint of the MLP with Adam's state: %zu bytes for %lld parameters (%.3f bytes per parameter)\n",
            bytes.size(), static_cast<long long>(nn::parameter_count(mlp)),
            static_cast<double>(bytes.size()) / static_cast<double>(nn::parameter_count(mlp)));

// %% [markdown]
// ## Summary
//
// You built the training machinery that every later module runs on:
//
// - **batches**: `BatchSource`, the contract with the data; `TensorBatches` over tensors in
//   memory; `shuffle_order`, a permutation that depends on `(seed, epoch)` only;
// - **`train::Config`**: every hyperparameter of a run in one printed, validated struct;
// - **the training step**: `zero_grad`, forward, loss, backward, clip, step, in that order;
// - **the two loops**: `train_epoch` in training mode, `evaluate` in evaluation mode under a
//   `NoGradGuard`, both averaging over *examples*, not batches;
// - **early stopping** that stops at exactly `patience` epochs without a better validation loss,
//   and gives back the best weights;
// - **a CSV log** rewritten atomically every epoch, and **curves** as a PNG;
// - **checkpoints** in a format of your own: magic number, version, names and shapes,
//   CRC-32; weights, buffers, the optimizer's state and the epoch; errors that name the file and
//   say what is wrong;
// - **reproducibility**: the same seed gives the same numbers, to the last bit.
//
// ## Reflect
//
// For each, write your estimate down first, then measure (the demos print the numbers).
//
// 1. **The uneven last batch.** 1,001 validation examples in batches of 100: ten batches at 90%
//    accuracy and a last one of a single example, classified wrong. Estimate the two "accuracies"
//    (the mean of the batch accuracies, and the fraction of examples right) and how far apart they
//    are. Then build that source with `TensorBatches` and a model you set by hand, and measure
//    both with a `MetricAccumulator` and with a plain mean.
// 2. **Evaluation with recording on.** For the 784-256-128-10 MLP and a batch of 256, estimate
//    how many floats of intermediate results the recorded graph keeps (list the ops of one
//    `Linear` and a `ReLU`, and the sizes of their outputs). Then read the last demo's count. How
//    does it grow with the batch size, and why is this the activation memory of a training step?
// 3. **A checkpoint's size.** Before running the last demo: how many bytes is a checkpoint of the
//    784-256-128-10 MLP with Adam's state after one step? (Count the parameters, the moments, and
//    what the names and shapes add.) Then compare with the printed size. How large would it be
//    with SGD and no momentum?
// 4. **Patience.** In the early-stopping demo, how many epochs did the run train after its best
//    one, and how many of the validation losses after the best were within 1% of it? Estimate
//    what `patience = 2` and `patience = 20` would have given (the epoch it stops, the accuracy
//    it keeps), then run both. Is `min_delta` or `patience` the better guard against noise here?
// 5. **Resuming.** Estimate how different the weights are after (a) five epochs straight and (b)
//    three epochs, a checkpoint, a fresh process that loads it, and two more epochs. Then do it
//    (`save_checkpoint`, a new `Trainer`, `load_checkpoint`, `train_epoch(source, 3)` and `4`). Now
//    load only the model and not the optimizer's state (`load_model_state`): how large is the
//    difference after the two epochs, and why is it largest in the first steps after the resume?
// 6. **Where the time goes.** From the fit demo's `ex/s` column, estimate the time of one
//    training step and of one evaluation batch of the same size; predict their ratio from the
//    work each does (part 4), then measure it with `train_epoch` and `evaluate` on the same
//    source.
//
// Next: module 08, dataloader. It replaces this module's `TensorBatches` with the general
// machinery: `data::Dataset` and `TensorDataset`, a `DataLoader` (batch size, seeded shuffle,
// drop_last) that is a `BatchSource` your `Trainer` reads unchanged, transforms (normalize, random
// crop, horizontal flip), and the readers of Fashion-MNIST, MNIST and CIFAR-10 files. With it,
// the MLP milestone trains the 784-256-128-10 network on real Fashion-MNIST through `fit`.
