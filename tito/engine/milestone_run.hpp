// `tito milestone run|list|status`: where a milestone stands (locked by
// unfinished modules, ready, met ...), a run of its program, and the results
// kept in build/tito/last-milestones.json for `tito status`.
//
// A run: the required modules (and what they require) are tested through
// the test workflow of `tito test` (always run, never taken from an earlier
// result that might be stale); the datasets it reads must be ready in the
// cache; then the program is built and run with the terminal passed through,
// and its OUT/results.json read. The protocol is in milestones/README.md.
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "engine/builder.hpp"
#include "engine/course.hpp"
#include "engine/milestone.hpp"
#include "engine/sync.hpp"
#include "engine/last_results.hpp"
#include "engine/testrun.hpp"

namespace tito {

namespace fs = std::filesystem;

// A figure of a run; nullopt when the program reported NaN or infinity.
using Metrics = std::vector<std::pair<std::string, std::optional<double>>>;

// What a milestone program wrote to OUT/results.json.
struct MilestoneResults {
  std::string milestone;  // its name
  bool quick = false;
  bool met = false;
  std::string target;
  std::string verdict;  // "target met", "quick validation failed: the loss did not go down: ..."
  Metrics metrics;
  int epochs = 0;
  int batches = 0;
  double seconds = 0;
  std::vector<std::string> artifacts;  // file names in OUT
  std::vector<std::string> notes;
};

// Reads a results.json. Throws tito::Error naming `origin` and what is wrong.
MilestoneResults parse_milestone_results(const std::string& text, const std::string& origin);

enum class MilestoneOutcome {
  Met,          // a full run met its target
  Missed,       // a full run missed it
  QuickPassed,  // --quick: the loss went down and stayed finite
  QuickFailed,  // --quick: it did not
  Crashed,      // the program died, or exited with a status the protocol does not have
  BadResults,   // it exited 0 or 1 but its results.json is missing, unreadable or contradicts it
  Refused,      // not run: required modules do not pass, or data is missing
  BuildFailed,  // the program does not compile
  Interrupted,  // Ctrl-C
};

// "met", "missed", "quick passed", "quick failed", "crashed", "no results", ...
const char* describe(MilestoneOutcome outcome);

// A module that does not pass its tests, and why ("2 of 5 tests fail").
struct UnfinishedModule {
  const ModuleInfo* module = nullptr;
  std::string why;
};

// A dataset the milestone reads that is not ready, and what to do.
struct MissingData {
  std::string dataset;
  std::string problem;  // "not cached: run `tito data fetch cifar10`"
};

// Whether a dataset is ready in the cache: "" when it is, else what is wrong
// and which command fixes it. The CLI answers from tito's data engine.
using DatasetCheck = std::function<std::string(const std::string& dataset)>;

struct MilestoneRunOptions {
  bool quick = false;
  std::optional<int> epochs;
  std::optional<std::uint64_t> seed;
  fs::path out;                                    // empty: <build>/milestones/<folder>
  fs::path data_dir;                               // TITO_DATA_DIR for the program
  TestOptions tests;                               // how the required modules' tests run (its modules are ignored)
  std::string faster_unavailable;                  // why the "faster_with" modules cannot be used ("" when they may be)
  const std::atomic<bool>* interrupted = nullptr;  // set on Ctrl-C
};

struct MilestoneRun {
  const MilestoneInfo* milestone = nullptr;
  MilestoneOutcome outcome = MilestoneOutcome::Refused;
  bool quick = false;
  TestReport tests;                          // of the required modules
  std::vector<UnfinishedModule> unfinished;  // Refused
  std::vector<MissingData> missing_data;     // Refused
  // "faster_with": the modules the program was linked with because they pass their tests (all of
  // them or none), or why it was built without them.
  std::vector<const ModuleInfo*> faster_linked;
  std::string faster_problem;
  std::string build_output;                  // BuildFailed: the compiler's words
  int exit_code = -1;                        // the program's; 128 + signal when it was killed
  bool signaled = false;
  std::optional<MilestoneResults> results;
  std::string problem;  // Crashed, BadResults: what went wrong
  fs::path out;         // the output folder
  double seconds = 0;   // the program's wall time
  std::string at;       // when it ran, ISO 8601 UTC

  // Met, or a passed quick run.
  bool ok() const { return outcome == MilestoneOutcome::Met || outcome == MilestoneOutcome::QuickPassed; }
  // A run whose program ran to an end worth keeping (not refused, not interrupted).
  bool ran() const;
};

// Runs the milestone: tests its modules, checks its data, builds and runs its
// program, reads its results and keeps them (save_milestone_run). `plan` is
// the sync just applied (with the required modules selected).
MilestoneRun run_milestone(const Course& course, const MilestoneInfo& milestone, const SyncPlan& plan, Builder& builder,
                           const MilestoneRunOptions& options, const DatasetCheck& datasets, Progress& progress);

// Why each module does not pass ("" when it does), by folder: from a test
// report, or from the last results kept by `tito test` ("not tested yet"
// when there is none).
std::map<std::string, std::string> module_standing(const TestReport& report);
std::map<std::string, std::string> module_standing(const Course& course, const std::map<std::string, LastResult>& last);

// A kept run of a milestone.
struct StoredRun {
  MilestoneOutcome outcome = MilestoneOutcome::Met;
  Metrics metrics;
  int epochs = 0;
  double seconds = 0;
  std::string at;      // ISO 8601 UTC
  std::string detail;  // the verdict, or what went wrong
  std::string out;     // the output folder, relative to the course root when inside it
};

// The last full and the last quick run of a milestone.
struct StoredMilestone {
  std::optional<StoredRun> full;
  std::optional<StoredRun> quick;
};

// Keeps a run that ran() in <build_dir>/tito/last-milestones.json (atomically).
void save_milestone_run(const fs::path& build_dir, const Course& course, const MilestoneRun& run);
// The kept runs by milestone folder; an unreadable file counts as none.
std::map<std::string, StoredMilestone> load_milestone_runs(const fs::path& build_dir);

enum class MilestoneState { Locked, Ready, QuickPassed, QuickFailed, Met, Missed, Crashed, NoResults };
// "locked", "ready", "quick passed", "quick failed", "met", "missed", "crashed", "no results"
const char* describe(MilestoneState state);

struct MilestoneStanding {
  const MilestoneInfo* milestone = nullptr;
  MilestoneState state = MilestoneState::Locked;
  std::vector<UnfinishedModule> unfinished;  // Locked: the required modules that do not pass
  StoredMilestone last;
};

// Where each milestone stands: locked while a module it needs does not pass
// (`modules` from module_standing); else the last full run's result, else
// the last quick run's, else ready.
std::vector<MilestoneStanding> milestone_standings(const Course& course, const Milestones& milestones,
                                                   const std::map<std::string, std::string>& modules,
                                                   const std::map<std::string, StoredMilestone>& runs);

// The milestone to try next: the first unlocked one not met; nullptr when none.
const MilestoneStanding* next_milestone(const std::vector<MilestoneStanding>& standings);

}  // namespace tito
