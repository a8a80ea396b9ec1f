// Sync, part two: compile the package through CMake and Ninja. The Builder
// runs the tools; build_modules.hpp decides what to build in which order.
#pragma once

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "engine/course.hpp"
#include "engine/progress.hpp"

namespace tito {

namespace fs = std::filesystem;

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

  // Rewrites "<root>/x", and "../x" relative to the build folder, to "x" in
  // tool output: paths as the student knows them.
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
