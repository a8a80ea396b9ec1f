#include "engine/testrun.hpp"

#include <algorithm>

#include "engine/ctest_junit.hpp"
#include "engine/reset.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"

namespace tito {

TestReport run_module_tests(const Course& course, const SyncPlan& plan, Builder& builder, const TestOptions& options,
                            Progress& progress) {
  TestReport report;
  std::vector<std::string> labels;
  for (ModuleBuild& b : build_modules(course, plan, builder, {options.modules, true, false}, progress)) {
    if (!b.selected) continue;
    ModuleReport r;
    r.module = b.module;
    if (const ModuleState* state = plan.state(b.module->folder)) r.exercises = state->exercises;
    r.exercises_left = std::min(r.exercises, exercises_left(course, *b.module));
    switch (b.outcome) {
      case BuildOutcome::Failed:
        r.outcome = ModuleOutcome::BuildFailed;
        r.build_output = std::move(b.output);
        break;
      case BuildOutcome::Blocked:
        r.outcome = ModuleOutcome::Blocked;
        r.blocked_by = b.blocked_by;
        break;
      case BuildOutcome::Built:
      case BuildOutcome::NothingToBuild:
        r.outcome = b.has_tests ? ModuleOutcome::Tested : ModuleOutcome::NoTests;
        if (b.has_tests) labels.push_back(b.module->folder);
        break;
    }
    report.modules.push_back(std::move(r));
  }
  if (labels.empty()) return report;

  progress.step("running tests");
  fs::path junit = builder.build_dir() / "tito" / "ctest-junit.xml";
  fs::create_directories(junit.parent_path());
  fs::remove(junit);
  BuildResult ran = builder.run_ctest(labels, junit, options.timeout_seconds, options.jobs);
  std::optional<std::string> xml = read_file_if_exists(junit);
  if (!xml) throw Error("ctest wrote no report; its output:\n" + ran.output);
  // Test output names files as the student knows them, not as the compiler saw them.
  for (auto& [folder, test] : read_ctest_junit(builder.relative_paths(*xml), ran.output)) {
    for (ModuleReport& r : report.modules) {
      if (r.module->folder == folder) r.cases.push_back(std::move(test));
    }
  }
  for (ModuleReport& r : report.modules) {
    if (r.outcome == ModuleOutcome::Tested && r.cases.empty() && !ran.ok) {
      // The program could not even list its tests: it crashed before main's work.
      TestCase c;
      c.name = "(listing the tests)";
      c.status = TestStatus::Crashed;
      c.message = ran.output;
      r.cases.push_back(std::move(c));
    }
  }
  return report;
}

}  // namespace tito
