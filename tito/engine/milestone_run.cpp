#include "engine/milestone_run.hpp"

#include <algorithm>

#include <chrono>
#include <csignal>
#include <cstring>
#include <ctime>
#include <nlohmann/json.hpp>

#include "util/error.hpp"
#include "util/fs.hpp"
#include "util/process.hpp"

namespace tito {

namespace {

using json = nlohmann::ordered_json;  // metrics keep the program's order

std::string now_utc() {
  std::time_t now = std::time(nullptr);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
  return stamp;
}

class ResultsReader {
 public:
  ResultsReader(const json& j, const std::string& origin) : j_(j), origin_(origin) {}

  [[noreturn]] void fail(const std::string& what) const { throw Error(origin_ + ": " + what); }

  const json& field(const char* key) const {
    if (!j_.contains(key)) fail(std::string("missing \"") + key + "\"");
    return j_[key];
  }
  std::string text(const char* key) const {
    const json& v = field(key);
    if (!v.is_string()) fail(std::string("\"") + key + "\" must be a string");
    return v.get<std::string>();
  }
  bool flag(const char* key) const {
    const json& v = field(key);
    if (!v.is_boolean()) fail(std::string("\"") + key + "\" must be true or false");
    return v.get<bool>();
  }
  int count(const char* key) const {
    const json& v = field(key);
    if (!v.is_number_integer() || v.get<long long>() < 0) fail(std::string("\"") + key + "\" must be a whole number");
    return v.get<int>();
  }
  double seconds(const char* key) const {
    const json& v = field(key);
    if (v.is_null()) return 0;
    if (!v.is_number()) fail(std::string("\"") + key + "\" must be a number");
    return v.get<double>();
  }
  std::vector<std::string> strings(const char* key) const {
    const json& v = field(key);
    std::vector<std::string> out;
    if (!v.is_array()) fail(std::string("\"") + key + "\" must be a list of strings");
    for (const json& s : v) {
      if (!s.is_string()) fail(std::string("\"") + key + "\" must be a list of strings");
      out.push_back(s.get<std::string>());
    }
    return out;
  }

 private:
  const json& j_;
  std::string origin_;
};

json metrics_json(const Metrics& metrics) {
  json out = json::object();
  for (const auto& [name, value] : metrics) out[name] = value ? json(*value) : json(nullptr);
  return out;
}

Metrics metrics_of(const json& j) {
  Metrics out;
  if (!j.is_object()) return out;
  for (const auto& [name, value] : j.items()) {
    out.emplace_back(name, value.is_number() ? std::optional<double>(value.get<double>()) : std::nullopt);
  }
  return out;
}

std::optional<MilestoneOutcome> outcome_named(const std::string& name) {
  for (MilestoneOutcome o : {MilestoneOutcome::Met, MilestoneOutcome::Missed, MilestoneOutcome::QuickPassed,
                             MilestoneOutcome::QuickFailed, MilestoneOutcome::Crashed, MilestoneOutcome::BadResults}) {
    if (name == describe(o)) return o;
  }
  return std::nullopt;
}

std::string why_not(const ModuleReport& m) {
  switch (m.outcome) {
    case ModuleOutcome::BuildFailed:
      return "does not compile";
    case ModuleOutcome::Blocked:
      return "blocked: " + m.blocked_by + " does not compile";
    case ModuleOutcome::NoTests:
      return "";
    case ModuleOutcome::Tested:
      break;
  }
  std::string total = std::to_string(m.total());
  if (m.failed() > 0) {
    std::string why = std::to_string(m.failed()) + " of " + total + " tests fail";
    for (const TestCase& c : m.cases) {
      if (c.status == TestStatus::Failed || c.status == TestStatus::Crashed || c.status == TestStatus::TimedOut) {
        why += " (" + c.name + (m.failed() > 1 ? ", ..." : "") + ")";
        break;
      }
    }
    if (m.not_implemented() > 0) why += ", " + std::to_string(m.not_implemented()) + " not implemented yet";
    return why;
  }
  if (m.not_implemented() > 0)
    return std::to_string(m.not_implemented()) + " of " + total + " tests not implemented yet";
  return "";
}

// What the program's exit says when it is not 0 or 1.
std::string abnormal_exit(const ProcessResult& r) {
  if (r.signaled) {
    int sig = r.exit_code - 128;
    const char* abbrev = sigabbrev_np(sig);
    return "was killed by signal " + std::to_string(sig) + (abbrev ? " (SIG" + std::string(abbrev) + ")" : "");
  }
  if (r.exit_code == 2) return "exited with status 2: it rejected the arguments tito passed (a usage error)";
  return "exited with status " + std::to_string(r.exit_code) + " (0 means met, 1 missed: anything else is a crash)";
}

}  // namespace

const char* describe(MilestoneOutcome outcome) {
  switch (outcome) {
    case MilestoneOutcome::Met:
      return "met";
    case MilestoneOutcome::Missed:
      return "missed";
    case MilestoneOutcome::QuickPassed:
      return "quick passed";
    case MilestoneOutcome::QuickFailed:
      return "quick failed";
    case MilestoneOutcome::Crashed:
      return "crashed";
    case MilestoneOutcome::BadResults:
      return "no results";
    case MilestoneOutcome::Refused:
      return "refused";
    case MilestoneOutcome::BuildFailed:
      return "build failed";
    case MilestoneOutcome::Interrupted:
      return "interrupted";
  }
  return "?";
}

const char* describe(MilestoneState state) {
  switch (state) {
    case MilestoneState::Locked:
      return "locked";
    case MilestoneState::Ready:
      return "ready";
    case MilestoneState::QuickPassed:
      return "quick passed";
    case MilestoneState::QuickFailed:
      return "quick failed";
    case MilestoneState::Met:
      return "met";
    case MilestoneState::Missed:
      return "missed";
    case MilestoneState::Crashed:
      return "crashed";
    case MilestoneState::NoResults:
      return "no results";
  }
  return "?";
}

bool MilestoneRun::ran() const {
  switch (outcome) {
    case MilestoneOutcome::Met:
    case MilestoneOutcome::Missed:
    case MilestoneOutcome::QuickPassed:
    case MilestoneOutcome::QuickFailed:
    case MilestoneOutcome::Crashed:
    case MilestoneOutcome::BadResults:
      return true;
    case MilestoneOutcome::Refused:
    case MilestoneOutcome::BuildFailed:
    case MilestoneOutcome::Interrupted:
      return false;
  }
  return false;
}

MilestoneResults parse_milestone_results(const std::string& text, const std::string& origin) {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::parse_error& e) {
    throw Error(origin + ": not valid JSON (" + std::string(e.what()) + ")");
  }
  if (!j.is_object()) throw Error(origin + ": results.json must hold a JSON object");
  ResultsReader r(j, origin);
  MilestoneResults out;
  out.milestone = r.text("milestone");
  std::string mode = r.text("mode");
  if (mode != "quick" && mode != "full") r.fail("\"mode\" must be \"quick\" or \"full\", not '" + mode + "'");
  out.quick = mode == "quick";
  out.met = r.flag("met");
  out.target = r.text("target");
  out.verdict = r.text("verdict");
  const json& metrics = r.field("metrics");
  if (!metrics.is_object()) r.fail("\"metrics\" must map names to numbers");
  for (const auto& [name, value] : metrics.items()) {
    if (!value.is_number() && !value.is_null()) r.fail("metric \"" + name + "\" must be a number (or null)");
  }
  out.metrics = metrics_of(metrics);
  out.epochs = r.count("epochs");
  out.batches = r.count("batches");
  out.seconds = r.seconds("seconds");
  out.artifacts = r.strings("artifacts");
  for (const std::string& a : out.artifacts) {
    if (a.empty() || a.front() == '/' || a.find("..") != std::string::npos) {
      r.fail("artifact '" + a + "' must be a file name inside the output folder");
    }
  }
  out.notes = r.strings("notes");
  return out;
}

MilestoneRun run_milestone(const Course& course, const MilestoneInfo& milestone, const SyncPlan& plan, Builder& builder,
                           const MilestoneRunOptions& options, const DatasetCheck& datasets, Progress& progress) {
  MilestoneRun run;
  run.milestone = &milestone;
  run.quick = options.quick;
  // A quick run keeps its files apart, so that validating never replaces a full run's curves.
  fs::path default_out = builder.build_dir() / "milestones" / milestone.folder;
  if (options.quick) default_out /= "quick";
  run.out = options.out.empty() ? default_out : fs::absolute(options.out);

  auto interrupted = [&] { return options.interrupted != nullptr && options.interrupted->load(); };
  std::vector<const ModuleInfo*> needed = required_modules(course, milestone);
  std::vector<const ModuleInfo*> faster = faster_modules(course, milestone);
  if (!faster.empty() && !options.faster_unavailable.empty()) {
    run.faster_problem = options.faster_unavailable;
    faster.clear();
  }
  if (!needed.empty() || !faster.empty()) {
    TestOptions tests = options.tests;
    tests.modules.clear();
    for (const ModuleInfo* m : needed) tests.modules.push_back(m->folder);
    for (const ModuleInfo* m : faster) tests.modules.push_back(m->folder);
    try {
      run.tests = run_module_tests(course, plan, builder, tests, progress);
    } catch (const Error&) {
      if (!interrupted()) throw;  // ctest killed by Ctrl-C writes no report
    }
    if (interrupted()) {  // the tests were cut short: their results say nothing
      run.outcome = MilestoneOutcome::Interrupted;
      return run;
    }
    save_last_results(builder.build_dir(), run.tests);
    std::vector<std::string> slower;  // faster_with modules that do not pass, with why
    for (const ModuleReport& m : run.tests.modules) {
      std::string why = why_not(m);
      if (why.empty()) continue;
      if (std::find(faster.begin(), faster.end(), m.module) != faster.end()) {
        slower.push_back(m.module->folder + " " + why);
      } else {
        run.unfinished.push_back({m.module, why});
      }
    }
    if (!faster.empty() && slower.empty()) {
      run.faster_linked = faster;
    } else if (!slower.empty()) {
      run.faster_problem = slower.front();
      for (std::size_t i = 1; i < slower.size(); ++i) run.faster_problem += "; " + slower[i];
    }
  }
  for (const std::string& d : milestone.data) {
    if (std::string problem = datasets(d); !problem.empty()) run.missing_data.push_back({d, problem});
  }
  if (!run.unfinished.empty() || !run.missing_data.empty()) {
    run.outcome = MilestoneOutcome::Refused;
    return run;
  }

  const std::string target = run.faster_linked.empty() ? milestone_target(milestone) : faster_milestone_target(milestone);
  progress.step("building " + target);
  BuildResult built = builder.build({target});
  if (interrupted()) {
    run.outcome = MilestoneOutcome::Interrupted;
    return run;
  }
  if (!built.ok) {
    run.outcome = MilestoneOutcome::BuildFailed;
    run.build_output = built.output;
    return run;
  }

  // A results.json left by an earlier run must never pass for this one's.
  fs::path results_file = run.out / "results.json";
  std::error_code ec;
  fs::create_directories(run.out, ec);
  if (ec) throw Error("cannot create " + run.out.string() + ": " + ec.message());
  fs::remove(results_file, ec);
  if (ec) throw Error("cannot remove the old " + results_file.string() + ": " + ec.message());

  std::vector<std::string> argv = {builder.program(target).string(), "--out", run.out.string()};
  if (options.quick) argv.push_back("--quick");
  if (options.epochs) argv.insert(argv.end(), {"--epochs", std::to_string(*options.epochs)});
  if (options.seed) argv.insert(argv.end(), {"--seed", std::to_string(*options.seed)});
  ProcessOptions p;
  p.capture = false;  // the terminal is the program's: its progress redraws there
  p.cwd = course.root();
  p.env["TITO_DATA_DIR"] = options.data_dir.string();
  progress.step("running " + target + (options.quick ? " --quick" : ""));
  run.at = now_utc();
  auto start = std::chrono::steady_clock::now();
  ProcessResult r = run_process(argv, p);
  run.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  run.exit_code = r.exit_code;
  run.signaled = r.signaled;

  if (interrupted() || r.exit_code == 128 + SIGINT || r.exit_code == kExitInterrupted) {
    run.outcome = MilestoneOutcome::Interrupted;
    return run;
  }
  std::string shown = course.rel(results_file);
  if (r.signaled || (r.exit_code != 0 && r.exit_code != 1)) {
    run.outcome = MilestoneOutcome::Crashed;
    run.problem = abnormal_exit(r);
  } else if (std::optional<std::string> text = read_file_if_exists(results_file); !text) {
    run.outcome = MilestoneOutcome::BadResults;
    run.problem = "it exited with status " + std::to_string(r.exit_code) + " but wrote no " + shown +
                  " (a milestone ends with `return run.finish(...)`)";
  } else {
    try {
      MilestoneResults results = parse_milestone_results(*text, shown);
      if (results.milestone != milestone.name) {
        throw Error(shown + ": written by milestone '" + results.milestone + "', not '" + milestone.name + "'");
      }
      if (results.quick != options.quick) {
        throw Error(shown + ": a " + (results.quick ? "quick" : "full") + " run's results, but tito asked for a " +
                    (options.quick ? "quick" : "full") + " run");
      }
      if (results.met != (r.exit_code == 0)) {
        throw Error(shown + ": says \"met\": " + (results.met ? "true" : "false") + " but the program exited with " +
                    std::to_string(r.exit_code));
      }
      run.outcome = options.quick ? (results.met ? MilestoneOutcome::QuickPassed : MilestoneOutcome::QuickFailed)
                                  : (results.met ? MilestoneOutcome::Met : MilestoneOutcome::Missed);
      run.results = std::move(results);
    } catch (const Error& e) {
      run.outcome = MilestoneOutcome::BadResults;
      run.problem = e.what();
    }
  }
  save_milestone_run(builder.build_dir(), course, run);
  return run;
}

std::map<std::string, std::string> module_standing(const TestReport& report) {
  std::map<std::string, std::string> out;
  for (const ModuleReport& m : report.modules) out[m.module->folder] = why_not(m);
  return out;
}

std::map<std::string, std::string> module_standing(const Course& course,
                                                   const std::map<std::string, LastResult>& last) {
  std::map<std::string, std::string> out;
  for (const ModuleInfo& m : course.modules()) {
    auto it = last.find(m.folder);
    if (it == last.end()) {
      out[m.folder] = "not tested yet";
    } else {
      out[m.folder] = it->second.ok ? "" : it->second.summary;
    }
  }
  return out;
}

void save_milestone_run(const fs::path& build_dir, const Course& course, const MilestoneRun& run) {
  if (!run.ran()) return;
  fs::path file = build_dir / "tito" / "last-milestones.json";
  json j = json::object();
  if (std::optional<std::string> old = read_file_if_exists(file)) {
    try {
      j = json::parse(*old);
      if (!j.is_object()) j = json::object();
    } catch (const json::exception&) {
      j = json::object();
    }
  }
  json record = {{"outcome", describe(run.outcome)},
                 {"at", run.at},
                 {"seconds", run.results ? run.results->seconds : run.seconds},
                 {"epochs", run.results ? run.results->epochs : 0},
                 {"metrics", run.results ? metrics_json(run.results->metrics) : json::object()},
                 {"detail", run.results ? run.results->verdict : run.problem},
                 {"out", course.rel(run.out)}};
  j[run.milestone->folder][run.quick ? "quick" : "full"] = std::move(record);
  write_file_atomic(file, j.dump(2) + "\n");
}

std::map<std::string, StoredMilestone> load_milestone_runs(const fs::path& build_dir) {
  std::map<std::string, StoredMilestone> out;
  std::optional<std::string> text = read_file_if_exists(build_dir / "tito" / "last-milestones.json");
  if (!text) return out;
  try {
    json j = json::parse(*text);
    if (!j.is_object()) return out;
    for (const auto& [folder, entry] : j.items()) {
      if (!entry.is_object()) continue;
      for (const char* mode : {"full", "quick"}) {
        if (!entry.contains(mode) || !entry[mode].is_object()) continue;
        const json& v = entry[mode];
        std::optional<MilestoneOutcome> outcome = outcome_named(v.value("outcome", ""));
        if (!outcome) continue;
        StoredRun s;
        s.outcome = *outcome;
        s.metrics = metrics_of(v.value("metrics", json::object()));
        s.epochs = v.value("epochs", 0);
        s.seconds = v.value("seconds", 0.0);
        s.at = v.value("at", "");
        s.detail = v.value("detail", "");
        s.out = v.value("out", "");
        (std::string(mode) == "full" ? out[folder].full : out[folder].quick) = std::move(s);
      }
    }
  } catch (const json::exception&) {
    return {};
  }
  return out;
}

std::vector<MilestoneStanding> milestone_standings(const Course& course, const Milestones& milestones,
                                                   const std::map<std::string, std::string>& modules,
                                                   const std::map<std::string, StoredMilestone>& runs) {
  std::vector<MilestoneStanding> out;
  for (const MilestoneInfo& m : milestones.all()) {
    MilestoneStanding s;
    s.milestone = &m;
    if (auto it = runs.find(m.folder); it != runs.end()) s.last = it->second;
    for (const ModuleInfo* needed : required_modules(course, m)) {
      auto it = modules.find(needed->folder);
      std::string why = it == modules.end() ? "not tested yet" : it->second;
      if (!why.empty()) s.unfinished.push_back({needed, why});
    }
    auto state_of = [](MilestoneOutcome o) {
      switch (o) {
        case MilestoneOutcome::Met:
          return MilestoneState::Met;
        case MilestoneOutcome::Missed:
          return MilestoneState::Missed;
        case MilestoneOutcome::QuickPassed:
          return MilestoneState::QuickPassed;
        case MilestoneOutcome::QuickFailed:
          return MilestoneState::QuickFailed;
        case MilestoneOutcome::BadResults:
          return MilestoneState::NoResults;
        default:
          return MilestoneState::Crashed;
      }
    };
    if (!s.unfinished.empty()) {
      s.state = MilestoneState::Locked;
    } else if (s.last.full) {
      s.state = state_of(s.last.full->outcome);
    } else if (s.last.quick) {
      s.state = state_of(s.last.quick->outcome);
    } else {
      s.state = MilestoneState::Ready;
    }
    out.push_back(std::move(s));
  }
  return out;
}

const MilestoneStanding* next_milestone(const std::vector<MilestoneStanding>& standings) {
  for (const MilestoneStanding& s : standings) {
    if (s.state != MilestoneState::Locked && s.state != MilestoneState::Met) return &s;
  }
  return nullptr;
}

}  // namespace tito
