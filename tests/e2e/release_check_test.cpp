// `tito release --check` on a small fixture course (01_tiny), each time with
// one planted fault: the check exits 1 and names the finding, and the steps
// the fault does not touch still pass.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "e2e/course_copy.hpp"
#include "util/fs.hpp"

namespace tito::e2e {
namespace {

using ::testing::HasSubstr;

const std::string kDeterministic = "a second release is byte-identical";
const std::string kNoLeak = "no solution, hidden cell or hidden test appears in the release";
const std::string kCompiles = "the student course compiles";
const std::string kStubs = "every test fails with \"not implemented yet\" (none passes, none crashes)";
const std::string kSolved = "with the solutions pasted back every test passes";

class ReleaseCheck : public ::testing::Test {
 protected:
  void SetUp() override { make_course(course, {{"01_tiny"}}); }
  TitoRun check() { return tito({"release", "--check", "--timeout", "20"}, course); }
  fs::path module_file(const std::string& rel) const { return course / "modules/01_tiny" / rel; }

  TempDir dir{"tito-e2e-release-check"};
  fs::path course = dir.path() / "course";
};

std::string passed(const std::string& step) { return "✓ " + step + "\n"; }
std::string failed(const std::string& step) { return "✗ " + step + "\n"; }

TEST_F(ReleaseCheck, ACleanCourseIsGreen) {
  TitoRun r = check();
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(r.out, passed(kDeterministic) + passed(kNoLeak) + passed(kCompiles) + passed(kStubs) + passed(kSolved) +
                       "checks: 5 passed, 0 failed\n");
}

TEST_F(ReleaseCheck, ASolutionLineThatReachesTheStudentsIsALeak) {
  // The instructor's module README quotes the solution.
  write(module_file("README.md"), "# Tiny\n\nThe answer:\n\n    return x + 1;\n");
  TitoRun r = check();
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_EQ(r.out, passed(kDeterministic) + failed(kNoLeak) + "    modules/01_tiny/README.md:5: return x + 1;\n" +
                       passed(kCompiles) + passed(kStubs) + passed(kSolved) + "checks: 4 passed, 1 failed\n");
}

TEST_F(ReleaseCheck, ATestThatPassesWithoutTheSolutionIsNamed) {
  fs::path tests = module_file("tests/test_tiny.cpp");
  write(tests, read(tests) + "\nTEST(Tiny, PassesWithoutTheSolution) { EXPECT_EQ(1 + 1, 2); }\n");
  TitoRun r = check();
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_EQ(r.out, passed(kDeterministic) + passed(kNoLeak) + passed(kCompiles) + failed(kStubs) +
                       "    01_tiny Tiny.PassesWithoutTheSolution: passes without the solutions (does it test the "
                       "student's code?)\n" +
                       passed(kSolved) + "checks: 4 passed, 1 failed\n");
}

TEST_F(ReleaseCheck, AReleaseThatDiffersFromTheNextIsNamed) {
  // A file the course links to that reads differently every time.
  fs::create_directories(course / "data");
  fs::create_symlink("/proc/sys/kernel/random/uuid", course / "data" / "release-id.txt");
  TitoRun r = check();
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_EQ(r.out, failed(kDeterministic) + "    data/release-id.txt differs between two releases\n" + passed(kNoLeak) +
                       passed(kCompiles) + passed(kStubs) + passed(kSolved) + "checks: 4 passed, 1 failed\n");
}

TEST_F(ReleaseCheck, AStudentCourseThatDoesNotCompileIsNamedWithTheCompilersWords) {
  // A helper inside a solution block at namespace scope: its stub, a throw
  // statement, cannot stand there.
  fs::path dev = module_file("tiny_dev.cpp");
  std::string text = replace(read(dev), "// %%\n//| export impl\nnamespace tinytorch::tiny {\n",
                             "// %%\n//| export impl\nnamespace tinytorch::tiny {\n\n"
                             "// BEGIN SOLUTION\nint helper(int x) { return x; }\n// END SOLUTION\n");
  write(dev, text);
  TitoRun r = check();
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_THAT(r.out, ::testing::StartsWith(passed(kDeterministic) + passed(kNoLeak) + failed(kCompiles) +
                                           "    01_tiny: build failed\n"));
  // The compiler's message points at the student's dev file.
  EXPECT_THAT(r.out, HasSubstr("modules/01_tiny/tiny_dev.cpp:" + std::to_string(line_of(text, "// BEGIN SOLUTION") + 1)));
  EXPECT_THAT(r.out, HasSubstr(failed(kStubs) + "    the student version ran no tests\n"));
  EXPECT_THAT(r.out, HasSubstr(passed(kSolved) + "checks: 3 passed, 2 failed\n"));
}

}  // namespace
}  // namespace tito::e2e
