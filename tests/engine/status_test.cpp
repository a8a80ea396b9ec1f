#include "engine/status.hpp"

#include <gtest/gtest.h>

#include "engine/temp_course.hpp"

namespace tito {
namespace {

using testing::TempCourse;

TestCase test(const std::string& name, TestStatus status, const std::string& function = "",
              const std::string& location = "") {
  return TestCase{name, status, 0, "", function, location};
}

class StatusTest : public ::testing::Test {
 protected:
  StatusTest() {
    course.add_module("01_a");
    course.add_module("02_b", {"a"});
    opened = Course::open(course.root());
    a = &opened->modules()[0];
    b = &opened->modules()[1];
  }
  ModuleReport report_of(const ModuleInfo* m, std::vector<TestCase> cases, int exercises = 0, int left = 0) {
    ModuleReport r;
    r.module = m;
    r.outcome = ModuleOutcome::Tested;
    r.cases = std::move(cases);
    r.exercises = exercises;
    r.exercises_left = left;
    return r;
  }
  TempCourse course;
  std::optional<Course> opened;
  const ModuleInfo* a = nullptr;
  const ModuleInfo* b = nullptr;
};

TEST_F(StatusTest, StageFollowsTheTests) {
  EXPECT_EQ(stage_of(report_of(a, {test("A.X", TestStatus::Passed)})), Stage::Done);
  EXPECT_EQ(stage_of(report_of(a, {test("A.X", TestStatus::Passed), test("A.Y", TestStatus::NotImplemented)})),
            Stage::InProgress);
  EXPECT_EQ(stage_of(report_of(a, {test("A.Y", TestStatus::NotImplemented)}, 2, 1)), Stage::InProgress)
      << "an exercise written counts even before a test passes";
  EXPECT_EQ(stage_of(report_of(a, {test("A.Y", TestStatus::NotImplemented)}, 2, 2)), Stage::NotStarted);
  EXPECT_EQ(stage_of(report_of(a, {test("A.X", TestStatus::Crashed), test("A.Y", TestStatus::NotImplemented)})),
            Stage::Failing);
  ModuleReport broken = report_of(a, {});
  broken.outcome = ModuleOutcome::BuildFailed;
  EXPECT_EQ(stage_of(broken), Stage::Broken);
  EXPECT_STREQ(describe(Stage::Broken), "does not compile");
  EXPECT_STREQ(describe(Stage::InProgress), "in progress");
}

TEST_F(StatusTest, NextStepIsTheFirstUnwrittenFunctionInDevFileOrder) {
  TestReport r;
  r.modules = {report_of(a, {test("A.Late", TestStatus::NotImplemented, "late", "modules/01_a/a_dev.cpp:90"),
                             test("A.Early", TestStatus::NotImplemented, "early", "modules/01_a/a_dev.cpp:12")}),
               report_of(b, {test("B.X", TestStatus::NotImplemented, "bx", "modules/02_b/b_dev.cpp:5")})};
  EXPECT_EQ(next_step(*opened, r), "write early (modules/01_a/a_dev.cpp:12), then `tito test a`");
}

TEST_F(StatusTest, NextStepSkipsDoneModulesAndPutsFailuresAndBuildErrorsFirst) {
  TestReport r;
  r.modules = {report_of(a, {test("A.X", TestStatus::Passed)}),
               report_of(b, {test("B.Wrong", TestStatus::Failed), test("B.Later", TestStatus::NotImplemented)})};
  EXPECT_EQ(next_step(*opened, r), "make B.Wrong pass in 02_b: `tito test b` shows why it fails");

  ModuleReport broken = report_of(a, {});
  broken.outcome = ModuleOutcome::BuildFailed;
  ModuleReport blocked = report_of(b, {});
  blocked.outcome = ModuleOutcome::Blocked;
  blocked.blocked_by = "01_a";
  r.modules = {blocked, broken};  // the blocked one waits on the broken one
  EXPECT_EQ(next_step(*opened, r), "fix the compile errors in modules/01_a/a_dev.cpp, then `tito sync a`");

  r.modules = {report_of(a, {test("A.X", TestStatus::Passed)}), report_of(b, {})};
  EXPECT_EQ(next_step(*opened, r), "every module passes: well done");
}

}  // namespace
}  // namespace tito
