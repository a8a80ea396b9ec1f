// tito: the TinyTorch course toolchain. This file wires CLI11 only; each verb
// lives in cli/, the work in engine/.
#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include <filesystem>
#include <iostream>
#include <new>

#include "cli/context.hpp"
#include "cli/verbs.hpp"
#include "util/error.hpp"

#ifndef TITO_VERSION
#define TITO_VERSION "0.0.0"
#endif

namespace {

using namespace tito;

// Every verb, in the order `tito --help` lists them: adding one is one line
// here (and its cli/NAME_cmd.cpp).
constexpr cli::AddVerb kVerbs[] = {
    cli::add_sync_command,    cli::add_test_command,   cli::add_module_command,   cli::add_data_command,
    cli::add_release_command, cli::add_status_command, cli::add_notebook_command, cli::add_milestone_command,
    cli::add_grade_command,
};

void add_global_options(CLI::App& app, cli::Context& ctx) {
  app.add_option("--root", ctx.options.root, "The course folder (default: found from the current folder, or TITO_ROOT)")
      ->type_name("DIR");
  app.add_option("--build-dir", ctx.options.build_dir, "The build folder (default: TITO_BUILD_DIR or <root>/build)")
      ->type_name("DIR");
  app.add_flag_function("-v,--verbose", [&](std::int64_t n) { ctx.options.verbosity = static_cast<int>(n); },
                        "Say more (tool output, every file written)");
  app.add_flag_function("-q,--quiet", [&](std::int64_t) { ctx.options.verbosity = -1; },
                        "Say only warnings and errors");
  app.add_option("--color", ctx.options.color, "Colour: auto (on a terminal, unless NO_COLOR), always, never")
      ->check(CLI::IsMember({"auto", "always", "never"}))
      ->capture_default_str();
}

int usage_error(const std::string& message) {
  std::cerr << "error: " << message << "\n";
  return kExitUsage;
}

// An ordinary file-system failure, said as what it is: "cannot create
// directories /x/build/tito: Not a directory".
std::string describe(const std::filesystem::filesystem_error& e) {
  std::string what = e.what();
  const std::string prefix = "filesystem error: ";
  if (what.starts_with(prefix)) what = what.substr(prefix.size());
  std::string reason = e.code().message();
  std::size_t cut = what.find(": " + reason);
  std::string operation = cut == std::string::npos ? what : what.substr(0, cut);
  std::string paths;
  if (!e.path1().empty()) paths += " " + e.path1().string();
  if (!e.path2().empty()) paths += " and " + e.path2().string();
  std::string hint = e.code() == std::errc::no_space_on_device ? " (the disk is full: free some space and run again)" : "";
  return operation + paths + ": " + reason + hint;
}

// The one top-level catch: a typed error becomes its message and exit code.
int run(cli::Context& ctx) {
  try {
    return ctx.run ? ctx.run() : kExitUsage;
  } catch (const DiagnosticError& e) {
    cli::report_diagnostics(e.diagnostics(), true);
    if (!e.outcome().empty()) spdlog::error("{}", e.outcome());
    return e.exit_code();
  } catch (const Error& e) {
    spdlog::error("{}", e.what());
    return e.exit_code();
  } catch (const std::filesystem::filesystem_error& e) {
    spdlog::error("{}", describe(e));
    return kExitFailure;
  } catch (const std::bad_alloc&) {
    spdlog::error("out of memory");
    return kExitFailure;
  } catch (const std::exception& e) {
    spdlog::critical("internal error: {} (please report this with the command you ran)", e.what());
    return kExitInternal;
  }
}

}  // namespace

int main(int argc, char** argv) {
  cli::Context ctx;
  CLI::App app{"tito " TITO_VERSION ": the TinyTorch course toolchain", "tito"};
  app.fallthrough();
  app.require_subcommand(1);
  app.set_version_flag("--version", "tito " TITO_VERSION);
  add_global_options(app, ctx);
  for (cli::AddVerb add : kVerbs) add(app, ctx);

  std::vector<std::string> args(argv + 1, argv + argc);
  if (std::string why = cli::unknown_verb(app, args); !why.empty()) return usage_error(why);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    return usage_error(std::string(e.what()) + "\nrun `tito --help` (or `tito COMMAND --help`) for usage");
  }
  ctx.start();
  return run(ctx);
}
