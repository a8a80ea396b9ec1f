// Splicing a student's work into the instructor's dev file: the first step of
// grading (`tito grade`). Grading never trusts a submission's file as a whole:
// it takes only what the student wrote between each `// YOUR CODE HERE` and
// `// END YOUR CODE` of their dev file and puts it in place of the matching
// solution block of the instructor's own dev file. Tests (visible and hidden),
// given code and explanations all come from the instructor.
//
// What the student changed outside their regions is reported, never used:
//   - a change to a code line (a visible test edited to pass, given code
//     rewritten, a test deleted) is *tampering*, named by line;
//   - comments, blank lines and markdown cells may change freely (notes,
//     answers to the reflect questions): they compile to nothing.
// A file whose regions cannot be matched (a marker line removed or doubled,
// regions out of order) is an error naming the exercise and the line: such a
// module cannot be graded, and gets no credit rather than a crash.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "util/error.hpp"

namespace tito {

// One exercise of a submission.
struct SplicedRegion {
  int instructor_line = 0;  // the instructor's BEGIN SOLUTION line
  int student_line = 0;     // the student's "// YOUR CODE HERE" line
  std::string context;      // the code line above the region in the student version ("int add(int a, int b) {")
  bool written = false;     // the student replaced the stub
  int spliced_line = 0;     // the first line of the student's code in Splice::text
  int lines = 0;            // how many lines of code the region holds
};

struct Splice {
  std::string text;                    // the instructor's dev file with the student's regions
  std::vector<SplicedRegion> regions;  // in file order
  std::vector<Diagnostic> tampering;   // code outside the regions that differs: at the student's lines
  int written() const;                 // regions with the stub replaced
  // The student's line (1-based, in their file) of a line of `text` that
  // came from one of their regions; 0 for the instructor's lines.
  int student_line(int spliced_line) const;
};

// Splices `student` (the submission's dev file, shown as `student_path`) into
// `instructor` (the instructor's dev file, `instructor_path`). Throws
// DiagnosticError when the instructor's file is not a valid dev file or the
// student's regions cannot be matched, naming the student's file and line.
// Windows line endings in the submission are accepted.
Splice splice_submission(std::string_view instructor, const std::string& instructor_path, std::string_view student,
                         const std::string& student_path);

}  // namespace tito
