#include "engine/stripper.hpp"

#include <gtest/gtest.h>

#include "engine/temp_course.hpp"
#include "util/error.hpp"
#include "util/text.hpp"

namespace tito {
namespace {

using testing::diagnostics_of;

constexpr const char* kDev =
    "// %% [markdown]\n"
    "// # Adding\n"
    "// %%\n"
    "//| default_exp add\n"
    "// %%\n"
    "//| export\n"
    "int add(int a, int b);\n"
    "struct Counter { int start() const; };\n"
    "// %%\n"
    "//| export impl\n"
    "int add(int a, int b) {\n"
    "    // BEGIN SOLUTION\n"
    "    int sum = a + b;\n"
    "    return sum;\n"
    "    // END SOLUTION\n"
    "}\n"
    "int Counter::start() const {\n"
    "  // BEGIN SOLUTION stub: return -1;\n"
    "  return 42;\n"
    "  // END SOLUTION\n"
    "}\n"
    "// %%\n"
    "//| hide\n"
    "int instructor_only_helper = 7;\n"
    "\n"
    "// %%\n"
    "//| test\n"
    "TEST(Add, Small) { EXPECT_EQ(add(1, 2), 3); }\n"
    "// BEGIN HIDDEN TESTS\n"
    "TEST(Add, Secret) { EXPECT_EQ(add(40, 2), 42); }\n"
    "// END HIDDEN TESTS\n";

constexpr const char* kStudent =
    "// %% [markdown]\n"
    "// # Adding\n"
    "// %%\n"
    "//| default_exp add\n"
    "// %%\n"
    "//| export\n"
    "int add(int a, int b);\n"
    "struct Counter { int start() const; };\n"
    "// %%\n"
    "//| export impl\n"
    "int add(int a, int b) {\n"
    "    // YOUR CODE HERE\n"
    "    throw tinytorch::NotImplemented();\n"
    "    // END YOUR CODE\n"
    "}\n"
    "int Counter::start() const {\n"
    "  // YOUR CODE HERE\n"
    "  return -1;\n"
    "  // END YOUR CODE\n"
    "}\n"
    "// %%\n"
    "//| test\n"
    "TEST(Add, Small) { EXPECT_EQ(add(1, 2), 3); }\n";

TEST(Stripper, SolutionsBecomeIndentedStubsAndHiddenPartsVanish) {
  StudentVersion s = strip_dev_file(kDev, "modules/01_add/add_dev.cpp");
  EXPECT_EQ(s.text, kStudent);
  EXPECT_EQ(s.exercises, 2);
}

TEST(Stripper, RegionsSayWhereEachExerciseIsInBothVersions) {
  StudentVersion s = strip_dev_file(kDev, "add_dev.cpp");
  ASSERT_EQ(s.regions.size(), 2u);
  std::vector<std::string> lines = split_lines(s.text);
  for (const StubRegion& r : s.regions) {
    EXPECT_EQ(trim(lines[r.student_begin_line - 1]), kYourCodeHere);
    EXPECT_EQ(trim(lines[r.student_end_line - 1]), kEndYourCode);
    EXPECT_EQ(r.student_end_line, r.student_begin_line + 2);
  }
  EXPECT_EQ(s.regions[0].begin_line, 12);  // "    // BEGIN SOLUTION" of add
  EXPECT_EQ(s.regions[0].end_line, 15);
  EXPECT_EQ(s.regions[1].begin_line, 18);  // "  // BEGIN SOLUTION stub: return -1;"
  EXPECT_EQ(s.regions[1].end_line, 20);
  EXPECT_EQ(s.regions[0].student_begin_line, 12);
  EXPECT_EQ(s.regions[1].student_begin_line, 17);
}

TEST(Stripper, SecretsAreTheLinesStudentsMustNotSee) {
  StudentVersion s = strip_dev_file(kDev, "modules/01_add/add_dev.cpp");
  EXPECT_EQ(s.secrets.lines, (std::vector<std::string>{"int sum = a + b;", "return sum;", "return 42;",
                                                       "int instructor_only_helper = 7;",
                                                       "TEST(Add, Secret) { EXPECT_EQ(add(40, 2), 42); }"}));
}

TEST(Stripper, KeepSolutionsRemovesOnlyMarkersAndHiddenParts) {
  StudentVersion s = strip_dev_file(kDev, "modules/01_add/add_dev.cpp", {true});
  EXPECT_NE(s.text.find("    int sum = a + b;\n    return sum;\n}\n"), std::string::npos);
  EXPECT_EQ(s.text.find("SOLUTION"), std::string::npos);
  EXPECT_EQ(s.text.find("instructor_only_helper"), std::string::npos);
  EXPECT_EQ(s.text.find("Secret"), std::string::npos);
  EXPECT_EQ(s.exercises, 0);
}

TEST(Stripper, StudentVersionIsAValidDevFileAndStableUnderAnotherStrip) {
  StudentVersion once = strip_dev_file(kDev, "x_dev.cpp");
  StudentVersion twice = strip_dev_file(once.text, "x_dev.cpp");
  EXPECT_EQ(once.text, twice.text);
  EXPECT_EQ(twice.exercises, 0);
}

TEST(Stripper, NestedBeginIsAnErrorAtItsLine) {
  std::string dev =
      "// %%\n//| default_exp a\n// %%\n//| export impl\nint f() {\n  // BEGIN SOLUTION\n  // BEGIN SOLUTION\n"
      "  return 1;\n  // END SOLUTION\n}\n";
  EXPECT_EQ(diagnostics_of([&] { strip_dev_file(dev, "m_dev.cpp"); }),
            "m_dev.cpp:7: BEGIN SOLUTION inside the solution block opened at line 6 (blocks cannot nest)\n"
            "    // BEGIN SOLUTION");
}

TEST(Stripper, MissingEndIsAnErrorAtTheBegin) {
  std::string dev = "// %%\n//| default_exp a\n// %%\n//| export impl\nint f() {\n  // BEGIN SOLUTION\n  return 1;\n}\n";
  EXPECT_EQ(diagnostics_of([&] { strip_dev_file(dev, "m_dev.cpp"); }),
            "m_dev.cpp:6: BEGIN SOLUTION is not closed by an END SOLUTION before its cell ends at line 8\n"
            "    // BEGIN SOLUTION");
}

TEST(Stripper, TestFileLosesItsHiddenTests) {
  std::string text = "#include <x>\nTEST(A, B) {}\n// BEGIN HIDDEN TESTS\nTEST(A, C) {}\n// END HIDDEN TESTS\nTEST(A, D) {}\n";
  StudentVersion s = strip_test_file(text, "tests/test_a.cpp");
  EXPECT_EQ(s.text, "#include <x>\nTEST(A, B) {}\nTEST(A, D) {}\n");
  EXPECT_EQ(s.secrets.lines, std::vector<std::string>{"TEST(A, C) {}"});
}

TEST(Stripper, UnclosedHiddenTestsInATestFileIsAnError) {
  EXPECT_EQ(diagnostics_of([] { strip_test_file("// BEGIN HIDDEN TESTS\nTEST(A, C) {}\n", "t.cpp"); }),
            "t.cpp:1: BEGIN HIDDEN TESTS is never closed by an END HIDDEN TESTS\n    // BEGIN HIDDEN TESTS");
}

}  // namespace
}  // namespace tito
