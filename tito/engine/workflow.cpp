#include "engine/workflow.hpp"

#include "engine/last_results.hpp"
#include "util/error.hpp"

namespace tito {

SyncPlan sync_package(const Course& course, const SyncOptions& options, Progress& progress) {
  SyncPlan plan = plan_sync(course, options);
  for (const Diagnostic& w : plan.warnings) progress.warning(w);
  if (!plan.ok()) throw DiagnosticError(plan.errors);
  apply_sync(course, plan);
  std::vector<const FilePlan*> changes = plan.changes();
  for (const FilePlan* f : changes) progress.detail(std::string(describe(f->change)) + ": " + f->path);
  if (!changes.empty()) {
    progress.step("exported " + std::to_string(changes.size()) + " file" + (changes.size() == 1 ? "" : "s") +
                  " to package/generated");
  }
  return plan;
}

Builder configured_builder(const Course& course, const std::filesystem::path& build_dir, Progress& progress) {
  Builder builder(course, build_dir, progress);
  builder.ensure_configured();
  return builder;
}

TestReport sync_and_test(const Course& course, const std::filesystem::path& build_dir, const TestOptions& options,
                         Progress& progress) {
  SyncPlan plan = sync_package(course, {options.modules, false}, progress);
  Builder builder = configured_builder(course, build_dir, progress);
  TestReport report = run_module_tests(course, plan, builder, options, progress);
  save_last_results(builder.build_dir(), report);
  return report;
}

}  // namespace tito
