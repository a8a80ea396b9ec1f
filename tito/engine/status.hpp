// `tito status`: where a student stands in each module, and the one thing to
// do next, derived from a test run (there is no progress file to drift).
#pragma once

#include <string>

#include "engine/course.hpp"
#include "engine/test_report.hpp"

namespace tito {

enum class Stage { Done, InProgress, NotStarted, Failing, Broken };

// The stage a module's test results put it in.
Stage stage_of(const ModuleReport& m);

// "done", "in progress", "not started", "failing", "does not compile".
const char* describe(Stage stage);

// What to do next: for the first module in build order that is not done,
// the function to write, the test to fix or the file to make compile, and
// the command that checks it; "every module passes: well done" when all are.
std::string next_step(const Course& course, const TestReport& report);

}  // namespace tito
