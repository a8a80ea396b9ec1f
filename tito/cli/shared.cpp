#include "cli/shared.hpp"

#include <spdlog/spdlog.h>

#include <iostream>

#include "util/text.hpp"

namespace tito::cli {

void write_sync(Context& ctx, const SyncPlan& plan) {
  if (!plan.ok()) {
    report_diagnostics(plan.errors, true);
    throw Error("nothing was written", kExitFailure);
  }
  apply_sync(ctx.course(), plan);
  std::vector<const FilePlan*> changes = plan.changes();
  for (const FilePlan* f : changes) spdlog::debug("{}: {}", describe(f->change), f->path);
  if (!changes.empty()) {
    ctx.progress().step("exported " + std::to_string(changes.size()) + " file" + (changes.size() == 1 ? "" : "s") +
                        " to package/generated");
  }
}

std::string compiler_messages(const std::string& log, bool verbose) {
  if (verbose) return log;
  std::string out;
  bool skip_next = false;
  for (const std::string& line : split_lines(log)) {
    if (skip_next) {
      skip_next = false;
      continue;
    }
    if (line.starts_with("FAILED: ")) {
      skip_next = true;  // the compile command
      continue;
    }
    if ((line.starts_with("[") && line.find('/') != std::string::npos && line.find("] ") != std::string::npos) ||
        line.starts_with("ninja: ") || line.starts_with("Change Dir: ")) {
      continue;
    }
    out += line + "\n";
  }
  return out;
}

SyncPlan sync_package(Context& ctx, const std::vector<std::string>& modules, bool force) {
  SyncPlan plan = plan_sync(ctx.course(), {modules, force});
  report_diagnostics(plan.warnings, false);
  write_sync(ctx, plan);
  return plan;
}

Builder configured_builder(Context& ctx) {
  Builder builder(ctx.course(), ctx.build_dir(), ctx.progress());
  builder.ensure_configured();
  return builder;
}

TestReport sync_and_test(Context& ctx, const TestOptions& options) {
  SyncPlan plan = sync_package(ctx, options.modules);
  Builder builder = configured_builder(ctx);
  TestReport report = run_module_tests(ctx.course(), plan, builder, options, ctx.progress());
  save_last_results(builder.build_dir(), report);
  return report;
}

bool report_builds(Context& ctx, const std::vector<ModuleBuild>& builds) {
  bool ok = true;
  for (const ModuleBuild& b : builds) {
    if (b.outcome == BuildOutcome::Failed) {
      ok = false;
      std::cerr << compiler_messages(b.output, ctx.options.verbosity > 0);
      spdlog::error("{} does not compile; the messages above point at {}", b.module->folder,
                    ctx.course().rel(b.module->dev_file()));
    } else if (b.outcome == BuildOutcome::Blocked) {
      ok = false;
      spdlog::warn("{} was not built: it requires {}, which does not compile", b.module->folder, b.blocked_by);
    }
  }
  return ok;
}

}  // namespace tito::cli
