// What every verb shares: the global options, the terminal, the course.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "engine/progress.hpp"
#include "engine/course.hpp"

namespace CLI {
class App;
}

namespace tito::cli {

namespace fs = std::filesystem;

enum class ColorMode { Auto, Always, Never };

struct GlobalOptions {
  std::string root;        // --root; empty: found from the current folder
  std::string build_dir;   // --build-dir; empty: TITO_BUILD_DIR or <root>/build
  int verbosity = 0;       // -v: +1, -q: -1
  std::string color = "auto";
};

// The terminal, decided once: colour and redrawn lines only on a smart one.
class Terminal {
 public:
  void decide(const std::string& color_option);
  bool color() const { return color_; }
  bool interactive() const { return interactive_; }
  // The width of the terminal tito draws on; 80 in a pipe.
  int columns() const;

  std::string bold(const std::string& s) const { return paint("1", s); }
  std::string green(const std::string& s) const { return paint("32", s); }
  std::string red(const std::string& s) const { return paint("31", s); }
  std::string yellow(const std::string& s) const { return paint("33", s); }
  std::string cyan(const std::string& s) const { return paint("36", s); }
  std::string dim(const std::string& s) const { return paint("2", s); }

 private:
  std::string paint(const char* code, const std::string& s) const {
    return color_ ? "\033[" + std::string(code) + "m" + s + "\033[0m" : s;
  }
  bool color_ = false;
  bool interactive_ = false;
};

// Progress of long work on stderr: a step per line ("   Building 01_tensor"),
// tool output with -v, nothing with -q.
class StderrProgress : public Progress {
 public:
  StderrProgress(const Terminal& terminal, int verbosity) : terminal_(terminal), verbosity_(verbosity) {}
  void step(const std::string& what) override;
  void detail(const std::string& line) override;
  // Redrawn in place on a smart terminal (at most 10 times a second); an
  // empty string clears it. Nothing in a pipe or a CI log.
  void status(const std::string& now) override;
  // "warning: path:line: message" through the log.
  void warning(const Diagnostic& what) override;

 private:
  void clear_status();
  const Terminal& terminal_;
  int verbosity_;
  bool status_shown_ = false;
  std::chrono::steady_clock::time_point last_status_{};
};

class Context {
 public:
  GlobalOptions options;
  Terminal terminal;

  // Applies the global options: terminal, log level. Called once parsing is done.
  void start();

  // The course around the current folder (or --root), opened on first use.
  const Course& course();
  fs::path build_dir();
  Progress& progress();

  bool quiet() const { return options.verbosity < 0; }

  // What the chosen verb will do, set by its parse callback and run by main().
  std::function<int()> run;

 private:
  std::optional<Course> course_;
  std::unique_ptr<StderrProgress> progress_;
};

// Reports every diagnostic of a DiagnosticError through the log.
void report_diagnostics(const std::vector<Diagnostic>& diagnostics, bool as_errors);

// The verbs; each file adds its subcommand to `app` (main.cpp lists them).
using AddVerb = void (*)(CLI::App& app, Context& ctx);
void add_sync_command(CLI::App& app, Context& ctx);
void add_test_command(CLI::App& app, Context& ctx);
void add_module_command(CLI::App& app, Context& ctx);
void add_data_command(CLI::App& app, Context& ctx);
void add_release_command(CLI::App& app, Context& ctx);
void add_status_command(CLI::App& app, Context& ctx);
void add_notebook_command(CLI::App& app, Context& ctx);
void add_milestone_command(CLI::App& app, Context& ctx);
void add_grade_command(CLI::App& app, Context& ctx);

}  // namespace tito::cli
