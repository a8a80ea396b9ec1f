// What a module's tests are worth in `tito grade`: the "grading" object of its
// module.json, and the hidden tests of its sources. Pure: text in, values out.
//
//   "grading": {
//     "weight": 1.0,                          every test's points are multiplied by it
//     "default_visibility": "visible",        tests the student has seen
//     "hidden_visibility": "after_due_date",  tests inside BEGIN/END HIDDEN TESTS
//     "tests": {                              the first pattern (in file order) that matches wins
//       "TensorTest.Matmul*": {"points": 2, "visibility": "after_due_date"}
//     }
//   }
//
// Every key is optional; a module without "grading" gives one point a test.
// Visibility is Gradescope's: when a student may see a test's result. It is
// not the same as a hidden test (one the student never saw the code of); by
// default those show their result after the due date.
#pragma once

#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "util/error.hpp"

namespace tito {

enum class Visibility { Visible, Hidden, AfterDueDate, AfterPublished };

// "visible", "hidden", "after_due_date", "after_published" (Gradescope's words).
const char* to_string(Visibility v);
std::optional<Visibility> parse_visibility(std::string_view text);

// One entry of "tests".
struct TestRule {
  std::string pattern;  // "Suite.Name", '*' any run of characters, '?' one
  std::optional<double> points;
  std::optional<Visibility> visibility;
  int line = 0;  // in module.json
};

// What one test is worth and who sees its result.
struct TestWorth {
  double points = 1;  // the rule's points times the module's weight
  Visibility visibility = Visibility::Visible;
};

struct GradingSpec {
  double weight = 1.0;
  Visibility default_visibility = Visibility::Visible;
  Visibility hidden_visibility = Visibility::AfterDueDate;
  std::vector<TestRule> tests;

  // The worth of the test `name` ("Suite.Name"); `hidden` when it is one of
  // the instructor's hidden tests.
  TestWorth worth(std::string_view name, bool hidden) const;
};

// The "grading" object of a module.json's text (shown as `path`); the
// defaults when there is none. Throws DiagnosticError naming the line and
// the value for anything malformed: an unknown key, a visibility Gradescope
// does not know, negative points.
GradingSpec parse_grading(std::string_view module_json, const std::string& path);

// True when `name` matches `pattern` ('*' any run, '?' one character).
bool glob_match(std::string_view pattern, std::string_view name);

// "Suite.Name" of every TEST, TEST_F and TEST_P between `// BEGIN HIDDEN
// TESTS` and `// END HIDDEN TESTS` of a dev file or test file.
std::set<std::string> hidden_test_names(std::string_view source);

// "Suite.Name" of a GoogleTest name as CTest shows it: a parameterized
// "Prefix/Suite.Name/3" becomes "Suite.Name"; others stay as they are.
std::string base_test_name(std::string_view name);

}  // namespace tito
