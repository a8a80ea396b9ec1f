// Milestone 04: the convolutional network (LeCun, Bottou, Bengio and Haffner,
// 1998), after module 09.
//
// Two parts, each a network of module 09's layers trained by module 07's
// Trainer from module 08's DataLoader:
//
//   fashion-mnist  conv 5x5 (16) → batch norm → ReLU → max pool, twice; a
//                  hidden layer of 128 with dropout; Adam from 1e-3 down a
//                  cosine. Real Fashion-MNIST; target ≥ 91% test accuracy.
//   cifar10        three blocks of conv 3x3 → batch norm → ReLU → max pool
//                  (32, 64, 128 channels), a hidden layer of 128; SGD with
//                  Nesterov momentum and weight decay down a cosine; random
//                  crops (padding 4) and horizontal flips. Target ≥ 75% test.
//
// CIFAR-10 is optional: where `tito data fetch cifar10` cannot reach the
// network (as on the course's CI machines), a full run says that its accuracy
// was not measured, and a --quick run proves the pipeline (the CIFAR-10 reader,
// the transforms, the deeper network) on GENERATED files in CIFAR-10's binary
// format: coloured stripe patterns, one orientation per class, not photographs.
// Its accuracy on them is not a CIFAR-10 accuracy and is never reported as one.
//
// In each part the last 5,000 training images are held out for validation
// (watched, not chosen on); the test set is read once, at the end, with the
// last epoch's weights.
#include <milestone.hpp>
#include <trainer_run.hpp>

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <tinytorch/core/data.hpp>
#include <tinytorch/core/spatial.hpp>
#include <tinytorch/core/training.hpp>

namespace {

using namespace tinytorch;
namespace fs = std::filesystem;
namespace T = data::transforms;

constexpr int64_t kValidation = 5000;  // the last images of a training set
constexpr int kFashionEpochs = 10;
constexpr int kCifarEpochs = 30;
constexpr int kQuickBatches = 20;  // per epoch and per source in a --quick run
constexpr int64_t kEvalBatch = 256;

// Fashion-MNIST: [B, 1, 28, 28] → [B, 10]; two poolings leave 32 maps of 7x7, 1,568 features.
class FashionCnn : public nn::Module {
 public:
  explicit FashionCnn(uint64_t seed) : nn::Module("FashionCnn") {
    layers_ = register_module(
        "layers", std::make_shared<nn::Sequential>(
                      nn::Conv2d(1, 16, 5, 1, 2, false, seed), nn::BatchNorm2d(16), nn::ReLU(), nn::MaxPool2d(2),
                      nn::Conv2d(16, 32, 5, 1, 2, false, seed + 1), nn::BatchNorm2d(32), nn::ReLU(),
                      nn::MaxPool2d(2), nn::Flatten(), nn::Linear(32 * 7 * 7, 128, true, seed + 2), nn::ReLU(),
                      nn::Dropout(0.3, seed + 3), nn::Linear(128, 10, true, seed + 4)));
  }
  Tensor forward(const Tensor& images) override { return layers_->forward(images); }

 private:
  std::shared_ptr<nn::Sequential> layers_;
};

// CIFAR-10: [B, 3, 32, 32] → [B, 10], three conv blocks halving the maps to 4x4.
class CifarCnn : public nn::Module {
 public:
  explicit CifarCnn(uint64_t seed) : nn::Module("CifarCnn") {
    layers_ = register_module(
        "layers", std::make_shared<nn::Sequential>(
                      nn::Conv2d(3, 32, 3, 1, 1, false, seed), nn::BatchNorm2d(32), nn::ReLU(), nn::MaxPool2d(2),
                      nn::Conv2d(32, 64, 3, 1, 1, false, seed + 1), nn::BatchNorm2d(64), nn::ReLU(),
                      nn::MaxPool2d(2), nn::Conv2d(64, 128, 3, 1, 1, false, seed + 2), nn::BatchNorm2d(128),
                      nn::ReLU(), nn::MaxPool2d(2), nn::Flatten(), nn::Linear(128 * 4 * 4, 128, true, seed + 3),
                      nn::ReLU(), nn::Linear(128, 10, true, seed + 4)));
  }
  Tensor forward(const Tensor& images) override { return layers_->forward(images); }

 private:
  std::shared_ptr<nn::Sequential> layers_;
};

// What one part measured.
struct PartResult {
  train::PhaseMetrics test;
  train::EpochMetrics last;  // the epoch whose weights were tested
  double seconds_per_epoch = 0;
  double images_per_second = 0;
};

// The first `count` examples of `dataset` from `first` on, as a TensorDataset.
std::shared_ptr<data::TensorDataset> slice(const data::datasets::ImageDataset& dataset, int64_t first, int64_t count) {
  return std::make_shared<data::TensorDataset>(narrow(dataset.images(), 0, first, count),
                                               narrow(dataset.targets(), 0, first, count));
}

// Trains `model` on `all_train` (the last `validation` images held out) with `augment` applied to
// the training images and `normalize` to all, tests it on `test`, and records the batches in `run`.
// Writes log.csv and curves.png into run.out()/`part`. nullopt when training stopped on a
// non-finite loss (the harness then names it).
std::optional<PartResult> train_part(milestone::Run& run, const std::string& part, nn::Module& model,
                                     const data::datasets::ImageDataset& all_train, const data::datasets::ImageDataset& test,
                                     int64_t validation, const T::Normalize& normalize,
                                     std::shared_ptr<const T::Transform> augment, train::Config config) {
  const int64_t n_train = all_train.size() - validation;
  std::shared_ptr<const T::Transform> training_transform = std::make_shared<T::Normalize>(normalize);
  if (augment) training_transform = std::make_shared<T::Compose>(std::vector{augment, training_transform});
  auto normalized = std::make_shared<T::Normalize>(normalize);
  data::DataLoader train(std::make_shared<data::MapDataset>(slice(all_train, 0, n_train), training_transform),
                         data::DataLoaderOptions(config.batch_size).shuffle(true).seed(run.seed()));
  data::DataLoader held_out(std::make_shared<data::MapDataset>(slice(all_train, n_train, validation), normalized),
                            data::DataLoaderOptions(kEvalBatch));
  data::DataLoader test_loader(std::make_shared<data::MapDataset>(slice(test, 0, test.size()), normalized),
                               data::DataLoaderOptions(kEvalBatch));

  config.max_batches = run.quick() ? static_cast<int64_t>(run.batches(train.num_batches())) : 0;
  config.out_dir = (run.out() / part).string();
  config.save_checkpoints = false;
  config.restore_best = false;
  config.seed = run.seed();
  config.progress = train::ProgressMode::Lines;
  train::Trainer trainer(model, config);
  const std::optional<train::History> history = milestone::fit(run, trainer, train, &held_out, "milestone_cnn: " + part);
  if (!history) return std::nullopt;
  run.artifact(part + "/log.csv");
  run.artifact(part + "/curves.png");

  PartResult r;
  r.test = trainer.evaluate(test_loader);
  r.last = history->epochs.back();
  for (const train::EpochMetrics& m : history->epochs) {
    r.seconds_per_epoch += m.seconds / static_cast<double>(history->epochs.size());
    r.images_per_second += m.examples_per_second / static_cast<double>(history->epochs.size());
  }
  return r;
}

// Writes GENERATED records in CIFAR-10's binary format under `cache`/cifar10/cifar-10-batches-bin:
// `per_file` records in each of the five training files and `test_count` in the test file. Class k
// is a grating at k·18 degrees in a colour of its own, with pixel noise and a random phase: a
// pattern a small CNN can learn in a few batches. Not CIFAR-10, and not to be mistaken for it.
void write_generated_cifar10(const fs::path& cache, int per_file, int test_count, uint64_t seed) {
  const fs::path folder = cache / "cifar10" / "cifar-10-batches-bin";
  fs::create_directories(folder);
  std::mt19937_64 random(seed);
  std::uniform_real_distribution<double> phase(0.0, 6.2831853), noise(-40.0, 40.0);
  auto write_file = [&](const fs::path& path, int count) {
    std::vector<uint8_t> bytes;
    bytes.reserve(static_cast<std::size_t>(count * data::datasets::kCifar10RecordBytes));
    for (int r = 0; r < count; ++r) {
      const int label = static_cast<int>(random() % 10);
      const double angle = label * 3.14159265 / 10.0;
      const double dx = std::cos(angle) * 0.6, dy = std::sin(angle) * 0.6, offset = phase(random);
      bytes.push_back(static_cast<uint8_t>(label));
      for (int c = 0; c < 3; ++c) {
        const double tint = 60.0 + 40.0 * ((label + c * 3) % 5);  // each class its own colour
        for (int y = 0; y < 32; ++y) {
          for (int x = 0; x < 32; ++x) {
            const double wave = std::sin(x * dx + y * dy + offset);
            const double v = tint + 60.0 * wave + noise(random);
            bytes.push_back(static_cast<uint8_t>(std::clamp(v, 0.0, 255.0)));
          }
        }
      }
    }
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    if (!out) throw std::runtime_error("cannot write " + path.string());
  };
  for (int b = 1; b <= 5; ++b) write_file(folder / ("data_batch_" + std::to_string(b) + ".bin"), per_file);
  write_file(folder / "test_batch.bin", test_count);
}

void report(const std::string& part, const PartResult& r) {
  std::printf("%s test: loss %.4f, accuracy %.2f%% on %lld images (validation accuracy %.2f%%, %.0f images/s)\n",
              part.c_str(), r.test.loss, 100 * r.test.accuracy, static_cast<long long>(r.test.examples),
              100 * r.last.validation.accuracy, r.images_per_second);
}

}  // namespace

int main(int argc, char** argv) {
  milestone::Run run(argc, argv, {.epochs = kFashionEpochs, .quick_batches = kQuickBatches, .seed = 1998});

  // Part 1: Fashion-MNIST, real and required.
  std::unique_ptr<data::datasets::FashionMNIST> fashion_train, fashion_test;
  try {
    fashion_train = std::make_unique<data::datasets::FashionMNIST>(run.data_dir(), true);
    fashion_test = std::make_unique<data::datasets::FashionMNIST>(run.data_dir(), false);
  } catch (const data::DatasetNotFound& e) {
    std::cerr << "milestone_cnn: " << e.what() << "\n";
    return 1;
  }
  run.begin_part("fashion-mnist", kFashionEpochs);
  FashionCnn fashion_model(run.seed());
  const train::Config fashion_config{.epochs = run.epochs(),
                                     .batch_size = 64,
                                     .optimizer = train::OptimizerKind::Adam,
                                     .lr = 1e-3,
                                     .schedule = train::Schedule::Cosine};
  const std::optional<PartResult> fashion =
      train_part(run, "fashion-mnist", fashion_model, *fashion_train, *fashion_test, kValidation,
                 T::Normalize({0.2860f}, {0.3530f}), nullptr, fashion_config);
  if (!fashion) return run.finish(false);
  report("fashion-mnist", *fashion);
  const bool fashion_met = fashion->test.accuracy >= 0.91;
  run.metric("test_accuracy", fashion->test.accuracy);
  run.metric("test_loss", fashion->test.loss);
  run.metric("validation_accuracy", fashion->last.validation.accuracy);
  run.metric("train_images_per_second", fashion->images_per_second);
  run.metric("seconds_per_epoch", fashion->seconds_per_epoch);
  run.metric("test_images", static_cast<double>(fashion->test.examples));

  // Part 2: CIFAR-10, real where it was fetched; generated files in its format for a quick run.
  std::unique_ptr<data::datasets::CIFAR10> cifar_train, cifar_test;
  bool generated = false;
  fs::path generated_cache;
  try {
    cifar_train = std::make_unique<data::datasets::CIFAR10>(run.data_dir(), true);
    cifar_test = std::make_unique<data::datasets::CIFAR10>(run.data_dir(), false);
  } catch (const data::DatasetNotFound& e) {
    if (!run.quick()) {
      std::printf("cifar10: not in the data cache, so its target (≥ 75%%) was not measured: %s\n", e.what());
      run.note("CIFAR-10 accuracy not measured: CIFAR-10 is not in the data cache (tito data fetch cifar10); "
               "the verdict is Fashion-MNIST's alone");
      return run.finish(fashion_met);
    }
    generated = true;
    generated_cache = run.out() / "generated-cifar10-format";
    fs::remove_all(generated_cache);
    write_generated_cifar10(generated_cache, 256, 256, run.seed());
    cifar_train = std::make_unique<data::datasets::CIFAR10>(generated_cache, true);
    cifar_test = std::make_unique<data::datasets::CIFAR10>(generated_cache, false);
    std::printf("cifar10: not in the data cache; this quick run uses GENERATED files in CIFAR-10's format "
                "(stripe patterns, not photographs) to prove the pipeline: its accuracy is not measured\n");
  }
  const std::string cifar_part = generated ? "cifar10-format-generated" : "cifar10";
  run.begin_part(cifar_part, kCifarEpochs);
  CifarCnn cifar_model(run.seed() + 100);
  const train::Config cifar_config{.epochs = run.epochs(),
                                   .batch_size = 64,
                                   .optimizer = train::OptimizerKind::SGD,
                                   .lr = 0.05,
                                   .momentum = 0.9,
                                   .nesterov = true,
                                   .weight_decay = 5e-4,
                                   .schedule = train::Schedule::Cosine};
  auto augment = std::make_shared<T::Compose>(T::RandomCrop(32, 4, run.seed()), T::RandomHorizontalFlip(0.5, run.seed() + 1));
  const std::optional<PartResult> cifar = train_part(
      run, cifar_part, cifar_model, *cifar_train, *cifar_test, generated ? 128 : kValidation,
      T::Normalize({0.4914f, 0.4822f, 0.4465f}, {0.2470f, 0.2435f, 0.2616f}), augment, cifar_config);
  if (generated) fs::remove_all(generated_cache);
  if (!cifar) return run.finish(false);
  if (generated) {
    std::printf("%s: the pipeline ran (%.0f images/s); accuracy on generated data is not reported\n",
                cifar_part.c_str(), cifar->images_per_second);
    run.metric("cifar10_format_images_per_second", cifar->images_per_second);
    run.note("CIFAR-10 accuracy not measured: CIFAR-10 is not in the data cache, and the second part ran on "
             "GENERATED files in CIFAR-10's binary format (stripe patterns, not photographs) to prove the pipeline");
  } else {
    report("cifar10", *cifar);
    run.metric("cifar10_test_accuracy", cifar->test.accuracy);
    run.metric("cifar10_test_loss", cifar->test.loss);
    run.metric("cifar10_validation_accuracy", cifar->last.validation.accuracy);
    run.metric("cifar10_train_images_per_second", cifar->images_per_second);
    run.metric("cifar10_seconds_per_epoch", cifar->seconds_per_epoch);
  }
  if (run.quick()) {
    run.note("quick run: " + std::to_string(kQuickBatches) + " batches per epoch at most; Fashion-MNIST's test accuracy on its first " +
             std::to_string(fashion->test.examples) + " test images");
  }
  run.note("the last 5,000 images of each training set for validation (watched, not chosen on); the last epoch's "
           "weights on the test images, read once at the end");
  return run.finish(fashion_met && (generated || cifar->test.accuracy >= 0.75));
}
