// tito status: the whole course at a glance, derived from the tests.
#include <CLI/CLI.hpp>

#include <iomanip>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli/context.hpp"
#include "cli/milestone_cmd.hpp"
#include "engine/status.hpp"
#include "engine/workflow.hpp"
#include "util/json_document.hpp"

namespace tito::cli {

namespace {

int run_status(Context& ctx, bool as_json) {
  TestReport report = sync_and_test(ctx.course(), ctx.build_dir(), {}, ctx.progress());
  const Terminal& t = ctx.terminal;
  int counts[5] = {0, 0, 0, 0, 0};
  for (const ModuleReport& m : report.modules) ++counts[static_cast<int>(stage_of(m))];
  std::string next = next_step(ctx.course(), report);
  Milestones course_milestones = Milestones::load(ctx.course());
  std::vector<MilestoneStanding> milestones = standings_after(ctx, course_milestones, report);
  if (as_json) {
    nlohmann::json modules = nlohmann::json::array();
    for (const ModuleReport& m : report.modules) {
      modules.push_back({{"module", m.module->folder},
                         {"stage", describe(stage_of(m))},
                         {"passed", m.passed()},
                         {"total", m.total()},
                         {"exercises", m.exercises},
                         {"exercises_written", m.written()}});
    }
    std::cout << dump_json(nlohmann::json{{"modules", modules}, {"next", next}, {"milestones", milestones_json(milestones)}},
                           2)
              << "\n";
    return kExitOk;
  }
  std::size_t width = 6;
  for (const ModuleReport& m : report.modules) width = std::max(width, m.module->folder.size() + 2 + m.module->title.size());
  std::cout << "\n";
  for (const ModuleReport& m : report.modules) {
    std::string label;
    switch (stage_of(m)) {
      case Stage::Done: label = t.green("✓ done       "); break;
      case Stage::InProgress: label = t.yellow("… in progress"); break;
      case Stage::NotStarted: label = t.dim("· not started"); break;
      case Stage::Failing: label = t.red("✗ failing    "); break;
      case Stage::Broken: label = t.red("✗ no build   "); break;
    }
    std::ostringstream line;
    line << "  " << label << "  " << std::left << std::setw(static_cast<int>(width))
         << (m.module->folder + "  " + m.module->title);
    if (m.outcome == ModuleOutcome::Tested) {
      line << "  " << m.passed() << "/" << m.total() << " tests";
      if (m.exercises > 0) line << " · " << m.written() << "/" << m.exercises << " exercises written";
    } else if (m.outcome == ModuleOutcome::Blocked) {
      line << "  waits on " << m.blocked_by;
    }
    std::cout << line.str() << "\n";
  }
  std::cout << "\n"
            << counts[0] << " done, " << counts[1] << " in progress, " << counts[2] << " not started";
  if (counts[3] + counts[4] > 0) std::cout << ", " << counts[3] + counts[4] << " failing";
  std::cout << "\n" << t.bold("next: ") << next << "\n";
  print_milestone_section(ctx, milestones);
  return kExitOk;
}

}  // namespace

void add_status_command(CLI::App& app, Context& ctx) {
  auto as_json = std::make_shared<bool>(false);
  CLI::App* cmd = app.add_subcommand("status", "The whole course at a glance, from its tests, and what to do next");
  cmd->add_flag("--json", *as_json, "Print JSON on stdout");
  cmd->footer("Runs every module's tests (like `tito test`); there is no progress file to drift.");
  cmd->callback([&ctx, as_json] { ctx.run = [&ctx, as_json] { return run_status(ctx, *as_json); }; });
}

}  // namespace tito::cli
