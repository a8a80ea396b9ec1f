// `tito grade run` and `tito grade show` on a class of submissions made from
// the real student release of the fixture course (01_tiny, 02_more requiring
// it). The class holds every kind of submission an instructor meets: full
// marks, partly right, wrong, not compiling, crashing, hanging, printing
// megabytes, tampered (a visible test edited to pass, given code changed, a
// test file deleted), markers removed, empty, archives with a "../" entry
// (.tar and .zip), an absolute path or a symbolic link out,
// a .zip, an archive whose root is one folder deep, Windows line endings with
// a Latin-1 byte, dev files that cannot be taken (two of them, a NUL byte, a
// symbolic link, empty), and a matrix of right and wrong implementations of
// each exercise. What each submission should earn is worked out here, from what
// each implementation passes (the instructor's tests, listed below), never
// from tito's output.
//
// The class is graded once for every test process: the first test grades it
// (a build per submission, mostly ccache hits), the others find every
// submission unchanged, which is the rerun skip at work.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <iostream>
#include <nlohmann/json.hpp>

#include "e2e/course_copy.hpp"
#include "util/fs.hpp"
#include "util/process.hpp"
#include "util/text.hpp"

namespace tito::e2e {
namespace {

using ::testing::ContainsRegex;
using ::testing::HasSubstr;
using ::testing::Not;
using json = nlohmann::json;

const char* kStub = "throw tinytorch::NotImplemented();";

// `text` with Windows line endings.
std::string crlf(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '\n') out += '\r';
    out += c;
  }
  return out;
}

void run_or_fail(const std::vector<std::string>& argv, const fs::path& cwd) {
  ProcessOptions o;
  o.cwd = cwd;
  ProcessResult r = run_process(argv, o);
  ASSERT_EQ(r.exit_code, 0) << argv[0] << ": " << r.output;
}

using Status = std::map<std::string, std::string>;  // test name -> status

// The instructor's tests of the fixture course, and what each is worth here (module.json below
// makes Tiny.TwiceDoubles worth 2):
//   01_tiny  TinyCells.AddOneOfOne  add_one(1) == 2   visible, in the dev file    1 point
//            Tiny.TwiceDoubles      twice(21) == 42   visible, tests/test_tiny.cpp 2 points
//            Tiny.TwiceOfZero       twice(0) == 0     hidden, tests/test_tiny.cpp  1 point
//   02_more  MoreCells.AddTwoOfOne  add_two(1) == 3   visible, in the dev file    1 point
struct CourseTest {
  std::string module, name;
  int points;
};
const std::vector<CourseTest> kTests = {{"01_tiny", "Tiny.TwiceDoubles", 2},
                                        {"01_tiny", "Tiny.TwiceOfZero", 1},
                                        {"01_tiny", "TinyCells.AddOneOfOne", 1},
                                        {"02_more", "MoreCells.AddTwoOfOne", 1}};
const std::vector<std::string> kModules = {"01_tiny", "02_more"};

// The status of every test of the course, in kTests's order.
Status tests(const std::string& twice_doubles, const std::string& twice_of_zero, const std::string& add_one_of_one,
             const std::string& add_two_of_one) {
  return {{"Tiny.TwiceDoubles", twice_doubles},
          {"Tiny.TwiceOfZero", twice_of_zero},
          {"TinyCells.AddOneOfOne", add_one_of_one},
          {"MoreCells.AddTwoOfOne", add_two_of_one}};
}
Status every_test(const std::string& status) { return tests(status, status, status, status); }

// One implementation of an exercise, and the status it gets from each instructor's test of it.
struct Impl {
  std::string name;  // in the student id of the matrix
  std::string code;  // the region's body
  Status statuses;
};
const std::vector<Impl> kAddOne = {
    {"right", "return x + 1;", {{"TinyCells.AddOneOfOne", "passed"}}},
    {"off", "return x + 2;", {{"TinyCells.AddOneOfOne", "failed"}}},  // off by one
    {"todo", kStub, {{"TinyCells.AddOneOfOne", "not_implemented"}}},
};
const std::vector<Impl> kTwice = {
    {"right", "return 2 * x;", {{"Tiny.TwiceDoubles", "passed"}, {"Tiny.TwiceOfZero", "passed"}}},
    {"square", "return x * x;", {{"Tiny.TwiceDoubles", "failed"}, {"Tiny.TwiceOfZero", "passed"}}},  // 0 * 0 == 0
    {"todo", kStub, {{"Tiny.TwiceDoubles", "not_implemented"}, {"Tiny.TwiceOfZero", "not_implemented"}}},
};
// add_two's own implementations. "via" is right only with a right add_one: its test gets the
// status add_one's test gets (add_one(1) + 1 is 3 only when add_one is right; an unwritten add_one
// throws through it).
const std::string kViaAddOne = "return tiny::add_one(tiny::add_one(x));";
const std::vector<Impl> kAddTwo = {
    {"via", kViaAddOne, {}},
    {"wrong", "return x + 1;", {{"MoreCells.AddTwoOfOne", "failed"}}},
};
Status matrix_statuses(const Impl& add_one, const Impl& twice, const Impl& add_two) {
  Status s;
  for (const Impl* i : {&add_one, &twice, &add_two}) s.insert(i->statuses.begin(), i->statuses.end());
  if (add_two.code == kViaAddOne) s["MoreCells.AddTwoOfOne"] = add_one.statuses.at("TinyCells.AddOneOfOne");
  return s;
}

// What one submission must earn, and why.
struct Expected {
  std::string id = {};
  std::string path = {};                              // under submissions/, as given to tito (the id when empty)
  Status statuses = {};                               // every test of the course
  std::map<std::string, std::string> reason = {};     // module -> a part of its one reason (none: no reasons)
  std::map<std::string, std::string> tampering = {};  // module -> a part of its one tampering message (none: none)
  std::map<std::string, std::string> output = {};     // test -> a part of its output
  std::string refused = {};                           // a part of the submission's own reason (none: no reasons)

  int points(const std::string& module = "") const {
    int p = 0;
    for (const CourseTest& t : kTests) {
      if ((module.empty() || t.module == module) && statuses.at(t.name) == "passed") p += t.points;
    }
    return p;
  }
};

int max_points(const std::string& module = "") {
  int p = 0;
  for (const CourseTest& t : kTests) p += module.empty() || t.module == module ? t.points : 0;
  return p;
}

// The class: the course (instructor's), its release, the submissions, the results.
struct GradedClass {
  fs::path base = fs::path(TITO_E2E_WORK_DIR) / "grade";
  fs::path course = base / "course";
  fs::path release = base / "release";
  fs::path submissions = base / "submissions";
  fs::path out = base / "grades";
  std::vector<Expected> expected;  // every submission, by student id
  TitoRun first;                   // the run that graded (or found unchanged) every submission
  double first_seconds = 0;

  std::vector<std::string> submission_args() const {
    std::vector<std::string> args;
    for (const Expected& e : expected) args.push_back((submissions / e.path).string());
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
    fs::remove_all(submissions);
    fs::create_directories(submissions);

    const std::string tiny = read(release / "modules" / "01_tiny" / "tiny_dev.cpp");
    const std::string more = read(release / "modules" / "02_more" / "more_dev.cpp");
    const std::string right_tiny = answer_stubs(tiny, {"return x + 1;", "return 2 * x;"});
    const std::string right_more = answer_stubs(more, {kViaAddOne});
    const Status all_passed = every_test("passed");
    // The two dev files where a course has them, under submissions/<folder>.
    auto submit = [&](const std::string& folder, const std::string& tiny_text, const std::string& more_text) {
      if (!tiny_text.empty()) write(submissions / folder / "modules" / "01_tiny" / "tiny_dev.cpp", tiny_text);
      if (!more_text.empty()) write(submissions / folder / "modules" / "02_more" / "more_dev.cpp", more_text);
    };
    // Runs `command` (which packs the folder into an archive next to it) in submissions/<folder>,
    // then removes the folder.
    auto pack = [&](const std::string& folder, const std::vector<std::string>& command) {
      run_or_fail(command, submissions / folder);
      fs::remove_all(submissions / folder);
    };
    auto add = [&](Expected e) {
      if (e.path.empty()) e.path = e.id;
      expected.push_back(std::move(e));
    };

    // A whole course, as a student has it (its other files are never read).
    fs::copy(release, submissions / "full", fs::copy_options::recursive);
    submit("full", right_tiny, right_more);
    add({.id = "full", .statuses = all_passed});

    // Only the dev files, anywhere in the folder.
    write(submissions / "partial" / "tiny_dev.cpp", answer_stubs(tiny, {"return x + 1;", "return x * x;"}));
    write(submissions / "partial" / "work" / "more_dev.cpp", right_more);
    add({.id = "partial", .statuses = tests("failed", "passed", "passed", "passed")});

    // Wrong everywhere: add_two is right but builds on a wrong add_one.
    submit("wrong", answer_stubs(tiny, {"return x;", "return 1;"}), right_more);
    add({.id = "wrong",
         .statuses = every_test("failed"),
         .output = {{"Tiny.TwiceDoubles", "Which is: 1"}, {"MoreCells.AddTwoOfOne", "Which is: 1"}}});

    // 01_tiny does not compile, so 02_more, which requires it, is not built.
    submit("broken", answer_stubs(tiny, {"return x +;", "return 2 * x;"}), right_more);
    add({.id = "broken",
         .statuses = every_test("not_run"),
         .reason = {{"01_tiny", "does not compile"},
                    {"02_more", "not built: it requires 01_tiny, which does not compile"}}});

    // 01_tiny right, 02_more not compiling: 01_tiny keeps its marks. The compiler's error is at
    // the student's own line, though their notes at the top moved it down from the course's.
    const std::string broken_more = "// My notes: add_two is add_one twice.\n// (It does not compile yet.)\n" +
                                    answer_stubs(more, {"return undeclared(x);"});
    submit("broken2", right_tiny, broken_more);
    const int student_line = line_of(broken_more, "return undeclared(x);");
    EXPECT_NE(student_line, line_of(read(course / "modules" / "02_more" / "more_dev.cpp"), kViaAddOne));
    add({.id = "broken2",
         .statuses = tests("passed", "passed", "passed", "not_run"),
         .reason = {{"02_more", "modules/02_more/more_dev.cpp:" + std::to_string(student_line) +
                                    ":10: error: ‘undeclared’ was not declared in this scope"}}});

    // add_one crashes, twice never returns.
    submit("crashhang",
           answer_stubs(tiny, {"__builtin_trap();", "volatile int spin = 0;\n  while (spin == 0) {\n  }\n  return x;"}),
           right_more);
    add({.id = "crashhang",
         .statuses = tests("timeout", "timeout", "crashed", "crashed"),
         .output = {{"Tiny.TwiceDoubles", "did not finish within the time limit"},
                    {"TinyCells.AddOneOfOne", "crashed (killed by SIGILL)"}}});

    // twice prints 50 MB (and is wrong for 21, right for 0): the output kept is capped but still
    // ends with the failed assertion, the passing test still passes.
    const std::string loud_twice =
        "const std::string megabyte(1 << 20, 'x');\n"
        "  for (int i = 0; i < 50; ++i) __builtin_puts(megabyte.c_str());\n"
        "  return x * x;";
    submit("loud", answer_stubs(tiny, {"return x + 1;", loud_twice}), right_more);
    add({.id = "loud",
         .statuses = tests("failed", "passed", "passed", "passed"),
         .output = {{"Tiny.TwiceDoubles", "Which is: 441"}}});

    // Wrong add_one with its visible test edited to pass it; 02_more without an end marker.
    // In a .tar.gz.
    std::string tampered = answer_stubs(tiny, {"return x;", "return 2 * x;"});
    tampered =
        replace(tampered, "EXPECT_EQ(tinytorch::tiny::add_one(1), 2);", "EXPECT_EQ(tinytorch::tiny::add_one(1), 1);");
    submit("tampered", tampered, replace(right_more, "  // END YOUR CODE\n", ""));
    pack("tampered", {"tar", "-czf", "../tampered.tar.gz", "."});
    add({.id = "tampered",
         .path = "tampered.tar.gz",
         .statuses = tests("passed", "passed", "failed", "not_run"),
         .reason = {{"02_more", "modules/02_more/more_dev.cpp:25: this region has no `// END YOUR CODE` after it"}},
         .tampering = {{"01_tiny", "a line of a visible test was changed"}}});

    // twice left unwritten, but the given line above its region made to return the answer: in
    // the student's own build twice passes; graded, the instructor's line is used.
    submit("given",
           replace(answer_stubs(tiny, {"return x + 1;", kStub}), "int twice(int x) {",
                   "int twice(int x) {\n  return 2 * x;"),
           right_more);
    add({.id = "given",
         .statuses = tests("not_implemented", "not_implemented", "passed", "passed"),
         .tampering = {{"01_tiny", "code added outside the regions"}},
         .output = {{"Tiny.TwiceDoubles", "not implemented yet: tiny::twice"}}});

    // Everything right, with the tests "deleted": the module's tests/ folder removed from the
    // submission and the visible test line removed from the dev file. The instructor's run.
    fs::copy(release, submissions / "testsgone", fs::copy_options::recursive);
    fs::remove_all(submissions / "testsgone" / "modules" / "01_tiny" / "tests");
    submit("testsgone",
           replace(right_tiny, "TEST(TinyCells, AddOneOfOne) { EXPECT_EQ(tinytorch::tiny::add_one(1), 2); }\n", ""),
           right_more);
    add({.id = "testsgone",
         .statuses = all_passed,
         .tampering = {{"01_tiny", "a line of a visible test is missing: `TEST(TinyCells, AddOneOfOne)"}}});

    // The markers of add_one's region removed (its code is right): 01_tiny cannot be graded and is
    // built from the instructor's stubs, so 02_more's add_two, right, meets an unwritten add_one.
    std::string unmarked = replace(right_tiny, "  // YOUR CODE HERE\n", "");
    unmarked = replace(unmarked, "  // END YOUR CODE\n", "");
    submit("unmarked", unmarked, right_more);
    add({.id = "unmarked",
         .statuses = tests("not_run", "not_run", "not_run", "not_implemented"),
         .reason = {{"01_tiny",
                     "1 region between `// YOUR CODE HERE` and `// END YOUR CODE`, and the module has 2 exercises; "
                     "the first without one is under `int add_one(int x) {`"}},
         .output = {{"MoreCells.AddTwoOfOne", "not implemented yet: tiny::add_one"}}});

    // Nothing at all.
    fs::create_directories(submissions / "empty");
    add({.id = "empty",
         .statuses = every_test("not_run"),
         .reason = {{"01_tiny", "no dev file submitted (tiny_dev.cpp)"},
                    {"02_more", "no dev file submitted (more_dev.cpp)"}}});

    // Only 02_more: 01_tiny is built from the stubs, add_two meets an unwritten add_one.
    submit("only2", "", right_more);
    add({.id = "only2",
         .statuses = tests("not_run", "not_run", "not_run", "not_implemented"),
         .reason = {{"01_tiny", "no dev file submitted (tiny_dev.cpp)"}}});

    // Dev files that cannot be taken (nothing is built): 01_tiny twice, in two folders neither
    // named like the module; 02_more with a NUL byte.
    write(submissions / "oddfiles" / "a" / "tiny_dev.cpp", right_tiny);
    write(submissions / "oddfiles" / "b" / "tiny_dev.cpp", right_tiny);
    write(submissions / "oddfiles" / "more_dev.cpp", replace(right_more, "// %%", std::string("// %%\0", 6)));
    add({.id = "oddfiles",
         .statuses = every_test("not_run"),
         .reason = {{"01_tiny", "2 dev files for 01_tiny (a/tiny_dev.cpp, b/tiny_dev.cpp); a submission holds one"},
                    {"02_more", "a NUL byte: this is not a text file"}}});

    // 01_tiny a symbolic link to a right answer outside the submission (never read), 02_more an
    // empty file (nothing is built).
    write(base / "linked-target" / "tiny_dev.cpp", right_tiny);
    fs::create_directories(submissions / "linked" / "modules" / "01_tiny");
    fs::create_symlink(base / "linked-target" / "tiny_dev.cpp",
                       submissions / "linked" / "modules" / "01_tiny" / "tiny_dev.cpp");
    write(submissions / "linked" / "modules" / "02_more" / "more_dev.cpp", "");
    add({.id = "linked",
         .statuses = every_test("not_run"),
         .reason = {{"01_tiny", "modules/01_tiny/tiny_dev.cpp is not a regular file (a symbolic link?)"},
                    {"02_more", "the file is empty"}}});

    // An archive whose entry climbs out of the folder it is extracted into.
    write(submissions / "evil" / "outside" / "tiny_dev.cpp", right_tiny);
    fs::create_directories(submissions / "evil" / "inside");
    run_or_fail({"tar", "-cPf", "../../evil.tar", "../outside/tiny_dev.cpp"}, submissions / "evil" / "inside");
    fs::remove_all(submissions / "evil");
    add({.id = "evil",
         .path = "evil.tar",
         .statuses = every_test("not_run"),
         .reason = {{"01_tiny", "the submission could not be opened"},
                    {"02_more", "the submission could not be opened"}},
         .refused = "refusing to extract evil.tar: entry '../outside/tiny_dev.cpp' has '..' in its path and would "
                    "land outside the folder"});

    // The same refusal in a .zip; an entry with an absolute path; a symbolic link out.
    write(submissions / "evilzip" / "outside" / "tiny_dev.cpp", right_tiny);
    fs::create_directories(submissions / "evilzip" / "inside");
    run_or_fail({"zip", "-q", "../../evilzip.zip", "../outside/tiny_dev.cpp"}, submissions / "evilzip" / "inside");
    fs::remove_all(submissions / "evilzip");
    add({.id = "evilzip",
         .path = "evilzip.zip",
         .statuses = every_test("not_run"),
         .reason = {{"01_tiny", "the submission could not be opened"},
                    {"02_more", "the submission could not be opened"}},
         .refused = "refusing to extract evilzip.zip: entry '../outside/tiny_dev.cpp' has '..' in its path"});
    const fs::path absolute = base / "absolute" / "tiny_dev.cpp";
    write(absolute, right_tiny);
    fs::create_directories(submissions / "evilabs");
    pack("evilabs", {"tar", "-cPf", "../evilabs.tar", absolute.string()});
    add({.id = "evilabs",
         .path = "evilabs.tar",
         .statuses = every_test("not_run"),
         .reason = {{"01_tiny", "the submission could not be opened"},
                    {"02_more", "the submission could not be opened"}},
         .refused = "refusing to extract evilabs.tar: entry '" + absolute.string() + "' has an absolute path"});
    fs::create_directories(submissions / "evillink" / "modules" / "01_tiny");
    fs::create_symlink("/etc/passwd", submissions / "evillink" / "modules" / "01_tiny" / "tiny_dev.cpp");
    pack("evillink", {"tar", "-czf", "../evillink.tar.gz", "modules"});
    add({.id = "evillink",
         .path = "evillink.tar.gz",
         .statuses = every_test("not_run"),
         .reason = {{"01_tiny", "the submission could not be opened"},
                    {"02_more", "the submission could not be opened"}},
         .refused = "refusing to extract evillink.tar.gz: entry 'modules/01_tiny/tiny_dev.cpp' is a symbolic link to "
                    "the absolute path /etc/passwd"});

    // A .zip of the whole course, twice wrong.
    fs::copy(release, submissions / "zipped", fs::copy_options::recursive);
    submit("zipped", answer_stubs(tiny, {"return x + 1;", "return x * x;"}), right_more);
    pack("zipped", {"zip", "-qr", "../zipped.zip", "."});
    add({.id = "zipped", .path = "zipped.zip", .statuses = tests("failed", "passed", "passed", "passed")});

    // An archive whose root is one folder deep, as a download of a repository is (course-main/),
    // add_two wrong.
    submit("nested/course-main", right_tiny, answer_stubs(more, {"return x + 1;"}));
    pack("nested", {"tar", "-czf", "../nested.tgz", "course-main"});
    add({.id = "nested", .path = "nested.tgz", .statuses = tests("passed", "passed", "passed", "failed")});

    // Saved on Windows: a byte-order mark, CRLF line endings and a Latin-1 byte (not UTF-8) in a
    // comment of the region; twice wrong.
    submit("crlf", "\xEF\xBB\xBF" + crlf(answer_stubs(tiny, {"return x + 1;  // caf\xE9", "return x * x;"})),
           crlf(right_more));
    add({.id = "crlf", .statuses = tests("failed", "passed", "passed", "passed")});

    // The matrix: one student for each combination of an implementation of add_one, of twice and
    // of add_two.
    for (const Impl& a : kAddOne) {
      for (const Impl& t : kTwice) {
        for (const Impl& m : kAddTwo) {
          const std::string id = "mx." + a.name + "." + t.name + "." + m.name;
          submit(id, answer_stubs(tiny, {a.code, t.code}), answer_stubs(more, {m.code}));
          Expected e{.id = id, .statuses = matrix_statuses(a, t, m)};
          for (const auto& [test, status] : e.statuses) {
            if (status == "not_implemented") e.output[test] = "not implemented yet: ";
          }
          add(std::move(e));
        }
      }
    }
    std::sort(expected.begin(), expected.end(), [](const Expected& a, const Expected& b) { return a.id < b.id; });
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
    const auto start = std::chrono::steady_clock::now();
    g->first = g->grade();
    g->first_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
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
  // One test of one student's results.
  json test(const std::string& student, const std::string& name) const {
    const json all = cls().student(student);
    for (const json& m : all["modules"]) {
      for (const json& t : m["tests"]) {
        if (t["name"] == name) return t;
      }
    }
    ADD_FAILURE() << "no test " << name << " for " << student;
    return json();
  }
};

TEST_F(GradeCommand, TheClassHasEveryKindOfSubmission) {
  std::cout << "graded " << cls().expected.size() << " submissions in " << cls().first_seconds << " s\n";
  EXPECT_GE(cls().expected.size(), 30u);
  EXPECT_THAT(cls().first.out, HasSubstr(std::to_string(cls().expected.size()) + " graded"));
}

// Each submission's every test status, its points per module and in all, its reasons (for each
// module that earns nothing because it cannot be graded) and its tampering, against what its code
// should earn.
TEST_F(GradeCommand, EverySubmissionGetsWhatItsCodeEarns) {
  for (const Expected& e : cls().expected) {
    SCOPED_TRACE("student " + e.id);
    const json all = cls().student(e.id);
    EXPECT_EQ(all["student"], e.id);
    EXPECT_EQ(all["points"], e.points());
    EXPECT_EQ(all["max"], max_points());
    if (e.refused.empty()) {
      EXPECT_EQ(all["reasons"], json::array());
    } else {
      ASSERT_EQ(all["reasons"].size(), 1u);
      EXPECT_THAT(all["reasons"][0].get<std::string>(), HasSubstr(e.refused));
    }
    Status got;
    ASSERT_EQ(all["modules"].size(), kModules.size());
    for (std::size_t i = 0; i < kModules.size(); ++i) {
      const std::string& folder = kModules[i];
      SCOPED_TRACE("module " + folder);
      const json& m = all["modules"][i];
      EXPECT_EQ(m["module"], folder);
      EXPECT_EQ(m["points"], e.points(folder));
      EXPECT_EQ(m["max"], max_points(folder));
      if (auto r = e.reason.find(folder); r != e.reason.end()) {
        ASSERT_EQ(m["reasons"].size(), 1u) << m["reasons"];
        EXPECT_THAT(m["reasons"][0].get<std::string>(), HasSubstr(r->second));
      } else {
        EXPECT_EQ(m["reasons"], json::array());
      }
      if (auto t = e.tampering.find(folder); t != e.tampering.end()) {
        ASSERT_EQ(m["tampering"].size(), 1u) << m["tampering"];
        EXPECT_THAT(m["tampering"][0]["message"].get<std::string>(), HasSubstr(t->second));
      } else {
        EXPECT_EQ(m["tampering"], json::array());
      }
      for (const json& t : m["tests"]) {
        const std::string name = t["name"].get<std::string>();
        got[name] = t["status"].get<std::string>();
        auto test = std::find_if(kTests.begin(), kTests.end(), [&](const CourseTest& c) { return c.name == name; });
        ASSERT_NE(test, kTests.end()) << name;
        EXPECT_EQ(test->module, folder) << name;
        EXPECT_EQ(t["points"], got[name] == "passed" ? test->points : 0) << name;
        EXPECT_EQ(t["max"], test->points) << name;
        if (auto o = e.output.find(name); o != e.output.end()) {
          EXPECT_THAT(t["output"].get<std::string>(), HasSubstr(o->second)) << name;
        }
      }
    }
    EXPECT_EQ(got, e.statuses);
  }
}

TEST_F(GradeCommand, CsvHasEveryStudentsTotalAndModules) {
  std::string csv = "student,total,max,01_tiny,02_more\n";
  for (const Expected& e : cls().expected) {  // by student id
    csv += e.id + "," + std::to_string(e.points()) + "," + std::to_string(max_points()) + "," +
           std::to_string(e.points("01_tiny")) + "," + std::to_string(e.points("02_more")) + "\n";
  }
  EXPECT_EQ(read(cls().out / "grades.csv"), csv);
  json all = json::parse(read(cls().out / "grades.json"));
  ASSERT_EQ(all["students"].size(), cls().expected.size());
  for (std::size_t i = 0; i < cls().expected.size(); ++i) {
    EXPECT_EQ(all["students"][i], cls().student(cls().expected[i].id));
  }
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

TEST_F(GradeCommand, DevFilesAreFoundWhereverTheSubmissionHasThem) {
  EXPECT_EQ(module("partial", "01_tiny")["submitted"], "tiny_dev.cpp");
  EXPECT_EQ(module("partial", "02_more")["submitted"], "work/more_dev.cpp");
  EXPECT_EQ(module("zipped", "01_tiny")["submitted"], "modules/01_tiny/tiny_dev.cpp");
  EXPECT_EQ(module("nested", "01_tiny")["submitted"], "course-main/modules/01_tiny/tiny_dev.cpp");
  EXPECT_EQ(module("nested", "02_more")["submitted"], "course-main/modules/02_more/more_dev.cpp");
  EXPECT_EQ(module("crlf", "01_tiny")["submitted"], "modules/01_tiny/tiny_dev.cpp");
}

TEST_F(GradeCommand, CodeThatDoesNotCompileCostsItsModuleAndTheModulesThatRequireIt) {
  json tiny = module("broken", "01_tiny");
  ASSERT_EQ(tiny["reasons"].size(), 1u);
  EXPECT_THAT(tiny["reasons"][0].get<std::string>(), HasSubstr("does not compile"));
  EXPECT_THAT(tiny["reasons"][0].get<std::string>(), HasSubstr("error: expected primary-expression"));
  EXPECT_EQ(module("broken", "02_more")["reasons"],
            json::array({"not built: it requires 01_tiny, which does not compile"}));
}

TEST_F(GradeCommand, OutputOfMegabytesIsCappedInTheResults) {
  // twice printed 50 MB in each of its two tests.
  const json failed = test("loud", "Tiny.TwiceDoubles");
  const std::string output = failed["output"].get<std::string>();
  EXPECT_LE(output.size(), 2100u);
  EXPECT_THAT(output, ContainsRegex("^xxxxxxxx"));
  EXPECT_THAT(output, ContainsRegex("\n\\.\\.\\. \\([0-9]+ bytes left out\\) \\.\\.\\.\n"));
  // What the student needs: the assertion that failed, after the megabytes.
  EXPECT_THAT(output, HasSubstr("Expected equality of these values:"));
  EXPECT_THAT(output, HasSubstr("Which is: 441"));
  EXPECT_EQ(test("loud", "Tiny.TwiceOfZero")["output"], "");
  EXPECT_LT(fs::file_size(cls().out / "students" / "loud.json"), 20000u);
  EXPECT_LT(fs::file_size(cls().out / "gradescope" / "loud.json"), 20000u);
}

TEST_F(GradeCommand, OutputOfMegabytesDoesNotGrowTitosMemory) {
  if (!fs::exists("/usr/bin/time")) GTEST_SKIP() << "needs GNU time for the peak memory";
  // The loud submission graded again (a timeout of 4 s makes its hash new; its copy is built, so
  // nothing is compiled): its tests print 100 MB, 50 MB at a time. The peak resident memory of tito
  // and every process it waited for stays far below what one test printed.
  FileLock lock(cls().base / "lock");
  const fs::path rss = cls().base / "loud-rss.txt";
  auto grade_loud = [&](const std::string& timeout, bool measured) {
    std::vector<std::string> argv = {
        TITO_BINARY,        "grade",     "run",  (cls().submissions / "loud").string(), "--out",
        cls().out.string(), "--timeout", timeout};
    if (measured) argv.insert(argv.begin(), {"/usr/bin/time", "-f", "%M", "-o", rss.string()});
    ProcessOptions o;
    o.cwd = cls().course;
    o.env = {{"TITO_ROOT", ""}, {"TITO_BUILD_DIR", ""}};
    return run_process(argv, o);
  };
  ProcessResult r = grade_loud("4", true);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("Graded loud 3/5"));
  const long kilobytes = std::stol(read(rss));
  EXPECT_GT(kilobytes, 0);
  EXPECT_LT(kilobytes, 45 * 1024) << "tito's peak memory while the tests printed 50 MB each";
  // Back to the class's own result, for the other tests.
  ProcessResult back = grade_loud("3", false);
  EXPECT_EQ(back.exit_code, 0) << back.output;
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
  write(submission, answer_stubs(tiny, {snooping, "return 2 * x;"}));
  TitoRun r = tito({"grade", "run", (cls().base / "sandboxed").string(), "--out", out.string(), "--timeout", "10"},
                   cls().course, {{"TITO_GRADE_SECRET", "hunter2"}});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_FALSE(fs::exists(forged)) << "the student's code wrote into tito's results";
  EXPECT_EQ(statuses_in(out, "sandboxed", "01_tiny")["TinyCells.AddOneOfOne"], "passed")
      << read(out / "students" / "sandboxed.json");
}

TEST_F(GradeCommand, TamperingIsReportedAtTheStudentsLineAndHasNoEffect) {
  json tiny = module("tampered", "01_tiny");
  ASSERT_EQ(tiny["tampering"].size(), 1u);
  EXPECT_EQ(tiny["tampering"][0]["file"], "modules/01_tiny/tiny_dev.cpp");
  EXPECT_GT(tiny["tampering"][0]["line"].get<int>(), 0);
  // The instructor's test, not the edited one, judged add_one.
  EXPECT_EQ(statuses("tampered", "01_tiny")["TinyCells.AddOneOfOne"], "failed");

  const std::string given = read(cls().release / "modules" / "01_tiny" / "tiny_dev.cpp");
  const json added = module("given", "01_tiny")["tampering"][0];
  EXPECT_EQ(added["line"], line_of(given, "int twice(int x) {") + 1);
  // Reported where the deleted line was: at the line now in its place, or the one before.
  const json deleted = module("testsgone", "01_tiny")["tampering"][0];
  const int test_line = line_of(given, "TEST(TinyCells, AddOneOfOne)");
  EXPECT_GE(deleted["line"].get<int>(), test_line - 1);
  EXPECT_LE(deleted["line"].get<int>(), test_line + 1);
}

TEST_F(GradeCommand, RemovedMarkersGiveTheModuleNothingWithTheReason) {
  json more = module("tampered", "02_more");
  ASSERT_EQ(more["reasons"].size(), 1u);
  EXPECT_THAT(more["reasons"][0].get<std::string>(),
              HasSubstr("modules/02_more/more_dev.cpp:25: this region has no `// END YOUR CODE` after it; put the line "
                        "back after your code"));
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
  const std::string n = std::to_string(cls().expected.size());
  EXPECT_THAT(r.out, HasSubstr(n + " graded (" + n + " unchanged since the last run), 0 failed"));
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
  std::vector<std::string> ids;
  for (const Expected& e : cls().expected) ids.push_back(e.id);
  EXPECT_THAT(r.err, HasSubstr("error: no grade for 'ful' in " + cls().out.string() +
                               " (did you mean 'full'?); graded there: " + join(ids) + "\n"));
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
