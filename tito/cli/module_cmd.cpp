// tito module new|list|run
#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include <iomanip>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli/context.hpp"
#include "cli/shared.hpp"
#include "engine/reset.hpp"
#include "engine/scaffold.hpp"
#include "engine/sync.hpp"
#include "engine/last_results.hpp"
#include "engine/workflow.hpp"
#include "util/process.hpp"

namespace tito::cli {

namespace {

struct NewArgs {
  std::string name;
  std::string title;
  std::string difficulty = "medium";
  std::vector<std::string> required;
};

int run_new(Context& ctx, const NewArgs& args) {
  const Course& course = ctx.course();
  Scaffolded made = scaffold_module(course, {args.name, args.title, args.difficulty, args.required});
  for (const std::string& f : made.files) spdlog::debug("created {}", f);
  std::cout << "created modules/" << made.folder << "/ (" << made.files.size() << " files)\n";
  if (!ctx.quiet()) {
    std::cout << "next: edit modules/" << made.folder << "/" << args.name << "_dev.cpp, then `tito test " << args.name
              << "`\n";
  }
  return kExitOk;
}

int run_list(Context& ctx, bool as_json) {
  const Course& course = ctx.course();
  SyncPlan plan = plan_sync(course, {});
  std::map<std::string, LastResult> last = load_last_results(ctx.build_dir());
  if (as_json) {
    nlohmann::json out = nlohmann::json::array();
    for (const ModuleInfo& m : course.modules()) {
      out.push_back({{"number", m.number},
                     {"folder", m.folder},
                     {"name", m.name},
                     {"title", m.title},
                     {"difficulty", m.difficulty},
                     {"requires", m.required},
                     {"sync", describe(sync_state(plan, m))},
                     {"last_test", last.contains(m.folder) ? last[m.folder].summary : ""}});
    }
    std::cout << out.dump(2) << "\n";
    return kExitOk;
  }
  const Terminal& t = ctx.terminal;
  std::size_t name_w = 4, title_w = 5;
  for (const ModuleInfo& m : course.modules()) {
    name_w = std::max(name_w, m.name.size());
    title_w = std::max(title_w, m.title.size());
  }
  auto row = [&](const std::string& n, const std::string& name, const std::string& title, const std::string& diff,
                 const std::string& sync) {
    std::ostringstream s;
    s << std::left << std::setw(4) << n << std::setw(static_cast<int>(name_w) + 2) << name
      << std::setw(static_cast<int>(title_w) + 2) << title << std::setw(12) << diff << std::setw(21) << sync;
    return s.str();
  };
  std::cout << t.bold(row("#", "name", "title", "difficulty", "sync") + "last test") << "\n";
  for (const ModuleInfo& m : course.modules()) {
    char nn[16];
    std::snprintf(nn, sizeof nn, "%02d", m.number);
    std::string result = "never run";
    std::string shown = t.dim(result);
    if (auto it = last.find(m.folder); it != last.end()) {
      result = it->second.summary;
      shown = it->second.ok ? t.green(result) : t.yellow(result);
    }
    std::cout << row(nn, m.name, m.title, m.difficulty, describe(sync_state(plan, m))) << shown << "\n";
  }
  if (course.modules().empty()) std::cout << "no modules yet: `tito module new NAME` makes the first\n";
  return kExitOk;
}

int run_demo(Context& ctx, const std::string& ref) {
  const Course& course = ctx.course();
  const ModuleInfo& m = course.module(ref);
  SyncPlan plan = sync_package(course, {{m.folder}, false}, ctx.progress());
  const ModuleState* state = plan.state(m.folder);
  if (state == nullptr || !state->exported.has_demo) {
    throw Error(course.rel(m.dev_file()) + " has no '//| demo' cells to run");
  }
  Builder builder = configured_builder(course, ctx.build_dir(), ctx.progress());
  if (!report_builds(ctx, build_modules(course, plan, builder, {{m.folder}, false, true}, ctx.progress()))) {
    return kExitFailure;
  }
  ctx.progress().step("running " + demo_target(m));
  ProcessOptions options;
  options.capture = false;
  options.cwd = course.root();
  ProcessResult r = run_process({builder.program(demo_target(m)).string()}, options);
  if (r.signaled) spdlog::error("the demo of {} crashed (exit status {})", m.folder, r.exit_code);
  return r.exit_code;
}

struct ResetArgs {
  std::string module;
  bool list = false;
  std::string restore;
};

int run_reset(Context& ctx, const ResetArgs& args) {
  const Course& course = ctx.course();
  const ModuleInfo& m = course.module(args.module);
  std::string dev = course.rel(m.dev_file());
  if (args.list) {
    std::vector<Backup> backups = list_backups(course, m);
    for (const Backup& b : backups) {
      std::cout << b.stamp << "  " << course.rel(b.file) << (b.same_as_current ? "  (same as the current file)" : "")
                << "\n";
    }
    if (backups.empty()) std::cout << "no backups of " << dev << " yet\n";
    return kExitOk;
  }
  if (!args.restore.empty()) {
    std::string saved = restore_backup(course, m, args.restore);
    if (!saved.empty()) std::cout << "saved the current " << dev << " as backup " << saved << "\n";
    std::cout << "restored " << dev << " from backup " << args.restore << "\n";
    return kExitOk;
  }
  ResetResult r = reset_module(course, m);
  if (!r.changed) {
    std::cout << dev << " is the student version already; nothing to do\n";
    return kExitOk;
  }
  std::cout << "saved your " << dev << " as backup " << r.backup_stamp << " (`tito module reset " << m.name
            << " --restore " << r.backup_stamp << "` brings it back)\n"
            << "reset " << dev << " to the student version\n";
  return kExitOk;
}

}  // namespace

void add_module_command(CLI::App& app, Context& ctx) {
  CLI::App* module = app.add_subcommand("module", "Create, list and run course modules");
  module->require_subcommand(1);

  auto new_args = std::make_shared<NewArgs>();
  CLI::App* make = module->add_subcommand("new", "Create the next module from templates/module/");
  make->add_option("name", new_args->name, "The module's name, in snake_case (e.g. data_loader)")->required();
  make->add_option("--title", new_args->title, "Its title (default: from the name)");
  make->add_option("--difficulty", new_args->difficulty, "easy, medium or hard")
      ->check(CLI::IsMember({"easy", "medium", "hard"}))
      ->capture_default_str();
  make->add_option("--requires", new_args->required, "Modules it builds on")->type_name("MODULE");
  make->callback([&ctx, new_args] { ctx.run = [&ctx, new_args] { return run_new(ctx, *new_args); }; });

  auto list_json = std::make_shared<bool>(false);
  CLI::App* list = module->add_subcommand("list", "The course's modules: number, title, sync state, last test");
  list->add_flag("--json", *list_json, "Print JSON on stdout");
  list->callback([&ctx, list_json] { ctx.run = [&ctx, list_json] { return run_list(ctx, *list_json); }; });

  auto reset_args = std::make_shared<ResetArgs>();
  CLI::App* reset = module->add_subcommand("reset", "Restore a module's dev file to the student version (keeps a backup)");
  reset->add_option("module", reset_args->module, "The module (name, folder or number)")->required();
  reset->add_flag("--list", reset_args->list, "List the backups of the module's dev file");
  reset->add_option("--restore", reset_args->restore, "Bring back the backup with this stamp")->type_name("STAMP");
  reset->callback([&ctx, reset_args] { ctx.run = [&ctx, reset_args] { return run_reset(ctx, *reset_args); }; });

  auto run_ref = std::make_shared<std::string>();
  CLI::App* run = module->add_subcommand("run", "Build and run a module's //| demo cells, in order");
  run->add_option("module", *run_ref, "The module (name, folder or number)")->required();
  run->callback([&ctx, run_ref] { ctx.run = [&ctx, run_ref] { return run_demo(ctx, *run_ref); }; });
}

}  // namespace tito::cli
