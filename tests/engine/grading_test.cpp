// What a module's tests are worth: module.json's "grading", checked with
// file:line errors, and the hidden tests of a source file.
#include "engine/grading.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace tito {
namespace {

using ::testing::ElementsAre;

std::vector<std::string> messages_of(std::string_view text) {
  std::vector<std::string> out;
  try {
    parse_grading(text, "modules/01_x/module.json");
  } catch (const DiagnosticError& e) {
    for (const Diagnostic& d : e.diagnostics()) out.push_back(d.format());
  }
  return out;
}

TEST(Grading, WithoutGradingEveryTestIsOnePointAndVisible) {
  GradingSpec spec = parse_grading(R"({"name": "x"})", "module.json");
  TestWorth w = spec.worth("Suite.Name", false);
  EXPECT_EQ(w.points, 1);
  EXPECT_EQ(w.visibility, Visibility::Visible);
  EXPECT_EQ(spec.worth("Suite.Hidden", true).visibility, Visibility::AfterDueDate);
}

TEST(Grading, TheFirstMatchingPatternSetsPointsAndVisibilityTimesTheWeight) {
  GradingSpec spec = parse_grading(R"({
  "name": "x",
  "grading": {
    "weight": 0.5,
    "default_visibility": "after_published",
    "hidden_visibility": "hidden",
    "tests": {
      "TensorTest.Matmul*": {"points": 4, "visibility": "after_due_date"},
      "TensorTest.*": {"points": 2},
      "Other.?ne": {"visibility": "visible"}
    }
  }
})",
                                   "module.json");
  EXPECT_EQ(spec.worth("TensorTest.MatmulSquare", false).points, 2);
  EXPECT_EQ(spec.worth("TensorTest.MatmulSquare", false).visibility, Visibility::AfterDueDate);
  EXPECT_EQ(spec.worth("TensorTest.Add", false).points, 1);
  EXPECT_EQ(spec.worth("TensorTest.Add", false).visibility, Visibility::AfterPublished);
  EXPECT_EQ(spec.worth("TensorTest.Add", true).visibility, Visibility::Hidden);
  EXPECT_EQ(spec.worth("Other.One", true).visibility, Visibility::Visible);
  EXPECT_EQ(spec.worth("Other.One", true).points, 0.5);
  EXPECT_EQ(spec.worth("Else.Thing", false).points, 0.5);
}

TEST(Grading, EveryMalformedValueIsAnErrorAtItsLine) {
  EXPECT_THAT(messages_of(R"({
  "grading": {
    "weight": -1,
    "default_visibility": "after_due",
    "tests": {
      "A.B": {"points": "two"},
      "C.D": {"visibilty": "hidden"},
      "E F": 3
    }
  }
})"),
              ElementsAre("modules/01_x/module.json:3: \"weight\" must be a number from 0 to 1000; got -1",
                          "modules/01_x/module.json:4: \"default_visibility\" must be visible, hidden, after_due_date "
                          "or after_published (Gradescope's visibilities); got \"after_due\"",
                          "modules/01_x/module.json:6: the test \"A.B\"'s \"points\" must be a number from 0 to 1000; "
                          "got \"two\"",
                          "modules/01_x/module.json:7: unknown key \"visibilty\" in the test \"C.D\" (did you mean "
                          "\"visibility\"?); the test \"C.D\" knows points, visibility",
                          "modules/01_x/module.json:8: the test \"E F\" is not a test name: use Suite.Name as "
                          "GoogleTest prints it, with * for any run of characters",
                          "modules/01_x/module.json:8: the test \"E F\" must be an object, like {\"points\": 2, "
                          "\"visibility\": \"visible\"}"));
}

TEST(Grading, UnknownKeysAndAGradingThatIsNoObjectAreErrors) {
  EXPECT_THAT(messages_of("{\n  \"grading\": {\"wieght\": 2}\n}"),
              ElementsAre("modules/01_x/module.json:2: unknown key \"wieght\" in \"grading\" (did you mean "
                          "\"weight\"?); \"grading\" knows weight, default_visibility, hidden_visibility, tests"));
  EXPECT_THAT(messages_of("{\n  \"grading\": 3\n}"),
              ElementsAre("modules/01_x/module.json:2: \"grading\" must be an object, like {\"weight\": 1, \"tests\": "
                          "{\"Suite.*\": {\"points\": 2}}}"));
}

TEST(Grading, GlobMatchesStarsAndQuestionMarks) {
  EXPECT_TRUE(glob_match("A.*", "A.B"));
  EXPECT_TRUE(glob_match("*", ""));
  EXPECT_TRUE(glob_match("*.Mat*ul", "Tensor.Matmul"));
  EXPECT_TRUE(glob_match("A.?", "A.B"));
  EXPECT_FALSE(glob_match("A.?", "A.BC"));
  EXPECT_FALSE(glob_match("A.B", "A.BC"));
  EXPECT_FALSE(glob_match("*x", "abc"));
}

TEST(Grading, HiddenTestNamesAreTheTestsBetweenTheMarkers) {
  const char* source =
      "TEST(Seen, One) {}\n"
      "// BEGIN HIDDEN TESTS\n"
      "TEST(Secret, Two) { EXPECT_EQ(1, 1); }\n"
      "TEST_F(Fixture, Three) {}\n"
      "  TEST_P(Param, Four) {}\n"
      "// END HIDDEN TESTS\n"
      "TEST(Seen, Five) {}\n";
  EXPECT_THAT(hidden_test_names(source), ElementsAre("Fixture.Three", "Param.Four", "Secret.Two"));
}

TEST(Grading, ParameterizedNamesLoseTheirPrefixAndIndex) {
  EXPECT_EQ(base_test_name("Sizes/Param.Four/3"), "Param.Four");
  EXPECT_EQ(base_test_name("Suite.Name"), "Suite.Name");
}

}  // namespace
}  // namespace tito
