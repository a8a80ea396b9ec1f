#include "engine/course.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "engine/temp_course.hpp"
#include "util/error.hpp"

namespace tito {
namespace {

using testing::diagnostics_of;
using testing::module_json;
using testing::TempCourse;

std::vector<std::string> folders(const std::vector<ModuleInfo>& modules) {
  std::vector<std::string> out;
  for (const ModuleInfo& m : modules) out.push_back(m.folder);
  return out;
}

std::vector<std::string> folders(const std::vector<const ModuleInfo*>& modules) {
  std::vector<std::string> out;
  for (const ModuleInfo* m : modules) out.push_back(m->folder);
  return out;
}

std::string open_errors(const TempCourse& course) {
  return diagnostics_of([&] { Course::open(course.root()); });
}

TEST(Course, ReadsEveryFieldOfModuleJson) {
  TempCourse course;
  course.add_module("01_basics");
  course.write("modules/02_tensor/module.json",
               "{\n"
               "  \"name\": \"tensor\",\n"
               "  \"number\": 2,\n"
               "  \"title\": \"Tensor\",\n"
               "  \"difficulty\": \"medium\",\n"
               "  \"pattern\": \"build → use → understand\",\n"
               "  \"description\": \"A strided tensor.\",\n"
               "  \"requires\": [\"basics\"]\n"
               "}\n");
  Course c = Course::open(course.root());
  EXPECT_EQ(c.root(), course.root());
  ASSERT_EQ(c.modules().size(), 2u);
  const ModuleInfo& m = c.modules()[1];
  EXPECT_EQ(m.folder, "02_tensor");
  EXPECT_EQ(m.number, 2);
  EXPECT_EQ(m.name, "tensor");
  EXPECT_EQ(m.title, "Tensor");
  EXPECT_EQ(m.difficulty, "medium");
  EXPECT_EQ(m.pattern, "build → use → understand");
  EXPECT_EQ(m.description, "A strided tensor.");
  EXPECT_EQ(m.required, std::vector<std::string>{"basics"});
  EXPECT_EQ(m.dir, course.root() / "modules" / "02_tensor");
  EXPECT_EQ(m.dev_file(), course.root() / "modules" / "02_tensor" / "tensor_dev.cpp");
  EXPECT_EQ(m.tests_dir(), course.root() / "modules" / "02_tensor" / "tests");
  EXPECT_EQ(m.manifest(), course.root() / "modules" / "02_tensor" / "module.json");
}

TEST(Course, PatternDescriptionAndRequiresAreOptional) {
  TempCourse course;
  course.write("modules/01_a/module.json", R"({"name": "a", "number": 1, "title": "A", "difficulty": "easy"})");
  Course c = Course::open(course.root());
  ASSERT_EQ(c.modules().size(), 1u);
  EXPECT_EQ(c.modules()[0].pattern, "");
  EXPECT_EQ(c.modules()[0].description, "");
  EXPECT_TRUE(c.modules()[0].required.empty());
}

TEST(Course, EmptyCourseHasNoModules) {
  TempCourse course;
  Course c = Course::open(course.root());
  EXPECT_TRUE(c.modules().empty());
  EXPECT_EQ(c.next_number(), 1);
}

TEST(Course, HiddenFoldersAndFilesInModulesAreIgnored) {
  TempCourse course;
  course.add_module("01_a");
  course.write("modules/.01_b.tito-new-abc123/module.json", "not even JSON");
  course.write("modules/README.md", "# modules\n");
  EXPECT_EQ(folders(Course::open(course.root()).modules()), std::vector<std::string>{"01_a"});
}

TEST(Course, ModulesComeInBuildOrderWithTiesByNumber) {
  TempCourse course;
  course.add_module("01_a");
  course.add_module("02_b", {"c"});
  course.add_module("03_c");
  course.add_module("04_d", {"b", "a"});
  course.add_module("05_e");
  EXPECT_EQ(folders(Course::open(course.root()).modules()),
            (std::vector<std::string>{"01_a", "03_c", "02_b", "04_d", "05_e"}));
}

TEST(Course, InvalidJsonIsAnErrorAtItsLine) {
  TempCourse course;
  course.write("modules/01_a/module.json", "{\n  \"name\": \"a\",\n  \"number\": 1,,\n}\n");
  EXPECT_EQ(open_errors(course),
            "modules/01_a/module.json:3: invalid JSON: syntax error while parsing object key - unexpected ','; "
            "expected string literal");
}

TEST(Course, ModuleJsonMustBeAnObject) {
  TempCourse course;
  course.write("modules/01_a/module.json", "[1, 2]\n");
  EXPECT_EQ(open_errors(course), "modules/01_a/module.json:1: module.json holds a JSON object ({\"name\": ..., \"number\": ...}), not an array");
}

TEST(Course, MissingModuleJsonIsAnError) {
  TempCourse course;
  course.write("modules/01_a/a_dev.cpp", "// %%\n");
  EXPECT_EQ(open_errors(course),
            "modules/01_a/module.json: missing module.json (every module folder has one; see "
            "templates/module/module.json.in)");
}

TEST(Course, MissingFieldsAreEachAnError) {
  TempCourse course;
  course.write("modules/01_a/module.json", "{}\n");
  EXPECT_EQ(open_errors(course),
            "modules/01_a/module.json:1: missing \"name\"\n"
            "modules/01_a/module.json:1: missing \"title\"\n"
            "modules/01_a/module.json:1: missing \"difficulty\"\n"
            "modules/01_a/module.json:1: missing \"number\" (1, as the folder 01_a says)");
}

TEST(Course, FieldsOfTheWrongTypeAreErrorsAtTheirLines) {
  TempCourse course;
  course.write("modules/01_a/module.json",
               "{\n"
               "  \"name\": \"a\",\n"
               "  \"number\": \"one\",\n"
               "  \"title\": 7,\n"
               "  \"difficulty\": \"easy\",\n"
               "  \"requires\": \"b\"\n"
               "}\n");
  EXPECT_EQ(open_errors(course),
            "modules/01_a/module.json:4: \"title\" must be a string\n"
            "modules/01_a/module.json:3: \"number\" must be a whole number (1, as the folder says)\n"
            "modules/01_a/module.json:6: \"requires\" must be a list of module names, like [\"tensor\"]");
}

TEST(Course, NameAndNumberMustAgreeWithTheFolder) {
  TempCourse course;
  course.write("modules/01_a/module.json",
               "{\n"
               "  \"name\": \"b\",\n"
               "  \"number\": 2,\n"
               "  \"title\": \"A\",\n"
               "  \"difficulty\": \"easy\"\n"
               "}\n");
  EXPECT_EQ(open_errors(course),
            "modules/01_a/module.json:3: \"number\" is 2 but the folder is 01_a; make them agree\n"
            "modules/01_a/module.json:2: \"name\" is 'b' but the folder is 01_a; make them agree (\"name\": \"a\")");
}

TEST(Course, DifficultyMustBeEasyMediumOrHard) {
  TempCourse course;
  course.write("modules/01_a/module.json",
               "{\n  \"name\": \"a\",\n  \"number\": 1,\n  \"title\": \"A\",\n  \"difficulty\": \"brutal\"\n}\n");
  EXPECT_EQ(open_errors(course),
            "modules/01_a/module.json:5: \"difficulty\" must be easy, medium or hard; got 'brutal'");
}

TEST(Course, FolderNamesMustBeNumberedSnakeCase) {
  TempCourse course;
  course.add_module("01_a");
  course.write("modules/1_b/module.json", "{}");
  EXPECT_EQ(open_errors(course),
            "modules/1_b: module folders are named NN_name (two digits, then snake_case), like 01_tensor");
  course.remove("modules/1_b");
  course.write("modules/02_Tensor/module.json", "{}");
  EXPECT_EQ(open_errors(course),
            "modules/02_Tensor: module folders are named NN_name (two digits, then snake_case), like 01_tensor");
}

TEST(Course, UnknownRequiredModuleIsAnErrorAtRequires) {
  TempCourse course;
  course.add_module("01_a", {"tensr"});
  EXPECT_EQ(open_errors(course), "modules/01_a/module.json:6: requires unknown module 'tensr'");
}

TEST(Course, DuplicateNumbersAreAnError) {
  TempCourse course;
  course.add_module("01_a");
  course.write("modules/01_b/module.json", R"({"name": "b", "number": 1, "title": "B", "difficulty": "easy"})");
  EXPECT_EQ(open_errors(course), "modules/01_b: two modules numbered 1: 01_a and 01_b (renumber one of them)");
}

TEST(Course, DuplicateNamesAreAnError) {
  TempCourse course;
  course.add_module("01_a");
  course.add_module("02_a");
  EXPECT_EQ(open_errors(course), "modules/02_a: two modules named 'a': 01_a and 02_a (rename one of them)");
}

TEST(Course, RequiresCycleIsAnErrorNamingTheCycle) {
  TempCourse course;
  course.add_module("01_a", {"b"});
  course.add_module("02_b", {"a"});
  EXPECT_EQ(open_errors(course),
            "modules/02_b/module.json:6: requires cycle: a → b → a (a module cannot build on itself)");
}

TEST(Course, LongerCycleNamesOnlyTheModulesOnIt) {
  TempCourse course;
  course.add_module("01_a", {"b"});
  course.add_module("02_b", {"c"});
  course.add_module("03_c", {"d"});
  course.add_module("04_d", {"b"});
  EXPECT_EQ(open_errors(course),
            "modules/04_d/module.json:6: requires cycle: b → c → d → b (a module cannot build on itself)");
}

TEST(Course, ModuleRequiringItselfIsACycle) {
  TempCourse course;
  course.add_module("01_a", {"a"});
  EXPECT_EQ(open_errors(course), "modules/01_a/module.json:6: requires cycle: a → a (a module cannot build on itself)");
}

TEST(Course, ErrorsOfSeveralModulesAreReportedTogether) {
  TempCourse course;
  course.write("modules/01_a/module.json", "{");
  course.add_module("02_b");
  course.write("modules/03_c/module.json", R"({"name": "c", "number": 3, "title": "C", "difficulty": "?"})");
  try {
    Course::open(course.root());
    FAIL() << "no error";
  } catch (const DiagnosticError& e) {
    ASSERT_EQ(e.diagnostics().size(), 2u);
    EXPECT_EQ(e.diagnostics()[0].path, "modules/01_a/module.json");
    EXPECT_EQ(e.diagnostics()[1].path, "modules/03_c/module.json");
  }
}

TEST(Course, FindsAModuleByNameFolderOrNumber) {
  TempCourse course;
  course.add_module("01_a");
  course.add_module("02_b");
  course.add_module("12_c");
  Course c = Course::open(course.root());
  EXPECT_EQ(c.module("b").folder, "02_b");
  EXPECT_EQ(c.module("02_b").folder, "02_b");
  EXPECT_EQ(c.module("2").folder, "02_b");
  EXPECT_EQ(c.module("02").folder, "02_b");
  EXPECT_EQ(c.module("12").folder, "12_c");
}

TEST(Course, UnknownModuleIsAnErrorNamingTheKnownOnes) {
  TempCourse course;
  course.add_module("01_a");
  course.add_module("02_b");
  Course c = Course::open(course.root());
  EXPECT_EQ(diagnostics_of([&] { c.module("tensor"); }),
            "no module 'tensor' in this course (modules: 01_a, 02_b; `tito module list` shows them)");
  EXPECT_EQ(diagnostics_of([&] { c.module("7"); }),
            "no module '7' in this course (modules: 01_a, 02_b; `tito module list` shows them)");
  TempCourse empty;
  Course none = Course::open(empty.root());
  EXPECT_EQ(diagnostics_of([&] { none.module("a"); }),
            "no module 'a' in this course (modules: none yet; `tito module list` shows them)");
}

TEST(Course, SelectsNamedModulesInBuildOrderWithOrWithoutWhatTheyRequire) {
  TempCourse course;
  course.add_module("01_a");
  course.add_module("02_b", {"a"});
  course.add_module("03_c", {"b"});
  course.add_module("04_d");
  Course c = Course::open(course.root());
  EXPECT_EQ(folders(c.select({}, false)), (std::vector<std::string>{"01_a", "02_b", "03_c", "04_d"}));
  EXPECT_EQ(folders(c.select({"c"}, false)), (std::vector<std::string>{"03_c"}));
  EXPECT_EQ(folders(c.select({"c"}, true)), (std::vector<std::string>{"01_a", "02_b", "03_c"}));
  EXPECT_EQ(folders(c.select({"4", "02_b"}, true)), (std::vector<std::string>{"01_a", "02_b", "04_d"}));
  EXPECT_EQ(diagnostics_of([&] { c.select({"zzz"}, true); }),
            "no module 'zzz' in this course (modules: 01_a, 02_b, 03_c, 04_d; `tito module list` shows them)");
}

TEST(Course, NextNumberFollowsTheHighest) {
  TempCourse course;
  course.add_module("01_a");
  course.add_module("07_b");
  EXPECT_EQ(Course::open(course.root()).next_number(), 8);
}

TEST(Course, RelShowsPathsRelativeToTheRoot) {
  TempCourse course;
  Course c = Course::open(course.root());
  EXPECT_EQ(c.rel(course.root() / "modules" / "01_a" / "a_dev.cpp"), "modules/01_a/a_dev.cpp");
  EXPECT_EQ(c.rel("/elsewhere/x.cpp"), "/elsewhere/x.cpp");
}

TEST(Course, FindRootFromANestedFolder) {
  TempCourse course;
  course.add_module("01_a");
  fs::create_directories(course.root() / "modules" / "01_a" / "tests");
  EXPECT_EQ(Course::find_root(course.root() / "modules" / "01_a" / "tests"), fs::canonical(course.root()));
  EXPECT_EQ(Course::find_root(course.root()), fs::canonical(course.root()));
}

TEST(Course, FindRootOutsideACourseIsAnError) {
  TempDir outside("tito-unit");
  fs::create_directories(outside.path() / "modules");  // half a course is no course
  fs::path dir = fs::canonical(outside.path());
  EXPECT_EQ(diagnostics_of([&] { Course::find_root(dir); }),
            "not inside a TinyTorch course: no folder at or above " + dir.string() +
                " holds modules/ and package/CMakeLists.txt (cd into the course, or pass --root DIR)");
}

}  // namespace
}  // namespace tito

namespace tito {
namespace {

using testing::diagnostics_of;
using testing::TempCourse;

std::string open_errors2(const TempCourse& course) {
  return diagnostics_of([&] { Course::open(course.root()); });
}

// module.json as a fuzzer or a careless editor leaves it: each is one
// diagnostic at its line, never an internal error.
std::string manifest_with(const std::string& field_lines) {
  return "{\n  \"name\": \"a\",\n  \"number\": 1,\n  \"title\": \"A\",\n" + field_lines + "  \"difficulty\": \"easy\"\n}\n";
}

TEST(ModuleJson, ANumberTooLargeIsAnErrorAtItsLine) {
  std::vector<Diagnostic> warnings;
  EXPECT_EQ(diagnostics_of([&] {
              parse_module_json(manifest_with("  \"exercises\": 1e400,\n"), "01_a", "m.json", warnings);
            }),
            "m.json:5: the number 1e400 is too large (no field here needs more than a few digits)");
  std::string digits(400, '7');
  EXPECT_EQ(diagnostics_of([&] {
              parse_module_json("{\n  \"number\": " + digits + "\n}\n", "01_a", "m.json", warnings);
            }),
            "m.json:2: the number " + digits.substr(0, 40) + "… is too large (no field here needs more than a few digits)");
  EXPECT_EQ(diagnostics_of([&] {
              parse_module_json(manifest_with("  \"exercises\": 99999999999,\n"), "01_a", "m.json", warnings);
            }),
            "m.json:5: \"exercises\" must be a whole number from 0 to 10000 (tito release writes it)");
}

TEST(ModuleJson, TextAfterTheObjectIsAnError) {
  std::vector<Diagnostic> warnings;
  std::string good = manifest_with("");
  EXPECT_EQ(diagnostics_of([&] { parse_module_json(good + std::string(1, '\0'), "01_a", "m.json", warnings); }),
            "m.json:7: a NUL byte: a JSON file is text; is this the right file?");
  EXPECT_EQ(diagnostics_of([&] { parse_module_json(good + "trailing words\n", "01_a", "m.json", warnings); }),
            "m.json:7: invalid JSON: syntax error while parsing value - invalid literal; last read: "
            "'\"easy\"<U+000A>}<U+000A>tra'; expected end of input");
}

TEST(ModuleJson, EmptyStringsAreErrorsAtTheirLines) {
  std::vector<Diagnostic> warnings;
  std::string text = "{\n  \"name\": \"\",\n  \"number\": 1,\n  \"title\": \" \",\n  \"difficulty\": \"\"\n}\n";
  EXPECT_EQ(diagnostics_of([&] { parse_module_json(text, "01_a", "m.json", warnings); }),
            "m.json:2: \"name\" is empty; it must say something\n"
            "m.json:4: \"title\" is empty; it must say something\n"
            "m.json:5: \"difficulty\" is empty; it must say something");
}

TEST(ModuleJson, DeepNestingIsAnErrorAtItsLineNotACrash) {
  std::vector<Diagnostic> warnings;
  std::string deep = std::string(100000, '[') + std::string(100000, ']');
  EXPECT_EQ(diagnostics_of([&] { parse_module_json(manifest_with("  \"extra\":\n" + deep + ",\n"), "01_a", "m.json", warnings); }),
            "m.json:6: nested more than 32 levels deep; this file needs a few at most");
}

TEST(ModuleJson, UnknownKeysAreWarningsWithTheNearestKnownOne) {
  std::vector<Diagnostic> warnings;
  ModuleInfo m = parse_module_json(manifest_with("  \"requries\": [\"x\"],\n  \"colour\": 1,\n"), "01_a", "m.json", warnings);
  EXPECT_TRUE(m.required.empty());
  ASSERT_EQ(warnings.size(), 2u);
  EXPECT_EQ(warnings[0].format(), "m.json:5: unknown key \"requries\" is ignored (did you mean \"requires\"?)");
  EXPECT_EQ(warnings[1].format(), "m.json:6: unknown key \"colour\" is ignored");
}

TEST(ModuleJson, ReadsThePatternItsReasonAndTheTimeEstimateAndSkipsABom) {
  std::vector<Diagnostic> warnings;
  ModuleInfo m = parse_module_json("\xEF\xBB\xBF" + manifest_with("  \"pattern\": \"Build → Use → Reflect\",\n"
                                                                   "  \"pattern_reason\": \"because\",\n"
                                                                   "  \"time_estimate\": \"2-3 hours\",\n"),
                                   "01_a", "m.json", warnings);
  EXPECT_EQ(m.pattern, "Build → Use → Reflect");
  EXPECT_EQ(m.pattern_reason, "because");
  EXPECT_EQ(m.time_estimate, "2-3 hours");
  EXPECT_TRUE(warnings.empty());
}

TEST(Course, AModuleJsonThatIsAFolderOrAFifoIsAnErrorNamingIt) {
  TempCourse course;
  fs::create_directories(course.root() / "modules" / "01_a" / "module.json");
  course.add_module("02_b");
  ASSERT_EQ(::mkfifo((course.root() / "modules" / "02_b" / "module.json.fifo").c_str(), 0644), 0);
  fs::remove(course.root() / "modules" / "02_b" / "module.json");
  fs::rename(course.root() / "modules" / "02_b" / "module.json.fifo", course.root() / "modules" / "02_b" / "module.json");
  EXPECT_EQ(open_errors2(course),
            "modules/01_a/module.json: cannot read module.json: it is a folder, not a file\n"
            "modules/02_b/module.json: cannot read module.json: it is a FIFO (a named pipe), not a regular file");
}

TEST(Course, AnErrorInOneModuleJsonDoesNotBlameTheModulesThatRequireIt) {
  TempCourse course;
  course.write("modules/01_a/module.json", "{ \"name\": \"a\", \"number\": 1,, }\n");
  course.add_module("02_b", {"a"});
  course.add_module("03_c", {"b", "zz"});
  EXPECT_EQ(open_errors2(course),
            "modules/01_a/module.json:1: invalid JSON: syntax error while parsing object key - unexpected ','; "
            "expected string literal\n"
            "modules/03_c/module.json:6: requires unknown module 'zz'");
}

}  // namespace
}  // namespace tito
