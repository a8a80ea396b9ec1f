#include "engine/braces.hpp"

#include <gtest/gtest.h>

namespace tito {
namespace {

// "line N: message", or "balanced".
std::string check(const std::vector<std::string>& lines) {
  std::optional<BraceProblem> p = find_unbalanced_brace(lines);
  if (!p) return "balanced";
  return "line " + std::to_string(p->line_index) + ": " + p->message;
}

TEST(Braces, MatchedBracesAreBalanced) {
  EXPECT_EQ(check({"namespace a {", "int f() { return 1; }", "}"}), "balanced");
  EXPECT_EQ(check({}), "balanced");
}

TEST(Braces, UnclosedBraceIsReportedAtTheInnermostOpening) {
  EXPECT_EQ(check({"namespace a {", "int f() {", "  return 1;", "}"}), "line 0: '{' is never closed in this cell");
  EXPECT_EQ(check({"int f() {", "  if (x) {", "}"}), "line 0: '{' is never closed in this cell");
  EXPECT_EQ(check({"int f() {", "}", "struct S {"}), "line 2: '{' is never closed in this cell");
}

TEST(Braces, StrayClosingBraceIsReportedAtItsLine) {
  EXPECT_EQ(check({"int f() { return 1; }", "}", "{"}), "line 1: '}' has no matching '{'");
}

TEST(Braces, LineCommentsAreSkipped) {
  EXPECT_EQ(check({"int f() {  // the body {", "  return 1;  // }}}", "}"}), "balanced");
}

TEST(Braces, BlockCommentsAreSkippedAcrossLines) {
  EXPECT_EQ(check({"/* one {", "   two } }", "*/ int f() {", "  return /* } */ 1;", "}"}), "balanced");
  EXPECT_EQ(check({"/* { */ }"}), "line 0: '}' has no matching '{'");
}

TEST(Braces, StringLiteralsWithBracesAndEscapesAreSkipped) {
  EXPECT_EQ(check({R"(const char* s = "{ \" } \\";)", R"(void f() { puts("}"); })"}), "balanced");
  EXPECT_EQ(check({R"(const char* s = "\"{";)"}), "balanced");
}

TEST(Braces, UnterminatedStringEndsWithItsLine) {
  EXPECT_EQ(check({R"(const char* s = "{)", "int f() {", "}"}), "balanced");
}

TEST(Braces, CharacterLiteralsAreSkipped) {
  EXPECT_EQ(check({"char open = '{';", "char close = '}';", R"(char quote = '\'';)", R"(char dq = '"';)",
                   R"(bool f(char c) { return c == '\\' || c == '}'; })"}),
            "balanced");
}

TEST(Braces, DigitSeparatorsAreNotCharacterLiterals) {
  // Read as character literals, the separators would hide the '{' of f.
  EXPECT_EQ(check({"int n = 1'000'000; int f() { return '}'; }"}), "balanced");
  EXPECT_EQ(check({"unsigned m = 0xFF'FF; int g() { return 0b1010'1010; }"}), "balanced");
  EXPECT_EQ(check({"int n = 1'000; }"}), "line 0: '}' has no matching '{'");
}

TEST(Braces, PrefixedCharacterLiteralsAreNotDigitSeparators) {
  EXPECT_EQ(check({"bool f(char8_t c) { if (c == u8'a') {", "    return true; }", "  return false; }"}), "balanced");
}

TEST(Braces, RawStringsAreSkipped) {
  EXPECT_EQ(check({R"--(auto s = R"(a { b " c)";)--", "int f() { return 1; }"}), "balanced");
  EXPECT_EQ(check({R"--(auto s = R"x(a )" { )x"; int g() {)--", "}"}), "balanced");
  EXPECT_EQ(check({R"--(auto s = u8R"({)"; auto t = LR"(})";)--"}), "balanced");
}

TEST(Braces, RawStringsSpanLines) {
  EXPECT_EQ(check({R"--(const char* json = R"({)--", R"--(  "a": { "b": 1 )--", R"--(})"; int f() { return 1; })--"}),
            "balanced");
  EXPECT_EQ(check({R"--(auto s = R"(")--", "{", R"--()"; })--"}), "line 2: '}' has no matching '{'");
}

TEST(Braces, IdentifierEndingInRIsNotARawString) {
  // FOR"(" is the macro FOR and a string, not a raw string: the brace after it counts.
  EXPECT_EQ(check({R"--(auto x = FOR"(" {)--"}), "line 0: '{' is never closed in this cell");
}

}  // namespace
}  // namespace tito
