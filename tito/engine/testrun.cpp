#include "engine/testrun.hpp"

#include <algorithm>
#include <regex>

#include "engine/ctest_junit.hpp"
#include "engine/reset.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"

namespace tito {
namespace {

// The programs CTest could not list the tests of (GoogleTest's discovery runs each program
// before any test; a program that dies there, e.g. by calling unwritten library code from a
// namespace-scope object, stops the whole CTest run and no report is written). Returns the
// paths of the programs named in ctest's output, as it printed them.
std::vector<fs::path> programs_that_failed_listing(const std::string& output) {
  static const std::regex failed(R"(Error running test executable\.\s*Path:\s*'([^']+)')");
  std::vector<fs::path> programs;
  for (auto it = std::sregex_iterator(output.begin(), output.end(), failed); it != std::sregex_iterator(); ++it) {
    programs.emplace_back((*it)[1].str());
  }
  return programs;
}

TestCase listing_crash(const std::string& output) {
  TestCase c;
  c.name = "(listing the tests)";
  c.status = TestStatus::Crashed;
  c.message =
      "the test program died while listing its tests, before any test ran (library code called before main(), "
      "e.g. a Tensor at namespace scope in a test file?):\n" +
      output;
  return c;
}

}  // namespace

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
  // A program that dies while its tests are listed stops CTest for every module: report it as
  // that module's crash and run the others' tests again without it.
  // CTest lists every program's tests whatever the labels, but adds a "not built" placeholder
  // (outside the labels) for a program that is missing: the broken program is deleted, and
  // the next build links it again.
  while (!xml) {
    bool dropped = false;
    for (const fs::path& printed : programs_that_failed_listing(ran.output)) {
      const fs::path program = printed.is_absolute() ? printed : course.root() / printed;
      for (ModuleReport& r : report.modules) {
        if (r.outcome != ModuleOutcome::Tested || program.filename() != r.module->name + "_tests") continue;
        if (std::erase(labels, r.module->folder) == 0) continue;
        r.cases.push_back(listing_crash(ran.output));
        std::error_code ignored;
        fs::remove(program, ignored);
        dropped = true;
      }
    }
    if (!dropped) throw Error("ctest wrote no report; its output:\n" + ran.output);
    if (labels.empty()) return report;
    ran = builder.run_ctest(labels, junit, options.timeout_seconds, options.jobs);
    xml = read_file_if_exists(junit);
  }
  // Test output names files as the student knows them, not as the compiler saw them.
  for (auto& [folder, test] : read_ctest_junit(builder.relative_paths(*xml), ran.output)) {
    for (ModuleReport& r : report.modules) {
      if (r.module->folder == folder) r.cases.push_back(std::move(test));
    }
  }
  for (ModuleReport& r : report.modules) {
    if (r.outcome == ModuleOutcome::Tested && r.cases.empty() && !ran.ok) {
      // The program could not even list its tests: it crashed before main's work.
      r.cases.push_back(listing_crash(ran.output));
    }
  }
  return report;
}

}  // namespace tito
