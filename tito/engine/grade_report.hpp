// What `tito grade` found for one student, and the files it writes: the
// student's JSON (DIR/students/<id>.json, read back for reruns and `grade
// show`), the class's grades.json and grades.csv. Pure: values in, text out.
#pragma once

#include <string>
#include <vector>

#include "engine/grading.hpp"
#include "util/error.hpp"

namespace tito {

// A test's result as grades.json says it.
inline constexpr const char* kPassed = "passed";
inline constexpr const char* kFailed = "failed";
inline constexpr const char* kNotImplemented = "not_implemented";
inline constexpr const char* kTimeout = "timeout";
inline constexpr const char* kCrashed = "crashed";
inline constexpr const char* kNotRun = "not_run";  // the module was not built or not gradable
inline constexpr const char* kSkipped = "skipped";

struct GradedTest {
  std::string name;   // "Tiny.TwiceDoubles"
  double points = 0;  // earned
  double max_points = 0;
  std::string status = kNotRun;
  Visibility visibility = Visibility::Visible;
  bool hidden = false;  // one of the instructor's hidden tests
  std::string output;   // why it did not pass (capped)
};

struct GradedModule {
  std::string folder;     // "01_tiny"
  std::string submitted;  // the dev file graded, relative to the submission; "" when none
  double points = 0;
  double max_points = 0;
  std::vector<GradedTest> tests;
  std::vector<std::string> reasons;   // why tests did not run: "no dev file submitted", a diagnostic
  std::vector<Diagnostic> tampering;  // code outside the regions that differs (no effect on the score)
};

struct StudentGrade {
  std::string student;
  std::string hash;  // of the submitted dev files and the instructor's course
  double points = 0;
  double max_points = 0;
  std::vector<GradedModule> modules;
  std::vector<std::string> reasons;  // about the whole submission: an archive refused

  // Sums the tests' points into the modules' and the student's.
  void total();
};

// DIR/students/<id>.json.
std::string to_json(const StudentGrade& grade);
// Reads what to_json wrote; throws tito::Error naming `path` when it cannot.
StudentGrade student_grade_from_json(const std::string& text, const std::string& path);

// grades.json: {"students": [...]} in the order given.
std::string grades_json(const std::vector<StudentGrade>& grades);

// grades.csv: student,total,max,<module folder>... (modules in `modules`
// order), one row per student, numbers without trailing zeros.
std::string grades_csv(const std::vector<StudentGrade>& grades, const std::vector<std::string>& modules);

// Gradescope's results.json for one student: a test per graded test ("01_tiny
// Tiny.TwiceDoubles") with score, max_score, status, visibility and output;
// the modules' reasons and tampering in the top-level output.
std::string gradescope_results(const StudentGrade& grade);

// "2", "1.5", "0.33".
std::string points_text(double points);

// Whether a student may see a test's result now: only visible ones (tito
// knows no due date; Gradescope applies the others).
bool shown_to_student(const GradedTest& test);

}  // namespace tito
