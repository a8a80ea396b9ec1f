// cnn_bench: training throughput of the reference CNN of issue 9 (conv 3->32 k3 p1, relu,
// maxpool 2, conv 32->64 k3 p1, relu, maxpool 2, flatten, linear 4096->128, relu, linear 128->10)
// in images per second, tinytorch and libtorch in one run with the same thread count. Both start
// from the same weights (tinytorch's, copied into libtorch) and train on the same seeded random
// 32x32x3 images with random labels, batches of 64, SGD lr 0.01 momentum 0.9. After warm-up
// steps, the repetitions of each side alternate (so that a busy moment of the machine does not
// fall on one side only); each side's figure is the median repetition, with the slowest and the
// fastest beside it. Prints the FLOPs of a training step per image, the GFLOP/s each side reaches,
// and the ratio of the medians (tinytorch / libtorch, images per second: above 1 is faster).
//
//   build/bench/cnn_bench [--steps N] [--repeats R] [--warmup W] [--threads T] [--seed S]
//                         [--only tinytorch|libtorch] [--matmul fast|module01] [--conv image|im2col]
//                         [--buffer-cache on|off] [--profile STEPS]
//
// --profile STEPS trains tinytorch alone for STEPS batches under module 10's profiler (after as
// many unprofiled warm-up steps) and prints where a training step's time goes, op by op.
#include <tinytorch/core/losses.hpp>
#include <tinytorch/core/optim.hpp>
#include <tinytorch/core/spatial.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "peer_layers.hpp"
#include "profile_step.hpp"
#include "runs.hpp"
#include "tinytorch_matmul.hpp"
#include "torch_peer.hpp"

namespace tt = tinytorch;
namespace nn = tinytorch::nn;

namespace {

constexpr int64_t kBatch = 64;
constexpr int64_t kBatchesOfData = 8;  // the random images cycle through 8 distinct batches
constexpr double kLr = 0.01;
constexpr double kMomentum = 0.9;
const std::vector<int64_t> kImage = {3, 32, 32};

struct Options {
  int steps = 10;
  int repeats = 5;
  int warmup = 3;
  int threads = 1;
  uint64_t seed = 42;
  bool tinytorch = true;
  bool libtorch = true;
  bool fast_matmul = true;   // module 11's GEMM when the build has it
  bool conv_by_image = true;  // with the GEMM: module 11's image-by-image convolution, else im2col + matmul
  bool buffer_cache = true;  // module 01's buffer cache; off: every buffer from malloc
  int profile_steps = 0;     // > 0: profile this many tinytorch steps and stop
};

const char* const kUsage =
    "usage: cnn_bench [--steps N] [--repeats R] [--warmup W] [--threads T] [--seed S] [--only tinytorch|libtorch] "
    "[--matmul fast|module01]\n"
    "                 [--conv image|im2col] [--buffer-cache on|off] [--profile STEPS]\n"
    "  --steps N     training steps (batches of 64) per timed repetition (default 10)\n"
    "  --repeats R   timed repetitions per side (default 5)\n"
    "  --warmup W    untimed steps per side first (default 3)\n"
    "  --threads T   threads of each side (default 1): libtorch's intra-op and inter-op threads, and\n"
    "                module 11's thread pool (module 01's matmul has one thread)\n"
    "  --seed S      seed of the weights, images and labels (default 42)\n"
    "  --only SIDE   run tinytorch or libtorch alone\n"
    "  --matmul M    tinytorch's products: fast (module 11's GEMM, the default when the package has it)\n"
    "                or module01 (the library before module 11)\n"
    "  --conv C      with the fast GEMM, tinytorch's convolutions: image (module 11's image-by-image\n"
    "                convolution, the default) or im2col (module 09's im2col + one matmul per layer)\n"
    "  --buffer-cache on|off  module 01's cache of freed buffers (default on); off gives every tensor a\n"
    "                buffer from malloc, to see what the cache saves\n"
    "  --profile N   profile N tinytorch steps (after N warm-up steps) with module 10 and print the per-op table\n";

[[noreturn]] void usage(const std::string& problem, int code) {
  std::fprintf(code == 0 ? stdout : stderr, "cnn_bench: %s\n%s", problem.c_str(), kUsage);
  std::exit(code);
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage(std::string(arg) + " needs a value", 2);
      return argv[++i];
    };
    auto count = [&](const std::string& text, int least) {
      char* end = nullptr;
      const long n = std::strtol(text.c_str(), &end, 10);
      if (end == text.c_str() || *end != '\0' || n < least || n > 1000000) {
        usage(std::string(arg) + " must be an integer of at least " + std::to_string(least) + ", got '" + text + "'",
              2);
      }
      return static_cast<int>(n);
    };
    if (arg == "--steps") {
      o.steps = count(value(), 1);
    } else if (arg == "--repeats") {
      o.repeats = count(value(), 1);
    } else if (arg == "--warmup") {
      o.warmup = count(value(), 0);
    } else if (arg == "--threads") {
      o.threads = count(value(), 1);
    } else if (arg == "--profile") {
      o.profile_steps = count(value(), 1);
    } else if (arg == "--seed") {
      o.seed = std::strtoull(value().c_str(), nullptr, 10);
    } else if (arg == "--only") {
      const std::string which = value();
      if (which != "tinytorch" && which != "libtorch") {
        usage("--only takes tinytorch or libtorch, got '" + which + "'", 2);
      }
      o.tinytorch = which == "tinytorch";
      o.libtorch = which == "libtorch";
    } else if (arg == "--matmul") {
      const std::string which = value();
      if (which != "fast" && which != "module01") usage("--matmul takes fast or module01, got '" + which + "'", 2);
      o.fast_matmul = which == "fast";
    } else if (arg == "--conv") {
      const std::string which = value();
      if (which != "image" && which != "im2col") usage("--conv takes image or im2col, got '" + which + "'", 2);
      o.conv_by_image = which == "image";
    } else if (arg == "--buffer-cache") {
      const std::string which = value();
      if (which != "on" && which != "off") usage("--buffer-cache takes on or off, got '" + which + "'", 2);
      o.buffer_cache = which == "on";
    } else if (arg == "--help" || arg == "-h") {
      usage("training throughput of the reference CNN, tinytorch against libtorch", 0);
    } else {
      usage("unknown argument '" + std::string(arg) + "'", 2);
    }
  }
  return o;
}

// The seeded random training data both sides train on.
struct TrainingData {
  tt::Tensor images;  // [n, 3, 32, 32], standard normal
  tt::Tensor labels;  // [n] class indices
};

TrainingData random_training_data(uint64_t seed) {
  const int64_t n = kBatch * kBatchesOfData;
  std::mt19937 generator(static_cast<std::mt19937::result_type>(seed));
  std::vector<float> labels(static_cast<std::size_t>(n));
  for (float& label : labels) label = static_cast<float>(generator() % 10);
  return {tt::randn({n, kImage[0], kImage[1], kImage[2]}, seed), tt::Tensor(labels, {n})};
}

// tinytorch's side: the model, its optimizer, and the data cut into batches once.
class TinytorchSide {
 public:
  TinytorchSide(nn::Sequential& model, const TrainingData& data)
      : model_(model), optimizer_(model.parameters(), tt::optim::SGDOptions(kLr).momentum(kMomentum)) {
    const std::vector<float> images = data.images.to_vector(), labels = data.labels.to_vector();
    const tt::Shape shape = {kBatch, kImage[0], kImage[1], kImage[2]};
    const int64_t size = kBatch * kImage[0] * kImage[1] * kImage[2];
    for (int64_t b = 0; b < kBatchesOfData; ++b) {
      images_.emplace_back(std::vector<float>(images.begin() + b * size, images.begin() + (b + 1) * size), shape);
      labels_.emplace_back(std::vector<float>(labels.begin() + b * kBatch, labels.begin() + (b + 1) * kBatch),
                           tt::Shape{kBatch});
    }
  }

  // `steps` training steps on the next batches, timed, as the peer's train_steps.
  bench::TrainingRun train_steps(int steps) {
    model_.train();
    const auto start = std::chrono::steady_clock::now();
    tt::Tensor loss;
    for (int step = 0; step < steps; ++step) {
      const std::size_t b = next_++ % images_.size();
      optimizer_.zero_grad();
      loss = nn::functional::cross_entropy(model_(images_[b]), labels_[b]);
      loss.backward();
      optimizer_.step();
    }
    bench::TrainingRun run;
    run.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    run.last_loss = loss.defined() ? loss.item() : 0.0;
    return run;
  }

 private:
  nn::Sequential& model_;
  tt::optim::SGD optimizer_;
  std::vector<tt::Tensor> images_, labels_;
  std::size_t next_ = 0;
};

// One side's timed repetitions.
struct Measurement {
  tito::bench::Runs seconds;  // per repetition
  double last_loss = 0.0;
};

double images_per_second(const Options& o, double seconds) { return o.steps * kBatch / seconds; }

void print_row(const std::string& who, const Options& o, const Measurement& m, double flops) {
  const double median = images_per_second(o, m.seconds.median());
  std::printf("%-16s %8.1f images/s [%.1f-%.1f over %zu repetition%s]   %6.2f GFLOP/s   loss after step %d %.4f\n",
              who.c_str(), median, images_per_second(o, m.seconds.worst()), images_per_second(o, m.seconds.best()),
              m.seconds.size(), m.seconds.size() == 1 ? "" : "s", median * flops / 1e9, o.warmup + o.steps * o.repeats,
              m.last_loss);
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = parse(argc, argv);
  try {
    const bool with_peer = o.libtorch && bench::torch_available();
    if (!o.tinytorch && !with_peer) {
      std::printf(
          "cnn_bench: libtorch is not in this build (apt-get install libtorch-dev and reconfigure): nothing "
          "to measure\n");
      return 1;
    }
    if (!o.buffer_cache) tt::memory::set_buffer_cache_limit(0);
    nn::Sequential model = bench::reference_cnn(o.seed);
    const bench::DescribedNetwork network = bench::describe(model);
    const TrainingData data = random_training_data(o.seed + 100);
    if (o.profile_steps > 0) {
      std::printf("the reference CNN's training step, tinytorch: %s\n",
                  bench::use_matmul(o.fast_matmul, o.threads, o.conv_by_image).c_str());
      TinytorchSide side(model, data);
      return bench::profile_steps(o.profile_steps, [&] { side.train_steps(1); });
    }
    const double flops = bench::training_flops_per_image(network.layers, kImage);

    std::printf(
        "reference CNN: conv 3->32 k3 p1, relu, maxpool 2, conv 32->64 k3 p1, relu, maxpool 2, flatten,\n"
        "               linear 4096->128, relu, linear 128->10 (%lld parameters)\n",
        static_cast<long long>(nn::parameter_count(model)));
    std::printf(
        "training: batch %lld, SGD lr %g momentum %g, cross-entropy; %lld random 32x32x3 images with random "
        "labels (seed %llu)%s\n",
        static_cast<long long>(kBatch), kLr, kMomentum, static_cast<long long>(kBatch * kBatchesOfData),
        static_cast<unsigned long long>(o.seed), o.tinytorch && with_peer ? ", the same weights on both sides" : "");
    const bool tinytorch_threads = bench::has_fast_matmul() && o.fast_matmul;  // else one thread
    const std::string matmul = bench::use_matmul(o.fast_matmul, o.threads, o.conv_by_image);
    std::printf("threads:");
    if (with_peer) std::printf(" libtorch %d (intra-op and inter-op);", o.threads);
    if (o.tinytorch) std::printf(" tinytorch: %s", matmul.c_str());
    std::printf("%s\n",
                o.tinytorch && with_peer && o.threads != 1 && !tinytorch_threads ? ": NOT the same thread count" : "");
    if (o.tinytorch) std::printf("tinytorch's buffer cache (module 01): %s\n", o.buffer_cache ? "on" : "off");
    std::printf(
        "FLOPs of a training step per image: %.1f M (conv and linear multiply-adds x2: forward, weight "
        "grads, input grads but the image's)\n",
        flops / 1e6);
    std::printf("%d warm-up steps per side, then %d %s of %d steps%s\n\n", o.warmup, o.repeats,
                o.repeats == 1 ? "repetition" : "repetitions", o.steps,
                o.tinytorch && with_peer ? ", the sides alternating" : "");
    std::fflush(stdout);
    std::optional<TinytorchSide> ours;
    std::optional<bench::PeerNetwork> peer;
    if (o.tinytorch) ours.emplace(model, data);
    if (with_peer) {
      peer.emplace(network.layers, o.threads);
      peer->prepare_training(data.images.to_vector(), data.images.shape(), data.labels.to_vector(), kLr, kMomentum);
    }
    if (ours) ours->train_steps(o.warmup);
    if (peer) peer->train_steps(o.warmup, kBatch);

    Measurement tinytorch_runs, libtorch_runs;
    for (int r = 0; r < o.repeats; ++r) {
      auto run_ours = [&] {
        const bench::TrainingRun run = ours->train_steps(o.steps);
        tinytorch_runs.seconds.add(run.seconds);
        tinytorch_runs.last_loss = run.last_loss;
      };
      auto run_peer = [&] {
        const bench::TrainingRun run = peer->train_steps(o.steps, kBatch);
        libtorch_runs.seconds.add(run.seconds);
        libtorch_runs.last_loss = run.last_loss;
      };
      const bool peer_first = r % 2 == 1;
      if (peer && peer_first) run_peer();
      if (ours) run_ours();
      if (peer && !peer_first) run_peer();
      std::printf("  repetition %d%s:", r + 1, ours && peer && peer_first ? " (libtorch first)" : "");
      if (ours) std::printf("  tinytorch %7.1f images/s", images_per_second(o, tinytorch_runs.seconds.last()));
      if (peer) std::printf("  libtorch %7.1f images/s", images_per_second(o, libtorch_runs.seconds.last()));
      std::printf("\n");
      std::fflush(stdout);
    }

    std::printf("\n");
    if (ours) print_row("tinytorch", o, tinytorch_runs, flops);
    if (peer) print_row(bench::torch_version(), o, libtorch_runs, flops);
    if (o.libtorch && !with_peer) {
      std::printf("libtorch: not in this build (apt-get install libtorch-dev and reconfigure to compare)\n");
    }
    if (ours && peer) {
      const double ratio =
          images_per_second(o, tinytorch_runs.seconds.median()) / images_per_second(o, libtorch_runs.seconds.median());
      std::printf("ratio tinytorch/libtorch: %.3fx images/s (%d thread%s%s)\n", ratio, o.threads,
                  o.threads == 1 ? "" : "s",
                  o.threads == 1 || tinytorch_threads ? "" : " for libtorch, 1 for tinytorch");
    }
    if (ours) {
      const tt::memory::BufferCacheStats cache = tt::memory::buffer_cache_stats();
      std::printf("tinytorch's buffer cache: %zu hits, %zu misses, %.1f MB held at the end\n", cache.hits, cache.misses,
                  static_cast<double>(cache.cached_bytes) / 1e6);
    }
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "cnn_bench: %s\n", e.what());
    return 1;
  }
}
