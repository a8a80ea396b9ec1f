// The milestone harness: what every milestone program shares. It is harness
// code, not the student's library: it reads the command line tito passes,
// finds the data cache, records the losses (and gradient norms) of training,
// judges a --quick run, and writes OUT/results.json for tito to read.
//
// A milestone program:
//
//   int main(int argc, char** argv) {
//     milestone::Run run(argc, argv, {.epochs = 10});
//     for (int epoch = 0; epoch < run.epochs(); ++epoch) {
//       for (std::size_t b = 0; b < run.batches(loader.size()); ++b) {
//         ... run.loss(loss.item()); run.grad_norm(norm); ...
//       }
//       run.end_epoch();
//     }
//     run.metric("test_accuracy", accuracy);
//     return run.finish(accuracy >= 0.88);
//   }
//
// The protocol (milestones/README.md): arguments --quick, --epochs N,
// --out DIR, --seed S, --help; TITO_DATA_DIR names the data cache; exit 0
// when the target was met (or the quick validation passed), 1 when it was
// missed (or the quick validation failed), 2 for a bad command line,
// anything else is a crash.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <iosfwd>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace milestone {

// The milestone's facts, from its milestone.json.
struct Info {
  std::string name;          // "mlp"
  std::string folder;        // "03_mlp"
  std::string title;         // "Multi-layer perceptron (1986)"
  std::string target;        // "≥ 88% test accuracy on Fashion-MNIST"
  std::string default_out;   // where results go without --out: <build>/milestones/<folder>
  std::string default_data;  // the data cache without TITO_DATA_DIR: <course>/data/cache
};

// This program's Info: tito sync generates it (package/generated/milestones/NN_name.cpp).
const Info& info();

// How the program runs when the command line does not say.
struct Defaults {
  int epochs = 10;               // epochs of a full run
  int quick_epochs = 2;          // epochs of a --quick run
  int quick_batches = 20;        // at most this many batches per epoch in a --quick run
  std::uint64_t seed = 0;        // without --seed
  double quick_min_drop = 0.01;  // a --quick run passes when the loss fell by at least this fraction
};

// The command line, parsed.
struct Options {
  bool quick = false;
  bool help = false;
  std::optional<int> epochs;
  std::optional<std::uint64_t> seed;
  std::filesystem::path out;  // empty: Info::default_out
};

// A command line the harness does not accept; what() says what was wrong.
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Parses the arguments after the program's name. Throws UsageError.
Options parse_arguments(const std::vector<std::string>& args);

// What --help prints.
std::string usage(const Info& info, const Defaults& defaults);

// One batch of training, as recorded.
struct Batch {
  int epoch = 1;  // 1-based, within the part
  int index = 1;  // 1-based, within the epoch
  double loss = 0;
  std::optional<double> grad_norm;  // the largest norm reported for the batch
  std::string part;                 // Run::begin_part's name; empty in a milestone of one part
};

// Where the first loss or gradient norm that is NaN or infinite is, e.g.
// "the loss of epoch 2, batch 5 is nan" ("of cifar10 epoch 2, ..." in a
// part); nullopt when all are finite.
std::optional<std::string> first_non_finite(const std::vector<Batch>& batches);

// The verdict of a --quick run, from its batches.
struct QuickVerdict {
  bool passed = false;
  double start = 0;  // mean loss of the first quarter of the batches
  double end = 0;    // mean loss of the last quarter
  std::string reason;
};

// Passes when every loss and gradient norm is finite and the mean loss of
// the last quarter of the batches (at least one) is below the mean of the
// first quarter by at least `min_drop` of it. Quarters average out the noise
// of single batches; comparing the start of epoch 1 with the end of the last
// epoch asks for learning, not luck.
QuickVerdict judge_quick(const std::vector<Batch>& batches, double min_drop);

// A milestone run: the command line, the record of training, the results.
class Run {
 public:
  // Reads the command line. A bad one prints the usage and exits 2; --help
  // prints it and exits 0. Creates the output folder.
  Run(int argc, char** argv, Defaults defaults = {})
      : Run(info(), command_line(info(), argc, argv, defaults), defaults) {}
  // The same from parsed options, writing progress to `log` (for tests).
  Run(Info info, Options options, Defaults defaults, std::ostream& log);
  Run(Info info, Options options, Defaults defaults);

  bool quick() const { return options_.quick; }
  // The epochs to run: --epochs, else Defaults::epochs (quick_epochs with --quick);
  // in a part, the part's (begin_part).
  int epochs() const { return epochs_; }
  // --seed, else Defaults::seed.
  std::uint64_t seed() const { return seed_; }
  // The folder for results and artifacts (it exists).
  const std::filesystem::path& out() const { return out_; }
  // The data cache: TITO_DATA_DIR, else <course>/data/cache.
  std::filesystem::path data_dir() const;
  const Info& milestone() const { return info_; }

  // The batches to run this epoch out of `available`: all of them, or in a
  // --quick run at most Defaults::quick_batches.
  std::size_t batches(std::size_t available);

  // Records the loss of the next batch.
  void loss(double value);
  // Records a gradient norm of the current batch (after its loss): call it
  // once with the total norm, or once per parameter; each must be finite.
  void grad_norm(double value);
  // Closes the epoch and prints a line about it.
  void end_epoch();

  // Starts a named part, for a milestone that trains more than one network
  // (the CNN: on Fashion-MNIST, then on CIFAR-10). Call it before the part's
  // first batch, and for every part if for one. Epochs and batches are
  // numbered within the part, the progress and epoch lines name it,
  // losses.csv gets a "part" column, and a --quick run passes only when the
  // loss of every part went down (one part that learns must not hide one that
  // does not). Returns the part's epochs: --epochs, else `full_epochs` (with
  // --quick, Defaults::quick_epochs). Throws std::logic_error after batches
  // recorded outside a part, or for a name used before or empty.
  int begin_part(const std::string& name, int full_epochs);
  // The current part's name; empty outside parts.
  const std::string& part() const { return part_; }

  // A figure of the run for results.json ("test_accuracy", 0.8812).
  void metric(const std::string& name, double value);
  // A file the program wrote into out(), listed in results.json.
  void artifact(const std::string& file);
  // A remark for the reader ("accuracy not measured: generated data").
  void note(const std::string& text);

  // Judges the run, writes out()/results.json (atomically) and losses.csv,
  // prints the verdict, and returns the exit code: 0 met, 1 missed. In a
  // --quick run the verdict is the quick validation and `target_met` is not
  // used. A full run with a non-finite loss or gradient misses its target.
  int finish(bool target_met);

  const std::vector<Batch>& recorded() const { return batches_; }
  int epochs_done() const { return epochs_done_; }

 private:
  static Options command_line(const Info& info, int argc, char** argv, const Defaults& defaults);
  void draw_progress();
  void clear_progress();

  Info info_;
  Options options_;
  Defaults defaults_;
  std::ostream& log_;
  int epochs_ = 0;
  std::uint64_t seed_ = 0;
  std::filesystem::path out_;
  std::vector<Batch> batches_;
  int epoch_ = 1;  // the epoch being recorded, within the part
  std::string part_;
  std::vector<std::string> parts_;
  int epochs_done_ = 0;
  std::size_t planned_ = 0;  // batches() of this epoch, for the progress line
  std::vector<std::pair<std::string, double>> metrics_;
  std::vector<std::string> artifacts_;
  std::vector<std::string> notes_;
  std::chrono::steady_clock::time_point started_;
  std::chrono::steady_clock::time_point epoch_started_;
  std::vector<double> epoch_seconds_;
  bool redraw_ = false;  // a smart terminal: the progress line is redrawn
  bool progress_shown_ = false;
  std::chrono::steady_clock::time_point last_draw_{};
  bool finished_ = false;
};

// The text of results.json (for tests): see milestones/README.md.
struct Results {
  std::string milestone;
  bool quick = false;
  bool met = false;
  std::string target;
  std::string verdict;
  std::vector<std::pair<std::string, double>> metrics;
  int epochs = 0;
  int batches = 0;
  double seconds = 0;
  std::uint64_t seed = 0;
  int losses = 0;
  int grad_norms = 0;
  bool finite = true;
  std::optional<double> loss_start, loss_end;
  std::vector<std::string> artifacts;
  std::vector<std::string> notes;
};
std::string to_json(const Results& results);

}  // namespace milestone
