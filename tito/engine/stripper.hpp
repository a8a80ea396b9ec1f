// The student version of a dev file (nbgrader's "generate" for C++): pure,
// text in and text out.
//
//   // BEGIN SOLUTION ... // END SOLUTION   ->  // YOUR CODE HERE
//                                              throw tinytorch::NotImplemented();
//                                              // END YOUR CODE
//   // BEGIN SOLUTION stub: return {};      ->  // YOUR CODE HERE
//                                              return {};
//                                              // END YOUR CODE
//   //| hide cells, BEGIN/END HIDDEN TESTS   ->  removed
//
// The replacement is indented like the BEGIN line. The not-implemented error
// captures its call site, so it names the function and the student's dev-file
// line without the stripper having to know either. The two comment lines frame
// the student's region: `tito grade` takes what a student wrote between them
// and nothing else (engine/splice.hpp).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "util/error.hpp"

namespace tito {

// The lines a student must never see, for the release's leak scan.
struct Secrets {
  std::vector<std::string> lines;  // trimmed, in file order
};

// Where one exercise is, in the dev file and in its student version (1-based lines).
struct StubRegion {
  int begin_line = 0;          // the dev file's BEGIN SOLUTION line
  int end_line = 0;            // its END SOLUTION line
  int student_begin_line = 0;  // the student version's "// YOUR CODE HERE" line
  int student_end_line = 0;    // its "// END YOUR CODE" line
};

struct StudentVersion {
  std::string text;
  int exercises = 0;  // solution blocks replaced by stubs
  std::vector<StubRegion> regions;  // one per exercise, in file order
  Secrets secrets;    // lines of solution blocks, hidden cells and hidden tests
  std::vector<Diagnostic> near_misses;  // comments that look like markers but are not: a release refuses them
};

struct StripOptions {
  bool keep_solutions = false;  // remove only hidden cells and tests: "the solutions pasted back"
};

// The student version of a dev file. Throws DiagnosticError (file:line) for
// nested, missing or unmatched markers and every other dev-file error.
StudentVersion strip_dev_file(std::string_view text, const std::string& path, const StripOptions& options = {});

// A module test file (tests/*.cpp) without its hidden tests.
StudentVersion strip_test_file(std::string_view text, const std::string& path);

// The default stub.
inline constexpr std::string_view kDefaultStub = "throw tinytorch::NotImplemented();";
inline constexpr std::string_view kYourCodeHere = "// YOUR CODE HERE";
inline constexpr std::string_view kEndYourCode = "// END YOUR CODE";

}  // namespace tito
