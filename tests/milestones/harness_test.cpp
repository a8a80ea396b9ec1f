// The milestone harness (milestones/common): the command line, the quick
// verdict, the finite checks and results.json.
#include "milestone.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <cmath>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <sstream>

#include "common/scoped_env.hpp"
#include "util/fs.hpp"

// What tito sync would generate for this test program.
const milestone::Info& milestone::info() {
  static const Info facts{"fixture",        "01_fixture",       "Fixture (2024)",
                          "accuracy ≥ 90%", "/nonexistent/out", "/nonexistent/cache"};
  return facts;
}

namespace milestone {
namespace {

using ::testing::ContainsRegex;
using ::testing::ElementsAre;
using ::testing::ExitedWithCode;
using ::testing::HasSubstr;
using json = nlohmann::json;
namespace fs = std::filesystem;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

std::vector<Batch> batches_of(const std::vector<double>& losses, int per_epoch = 1000) {
  std::vector<Batch> out;
  for (std::size_t i = 0; i < losses.size(); ++i) {
    out.push_back(Batch{static_cast<int>(i) / per_epoch + 1, static_cast<int>(i) % per_epoch + 1, losses[i], 0.5});
  }
  return out;
}

std::string read(const fs::path& p) { return tito::read_file(p); }

TEST(ParseArguments, ReadsEveryOption) {
  Options o = parse_arguments({"--quick", "--epochs", "3", "--out", "results/here", "--seed", "7"});
  EXPECT_TRUE(o.quick);
  EXPECT_FALSE(o.help);
  EXPECT_EQ(o.epochs, 3);
  EXPECT_EQ(o.seed, 7u);
  EXPECT_EQ(o.out, "results/here");
  o = parse_arguments({"--epochs=12", "--seed=0", "--out=x"});
  EXPECT_FALSE(o.quick);
  EXPECT_EQ(o.epochs, 12);
  EXPECT_EQ(o.seed, 0u);
  EXPECT_EQ(o.out, "x");
  o = parse_arguments({});
  EXPECT_FALSE(o.epochs.has_value());
  EXPECT_FALSE(o.seed.has_value());
  EXPECT_TRUE(o.out.empty());
  EXPECT_TRUE(parse_arguments({"--help"}).help);
  EXPECT_TRUE(parse_arguments({"-h"}).help);
}

std::string usage_error(const std::vector<std::string>& args) {
  try {
    parse_arguments(args);
  } catch (const UsageError& e) {
    return e.what();
  }
  return "no error";
}

TEST(ParseArguments, BadArgumentsAreUsageErrorsSayingWhatIsWrong) {
  EXPECT_EQ(usage_error({"--fast"}), "unknown option '--fast'");
  EXPECT_EQ(usage_error({"--quick=yes"}), "unknown option '--quick=yes'");
  EXPECT_EQ(usage_error({"mlp"}), "unexpected argument 'mlp' (a milestone takes options only)");
  EXPECT_EQ(usage_error({"--epochs"}), "--epochs needs a value");
  EXPECT_EQ(usage_error({"--epochs", "0"}), "--epochs needs a whole number of epochs from 1 to 100000, not '0'");
  EXPECT_EQ(usage_error({"--epochs", "2.5"}), "--epochs needs a whole number of epochs from 1 to 100000, not '2.5'");
  EXPECT_EQ(usage_error({"--seed", "-1"}), "--seed needs a whole number (0 or more), not '-1'");
  EXPECT_EQ(usage_error({"--out="}), "--out needs a folder");
}

TEST(CommandLine, ABadOneExitsTwoWithTheUsageAndHelpExitsZero) {
  char name[] = "milestone_fixture";
  char fast[] = "--fast";
  char help[] = "--help";
  char* bad[] = {name, fast, nullptr};
  char* asked[] = {name, help, nullptr};
  EXPECT_EXIT(milestone::Run(2, bad), ExitedWithCode(2),
              "milestone_fixture: unknown option '--fast'\n\nmilestone 01_fixture");
  EXPECT_EXIT(milestone::Run(2, asked), ExitedWithCode(0), "");
  std::string text = usage(info(), {});
  EXPECT_THAT(text, HasSubstr("usage: milestone_fixture [--quick] [--epochs N] [--out DIR] [--seed S]\n"));
  EXPECT_THAT(text, HasSubstr("  --epochs N    epochs to train (default 10)\n"));
  EXPECT_THAT(text, HasSubstr("The data cache is TITO_DATA_DIR (default /nonexistent/cache).\n"));
}

TEST(JudgeQuick, PassesWhenTheLastQuartersMeanLossIsBelowTheFirsts) {
  QuickVerdict v = judge_quick(batches_of({2.0, 1.8, 1.2, 1.1, 1.0, 0.9, 0.6, 0.4}, 4), 0.01);
  EXPECT_TRUE(v.passed);
  EXPECT_NEAR(v.start, 1.9, 1e-12);
  EXPECT_NEAR(v.end, 0.5, 1e-12);
  EXPECT_EQ(v.reason, "the loss went down: 1.9 → 0.5 (mean of the first and last 2 of 8 batches)");
}

TEST(JudgeQuick, FailsWhenTheLossStaysRisesOrFallsTooLittle) {
  QuickVerdict flat = judge_quick(batches_of({1, 1, 1, 1}), 0.01);
  EXPECT_FALSE(flat.passed);
  EXPECT_EQ(flat.reason, "the loss did not go down: 1 → 1 (mean of the first and last 1 of 4 batches)");
  QuickVerdict rising = judge_quick(batches_of({0.5, 0.6, 0.7, 0.8}), 0.01);
  EXPECT_FALSE(rising.passed);
  EXPECT_EQ(rising.reason, "the loss did not go down: 0.5 → 0.8 (mean of the first and last 1 of 4 batches)");
  QuickVerdict little = judge_quick(batches_of({1.0, 1.0, 1.0, 0.995}), 0.01);
  EXPECT_FALSE(little.passed);
  EXPECT_EQ(little.reason,
            "the loss fell too little: 1 → 0.995 (mean of the first and last 1 of 4 batches); a quick run needs a fall "
            "of 1%");
}

TEST(JudgeQuick, ComparesQuartersNotSingleBatches) {
  // The last batch is below the first, but the loss did not fall: one lucky batch is not learning.
  QuickVerdict v = judge_quick(batches_of({1, 5, 5, 5, 5, 5, 5, 0.99}), 0.01);
  EXPECT_FALSE(v.passed);
  EXPECT_NEAR(v.start, 3, 1e-12);
  EXPECT_NEAR(v.end, 2.995, 1e-12);
}

TEST(JudgeQuick, ANonFiniteLossOrGradientOrTooFewLossesFail) {
  std::vector<Batch> b = batches_of({2, 1.5, 1, 0.5, 0.4, 0.3}, 3);
  b[4].loss = kNaN;
  EXPECT_EQ(judge_quick(b, 0.01).reason, "the loss of epoch 2, batch 2 is nan");
  b[4].loss = 0.4;
  b[2].grad_norm = kInf;
  EXPECT_EQ(judge_quick(b, 0.01).reason, "a gradient norm of epoch 1, batch 3 is inf");
  b[2].grad_norm = -kInf;
  EXPECT_FALSE(judge_quick(b, 0.01).passed);
  b[2].grad_norm.reset();
  EXPECT_TRUE(judge_quick(b, 0.01).passed);
  EXPECT_EQ(judge_quick(batches_of({1}), 0.01).reason,
            "only 1 loss recorded; a quick run needs the loss of every batch (Run::loss) to see it go down");
  EXPECT_FALSE(judge_quick({}, 0.01).passed);
}

TEST(FirstNonFinite, NamesTheFirstBadValueOrNothing) {
  EXPECT_EQ(first_non_finite(batches_of({1, 2, 3})), std::nullopt);
  std::vector<Batch> b = batches_of({1, kInf, kNaN}, 2);
  EXPECT_EQ(first_non_finite(b), "the loss of epoch 1, batch 2 is inf");
}

class RunTest : public ::testing::Test {
 protected:
  Info info_in_temp() const {
    Info i = info();
    i.default_out = (dir.path() / "out").string();
    i.default_data = (dir.path() / "cache").string();
    return i;
  }
  Options options(bool quick) const {
    Options o;
    o.quick = quick;
    return o;
  }
  fs::path out() const { return dir.path() / "out"; }
  json results() const { return json::parse(read(out() / "results.json")); }

  tito::TempDir dir{"tito-harness"};
  std::ostringstream log;
};

TEST_F(RunTest, EpochsSeedAndOutComeFromTheOptionsElseTheDefaults) {
  Defaults d;
  d.epochs = 7;
  d.seed = 42;
  milestone::Run full(info_in_temp(), options(false), d, log);
  EXPECT_FALSE(full.quick());
  EXPECT_EQ(full.epochs(), 7);
  EXPECT_EQ(full.seed(), 42u);
  EXPECT_EQ(full.out(), out());
  EXPECT_TRUE(fs::is_directory(out()));
  milestone::Run quick(info_in_temp(), options(true), d, log);
  EXPECT_EQ(quick.epochs(), 2);
  Options o = options(true);
  o.epochs = 3;
  o.seed = 5;
  o.out = dir.path() / "elsewhere" / "deeper";
  milestone::Run given(info_in_temp(), o, d, log);
  EXPECT_EQ(given.epochs(), 3);
  EXPECT_EQ(given.seed(), 5u);
  EXPECT_EQ(given.out(), dir.path() / "elsewhere" / "deeper");
  EXPECT_TRUE(fs::is_directory(given.out()));
}

TEST_F(RunTest, AQuickRunCapsTheBatchesOfAnEpoch) {
  Defaults d;
  d.quick_batches = 8;
  milestone::Run quick(info_in_temp(), options(true), d, log);
  EXPECT_EQ(quick.batches(469), 8u);
  EXPECT_EQ(quick.batches(3), 3u);
  milestone::Run full(info_in_temp(), options(false), d, log);
  EXPECT_EQ(full.batches(469), 469u);
}

TEST_F(RunTest, DataDirIsTitoDataDirElseTheCoursesCache) {
  milestone::Run run(info_in_temp(), options(false), {}, log);
  {
    tito::testing::ScopedEnv unset("TITO_DATA_DIR", nullptr);
    EXPECT_EQ(run.data_dir(), dir.path() / "cache");
  }
  tito::testing::ScopedEnv set("TITO_DATA_DIR", "/somewhere/cache");
  EXPECT_EQ(run.data_dir(), "/somewhere/cache");
}

TEST_F(RunTest, AFullRunWritesResultsJsonAndLossesCsvAndReturnsTheExitCode) {
  milestone::Run run(info_in_temp(), options(false), {}, log);
  for (int epoch = 0; epoch < 2; ++epoch) {
    for (int b = 0; b < 2; ++b) {
      run.loss(1.0 / (1 + 2 * epoch + b));
      run.grad_norm(0.25);
      run.grad_norm(0.75);  // the largest of a batch is kept
    }
    run.end_epoch();
  }
  std::ofstream(run.out() / "log.csv") << "epoch\n";
  run.artifact("log.csv");
  run.artifact("log.csv");
  run.metric("test_accuracy", 0.8);
  run.metric("test_accuracy", 0.9);  // the last value counts
  run.note("accuracy not measured: generated data");
  EXPECT_EQ(run.finish(true), 0);

  json r = results();
  EXPECT_EQ(r["format"], "tinytorch-milestone-results");
  EXPECT_EQ(r["version"], 1);
  EXPECT_EQ(r["milestone"], "fixture");
  EXPECT_EQ(r["mode"], "full");
  EXPECT_EQ(r["met"], true);
  EXPECT_EQ(r["target"], "accuracy ≥ 90%");
  EXPECT_EQ(r["verdict"], "target met");
  EXPECT_EQ(r["metrics"].size(), 2u);
  EXPECT_EQ(r["metrics"]["test_accuracy"], 0.9);
  EXPECT_TRUE(r["metrics"]["seconds_per_epoch"].is_number());
  EXPECT_EQ(r["epochs"], 2);
  EXPECT_EQ(r["batches"], 4);
  EXPECT_TRUE(r["seconds"].is_number());
  EXPECT_EQ(r["seed"], 0);
  EXPECT_EQ(r["checks"], json::parse(R"({"losses": 4, "grad_norms": 4, "finite": true,
                                         "loss_start": null, "loss_end": null})"));
  EXPECT_EQ(r["artifacts"], json::parse(R"(["log.csv", "losses.csv"])"));
  EXPECT_EQ(r["notes"], json::parse(R"(["accuracy not measured: generated data"])"));
  EXPECT_EQ(read(out() / "losses.csv"),
            "epoch,batch,loss,grad_norm\n"
            "1,1,1,0.75\n"
            "1,2,0.5,0.75\n"
            "2,1,0.3333333333333333,0.75\n"
            "2,2,0.25,0.75\n");
  // Written under a temporary name, then renamed: nothing else is left.
  std::vector<std::string> files;
  for (const auto& e : fs::directory_iterator(out())) files.push_back(e.path().filename().string());
  std::sort(files.begin(), files.end());
  EXPECT_THAT(files, ElementsAre("log.csv", "losses.csv", "results.json"));
  EXPECT_THAT(log.str(), ContainsRegex("^milestone 01_fixture \\(full run: 10 epochs, seed 0\\)\n"
                                       "target: accuracy ≥ 90%\n"
                                       "epoch 1/10: mean loss 0.75 over 2 batches, [0-9.]+ s\n"
                                       "epoch 2/10: mean loss 0.2917 over 2 batches, [0-9.]+ s\n"
                                       "target met\n"
                                       "results: .*/out/results.json\n$"));
}

TEST_F(RunTest, AMissedTargetExitsOne) {
  milestone::Run run(info_in_temp(), options(false), {}, log);
  run.loss(1);
  run.end_epoch();
  EXPECT_EQ(run.finish(false), 1);
  EXPECT_EQ(results()["met"], false);
  EXPECT_EQ(results()["verdict"], "target missed");
}

TEST_F(RunTest, AFullRunWithANonFiniteLossMissesWhateverTheProgramSays) {
  milestone::Run run(info_in_temp(), options(false), {}, log);
  run.loss(1);
  run.loss(kNaN);
  run.end_epoch();
  run.metric("test_accuracy", kNaN);
  EXPECT_EQ(run.finish(true), 1);
  json r = results();
  EXPECT_EQ(r["met"], false);
  EXPECT_EQ(r["verdict"], "target missed: the loss of epoch 1, batch 2 is nan");
  EXPECT_TRUE(r["metrics"]["test_accuracy"].is_null());
  EXPECT_EQ(r["checks"]["finite"], false);
}

TEST_F(RunTest, AQuickRunIsJudgedByItsLossNotByTheTarget) {
  milestone::Run run(info_in_temp(), options(true), {}, log);
  for (int epoch = 0; epoch < run.epochs(); ++epoch) {
    for (std::size_t b = 0; b < run.batches(100); ++b) {
      run.loss(2.0 - 0.04 * static_cast<double>(epoch * 20 + b));
      run.grad_norm(1);
    }
    run.end_epoch();
  }
  EXPECT_EQ(run.finish(false), 0);
  json r = results();
  EXPECT_EQ(r["mode"], "quick");
  EXPECT_EQ(r["met"], true);
  EXPECT_EQ(r["epochs"], 2);
  EXPECT_EQ(r["batches"], 40);
  EXPECT_EQ(r["verdict"],
            "quick validation passed: the loss went down: 1.82 → 0.62 (mean of the first and last 10 of 40 batches)");
  EXPECT_NEAR(r["checks"]["loss_start"].get<double>(), 1.82, 1e-12);
  EXPECT_NEAR(r["checks"]["loss_end"].get<double>(), 0.62, 1e-12);
  EXPECT_EQ(r["notes"], json::array());
}

TEST_F(RunTest, AQuickRunWithAnInfiniteGradientFailsAndSaysWhere) {
  milestone::Run run(info_in_temp(), options(true), {}, log);
  for (int b = 0; b < 6; ++b) {
    run.loss(1.0 / (b + 1));
    run.grad_norm(b == 3 ? kInf : 1.0);
    run.grad_norm(2.0);  // a later finite norm does not hide it
  }
  run.end_epoch();
  EXPECT_EQ(run.finish(true), 1);
  EXPECT_EQ(results()["verdict"], "quick validation failed: a gradient norm of epoch 1, batch 4 is inf");
  EXPECT_EQ(results()["checks"]["finite"], false);
  EXPECT_TRUE(results()["checks"]["loss_start"].is_null());
}

TEST_F(RunTest, AQuickRunWithoutGradientNormsSaysSo) {
  milestone::Run run(info_in_temp(), options(true), {}, log);
  for (int b = 0; b < 4; ++b) run.loss(4.0 - b);
  run.end_epoch();
  EXPECT_EQ(run.finish(true), 0);
  EXPECT_EQ(results()["notes"], json::parse(R"json(["no gradient norms were reported (Run::grad_norm)"])json"));
}

// Trains `part` for run.epochs() epochs of `batches` losses from `first`, falling by `step`.
void train_part(milestone::Run& run, double first, double step, int batches = 8) {
  double loss = first;
  for (int epoch = 0; epoch < run.epochs(); ++epoch) {
    for (int b = 0; b < batches; ++b) {
      run.loss(loss);
      run.grad_norm(1);
      loss -= step;
    }
    run.end_epoch();
  }
}

TEST_F(RunTest, PartsNumberTheirOwnEpochsAndBatchesAndLossesCsvNamesThem) {
  Defaults d;
  d.epochs = 10;
  milestone::Run run(info_in_temp(), options(false), d, log);
  EXPECT_EQ(run.begin_part("fashion-mnist", 2), 2);
  EXPECT_EQ(run.part(), "fashion-mnist");
  EXPECT_EQ(run.epochs(), 2);
  train_part(run, 2.0, 0.5, 2);
  EXPECT_EQ(run.begin_part("cifar10", 1), 1);
  run.loss(3.0);
  run.grad_norm(0.5);
  run.end_epoch();
  EXPECT_EQ(run.finish(true), 0);
  EXPECT_EQ(read(out() / "losses.csv"),
            "part,epoch,batch,loss,grad_norm\n"
            "fashion-mnist,1,1,2,1\n"
            "fashion-mnist,1,2,1.5,1\n"
            "fashion-mnist,2,1,1,1\n"
            "fashion-mnist,2,2,0.5,1\n"
            "cifar10,1,1,3,0.5\n");
  EXPECT_EQ(results()["epochs"], 3);
  EXPECT_EQ(results()["batches"], 5);
  EXPECT_THAT(log.str(), ContainsRegex("part fashion-mnist: 2 epochs\n"
                                       "fashion-mnist epoch 1/2: mean loss 1.75 over 2 batches, [0-9.]+ s\n"
                                       "fashion-mnist epoch 2/2: mean loss 0.75 over 2 batches, [0-9.]+ s\n"
                                       "part cifar10: 1 epoch\n"
                                       "cifar10 epoch 1/1: mean loss 3 over 1 batch, [0-9.]+ s\n"));
}

TEST_F(RunTest, EpochsOfAPartComeFromTheOptionsElseThePartElseQuickEpochs) {
  Options given = options(false);
  given.epochs = 4;
  milestone::Run told(info_in_temp(), given, {}, log);
  EXPECT_EQ(told.begin_part("a", 30), 4);
  milestone::Run quick(info_in_temp(), options(true), {}, log);
  EXPECT_EQ(quick.begin_part("a", 30), 2);
}

TEST_F(RunTest, AQuickRunOfPartsPassesOnlyWhenEveryPartsLossWentDown) {
  {
    milestone::Run run(info_in_temp(), options(true), {}, log);
    run.begin_part("fashion-mnist", 10);
    train_part(run, 2.3, 0.05);
    run.begin_part("cifar10", 30);
    train_part(run, 2.3, 0.02);
    EXPECT_EQ(run.finish(false), 0);
    json r = results();
    EXPECT_EQ(r["met"], true);
    EXPECT_THAT(r["verdict"].get<std::string>(),
                ContainsRegex("^quick validation passed: fashion-mnist: the loss went down: .*; "
                              "cifar10: the loss went down: "));
  }
  // The second part's loss stays where it started, well below the first part's start: the run
  // fails although the losses of the whole run went down.
  milestone::Run run(info_in_temp(), options(true), {}, log);
  run.begin_part("fashion-mnist", 10);
  train_part(run, 2.3, 0.05);
  run.begin_part("cifar10", 30);
  train_part(run, 1.0, 0.0);
  EXPECT_EQ(run.finish(true), 1);
  json r = results();
  EXPECT_EQ(r["met"], false);
  EXPECT_THAT(r["verdict"].get<std::string>(),
              ContainsRegex("^quick validation failed: fashion-mnist: the loss went down: .*; "
                            "cifar10: the loss did not go down: 1 → 1 "));
}

TEST_F(RunTest, ANonFiniteLossNamesItsPart) {
  milestone::Run run(info_in_temp(), options(false), {}, log);
  run.begin_part("fashion-mnist", 1);
  run.loss(1);
  run.end_epoch();
  run.begin_part("cifar10", 1);
  run.loss(1);
  run.loss(kNaN);
  run.end_epoch();
  EXPECT_EQ(run.finish(true), 1);
  EXPECT_EQ(results()["verdict"], "target missed: the loss of cifar10 epoch 1, batch 2 is nan");
}

TEST_F(RunTest, PartsMisusedAreLogicErrors) {
  milestone::Run run(info_in_temp(), options(false), {}, log);
  EXPECT_THROW(run.begin_part("", 1), std::logic_error);
  EXPECT_THROW(run.begin_part("a", 0), std::logic_error);
  run.begin_part("a", 1);
  EXPECT_THROW(run.begin_part("a", 1), std::logic_error);  // a name used before
  milestone::Run outside(info_in_temp(), options(false), {}, log);
  outside.loss(1);
  EXPECT_THROW(outside.begin_part("a", 1), std::logic_error);  // batches recorded before any part
}

TEST_F(RunTest, MisuseIsALogicError) {
  milestone::Run run(info_in_temp(), options(false), {}, log);
  EXPECT_THROW(run.grad_norm(1), std::logic_error);
  run.loss(1);
  run.end_epoch();
  EXPECT_THROW(run.grad_norm(1), std::logic_error);  // the epoch with that loss is closed
  run.finish(true);
  EXPECT_THROW(run.finish(true), std::logic_error);
}

TEST(ToJson, WritesTheDocumentedSchema) {
  Results r;
  r.milestone = "mlp";
  r.quick = true;
  r.met = false;
  r.target = "≥ 88% \"test\" accuracy";
  r.verdict = "quick validation failed: the loss did not go down";
  r.metrics = {{"test_accuracy", 0.125}, {"loss", kNaN}};
  r.epochs = 2;
  r.batches = 40;
  r.seconds = 1.5;
  r.seed = 3;
  r.losses = 40;
  r.grad_norms = 0;
  r.finite = true;
  r.loss_start = 2.5;
  r.loss_end = 2.75;
  r.artifacts = {"losses.csv"};
  r.notes = {"line\nbreak"};
  EXPECT_EQ(to_json(r),
            "{\n"
            "  \"format\": \"tinytorch-milestone-results\",\n"
            "  \"version\": 1,\n"
            "  \"milestone\": \"mlp\",\n"
            "  \"mode\": \"quick\",\n"
            "  \"met\": false,\n"
            "  \"target\": \"≥ 88% \\\"test\\\" accuracy\",\n"
            "  \"verdict\": \"quick validation failed: the loss did not go down\",\n"
            "  \"metrics\": {\"test_accuracy\": 0.125, \"loss\": null},\n"
            "  \"epochs\": 2,\n"
            "  \"batches\": 40,\n"
            "  \"seconds\": 1.5,\n"
            "  \"seed\": 3,\n"
            "  \"checks\": {\"losses\": 40, \"grad_norms\": 0, \"finite\": true, \"loss_start\": 2.5, \"loss_end\": "
            "2.75},\n"
            "  \"artifacts\": [\"losses.csv\"],\n"
            "  \"notes\": [\"line\\nbreak\"]\n"
            "}\n");
  EXPECT_NO_THROW(json::parse(to_json(r)));
}

}  // namespace
}  // namespace milestone
