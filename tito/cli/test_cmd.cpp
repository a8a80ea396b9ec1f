// tito test [MODULE...] [--junit FILE] [--json] [--timeout S] [-j N]
#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <iomanip>
#include <iostream>
#include <map>
#include <set>
#include <sstream>

#include "cli/context.hpp"
#include "engine/build_log.hpp"
#include "engine/junit_report.hpp"
#include "engine/workflow.hpp"
#include "util/fs.hpp"
#include "util/text.hpp"

namespace tito::cli {

namespace {

struct TestArgs {
  std::vector<std::string> modules;
  std::string junit;
  bool json = false;
  int timeout = 60;
  int jobs = 2;
};

// "1 test", "3 tests"; with a verb, "1 test waits", "3 tests wait".
std::string tests_text(int n, const char* verb = nullptr) {
  std::string out = std::to_string(n) + (n == 1 ? " test" : " tests");
  if (verb != nullptr) out += std::string(" ") + verb + (n == 1 ? "s" : "");
  return out;
}

// "tensor (modules/01_tensor/tensor_dev.cpp:797, 802)".
std::string where(const Terminal& t, const Unwritten& u) {
  std::string lines;
  for (int l : u.lines) lines += (lines.empty() ? "" : ", ") + std::to_string(l);
  return t.bold(u.function) + " (" + u.file + ":" + lines + ")";
}

// The unwritten functions, under the module whose tests wait on them, each
// named once: a module that waits on an earlier module's functions listed
// above says so instead of listing them again.
void print_waiting(Context& ctx, const TestReport& report) {
  const Terminal& t = ctx.terminal;
  std::set<std::string> listed;  // modules whose own functions are shown
  for (const WaitingTests& w : waiting_tests(report)) {
    std::cout << t.yellow(w.module->folder + ": " + tests_text(w.tests, "wait") + " on code not written yet") << "\n";
    for (const Unwritten& u : w.own) std::cout << "  " << where(t, u) << " · " << tests_text(u.tests) << "\n";
    if (!w.own.empty()) listed.insert(w.module->folder);
    for (const auto& [owner, functions] : w.elsewhere) {
      int tests = 0;
      for (const Unwritten& u : functions) tests += u.tests;
      if (listed.contains(owner)) {
        std::cout << "  " << tests_text(tests) << " on functions of " << owner << ", listed above\n";
        continue;
      }
      for (const Unwritten& u : functions) {
        std::cout << "  " << where(t, u) << ", in " << owner << " · " << tests_text(u.tests) << "\n";
      }
    }
  }
}

void print_details(Context& ctx, const TestReport& report) {
  const Terminal& t = ctx.terminal;
  for (const ModuleReport& m : report.modules) {
    if (m.outcome == ModuleOutcome::BuildFailed) {
      std::cerr << compiler_messages(m.build_output, ctx.options.verbosity > 0);
      spdlog::error("{} does not compile; the messages above point at {}", m.module->folder,
                    ctx.course().rel(m.module->dev_file()));
    }
    for (const TestCase& c : m.cases) {
      if (c.status == TestStatus::Passed || c.status == TestStatus::Skipped || c.status == TestStatus::NotImplemented) {
        continue;
      }
      std::cout << t.red(t.bold(std::string(describe(c.status)))) << " " << m.module->folder << " " << c.name << "\n"
                << indent(c.message, "    ");
    }
  }
  print_waiting(ctx, report);
}

void print_table(Context& ctx, const TestReport& report) {
  const Terminal& t = ctx.terminal;
  std::size_t width = 6;
  for (const ModuleReport& m : report.modules) width = std::max(width, m.module->folder.size());
  auto row = [&](const std::string& a, const std::string& b, const std::string& c, const std::string& d,
                 const std::string& e, const std::string& f) {
    std::ostringstream s;
    s << "  " << std::left << std::setw(static_cast<int>(width)) << a << std::right << std::setw(8) << b
      << std::setw(8) << c << std::setw(10) << d << std::setw(7) << e << std::setw(11) << f;
    return s.str();
  };
  std::cout << "\n" << t.bold(row("module", "passed", "failed", "not yet", "total", "written")) << "\n";
  for (const ModuleReport& m : report.modules) {
    std::string verdict;
    if (m.outcome == ModuleOutcome::BuildFailed) {
      verdict = t.red("✗ does not compile");
    } else if (m.outcome == ModuleOutcome::Blocked) {
      verdict = t.red("✗ blocked: " + m.blocked_by + " does not compile");
    } else if (m.outcome == ModuleOutcome::NoTests) {
      verdict = t.dim("· no tests");
    } else if (m.failed() > 0) {
      verdict = t.red("✗ failing");
    } else if (m.not_implemented() > 0) {
      verdict = m.passed() > 0 ? t.yellow("… in progress") : t.yellow("… not started");
    } else {
      verdict = t.green("✓ passed");
    }
    bool counted = m.outcome == ModuleOutcome::Tested;
    auto n = [&](int v) { return counted ? std::to_string(v) : std::string("-"); };
    std::string functions = counted && m.exercises > 0
                                ? std::to_string(m.written()) + "/" + std::to_string(m.exercises)
                                : std::string("-");
    std::cout << row(m.module->folder, n(m.passed()), n(m.failed()), n(m.not_implemented()), n(m.total()),
                     functions)
              << "  "
              << verdict << "\n";
  }
  int not_yet = report.count(TestStatus::NotImplemented);
  int broken = 0;
  for (const ModuleReport& m : report.modules) {
    broken += m.outcome == ModuleOutcome::BuildFailed || m.outcome == ModuleOutcome::Blocked;
  }
  std::cout << "\n";
  if (not_yet > 0) std::cout << tests_text(not_yet, "wait") << " on code not written yet\n";
  if (broken > 0) {
    std::cout << broken << (broken == 1 ? " module was" : " modules were") << " not built, so "
              << (broken == 1 ? "its" : "their") << " tests did not run\n";
  }
  // The closing line, in the plain form CI runners read: tests only.
  std::cout << "tests: " << report.count(TestStatus::Passed) << " passed, " << report.failed() + not_yet
            << " failed\n";
}

int run_test(Context& ctx, const TestArgs& args) {
  if (args.timeout <= 0) throw Error("--timeout must be a positive number of seconds", kExitUsage);
  TestReport report =
      sync_and_test(ctx.course(), ctx.build_dir(), {args.modules, args.timeout, std::max(1, args.jobs)}, ctx.progress());
  if (!args.junit.empty()) write_file_atomic(args.junit, to_junit(report));
  if (args.json) {
    std::cout << to_json(report);
  } else {
    print_details(ctx, report);
    print_table(ctx, report);
  }
  return report.ok() ? kExitOk : kExitFailure;
}

}  // namespace

void add_test_command(CLI::App& app, Context& ctx) {
  auto args = std::make_shared<TestArgs>();
  CLI::App* cmd = app.add_subcommand("test", "Sync, build and run the modules' tests; show where you stand");
  cmd->add_option("modules", args->modules, "Modules to test (name, folder or number); default: all")
      ->type_name("MODULE");
  cmd->add_option("--junit", args->junit, "Also write a JUnit XML report to FILE")->type_name("FILE");
  cmd->add_flag("--json", args->json, "Print the report as JSON on stdout (and nothing else)");
  cmd->add_option("--timeout", args->timeout, "Seconds one test may run before it counts as hung")
      ->capture_default_str();
  cmd->add_option("-j,--jobs", args->jobs, "Tests to run at once")->capture_default_str();
  cmd->footer("Exit status: 0 when every selected test passed, 1 otherwise.");
  cmd->callback([&ctx, args] { ctx.run = [&ctx, args] { return run_test(ctx, *args); }; });
}

}  // namespace tito::cli
