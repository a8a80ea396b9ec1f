// `tito milestone list|run|status` and the milestones of `tito status`, on a
// shared copy of the fixture course with its fixture milestones
// (tests/fixtures/course/milestones: 01_fixture on module tiny, 02_data on
// module more and the dataset tinyset), and the release of milestones.
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "e2e/course_copy.hpp"
#include "util/fs.hpp"

extern char** environ;

namespace tito::e2e {
namespace {

using ::testing::ContainsRegex;
using ::testing::HasSubstr;
using ::testing::Not;
using json = nlohmann::json;

fs::path fixture_course() { return source_dir() / "tests" / "fixtures" / "course"; }

// Makes `to` hold exactly the files of `from`, rewriting only those that differ.
void mirror_tree(const fs::path& from, const fs::path& to) {
  std::set<fs::path> wanted;
  for (const fs::directory_entry& e : fs::recursive_directory_iterator(from)) {
    if (!e.is_regular_file()) continue;
    fs::path rel = e.path().lexically_relative(from);
    wanted.insert(rel);
    std::string content = read_file(e.path());
    if (read_file_if_exists(to / rel) != content) write_file_atomic(to / rel, content);
  }
  std::vector<fs::path> extra;
  for (const fs::directory_entry& e : fs::recursive_directory_iterator(to)) {
    if (e.is_regular_file() && !wanted.contains(e.path().lexically_relative(to))) extra.push_back(e.path());
  }
  for (const fs::path& p : extra) fs::remove(p);
}

// The milestone side of a course: the harness from the course's own
// milestones/common, the fixture milestones, the fixture dataset registry.
void add_milestones(const fs::path& root) {
  TempDir staged("tito-e2e-milestones");
  fs::copy(fixture_course() / "milestones", staged.path(), fs::copy_options::recursive);
  fs::copy(source_dir() / "milestones" / "common", staged.path() / "common", fs::copy_options::recursive);
  fs::create_directories(root / "milestones");
  mirror_tree(staged.path(), root / "milestones");
  std::string registry = read_file(fixture_course() / "data" / "datasets.json");
  if (read_file_if_exists(root / "data" / "datasets.json") != registry) {
    write_file_atomic(root / "data" / "datasets.json", registry);
  }
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

class MilestoneCommand : public ::testing::Test {
 protected:
  void SetUp() override {
    shared_ = std::make_unique<SharedCourse>("milestone-course", std::vector<ModuleSource>{{"01_tiny"}, {"02_more"}},
                                             add_milestones);
    ASSERT_EQ(shared_->prepared().exit_code, 0) << shared_->prepared().out << shared_->prepared().err;
    // Every test starts with no kept results and no outputs.
    fs::remove(root() / "build" / "tito" / "last-milestones.json");
    fs::remove(root() / "build" / "tito" / "last-test.json");
    fs::remove_all(root() / "build" / "milestones");
  }
  const fs::path& root() const { return shared_->root(); }
  // tito in the course, FIXTURE_MILESTONE=`mode` ("" for the default), the
  // data cache in `cache` (default: the course's).
  TitoRun run(const std::vector<std::string>& args, const std::string& mode = "", const fs::path& cache = {}) const {
    return tito(args, root(), {{"FIXTURE_MILESTONE", mode}, {"TITO_DATA_DIR", cache.string()}});
  }
  fs::path out(const std::string& folder) const { return root() / "build" / "milestones" / folder; }
  json kept() const { return json::parse(read(root() / "build" / "tito" / "last-milestones.json")); }

 private:
  std::unique_ptr<SharedCourse> shared_;
};

TEST_F(MilestoneCommand, ListShowsEachMilestoneLockedUntilItsModulesPass) {
  TitoRun r = run({"milestone", "list"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(
      lines_of(r.out),
      (std::vector<std::string>{
          "#   name     title                   requires  state",
          "01  fixture  Fixture (2024)          tiny      · locked        needs 01_tiny (not tested yet)",
          "02  data     Reads a dataset (2025)  more      · locked        needs 01_tiny (not tested yet), 02_more "
          "(not tested yet)"}));

  ASSERT_EQ(run({"test", "tiny"}).exit_code, 0);
  r = run({"milestone", "list"});
  EXPECT_EQ(lines_of(r.out)[1], "01  fixture  Fixture (2024)          tiny      ▸ ready");
  EXPECT_EQ(lines_of(r.out)[2],
            "02  data     Reads a dataset (2025)  more      · locked        needs 02_more (not tested yet)");

  TitoRun as_json = run({"milestone", "list", "--json"});
  EXPECT_EQ(as_json.exit_code, 0) << as_json.err;
  json list = json::parse(as_json.out);
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0], json::parse(R"json({"number": 1, "folder": "01_fixture", "name": "fixture", "title": "Fixture",
      "year": 2024, "requires": ["tiny"], "data": [], "target": "accuracy ≥ 90% on nothing at all",
      "state": "ready", "unfinished": [], "last_full": null, "last_quick": null})json"));
  EXPECT_EQ(list[1]["state"], "locked");
  EXPECT_EQ(list[1]["data"], json::parse(R"(["tinyset"])"));
  EXPECT_EQ(list[1]["unfinished"], json::parse(R"([{"module": "02_more", "why": "not tested yet"}])"));
}

TEST_F(MilestoneCommand, AMetTargetExitsZeroShowsTheFiguresAndIsKeptForStatus) {
  TitoRun r = run({"milestone", "run", "fixture"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  // The program's own lines come through, then tito's summary.
  EXPECT_THAT(r.out, HasSubstr("milestone 01_fixture (full run: 3 epochs, seed 0)\n"
                               "target: accuracy ≥ 90% on nothing at all\n"
                               "epoch 1/3: mean loss 0.08998 over 50 batches, "));
  EXPECT_THAT(r.out, ContainsRegex("\n✓ 01_fixture met its target: accuracy ≥ 90% on nothing at all \\(full run, 3 "
                                   "epochs, [0-9.]+ s\\)\n"
                                   "  accuracy           0.95\n"
                                   "  seconds_per_epoch  [0-9.e-]+\n"
                                   "  results            build/milestones/01_fixture/results.json\n"
                                   "  log.csv            build/milestones/01_fixture/log.csv\n"
                                   "  losses.csv         build/milestones/01_fixture/losses.csv\n$"));
  EXPECT_THAT(r.err, HasSubstr("Building milestone_fixture\n"));
  EXPECT_EQ((r.out + r.err).find('\033'), std::string::npos) << "no redrawn lines or colour in a pipe";
  json results = json::parse(read(out("01_fixture") / "results.json"));
  EXPECT_EQ(results["met"], true);
  EXPECT_EQ(results["epochs"], 3);
  json k = kept()["01_fixture"];
  EXPECT_EQ(k["full"]["outcome"], "met");
  EXPECT_EQ(k["full"]["metrics"]["accuracy"], 0.95);
  EXPECT_EQ(k["full"]["out"], "build/milestones/01_fixture");
  EXPECT_FALSE(k.contains("quick"));

  TitoRun list = run({"milestone", "list"});
  EXPECT_THAT(lines_of(list.out)[1],
              ContainsRegex("^01  fixture  Fixture \\(2024\\)          tiny      ✓ met           accuracy 0.95 · "
                            "seconds_per_epoch [0-9.e-]+ · 3 epochs · 20[0-9][0-9]-[0-9][0-9]-[0-9][0-9]$"));

  TitoRun status = run({"milestone", "status"});
  EXPECT_EQ(status.exit_code, 0) << status.err;
  EXPECT_THAT(status.out,
              ContainsRegex("^\nmilestones\n"
                            "  ✓ met           01_fixture  Fixture \\(2024\\)          accuracy 0.95 · [^\n]+\n"
                            "  ▸ ready         02_data     Reads a dataset \\(2025\\)\n"
                            "next milestone: `tito milestone run data --quick`, then `tito milestone run "
                            "data`\n$"));

  TitoRun course = run({"status"});
  EXPECT_EQ(course.exit_code, 0) << course.err;
  EXPECT_THAT(course.out, HasSubstr("✓ done         01_tiny  Tiny"));
  EXPECT_THAT(course.out,
              HasSubstr("\nmilestones\n  ✓ met           01_fixture  Fixture (2024)          accuracy 0.95"));
  EXPECT_THAT(course.out, HasSubstr("\nnext milestone: `tito milestone run data --quick`"));
  json as_json = json::parse(run({"status", "--json"}).out);
  ASSERT_EQ(as_json["milestones"].size(), 2u);
  EXPECT_EQ(as_json["milestones"][0]["state"], "met");
  EXPECT_EQ(as_json["milestones"][1]["state"], "ready");
}

TEST_F(MilestoneCommand, AMissedTargetExitsOneWithTheFigures) {
  TitoRun r = run({"milestone", "run", "01_fixture"}, "miss");
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_THAT(r.out, ContainsRegex("\n✗ 01_fixture missed its target: accuracy ≥ 90% on nothing at all \\(full run, 3 "
                                   "epochs, [0-9.]+ s\\)\n"
                                   "  accuracy           0.5\n"));
  EXPECT_EQ(kept()["01_fixture"]["full"]["outcome"], "missed");
  EXPECT_THAT(run({"milestone", "list"}).out, HasSubstr("✗ missed        accuracy 0.5"));
}

TEST_F(MilestoneCommand, ACrashExitsOneAndSaysItCrashed) {
  TitoRun r = run({"milestone", "run", "1"}, "crash");
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_THAT(r.out, HasSubstr("about to crash\n"));
  EXPECT_THAT(r.err, HasSubstr("error: 01_fixture crashed: the program was killed by signal 11 (SIGSEGV); its output "
                               "is above\n"));
  EXPECT_EQ(kept()["01_fixture"]["full"]["outcome"], "crashed");
  EXPECT_THAT(run({"milestone", "list"}).out, HasSubstr("✗ crashed       full run · "));
}

TEST_F(MilestoneCommand, AProgramThatWritesNoResultsFails) {
  TitoRun r = run({"milestone", "run", "fixture"}, "no-results");
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_THAT(r.err, HasSubstr("error: 01_fixture wrote no usable results: it exited with status 0 but wrote no "
                               "build/milestones/01_fixture/results.json (a milestone ends with `return "
                               "run.finish(...)`)\n"));
  EXPECT_EQ(kept()["01_fixture"]["full"]["outcome"], "no results");
}

TEST_F(MilestoneCommand, QuickPassesOnlyWhenTheLossFallsAndStaysFinite) {
  TitoRun passed = run({"milestone", "run", "fixture", "--quick"});
  EXPECT_EQ(passed.exit_code, 0) << passed.out << passed.err;
  EXPECT_THAT(passed.out, HasSubstr("milestone 01_fixture (quick run: 2 epochs of at most 8 batches, seed 0)\n"));
  EXPECT_THAT(passed.out,
              ContainsRegex("\n✓ 01_fixture passed its quick validation \\(quick run, 2 epochs, [0-9.]+ s\\)\n"
                            "  the loss went down: 0.5208 → 0.06938 \\(mean of the first and last 4 of 16 "
                            "batches\\)\n"));
  EXPECT_THAT(passed.out, HasSubstr("next: `tito milestone run fixture` for the full run\n"));
  EXPECT_EQ(json::parse(read(out("01_fixture") / "quick" / "results.json"))["mode"], "quick");

  TitoRun rising = run({"milestone", "run", "fixture", "--quick"}, "rise");
  EXPECT_EQ(rising.exit_code, 1) << rising.out << rising.err;
  EXPECT_THAT(rising.out, HasSubstr("✗ 01_fixture failed its quick validation (quick run, 2 epochs, "));
  EXPECT_THAT(rising.out,
              HasSubstr("  the loss did not go down: 0.25 → 1.45 (mean of the first and last 4 of 16 batches)\n"));

  TitoRun nan = run({"milestone", "run", "fixture", "--quick"}, "nan");
  EXPECT_EQ(nan.exit_code, 1);
  EXPECT_THAT(nan.out, HasSubstr("  the loss of epoch 1, batch 7 is nan\n"));

  TitoRun inf = run({"milestone", "run", "fixture", "--quick"}, "inf-grad");
  EXPECT_EQ(inf.exit_code, 1);
  EXPECT_THAT(inf.out, HasSubstr("  a gradient norm of epoch 1, batch 5 is inf\n"));

  // Quick runs are kept apart from full runs.
  json k = kept()["01_fixture"];
  EXPECT_EQ(k["quick"]["outcome"], "quick failed");
  EXPECT_FALSE(k.contains("full"));
  EXPECT_EQ(k["quick"]["out"], "build/milestones/01_fixture/quick");  // never over a full run's files
  EXPECT_THAT(run({"milestone", "list"}).out, HasSubstr("✗ quick failed  quick run · "));
}

TEST_F(MilestoneCommand, EpochsSeedAndOutArePassedToTheProgram) {
  TempDir elsewhere("tito-e2e-out");
  fs::path dir = elsewhere.path() / "results";
  TitoRun r = run({"milestone", "run", "fixture", "--epochs", "2", "--seed", "7", "--out", dir.string()});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_THAT(r.out, HasSubstr("milestone 01_fixture (full run: 2 epochs, seed 7)\n"));
  EXPECT_THAT(r.out, HasSubstr("(full run, 2 epochs, "));
  EXPECT_THAT(r.out, HasSubstr("  log.csv            " + (dir / "log.csv").string() + "\n"));
  json results = json::parse(read(dir / "results.json"));
  EXPECT_EQ(results["epochs"], 2);
  EXPECT_EQ(results["seed"], 7);
  EXPECT_EQ(read(dir / "log.csv"), "epoch,seed\n2,7\n");
  EXPECT_FALSE(fs::exists(out("01_fixture") / "results.json"));
  EXPECT_EQ(kept()["01_fixture"]["full"]["out"], dir.string());
}

TEST_F(MilestoneCommand, BadNamesAndOptionsAreUsageErrors) {
  TitoRun r = run({"milestone", "run", "fixtur"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err,
            "error: no milestone 'fixtur' in this course (did you mean 'fixture'?); milestones: 01_fixture, 02_data "
            "(`tito milestone list` shows them)\n");
  TitoRun zero = run({"milestone", "run", "fixture", "--epochs", "0"});
  EXPECT_EQ(zero.exit_code, 2);
  EXPECT_THAT(zero.err, HasSubstr("--epochs: Value 0 not in range 1 to 100000"));
  EXPECT_EQ(run({"milestone", "run"}).exit_code, 2);
  EXPECT_EQ(run({"milestone"}).exit_code, 2);
}

TEST_F(MilestoneCommand, ARequiredModuleThatFailsLocksTheMilestone) {
  fs::path dev = root() / "modules" / "01_tiny" / "tiny_dev.cpp";
  FileRestorer restore(dev);
  write(dev, replace(read(dev), "return x + 1;", "return x + 2;"));
  TempDir cache("tito-e2e-cache");
  TitoRun r = run({"milestone", "run", "data"}, "", cache.path());
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_THAT(r.err, HasSubstr("error: 02_data is locked: the modules it needs do not pass their tests yet\n"
                               "  01_tiny  1 of 3 tests fail (TinyCells.AddOneOfOne)  → `tito test tiny`\n"
                               "  02_more  1 of 1 tests fail (MoreCells.AddTwoOfOne)  → `tito test more`\n"));
  EXPECT_THAT(r.err, HasSubstr("the milestone was not run; `tito milestone run data` again once they pass\n"));
  EXPECT_THAT(r.err, Not(HasSubstr("Running milestone_data")));
  EXPECT_FALSE(fs::exists(out("02_data")));
  EXPECT_FALSE(fs::exists(root() / "build" / "tito" / "last-milestones.json"));
  // The tests it ran are kept like those of `tito test`.
  EXPECT_THAT(run({"milestone", "list"}).out, HasSubstr("· locked        needs 01_tiny (2/3 passed)"));
}

TEST_F(MilestoneCommand, FasterWithModulesAreLinkedInOnlyWhenTheyPass) {
  fs::path manifest = root() / "milestones" / "01_fixture" / "milestone.json";
  FileRestorer restore_manifest(manifest);
  write(manifest, replace(read(manifest), "\"requires\": [\"tiny\"],", "\"requires\": [\"tiny\"],\n  \"faster_with\": [\"more\"],"));
  TitoRun fast = run({"milestone", "run", "fixture"});
  EXPECT_EQ(fast.exit_code, 0) << fast.out << fast.err;
  EXPECT_THAT(fast.err, HasSubstr("Building milestone_fixture_faster\n"));
  EXPECT_THAT(fast.out, HasSubstr("  faster with 02_more (linked in: it passes its tests)\n"));
  EXPECT_TRUE(fs::exists(root() / "build" / "package" / "bin" / "milestone_fixture_faster"));

  // A faster module that fails never locks the milestone: it runs without it, and says why.
  fs::path dev = root() / "modules" / "02_more" / "more_dev.cpp";
  FileRestorer restore_dev(dev);
  write(dev, replace(read(dev), "return tiny::add_one(tiny::add_one(x));", "return x;"));
  TitoRun slow = run({"milestone", "run", "fixture"});
  EXPECT_EQ(slow.exit_code, 0) << slow.out << slow.err;
  EXPECT_THAT(slow.err, HasSubstr("Building milestone_fixture\n"));
  EXPECT_THAT(slow.out, HasSubstr("  note: built without the modules that would make it faster: 02_more 1 of 1 tests "
                                  "fail (MoreCells.AddTwoOfOne)\n"));
  EXPECT_THAT(slow.out, Not(HasSubstr("faster with")));

  // One that does not even compile is left out the same way.
  write(dev, replace(read(dev), "return x;", "return x +;"));
  TitoRun broken = run({"milestone", "run", "fixture"});
  EXPECT_EQ(broken.exit_code, 0) << broken.out << broken.err;
  EXPECT_THAT(broken.out, HasSubstr("  note: built without the modules that would make it faster: 02_more does not compile\n"));
}

TEST_F(MilestoneCommand, MissingDataNamesTheFetchCommandAndTheProgramReadsTheCache) {
  TempDir cache("tito-e2e-cache");
  TitoRun r = run({"milestone", "run", "data"}, "", cache.path());
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_THAT(r.err, HasSubstr("error: 02_data reads data that is not ready in the cache (" + cache.path().string() +
                               ")\n"
                               "  tinyset: not cached: run `tito data fetch tinyset`\n"
                               "the milestone was not run; `tito milestone run data` again once the data is there\n"));
  TitoRun fetched = run({"data", "fetch", "tinyset", "--from", (fixture_course() / "data" / "tinyset.txt").string()},
                        "", cache.path());
  ASSERT_EQ(fetched.exit_code, 0) << fetched.err;
  r = run({"milestone", "run", "data"}, "", cache.path());
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_THAT(r.out, HasSubstr("epoch 1/1: mean loss 2.25 over 8 batches"));  // 8..1 over add_two(0)
  EXPECT_THAT(r.out, HasSubstr("  numbers            8\n"));
}

TEST_F(MilestoneCommand, ASourceThatDoesNotCompileShowsTheCompilerMessages) {
  fs::path main = root() / "milestones" / "01_fixture" / "main.cpp";
  FileRestorer restore(main);
  std::string text = read(main);
  int line = line_of(text, "run.metric(\"accuracy\", accuracy);");
  write(main, replace(text, "run.metric(\"accuracy\", accuracy);", "run.metric(\"accuracy\", accuracy) oops;"));
  TitoRun r = run({"milestone", "run", "fixture"});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_THAT(r.err, HasSubstr("milestones/01_fixture/main.cpp:" + std::to_string(line) + ":"));
  EXPECT_THAT(r.err, HasSubstr("error: 01_fixture does not compile; the messages above point at "
                               "milestones/01_fixture/main.cpp, milestones/01_fixture/losses.cpp\n"));
  EXPECT_FALSE(fs::exists(root() / "build" / "tito" / "last-milestones.json"));
}

TEST_F(MilestoneCommand, ABrokenMilestoneJsonIsAnErrorAtItsLine) {
  fs::path manifest = root() / "milestones" / "01_fixture" / "milestone.json";
  FileRestorer restore(manifest);
  std::string text = read(manifest);
  write(manifest, replace(text, "\"requires\": [\"tiny\"]", "\"requires\": [\"tny\"]"));
  std::string expected =
      "error: milestones/01_fixture/milestone.json:" + std::to_string(line_of(text, "\"requires\"")) +
      ": requires unknown module 'tny' (did you mean 'tiny'?) (modules: tiny, more)\n";
  TitoRun list = run({"milestone", "list"});
  EXPECT_EQ(list.exit_code, 1);
  EXPECT_EQ(list.err, expected + "error: nothing was written\n");
  TitoRun sync = run({"sync"});
  EXPECT_EQ(sync.exit_code, 1);
  EXPECT_EQ(sync.err, expected + "error: nothing was written\n");
}

TEST_F(MilestoneCommand, ColourOnlyWhenAskedOrOnATerminal) {
  TitoRun plain = run({"milestone", "list"});
  EXPECT_EQ(plain.out.find('\033'), std::string::npos) << plain.out;
  TitoRun colored = run({"--color", "always", "milestone", "list"});
  EXPECT_THAT(colored.out, HasSubstr("\033[2m· locked      \033[0m"));
}

// Runs tito in a process group of its own, so the test can send it Ctrl-C.
class Spawned {
 public:
  Spawned(const std::vector<std::string>& args, const fs::path& cwd, const std::map<std::string, std::string>& env,
          const fs::path& err) {
    std::vector<std::string> argv = {TITO_BINARY};
    argv.insert(argv.end(), args.begin(), args.end());
    std::vector<std::string> environment;
    for (char** e = environ; *e != nullptr; ++e) {
      std::string entry(*e);
      if (!env.contains(entry.substr(0, entry.find('=')))) environment.push_back(entry);
    }
    for (const auto& [k, v] : env) environment.push_back(k + "=" + v);
    std::vector<char*> a, e;
    for (std::string& s : argv) a.push_back(s.data());
    a.push_back(nullptr);
    for (std::string& s : environment) e.push_back(s.data());
    e.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addchdir_np(&actions, cwd.c_str());
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
    posix_spawnattr_setpgroup(&attr, 0);
    rc_ = posix_spawn(&pid_, a[0], &actions, &attr, a.data(), e.data());
    posix_spawnattr_destroy(&attr);
    posix_spawn_file_actions_destroy(&actions);
  }
  ~Spawned() {
    if (pid_ > 0 && !reaped_) {
      ::kill(-pid_, SIGKILL);
      wait();
    }
  }
  bool started() const { return rc_ == 0; }
  void interrupt() const { ::kill(-pid_, SIGINT); }
  bool running() {
    int status = 0;
    pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      reaped_ = true;
      status_ = status;
    }
    return r == 0;
  }
  int wait() {
    if (!reaped_) {
      while (::waitpid(pid_, &status_, 0) < 0 && errno == EINTR) {
      }
      reaped_ = true;
    }
    return WIFEXITED(status_) ? WEXITSTATUS(status_) : 128 + WTERMSIG(status_);
  }

 private:
  pid_t pid_ = -1;
  int rc_ = -1;
  int status_ = 0;
  bool reaped_ = false;
};

TEST_F(MilestoneCommand, CtrlCStopsTheRunWithExit130AndKeepsNoResult) {
  ASSERT_EQ(run({"milestone", "run", "fixture"}).exit_code, 0);  // a result to keep
  std::string before = read(root() / "build" / "tito" / "last-milestones.json");
  fs::path started = out("01_fixture") / "started";
  TempDir scratch("tito-e2e-interrupt");
  Spawned tito_run({"milestone", "run", "fixture"}, root(),
                   {{"FIXTURE_MILESTONE", "hang"}, {"TITO_ROOT", ""}, {"TITO_BUILD_DIR", ""}, {"TITO_DATA_DIR", ""}},
                   scratch.path() / "err");
  ASSERT_TRUE(tito_run.started());
  auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(5);
  while (!fs::exists(started) && tito_run.running() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_TRUE(fs::exists(started)) << read(scratch.path() / "err");
  tito_run.interrupt();
  EXPECT_EQ(tito_run.wait(), 130);
  EXPECT_THAT(read(scratch.path() / "err"),
              HasSubstr("error: interrupted: 01_fixture did not finish; no result was kept\n"));
  EXPECT_EQ(read(root() / "build" / "tito" / "last-milestones.json"), before);
}

TEST(MilestoneRelease, ShipsTheMilestonesAsTheyAreAndTheStudentIsRefusedUntilTheModulesPass) {
  TempDir dir("tito-e2e-milestone-release");
  fs::path course = dir.path() / "course", student = dir.path() / "student";
  make_course(course, {{"01_tiny"}});
  add_milestones(course);
  fs::remove_all(course / "milestones" / "02_data");  // it needs module more
  TitoRun released = tito({"release", "--out", student.string()}, course);
  ASSERT_EQ(released.exit_code, 0) << released.err;
  EXPECT_EQ(snapshot(student / "milestones"), snapshot(course / "milestones"));
  EXPECT_EQ(read(student / "data" / "datasets.json"), read(course / "data" / "datasets.json"));

  TitoRun check = tito({"release", "--check"}, course);
  EXPECT_EQ(check.exit_code, 0) << check.out << check.err;
  EXPECT_THAT(check.out, HasSubstr("checks: 5 passed, 0 failed\n"));

  TitoRun r = tito({"milestone", "run", "fixture"}, student);
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_THAT(r.err, HasSubstr("error: 01_fixture is locked: the modules it needs do not pass their tests yet\n"
                               "  01_tiny  2 of 2 tests not implemented yet  → `tito test tiny`\n"));
}

}  // namespace
}  // namespace tito::e2e
