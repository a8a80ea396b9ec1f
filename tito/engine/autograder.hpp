// `tito grade autograder`: the course as a Gradescope autograder bundle
// (autograder.zip). Gradescope unpacks it into /autograder/source, runs
// setup.sh once to build its image and run_autograder for each submission.
// The bundle holds:
//
//   setup.sh, run_autograder   tito/autograder/'s scripts (what each does is in
//                              its header): packages, tito, data, the course
//                              built once; then `tito grade run` per submission
//   autograder.env             the settings the scripts read (TIMEOUT=...)
//   tito-source/               tito's sources, to build it there (its top
//                              CMakeLists.txt with TITO_TOOL_ONLY=ON,
//                              scripts/deps for the packages)
//   course/                    the instructor's course as grading reads it:
//                              build files, package/, modules/ (hidden tests
//                              and "grading" included), data/ without its cache
//
// The bundle is the instructor's: it holds every solution and hidden test.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "engine/course.hpp"
#include "engine/release.hpp"

namespace tito {

namespace fs = std::filesystem;

struct AutograderOptions {
  fs::path tito_source;      // the tree tito is built from: CMakeLists.txt, tito/, scripts/deps
  int timeout_seconds = 60;  // per test
};

struct AutograderBundle {
  std::vector<ReleaseFile> files;  // the zip's entries, in order
  int modules = 0;
  int course_files = 0;
};

// Everything the bundle holds. Throws DiagnosticError for a malformed
// "grading" in a module.json (the line and the value), tito::Error when the
// tito sources are not where `options` says or lack a file the bundle needs.
AutograderBundle make_autograder(const Course& course, const AutograderOptions& options);

// Writes the bundle as a zip archive at `out`, atomically. Refuses an `out`
// that exists unless `force`, a folder, and a file in the course's modules/,
// package/ or data/ (the next bundle would hold it).
void write_autograder(const Course& course, const AutograderBundle& bundle, const fs::path& out, bool force);

}  // namespace tito
