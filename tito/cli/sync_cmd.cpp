// tito sync [MODULE...] [--check] [--force] [--no-build]
#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include <iostream>

#include "cli/context.hpp"
#include "cli/shared.hpp"
#include "engine/sync.hpp"
#include "engine/workflow.hpp"

namespace tito::cli {

namespace {

struct SyncArgs {
  std::vector<std::string> modules;
  bool check = false;
  bool force = false;
  bool no_build = false;
};

int check_only(Context& ctx, const SyncPlan& plan) {
  if (!plan.ok()) {
    report_diagnostics(plan.errors, true);
    return kExitFailure;
  }
  std::vector<const FilePlan*> changes = plan.changes();
  for (const FilePlan* f : changes) std::cout << describe(f->change) << ": " << f->path << "\n";
  if (changes.empty()) {
    if (!ctx.quiet()) std::cout << "the package is up to date with the dev files\n";
    return kExitOk;
  }
  spdlog::error("the package is out of date: {} file{} differ{} from the dev files; run `tito sync`", changes.size(),
                changes.size() == 1 ? "" : "s", changes.size() == 1 ? "s" : "");
  return kExitFailure;
}

int run_sync(Context& ctx, const SyncArgs& args) {
  const Course& course = ctx.course();
  if (args.check) {
    SyncPlan plan = plan_sync(course, {args.modules, args.force});
    report_diagnostics(plan.warnings, false);
    return check_only(ctx, plan);
  }
  SyncPlan plan = sync_package(course, {args.modules, args.force}, ctx.progress());
  if (args.no_build) return kExitOk;
  Builder builder = configured_builder(course, ctx.build_dir(), ctx.progress());
  std::vector<ModuleBuild> builds = build_modules(course, plan, builder, {args.modules, false, false}, ctx.progress());
  return report_builds(ctx, builds) ? kExitOk : kExitFailure;
}

}  // namespace

void add_sync_command(CLI::App& app, Context& ctx) {
  auto args = std::make_shared<SyncArgs>();
  CLI::App* cmd = app.add_subcommand("sync", "Export the dev files into the tinytorch library and compile it");
  cmd->add_option("modules", args->modules, "Modules to sync (name, folder or number); default: all")
      ->type_name("MODULE");
  cmd->add_flag("--check", args->check, "Write nothing; exit 1 and list the files when the package is out of date");
  cmd->add_flag("--force", args->force, "Overwrite generated files that were edited by hand");
  cmd->add_flag("--no-build", args->no_build, "Export only; do not compile");
  cmd->footer(
      "Generated files go to package/generated/ and carry #line directives, so compiler errors point at the dev "
      "file. A generated file edited by hand is never overwritten without --force.");
  cmd->callback([&ctx, args] { ctx.run = [&ctx, args] { return run_sync(ctx, *args); }; });
}

}  // namespace tito::cli
