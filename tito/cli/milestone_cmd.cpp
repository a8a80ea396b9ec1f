// tito milestone list|run NAME|status
#include "cli/milestone_cmd.hpp"

#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <iomanip>
#include <iostream>
#include <optional>
#include <sstream>

#include "engine/build_log.hpp"
#include "engine/last_results.hpp"
#include "engine/workflow.hpp"
#include "data/cache.hpp"
#include "data/registry.hpp"
#include "engine/milestone.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"

namespace tito::cli {

namespace {

using json = nlohmann::json;

std::atomic<bool> g_interrupted{false};

extern "C" void on_milestone_interrupt(int) { g_interrupted.store(true); }

// While alive, Ctrl-C is noted (the program, in our process group, gets it
// too and stops); the run then ends with exit 130 and keeps no result.
class InterruptGuard {
 public:
  InterruptGuard() {
    g_interrupted.store(false);
    struct sigaction sa {};
    sa.sa_handler = on_milestone_interrupt;
    sigemptyset(&sa.sa_mask);
    installed_ = ::sigaction(SIGINT, &sa, &previous_) == 0;
  }
  ~InterruptGuard() {
    if (installed_) ::sigaction(SIGINT, &previous_, nullptr);
  }
  InterruptGuard(const InterruptGuard&) = delete;
  InterruptGuard& operator=(const InterruptGuard&) = delete;

 private:
  struct sigaction previous_ {};
  bool installed_ = false;
};

std::string number(double v) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.4g", v);
  return buffer;
}

std::string joined(const std::vector<std::string>& items, const std::string& separator = ", ") {
  std::string out;
  for (const std::string& i : items) out += (out.empty() ? "" : separator) + i;
  return out;
}

// "test_accuracy 0.8812 · seconds_per_epoch 3.21" (at most `most` of them).
std::string figures(const Metrics& metrics, std::size_t most = 3) {
  std::vector<std::string> parts;
  for (const auto& [name, value] : metrics) {
    if (parts.size() == most) break;
    parts.push_back(name + " " + (value ? number(*value) : "nan"));
  }
  return joined(parts, " · ");
}

// Columns count characters, not bytes: titles may hold "≥" or "é".
std::size_t width(const std::string& s) {
  std::size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

// `s` padded with spaces to `w` characters.
std::string cell(const std::string& s, std::size_t w) { return s + std::string(w > width(s) ? w - width(s) : 0, ' '); }

// "0.42 s", "3 min 05 s".
std::string duration(double seconds) {
  char buffer[32];
  if (seconds < 60) {
    std::snprintf(buffer, sizeof buffer, "%.2f s", seconds);
  } else {
    long s = static_cast<long>(seconds + 0.5);
    std::snprintf(buffer, sizeof buffer, "%ld min %02ld s", s / 60, s % 60);
  }
  return buffer;
}

// The verdict without what the headline says already.
std::string verdict_detail(const std::string& verdict) {
  for (std::string_view prefix : {"quick validation passed: ", "quick validation failed: ", "target missed: "}) {
    if (verdict.starts_with(prefix)) return verdict.substr(prefix.size());
  }
  return verdict == "target met" || verdict == "target missed" ? "" : verdict;
}

std::string date_of(const std::string& at) { return at.substr(0, 10); }

// The module's name for `tito test NAME`.
std::string test_command(const ModuleInfo& m) { return "`tito test " + m.name + "`"; }

// What a standing says after its state: figures and date, or what locks it.
std::string standing_detail(const MilestoneStanding& s) {
  switch (s.state) {
    case MilestoneState::Locked: {
      std::vector<std::string> parts;
      for (const UnfinishedModule& u : s.unfinished) parts.push_back(u.module->folder + " (" + u.why + ")");
      return "needs " + joined(parts);
    }
    case MilestoneState::Ready:
      return "";
    case MilestoneState::Met:
    case MilestoneState::Missed: {
      std::string f = figures(s.last.full->metrics);
      return (f.empty() ? "" : f + " · ") + std::to_string(s.last.full->epochs) + " epochs · " +
             date_of(s.last.full->at);
    }
    case MilestoneState::QuickPassed:
    case MilestoneState::QuickFailed:
    case MilestoneState::Crashed:
    case MilestoneState::NoResults: {
      const StoredRun& r = s.last.full ? *s.last.full : *s.last.quick;
      return std::string(s.last.full ? "full" : "quick") + " run · " + date_of(r.at);
    }
  }
  return "";
}

// "✓ met", coloured; padded to one width when something follows it.
std::string painted_state(const Terminal& t, MilestoneState state, bool pad = true) {
  auto shown = [&](const std::string& word) { return pad ? cell(word, 14) : word; };
  switch (state) {
    case MilestoneState::Met:
      return t.green(shown("✓ met"));
    case MilestoneState::Missed:
      return t.red(shown("✗ missed"));
    case MilestoneState::QuickPassed:
      return t.yellow(shown("… quick passed"));
    case MilestoneState::QuickFailed:
      return t.red(shown("✗ quick failed"));
    case MilestoneState::Crashed:
      return t.red(shown("✗ crashed"));
    case MilestoneState::NoResults:
      return t.red(shown("✗ no results"));
    case MilestoneState::Ready:
      return t.cyan(shown("▸ ready"));
    case MilestoneState::Locked:
      return t.dim(shown("· locked"));
  }
  return "";
}

// The line after the section: what to run next.
std::string next_text(const std::vector<MilestoneStanding>& standings) {
  if (const MilestoneStanding* next = next_milestone(standings)) {
    const std::string& name = next->milestone->name;
    if (next->state == MilestoneState::Ready)
      return "`tito milestone run " + name + " --quick`, then `tito milestone run " + name + "`";
    return "`tito milestone run " + name + "`";
  }
  for (const MilestoneStanding& s : standings) {
    if (s.state == MilestoneState::Locked) {
      std::vector<std::string> names;
      for (const UnfinishedModule& u : s.unfinished) names.push_back(u.module->folder);
      return "finish " + joined(names) + " to unlock " + s.milestone->folder;
    }
  }
  return "every milestone met its target: well done";
}

json stored_json(const std::optional<StoredRun>& r) {
  if (!r) return nullptr;
  json metrics = json::object();
  for (const auto& [name, value] : r->metrics) metrics[name] = value ? json(*value) : json(nullptr);
  return {{"outcome", describe(r->outcome)},
          {"metrics", metrics},
          {"epochs", r->epochs},
          {"seconds", r->seconds},
          {"at", r->at},
          {"detail", r->detail},
          {"out", r->out}};
}

int run_list(Context& ctx, bool as_json) {
  const Course& course = ctx.course();
  Milestones milestones = Milestones::load(course);
  std::vector<MilestoneStanding> standings =
      milestone_standings(course, milestones, module_standing(course, load_last_results(ctx.build_dir())),
                          load_milestone_runs(ctx.build_dir()));
  if (as_json) {
    std::cout << milestones_json(standings).dump(2) << "\n";
    return kExitOk;
  }
  if (standings.empty()) {
    std::cout << "no milestones yet: milestones/README.md says how to write one\n";
    return kExitOk;
  }
  const Terminal& t = ctx.terminal;
  std::size_t name_w = 4, title_w = 5, req_w = 8;
  for (const MilestoneStanding& s : standings) {
    name_w = std::max(name_w, width(s.milestone->name));
    title_w = std::max(title_w, width(s.milestone->heading()));
    req_w = std::max(req_w, width(joined(s.milestone->required)));
  }
  std::cout << t.bold(cell("#", 4) + cell("name", name_w + 2) + cell("title", title_w + 2) +
                      cell("requires", req_w + 2) + "state")
            << "\n";
  for (const MilestoneStanding& s : standings) {
    char nn[16];
    std::snprintf(nn, sizeof nn, "%02d", s.milestone->number);
    std::string detail = standing_detail(s);
    std::cout << cell(nn, 4) << cell(s.milestone->name, name_w + 2) << cell(s.milestone->heading(), title_w + 2)
              << cell(joined(s.milestone->required), req_w + 2) << painted_state(t, s.state, !detail.empty())
              << (detail.empty() ? "" : "  " + detail) << "\n";
  }
  return kExitOk;
}

int run_status(Context& ctx, bool as_json) {
  const Course& course = ctx.course();
  Milestones milestones = Milestones::load(course);
  std::vector<std::string> needed;
  for (const MilestoneInfo& m : milestones.all()) {
    for (const ModuleInfo* mod : required_modules(course, m)) {
      if (std::find(needed.begin(), needed.end(), mod->folder) == needed.end()) needed.push_back(mod->folder);
    }
  }
  TestReport report;
  if (!needed.empty()) report = sync_and_test(ctx.course(), ctx.build_dir(), {needed, 60, 2}, ctx.progress());
  std::vector<MilestoneStanding> standings = standings_after(ctx, milestones, report);
  if (as_json) {
    std::cout << json{{"milestones", milestones_json(standings)}, {"next", next_text(standings)}}.dump(2) << "\n";
    return kExitOk;
  }
  if (standings.empty()) {
    std::cout << "no milestones yet: milestones/README.md says how to write one\n";
    return kExitOk;
  }
  print_milestone_section(ctx, standings);
  return kExitOk;
}

struct RunArgs {
  std::string name;
  bool quick = false;
  int epochs = 0;
  std::string out;
  std::uint64_t seed = 0;
  bool epochs_given = false;
  bool seed_given = false;
  int timeout = 60;
};

// "" when the dataset is ready; else what is wrong and the command that fixes it.
DatasetCheck dataset_check(const data::DataLocations& where) {
  auto registry = std::make_shared<std::optional<data::Registry>>();
  return [where, registry](const std::string& name) -> std::string {
    if (!*registry) *registry = data::Registry::load(where.registry);
    const data::Dataset& d = (*registry)->find(name);
    data::DatasetStatus s = data::dataset_status(d, where.cache);
    if (s.state == data::CacheState::Ready) return "";
    std::string fix = "run `tito data fetch " + name + "`";
    fs::path debian = fs::path("/usr/share/datasets") / name;
    std::error_code ec;
    if (fs::is_directory(debian, ec))
      fix += " (offline: `tito data fetch " + name + " --from " + debian.string() + "`)";
    return std::string(data::describe(s.state)) + (s.detail.empty() ? "" : " (" + s.detail + ")") + ": " + fix;
  };
}

void print_results(Context& ctx, const MilestoneRun& r) {
  const Terminal& t = ctx.terminal;
  const MilestoneInfo& m = *r.milestone;
  const MilestoneResults& res = *r.results;
  std::string mode = r.quick ? "quick run" : "full run";
  std::string span =
      mode + ", " + std::to_string(res.epochs) + " epoch" + (res.epochs == 1 ? "" : "s") + ", " + duration(res.seconds);
  std::cout << "\n";
  switch (r.outcome) {
    case MilestoneOutcome::Met:
      std::cout << t.green(t.bold("✓ " + m.folder + " met its target")) << ": " << m.target << " (" << span << ")\n";
      break;
    case MilestoneOutcome::Missed:
      std::cout << t.red(t.bold("✗ " + m.folder + " missed its target")) << ": " << m.target << " (" << span << ")\n";
      break;
    case MilestoneOutcome::QuickPassed:
      std::cout << t.green(t.bold("✓ " + m.folder + " passed its quick validation")) << " (" << span << ")\n";
      break;
    default:
      std::cout << t.red(t.bold("✗ " + m.folder + " failed its quick validation")) << " (" << span << ")\n";
      break;
  }
  if (std::string detail = verdict_detail(res.verdict); !detail.empty()) std::cout << "  " << detail << "\n";
  std::size_t w = 7;
  for (const auto& [name, value] : res.metrics) w = std::max(w, name.size());
  for (const std::string& a : res.artifacts) w = std::max(w, a.size());
  for (const auto& [name, value] : res.metrics) {
    std::cout << "  " << std::left << std::setw(static_cast<int>(w) + 2) << name << (value ? number(*value) : "nan")
              << "\n";
  }
  for (const std::string& note : res.notes) std::cout << "  " << t.yellow("note: ") << note << "\n";
  if (!r.faster_linked.empty()) {
    std::vector<std::string> folders;
    for (const ModuleInfo* f : r.faster_linked) folders.push_back(f->folder);
    std::cout << "  faster with " << joined(folders) << " (linked in: " << (folders.size() == 1 ? "it passes its" : "they pass their")
              << " tests)\n";
  } else if (!r.faster_problem.empty()) {
    std::cout << "  " << t.yellow("note: ") << "built without the modules that would make it faster: " << r.faster_problem
              << "\n";
  }
  std::cout << "  " << std::left << std::setw(static_cast<int>(w) + 2) << "results"
            << ctx.course().rel(r.out / "results.json") << "\n";
  for (const std::string& a : res.artifacts) {
    std::cout << "  " << std::left << std::setw(static_cast<int>(w) + 2) << a << ctx.course().rel(r.out / a) << "\n";
  }
  if (r.outcome == MilestoneOutcome::QuickPassed && !ctx.quiet()) {
    std::cout << "next: `tito milestone run " << m.name << "` for the full run\n";
  }
}

int report_run(Context& ctx, const MilestoneRun& r, const data::DataLocations& where) {
  const MilestoneInfo& m = *r.milestone;
  switch (r.outcome) {
    case MilestoneOutcome::Refused: {
      if (!r.unfinished.empty()) {
        spdlog::error("{} is locked: the modules it needs do not pass their tests yet", m.folder);
        std::size_t w = 0;
        for (const UnfinishedModule& u : r.unfinished) w = std::max(w, u.module->folder.size());
        for (const UnfinishedModule& u : r.unfinished) {
          std::cerr << "  " << std::left << std::setw(static_cast<int>(w) + 2) << u.module->folder << u.why << "  → "
                    << test_command(*u.module) << "\n";
        }
      }
      if (!r.missing_data.empty()) {
        spdlog::error("{} reads data that is not ready in the cache ({})", m.folder, ctx.course().rel(where.cache));
        for (const MissingData& d : r.missing_data) std::cerr << "  " << d.dataset << ": " << d.problem << "\n";
      }
      std::cerr << "the milestone was not run; `tito milestone run " << m.name << "` again once "
                << (r.unfinished.empty() ? "the data is there" : "they pass") << "\n";
      return kExitFailure;
    }
    case MilestoneOutcome::BuildFailed: {
      std::cerr << compiler_messages(r.build_output, ctx.options.verbosity > 0);
      std::vector<std::string> sources;
      for (const std::string& s : m.sources) sources.push_back(ctx.course().rel(m.dir / s));
      spdlog::error("{} does not compile; the messages above point at {}", m.folder, joined(sources));
      return kExitFailure;
    }
    case MilestoneOutcome::Interrupted:
      spdlog::error("interrupted: {} did not finish; no result was kept", m.folder);
      return kExitInterrupted;
    case MilestoneOutcome::Crashed:
      spdlog::error("{} crashed: the program {}; its output is above", m.folder, r.problem);
      return kExitFailure;
    case MilestoneOutcome::BadResults:
      spdlog::error("{} wrote no usable results: {}", m.folder, r.problem);
      return kExitFailure;
    case MilestoneOutcome::Met:
    case MilestoneOutcome::Missed:
    case MilestoneOutcome::QuickPassed:
    case MilestoneOutcome::QuickFailed:
      print_results(ctx, r);
      return r.ok() ? kExitOk : kExitFailure;
  }
  return kExitFailure;
}

int run_run(Context& ctx, const RunArgs& args) {
  const Course& course = ctx.course();
  Milestones milestones = Milestones::load(course);
  const MilestoneInfo& m = milestones.find(args.name);
  if (args.timeout <= 0) throw Error("--timeout must be a positive number of seconds", kExitUsage);
  std::vector<std::string> folders;
  for (const ModuleInfo* mod : required_modules(course, m)) folders.push_back(mod->folder);
  // The "faster_with" modules are synced with the required ones; one that cannot be synced (an
  // error in its dev file) is left out, and the milestone runs without it.
  std::vector<std::string> with_faster = folders;
  for (const ModuleInfo* mod : faster_modules(course, m)) with_faster.push_back(mod->folder);
  std::string faster_unavailable;
  std::optional<SyncPlan> synced;
  if (with_faster.size() > folders.size()) {
    try {
      synced = sync_package(ctx.course(), {with_faster, false}, ctx.progress());
    } catch (const DiagnosticError& e) {
      faster_unavailable = "a dev file of the faster modules has errors (`tito sync` shows them)";
    }
  }
  SyncPlan plan = synced ? std::move(*synced) : sync_package(ctx.course(), {folders, false}, ctx.progress());
  Builder builder = configured_builder(ctx.course(), ctx.build_dir(), ctx.progress());
  data::DataLocations where = data::resolve_locations(course.root(), "", "");
  MilestoneRunOptions options;
  options.quick = args.quick;
  if (args.epochs_given) options.epochs = args.epochs;
  if (args.seed_given) options.seed = args.seed;
  options.out = args.out;
  options.data_dir = where.cache;
  options.tests.timeout_seconds = args.timeout;
  options.faster_unavailable = faster_unavailable;
  options.interrupted = &g_interrupted;
  InterruptGuard guard;
  MilestoneRun r = run_milestone(course, m, plan, builder, options, dataset_check(where), ctx.progress());
  return report_run(ctx, r, where);
}

}  // namespace

std::vector<MilestoneStanding> standings_after(Context& ctx, const Milestones& milestones, const TestReport& report) {
  return milestone_standings(ctx.course(), milestones, module_standing(report), load_milestone_runs(ctx.build_dir()));
}

void print_milestone_section(Context& ctx, const std::vector<MilestoneStanding>& standings) {
  if (standings.empty()) return;
  const Terminal& t = ctx.terminal;
  std::size_t folder_w = 0, title_w = 0;
  for (const MilestoneStanding& s : standings) {
    folder_w = std::max(folder_w, width(s.milestone->folder));
    title_w = std::max(title_w, width(s.milestone->heading()));
  }
  std::cout << "\n" << t.bold("milestones") << "\n";
  for (const MilestoneStanding& s : standings) {
    std::string detail = standing_detail(s);
    std::string line = "  " + painted_state(t, s.state) + "  " + cell(s.milestone->folder, folder_w + 2) +
                       (detail.empty() ? s.milestone->heading() : cell(s.milestone->heading(), title_w + 2) + detail);
    std::cout << line << "\n";
  }
  std::cout << t.bold("next milestone: ") << next_text(standings) << "\n";
}

json milestones_json(const std::vector<MilestoneStanding>& standings) {
  json out = json::array();
  for (const MilestoneStanding& s : standings) {
    const MilestoneInfo& m = *s.milestone;
    json unfinished = json::array();
    for (const UnfinishedModule& u : s.unfinished) unfinished.push_back({{"module", u.module->folder}, {"why", u.why}});
    out.push_back({{"number", m.number},
                   {"folder", m.folder},
                   {"name", m.name},
                   {"title", m.title},
                   {"year", m.year},
                   {"requires", m.required},
                   {"data", m.data},
                   {"target", m.target},
                   {"state", describe(s.state)},
                   {"unfinished", unfinished},
                   {"last_full", stored_json(s.last.full)},
                   {"last_quick", stored_json(s.last.quick)}});
  }
  return out;
}

void add_milestone_command(CLI::App& app, Context& ctx) {
  CLI::App* milestone =
      app.add_subcommand("milestone", "Run the course's milestones: historic networks trained with your library");
  milestone->require_subcommand(1);

  auto list_json = std::make_shared<bool>(false);
  CLI::App* list =
      milestone->add_subcommand("list", "The milestones: number, title, requires, state (from the last tests)");
  list->add_flag("--json", *list_json, "Print JSON on stdout");
  list->callback([&ctx, list_json] { ctx.run = [&ctx, list_json] { return run_list(ctx, *list_json); }; });

  auto status_json = std::make_shared<bool>(false);
  CLI::App* status = milestone->add_subcommand(
      "status", "Test the modules the milestones need; show which are unlocked, which met, what next");
  status->add_flag("--json", *status_json, "Print JSON on stdout");
  status->callback([&ctx, status_json] { ctx.run = [&ctx, status_json] { return run_status(ctx, *status_json); }; });

  auto args = std::make_shared<RunArgs>();
  CLI::App* run =
      milestone->add_subcommand("run", "Test the modules it needs, build the milestone, train, judge the target");
  run->add_option("milestone", args->name, "The milestone (name, folder or number)")->required();
  run->add_flag("--quick", args->quick,
                "Validate instead: a few batches of two short epochs on the real data; fails unless the loss goes "
                "down and every loss and gradient stays finite");
  run->add_option("--epochs", args->epochs, "Epochs to train (default: the milestone's)")->check(CLI::Range(1, 100000));
  run->add_option("--out", args->out, "Where results.json and the artifacts go (default: <build>/milestones/NN_name)")
      ->type_name("DIR");
  run->add_option("--seed", args->seed, "The random seed (default: the milestone's)");
  run->add_option("--timeout", args->timeout, "Seconds one test of a required module may run")->capture_default_str();
  run->footer(
      "Exit status: 0 target met (or --quick passed), 1 missed, failed, refused (a required module does not pass, "
      "or data is missing) or crashed, 2 usage error, 130 interrupted.");
  run->callback([&ctx, args, run] {
    args->epochs_given = run->count("--epochs") > 0;
    args->seed_given = run->count("--seed") > 0;
    ctx.run = [&ctx, args] { return run_run(ctx, *args); };
  });
}

}  // namespace tito::cli
