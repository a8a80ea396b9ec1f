// `tito grade run`: the instructor's tests, hidden ones included, on each
// student's work. For every submission:
//
//   1. each module's dev file is found in the submission (submission.hpp) and
//      only its regions are spliced into the instructor's dev file (splice.hpp);
//      a module with no file, or regions that cannot be matched, gets no
//      credit and is built from the instructor's stubs;
//   2. a copy of the instructor's course with the spliced dev files is synced
//      and built in its own folder (DIR/work/<id>, kept so a rerun builds only
//      what changed; ccache shares the objects every copy has in common); a
//      module that does not compile costs its tests and those of the modules
//      that require it;
//   3. each module's test program runs through run_test_program, with a
//      timeout per test;
//   4. tito (never the student's code) writes DIR/students/<id>.json, then
//      grades.json and grades.csv for every student graded in DIR.
//
// Which tests exist, and so what a module's maximum is, comes from a reference
// run of the instructor's own course (DIR/work/reference), redone only when
// the course changes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "engine/builder.hpp"
#include "engine/course.hpp"
#include "engine/grade_report.hpp"
#include "engine/test_report.hpp"

namespace tito {

namespace fs = std::filesystem;

struct GradeOptions {
  fs::path out = "grades";
  int jobs = 1;                     // submissions graded at once
  int timeout_seconds = 60;         // per test
  std::size_t output_bytes = 2000;  // of a test's output kept in the results
};

// How grading goes, as it happens. Called from as many threads as
// submissions are graded at once: an implementation serializes itself.
class GradeObserver {
 public:
  virtual ~GradeObserver() = default;
  // A step of the reference run or of a student's grading ("" for the reference).
  virtual void step(const std::string& student, const std::string& what) { (void)student, (void)what; }
  // A tool's output line, for -v.
  virtual void detail(const std::string& student, const std::string& line) { (void)student, (void)line; }
  // A student's result, graded now or `reused` from an earlier run with the same hash.
  virtual void finished(const StudentGrade& grade, bool reused) { (void)grade, (void)reused; }
  // Grading itself failed for a student (not the student's fault: a tool, the disk).
  virtual void failed(const std::string& student, const std::string& why) { (void)student, (void)why; }
  // Something the instructor should know: a test of the reference run that does not pass.
  virtual void warning(const std::string& what) { (void)what; }
};

struct GradeSummary {
  std::vector<StudentGrade> graded;  // this run's students, in the order given (reused ones too)
  int reused = 0;
  std::vector<std::pair<std::string, std::string>> failures;  // student -> why grading failed
  bool ok() const { return failures.empty(); }
};

// Grades every submission (folders or archives) against `course`, the
// instructor's. Throws tito::Error before any grading for usage problems (a
// missing submission, two with the same id) and DiagnosticError for a
// malformed "grading" in a module.json; a student whose grading fails is in
// `failures` and the others are still graded.
GradeSummary grade_submissions(const Course& course, const std::vector<fs::path>& submissions,
                               const GradeOptions& options, GradeObserver& observer);

// The files of the instructor's course that grading copies (paths relative
// to `root`, sorted): the build files, the package's own sources (not
// package/generated) and every module's files, dot files left out.
std::vector<std::string> grading_course_files(const fs::path& root);

// A module as the reference run found it.
struct PreparedModule {
  std::string folder;
  int tests = 0;
  int hidden = 0;  // of them, the instructor's hidden tests
  double points = 0;
};

// The reference run alone (step 0 of grade_submissions): builds the
// instructor's course in DIR/work/reference and lists its tests, or finds
// them listed for this version of the course. After it, grading a
// submission builds only the submission. Throws as grade_submissions does.
std::vector<PreparedModule> prepare_grading(const Course& course, const GradeOptions& options, GradeObserver& observer);

// DIR/students/<id>.json, read back. Throws tito::Error naming the student
// and the students graded in `out` when there is none.
StudentGrade load_student_grade(const fs::path& out, const std::string& student);

// A module's test program, ready to run: built in `builder`'s folder.
struct TestProgram {
  const ModuleInfo* module = nullptr;
  std::map<std::string, std::string> env;  // added to the environment of the tests
};

struct TestLimits {
  int timeout_seconds = 60;
  std::size_t output_bytes = 2000;
  int jobs = 1;
  std::uint64_t memory_bytes = std::uint64_t{4} << 30;  // address space of one test's process
};

// The one place where a submission's code runs: every test of `program`
// (listed by the program itself), each in a process of its own in
// util/sandbox's run_sandboxed: its own process group killed at the timeout,
// a memory limit, no network, as `nobody` when tito is root (so it can read
// neither tito's results nor files only root may read, and write only a
// scratch folder), with a minimal environment. tito judges each test from the
// exit status and GoogleTest's own lines, and writes every result itself.
std::vector<TestCase> run_test_program(const Builder& builder, const TestProgram& program, const TestLimits& limits);

}  // namespace tito
