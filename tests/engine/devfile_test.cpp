#include "engine/devfile.hpp"

#include <gtest/gtest.h>

#include <initializer_list>
#include <string_view>

#include "engine/temp_course.hpp"
#include "util/error.hpp"

namespace tito {
namespace {

using testing::diagnostics_of;

constexpr const char* kPath = "modules/01_tiny/tiny_dev.cpp";

// The lines joined, each ending in '\n': line N of the file is the Nth item.
std::string lines(std::initializer_list<std::string_view> items) {
  std::string out;
  for (std::string_view line : items) {
    out += line;
    out += '\n';
  }
  return out;
}

std::string errors(const std::string& text) {
  return diagnostics_of([&] { parse_dev_file(text, kPath); });
}

std::vector<std::string> v(std::initializer_list<std::string> items) { return items; }

// ---------------------------------------------------------------- cells

TEST(DevFileParser, SplitsPreambleMarkdownAndCodeCells) {
  DevFile file = parse_dev_file(lines({
                                    "",                    // 1
                                    "// before any cell",  // 2
                                    "",                    // 3
                                    "// %% [markdown]",    // 4
                                    "// # Title",          // 5
                                    "// %% [md]",          // 6
                                    "// short form",       // 7
                                    "// %%",               // 8
                                    "int x = 1;",          // 9
                                }),
                                kPath);
  EXPECT_EQ(file.path, kPath);
  EXPECT_FALSE(file.default_exp.has_value());
  ASSERT_EQ(file.cells.size(), 4u);

  EXPECT_EQ(file.cells[0].kind, CellKind::Code);  // jupytext's preamble cell
  EXPECT_EQ(file.cells[0].role, CellRole::Scratch);
  EXPECT_EQ(file.cells[0].header_line, 0);
  EXPECT_EQ(file.cells[0].body_line, 2);
  EXPECT_EQ(file.cells[0].lines, v({"// before any cell"}));

  EXPECT_EQ(file.cells[1].kind, CellKind::Markdown);
  EXPECT_EQ(file.cells[1].header_line, 4);
  EXPECT_EQ(file.cells[1].body_line, 5);
  EXPECT_EQ(file.cells[1].lines, v({"// # Title"}));

  EXPECT_EQ(file.cells[2].kind, CellKind::Markdown);
  EXPECT_EQ(file.cells[2].header_line, 6);
  EXPECT_EQ(file.cells[2].lines, v({"// short form"}));

  EXPECT_EQ(file.cells[3].kind, CellKind::Code);
  EXPECT_EQ(file.cells[3].role, CellRole::Scratch);
  EXPECT_EQ(file.cells[3].header_line, 8);
  EXPECT_EQ(file.cells[3].body_line, 9);
  EXPECT_EQ(file.cells[3].lines, v({"int x = 1;"}));
}

TEST(DevFileParser, BlankLinesBeforeTheFirstCellMakeNoPreamble) {
  DevFile file = parse_dev_file(lines({"", "  ", "// %%", "int x;"}), kPath);
  ASSERT_EQ(file.cells.size(), 1u);
  EXPECT_EQ(file.cells[0].header_line, 3);
}

TEST(DevFileParser, AnEmptyFileIsAnErrorSoSyncNeverDropsTheModulesFiles) {
  for (std::string text : {"", "\n\n", "  \t\r\n \n"}) {
    EXPECT_EQ(errors(text),
              "modules/01_tiny/tiny_dev.cpp: the dev file is empty: a module's dev file holds at least its "
              "'//| default_exp' cell (templates/module/ shows a whole one)");
  }
}

TEST(DevFileParser, CellsWithReturnsCodeCellsOfARoleInFileOrder) {
  DevFile file = parse_dev_file(lines({
                                    "// %%",          // 1
                                    "//| test",       // 2
                                    "TEST(A, B) {}",  // 3
                                    "// %%",          // 4
                                    "int scratch;",   // 5
                                    "// %%",          // 6
                                    "//| test",       // 7
                                    "TEST(A, C) {}",  // 8
                                }),
                                kPath);
  std::vector<const Cell*> tests = file.cells_with(CellRole::Test);
  ASSERT_EQ(tests.size(), 2u);
  EXPECT_EQ(tests[0]->lines, v({"TEST(A, B) {}"}));
  EXPECT_EQ(tests[1]->lines, v({"TEST(A, C) {}"}));
  EXPECT_EQ(file.cells_with(CellRole::Scratch).size(), 1u);
  EXPECT_TRUE(file.cells_with(CellRole::Demo).empty());
}

TEST(DevFileParser, UnknownCellTypeIsAnErrorAtItsHeader) {
  EXPECT_EQ(errors(lines({"// %% [raw]", "text"})),
            "modules/01_tiny/tiny_dev.cpp:1: unknown cell type '[raw]' (use '// %%' or '// %% [markdown]')\n"
            "    // %% [raw]");
}

// ----------------------------------------------------------- directives

TEST(DevFileParser, ReadsEveryDirective) {
  DevFile file = parse_dev_file(lines({
                                    "// %%",                      // 1
                                    "//| default_exp core/tiny",  // 2
                                    "// %%",                      // 3
                                    "//| export",                 // 4
                                    "int f();",                   // 5
                                    "// %%",                      // 6
                                    "//| export impl",            // 7
                                    "int f() { return 1; }",      // 8
                                    "// %%",                      // 9
                                    "//| test",                   // 10
                                    "TEST(F, One) {}",            // 11
                                    "// %%",                      // 12
                                    "//| demo",                   // 13
                                    "f();",                       // 14
                                    "// %%",                      // 15
                                    "//|   hide  ",               // 16
                                    "//| test",                   // 17
                                    "TEST(F, Secret) {}",         // 18
                                }),
                                kPath);
  EXPECT_EQ(file.default_exp, "core/tiny");
  EXPECT_EQ(file.default_exp_line, 2);
  ASSERT_EQ(file.cells.size(), 6u);

  const Cell& exp = file.cells[0];
  ASSERT_EQ(exp.directives.size(), 1u);
  EXPECT_EQ(exp.directives[0].key, "default_exp");
  EXPECT_EQ(exp.directives[0].value, "core/tiny");
  EXPECT_EQ(exp.directives[0].line, 2);
  EXPECT_EQ(exp.role, CellRole::Scratch);
  EXPECT_TRUE(exp.lines.empty());

  EXPECT_EQ(file.cells[1].role, CellRole::Export);
  EXPECT_EQ(file.cells[1].directives[0].key, "export");
  EXPECT_EQ(file.cells[1].directives[0].value, "");
  EXPECT_EQ(file.cells[1].lines, v({"int f();"}));
  EXPECT_EQ(file.cells[1].body_line, 5);

  EXPECT_EQ(file.cells[2].role, CellRole::ExportImpl);
  EXPECT_EQ(file.cells[2].directives[0].key, "export");
  EXPECT_EQ(file.cells[2].directives[0].value, "impl");
  EXPECT_EQ(file.cells[2].directives[0].line, 7);

  EXPECT_EQ(file.cells[3].role, CellRole::Test);
  EXPECT_FALSE(file.cells[3].hidden);
  EXPECT_EQ(file.cells[4].role, CellRole::Demo);

  const Cell& secret = file.cells[5];
  EXPECT_TRUE(secret.hidden);
  EXPECT_EQ(secret.role, CellRole::Test);
  ASSERT_EQ(secret.directives.size(), 2u);
  EXPECT_EQ(secret.directives[0].key, "hide");
  EXPECT_EQ(secret.directives[0].value, "");
  EXPECT_EQ(secret.directives[0].line, 16);
  EXPECT_EQ(secret.lines, v({"TEST(F, Secret) {}"}));
  EXPECT_EQ(secret.body_line, 18);
}

TEST(DevFileParser, BodyStartsAfterDirectivesAndBlankLinesAreTrimmedAtBothEnds) {
  DevFile file = parse_dev_file(lines({
                                    "// %%",                 // 1
                                    "",                      // 2
                                    "//| default_exp tiny",  // 3
                                    "//| export",            // 4
                                    "",                      // 5
                                    "",                      // 6
                                    "int f();",              // 7
                                    "",                      // 8
                                    "  int g();",            // 9
                                    "",                      // 10
                                    "   ",                   // 11
                                    "// %%",                 // 12
                                }),
                                kPath);
  ASSERT_EQ(file.cells.size(), 2u);
  EXPECT_EQ(file.cells[0].lines, v({"int f();", "", "  int g();"}));
  EXPECT_EQ(file.cells[0].body_line, 7);
  EXPECT_TRUE(file.cells[1].lines.empty());
}

TEST(DevFileParser, UnknownDirectiveSuggestsTheNearestKnownOne) {
  EXPECT_EQ(errors(lines({"// %%", "//| exprot", "int f();"})),
            "modules/01_tiny/tiny_dev.cpp:2: unknown directive '//| exprot' (did you mean '//| export'?); known: "
            "default_exp, export, export impl, test, demo, hide\n"
            "    //| exprot");
  EXPECT_EQ(errors(lines({"// %%", "//| default-exp tiny"})),
            "modules/01_tiny/tiny_dev.cpp:2: unknown directive '//| default-exp' (did you mean '//| default_exp'?); "
            "known: default_exp, export, export impl, test, demo, hide\n"
            "    //| default-exp tiny");
}

TEST(DevFileParser, UnknownDirectiveFarFromAnyKnownOneHasNoSuggestion) {
  EXPECT_EQ(errors(lines({"// %%", "//| frobnicate"})),
            "modules/01_tiny/tiny_dev.cpp:2: unknown directive '//| frobnicate'; known: default_exp, export, export "
            "impl, test, demo, hide\n"
            "    //| frobnicate");
}

TEST(DevFileParser, DirectiveInAMarkdownCellIsAnErrorAtItsLine) {
  EXPECT_EQ(errors(lines({"// %% [markdown]", "// text", "//| export"})),
            "modules/01_tiny/tiny_dev.cpp:3: directive in a markdown cell (directives go at the top of a code cell, "
            "after '// %%')\n"
            "    //| export");
}

TEST(DevFileParser, DirectiveAfterCodeIsAnErrorAtItsLine) {
  EXPECT_EQ(errors(lines({"// %%", "//| test", "TEST(A, B) {}", "  //| demo"})),
            "modules/01_tiny/tiny_dev.cpp:4: directive after code: directives must be the first lines of their cell\n"
            "    //| demo");
}

TEST(DevFileParser, SecondDefaultExpNamesTheFirstLine) {
  EXPECT_EQ(errors(lines({"// %%", "//| default_exp tiny", "// %%", "//| default_exp other"})),
            "modules/01_tiny/tiny_dev.cpp:4: second '//| default_exp' (the first is at line 2; a dev file exports to "
            "one place)\n"
            "    //| default_exp other");
}

TEST(DevFileParser, DefaultExpNeedsASnakeCasePath) {
  EXPECT_EQ(errors(lines({"// %%", "//| default_exp Core/Tensor"})),
            "modules/01_tiny/tiny_dev.cpp:2: default_exp needs a path of snake_case names, like 'core/tensor'; got "
            "'Core/Tensor'\n"
            "    //| default_exp Core/Tensor");
  EXPECT_EQ(errors(lines({"// %%", "//| default_exp core//tensor"})),
            "modules/01_tiny/tiny_dev.cpp:2: default_exp needs a path of snake_case names, like 'core/tensor'; got "
            "'core//tensor'\n"
            "    //| default_exp core//tensor");
  EXPECT_EQ(errors(lines({"// %%", "//| default_exp"})),
            "modules/01_tiny/tiny_dev.cpp:2: default_exp needs a path of snake_case names, like 'core/tensor'; got ''\n"
            "    //| default_exp");
}

TEST(DevFileParser, ExportWithoutDefaultExpIsAnErrorAtTheExportDirective) {
  EXPECT_EQ(errors(lines({"// %%", "//| export", "int f();", "// %%", "//| export impl", "int f() { return 1; }"})),
            "modules/01_tiny/tiny_dev.cpp:2: exported cell but the file has no '//| default_exp' (add e.g. '//| "
            "default_exp core/tensor' to the first code cell)\n"
            "    //| export\n"
            "modules/01_tiny/tiny_dev.cpp:5: exported cell but the file has no '//| default_exp' (add e.g. '//| "
            "default_exp core/tensor' to the first code cell)\n"
            "    //| export impl");
}

TEST(DevFileParser, TestAndDemoCellsNeedNoDefaultExp) {
  DevFile file = parse_dev_file(lines({"// %%", "//| test", "TEST(A, B) {}", "// %%", "//| demo", "f();"}), kPath);
  EXPECT_FALSE(file.default_exp.has_value());
  EXPECT_EQ(file.cells_with(CellRole::Test).size(), 1u);
  EXPECT_EQ(file.cells_with(CellRole::Demo).size(), 1u);
}

TEST(DevFileParser, UnknownExportTargetIsAnError) {
  EXPECT_EQ(errors(lines({"// %%", "//| default_exp tiny", "//| export header"})),
            "modules/01_tiny/tiny_dev.cpp:3: unknown export target 'header' (use '//| export' for the header or '//| "
            "export impl' for the compiled source)\n"
            "    //| export header");
}

TEST(DevFileParser, FlagDirectivesTakeNoValue) {
  EXPECT_EQ(errors(lines({"// %%", "//| test now"})),
            "modules/01_tiny/tiny_dev.cpp:2: '//| test' takes no value; got 'now'\n"
            "    //| test now");
  EXPECT_EQ(errors(lines({"// %%", "//| hide please"})),
            "modules/01_tiny/tiny_dev.cpp:2: '//| hide' takes no value; got 'please'\n"
            "    //| hide please");
}

TEST(DevFileParser, TwoRolesInOneCellIsAnErrorAtTheSecond) {
  EXPECT_EQ(errors(lines({"// %%", "//| default_exp tiny", "//| export", "//| test", "int f();"})),
            "modules/01_tiny/tiny_dev.cpp:4: a cell takes one of export, export impl, test and demo; this one already "
            "has another\n"
            "    //| test");
}

TEST(DevFileParser, HiddenCellCannotBeExported) {
  EXPECT_EQ(errors(lines({"// %%", "//| default_exp tiny", "//| hide", "//| export impl", "int f() { return 1; }"})),
            "modules/01_tiny/tiny_dev.cpp:4: a '//| hide' cell cannot be exported: the student's library would miss "
            "it\n"
            "    //| export impl");
  EXPECT_EQ(errors(lines({"// %%", "//| default_exp tiny", "//| export", "//| hide", "int f();"})),
            "modules/01_tiny/tiny_dev.cpp:4: a '//| hide' cell cannot be exported: the student's library would miss "
            "it\n"
            "    //| hide");
}

TEST(DevFileParser, HiddenScratchAndDemoCellsAreFine) {
  DevFile file =
      parse_dev_file(lines({"// %%", "//| hide", "int secret;", "// %%", "//| hide", "//| demo", "f();"}), kPath);
  ASSERT_EQ(file.cells.size(), 2u);
  EXPECT_TRUE(file.cells[0].hidden);
  EXPECT_EQ(file.cells[0].role, CellRole::Scratch);
  EXPECT_TRUE(file.cells[1].hidden);
  EXPECT_EQ(file.cells[1].role, CellRole::Demo);
}

// ------------------------------------------------------- marker blocks

TEST(DevFileParser, ReadsSolutionBlocksWithAndWithoutStub) {
  DevFile file = parse_dev_file(lines({
                                    "// %%",                                     // 1
                                    "//| default_exp tiny",                      // 2
                                    "//| export impl",                           // 3
                                    "int f() {",                                 // 4
                                    "  // BEGIN SOLUTION",                       // 5
                                    "  return 1;",                               // 6
                                    "  // END SOLUTION",                         // 7
                                    "}",                                         // 8
                                    "int g() {",                                 // 9
                                    "  //   BEGIN SOLUTION stub:  return 0;  ",  // 10
                                    "  return 2;",                               // 11
                                    "  // END SOLUTION",                         // 12
                                    "}",                                         // 13
                                }),
                                kPath);
  ASSERT_EQ(file.cells.size(), 1u);
  const std::vector<MarkerBlock>& blocks = file.cells[0].solutions;
  ASSERT_EQ(blocks.size(), 2u);
  EXPECT_EQ(blocks[0].begin_line, 5);
  EXPECT_EQ(blocks[0].end_line, 7);
  EXPECT_FALSE(blocks[0].stub.has_value());
  EXPECT_EQ(blocks[1].begin_line, 10);
  EXPECT_EQ(blocks[1].end_line, 12);
  EXPECT_EQ(blocks[1].stub, "return 0;");
  EXPECT_TRUE(file.cells[0].hidden_tests.empty());
  // The markers stay in the body: the stripper replaces them, the instructor's build compiles them as comments.
  EXPECT_EQ(file.cells[0].lines.size(), 10u);
}

TEST(DevFileParser, ReadsHiddenTestBlocksInTestCells) {
  DevFile file = parse_dev_file(lines({
                                    "// %%",                  // 1
                                    "//| test",               // 2
                                    "TEST(A, Open) {}",       // 3
                                    "// BEGIN HIDDEN TESTS",  // 4
                                    "TEST(A, Secret) {}",     // 5
                                    "// END HIDDEN TESTS",    // 6
                                }),
                                kPath);
  ASSERT_EQ(file.cells.size(), 1u);
  ASSERT_EQ(file.cells[0].hidden_tests.size(), 1u);
  EXPECT_EQ(file.cells[0].hidden_tests[0].begin_line, 4);
  EXPECT_EQ(file.cells[0].hidden_tests[0].end_line, 6);
  EXPECT_FALSE(file.cells[0].hidden_tests[0].stub.has_value());
}

TEST(DevFileParser, MarkerMustOpenItsComment) {
  EXPECT_EQ(marker_kind("  // BEGIN SOLUTION"), MarkerKind::BeginSolution);
  EXPECT_EQ(marker_kind("//END SOLUTION"), MarkerKind::EndSolution);
  EXPECT_EQ(marker_kind("// BEGIN HIDDEN TESTS"), MarkerKind::BeginHiddenTests);
  EXPECT_EQ(marker_kind("\t// END HIDDEN TESTS"), MarkerKind::EndHiddenTests);
  EXPECT_EQ(marker_kind("// Between BEGIN SOLUTION and END SOLUTION, students write"), MarkerKind::None);
  EXPECT_EQ(marker_kind("x = 1;  // BEGIN SOLUTION"), MarkerKind::None);
  EXPECT_EQ(marker_kind("BEGIN SOLUTION"), MarkerKind::None);
}

TEST(DevFileParser, MarkerStubIsTheTextAfterStubColon) {
  EXPECT_EQ(marker_stub("// BEGIN SOLUTION stub: return {};"), "return {};");
  EXPECT_EQ(marker_stub("// BEGIN SOLUTION"), std::nullopt);
  EXPECT_EQ(marker_stub("// BEGIN SOLUTION (the loop)"), std::nullopt);
  EXPECT_EQ(marker_stub("// END SOLUTION stub: x"), std::nullopt);
}

TEST(DevFileParser, NestedBeginSolutionIsAnErrorAtItsLine) {
  // The inner END closes the outer block, so the outer END is unmatched too.
  EXPECT_EQ(errors(lines({
                "// %%",                // 1
                "int f() {",            // 2
                "  // BEGIN SOLUTION",  // 3
                "  // BEGIN SOLUTION",  // 4
                "  // END SOLUTION",    // 5
                "  // END SOLUTION",    // 6
                "}",                    // 7
            })),
            "modules/01_tiny/tiny_dev.cpp:4: BEGIN SOLUTION inside the solution block opened at line 3 (blocks cannot "
            "nest)\n"
            "    // BEGIN SOLUTION\n"
            "modules/01_tiny/tiny_dev.cpp:6: END SOLUTION without BEGIN SOLUTION\n"
            "    // END SOLUTION");
}

TEST(DevFileParser, UnclosedBeginSolutionIsAnErrorAtItsLineNamingTheCellEnd) {
  EXPECT_EQ(errors(lines({
                "// %%",                // 1
                "int f() {",            // 2
                "  // BEGIN SOLUTION",  // 3
                "  return 1;",          // 4
                "}",                    // 5
                "",                     // 6
                "// %%",                // 7
                "// END SOLUTION",      // 8
            })),
            "modules/01_tiny/tiny_dev.cpp:3: BEGIN SOLUTION is not closed by an END SOLUTION before its cell ends at "
            "line 6\n"
            "    // BEGIN SOLUTION\n"
            "modules/01_tiny/tiny_dev.cpp:8: END SOLUTION without BEGIN SOLUTION\n"
            "    // END SOLUTION");
}

TEST(DevFileParser, EndWithoutBeginSolutionIsAnErrorAtItsLine) {
  EXPECT_EQ(errors(lines({"// %%", "int x;", "// END SOLUTION"})),
            "modules/01_tiny/tiny_dev.cpp:3: END SOLUTION without BEGIN SOLUTION\n"
            "    // END SOLUTION");
}

TEST(DevFileParser, NestedHiddenTestsIsAnErrorAtItsLine) {
  EXPECT_EQ(
      errors(lines({
          "// %%",                  // 1
          "//| test",               // 2
          "// BEGIN HIDDEN TESTS",  // 3
          "// BEGIN HIDDEN TESTS",  // 4
          "// END HIDDEN TESTS",    // 5
      })),
      "modules/01_tiny/tiny_dev.cpp:4: BEGIN HIDDEN TESTS inside the hidden tests opened at line 3 (blocks cannot "
      "nest)\n"
      "    // BEGIN HIDDEN TESTS");
}

TEST(DevFileParser, UnclosedHiddenTestsIsAnErrorAtItsLine) {
  EXPECT_EQ(errors(lines({"// %%", "//| test", "// BEGIN HIDDEN TESTS", "TEST(A, B) {}"})),
            "modules/01_tiny/tiny_dev.cpp:3: BEGIN HIDDEN TESTS is not closed by an END HIDDEN TESTS before its cell "
            "ends at line 4\n"
            "    // BEGIN HIDDEN TESTS");
}

TEST(DevFileParser, EndWithoutBeginHiddenTestsIsAnErrorAtItsLine) {
  EXPECT_EQ(errors(lines({"// %%", "//| test", "TEST(A, B) {}", "// END HIDDEN TESTS"})),
            "modules/01_tiny/tiny_dev.cpp:4: END HIDDEN TESTS without BEGIN HIDDEN TESTS\n"
            "    // END HIDDEN TESTS");
  // Outside a test cell too: a stray END is an unbalanced marker wherever it is.
  EXPECT_EQ(errors(lines({"// %%", "int x;", "// END HIDDEN TESTS"})),
            "modules/01_tiny/tiny_dev.cpp:3: END HIDDEN TESTS without BEGIN HIDDEN TESTS\n"
            "    // END HIDDEN TESTS");
}

TEST(DevFileParser, HiddenTestsOutsideATestCellIsOneErrorAtTheBegin) {
  EXPECT_EQ(errors(lines({
                "// %%",                  // 1
                "//| demo",               // 2
                "// BEGIN HIDDEN TESTS",  // 3
                "f();",                   // 4
                "// END HIDDEN TESTS",    // 5
            })),
            "modules/01_tiny/tiny_dev.cpp:3: BEGIN HIDDEN TESTS outside a '//| test' cell\n"
            "    // BEGIN HIDDEN TESTS");
}

TEST(DevFileParser, SolutionAndHiddenTestBlocksCannotInterleave) {
  EXPECT_EQ(errors(lines({
                "// %%",                  // 1
                "//| test",               // 2
                "// BEGIN HIDDEN TESTS",  // 3
                "// BEGIN SOLUTION",      // 4
                "// END SOLUTION",        // 5
                "// END HIDDEN TESTS",    // 6
            })),
            "modules/01_tiny/tiny_dev.cpp:4: BEGIN SOLUTION inside the hidden tests opened at line 3\n"
            "    // BEGIN SOLUTION\n"
            "modules/01_tiny/tiny_dev.cpp:5: END SOLUTION without BEGIN SOLUTION\n"
            "    // END SOLUTION");
  EXPECT_EQ(errors(lines({
                "// %%",                  // 1
                "//| test",               // 2
                "// BEGIN SOLUTION",      // 3
                "// BEGIN HIDDEN TESTS",  // 4
                "// END SOLUTION",        // 5
            })),
            "modules/01_tiny/tiny_dev.cpp:4: BEGIN HIDDEN TESTS inside the solution block opened at line 3\n"
            "    // BEGIN HIDDEN TESTS");
}

TEST(DevFileParser, UnbalancedBracesInAnExportedCellAreAnErrorAtTheBrace) {
  EXPECT_EQ(errors(lines({
                "// %%",                 // 1
                "//| default_exp tiny",  // 2
                "// %%",                 // 3
                "//| export impl",       // 4
                "int f() {",             // 5
                "  if (true) {",         // 6
                "    return 1;",         // 7
                "}",                     // 8
            })),
            "modules/01_tiny/tiny_dev.cpp:5: unbalanced braces in an exported cell: '{' is never closed in this cell\n"
            "    int f() {");
  EXPECT_EQ(errors(lines({"// %%", "//| default_exp tiny", "//| export", "int f();", "}"})),
            "modules/01_tiny/tiny_dev.cpp:5: unbalanced braces in an exported cell: '}' has no matching '{'\n"
            "    }");
}

TEST(DevFileParser, UnbalancedBracesOutsideExportedCellsAreTheCompilersBusiness) {
  DevFile file = parse_dev_file(lines({"// %%", "//| test", "TEST(A, B) {", "// %%", "}"}), kPath);
  EXPECT_EQ(file.cells.size(), 2u);
}

TEST(DevFileParser, ReportsEveryErrorAtOnce) {
  EXPECT_EQ(errors(lines({
                "// %% [markdown]",   // 1
                "//| export",         // 2
                "// %%",              // 3
                "//| exprot",         // 4
                "int f() {",          // 5
                "  // END SOLUTION",  // 6
                "// %%",              // 7
                "//| export impl",    // 8
                "int g() {",          // 9
            })),
            "modules/01_tiny/tiny_dev.cpp:2: directive in a markdown cell (directives go at the top of a code cell, "
            "after '// %%')\n"
            "    //| export\n"
            "modules/01_tiny/tiny_dev.cpp:4: unknown directive '//| exprot' (did you mean '//| export'?); known: "
            "default_exp, export, export impl, test, demo, hide\n"
            "    //| exprot\n"
            "modules/01_tiny/tiny_dev.cpp:6: END SOLUTION without BEGIN SOLUTION\n"
            "    // END SOLUTION\n"
            "modules/01_tiny/tiny_dev.cpp:9: unbalanced braces in an exported cell: '{' is never closed in this cell\n"
            "    int g() {\n"
            "modules/01_tiny/tiny_dev.cpp:8: exported cell but the file has no '//| default_exp' (add e.g. '//| "
            "default_exp core/tensor' to the first code cell)\n"
            "    //| export impl");
}

TEST(DevFileParser, ErrorsAreDiagnosticsWithPathLineAndSource) {
  try {
    parse_dev_file(lines({"// %%", "int x;", "// END SOLUTION"}), kPath);
    FAIL() << "no error";
  } catch (const DiagnosticError& e) {
    ASSERT_EQ(e.diagnostics().size(), 1u);
    EXPECT_EQ(e.diagnostics()[0].path, kPath);
    EXPECT_EQ(e.diagnostics()[0].line, 3);
    EXPECT_EQ(e.diagnostics()[0].message, "END SOLUTION without BEGIN SOLUTION");
    EXPECT_EQ(e.diagnostics()[0].source, "// END SOLUTION");
    EXPECT_EQ(e.exit_code(), kExitFailure);
  }
}

TEST(DevFileParser, WindowsLineEndingsAreIgnored) {
  DevFile file = parse_dev_file("// %%\r\n//| default_exp tiny\r\n//| export\r\nint f();\r\n", kPath);
  EXPECT_EQ(file.default_exp, "tiny");
  ASSERT_EQ(file.cells.size(), 1u);
  EXPECT_EQ(file.cells[0].lines, v({"int f();"}));
}

// ------------------------------------------------- test-file markers

TEST(TestFileMarkers, ReturnsTheHiddenTestBlocks) {
  std::vector<MarkerBlock> blocks = scan_test_file_markers(
      lines({"TEST(A, B) {}", "// BEGIN HIDDEN TESTS", "TEST(A, C) {}", "// END HIDDEN TESTS"}), "t.cpp");
  ASSERT_EQ(blocks.size(), 1u);
  EXPECT_EQ(blocks[0].begin_line, 2);
  EXPECT_EQ(blocks[0].end_line, 4);
}

TEST(TestFileMarkers, ReportsEveryImbalanceAtItsLine) {
  EXPECT_EQ(diagnostics_of([] {
              scan_test_file_markers(lines({
                                         "// END HIDDEN TESTS",    // 1
                                         "// BEGIN HIDDEN TESTS",  // 2
                                         "// BEGIN HIDDEN TESTS",  // 3
                                         "// BEGIN SOLUTION",      // 4
                                     }),
                                     "modules/01_tiny/tests/test_tiny.cpp");
            }),
            "modules/01_tiny/tests/test_tiny.cpp:1: END HIDDEN TESTS without BEGIN HIDDEN TESTS\n"
            "    // END HIDDEN TESTS\n"
            "modules/01_tiny/tests/test_tiny.cpp:3: BEGIN HIDDEN TESTS inside the hidden tests opened at line 2 "
            "(blocks cannot nest)\n"
            "    // BEGIN HIDDEN TESTS\n"
            "modules/01_tiny/tests/test_tiny.cpp:4: solution markers belong in the dev file, not in a test file\n"
            "    // BEGIN SOLUTION\n"
            "modules/01_tiny/tests/test_tiny.cpp:2: BEGIN HIDDEN TESTS is never closed by an END HIDDEN TESTS\n"
            "    // BEGIN HIDDEN TESTS");
}

}  // namespace
}  // namespace tito

// ------------------------------------------------- malformed input (fuzzed)

namespace tito {
namespace {

constexpr const char* kDev = "modules/01_tiny/tiny_dev.cpp";

std::string problems(const std::string& text) {
  return testing::diagnostics_of([&] { parse_dev_file(text, kDev); });
}

TEST(DevFileInput, ANulByteIsAnErrorAtItsLine) {
  EXPECT_EQ(problems(std::string(1, '\0')),
            "modules/01_tiny/tiny_dev.cpp:1: a NUL byte: a course source is text; is this the right file?");
  EXPECT_EQ(problems("// %%\n//| default_exp tiny\nint x;" + std::string(1, '\0') + "\n"),
            "modules/01_tiny/tiny_dev.cpp:3: a NUL byte: a course source is text; is this the right file?");
}

TEST(DevFileInput, BareCarriageReturnsAreAnErrorButCrlfIsFine) {
  EXPECT_EQ(problems("// %%\r//| default_exp tiny\r"),
            "modules/01_tiny/tiny_dev.cpp:1: a carriage return without a line feed (old Mac line endings): save the "
            "file with LF (or CRLF) line endings");
  DevFile crlf = parse_dev_file("// %%\r\n//| default_exp tiny\r\n", kDev);
  EXPECT_EQ(crlf.default_exp, "tiny");
}

TEST(DevFileInput, AByteOrderMarkIsSkipped) {
  DevFile file = parse_dev_file("\xEF\xBB\xBF// %%\n//| default_exp tiny\n\n// %%\n//| export\nint f();\n", kDev);
  EXPECT_EQ(file.default_exp, "tiny");
  EXPECT_EQ(file.default_exp_line, 2);
  ASSERT_EQ(file.cells.size(), 2u);
  EXPECT_EQ(file.cells[1].role, CellRole::Export);
}

TEST(DevFileInput, ADefaultExpWithAVeryLongNameIsAnErrorAtItsLine) {
  std::string name(300, 'a');
  EXPECT_EQ(problems("// %%\n//| default_exp " + name + "\n"),
            "modules/01_tiny/tiny_dev.cpp:2: default_exp '" + std::string(60, 'a') +
                "…' has a name of 300 characters; at most 64 (each becomes a folder or file name)\n"
                "    //| default_exp " + std::string(160 - 16, 'a') + "…");
  EXPECT_EQ(problems("// %%\n//| default_exp a/b/c/d/e\n"),
            "modules/01_tiny/tiny_dev.cpp:2: default_exp 'a/b/c/d/e' has more than 4 parts\n"
            "    //| default_exp a/b/c/d/e");
}

TEST(DevFileInput, NearMissMarkersAreWarningsAtTheirLines) {
  DevFile file = parse_dev_file(lines({
                                    "// %%",                    // 1
                                    "//| default_exp tiny",     // 2
                                    "// %%",                    // 3
                                    "//| export impl",          // 4
                                    "int f() {",                // 5
                                    "  // BEGIN  SOLUTION",     // 6
                                    "  return 1;",              // 7
                                    "  // end solution",        // 8
                                    "}",                        // 9
                                    "int g() {",                // 10
                                    "  // BEGIN SOLUTION",      // 11
                                    "  return 2;",              // 12
                                    "  // END SOLUTION",        // 13
                                    "  // END SOLUTON",         // 14
                                    "  // begin by checking the solution space",  // 15: prose
                                    "}",                        // 16
                                }),
                                kDev);
  std::vector<std::string> got;
  for (const Diagnostic& d : file.warnings) got.push_back(d.format());
  std::string tail = "' but is not that marker, so it is kept as a comment (and what it should hide reaches students): "
                     "write '// ";
  EXPECT_EQ(got, (std::vector<std::string>{
                     std::string(kDev) + ":6: looks like '// BEGIN SOLUTION" + tail +
                         "BEGIN SOLUTION' exactly, or reword it\n    // BEGIN  SOLUTION",
                     std::string(kDev) + ":8: looks like '// END SOLUTION" + tail +
                         "END SOLUTION' exactly, or reword it\n    // end solution",
                     std::string(kDev) + ":14: looks like '// END SOLUTION" + tail +
                         "END SOLUTION' exactly, or reword it\n    // END SOLUTON",
                 }));
  EXPECT_EQ(file.cells[1].solutions.size(), 1u);  // only g's block is a block
}

TEST(DevFileInput, NearMissMarkerRecognitionIsNarrow) {
  EXPECT_EQ(near_miss_marker("// BEGIN SOLUTION"), std::nullopt);
  EXPECT_EQ(near_miss_marker("// BEGIN SOLUTION stub: return {};"), std::nullopt);
  EXPECT_EQ(near_miss_marker("int x;  // END SOLUTON"), std::nullopt);  // not a comment line
  EXPECT_EQ(near_miss_marker("// the solution begins here"), std::nullopt);
  EXPECT_EQ(near_miss_marker("//| export"), std::nullopt);
  EXPECT_EQ(near_miss_marker("//BEGINSOLUTION"), "BEGIN SOLUTION");
  EXPECT_EQ(near_miss_marker("// Begin Hidden Test"), "BEGIN HIDDEN TESTS");
  EXPECT_EQ(near_miss_marker("  //  end_hidden_tests"), "END HIDDEN TESTS");
}

TEST(DevFileInput, AFileOfMalformedCellsGetsAFewDozenMessagesAndACount) {
  std::string text = "// %%\n//| default_exp tiny\n";
  for (int i = 0; i < 1000; ++i) text += "// %%\n//| frobnicate\n";
  DiagnosticError error({});
  try {
    parse_dev_file(text, kDev);
    FAIL() << "no error";
  } catch (const DiagnosticError& e) {
    error = e;
  }
  ASSERT_EQ(error.diagnostics().size(), 31u);
  EXPECT_EQ(error.diagnostics().back().format(),
            std::string(kDev) + ": ... and 970 more problems not shown (fix these first)");
}

TEST(DevFileInput, EscapeBytesAndLongLinesAreNeverEchoedRaw) {
  std::string text = "// %%\n//| \033[2J" + std::string(1 << 20, 'x') + "\n";
  std::string message = problems(text);
  EXPECT_EQ(message.find('\033'), std::string::npos);
  EXPECT_LT(message.size(), 600u) << "a 1 MB line is shown cut short, not whole (twice)";
  EXPECT_NE(message.find("unknown directive '//| \\x1b[2J" + std::string(56, 'x') + "…'"), std::string::npos) << message;
}

TEST(TestFileMarkers, NulAndNearMissesAreReported) {
  EXPECT_EQ(testing::diagnostics_of([] { scan_test_file_markers(std::string("TEST\0", 5), "t.cpp"); }),
            "t.cpp:1: a NUL byte: a course source is text; is this the right file?");
  std::vector<Diagnostic> warnings;
  scan_test_file_markers("// BEGIN HIDDEN TEST\nTEST(A, B) {}\n", "t.cpp", &warnings);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_EQ(warnings[0].line, 1);
}

}  // namespace
}  // namespace tito

namespace tito {
namespace {

TEST(DevFileInput, ASolutionBlockMustBalanceItsBracesOnItsOwn) {
  EXPECT_EQ(testing::diagnostics_of([] {
              parse_dev_file(
                  "// %%\n//| default_exp tiny\n// %%\n//| export impl\nint f() {\n  // BEGIN SOLUTION\n"
                  "  return 1; }\n  // END SOLUTION\n",
                  "t.cpp");
            }),
            "t.cpp:7: unbalanced braces in the solution block opened at line 6: '}' has no matching '{' (students get "
            "the block's stub instead, so it must balance on its own)\n"
            "    return 1; }");
  EXPECT_EQ(testing::diagnostics_of([] {
              parse_dev_file(
                  "// %%\n//| default_exp tiny\n// %%\n//| export impl\nint f() {\n  // BEGIN SOLUTION stub: {\n"
                  "  return 1;\n  // END SOLUTION\n}\n",
                  "t.cpp");
            }),
            "t.cpp:6: unbalanced braces in the stub: '{' is never closed in this cell\n"
            "    // BEGIN SOLUTION stub: {");
}

}  // namespace
}  // namespace tito
