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

// Sets the status and message of a test that did not pass from its GoogleTest
// `output` and the runner's one-line reason ("Timeout", "SEGFAULT", or the
// sandbox's "killed by SIGSEGV"): not implemented yet (with the function and
// its dev-file line), timed out, crashed, or failed with gtest's failure lines.
void classify_test(TestCase& test, const std::string& reason, const std::string& output);

}  // namespace tito
