// `tito test`: build each module's test program, run its tests under CTest
// (each GoogleTest case its own test, with a timeout, so a crash or a hang is
// one failure), and gather what they found.
#pragma once

#include <string>
#include <vector>

#include "engine/build_modules.hpp"
#include "engine/builder.hpp"
#include "engine/course.hpp"
#include "engine/sync.hpp"
#include "engine/test_report.hpp"

namespace tito {

struct TestOptions {
  std::vector<std::string> modules;  // empty: every module
  int timeout_seconds = 60;          // per test
  int jobs = 2;                      // tests run at once
};

// Builds the selected modules (and what they require, in order) and runs
// their tests. `plan` is the sync that was just applied.
TestReport run_module_tests(const Course& course, const SyncPlan& plan, Builder& builder, const TestOptions& options,
                            Progress& progress);

}  // namespace tito
