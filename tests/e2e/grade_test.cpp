// `tito grade run` and `tito grade show` on a class of submissions made from
// the real student release of the fixture course (01_tiny, 02_more): full
// marks, partly right, wrong, not compiling, crashing and hanging, tampered
// (in a .tar.gz), markers removed, empty, and an archive with a "../" entry.
//
// The class is graded once for every test process: the first test grades it
// (about seven builds), the others find every submission unchanged, which is
// the rerun skip at work.
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/file.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "e2e/course_copy.hpp"
#include "util/fs.hpp"
#include "util/process.hpp"

namespace tito::e2e {
namespace {

using ::testing::ContainsRegex;
using ::testing::HasSubstr;
using ::testing::Not;
using json = nlohmann::json;

const char* kStub = "throw tinytorch::NotImplemented();";

// The student's version of a dev file with each stub, in order, replaced by the given code.
std::string answered(std::string text, const std::vector<std::string>& answers) {
  for (const std::string& a : answers) text = replace(text, kStub, a);
  return text;
}

void run_or_fail(const std::vector<std::string>& argv, const fs::path& cwd) {
  ProcessOptions o;
  o.cwd = cwd;
  ProcessResult r = run_process(argv, o);
  ASSERT_EQ(r.exit_code, 0) << argv[0] << ": " << r.output;
}

// An exclusive lock on a file, for as long as it lives.
class FileLock {
 public:
  explicit FileLock(const fs::path& path) : fd_(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644)) {
    if (fd_ >= 0) ::flock(fd_, LOCK_EX);
  }
  ~FileLock() {
    if (fd_ >= 0) ::close(fd_);
  }
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

 private:
  int fd_;
};

// The class: the course (instructor's), its release, the submissions, the results.
struct GradedClass {
  fs::path base = fs::path(TITO_E2E_WORK_DIR) / "grade";
  fs::path course = base / "course";
  fs::path release = base / "release";
  fs::path submissions = base / "submissions";
  fs::path out = base / "grades";
  TitoRun first;  // the run that graded (or found unchanged) every submission

  std::vector<std::string> submission_args() const {
    std::vector<std::string> args;
    for (const char* s : {"full", "partial", "wrong", "broken", "crashhang", "empty"}) {
      args.push_back((submissions / s).string());
    }
    args.push_back((submissions / "tampered.tar.gz").string());
    args.push_back((submissions / "evil.tar").string());
    return args;
  }

  TitoRun grade(std::vector<std::string> extra = {}) const {
    std::vector<std::string> args = {"grade", "run"};
    for (const std::string& s : submission_args()) args.push_back(s);
    for (std::string a : {std::string("--out"), out.string(), std::string("--timeout"), std::string("3"),
                          std::string("-j"), std::string("2")}) {
      args.push_back(a);
    }
    args.insert(args.end(), extra.begin(), extra.end());
    return tito(args, course);
  }

  void make() {
    make_course(course, {{"01_tiny"}, {"02_more"}});
    // Twice's visible test is worth 2; the hidden TwiceOfZero keeps the default visibility.
    fs::path manifest = course / "modules" / "01_tiny" / "module.json";
    std::string text = read(manifest);
    write(manifest, replace(text, "\"requires\": []",
                            "\"requires\": [],\n  \"grading\": {\"tests\": {\"Tiny.TwiceDoubles\": {\"points\": 2}}}"));
    TitoRun r = tito({"release", "--out", release.string(), "--force"}, course);
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;

    const std::string tiny = read(release / "modules" / "01_tiny" / "tiny_dev.cpp");
    const std::string more = read(release / "modules" / "02_more" / "more_dev.cpp");
    const std::string right_more = answered(more, {"return tiny::add_one(tiny::add_one(x));"});
    auto submit = [&](const std::string& who, const std::string& tiny_text, const std::string& more_text) {
      fs::remove_all(submissions / who);
      if (!tiny_text.empty()) write(submissions / who / "modules" / "01_tiny" / "tiny_dev.cpp", tiny_text);
      if (!more_text.empty()) write(submissions / who / "modules" / "02_more" / "more_dev.cpp", more_text);
    };
    // A whole course, as a student has it (its other files are never read).
    fs::remove_all(submissions / "full");
    fs::create_directories(submissions);
    fs::copy(release, submissions / "full", fs::copy_options::recursive);
    write(submissions / "full" / "modules" / "01_tiny" / "tiny_dev.cpp",
          answered(tiny, {"return x + 1;", "return 2 * x;"}));
    write(submissions / "full" / "modules" / "02_more" / "more_dev.cpp", right_more);
    // Only the dev files, anywhere in the folder.
    fs::remove_all(submissions / "partial");
    write(submissions / "partial" / "tiny_dev.cpp", answered(tiny, {"return x + 1;", "return x * x;"}));
    write(submissions / "partial" / "work" / "more_dev.cpp", right_more);
    submit("wrong", answered(tiny, {"return x;", "return 1;"}), right_more);
    submit("broken", answered(tiny, {"return x +;", "return 2 * x;"}), right_more);
    submit("crashhang",
           answered(tiny, {"__builtin_trap();", "volatile int spin = 0;\n  while (spin == 0) {\n  }\n  return x;"}),
           right_more);
    // Wrong code with its visible test edited to pass it; 02_more without an end marker.
    std::string tampered = answered(tiny, {"return x;", "return 2 * x;"});
    tampered =
        replace(tampered, "EXPECT_EQ(tinytorch::tiny::add_one(1), 2);", "EXPECT_EQ(tinytorch::tiny::add_one(1), 1);");
    submit("tampered", tampered, replace(right_more, "  // END YOUR CODE\n", ""));
    fs::remove(submissions / "tampered.tar.gz");
    run_or_fail({"tar", "-czf", "../tampered.tar.gz", "."}, submissions / "tampered");
    fs::remove_all(submissions / "tampered");
    fs::remove_all(submissions / "empty");
    fs::create_directories(submissions / "empty");
    // An archive whose entry climbs out of the folder it is extracted into.
    fs::remove_all(submissions / "evil");
    write(submissions / "evil" / "outside" / "tiny_dev.cpp", tiny);
    fs::create_directories(submissions / "evil" / "inside");
    fs::remove(submissions / "evil.tar");
    run_or_fail({"tar", "-cPf", "../../evil.tar", "../outside/tiny_dev.cpp"}, submissions / "evil" / "inside");
    fs::remove_all(submissions / "evil");
  }

  // grade() under the class's lock: another test process may be remaking the submissions.
  TitoRun regrade() const {
    FileLock lock(base / "lock");
    return grade();
  }

  json student(const std::string& id) const { return json::parse(read(out / "students" / (id + ".json"))); }
};

// One grading of the class for all the tests of a process; a file lock keeps
// test processes running at once from grading it twice.
const GradedClass& graded_class() {
  static GradedClass* c = [] {
    auto* g = new GradedClass;
    fs::create_directories(g->base);
    FileLock lock(g->base / "lock");
    g->make();
    g->first = g->grade();
    return g;
  }();
  return *c;
}

class GradeCommand : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(graded_class().first.exit_code, 0) << graded_class().first.out << graded_class().first.err;
  }
  const GradedClass& cls() const { return graded_class(); }
  json module(const std::string& student, const std::string& folder) const {
    const json all = cls().student(student);
    for (const json& m : all["modules"]) {
      if (m["module"] == folder) return m;
    }
    ADD_FAILURE() << "no " << folder << " for " << student;
    return json();
  }
  // test name -> status, for one module of one student graded into `out`.
  static std::map<std::string, std::string> statuses_in(const fs::path& out, const std::string& student,
                                                        const std::string& folder) {
    std::map<std::string, std::string> result;
    const json all = json::parse(read(out / "students" / (student + ".json")));
    for (const json& m : all["modules"]) {
      if (m["module"] != folder) continue;
      for (const json& t : m["tests"]) result[t["name"]] = t["status"];
    }
    return result;
  }
  // test name -> status, for one module of one student.
  std::map<std::string, std::string> statuses(const std::string& student, const std::string& folder) const {
    std::map<std::string, std::string> out;
    const json m = module(student, folder);
    for (const json& t : m["tests"]) out[t["name"]] = t["status"];
    return out;
  }
};

using Status = std::map<std::string, std::string>;

TEST_F(GradeCommand, CsvHasEveryStudentsTotalAndModules) {
  EXPECT_EQ(read(cls().out / "grades.csv"),
            "student,total,max,01_tiny,02_more\n"
            "broken,0,5,0,0\n"
            "crashhang,0,5,0,0\n"
            "empty,0,5,0,0\n"
            "evil,0,5,0,0\n"
            "full,5,5,4,1\n"
            "partial,3,5,2,1\n"
            "tampered,3,5,3,0\n"
            "wrong,0,5,0,0\n");
  json all = json::parse(read(cls().out / "grades.json"));
  ASSERT_EQ(all["students"].size(), 8u);
  EXPECT_EQ(all["students"][4], cls().student("full"));
  json gradescope = json::parse(read(cls().out / "gradescope" / "full.json"));
  EXPECT_EQ(gradescope["score"], 5);
  EXPECT_EQ(gradescope["tests"].size(), 4u);
}

TEST_F(GradeCommand, ACorrectSubmissionGetsFullMarksWithPointsAndVisibility) {
  json m = module("full", "01_tiny");
  EXPECT_EQ(m["submitted"], "modules/01_tiny/tiny_dev.cpp");
  EXPECT_EQ(m["points"], 4);
  EXPECT_EQ(m["max"], 4);
  EXPECT_EQ(m["reasons"], json::array());
  EXPECT_EQ(m["tampering"], json::array());
  ASSERT_EQ(m["tests"].size(), 3u);
  json twice_of_zero;
  for (const json& t : m["tests"]) {
    if (t["name"] == "Tiny.TwiceOfZero") twice_of_zero = t;
    if (t["name"] == "Tiny.TwiceDoubles") {
      EXPECT_EQ(t["max"], 2);
    }
  }
  EXPECT_EQ(twice_of_zero, (json{{"name", "Tiny.TwiceOfZero"},
                                 {"points", 1},
                                 {"max", 1},
                                 {"status", "passed"},
                                 {"visibility", "after_due_date"},
                                 {"hidden", true},
                                 {"output", ""}}));
}

TEST_F(GradeCommand, PartlyRightAndWrongCodeEarnTheTestsThatPass) {
  EXPECT_EQ(
      statuses("partial", "01_tiny"),
      (Status{{"Tiny.TwiceDoubles", "failed"}, {"Tiny.TwiceOfZero", "passed"}, {"TinyCells.AddOneOfOne", "passed"}}));
  EXPECT_EQ(module("partial", "02_more")["submitted"], "work/more_dev.cpp");
  EXPECT_EQ(
      statuses("wrong", "01_tiny"),
      (Status{{"Tiny.TwiceDoubles", "failed"}, {"Tiny.TwiceOfZero", "failed"}, {"TinyCells.AddOneOfOne", "failed"}}));
  EXPECT_EQ(statuses("wrong", "02_more"), (Status{{"MoreCells.AddTwoOfOne", "failed"}}));
  const json wrong = module("wrong", "01_tiny");
  for (const json& t : wrong["tests"]) {
    if (t["name"] == "Tiny.TwiceDoubles") {
      EXPECT_THAT(t["output"].get<std::string>(), HasSubstr("Which is: 1"));
    }
  }
}

TEST_F(GradeCommand, CodeThatDoesNotCompileCostsItsModuleAndTheModulesThatRequireIt) {
  json tiny = module("broken", "01_tiny");
  ASSERT_EQ(tiny["reasons"].size(), 1u);
  EXPECT_THAT(tiny["reasons"][0].get<std::string>(), HasSubstr("does not compile"));
  EXPECT_THAT(tiny["reasons"][0].get<std::string>(), HasSubstr("error: expected primary-expression"));
  EXPECT_EQ(statuses("broken", "01_tiny"), (Status{{"Tiny.TwiceDoubles", "not_run"},
                                                   {"Tiny.TwiceOfZero", "not_run"},
                                                   {"TinyCells.AddOneOfOne", "not_run"}}));
  EXPECT_EQ(module("broken", "02_more")["reasons"],
            json::array({"not built: it requires 01_tiny, which does not compile"}));
}

TEST_F(GradeCommand, ACrashAndAHangAreEachOneFailedTest) {
  EXPECT_EQ(statuses("crashhang", "01_tiny"), (Status{{"Tiny.TwiceDoubles", "timeout"},
                                                      {"Tiny.TwiceOfZero", "timeout"},
                                                      {"TinyCells.AddOneOfOne", "crashed"}}));
  EXPECT_EQ(statuses("crashhang", "02_more"), (Status{{"MoreCells.AddTwoOfOne", "crashed"}}));
}

TEST_F(GradeCommand, StudentCodeRunsAsNobodyWithoutTitosEnvironmentOrItsResults) {
  if (::geteuid() != 0) GTEST_SKIP() << "tito drops privileges only when it runs as root";
  // A submission whose add_one is right only if it can neither forge a result file in tito's
  // output folder nor see a variable of tito's environment.
  const fs::path out = cls().base / "sandboxed-grades";
  const fs::path forged = out / "students" / "forged.json";
  fs::remove_all(out);
  fs::create_directories(out / "students");
  const std::string tiny = read(cls().release / "modules" / "01_tiny" / "tiny_dev.cpp");
  const std::string snooping = "if (std::FILE* f = std::fopen(\"" + forged.string() +
                               "\", \"w\")) {\n    std::fclose(f);\n    return -1;\n  }\n"
                               "  return std::getenv(\"TITO_GRADE_SECRET\") != nullptr ? -2 : x + 1;";
  const fs::path submission = cls().base / "sandboxed" / "modules" / "01_tiny" / "tiny_dev.cpp";
  fs::remove_all(cls().base / "sandboxed");
  write(submission, answered(tiny, {snooping, "return 2 * x;"}));
  TitoRun r = tito({"grade", "run", (cls().base / "sandboxed").string(), "--out", out.string(), "--timeout", "10"},
                   cls().course, {{"TITO_GRADE_SECRET", "hunter2"}});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_FALSE(fs::exists(forged)) << "the student's code wrote into tito's results";
  EXPECT_EQ(statuses_in(out, "sandboxed", "01_tiny")["TinyCells.AddOneOfOne"], "passed")
      << read(out / "students" / "sandboxed.json");
}

TEST_F(GradeCommand, TamperingIsReportedAndHasNoEffect) {
  json tiny = module("tampered", "01_tiny");
  ASSERT_EQ(tiny["tampering"].size(), 1u);
  EXPECT_EQ(tiny["tampering"][0]["file"], "modules/01_tiny/tiny_dev.cpp");
  EXPECT_GT(tiny["tampering"][0]["line"].get<int>(), 0);
  EXPECT_THAT(tiny["tampering"][0]["message"].get<std::string>(), HasSubstr("visible test"));
  // The instructor's test, not the edited one, judged add_one.
  EXPECT_EQ(statuses("tampered", "01_tiny")["TinyCells.AddOneOfOne"], "failed");
  EXPECT_EQ(tiny["points"], 3);
}

TEST_F(GradeCommand, RemovedMarkersGiveTheModuleNothingWithTheReason) {
  json more = module("tampered", "02_more");
  ASSERT_EQ(more["reasons"].size(), 1u);
  EXPECT_THAT(more["reasons"][0].get<std::string>(),
              HasSubstr("modules/02_more/more_dev.cpp:25: this region has no `// END YOUR CODE` after it; put the line "
                        "back after your code"));
  EXPECT_EQ(more["points"], 0);
  EXPECT_EQ(statuses("tampered", "02_more"), (Status{{"MoreCells.AddTwoOfOne", "not_run"}}));
}

TEST_F(GradeCommand, AnEmptySubmissionGetsZeroWithAReasonPerModule) {
  EXPECT_EQ(module("empty", "01_tiny")["reasons"], json::array({"no dev file submitted (tiny_dev.cpp)"}));
  EXPECT_EQ(module("empty", "02_more")["reasons"], json::array({"no dev file submitted (more_dev.cpp)"}));
  EXPECT_FALSE(fs::exists(cls().out / "work" / "students" / "empty")) << "nothing to build, nothing built";
}

TEST_F(GradeCommand, AnArchiveWithADotDotEntryIsRefusedAndGetsZero) {
  json evil = cls().student("evil");
  ASSERT_EQ(evil["reasons"].size(), 1u);
  EXPECT_EQ(evil["reasons"][0],
            "refusing to extract evil.tar: entry '../outside/tiny_dev.cpp' has '..' in its path and "
            "would land outside the folder; an archive from the registry never does this, so it is "
            "damaged or malicious");
  EXPECT_EQ(evil["points"], 0);
  EXPECT_EQ(evil["max"], 5);
}

TEST_F(GradeCommand, ARerunKeepsEveryUnchangedResult) {
  TitoRun r = cls().regrade();
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_THAT(r.out, HasSubstr("8 graded (8 unchanged since the last run), 0 failed"));
  EXPECT_THAT(r.err, HasSubstr("Unchanged full 5/5 (same submission as the last run)"));
  EXPECT_THAT(r.err, Not(HasSubstr("Building")));
}

TEST_F(GradeCommand, RunPrintsAScoreTablePerStudent) {
  TitoRun r = cls().regrade();
  EXPECT_THAT(r.out, ContainsRegex("\n  full +5/5\n"));
  EXPECT_THAT(r.out,
              ContainsRegex("\n  tampered +3/5  1 module with no credit; changed code outside the exercises in 1 "
                            "module\n"));
}

TEST_F(GradeCommand, ShowListsOnlyVisibleTestsAndCountsTheHiddenOnes) {
  TitoRun r = tito({"grade", "show", "tampered", "--out", cls().out.string()}, cls().base);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("tampered: 2/4 points (the tests you can see)\n"));
  EXPECT_THAT(r.out, HasSubstr("\n01_tiny  2/3\n"));
  const int test_line =
      line_of(read(cls().course / "modules" / "01_tiny" / "tiny_dev.cpp"), "TEST(TinyCells, AddOneOfOne)");
  EXPECT_THAT(r.out, HasSubstr("  ✗ TinyCells.AddOneOfOne  0/1  failed\n      modules/01_tiny/tiny_dev.cpp:" +
                               std::to_string(test_line) + ": Failure\n"));
  EXPECT_THAT(r.out, HasSubstr("  ✓ Tiny.TwiceDoubles  2/2\n"));
  EXPECT_THAT(r.out, HasSubstr("  1 hidden test (results shown after grading is published)\n"));
  EXPECT_THAT(r.out, Not(HasSubstr("TwiceOfZero")));
  EXPECT_THAT(r.out, HasSubstr("code outside the exercises differs"));
  EXPECT_THAT(r.out,
              HasSubstr("\n02_more  0/1\n  modules/02_more/more_dev.cpp:25: this region has no `// END YOUR CODE`"));
  EXPECT_THAT(r.out, HasSubstr("  ✗ MoreCells.AddTwoOfOne  0/1  not run\n"));

  TitoRun all = tito({"grade", "show", "tampered", "--all", "--out", cls().out.string()}, cls().base);
  EXPECT_THAT(all.out, HasSubstr("  ✓ Tiny.TwiceOfZero  1/1  (after_due_date)\n"));
}

TEST_F(GradeCommand, ShowOfAStudentNotGradedNamesTheOnesThatWere) {
  TitoRun r = tito({"grade", "show", "ful", "--out", cls().out.string()}, cls().base);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("error: no grade for 'ful' in " + cls().out.string() +
                               " (did you mean 'full'?); graded there: broken, crashhang, empty, evil, full, partial, "
                               "tampered, wrong\n"));
}

TEST_F(GradeCommand, UsageErrorsNameTheSubmission) {
  TitoRun missing = tito({"grade", "run", "nowhere", "--out", cls().out.string()}, cls().course);
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_THAT(missing.err, HasSubstr("error: nowhere: no such folder or archive\n"));
  write(cls().base / "notes.txt", "hi");
  TitoRun text = tito({"grade", "run", (cls().base / "notes.txt").string(), "--out", cls().out.string()}, cls().course);
  EXPECT_EQ(text.exit_code, 2);
  EXPECT_THAT(text.err, HasSubstr("notes.txt: a submission is a folder or a .zip, .tar, .tar.gz or .tgz archive"));
}

}  // namespace
}  // namespace tito::e2e
