// The files tito grade writes: a student's JSON (read back for reruns and
// `grade show`), grades.json and grades.csv.
#include "engine/grade_report.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace tito {
namespace {

StudentGrade example() {
  StudentGrade g;
  g.student = "ada,lovelace";
  g.hash = "abc";
  GradedModule m;
  m.folder = "01_tiny";
  m.submitted = "modules/01_tiny/tiny_dev.cpp";
  m.tests.push_back(GradedTest{"Tiny.A", 2, 2, kPassed, Visibility::Visible, false, ""});
  m.tests.push_back(GradedTest{"Tiny.B", 0, 0.5, kFailed, Visibility::AfterDueDate, true, "expected 2, got 3"});
  m.tampering.push_back(Diagnostic{"modules/01_tiny/tiny_dev.cpp", 40, "a line of a visible test was changed", ""});
  g.modules.push_back(m);
  GradedModule n;
  n.folder = "02_more";
  n.reasons.push_back("no dev file submitted (more_dev.cpp)");
  n.tests.push_back(GradedTest{"More.C", 0, 1, kNotRun, Visibility::Visible, false, ""});
  g.modules.push_back(n);
  g.total();
  return g;
}

TEST(GradeReport, TotalSumsTestsIntoModulesAndTheStudent) {
  StudentGrade g = example();
  EXPECT_EQ(g.modules[0].points, 2);
  EXPECT_EQ(g.modules[0].max_points, 2.5);
  EXPECT_EQ(g.points, 2);
  EXPECT_EQ(g.max_points, 3.5);
}

TEST(GradeReport, AStudentsJsonReadsBackAsItWasWritten) {
  StudentGrade g = example();
  StudentGrade back = student_grade_from_json(to_json(g), "students/x.json");
  EXPECT_EQ(to_json(back), to_json(g));
  EXPECT_EQ(back.modules[0].tests[1].visibility, Visibility::AfterDueDate);
  EXPECT_EQ(back.modules[0].tampering[0].line, 40);
}

TEST(GradeReport, AFileTitoDidNotWriteIsAnErrorNamingIt) {
  try {
    student_grade_from_json(R"({"student": "x"})", "grades/students/x.json");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), ::testing::StartsWith("grades/students/x.json: not a result tito grade wrote ("));
  }
}

TEST(GradeReport, CsvHasARowPerStudentAndAColumnPerModule) {
  StudentGrade g = example();
  StudentGrade empty;
  empty.student = "bob";
  EXPECT_EQ(grades_csv({g, empty}, {"01_tiny", "02_more"}),
            "student,total,max,01_tiny,02_more\n"
            "\"ada,lovelace\",2,3.5,2,0\n"
            "bob,0,0,,\n");
}

TEST(GradeReport, PointsAreWrittenWithoutTrailingZeros) {
  EXPECT_EQ(points_text(2), "2");
  EXPECT_EQ(points_text(1.5), "1.5");
  EXPECT_EQ(points_text(1.0 / 3), "0.33");
  EXPECT_EQ(points_text(0.1 + 0.2), "0.3");
}

TEST(GradeReport, GradescopeResultsHaveATestPerTestAndTheReasonsInTheOutput) {
  EXPECT_EQ(gradescope_results(example()),
            R"({
  "score": 2.0,
  "tests": [
    {
      "name": "01_tiny Tiny.A",
      "score": 2.0,
      "max_score": 2.0,
      "status": "passed",
      "visibility": "visible"
    },
    {
      "name": "01_tiny Tiny.B",
      "score": 0.0,
      "max_score": 0.5,
      "status": "failed",
      "visibility": "after_due_date",
      "output": "failed: expected 2, got 3"
    },
    {
      "name": "02_more More.C",
      "score": 0.0,
      "max_score": 1.0,
      "status": "failed",
      "visibility": "visible",
      "output": "not_run"
    }
  ],
  "output": "01_tiny: code outside the exercises differs from the course's (ignored):\n  modules/01_tiny/tiny_dev.cpp:40: a line of a visible test was changed\n02_more: no dev file submitted (more_dev.cpp)\n"
}
)");
}

TEST(GradeReport, OnlyVisibleTestsAreShownToTheStudent) {
  StudentGrade g = example();
  EXPECT_TRUE(shown_to_student(g.modules[0].tests[0]));
  EXPECT_FALSE(shown_to_student(g.modules[0].tests[1]));
}

}  // namespace
}  // namespace tito
