// tito: the TinyTorch course toolchain. This file wires CLI11 only; each verb
// lives in cli/, the work in engine/.
#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include <iostream>

#include "cli/context.hpp"
#include "util/error.hpp"

#ifndef TITO_VERSION
#define TITO_VERSION "0.0.0"
#endif

int main(int argc, char** argv) {
  using namespace tito;
  cli::Context ctx;
  CLI::App app{"tito " TITO_VERSION ": the TinyTorch course toolchain", "tito"};
  app.fallthrough();
  app.require_subcommand(1);
  app.set_version_flag("--version", "tito " TITO_VERSION);
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

  cli::add_sync_command(app, ctx);
  cli::add_test_command(app, ctx);
  cli::add_module_command(app, ctx);
  cli::add_data_command(app, ctx);
  cli::add_release_command(app, ctx);
  cli::add_status_command(app, ctx);
  cli::add_notebook_command(app, ctx);
  cli::add_milestone_command(app, ctx);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    // A usage error: say what was wrong and where help is, exit 2.
    std::cerr << "error: " << e.what() << "\n"
              << "run `tito --help` (or `tito COMMAND --help`) for usage\n";
    return kExitUsage;
  }

  ctx.start();
  try {
    return ctx.run ? ctx.run() : kExitUsage;
  } catch (const DiagnosticError& e) {
    cli::report_diagnostics(e.diagnostics(), true);
    spdlog::error("nothing was written");
    return e.exit_code();
  } catch (const Error& e) {
    spdlog::error("{}", e.what());
    return e.exit_code();
  } catch (const std::exception& e) {
    spdlog::critical("internal error: {} (please report this with the command you ran)", e.what());
    return 70;
  }
}
