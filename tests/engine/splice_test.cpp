// Splicing a submission's regions into the instructor's dev file (tito grade's
// first step): only the regions are taken, changes elsewhere are reported,
// regions that cannot be matched are an error naming the line.
#include "engine/splice.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>

#include <filesystem>

#include "engine/devfile.hpp"
#include "engine/stripper.hpp"
#include "engine/temp_course.hpp"
#include "util/fs.hpp"
#include "util/text.hpp"

namespace tito {
namespace {

using testing::diagnostics_of;
using ::testing::HasSubstr;

constexpr const char* kInstructor =
    "// %% [markdown]\n"
    "// # Adding\n"
    "// %%\n"
    "//| default_exp add\n"
    "// %%\n"
    "//| export\n"
    "int add(int a, int b);\n"
    "int twice(int a);\n"
    "// %%\n"
    "//| export impl\n"
    "int add(int a, int b) {\n"
    "  // BEGIN SOLUTION\n"
    "  return a + b;\n"
    "  // END SOLUTION\n"
    "}\n"
    "int twice(int a) {\n"
    "  // BEGIN SOLUTION stub: return 0;\n"
    "  return 2 * a;\n"
    "  // END SOLUTION\n"
    "}\n"
    "// %% [markdown]\n"
    "// ## Reflect\n"
    "// 1. Why?\n"
    "// %%\n"
    "//| test\n"
    "TEST(Add, Small) { EXPECT_EQ(add(1, 2), 3); }\n"
    "TEST(Twice, Small) { EXPECT_EQ(twice(2), 4); }\n"
    "// BEGIN HIDDEN TESTS\n"
    "TEST(Add, Secret) { EXPECT_EQ(add(40, 2), 42); }\n"
    "// END HIDDEN TESTS\n";

std::string student_version() { return strip_dev_file(kInstructor, "add_dev.cpp").text; }

// The student version with `from` replaced by `to` (once; the text must be there).
std::string edited(std::string text, const std::string& from, const std::string& to) {
  const std::size_t at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) text.replace(at, from.size(), to);
  return text;
}

std::string solved() {
  std::string s = edited(student_version(), "  throw tinytorch::NotImplemented();\n", "  return a + b;\n");
  return edited(s, "  return 0;\n", "  return 2 * a;\n");
}

// The 1-based line of `text` holding `needle`, or 0.
int line_of(const std::string& text, const std::string& needle) {
  const std::size_t at = text.find(needle);
  if (at == std::string::npos) return 0;
  return 1 + static_cast<int>(std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(at), '\n'));
}

Splice splice(const std::string& student) {
  return splice_submission(kInstructor, "add_dev.cpp", student, "submission/add_dev.cpp");
}

TEST(Splice, TheUntouchedStudentVersionSplicesToTheStubsWithTheInstructorsTests) {
  const Splice s = splice(student_version());
  EXPECT_TRUE(s.tampering.empty());
  ASSERT_EQ(s.regions.size(), 2u);
  EXPECT_EQ(s.written(), 0);
  EXPECT_EQ(s.regions[0].context, "int add(int a, int b) {");
  EXPECT_EQ(s.regions[0].instructor_line, 12);
  EXPECT_EQ(s.regions[0].student_line, 12);
  EXPECT_THAT(s.text, HasSubstr("  // BEGIN SOLUTION\n  throw tinytorch::NotImplemented();\n  // END SOLUTION\n"));
  EXPECT_THAT(s.text, HasSubstr("TEST(Add, Secret)"));  // hidden tests come from the instructor
}

TEST(Splice, ASolvedFileSplicesToTheInstructorsOwn) {
  const Splice s = splice(solved());
  EXPECT_TRUE(s.tampering.empty());
  EXPECT_EQ(s.written(), 2);
  EXPECT_EQ(s.text, kInstructor);
}

TEST(Splice, OnlyTheRegionsAreTakenAndCommentsAnywhereAreFree) {
  std::string s = edited(solved(), "  return a + b;\n", "  int sum = a + b;  // my way\n  return sum;\n");
  s = edited(s, "// 1. Why?\n", "// 1. Why?\n// Because the sum is associative. (my answer)\n\n");
  s = edited(s, "int twice(int a);\n", "int twice(int a);  // doubles\n");
  const Splice r = splice(s);
  EXPECT_TRUE(r.tampering.empty()) << r.tampering.front().format();
  EXPECT_THAT(r.text,
              HasSubstr("  // BEGIN SOLUTION\n  int sum = a + b;  // my way\n  return sum;\n  // END SOLUTION\n"));
  EXPECT_THAT(r.text, ::testing::Not(HasSubstr("my answer")));  // the instructor's explanations
  EXPECT_THAT(r.text, ::testing::Not(HasSubstr("doubles")));
}

TEST(Splice, EachLineOfTheStudentsCodeMapsBackToTheirOwnLine) {
  // Notes at the top and a two-line first answer move the student's lines away from the spliced file's.
  std::string s = "// my notes\n// more notes\n" + solved();
  s = edited(s, "  return a + b;\n", "  int sum = a + b;\n  return sum;\n");
  const Splice r = splice(s);
  const auto spliced = [&](const std::string& code) { return line_of(r.text, code); };
  const auto theirs = [&](const std::string& code) { return line_of(s, code); };
  ASSERT_GT(spliced("int sum = a + b;"), 0);
  EXPECT_NE(spliced("int sum = a + b;"), theirs("int sum = a + b;"));
  for (const char* code : {"int sum = a + b;", "return sum;", "return 2 * a;"}) {
    EXPECT_EQ(r.student_line(spliced(code)), theirs(code)) << code;
  }
  // The instructor's lines are nobody's: given code, a test, the BEGIN SOLUTION line.
  for (const char* code : {"int add(int a, int b) {", "TEST(Add, Secret)", "// BEGIN SOLUTION"}) {
    EXPECT_EQ(r.student_line(spliced(code)), 0) << code;
  }
}

TEST(Splice, ACommentMarkInsideAStringIsCode) {
  std::string instructor = kInstructor;
  instructor = edited(instructor, "int twice(int a);\n", "int twice(int a);\nconst char* kUrl = \"http://a\";\n");
  std::string student = strip_dev_file(instructor, "add_dev.cpp").text;
  student = edited(student, "\"http://a\"", "\"http://b\"");
  const Splice r = splice_submission(instructor, "add_dev.cpp", student, "s.cpp");
  ASSERT_EQ(r.tampering.size(), 1u);
  EXPECT_EQ(r.tampering[0].source, "const char* kUrl = \"http://b\";");
}

TEST(Splice, WindowsLineEndingsAndAByteOrderMarkAreAccepted) {
  std::string crlf = "\xEF\xBB\xBF";
  for (char c : solved()) crlf += c == '\n' ? std::string("\r\n") : std::string(1, c);
  const Splice s = splice(crlf);
  EXPECT_TRUE(s.tampering.empty());
  EXPECT_EQ(s.text, kInstructor);
}

TEST(Splice, AnEditedVisibleTestIsTamperingAtItsLine) {
  const std::string s = edited(solved(), "EXPECT_EQ(add(1, 2), 3);", "EXPECT_EQ(add(1, 2), add(1, 2));");
  const Splice r = splice(s);
  ASSERT_EQ(r.tampering.size(), 1u);
  EXPECT_EQ(r.tampering[0].path, "submission/add_dev.cpp");
  EXPECT_EQ(r.tampering[0].line, 26);
  EXPECT_EQ(
      r.tampering[0].message,
      "a line of a visible test was changed; the course's line is `TEST(Add, Small) { EXPECT_EQ(add(1, 2), 3); }`");
  EXPECT_EQ(r.tampering[0].source, "TEST(Add, Small) { EXPECT_EQ(add(1, 2), add(1, 2)); }");
  EXPECT_EQ(r.text, kInstructor);  // and the instructor's test is what runs
}

TEST(Splice, DeletedTestsChangedGivenCodeAndAddedCodeAreEachReported) {
  std::string s = edited(solved(), "TEST(Twice, Small) { EXPECT_EQ(twice(2), 4); }\n", "");
  s = edited(s, "int twice(int a) {\n", "int twice(int b) {\n");
  s = edited(s, "//| export impl\n", "//| export impl\n#include <cstdlib>\n");
  const Splice r = splice(s);
  ASSERT_EQ(r.tampering.size(), 3u);
  EXPECT_THAT(r.tampering[0].message, HasSubstr("code added outside the regions"));
  EXPECT_EQ(r.tampering[0].source, "#include <cstdlib>");
  EXPECT_EQ(r.tampering[1].message, "given code was changed; the course's line is `int twice(int a) {`");
  EXPECT_EQ(r.tampering[2].message,
            "a line of a visible test is missing: `TEST(Twice, Small) { EXPECT_EQ(twice(2), 4); }`");
}

TEST(Splice, AMissingEndMarkerIsAnErrorAtTheRegion) {
  const std::string s = edited(solved(), "  return a + b;\n  // END YOUR CODE\n", "  return a + b;\n");
  EXPECT_THAT(diagnostics_of([&] { splice(s); }),
              HasSubstr("submission/add_dev.cpp:16: a second `// YOUR CODE HERE` before the `// END YOUR CODE` of the "
                        "one at line 12: every region ends with `// END YOUR CODE`; put the line back"));
}

TEST(Splice, AMissingBeginMarkerIsAnErrorAtTheEnd) {
  const std::string s = edited(solved(), "  // YOUR CODE HERE\n  return a + b;\n", "  return a + b;\n");
  EXPECT_THAT(diagnostics_of([&] { splice(s); }),
              HasSubstr("submission/add_dev.cpp:13: `// END YOUR CODE` without a `// YOUR CODE HERE` above it"));
}

TEST(Splice, ARegionRemovedWhollyNamesTheExerciseWithoutOne) {
  const std::string s =
      edited(solved(), "  // YOUR CODE HERE\n  return 2 * a;\n  // END YOUR CODE\n", "  return 2 * a;\n");
  EXPECT_EQ(diagnostics_of([&] { splice(s); }),
            "submission/add_dev.cpp: 1 region between `// YOUR CODE HERE` and `// END YOUR CODE`, and the module has 2 "
            "exercises; the first without one is under `int twice(int a) {`: put the marker lines back around your "
            "code");
}

TEST(Splice, RegionsMovedOutOfTheirFunctionsAreTampering) {
  // The two functions swapped: the regions still pair up, but the given code around them moved.
  std::string s = solved();
  const std::string add = "int add(int a, int b) {\n  // YOUR CODE HERE\n  return a + b;\n  // END YOUR CODE\n}\n";
  const std::string twice = "int twice(int a) {\n  // YOUR CODE HERE\n  return 2 * a;\n  // END YOUR CODE\n}\n";
  s = edited(s, add + twice, twice + add);
  const Splice r = splice(s);
  EXPECT_FALSE(r.tampering.empty());
}

TEST(Splice, AnEmptyFileOrANulByteIsAnError) {
  EXPECT_EQ(diagnostics_of([&] { splice(""); }), "submission/add_dev.cpp: the file is empty");
  EXPECT_THAT(diagnostics_of([&] { splice(edited(solved(), "return a + b;", std::string("return a\0+ b;", 13))); }),
              HasSubstr("submission/add_dev.cpp:13: a NUL byte"));
}

TEST(Splice, TheStudentVersionFramesEveryRegionAndStaysAValidDevFile) {
  const std::string text = student_version();
  EXPECT_THAT(text, HasSubstr("  // YOUR CODE HERE\n  throw tinytorch::NotImplemented();\n  // END YOUR CODE\n"));
  EXPECT_THAT(text, HasSubstr("  // YOUR CODE HERE\n  return 0;\n  // END YOUR CODE\n"));
  // No near-miss warning: the frame is not taken for a misspelt END SOLUTION.
  EXPECT_TRUE(strip_dev_file(text, "student/add_dev.cpp").near_misses.empty());
}

// Every module of the course: its student version splices to its stubs without a complaint,
// and a student version with the instructor's solutions put in its regions splices back to the
// instructor's dev file, byte for byte.
TEST(Splice, EveryRealModuleSplicesBackToItself) {
  namespace fs = std::filesystem;
  int modules = 0;
  for (const fs::directory_entry& folder : fs::directory_iterator(fs::path(TITO_SOURCE_DIR) / "modules")) {
    if (!folder.is_directory()) continue;
    for (const fs::directory_entry& file : fs::directory_iterator(folder.path())) {
      const std::string name = file.path().filename().string();
      if (!name.ends_with("_dev.cpp")) continue;
      ++modules;
      const std::string instructor = read_file(file.path());
      const StudentVersion version = strip_dev_file(instructor, name);
      const Splice untouched = splice_submission(instructor, name, version.text, "student/" + name);
      EXPECT_TRUE(untouched.tampering.empty()) << name << ": " << untouched.tampering.front().format();
      EXPECT_EQ(untouched.regions.size(), static_cast<std::size_t>(version.exercises)) << name;
      EXPECT_EQ(untouched.written(), 0) << name;

      const std::vector<std::string> source = split_lines(instructor);
      const std::vector<std::string> stubbed = split_lines(version.text);
      std::string solved;
      std::size_t next = 0;
      for (const StubRegion& r : version.regions) {
        for (; next < static_cast<std::size_t>(r.student_begin_line); ++next) solved += stubbed[next] + "\n";
        for (int l = r.begin_line + 1; l < r.end_line; ++l) solved += source[static_cast<std::size_t>(l - 1)] + "\n";
        next = static_cast<std::size_t>(r.student_end_line - 1);
      }
      for (; next < stubbed.size(); ++next) solved += stubbed[next] + "\n";
      const Splice back = splice_submission(instructor, name, solved, "student/" + name);
      EXPECT_TRUE(back.tampering.empty()) << name << ": " << back.tampering.front().format();
      EXPECT_EQ(back.text, instructor) << name;
    }
  }
  EXPECT_GE(modules, 9);
}

}  // namespace
}  // namespace tito
