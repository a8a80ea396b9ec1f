// tito release --out DIR [--module M...] [--force]
// tito release --check [--module M...] [--keep DIR]
#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include <iostream>

#include "cli/context.hpp"
#include "engine/release.hpp"
#include "engine/release_check.hpp"

namespace tito::cli {

namespace {

struct ReleaseArgs {
  std::string out;
  std::vector<std::string> modules;
  bool force = false;
  bool check = false;
  std::string keep;
  int timeout = 60;
};

int run_check(Context& ctx, const ReleaseArgs& args) {
  ReleaseCheckOptions options;
  options.modules = args.modules;
  options.tito = fs::canonical("/proc/self/exe");
  options.keep = args.keep;
  options.timeout_seconds = args.timeout;
  ReleaseCheck check = check_release(ctx.course(), options, ctx.progress());
  const Terminal& t = ctx.terminal;
  int passed = 0;
  for (const CheckStep& step : check.steps) {
    passed += step.ok;
    std::cout << (step.ok ? t.green("✓ ") : t.red("✗ ")) << step.name << "\n";
    for (const std::string& d : step.details) std::cout << "    " << d << "\n";
  }
  std::cout << "checks: " << passed << " passed, " << check.steps.size() - passed << " failed\n";
  return check.ok() ? kExitOk : kExitFailure;
}

int run_release(Context& ctx, const ReleaseArgs& args) {
  if (args.check) return run_check(ctx, args);
  if (args.out.empty()) throw Error("say where the student course goes: tito release --out DIR", kExitUsage);
  const Course& course = ctx.course();
  ReleaseContent content = make_release(course, {args.modules, false});
  write_release(course, content, args.out, args.force);
  std::cout << "released the student course to " << args.out << ": " << content.files.size() << " files, "
            << content.exercises << (content.exercises == 1 ? " exercise" : " exercises") << " for students to write\n";
  if (!ctx.quiet()) std::cout << "check it with: tito release --check\n";
  return kExitOk;
}

}  // namespace

void add_release_command(CLI::App& app, Context& ctx) {
  auto args = std::make_shared<ReleaseArgs>();
  CLI::App* cmd = app.add_subcommand("release", "Write the student course: solutions and hidden tests stripped");
  cmd->add_option("--out", args->out, "The folder to write (must be empty, or --force)")->type_name("DIR");
  cmd->add_option("--module", args->modules, "Release only these modules (and what they require)")
      ->type_name("MODULE");
  cmd->add_flag("--force", args->force, "Replace a non-empty --out folder");
  cmd->add_flag("--check", args->check,
                "Release into a temporary folder and check it: deterministic, no leaks, compiles, every test "
                "not implemented, and every test passes with the solutions pasted back");
  cmd->add_option("--keep", args->keep, "With --check: work in DIR and keep it, to look at")->type_name("DIR");
  cmd->add_option("--timeout", args->timeout, "With --check: seconds per test")->capture_default_str();
  cmd->callback([&ctx, args] { ctx.run = [&ctx, args] { return run_release(ctx, *args); }; });
}

}  // namespace tito::cli
