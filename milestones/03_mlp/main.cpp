// Milestone 03: the multi-layer perceptron (Rumelhart, Hinton and Williams,
// 1986), after module 08.
//
// 784-256-128-10 with ReLU (module 03), cross-entropy (04), backpropagation
// (05), Adam from lr 1e-3 down a cosine schedule to 0 (06), trained in batches
// of 128 by module 07's Trainer from module 08's DataLoader over the real
// Fashion-MNIST. The last 5,000 training images are held out for validation:
// they are watched (the log, the curves), not chosen on. The test set is read
// once, at the end, with the last epoch's weights, so nothing about the run is
// chosen by looking at it. (README.md: why a cosine, and what a constant rate
// with the best validation epoch's weights gave.)
#include <milestone.hpp>
#include <trainer_run.hpp>

#include <cmath>
#include <cstdio>
#include <iostream>
#include <memory>
#include <optional>
#include <string>

#include <tinytorch/core/data.hpp>
#include <tinytorch/core/training.hpp>

namespace {

using namespace tinytorch;

constexpr int64_t kBatchSize = 128;
constexpr double kLearningRate = 1e-3;
constexpr int64_t kValidation = 5000;  // the last images of the training set

// The network: images [B, 1, 28, 28] flattened to [B, 784], then three layers.
class Mlp : public nn::Module {
 public:
  explicit Mlp(uint64_t seed) : nn::Module("Mlp") {
    layers_ =
        register_module("layers", std::make_shared<nn::Sequential>(nn::Linear(784, 256, true, seed), nn::ReLU(),
                                                                   nn::Linear(256, 128, true, seed + 1), nn::ReLU(),
                                                                   nn::Linear(128, 10, true, seed + 2)));
  }
  Tensor forward(const Tensor& images) override { return layers_->forward(images.reshape({images.size(0), 784})); }

 private:
  std::shared_ptr<nn::Sequential> layers_;
};

}  // namespace

int main(int argc, char** argv) {
  milestone::Run run(argc, argv, {.epochs = 20, .quick_batches = 20, .seed = 1986});
  std::shared_ptr<data::datasets::FashionMNIST> all_train, test;
  try {
    all_train = std::make_shared<data::datasets::FashionMNIST>(run.data_dir(), true);
    test = std::make_shared<data::datasets::FashionMNIST>(run.data_dir(), false);
  } catch (const data::DatasetNotFound& e) {
    std::cerr << "milestone_mlp: " << e.what() << "\n";
    return 1;
  }
  const int64_t n_train = all_train->size() - kValidation;
  auto train_set = std::make_shared<data::TensorDataset>(narrow(all_train->images(), 0, 0, n_train),
                                                         narrow(all_train->targets(), 0, 0, n_train));
  auto validation_set = std::make_shared<data::TensorDataset>(narrow(all_train->images(), 0, n_train, kValidation),
                                                              narrow(all_train->targets(), 0, n_train, kValidation));
  data::DataLoader train(train_set, data::DataLoaderOptions(kBatchSize).shuffle(true).seed(run.seed()));
  data::DataLoader validation(validation_set, data::DataLoaderOptions(kBatchSize));
  data::DataLoader test_loader(test, data::DataLoaderOptions(kBatchSize));

  Mlp model(run.seed());
  train::Config config{.epochs = run.epochs(),
                       .max_batches = run.quick() ? static_cast<int64_t>(run.batches(train.num_batches())) : 0,
                       .batch_size = kBatchSize,
                       .optimizer = train::OptimizerKind::Adam,
                       .lr = kLearningRate,
                       .schedule = train::Schedule::Cosine,
                       .restore_best = false,
                       .seed = run.seed(),
                       .out_dir = run.out().string(),
                       .save_checkpoints = false,
                       .progress = train::ProgressMode::Lines};
  train::Trainer trainer(model, config);
  const std::optional<train::History> fitted = milestone::fit(run, trainer, train, &validation, "milestone_mlp");
  if (!fitted) return run.finish(false);
  const train::History& history = *fitted;

  // In a --quick run the Trainer reads at most max_batches of each source: the test figures are
  // those of the first max_batches * 128 test images.
  const train::PhaseMetrics on_test = trainer.evaluate(test_loader);
  // The weights tested: the last epoch's (the schedule ends at the lowest rate), or the best
  // epoch's when the Trainer restored them.
  const train::EpochMetrics& used = history.epochs.at(static_cast<std::size_t>(
      history.restored_best ? history.best_epoch - history.epochs.front().epoch : history.epochs.size() - 1));
  double seconds = 0, images_per_second = 0;
  for (const train::EpochMetrics& m : history.epochs) {
    seconds += m.seconds;
    images_per_second += m.examples_per_second;
  }
  const auto epochs = static_cast<double>(history.epochs.size());
  std::printf(
      "test: loss %.4f, accuracy %.2f%% on %lld images (the weights of epoch %lld, validation accuracy %.2f%%)\n",
      on_test.loss, 100 * on_test.accuracy, static_cast<long long>(on_test.examples),
      static_cast<long long>(used.epoch), 100 * used.validation.accuracy);

  run.metric("test_accuracy", on_test.accuracy);
  run.metric("test_loss", on_test.loss);
  run.metric("validation_accuracy", used.validation.accuracy);
  run.metric("train_images_per_second", images_per_second / epochs);
  run.metric("seconds_per_epoch", seconds / epochs);  // training and validation, without reading the files
  run.metric("test_images", static_cast<double>(on_test.examples));
  if (run.quick()) {
    run.note("quick run: test accuracy on the first " + std::to_string(on_test.examples) + " test images, after " +
             std::to_string(config.max_batches) + " batches per epoch");
  }
  run.note(
      "55,000 training images; the last 5,000 of the training set for validation (watched, not chosen on); "
      "Adam from lr 1e-3 down a cosine to 0; the last epoch's weights on the test images, read once at the end");
  run.artifact("log.csv");
  run.artifact("curves.png");
  return run.finish(on_test.accuracy >= 0.88);
}
