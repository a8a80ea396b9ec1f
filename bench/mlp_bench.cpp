// mlp_bench: the MLP milestone's network, 784-256-128-10 with ReLU, trained on real
// Fashion-MNIST with Adam (lr 1e-3) in batches of 128, by tinytorch (the library the modules'
// solutions build) and by libtorch in one run, one thread each. Prints the seconds of every
// epoch, their median with the spread, the test accuracy after the last epoch, and the ratio
// of the medians (tinytorch / libtorch). The goal of issue 8: a ratio of at most 1.0, with the
// accuracies within a point of each other.
//
//   build/bench/mlp_bench [--epochs N] [--batch B] [--seed S] [--only tinytorch|libtorch] [--matmul fast|module01]
//                         [--profile STEPS]
//
// --profile STEPS trains tinytorch alone for STEPS batches under module 10's profiler (after as
// many unprofiled warm-up steps) and prints where a training step's time goes, op by op.
//
// With module 11 in the package tinytorch multiplies on its GEMM (bench/tinytorch_matmul.hpp);
// --matmul module01 measures the library before module 11.
//
// The data comes from the tito data cache (TITO_DATA_DIR, or the course's data/cache):
//   build/tito/tito data fetch fashion-mnist --from /usr/share/datasets/fashion-mnist
#include <tinytorch/core/data.hpp>
#include <tinytorch/core/losses.hpp>
#include <tinytorch/core/optim.hpp>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "profile_step.hpp"
#include "runs.hpp"
#include "tinytorch_matmul.hpp"
#include "torch_peer.hpp"

namespace tt = tinytorch;

namespace {

struct Options {
  int epochs = 3;
  int batch = 128;
  double lr = 1e-3;
  uint64_t seed = 42;
  bool tinytorch = true;
  bool libtorch = true;
  bool fast_matmul = true;  // module 11's GEMM when the build has it
  int profile_steps = 0;    // > 0: profile this many tinytorch steps and stop
};

struct Result {
  tito::bench::Runs epoch_seconds;
  double test_accuracy = 0.0;
};

[[noreturn]] void usage(const std::string& problem) {
  std::fprintf(stderr, "mlp_bench: %s\nusage: mlp_bench [--epochs N] [--batch B] [--seed S] [--only tinytorch|libtorch] [--matmul fast|module01] "
               "[--profile STEPS]\n",
               problem.c_str());
  std::exit(2);
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage(std::string(arg) + " needs a value");
      return argv[++i];
    };
    auto positive = [&](const std::string& text) {
      const int n = std::atoi(text.c_str());
      if (n < 1) usage(std::string(arg) + " must be a positive integer, got '" + text + "'");
      return n;
    };
    if (arg == "--epochs") {
      o.epochs = positive(value());
    } else if (arg == "--batch") {
      o.batch = positive(value());
    } else if (arg == "--seed") {
      o.seed = std::strtoull(value().c_str(), nullptr, 10);
    } else if (arg == "--only") {
      const std::string which = value();
      if (which != "tinytorch" && which != "libtorch") usage("--only takes tinytorch or libtorch, got '" + which + "'");
      o.tinytorch = which == "tinytorch";
      o.libtorch = which == "libtorch";
    } else if (arg == "--matmul") {
      const std::string which = value();
      if (which != "fast" && which != "module01") usage("--matmul takes fast or module01, got '" + which + "'");
      o.fast_matmul = which == "fast";
    } else if (arg == "--profile") {
      o.profile_steps = positive(value());
    } else if (arg == "--help" || arg == "-h") {
      usage("the MLP of the milestone, tinytorch against libtorch");
    } else {
      usage("unknown argument '" + std::string(arg) + "'");
    }
  }
  return o;
}

// The images as [N, 784] rows (a view of the reader's [N, 1, 28, 28]) with their labels.
tt::data::TensorDataset flat(const tt::data::datasets::ImageDataset& images) {
  return tt::data::TensorDataset(images.images().view({images.size(), 784}), images.targets());
}

// The same examples as plain floats, for the peer.
bench::FlatDataset flat_floats(const tt::data::datasets::ImageDataset& images) {
  bench::FlatDataset out;
  out.n = images.size();
  out.images = images.images().contiguous().to_vector();
  out.labels = images.targets().contiguous().to_vector();
  return out;
}

// The milestone's network, 784-256-128-10 with ReLU, seeded from the options.
tt::nn::Sequential mlp(const Options& o) {
  namespace nn = tt::nn;
  return nn::Sequential(nn::Linear(784, 256, true, o.seed), nn::ReLU(), nn::Linear(256, 128, true, o.seed + 1),
                        nn::ReLU(), nn::Linear(128, 10, true, o.seed + 2));
}

Result train_tinytorch(const tt::data::datasets::ImageDataset& train, const tt::data::datasets::ImageDataset& test,
                       const Options& o) {
  namespace nn = tt::nn;
  nn::Sequential model = mlp(o);
  tt::optim::Adam optimizer(model.parameters(), tt::optim::AdamOptions(o.lr));
  tt::data::DataLoader loader(flat(train), tt::data::DataLoaderOptions(o.batch).shuffle(true).seed(o.seed));
  Result result;
  for (int epoch = 0; epoch < o.epochs; ++epoch) {
    const auto start = std::chrono::steady_clock::now();
    model.train();
    loader.start_epoch(epoch);
    for (const tt::data::Example& batch : loader) {
      optimizer.zero_grad();
      const tt::Tensor loss = nn::functional::cross_entropy(model(batch.data), batch.target);
      loss.backward();
      optimizer.step();
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    result.epoch_seconds.add(seconds);
    std::printf("  tinytorch epoch %d: %.3f s\n", epoch + 1, seconds);
    std::fflush(stdout);
  }
  tt::NoGradGuard no_grad;
  model.eval();
  const tt::data::TensorDataset test_set = flat(test);
  result.test_accuracy = tt::nn::functional::accuracy(model(test_set.data()), test_set.targets());
  return result;
}

// The op-by-op profile of `steps` training steps (after as many warm-up steps), module 10's table.
int profile_tinytorch(const tt::data::datasets::ImageDataset& train, const Options& o) {
  namespace nn = tt::nn;
  nn::Sequential model = mlp(o);
  tt::optim::Adam optimizer(model.parameters(), tt::optim::AdamOptions(o.lr));
  tt::data::DataLoader loader(flat(train), tt::data::DataLoaderOptions(o.batch).shuffle(true).seed(o.seed));
  model.train();
  int64_t epoch = 0, index = 0;
  loader.start_epoch(epoch);
  return bench::profile_steps(o.profile_steps, [&] {
    tt::data::Example batch;
    {
      bench::Phase phase("next batch");
      if (index == loader.num_batches()) {
        loader.start_epoch(++epoch);
        index = 0;
      }
      batch = loader.batch(index++);
    }
    {
      bench::Phase phase("zero_grad");
      optimizer.zero_grad();
    }
    tt::Tensor loss;
    {
      bench::Phase phase("forward");
      loss = nn::functional::cross_entropy(model(batch.data), batch.target);
    }
    {
      bench::Phase phase("backward");
      loss.backward();
    }
    bench::Phase phase("optimizer step");
    optimizer.step();
  });
}

Result train_libtorch(const tt::data::datasets::ImageDataset& train, const tt::data::datasets::ImageDataset& test,
                      const Options& o, std::string& version) {
  const bench::PeerRun run =
      bench::train_mlp_libtorch(flat_floats(train), flat_floats(test), o.epochs, o.batch, o.lr, /*threads=*/1, o.seed);
  Result result;
  for (std::size_t e = 0; e < run.epoch_seconds.size(); ++e) {
    result.epoch_seconds.add(run.epoch_seconds[e]);
    std::printf("  libtorch epoch %zu: %.3f s\n", e + 1, run.epoch_seconds[e]);
  }
  result.test_accuracy = run.test_accuracy;
  version = run.version;
  return result;
}

void print_row(const char* who, const Result& r) {
  std::printf("%-10s %8.3f s/epoch [%.3f-%.3f over %zu epochs]   test accuracy %.2f%%\n", who,
              r.epoch_seconds.median(), r.epoch_seconds.best(), r.epoch_seconds.worst(), r.epoch_seconds.size(),
              100.0 * r.test_accuracy);
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = parse(argc, argv);
  try {
    std::printf("MLP 784-256-128-10 (ReLU) on Fashion-MNIST: Adam lr %g, batch %d, %d epochs, seed %llu, 1 thread\n",
                o.lr, o.batch, o.epochs, static_cast<unsigned long long>(o.seed));
    std::printf("tinytorch's matrix products: %s\n", bench::use_matmul(o.fast_matmul, 1).c_str());
    const tt::data::datasets::FashionMNIST train(true), test(false);
    std::printf("data: %lld training and %lld test images from %s\n", static_cast<long long>(train.size()),
                static_cast<long long>(test.size()), train.folder().string().c_str());
    std::fflush(stdout);

    if (o.profile_steps > 0) return profile_tinytorch(train, o);

    Result ours, peer;
    std::string version;
    const bool with_peer = o.libtorch && bench::torch_available();
    if (o.tinytorch) ours = train_tinytorch(train, test, o);
    if (with_peer) peer = train_libtorch(train, test, o, version);

    std::printf("\n");
    if (o.tinytorch) print_row("tinytorch", ours);
    if (with_peer) print_row(version.c_str(), peer);
    if (o.libtorch && !with_peer) {
      std::printf("libtorch: not in this build (apt-get install libtorch-dev and reconfigure to compare)\n");
    }
    if (o.tinytorch && with_peer) {
      const double ratio = ours.epoch_seconds.median() / peer.epoch_seconds.median();
      const double gap = 100.0 * (ours.test_accuracy - peer.test_accuracy);
      std::printf("ratio tinytorch/libtorch: %.2fx seconds per epoch (goal <= 1.00x: %s); accuracy %+.2f points (goal "
                  "within 1: %s)\n",
                  ratio, ratio <= 1.0 ? "met" : "not met", gap, std::abs(gap) <= 1.0 ? "met" : "not met");
    }
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "mlp_bench: %s\n", e.what());
    return 1;
  }
}
