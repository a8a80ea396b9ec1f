// Tests for module 07 (training): the public API of <tinytorch/core/training.hpp>.
// Each group aims at a wrong answer students really write, and says so when it fails.
// Linked with gtest_main, together with the quick tests in training_dev.cpp.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <numbers>
#include <sstream>
#include <string>
#include <vector>

#include <tinytorch/core/training.hpp>
#include <tinytorch/files.hpp>
#include <tinytorch/image.hpp>
#include <tinytorch/testing.hpp>

namespace {

namespace fs = std::filesystem;
using namespace tinytorch;
using ::testing::HasSubstr;
using ::testing::StartsWith;
using tinytorch::testing::error_message;

using Values = std::vector<float>;
const double kNaN = std::numeric_limits<double>::quiet_NaN();

// ---------------------------------------------------------------------------------------
// Helpers

// A BatchSource of given batches, which records how it is used.
class ListSource : public data::BatchSource {
 public:
  explicit ListSource(std::vector<data::Example> batches) : batches_(std::move(batches)) {}
  int64_t num_batches() const override { return static_cast<int64_t>(batches_.size()); }
  int64_t num_examples() const override {
    int64_t n = 0;
    for (const data::Example& b : batches_) n += b.data.size(0);
    return n;
  }
  void start_epoch(int64_t epoch) override { epochs.push_back(epoch); }
  data::Example batch(int64_t index) override {
    if (epochs.empty()) batch_before_start = true;
    ++batches_read;
    return batches_.at(static_cast<std::size_t>(index));
  }
  std::vector<int64_t> epochs;  // every start_epoch, in order
  bool batch_before_start = false;
  int batches_read = 0;

 private:
  std::vector<data::Example> batches_;
};

// A Linear(2 -> 2) (with a Dropout in front, optionally) that records, at every forward, the
// mode it ran in, whether autograd was recording, and its output.
struct Spy : nn::Module {
  explicit Spy(bool dropout = false) {
    fc = register_module("fc", std::make_shared<nn::Linear>(2, 2, true, 5));
    if (dropout) drop = register_module("drop", std::make_shared<nn::Dropout>(0.5, 6));
  }
  Tensor forward(const Tensor& x) override {
    training_seen.push_back(is_training());
    recording_seen.push_back(GradMode::is_enabled());
    last_output = fc->forward(drop ? drop->forward(x) : x);
    return last_output;
  }
  std::shared_ptr<nn::Linear> fc;
  std::shared_ptr<nn::Dropout> drop;
  std::vector<bool> training_seen, recording_seen;
  Tensor last_output;
};

// A model with a buffer, as batch normalization keeps one.
struct WithBuffer : nn::Module {
  WithBuffer() {
    fc = register_module("fc", std::make_shared<nn::Linear>(2, 2, true, 8));
    running_mean = register_buffer("running_mean", zeros({2}));
  }
  Tensor forward(const Tensor& x) override { return fc->forward(x - running_mean); }
  std::shared_ptr<nn::Linear> fc;
  Tensor running_mean;
};

std::shared_ptr<nn::Sequential> mlp(int64_t in, int64_t hidden, int64_t out, uint64_t seed) {
  return std::make_shared<nn::Sequential>(nn::Linear(in, hidden, true, seed), nn::ReLU(),
                                          nn::Linear(hidden, out, true, seed + 1));
}

// Sets a module's parameters (and buffers) to another's, in place.
void copy_weights(nn::Module& to, const nn::Module& from) {
  NoGradGuard no_grad;
  const nn::NamedTensors source = from.named_parameters();
  nn::NamedTensors target = to.named_parameters();
  for (std::size_t i = 0; i < target.size(); ++i) target[i].second.copy_(source[i].second);
}

// Every number of every parameter, in order.
std::vector<float> weights_of(const nn::Module& model) {
  std::vector<float> all;
  for (const Tensor& p : model.parameters()) {
    for (float v : p.to_vector()) all.push_back(v);
  }
  return all;
}

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

// The reference order of a shuffle: the recipe of shuffle_order, written out.
std::vector<int64_t> reference_order(int64_t n, uint64_t seed, int64_t epoch) {
  std::vector<int64_t> order(static_cast<std::size_t>(n));
  for (int64_t i = 0; i < n; ++i) order[static_cast<std::size_t>(i)] = i;
  Generator g(data::derive_seed(seed, static_cast<uint64_t>(epoch)));
  for (int64_t i = n - 1; i > 0; --i) {
    const uint64_t j = g.next_u64() % static_cast<uint64_t>(i + 1);
    std::swap(order[static_cast<std::size_t>(i)], order[j]);
  }
  return order;
}

// A folder of its own for each test, removed afterwards.
class TrainingFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("tinytorch-training-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

// Generated circles, as TensorBatches for training (shuffled) and validation.
struct Circles {
  data::Example train = data::make_circles(400, 0.08, 0.5, 1);
  data::Example validation = data::make_circles(200, 0.08, 0.5, 2);
};

// Splits a CSV line at its commas (empty fields kept).
std::vector<std::string> fields(const std::string& line) {
  std::vector<std::string> out(1);
  for (char c : line) {
    if (c == ',') {
      out.emplace_back();
    } else {
      out.back() += c;
    }
  }
  return out;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

// The quiet config tests train with: SGD without momentum, so steps are easy to predict.
train::Config sgd(double lr) {
  return {.optimizer = train::OptimizerKind::SGD, .lr = lr, .momentum = 0, .progress = train::ProgressMode::Off};
}

// ---------------------------------------------------------------------------------------
// Part 1: batches and shuffling

TEST(TrainingShuffle, TheOrderIsTheDocumentedFisherYates) {
  EXPECT_EQ(data::shuffle_order(10, 42, 0), reference_order(10, 42, 0))
      << "follow the recipe exactly: from i = n-1 down to 1, j = generator.next_u64() % (i + 1), swap(order[i], "
         "order[j]), with Generator(derive_seed(seed, epoch))";
  EXPECT_EQ(data::shuffle_order(5, 42, 0), (std::vector<int64_t>{4, 0, 1, 3, 2})) << "the order the lesson shows";
  EXPECT_EQ(data::shuffle_order(5, 42, 1), (std::vector<int64_t>{3, 4, 2, 1, 0}));
}

TEST(TrainingShuffle, IsAPermutationOfEverySize) {
  for (int64_t n : {0, 1, 2, 7, 1000}) {
    std::vector<int64_t> order = data::shuffle_order(n, 5, 2);
    ASSERT_EQ(static_cast<int64_t>(order.size()), n);
    std::sort(order.begin(), order.end());
    for (int64_t i = 0; i < n; ++i) {
      ASSERT_EQ(order[static_cast<std::size_t>(i)], i)
          << "shuffle_order(" << n << ") is not a permutation of 0.." << n - 1;
    }
  }
  EXPECT_THAT(error_message<std::invalid_argument>([] { data::shuffle_order(-1, 5, 0); }), HasSubstr("n must be >= 0"));
}

TEST(TrainingShuffle, AnEpochsOrderDoesNotDependOnTheEpochsBeforeIt) {
  const std::vector<int64_t> direct = data::shuffle_order(50, 9, 3);
  for (int64_t e = 0; e < 3; ++e) data::shuffle_order(50, 9, e);
  EXPECT_EQ(data::shuffle_order(50, 9, 3), direct)
      << "epoch 3's order changed after epochs 0-2 were shuffled: the generator must be made from derive_seed(seed, "
         "epoch) inside the call, not kept (static or global) across calls; a resumed run would see another order";
}

TEST(TrainingShuffle, SeedsAndEpochsGiveDifferentOrders) {
  EXPECT_NE(data::shuffle_order(50, 1, 0), data::shuffle_order(50, 2, 0)) << "the seed must matter";
  EXPECT_NE(data::shuffle_order(50, 1, 0), data::shuffle_order(50, 1, 1)) << "the epoch must matter";
  EXPECT_NE(data::shuffle_order(30, 0, 1), data::shuffle_order(30, 1, 0))
      << "seed 0 epoch 1 gave the order of seed 1 epoch 0: seed the generator with derive_seed(seed, epoch), which "
         "mixes the two, not with seed + epoch";
  EXPECT_TRUE(data::shuffle_order(0, 1, 0).empty());
  EXPECT_EQ(data::shuffle_order(1, 1, 0), (std::vector<int64_t>{0}));
}

TEST(TrainingShuffle, EveryPositionIsEquallyLikely) {
  // 3000 shuffles of 4: each element lands in each position about 750 times. The naive shuffle
  // (j from the whole range at every step) or a shuffle that only runs to i = 1 fails this.
  std::vector<std::vector<int>> counts(4, std::vector<int>(4, 0));
  for (int64_t e = 0; e < 3000; ++e) {
    const std::vector<int64_t> order = data::shuffle_order(4, 5, e);
    for (std::size_t pos = 0; pos < 4; ++pos) ++counts[static_cast<std::size_t>(order[pos])][pos];
  }
  for (std::size_t v = 0; v < 4; ++v) {
    for (std::size_t pos = 0; pos < 4; ++pos) {
      EXPECT_NEAR(counts[v][pos], 750, 100) << "element " << v << " at position " << pos;
    }
  }
}

TEST(TrainingShuffle, EveryOrderIsEquallyLikely) {
  // 60,000 shuffles of 3, one per epoch: a fair shuffle gives each of the 6 orders 10,000 times,
  // give or take about 300. The swap-with-anyone shuffle gives three of them 8,889 and three 11,111.
  std::map<std::vector<int64_t>, int> counts;
  const int trials = 60000;
  for (int t = 0; t < trials; ++t) ++counts[data::shuffle_order(3, 99, t)];
  ASSERT_EQ(counts.size(), 6u) << "only " << counts.size() << " of the 6 orders of 3 elements ever came up: with "
                               << "j = next % i (not i + 1) no element can stay in place";
  for (const auto& [order, count] : counts) {
    EXPECT_NEAR(count, trials / 6, 600) << "the order {" << order[0] << ", " << order[1] << ", " << order[2]
                                        << "} came up " << count << " times in " << trials
                                        << ": the shuffle is biased. Swap position i with j in 0..i (Fisher-Yates), "
                                        << "not with any j in 0..n-1";
  }
}

TEST(TrainingBatches, ShuffledRowsKeepTheirTargetsAndCoverTheEpoch) {
  const Tensor x = arange(10.0f).reshape({10, 1}) * 10.0f;
  data::TensorBatches batches(x, arange(10.0f), {.batch_size = 3, .shuffle = true, .seed = 4});
  EXPECT_EQ(batches.num_batches(), 4);
  EXPECT_EQ(batches.num_examples(), 10);
  for (int64_t epoch = 0; epoch < 3; ++epoch) {
    batches.start_epoch(epoch);
    EXPECT_EQ(batches.order(), data::shuffle_order(10, 4, epoch)) << "the order of epoch " << epoch;
    std::vector<float> seen;
    for (int64_t b = 0; b < 4; ++b) {
      const data::Example ex = batches.batch(b);
      EXPECT_EQ(ex.data.size(0), b < 3 ? 3 : 1);
      const Values d = ex.data.to_vector(), t = ex.target.to_vector();
      for (std::size_t i = 0; i < d.size(); ++i) {
        EXPECT_EQ(d[i], t[i] * 10.0f) << "an example's data and target must come from the same row";
        seen.push_back(t[i]);
      }
    }
    std::sort(seen.begin(), seen.end());
    EXPECT_EQ(seen, arange(10.0f).to_vector()) << "every example once per epoch";
  }
}

TEST(TrainingBatches, DropLastSkipsTheShortBatch) {
  data::TensorBatches batches(zeros({10, 2}), zeros({10}), {.batch_size = 4, .shuffle = true, .drop_last = true});
  EXPECT_EQ(batches.num_batches(), 2);
  EXPECT_EQ(batches.num_examples(), 8);
  EXPECT_EQ(batches.batch(1).data.shape(), (Shape{4, 2}));
  EXPECT_THAT(error_message<IndexError>([&] { batches.batch(2); }), HasSubstr("batches 0 to 1"));
}

TEST(TrainingBatches, MismatchedTensorsAndBatchSizesAreRefused) {
  data::shuffle_order(3, 0, 0);  // (the student's shuffle, so this group waits for it)
  EXPECT_THAT(error_message<std::invalid_argument>([] { data::TensorBatches(zeros({5, 2}), zeros({4})); }),
              HasSubstr("[5, 2] and targets [4]"));
  EXPECT_THAT(
      error_message<std::invalid_argument>([] { data::TensorBatches(zeros({5, 2}), zeros({5}), {.batch_size = 0}); }),
      HasSubstr("batch_size must be >= 1"));
}

// ---------------------------------------------------------------------------------------
// Part 2: the config

std::string config_error(const train::Config& config) {
  try {
    config.validate();
  } catch (const train::ConfigError& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(TrainingConfig, TheDefaultsAreValidAndPrintEveryFieldOnALine) {
  const train::Config config;
  EXPECT_EQ(config_error(config), "(no error)");
  std::ostringstream out;
  out << config;
  const std::vector<std::string> lines = lines_of(out.str());
  EXPECT_EQ(lines.size(), 25u);
  EXPECT_EQ(lines.front(), "epochs = 10");
  EXPECT_THAT(out.str(), HasSubstr("\nlr = 0.001\n"));
  EXPECT_THAT(out.str(), HasSubstr("\noptimizer = Adam\n"));
  EXPECT_THAT(out.str(), HasSubstr("\nout_dir = \"\"\n"));
}

TEST(TrainingConfig, EachImpossibleValueIsNamedWithItsFieldAndValue) {
  struct Case {
    train::Config config;
    std::string prefix;
  };
  const double inf = std::numeric_limits<double>::infinity();
  const std::vector<Case> cases = {
      {{.epochs = 0}, "Config.epochs = 0: "},
      {{.max_batches = -1}, "Config.max_batches = -1: "},
      {{.batch_size = 0}, "Config.batch_size = 0: "},
      {{.lr = 0}, "Config.lr = 0: "},
      {{.lr = -0.1}, "Config.lr = -0.1: "},
      {{.lr = kNaN}, "Config.lr = nan: "},
      {{.lr = inf}, "Config.lr = inf: "},
      {{.momentum = 1}, "Config.momentum = 1: "},
      {{.nesterov = true}, "Config.nesterov = true: "},
      {{.optimizer = train::OptimizerKind::SGD, .momentum = 0, .nesterov = true}, "Config.nesterov = true: "},
      {{.weight_decay = -1e-4}, "Config.weight_decay = -0.0001: "},
      {{.beta1 = 1}, "Config.beta1 = 1: "},
      {{.beta2 = -0.5}, "Config.beta2 = -0.5: "},
      {{.eps = -1}, "Config.eps = -1: "},
      {{.step_size = 0}, "Config.step_size = 0: "},
      {{.gamma = 0}, "Config.gamma = 0: "},
      {{.gamma = 1.5}, "Config.gamma = 1.5: "},
      {{.eta_min = 0.01}, "Config.eta_min = 0.01: "},
      {{.clip_norm = -1}, "Config.clip_norm = -1: "},
      {{.patience = -2}, "Config.patience = -2: "},
      {{.min_delta = kNaN}, "Config.min_delta = nan: "},
  };
  for (const Case& c : cases) {
    EXPECT_THAT(config_error(c.config), StartsWith(c.prefix))
        << "each impossible value must be a ConfigError whose message starts with \"Config.<field> = <value>: \"";
  }
  EXPECT_EQ(config_error({.optimizer = train::OptimizerKind::SGD, .momentum = 0.9, .nesterov = true}), "(no error)")
      << "Nesterov with SGD and momentum is fine";
  EXPECT_EQ(config_error({.lr = 0.1, .schedule = train::Schedule::Cosine, .eta_min = 0.1}), "(no error)")
      << "eta_min may equal lr";
}

TEST(TrainingConfig, TheTrainerChecksItsConfigAndMakesTheOptimizerItNames) {
  nn::Linear model(2, 2, true, 1);
  EXPECT_THAT(error_message<train::ConfigError>([&] { train::Trainer(model, {.batch_size = 0}); }),
              StartsWith("Config.batch_size = 0: "))
      << "the Trainer must call config.validate() before anything else";
  train::Trainer adamw(model, {.optimizer = train::OptimizerKind::AdamW, .lr = 0.02});
  EXPECT_NE(dynamic_cast<optim::AdamW*>(&adamw.optimizer()), nullptr);
  EXPECT_EQ(adamw.optimizer().lr(), 0.02);
  train::Trainer sgd_trainer(model, sgd(0.3));
  EXPECT_NE(dynamic_cast<optim::SGD*>(&sgd_trainer.optimizer()), nullptr);
  EXPECT_EQ(sgd_trainer.optimizer().parameters().size(), 2u) << "the optimizer holds model.parameters()";
  const data::TensorBatchesOptions options = train::batch_options({.batch_size = 16, .drop_last = true, .seed = 3}, true);
  EXPECT_EQ(options.batch_size, 16);
  EXPECT_TRUE(options.shuffle && options.drop_last);
  EXPECT_EQ(options.seed, 3u);
  const data::TensorBatchesOptions eval = train::batch_options({.batch_size = 16, .drop_last = true}, false);
  EXPECT_FALSE(eval.shuffle || eval.drop_last) << "an evaluation source is read in order and whole";
}

// ---------------------------------------------------------------------------------------
// Part 3: the training step

// Two small batches, made fresh by each call: a tensor at namespace scope would be built before
// main(), where the student release's not-yet-written `tensor()` throws and takes every test of
// the program down with it.
data::Example batch_a() { return {tensor({{1, 2}, {0, -1}, {0.5f, 0.5f}}), tensor({0, 1, 1})}; }
data::Example batch_b() { return {tensor({{-1, 1}, {2, 2}}), tensor({1, 0})}; }

TEST(TrainingStep, ZeroGradComesFirstSoTheGradientIsThisBatchsAlone) {
  nn::Linear model(2, 2, true, 1);
  train::Trainer trainer(model, sgd(0.1));
  trainer.train_step(batch_a());
  nn::Linear before_b(2, 2, true, 99);
  copy_weights(before_b, model);
  trainer.train_step(batch_b());
  nn::functional::cross_entropy(before_b(batch_b().data), batch_b().target).backward();
  ASSERT_TRUE(model.weight.grad().defined()) << "train_step must leave the batch's gradient in .grad()";
  EXPECT_TRUE(allclose(model.weight.grad(), before_b.weight.grad(), 1e-5f, 1e-6f))
      << "after two steps the gradient is not the second batch's: without optimizer.zero_grad() at the start of "
         "train_step, backward() adds each batch's gradient to the last one's";
  EXPECT_TRUE(allclose(model.bias.grad(), before_b.bias.grad(), 1e-5f, 1e-6f));
}

TEST(TrainingStep, EveryWeightMovesByMinusLrTimesItsGradient) {
  nn::Linear model(2, 2, true, 1);
  train::Trainer trainer(model, sgd(0.25));
  const Values w = model.weight.to_vector(), b = model.bias.to_vector();
  trainer.train_step(batch_a());
  const Values gw = model.weight.grad().to_vector(), gb = model.bias.grad().to_vector();
  for (std::size_t i = 0; i < w.size(); ++i) {
    EXPECT_NEAR(model.weight.to_vector()[i], w[i] - 0.25f * gw[i], 1e-6f)
        << "the weights did not take one SGD step along this batch's gradient: is optimizer.step() called after "
           "loss.backward()?";
  }
  for (std::size_t i = 0; i < b.size(); ++i) EXPECT_NEAR(model.bias.to_vector()[i], b[i] - 0.25f * gb[i], 1e-6f);
}

TEST(TrainingStep, ReportsTheLossAndAccuracyOfTheWeightsBeforeTheStep) {
  nn::Linear model(2, 2, true, 1);
  nn::Linear reference(2, 2, true, 1);
  train::Trainer trainer(model, sgd(0.5));
  const Tensor logits = reference(batch_a().data);
  const double loss = nn::functional::cross_entropy(logits, batch_a().target).item();
  const double accuracy = nn::functional::accuracy(logits, batch_a().target);
  const train::StepResult r = trainer.train_step(batch_a());
  EXPECT_NEAR(r.loss, loss, 1e-6) << "the loss of the forward pass of this step";
  EXPECT_DOUBLE_EQ(r.accuracy, accuracy) << "the accuracy of the same logits, before the step";
  EXPECT_EQ(r.batch_size, 3);
}

TEST(TrainingStep, ClippingCapsTheGradientAndReportsTheNormBeforeIt) {
  nn::Linear model(2, 2, true, 1);
  nn::Linear reference(2, 2, true, 1);
  nn::functional::cross_entropy(reference(batch_a().data), batch_a().target).backward();
  const double norm = train::gradient_norm(reference.parameters());
  ASSERT_GT(norm, 0.05);
  train::Config config = sgd(0.1);
  config.clip_norm = 0.05;
  train::Trainer trainer(model, config);
  const Values w = model.weight.to_vector();
  const train::StepResult r = trainer.train_step(batch_a());
  EXPECT_NEAR(r.grad_norm, norm, 1e-5 * norm) << "grad_norm is the total norm before clipping (what clip_grad_norm_ returns)";
  EXPECT_NEAR(train::gradient_norm(model.parameters()), 0.05, 1e-4)
      << "with Config.clip_norm = 0.05 the gradients must be clipped to norm 0.05 before the step";
  const Values gw = model.weight.grad().to_vector();
  for (std::size_t i = 0; i < w.size(); ++i) {
    EXPECT_NEAR(model.weight.to_vector()[i], w[i] - 0.1f * gw[i], 1e-6f)
        << "the step must use the clipped gradients: clip between backward() and step()";
  }
}

TEST(TrainingStep, WithoutClippingTheNormIsMeasuredAndTheGradientsLeftAlone) {
  nn::Linear model(2, 2, true, 1);
  nn::Linear reference(2, 2, true, 1);
  nn::functional::cross_entropy(reference(batch_a().data), batch_a().target).backward();
  train::Trainer trainer(model, sgd(0.1));
  const train::StepResult r = trainer.train_step(batch_a());
  EXPECT_NEAR(r.grad_norm, train::gradient_norm(reference.parameters()), 1e-6)
      << "grad_norm must be reported without clipping too (gradient_norm(parameters_)): milestones record it";
  EXPECT_TRUE(allclose(model.weight.grad(), reference.weight.grad(), 1e-6f, 1e-7f)) << "Config.clip_norm = 0: no clipping";
}

// ---------------------------------------------------------------------------------------
// Part 4: the loops and their averages

TEST(TrainingMetrics, AveragesAreOverExamplesNotBatches) {
  train::MetricAccumulator m;
  const train::PhaseMetrics empty = m.result();
  EXPECT_TRUE(std::isnan(empty.loss) && std::isnan(empty.accuracy))
      << "with no examples the means are NaN, not 0 (a loss of 0 would look perfect)";
  EXPECT_EQ(empty.examples, 0);
  m.add(0.5, 0.9, 64);
  m.add(0.5, 0.9, 64);
  m.add(2.0, 0.5, 2);
  const train::PhaseMetrics r = m.result();
  EXPECT_NEAR(r.accuracy, (0.9 * 128 + 0.5 * 2) / 130, 1e-12)
      << "accuracy must weigh each batch by its size: the mean of the batch accuracies gives the 2-example batch the "
         "weight of 64";
  EXPECT_NEAR(r.loss, (0.5 * 128 + 2.0 * 2) / 130, 1e-12) << "the loss too: sum loss * batch_size, divide by examples";
  EXPECT_EQ(r.examples, 130);
  EXPECT_EQ(r.batches, 3);
}

TEST(TrainingMetrics, SumsAreKeptInDouble) {
  train::MetricAccumulator m;
  for (int i = 0; i < 200000; ++i) m.add(0.1, 0.3, 64);
  EXPECT_NEAR(m.result().loss, 0.1, 1e-9) << "a float sum of 200,000 batches drifts in the fourth digit: use double";
  EXPECT_NEAR(m.result().accuracy, 0.3, 1e-9);
}

TEST(TrainingEpoch, TheTrainingMeansWeighAnUnevenLastBatchByItsSize) {
  nn::Linear model(2, 2, true, 1);
  train::Trainer trainer(model, sgd(0.1));
  std::vector<train::BatchEvent> events;
  trainer.on_batch([&](const train::BatchEvent& e) { events.push_back(e); });
  ListSource source({batch_a(), batch_b(), {tensor({{3, -1}}), tensor({0})}});
  const train::PhaseMetrics m = trainer.train_epoch(source, 0);
  ASSERT_EQ(events.size(), 3u) << "one training step per batch";
  const double loss = (events[0].loss * 3 + events[1].loss * 2 + events[2].loss * 1) / 6;
  const double accuracy = (events[0].accuracy * 3 + events[1].accuracy * 2 + events[2].accuracy * 1) / 6;
  EXPECT_NEAR(m.loss, loss, 1e-9) << "the epoch's loss is the mean over its 6 examples, each batch weighed by its size";
  EXPECT_NEAR(m.accuracy, accuracy, 1e-9);
  EXPECT_EQ(m.examples, 6);
  EXPECT_EQ(m.batches, 3);
}

TEST(TrainingEpoch, StartsTheSourcesEpochBeforeReadingIt) {
  nn::Linear model(2, 2, true, 1);
  train::Trainer trainer(model, sgd(0.1));
  ListSource source({batch_a(), batch_b()});
  trainer.train_epoch(source, 4);
  EXPECT_EQ(source.epochs, (std::vector<int64_t>{4})) << "train_epoch(source, 4) must call source.start_epoch(4) once";
  EXPECT_FALSE(source.batch_before_start) << "start_epoch must come before the first batch: it draws the order";
  EXPECT_EQ(source.batches_read, 2);
}

TEST(TrainingEpoch, EachPhaseSetsItsModeSoDropoutTrainsAndNeverEvaluates) {
  Spy model(/*dropout=*/true);
  train::Trainer trainer(model, sgd(0.1));
  ListSource source({batch_a()});
  trainer.evaluate(source);
  ASSERT_FALSE(model.training_seen.empty());
  EXPECT_FALSE(model.training_seen.back()) << "evaluate() ran the model in training mode: call model_.eval() at its start";
  trainer.train_epoch(source, 0);
  EXPECT_TRUE(model.training_seen.back())
      << "train_epoch() after evaluate() ran the model in evaluation mode: dropout was off while training. Call "
         "model_.train() at the start of every epoch";
  trainer.evaluate(source);
  EXPECT_FALSE(model.training_seen.back()) << "the second evaluation must be in evaluation mode again";
}

TEST(TrainingEvaluate, DropoutIsOffSoTheNumbersRepeat) {
  Spy model(/*dropout=*/true);
  train::Trainer trainer(model, sgd(0.1));
  ListSource source({batch_a(), batch_b()});
  const train::PhaseMetrics first = trainer.evaluate(source), second = trainer.evaluate(source);
  EXPECT_EQ(first.loss, second.loss)
      << "two evaluations of one model gave different losses: dropout was active. Evaluate in model.eval() mode";
  NoGradGuard no_grad;
  const double loss_a = nn::functional::cross_entropy(model.fc->forward(batch_a().data), batch_a().target).item();
  const double loss_b = nn::functional::cross_entropy(model.fc->forward(batch_b().data), batch_b().target).item();
  EXPECT_NEAR(first.loss, (3 * loss_a + 2 * loss_b) / 5, 1e-6) << "in evaluation mode the model is just its Linear";
}

TEST(TrainingEvaluate, RecordsNoGraph) {
  Spy model;
  train::Trainer trainer(model, sgd(0.1));
  ListSource source({batch_a(), batch_b()});
  model.recording_seen.clear();
  trainer.evaluate(source);
  ASSERT_EQ(model.recording_seen.size(), 2u);
  EXPECT_FALSE(model.recording_seen[0] || model.recording_seen[1])
      << "autograd was recording during evaluate(): every op kept a node and its inputs alive for a backward pass that "
         "never comes. Put a NoGradGuard at the top of evaluate()";
  EXPECT_EQ(autograd::grad_fn(model.last_output), nullptr) << "the evaluation's logits must have no grad_fn";
  EXPECT_TRUE(GradMode::is_enabled()) << "after evaluate() recording is back on (the guard ends with the function)";
}

TEST(TrainingEvaluate, ChangesNoWeightAndNoGradient) {
  nn::Linear model(2, 2, true, 1);
  train::Trainer trainer(model, sgd(0.5));
  trainer.train_step(batch_a());
  const Values w = model.weight.to_vector(), g = model.weight.grad().to_vector();
  ListSource source({batch_b()});
  trainer.evaluate(source);
  EXPECT_EQ(model.weight.to_vector(), w) << "evaluate() changed a weight: it must never call step()";
  ASSERT_TRUE(model.weight.grad().defined()) << "evaluate() must not touch the gradients (no zero_grad either)";
  EXPECT_EQ(model.weight.grad().to_vector(), g) << "evaluate() changed a gradient: it must never call backward()";
}

TEST(TrainingEvaluate, TheLossOfAnUnevenLastBatchIsWeighedByItsSize) {
  nn::Linear model(1, 2, true, 1);
  {
    NoGradGuard no_grad;
    model.weight.copy_(tensor({{1}, {-1}}));
    model.bias.fill_(0.0f);
  }
  train::Trainer trainer(model, {});
  data::TensorBatches source(tensor({{1}, {1}, {1}, {1}, {2}}), tensor({0, 0, 0, 0, 1}), {.batch_size = 4});
  // logits (x, -x): loss log(1 + e^(-2x)) for class 0, log(1 + e^(2x)) for class 1.
  const double right = std::log1p(std::exp(-2.0)), wrong = std::log1p(std::exp(4.0));
  EXPECT_NEAR(trainer.evaluate(source).loss, (4 * right + wrong) / 5, 1e-6)
      << "the mean over 5 examples; (right + wrong) / 2 would be the mean of the two batches";
}

TEST(TrainingEpoch, MaxBatchesLimitsBothPhases) {
  nn::Linear model(2, 2, true, 1);
  train::Config config = sgd(0.1);
  config.max_batches = 2;
  train::Trainer trainer(model, config);
  ListSource source({batch_a(), batch_b(), batch_a(), batch_b()});
  EXPECT_EQ(trainer.train_epoch(source, 0).batches, 2) << "run batches_to_run(source) batches, not num_batches()";
  EXPECT_EQ(trainer.evaluate(source).batches, 2);
  EXPECT_EQ(source.batches_read, 4);
}

TEST(TrainingEpoch, ANaNLossStopsTheRunWithAMessage) {
  nn::Linear model(2, 2, true, 1);
  train::Trainer trainer(model, sgd(0.1));
  ListSource source({batch_a(), {tensor({{std::nanf(""), 1}}), tensor({0})}});
  EXPECT_THAT(error_message<train::TrainingError>([&] { trainer.train_epoch(source, 0); }),
              StartsWith("epoch 1, batch 2: the training loss is nan"))
      << "train_epoch must run each batch through run_batch, which checks the loss";
}

// ---------------------------------------------------------------------------------------
// Part 5: early stopping

// The epoch after which EarlyStopping(patience) says stop for `losses` (epochs 1, 2, ...), 0 if never.
int64_t stop_epoch(int64_t patience, const std::vector<double>& losses, double min_delta = 0) {
  train::EarlyStopping stopper(patience, min_delta);
  for (std::size_t i = 0; i < losses.size(); ++i) {
    if (stopper.update(losses[i], static_cast<int64_t>(i) + 1)) return static_cast<int64_t>(i) + 1;
  }
  return 0;
}

TEST(TrainingEarlyStopping, PatienceCountsEpochsWithoutABetterLoss) {
  const std::vector<double> losses = {0.9, 0.7, 0.72, 0.69, 0.71, 0.73, 0.74, 0.75, 0.76};
  EXPECT_EQ(stop_epoch(1, losses), 3) << "patience 1: stop after the first epoch that is not a new best";
  EXPECT_EQ(stop_epoch(2, losses), 6) << "patience 2: epochs 5 and 6 do not beat epoch 4, so stop after epoch 6";
  EXPECT_EQ(stop_epoch(3, losses), 7)
      << "patience 3: stop after epoch 7 (5, 6, 7 without improvement); 6 means the best epoch was counted, 8 means "
         "stopping when the count exceeds patience instead of reaching it";
  EXPECT_EQ(stop_epoch(6, losses), 0) << "only 5 epochs without improvement: no stop";
}

TEST(TrainingEarlyStopping, TheCountRestartsAtEveryNewBest) {
  train::EarlyStopping stopper(2);
  EXPECT_FALSE(stopper.update(1.0, 1));
  EXPECT_FALSE(stopper.update(1.1, 2));
  EXPECT_EQ(stopper.bad_epochs(), 1);
  EXPECT_FALSE(stopper.update(0.9, 3)) << "a new best resets the count";
  EXPECT_TRUE(stopper.improved());
  EXPECT_EQ(stopper.bad_epochs(), 0);
  EXPECT_FALSE(stopper.update(0.95, 4));
  EXPECT_FALSE(stopper.improved());
  EXPECT_TRUE(stopper.update(0.95, 5));
  EXPECT_EQ(stopper.best_epoch(), 3);
  EXPECT_DOUBLE_EQ(stopper.best_loss(), 0.9);
}

TEST(TrainingEarlyStopping, AnImprovementMustBeatMinDelta) {
  train::EarlyStopping stopper(2, 0.01);
  stopper.update(1.0, 1);
  EXPECT_FALSE(stopper.update(0.995, 2));
  EXPECT_FALSE(stopper.improved()) << "0.995 is not lower than 1.0 by more than min_delta = 0.01";
  EXPECT_EQ(stopper.best_epoch(), 1);
  EXPECT_FALSE(stopper.update(0.98, 3));
  EXPECT_TRUE(stopper.improved()) << "0.98 is lower by 0.02";
  EXPECT_EQ(stopper.best_epoch(), 3);
}

TEST(TrainingEarlyStopping, ANaNLossIsNeverABest) {
  train::EarlyStopping stopper(2);
  stopper.update(kNaN, 1);
  EXPECT_FALSE(stopper.improved()) << "a NaN validation loss must not count as an improvement";
  EXPECT_TRUE(stopper.update(kNaN, 2));
  EXPECT_EQ(stopper.best_epoch(), 0);
  train::EarlyStopping later(3);
  later.update(0.5, 1);
  later.update(kNaN, 2);
  EXPECT_FALSE(later.improved());
  EXPECT_DOUBLE_EQ(later.best_loss(), 0.5) << "a NaN must not replace the best loss";
}

TEST(TrainingEarlyStopping, PatienceZeroNeverStopsButTracksTheBest) {
  train::EarlyStopping stopper(0);
  for (int64_t e = 1; e <= 50; ++e) EXPECT_FALSE(stopper.update(e == 7 ? 0.1 : 1.0 + e, e));
  EXPECT_EQ(stopper.best_epoch(), 7);
}

// ---------------------------------------------------------------------------------------
// Part 6: the log

TEST(TrainingLog, ARowReadsBackByTheHeadersNames) {
  train::EpochMetrics m{.epoch = 4,
                        .train = {.loss = 0.25, .accuracy = 0.875, .examples = 80},
                        .validation = {.loss = 0.5, .accuracy = 0.625, .examples = 20},
                        .lr = 0.003,
                        .seconds = 1.25,
                        .examples_per_second = 64};
  const std::vector<std::string> header = fields(std::string(train::kCsvHeader));
  const std::vector<std::string> row = fields(train::csv_row(m));
  ASSERT_EQ(row.size(), header.size()) << "a row has one field per column of the header: " << train::csv_row(m);
  std::map<std::string, std::string> by_name;
  for (std::size_t i = 0; i < header.size(); ++i) by_name[header[i]] = row[i];
  EXPECT_EQ(by_name["epoch"], "4");
  EXPECT_EQ(by_name["train_loss"], "0.25") << "a column is out of order: compare csv_row with kCsvHeader";
  EXPECT_EQ(by_name["train_accuracy"], "0.875");
  EXPECT_EQ(by_name["val_loss"], "0.5");
  EXPECT_EQ(by_name["val_accuracy"], "0.625");
  EXPECT_EQ(by_name["lr"], "0.003");
  EXPECT_EQ(by_name["seconds"], "1.25");
  EXPECT_EQ(by_name["examples_per_second"], "64");
}

TEST(TrainingLog, NoValidationLeavesItsColumnsEmptyAndNumbersKeepNineDigits) {
  train::EpochMetrics m{.epoch = 1, .train = {.loss = 1.0 / 3.0, .accuracy = 2.0 / 3.0, .examples = 3}, .lr = 0.1};
  EXPECT_EQ(train::csv_row(m), "1,0.333333333,0.666666667,,,0.1,0,0")
      << "without validation its two fields are empty (not 0, not nan); numbers through csv_number";
  EXPECT_EQ(train::csv_log({m}), std::string(train::kCsvHeader) + "\n1,0.333333333,0.666666667,,,0.1,0,0\n");
}

TEST_F(TrainingFiles, FitRewritesACompleteLogAfterEveryEpochInOrder) {
  const Circles data;
  auto model = mlp(2, 8, 2, 1);
  train::Config config{.epochs = 4, .batch_size = 50, .lr = 0.01, .out_dir = dir_.string(),
                       .progress = train::ProgressMode::Off};
  train::Trainer trainer(*model, config);
  std::vector<std::size_t> rows_seen;
  trainer.on_epoch([&](const train::EpochMetrics&) { rows_seen.push_back(lines_of(io::read_file(dir_ / "log.csv")).size()); });
  data::TensorBatches train_batches(data.train.data, data.train.target, train::batch_options(config, true));
  data::TensorBatches val_batches(data.validation.data, data.validation.target, train::batch_options(config, false));
  const train::History history = trainer.fit(train_batches, &val_batches);
  EXPECT_EQ(rows_seen, (std::vector<std::size_t>{2, 3, 4, 5})) << "after epoch k the log holds its header and k rows";
  const std::vector<std::string> lines = lines_of(io::read_file(dir_ / "log.csv"));
  ASSERT_EQ(lines.size(), 5u);
  EXPECT_EQ(lines[0], train::kCsvHeader);
  for (std::size_t i = 1; i < lines.size(); ++i) {
    EXPECT_EQ(fields(lines[i])[0], std::to_string(i)) << "rows in epoch order";
    EXPECT_EQ(lines[i], train::csv_row(history.epochs[i - 1]));
  }
  for (const auto& entry : fs::directory_iterator(dir_)) {
    EXPECT_EQ(entry.path().string().find(".tmp-"), std::string::npos) << "a temporary file was left: " << entry.path();
  }
}

// ---------------------------------------------------------------------------------------
// Part 7: checkpoints

TEST(TrainingCheckpoint, TheByteLayoutOfATinyCheckpoint) {
  const train::Checkpoint c{.epoch = 2, .parameters = {{"w", tensor({1.5f})}}};
  const std::string body = std::string("\x89TTCKPT\n", 8) +                           // magic
                           std::string("\x01\x00\x00\x00", 4) +                        // version 1
                           std::string("\x02\x00\x00\x00\x00\x00\x00\x00", 8) +        // epoch 2
                           std::string("\x00\x00\x00\x00", 4) +                        // optimizer ""
                           std::string("\x01\x00\x00\x00", 4) +                        // one parameter:
                           std::string("\x01\x00\x00\x00", 4) + "w" +                  //   its name
                           std::string("\x01\x00\x00\x00", 4) +                        //   rank 1
                           std::string("\x01\x00\x00\x00\x00\x00\x00\x00", 8) +        //   size 1
                           std::string("\x00\x00\xC0\x3F", 4) +                        //   1.5f
                           std::string("\x00\x00\x00\x00", 4) +                        // no buffers
                           std::string("\x00\x00\x00\x00", 4) +                        // no optimizer tensors
                           std::string("\x00\x00\x00\x00", 4);                         // no optimizer numbers
  ASSERT_EQ(body.size(), 61u);
  const uint32_t crc = io::crc32(body);
  std::string expected = body;
  for (int i = 0; i < 4; ++i) expected.push_back(static_cast<char>((crc >> (8 * i)) & 0xFF));
  const std::string bytes = train::encode_checkpoint(c);
  ASSERT_EQ(bytes.size(), expected.size()) << "the layout has a field too many or too few";
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    ASSERT_EQ(static_cast<unsigned char>(bytes[i]), static_cast<unsigned char>(expected[i]))
        << "byte " << i << " differs from the layout (little-endian numbers, u32 lengths, i64 sizes and epoch, the "
        << "CRC-32 of everything before it last)";
  }
}

TEST(TrainingCheckpoint, ATruncatedTinyCheckpointSaysWhatWasCut) {
  const std::string bytes = train::encode_checkpoint({.epoch = 2, .parameters = {{"w", tensor({1.5f})}}});
  EXPECT_EQ(error_message<train::CheckpointError>([&] { train::decode_checkpoint(bytes.substr(0, 47), "run.ttc"); }),
            "run.ttc is truncated: the values of tensor 'w' [1] needs 4 bytes at offset 45, and 2 are left (a file cut "
            "short, or a damaged length field)");
  EXPECT_THAT(error_message<train::CheckpointError>([&] { train::decode_checkpoint(bytes.substr(0, 61), "run.ttc"); }),
              StartsWith("run.ttc is truncated: the checksum needs 4 bytes at offset 61"))
      << "a file that ends where its checksum should be";
}

TEST(TrainingCheckpoint, ARoundTripKeepsEveryBitOfEveryField) {
  train::Checkpoint c{.epoch = 123456789012,
                      .parameters = {{"fc.weight", randn({3, 4}, 1)}, {"fc.bias", tensor({-0.0f, 1e-38f, 3.4e38f})}},
                      .buffers = {{"bn.running_mean", tensor({0.25f, -7.5f})}, {"count", scalar_tensor(3.0f)}},
                      .optimizer = "SGD",
                      .optimizer_tensors = {{"fc.weight.momentum_buffer", randn({3, 4}, 2)}},
                      .optimizer_numbers = {{"lr", 0.1 / 3}, {"x", -1e300}}};
  const train::Checkpoint back = train::decode_checkpoint(train::encode_checkpoint(c), "c.ttc");
  EXPECT_EQ(back.epoch, c.epoch);
  EXPECT_EQ(back.optimizer, "SGD");
  auto same = [](const nn::NamedTensors& a, const nn::NamedTensors& b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
      if (a[i].first != b[i].first || a[i].second.shape() != b[i].second.shape() ||
          !same_bits(a[i].second.to_vector(), b[i].second.to_vector())) {
        return false;
      }
    }
    return true;
  };
  EXPECT_TRUE(same(back.parameters, c.parameters)) << "parameters: names, shapes and values";
  EXPECT_TRUE(same(back.buffers, c.buffers)) << "buffers, a 0-D one included";
  EXPECT_TRUE(same(back.optimizer_tensors, c.optimizer_tensors));
  EXPECT_EQ(back.optimizer_numbers, c.optimizer_numbers) << "doubles stay doubles (f64): a learning rate is not rounded";
}

TEST(TrainingCheckpoint, MakeCheckpointCopiesParametersBuffersAndTheOptimizersState) {
  WithBuffer model;
  {
    NoGradGuard no_grad;
    model.running_mean.copy_(tensor({0.5f, -0.5f}));
  }
  train::Trainer trainer(model, {.lr = 0.01, .progress = train::ProgressMode::Off});
  trainer.train_step(batch_a());
  const train::Checkpoint c = train::make_checkpoint(model, &trainer.optimizer(), 3);
  EXPECT_EQ(c.epoch, 3);
  ASSERT_EQ(c.parameters.size(), 2u);
  EXPECT_EQ(c.parameters[0].first, "fc.weight");
  ASSERT_EQ(c.buffers.size(), 1u) << "the checkpoint forgot the model's buffers (named_buffers()): a model with batch "
                                     "normalization would evaluate differently after loading it";
  EXPECT_EQ(c.buffers[0].first, "running_mean");
  EXPECT_EQ(c.buffers[0].second.to_vector(), (Values{0.5f, -0.5f}));
  EXPECT_EQ(c.optimizer, "Adam") << "the checkpoint forgot the optimizer's state (save_optimizer_state)";
  EXPECT_EQ(c.optimizer_tensors.size(), 4u) << "Adam's exp_avg and exp_avg_sq for each of the two parameters";
  const Values saved = c.parameters[0].second.to_vector();
  trainer.train_step(batch_b());
  EXPECT_EQ(c.parameters[0].second.to_vector(), saved)
      << "the checkpoint changed when the model trained on: it holds the model's own tensors (handles), not copies. "
         "Store tensor.detach().clone()";
  EXPECT_FALSE(c.parameters[0].second.requires_grad()) << "copies are plain data, detached";
  EXPECT_TRUE(train::make_checkpoint(model, nullptr, 0).optimizer.empty()) << "no optimizer: no optimizer state";
}

TEST_F(TrainingFiles, ARestoredModelAndAdamAreTheSavedOnes) {
  WithBuffer model;
  {
    NoGradGuard no_grad;
    model.running_mean.copy_(tensor({1.0f, 2.0f}));
  }
  train::Trainer trainer(model, {.lr = 0.01, .progress = train::ProgressMode::Off});
  trainer.train_step(batch_a());
  trainer.train_step(batch_b());
  trainer.save_checkpoint(dir_ / "run.ttc");

  WithBuffer fresh;
  train::Trainer restored(fresh, {.lr = 0.01, .progress = train::ProgressMode::Off});
  restored.load_checkpoint(dir_ / "run.ttc");
  EXPECT_TRUE(same_bits(weights_of(fresh), weights_of(model))) << "the parameters, to the bit";
  EXPECT_EQ(fresh.running_mean.to_vector(), (Values{1.0f, 2.0f})) << "the buffer was not restored";
  auto& a = dynamic_cast<optim::Adam&>(trainer.optimizer());
  auto& b = dynamic_cast<optim::Adam&>(restored.optimizer());
  for (std::size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(b.state(i).step, a.state(i).step) << "Adam's step count of parameter " << i;
    ASSERT_TRUE(b.state(i).exp_avg.defined()) << "Adam's moments were not restored";
    EXPECT_TRUE(same_bits(b.state(i).exp_avg.to_vector(), a.state(i).exp_avg.to_vector()));
    EXPECT_TRUE(same_bits(b.state(i).exp_avg_sq.to_vector(), a.state(i).exp_avg_sq.to_vector()));
  }
  trainer.train_step(batch_a());
  restored.train_step(batch_a());
  EXPECT_TRUE(same_bits(weights_of(fresh), weights_of(model))) << "the next step is the same step";
}

TEST_F(TrainingFiles, AResumedRunIsTheSameRunAndWithoutTheOptimizerItIsNot) {
  const Circles data;
  const train::Config config{.epochs = 5, .batch_size = 40, .lr = 0.01, .seed = 9, .progress = train::ProgressMode::Off};
  auto source = [&] { return data::TensorBatches(data.train.data, data.train.target, train::batch_options(config, true)); };

  auto straight = mlp(2, 8, 2, 1);  // five epochs in one go
  train::Trainer whole(*straight, config);
  data::TensorBatches s1 = source();
  whole.fit(s1);

  auto first = mlp(2, 8, 2, 1);  // three epochs, a checkpoint ...
  train::Config three = config;
  three.epochs = 3;
  train::Trainer part(*first, three);
  data::TensorBatches s2 = source();
  part.fit(s2);
  part.save_checkpoint(dir_ / "epoch3.ttc");

  auto second = mlp(2, 8, 2, 77);  // ... and a new process that resumes it
  train::Trainer resumed(*second, config);
  EXPECT_EQ(resumed.load_checkpoint(dir_ / "epoch3.ttc"), 3);
  data::TensorBatches s3 = source();
  const train::History rest = resumed.fit(s3);
  ASSERT_EQ(rest.epochs.size(), 2u) << "fit() continues from epochs_done() + 1";
  EXPECT_EQ(rest.epochs[0].epoch, 4);
  EXPECT_TRUE(same_bits(weights_of(*second), weights_of(*straight)))
      << "3 epochs + checkpoint + 2 epochs must equal 5 epochs to the bit: weights, Adam's state and the epoch";

  auto third = mlp(2, 8, 2, 77);  // the weights alone, without Adam's moments
  train::Trainer weights_only(*third, config);
  train::load_model_state(*third, train::load_checkpoint(dir_ / "epoch3.ttc"), "epoch3.ttc");
  data::TensorBatches s4 = source();
  weights_only.train_epoch(s4, 3);
  weights_only.train_epoch(s4, 4);
  EXPECT_FALSE(same_bits(weights_of(*third), weights_of(*straight)))
      << "without the optimizer's state a resumed Adam is a different run";
}

TEST(TrainingCheckpoint, AFileThatIsNotACheckpointIsNamedWithItsFirstBytes) {
  EXPECT_EQ(error_message<train::CheckpointError>([] { train::decode_checkpoint("PK\x03\x04zipzipzip", "model.zip"); }),
            "model.zip: not a tinytorch checkpoint: it starts with 50 4B 03 04 7A 69 70 7A, a checkpoint with 89 54 54 "
            "43 4B 50 54 0A");
  EXPECT_THAT(error_message<train::CheckpointError>([] { train::decode_checkpoint("", "empty.ttc"); }),
              StartsWith("empty.ttc: not a tinytorch checkpoint: it starts with nothing"));
}

TEST(TrainingCheckpoint, ANewerVersionIsRefusedBeforeItsLayoutIsRead) {
  std::string bytes = train::encode_checkpoint({.epoch = 1, .parameters = {{"w", ones({2})}}});
  bytes[8] = 2;
  EXPECT_EQ(error_message<train::CheckpointError>([&] { train::decode_checkpoint(bytes, "new.ttc"); }),
            "new.ttc: a version 2 checkpoint; this tinytorch reads version 1 (was it written by a newer one?)");
}

TEST(TrainingCheckpoint, EveryTruncationIsAnErrorThatNamesTheFile) {
  nn::Linear model(3, 2, true, 1);
  train::Trainer trainer(model, {.progress = train::ProgressMode::Off});
  trainer.train_step({ones({2, 3}), tensor({0, 1})});
  const std::string bytes = train::encode_checkpoint(train::make_checkpoint(model, &trainer.optimizer(), 1));
  for (std::size_t cut = 0; cut < bytes.size(); ++cut) {
    const std::string message =
        error_message<train::CheckpointError>([&] { train::decode_checkpoint(bytes.substr(0, cut), "cut.ttc"); });
    ASSERT_THAT(message, StartsWith("cut.ttc")) << "cut to " << cut << " bytes";
    if (cut >= 8) ASSERT_THAT(message, HasSubstr("truncated")) << "cut to " << cut << " bytes";
  }
}

TEST(TrainingCheckpoint, AFlippedBitIsACorruptChecksum) {
  const std::string bytes = train::encode_checkpoint({.epoch = 1, .parameters = {{"w", randn({8}, 3)}}});
  std::string flipped = bytes;
  flipped[50] ^= 0x04;  // inside the values of w
  EXPECT_THAT(error_message<train::CheckpointError>([&] { train::decode_checkpoint(flipped, "bad.ttc"); }),
              StartsWith("bad.ttc: checksum mismatch: the file says CRC-32 "));
  EXPECT_THAT(error_message<train::CheckpointError>([&] { train::decode_checkpoint(bytes + "x", "two.ttc"); }),
              StartsWith("two.ttc: 1 bytes after the checksum"));
}

TEST(TrainingCheckpoint, LoadingByNameNamesWhatIsMissingExtraOrMisshapen) {
  auto model = mlp(2, 4, 3, 1);
  const train::Checkpoint c = train::make_checkpoint(*model, nullptr, 0);
  train::Checkpoint missing = c;
  missing.parameters.pop_back();
  EXPECT_EQ(error_message<train::CheckpointError>([&] { train::load_model_state(*model, missing, "a.ttc"); }),
            "a.ttc has no parameter '2.bias', which the model has");
  train::Checkpoint extra = c;
  extra.parameters.emplace_back("3.weight", ones({1}));
  EXPECT_EQ(error_message<train::CheckpointError>([&] { train::load_model_state(*model, extra, "b.ttc"); }),
            "b.ttc has a parameter '3.weight' that the model does not have");
  auto wider = mlp(2, 8, 3, 1);
  EXPECT_EQ(error_message<train::CheckpointError>([&] { train::load_model_state(*wider, c, "c.ttc"); }),
            "parameter '0.weight' is [4, 2] in c.ttc, the model's is [8, 2]");
  WithBuffer with_buffer;
  train::Checkpoint no_buffer = train::make_checkpoint(with_buffer, nullptr, 0);
  no_buffer.buffers.clear();
  EXPECT_EQ(error_message<train::CheckpointError>([&] { train::load_model_state(with_buffer, no_buffer, "d.ttc"); }),
            "d.ttc has no buffer 'running_mean', which the model has")
      << "buffers are checked like parameters";
}

TEST(TrainingCheckpoint, LoadingCopiesIntoTheModelsOwnTensors) {
  auto source = mlp(2, 4, 3, 1);
  auto target = mlp(2, 4, 3, 50);
  const Tensor handle = target->parameters()[0];
  train::Trainer trainer(*target, sgd(0.1));
  train::load_model_state(*target, train::make_checkpoint(*source, nullptr, 0), "mem");
  EXPECT_TRUE(same_bits(weights_of(*target), weights_of(*source)));
  EXPECT_EQ(target->parameters()[0].impl_ptr(), handle.impl_ptr())
      << "load_model_state must copy_ into the existing tensors: the optimizer holds handles to them";
  EXPECT_EQ(trainer.optimizer().parameters()[0].to_vector(), source->parameters()[0].to_vector())
      << "the optimizer must see the loaded weights";
  EXPECT_TRUE(target->parameters()[0].requires_grad()) << "the parameters still require grad";
}

TEST_F(TrainingFiles, OptimizerStateOfAnotherKindOrAMissingFileIsAClearError) {
  nn::Linear model(2, 2, true, 1);
  train::Trainer adam(model, {.progress = train::ProgressMode::Off});
  adam.train_step(batch_a());
  adam.save_checkpoint(dir_ / "adam.ttc");
  train::Trainer momentum(model, {.optimizer = train::OptimizerKind::SGD, .progress = train::ProgressMode::Off});
  EXPECT_EQ(error_message<train::CheckpointError>([&] { momentum.load_checkpoint(dir_ / "adam.ttc"); }),
            (dir_ / "adam.ttc").string() + " holds the state of Adam, and the optimizer is SGD");
  EXPECT_THAT(error_message<io::FileError>([&] { adam.load_checkpoint(dir_ / "nope.ttc"); }),
              HasSubstr((dir_ / "nope.ttc").string()));
}

TEST_F(TrainingFiles, SgdMomentumAndTheLearningRateOfASchedule) {
  nn::Linear model(2, 2, true, 1);
  const train::Config config{.epochs = 6, .optimizer = train::OptimizerKind::SGD, .lr = 0.1,
                             .schedule = train::Schedule::Step, .step_size = 2, .gamma = 0.5,
                             .progress = train::ProgressMode::Off};
  ListSource source({batch_a(), batch_b()});
  train::Config three = config;
  three.epochs = 3;
  train::Trainer first(model, three);
  first.fit(source);
  first.save_checkpoint(dir_ / "sgd.ttc");
  nn::Linear other(2, 2, true, 2);
  train::Trainer resumed(other, config);
  resumed.load_checkpoint(dir_ / "sgd.ttc");
  const auto& a = dynamic_cast<optim::SGD&>(first.optimizer());
  const auto& b = dynamic_cast<optim::SGD&>(resumed.optimizer());
  ASSERT_TRUE(b.state(0).momentum_buffer.defined()) << "SGD's velocity must be restored";
  EXPECT_TRUE(same_bits(b.state(0).momentum_buffer.to_vector(), a.state(0).momentum_buffer.to_vector()));
  const train::History rest = resumed.fit(source);
  ASSERT_EQ(rest.epochs.size(), 3u);
  EXPECT_DOUBLE_EQ(rest.epochs[0].lr, 0.05) << "epoch 4 trains at the schedule's rate of epoch 4: 0.1 * 0.5^(3 / 2)";
  EXPECT_DOUBLE_EQ(rest.epochs[1].lr, 0.025);
}

// ---------------------------------------------------------------------------------------
// Part 8: fit

TEST(TrainingFit, EveryEpochIsRecordedWithTheLearningRateItTrainedWith) {
  const Circles data;
  auto model = mlp(2, 8, 2, 1);
  const train::Config config{.epochs = 5, .batch_size = 64, .lr = 0.02, .schedule = train::Schedule::Cosine,
                             .eta_min = 0.002, .progress = train::ProgressMode::Off};
  train::Trainer trainer(*model, config);
  data::TensorBatches batches(data.train.data, data.train.target, train::batch_options(config, true));
  const train::History history = trainer.fit(batches);
  ASSERT_EQ(history.epochs.size(), 5u);
  for (int64_t e = 0; e < 5; ++e) {
    const train::EpochMetrics& m = history.epochs[static_cast<std::size_t>(e)];
    EXPECT_EQ(m.epoch, e + 1);
    EXPECT_NEAR(m.lr, 0.002 + (0.02 - 0.002) * (1 + std::cos(std::numbers::pi * e / 5)) / 2, 1e-12)
        << "the rate epoch " << e + 1 << " trained with (read before the schedule steps)";
    EXPECT_EQ(m.train.examples, 400);
    EXPECT_EQ(m.train.batches, 7);
    EXPECT_FALSE(m.has_validation());
    EXPECT_GT(m.seconds, 0.0);
    EXPECT_GT(m.examples_per_second, 0.0);
  }
  EXPECT_EQ(history.best_epoch, 0) << "no validation, no best epoch";
  EXPECT_LT(history.epochs.back().train.loss, history.epochs.front().train.loss) << "it learns";
  EXPECT_EQ(trainer.epochs_done(), 5);
}

TEST(TrainingFit, BatchHooksHearEveryStepInOrderAsAMilestoneRecordsThem) {
  const Circles data;
  auto model = mlp(2, 8, 2, 1);
  const train::Config config{.epochs = 3, .batch_size = 100, .progress = train::ProgressMode::Off};
  train::Trainer trainer(*model, config);
  std::vector<std::pair<int64_t, int64_t>> seen;
  std::vector<double> losses, norms;
  int epochs_heard = 0;
  trainer.on_batch([&](const train::BatchEvent& e) {
    seen.emplace_back(e.epoch, e.batch);
    losses.push_back(e.loss);
    norms.push_back(e.grad_norm);
    EXPECT_EQ(e.batches, 4);
    EXPECT_EQ(e.batch_size, 100);
  });
  trainer.on_epoch([&](const train::EpochMetrics& m) {
    ++epochs_heard;
    EXPECT_EQ(m.epoch, epochs_heard);
  });
  data::TensorBatches batches(data.train.data, data.train.target, train::batch_options(config, true));
  const train::History history = trainer.fit(batches);
  ASSERT_EQ(seen.size(), 12u) << "3 epochs of 4 batches";
  for (std::size_t i = 0; i < seen.size(); ++i) {
    EXPECT_EQ(seen[i], (std::pair<int64_t, int64_t>{static_cast<int64_t>(i / 4 + 1), static_cast<int64_t>(i % 4 + 1)}));
    EXPECT_TRUE(std::isfinite(norms[i]) && norms[i] > 0);
  }
  EXPECT_EQ(epochs_heard, 3);
  EXPECT_NEAR(history.epochs[0].train.loss, (losses[0] + losses[1] + losses[2] + losses[3]) / 4, 1e-9);
}

TEST(TrainingFit, PatienceWithoutAValidationSourceIsAnError) {
  nn::Linear model(2, 2, true, 1);
  train::Trainer trainer(model, {.patience = 3, .progress = train::ProgressMode::Off});
  ListSource source({batch_a()});
  EXPECT_THAT(error_message<std::invalid_argument>([&] { trainer.fit(source); }),
              HasSubstr("Config.patience = 3 needs a validation source"));
}

// The overfitting setup of the lesson's demo: overlapping rings, 40 points, a big network.
struct Overfit {
  data::Example few = data::make_circles(40, 0.25, 0.5, 11);
  data::Example many = data::make_circles(1000, 0.25, 0.5, 12);
  std::shared_ptr<nn::Sequential> model = std::make_shared<nn::Sequential>(
      nn::Linear(2, 128, true, 1), nn::ReLU(), nn::Linear(128, 128, true, 2), nn::ReLU(), nn::Linear(128, 2, true, 3));
};

TEST_F(TrainingFiles, EarlyStoppingStopsPatienceEpochsAfterTheBestAndRestoresIt) {
  Overfit setup;
  const train::Config config{.epochs = 200, .batch_size = 8, .lr = 0.002, .patience = 4, .seed = 3,
                             .out_dir = dir_.string(), .progress = train::ProgressMode::Off};
  train::Trainer trainer(*setup.model, config);
  data::TensorBatches train_batches(setup.few.data, setup.few.target, train::batch_options(config, true));
  data::TensorBatches val_batches(setup.many.data, setup.many.target, train::batch_options(config, false));
  const train::History history = trainer.fit(train_batches, &val_batches);
  ASSERT_GT(history.stopped_epoch, 0) << "this network memorizes 40 points: early stopping must end the run";
  EXPECT_EQ(history.stopped_epoch, history.best_epoch + 4) << "it stops `patience` epochs after the best one";
  EXPECT_EQ(static_cast<int64_t>(history.epochs.size()), history.stopped_epoch);
  double best = std::numeric_limits<double>::infinity();
  for (const train::EpochMetrics& m : history.epochs) best = std::min(best, m.validation.loss);
  EXPECT_EQ(history.best_loss, best);
  EXPECT_EQ(history.epochs[static_cast<std::size_t>(history.best_epoch - 1)].validation.loss, best);
  EXPECT_TRUE(history.restored_best);
  EXPECT_NEAR(trainer.evaluate(val_batches).loss, best, 1e-12) << "the model ends with the best epoch's weights";
  for (const char* file : {"log.csv", "curves.png", "last.ttc", "best.ttc"}) {
    EXPECT_TRUE(fs::exists(dir_ / file)) << file;
  }
  auto fresh = Overfit().model;
  train::load_model_state(*fresh, train::load_checkpoint(dir_ / "best.ttc"), "best.ttc");
  EXPECT_TRUE(same_bits(weights_of(*fresh), weights_of(*setup.model))) << "best.ttc holds the best weights";
  EXPECT_EQ(train::load_checkpoint(dir_ / "last.ttc").epoch, history.stopped_epoch) << "last.ttc: the last epoch";

  // The curves: a PNG, with both series, the early-stop line and the best point drawn.
  const plot::Image curves = plot::read_png(dir_ / "curves.png");
  EXPECT_EQ(curves.width(), 1000);
  EXPECT_EQ(curves.height(), 420);
  std::map<std::string, int> count;
  for (int y = 0; y < curves.height(); ++y) {
    for (int x = 0; x < curves.width(); ++x) {
      const plot::Rgb c = curves.at(x, y);
      count["white"] += c == plot::colors::white;
      count["train"] += c == plot::colors::blue;
      count["validation"] += c == plot::colors::orange;
      count["early stop"] += c == plot::colors::red;
      count["best"] += c == plot::colors::green;
    }
  }
  EXPECT_GT(count["white"], 1000 * 420 / 2) << "a white background";
  for (const char* what : {"train", "validation"}) EXPECT_GT(count[what], 300) << what << " curves";
  EXPECT_GT(count["early stop"], 100) << "the early-stop line and its label";
  EXPECT_GT(count["best"], 40) << "the best epoch's dot and label";
}

TEST(TrainingFit, RestoreBestOffKeepsTheLastWeights) {
  Overfit setup;
  const train::Config config{.epochs = 200, .batch_size = 8, .lr = 0.002, .patience = 3, .restore_best = false,
                             .seed = 3, .progress = train::ProgressMode::Off};
  train::Trainer trainer(*setup.model, config);
  data::TensorBatches train_batches(setup.few.data, setup.few.target, train::batch_options(config, true));
  data::TensorBatches val_batches(setup.many.data, setup.many.target, train::batch_options(config, false));
  const train::History history = trainer.fit(train_batches, &val_batches);
  ASSERT_GT(history.stopped_epoch, 0);
  EXPECT_FALSE(history.restored_best);
  EXPECT_NEAR(trainer.evaluate(val_batches).loss, history.epochs.back().validation.loss, 1e-12);
}

std::string fit_output(term::Terminal terminal, train::ProgressMode mode = train::ProgressMode::Auto) {
  const Circles data;
  auto model = mlp(2, 8, 2, 1);
  const train::Config config{.epochs = 2, .batch_size = 100, .lr = 0.01, .progress = mode};
  train::Trainer trainer(*model, config);
  std::ostringstream out;
  trainer.set_output(out, terminal);
  data::TensorBatches train_batches(data.train.data, data.train.target, train::batch_options(config, true));
  data::TensorBatches val_batches(data.validation.data, data.validation.target, train::batch_options(config, false));
  trainer.fit(train_batches, &val_batches);
  return out.str();
}

TEST(TrainingProgress, APipeOrCiGetsPlainLinesOnly) {
  const std::string out = fit_output(term::decide(false, "xterm", nullptr, nullptr));
  EXPECT_EQ(out.find('\r'), std::string::npos) << "no redraws in a pipe";
  EXPECT_EQ(out.find('\x1b'), std::string::npos) << "no escape codes in a pipe";
  const std::vector<std::string> lines = lines_of(out);
  ASSERT_EQ(lines.size(), 4u) << out;
  EXPECT_THAT(lines[0], StartsWith("training Sequential (42 parameters) for 2 epochs"));
  EXPECT_THAT(lines[1], StartsWith("epoch 1/2  train loss "));
  EXPECT_THAT(lines[1], HasSubstr("  val loss "));
  EXPECT_THAT(lines[1], HasSubstr("  best"));
  EXPECT_THAT(lines[2], StartsWith("epoch 2/2  train loss "));
  EXPECT_THAT(lines[3], StartsWith("restored the weights of epoch "));
  const std::string ci = fit_output(term::decide(true, "xterm", "1", nullptr));
  EXPECT_EQ(ci.find('\r'), std::string::npos) << "CI set: plain lines, even on a tty";
}

TEST(TrainingProgress, ASmartTerminalGetsABarAndColourUnlessNoColor) {
  const std::string smart = fit_output(term::decide(true, "xterm", nullptr, nullptr));
  EXPECT_NE(smart.find("\r"), std::string::npos) << "the bar is redrawn in place";
  EXPECT_NE(smart.find("] 4/4  loss "), std::string::npos) << "the bar of the last batch is always drawn";
  EXPECT_NE(smart.find("\x1b[32mbest\x1b[0m"), std::string::npos) << "colour on a smart terminal";
  const std::string no_color = fit_output(term::decide(true, "xterm", nullptr, "1"));
  EXPECT_NE(no_color.find("\r"), std::string::npos);
  EXPECT_EQ(no_color.find("\x1b[3"), std::string::npos) << "NO_COLOR: no colour codes";
  EXPECT_EQ(fit_output(term::decide(true, "xterm", nullptr, nullptr), train::ProgressMode::Off), "")
      << "ProgressMode::Off prints nothing";
  EXPECT_EQ(fit_output(term::decide(true, "xterm", nullptr, nullptr), train::ProgressMode::Lines).find('\r'),
            std::string::npos)
      << "ProgressMode::Lines: plain lines on any terminal";
}

// ---------------------------------------------------------------------------------------
// Part 9: reproducibility

// Every number a run produces: its losses and accuracies, and its final weights.
std::vector<double> run_numbers(uint64_t seed) {
  const Circles data;
  nn::Sequential model(nn::Linear(2, 16, true, seed), nn::ReLU(), nn::Dropout(0.3, seed + 1),
                       nn::Linear(16, 2, true, seed + 2));
  const train::Config config{.epochs = 3, .batch_size = 32, .lr = 0.01, .seed = seed,
                             .progress = train::ProgressMode::Off};
  train::Trainer trainer(model, config);
  data::TensorBatches train_batches(data.train.data, data.train.target, train::batch_options(config, true));
  data::TensorBatches val_batches(data.validation.data, data.validation.target, train::batch_options(config, false));
  const train::History history = trainer.fit(train_batches, &val_batches);
  std::vector<double> numbers;
  for (const train::EpochMetrics& m : history.epochs) {
    numbers.insert(numbers.end(), {m.train.loss, m.train.accuracy, m.validation.loss, m.validation.accuracy, m.lr});
  }
  for (float w : weights_of(model)) numbers.push_back(w);
  return numbers;
}

TEST(TrainingReproducibility, TheSameSeedGivesTheSameNumbersBitForBit) {
  const std::vector<double> first = run_numbers(42), second = run_numbers(42);
  ASSERT_EQ(first.size(), second.size());
  for (std::size_t i = 0; i < first.size(); ++i) {
    ASSERT_EQ(std::memcmp(&first[i], &second[i], sizeof(double)), 0)
        << "number " << i << " differs between two runs with seed 42 (" << first[i] << " and " << second[i]
        << "): something unseeded, or an order that depends on earlier calls";
  }
  const std::vector<double> other = run_numbers(43);
  EXPECT_NE(other, first) << "another seed must give another run";
}

// ---------------------------------------------------------------------------------------
// Integration: modules 01-07 as a student uses them

TEST_F(TrainingFiles, AnMlpLearnsConcentricCirclesAndItsCheckpointKeepsWhatItLearned) {
  // Generated data (module 08 brings real data): a ring around a disc, which no line separates.
  const data::Example train_points = data::make_circles(600, 0.1, 0.5, 31);
  const data::Example val_points = data::make_circles(300, 0.1, 0.5, 32);
  struct Net : nn::Module {  // written as a student writes a model (module 03)
    Net() {
      fc1 = register_module("fc1", std::make_shared<nn::Linear>(2, 16, true, 1));
      fc2 = register_module("fc2", std::make_shared<nn::Linear>(16, 16, true, 2));
      out = register_module("out", std::make_shared<nn::Linear>(16, 2, true, 3));
    }
    Tensor forward(const Tensor& x) override { return out->forward(relu(fc2->forward(relu(fc1->forward(x))))); }
    std::shared_ptr<nn::Linear> fc1, fc2, out;
  };
  Net net;
  const train::Config config{.epochs = 40, .batch_size = 32, .lr = 0.01, .clip_norm = 5, .patience = 6, .seed = 5,
                             .out_dir = (dir_ / "run").string(), .progress = train::ProgressMode::Off};
  train::Trainer trainer(net, config);
  data::TensorBatches train_batches(train_points.data, train_points.target, train::batch_options(config, true));
  data::TensorBatches val_batches(val_points.data, val_points.target, train::batch_options(config, false));
  const train::History history = trainer.fit(train_batches, &val_batches);

  const train::PhaseMetrics final = trainer.evaluate(val_batches);
  EXPECT_GE(final.accuracy, 0.95) << "a 2-16-16-2 MLP separates the circles";
  EXPECT_LT(final.loss, history.epochs.front().validation.loss / 3) << "the validation loss fell far";
  for (const train::EpochMetrics& m : history.epochs) EXPECT_TRUE(std::isfinite(m.train.loss));

  Net fresh;
  train::Trainer other(fresh, config);
  EXPECT_LT(other.evaluate(val_batches).accuracy, 0.8) << "an untrained net does not know the circles";
  train::load_model_state(fresh, train::load_checkpoint(dir_ / "run" / "best.ttc"), "best.ttc");
  EXPECT_EQ(other.evaluate(val_batches).accuracy, final.accuracy) << "the best checkpoint is the model fit returned";
  EXPECT_EQ(lines_of(io::read_file(dir_ / "run" / "log.csv")).size(), history.epochs.size() + 1);
}

// BEGIN HIDDEN TESTS
TEST(TrainingHidden, ShuffleOrderForOtherSeedsAndSizes) {
  for (uint64_t seed : {0ull, 1ull, 123456789ull}) {
    for (int64_t n : {2, 7, 1000}) {
      EXPECT_EQ(data::shuffle_order(n, seed, 11), reference_order(n, seed, 11)) << "seed " << seed << ", n " << n;
    }
  }
}

TEST(TrainingHidden, FourElementsAreUniformToo) {
  std::map<std::vector<int64_t>, int> counts;
  for (int t = 0; t < 48000; ++t) ++counts[data::shuffle_order(4, 3, t)];
  ASSERT_EQ(counts.size(), 24u) << "not every order of 4 elements came up";
  for (const auto& [order, count] : counts) EXPECT_NEAR(count, 2000, 250) << "the shuffle is biased";
}

TEST(TrainingHidden, AFailedLoadChangesNothing) {
  WithBuffer model;
  const std::vector<float> before = weights_of(model);
  train::Checkpoint c = train::make_checkpoint(model, nullptr, 0);
  {
    NoGradGuard no_grad;
    for (auto& [name, t] : c.parameters) t += 1.0f;
  }
  c.buffers[0].second = zeros({3});  // the last check fails: the buffer's shape
  EXPECT_THROW(train::load_model_state(model, c, "x.ttc"), train::CheckpointError);
  EXPECT_EQ(weights_of(model), before) << "check everything first, then copy: a failed load must change nothing";
}

TEST(TrainingHidden, EarlyStoppingWithMinDeltaAndPatienceTwo) {
  EXPECT_EQ(stop_epoch(2, {1.0, 0.99, 0.985, 0.5}, 0.02), 3) << "0.99 and 0.985 are within min_delta of 1.0";
  EXPECT_EQ(stop_epoch(2, {1.0, 0.97, 0.96, 0.95, 0.94}, 0.02), 4);
  EXPECT_EQ(stop_epoch(1, {kNaN}), 1);
}

TEST(TrainingHidden, MetricAccumulatorBatchOfOne) {
  train::MetricAccumulator m;
  m.add(0.7, 1.0, 1);
  EXPECT_DOUBLE_EQ(m.result().loss, 0.7);
  EXPECT_DOUBLE_EQ(m.result().accuracy, 1.0);
  EXPECT_EQ(m.result().batches, 1);
}

TEST(TrainingHidden, DecodeRefusesVersionZeroAndAnAbsurdRank) {
  std::string bytes = train::encode_checkpoint({.epoch = 1, .parameters = {{"w", ones({2})}}});
  std::string zero = bytes;
  zero[8] = 0;
  EXPECT_THAT(error_message<train::CheckpointError>([&] { train::decode_checkpoint(zero, "z.ttc"); }),
              HasSubstr("a version 0 checkpoint"));
  std::string rank = bytes;
  rank[33] = 40;  // the rank of 'w': after the magic, version, epoch, optimizer, count, name length and "w"
  EXPECT_THAT(error_message<train::CheckpointError>([&] { train::decode_checkpoint(rank, "r.ttc"); }),
              HasSubstr("rank 40"));
}

TEST(TrainingHidden, ConfigChecksTheFieldsInTheirOrder) {
  EXPECT_THAT(config_error({.epochs = 0, .lr = -1}), StartsWith("Config.epochs = 0: "));
  EXPECT_THAT(config_error({.lr = -1, .patience = -1}), StartsWith("Config.lr = -1: "));
  EXPECT_THAT(config_error({.clip_norm = kNaN}), StartsWith("Config.clip_norm = nan: "));
}

TEST(TrainingHidden, TrainStepWithMomentumUsesTheOptimizer) {
  nn::Linear model(2, 2, true, 1);
  nn::Linear reference(2, 2, true, 1);
  train::Trainer trainer(model, {.optimizer = train::OptimizerKind::SGD, .lr = 0.1, .momentum = 0.9,
                                 .progress = train::ProgressMode::Off});
  optim::SGD manual(reference.parameters(), optim::SGDOptions(0.1).momentum(0.9));
  for (const data::Example& batch : {batch_a(), batch_b(), batch_a()}) {
    trainer.train_step(batch);
    manual.zero_grad();
    nn::functional::cross_entropy(reference(batch.data), batch.target).backward();
    manual.step();
  }
  EXPECT_TRUE(same_bits(weights_of(model), weights_of(reference)));
}
// END HIDDEN TESTS

}  // namespace
