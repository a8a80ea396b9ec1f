// Sync, part two: compile the package through CMake and Ninja.
#pragma once

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "engine/course.hpp"

namespace tito {

namespace fs = std::filesystem;

// Where long work reports how it is going. The engine never prints.
class Progress {
 public:
  virtual ~Progress() = default;
  // A new stage of the work: "configuring build/", "building 01_tensor".
  virtual void step(const std::string& what) { (void)what; }
  // A line of a tool's output, for -v.
  virtual void detail(const std::string& line) { (void)line; }
  // How far the current step is, e.g. "[3/7] tensor.cpp": worth showing only
  // where a line can be redrawn.
  virtual void status(const std::string& now) { (void)now; }
};

struct BuildResult {
  bool ok = false;
  std::string output;  // the compiler's words, course paths shown relative to the root
};

class Builder {
 public:
  // `build_dir` empty: <root>/build.
  Builder(const Course& course, fs::path build_dir, Progress& progress);

  const fs::path& build_dir() const { return build_dir_; }

  // Configures the build folder when it has never been configured. A folder
  // configured by `cmake --preset default` (the full build) is used as it is;
  // otherwise tito configures a package-only build (TITO_PACKAGE_ONLY=ON).
  void ensure_configured();

  // Builds the targets; keeps going past errors (ninja -k 0) only when asked.
  BuildResult build(const std::vector<std::string>& targets);

  // The module's program, once built.
  fs::path program(const std::string& target) const;

  // Runs ctest on the tests labelled with one of `labels`, writing JUnit XML.
  // Returns ctest's exit status and output.
  BuildResult run_ctest(const std::vector<std::string>& labels, const fs::path& junit, int timeout_seconds, int jobs);

  // Rewrites "<root>/x" to "x" in tool output.
  std::string relative_paths(std::string text) const;

 private:
  const Course& course_;
  fs::path build_dir_;
  Progress& progress_;
  bool ninja_ = false;
};

// Target names, shared with package/CMakeLists.txt.
std::string library_target(const ModuleInfo& m);
std::string tests_target(const ModuleInfo& m);
std::string demo_target(const ModuleInfo& m);

}  // namespace tito

#include "engine/sync.hpp"

namespace tito {

enum class BuildOutcome { Built, Failed, Blocked, NothingToBuild };

struct ModuleBuild {
  const ModuleInfo* module = nullptr;
  bool selected = false;      // named by the user (not only required)
  BuildOutcome outcome = BuildOutcome::NothingToBuild;
  std::string output;         // Failed: the compiler's words
  std::string blocked_by;     // Blocked: the module that failed
  bool has_tests = false;
  bool has_demo = false;
};

struct BuildRequest {
  std::vector<std::string> modules;  // empty: every module
  bool tests = false;                // also the selected modules' test programs
  bool demos = false;                // also the selected modules' demo programs
};

// Builds the selected modules and everything they require, one module at a
// time in build order, so that a compile error is pinned on its module and
// the modules that build on it are reported as blocked, not as failing.
std::vector<ModuleBuild> build_modules(const Course& course, const SyncPlan& plan, Builder& builder,
                                       const BuildRequest& request, Progress& progress);

}  // namespace tito
