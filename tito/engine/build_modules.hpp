// Building the course's modules in order, pinning each compile error on its
// module and reporting the modules that build on a broken one as blocked.
#pragma once

#include <string>
#include <vector>

#include "engine/builder.hpp"
#include "engine/course.hpp"
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
