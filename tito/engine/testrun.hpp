// `tito test`: build each module's test program, run its tests under CTest
// (each GoogleTest case its own test, with a timeout, so a crash or a hang is
// one failure), and tell a student where they stand.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "engine/builder.hpp"
#include "engine/course.hpp"
#include "engine/sync.hpp"
#include <map>

namespace tito {

enum class TestStatus { Passed, Failed, NotImplemented, Crashed, TimedOut, Skipped };

struct TestCase {
  std::string name;        // "TensorBroadcast.SizeOneDimStretches"
  TestStatus status = TestStatus::Passed;
  double seconds = 0;
  std::string message;     // why it did not pass: gtest's failure lines, or ctest's reason
  std::string function;    // NotImplemented: "Tensor::matmul"
  std::string location;    // NotImplemented: "modules/01_tensor/tensor_dev.cpp:123"

  // The line number of `location` (0 when there is none): the order a student works in.
  int location_line() const;
};

enum class ModuleOutcome { Tested, BuildFailed, Blocked, NoTests };

struct ModuleReport {
  const ModuleInfo* module = nullptr;
  ModuleOutcome outcome = ModuleOutcome::NoTests;
  std::string build_output;  // BuildFailed: the compiler's words
  std::string blocked_by;    // Blocked: the required module that failed to build
  std::vector<TestCase> cases;
  int exercises = 0;         // solution blocks students write in this module
  int exercises_left = 0;    // of those, the ones still holding their stub

  int written() const { return exercises - exercises_left; }

  int count(TestStatus s) const;
  int passed() const { return count(TestStatus::Passed); }
  int not_implemented() const { return count(TestStatus::NotImplemented); }
  int failed() const;  // failed, crashed or timed out
  int total() const { return static_cast<int>(cases.size()); }
  bool ok() const;     // tested and everything passed
};

struct TestReport {
  std::vector<ModuleReport> modules;
  bool ok() const;
  int count(TestStatus s) const;
  int failed() const;
  int total() const;
};

struct TestOptions {
  std::vector<std::string> modules;  // empty: every module
  int timeout_seconds = 60;          // per test
  int jobs = 2;                      // tests run at once
};

// Builds the selected modules (and what they require, in order) and runs
// their tests. `plan` is the sync that was just applied.
TestReport run_module_tests(const Course& course, const SyncPlan& plan, Builder& builder, const TestOptions& options,
                            Progress& progress);

// Reads CTest's JUnit file into test cases grouped by module folder (the
// test-name prefix "01_tensor."). CTest 3.25 leaves <failure message=""> empty,
// so why a test failed ("Timeout", "SEGFAULT", "Subprocess aborted") is read
// from `ctest_output`, ctest's console output, when it is given.
std::vector<std::pair<std::string, TestCase>> read_ctest_junit(const std::string& xml,
                                                               const std::string& ctest_output = "");

// Reports for machines.
std::string to_json(const TestReport& report);
std::string to_junit(const TestReport& report);

// The last result of each module, kept in the build folder for `module list`.
void save_last_results(const std::filesystem::path& build_dir, const TestReport& report);
struct LastResult {
  std::string summary;  // "52/52 passed", "build failed", ...
  bool ok = false;
};
std::map<std::string, LastResult> load_last_results(const std::filesystem::path& build_dir);

const char* describe(TestStatus status);
const char* describe(ModuleOutcome outcome);

}  // namespace tito
