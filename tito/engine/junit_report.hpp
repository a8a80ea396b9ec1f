// The JUnit XML report of a test run (`tito test --junit FILE`), for CI
// systems that show test results.
#pragma once

#include <string>

#include "engine/test_report.hpp"

namespace tito {

// One <testsuite> per module; a module that did not build is one failed
// "build" test case, so CI sees it.
std::string to_junit(const TestReport& report);

}  // namespace tito
