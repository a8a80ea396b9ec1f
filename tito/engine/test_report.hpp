// What a test run found: each test's status, per module and for the course,
// and the JSON report for machines (`tito test --json`).
#pragma once

#include <string>
#include <vector>

#include "engine/course.hpp"

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

// A function a student has not written yet, and the tests that wait on it.
struct Unwritten {
  std::string function;    // "tensor" (overloads share the name)
  std::string file;        // "modules/01_tensor/tensor_dev.cpp"
  std::vector<int> lines;  // where its stubs are, in order
  int tests = 0;
};

// A module's tests that wait on code not written yet: the functions of its
// own dev file in dev-file order, and those of the modules it builds on.
struct WaitingTests {
  const ModuleInfo* module = nullptr;
  int tests = 0;
  std::vector<Unwritten> own;
  std::vector<std::pair<std::string, std::vector<Unwritten>>> elsewhere;  // module folder -> its functions
};

// Every module of `report` with tests that wait on unwritten code, in the
// report's order; each function once per module.
std::vector<WaitingTests> waiting_tests(const TestReport& report);

// "passed", "not implemented", ...; "tested", "build failed", ...
const char* describe(TestStatus status);
const char* describe(ModuleOutcome outcome);

// The report as JSON, for `tito test --json` and the release check.
std::string to_json(const TestReport& report);

}  // namespace tito
