// Reading what CTest wrote: its JUnit file and console output, into test
// cases with their status (a crash, a hang and an unwritten function told
// apart from a wrong answer).
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "engine/test_report.hpp"

namespace tito {

// Reads CTest's JUnit file into test cases grouped by module folder (the
// test-name prefix "01_tensor."). CTest 3.25 leaves <failure message=""> empty,
// so why a test failed ("Timeout", "SEGFAULT", "Subprocess aborted") is read
// from `ctest_output`, ctest's console output, when it is given.
std::vector<std::pair<std::string, TestCase>> read_ctest_junit(const std::string& xml,
                                                               const std::string& ctest_output = "");

}  // namespace tito
