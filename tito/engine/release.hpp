// `tito release`: the student version of the course, and the checks that it
// compiles, never leaks a solution, and passes once the solutions are back.
#pragma once

#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "engine/builder.hpp"
#include "engine/course.hpp"

namespace tito {

namespace fs = std::filesystem;

struct ReleaseFile {
  std::string path;  // relative to the release root
  std::string content;
  bool executable = false;
};

// Appends the files under root/rel (a file or a folder, recursively; nothing
// when it is not there) to `out` with paths relative to `root`, skipping dot
// files and the folders in `skip` (root-relative paths).
void collect_files(const fs::path& root, const std::string& rel, const std::set<std::string>& skip,
                   std::vector<ReleaseFile>& out);

struct ReleaseSecrets {
  // Lines (trimmed) that only ever appear inside solution blocks, hidden
  // cells or hidden tests of the instructor's sources.
  std::vector<std::string> lines;
};

struct ReleaseContent {
  std::vector<ReleaseFile> files;  // sorted by path
  ReleaseSecrets secrets;
  int exercises = 0;
};

struct ReleaseOptions {
  std::vector<std::string> modules;  // empty: the whole course (named ones come with what they require)
  bool keep_solutions = false;       // hidden parts removed but solutions kept: "solutions pasted back"
};

// Everything the release holds, in memory. Throws DiagnosticError for
// malformed dev files or tests (nothing written).
ReleaseContent make_release(const Course& course, const ReleaseOptions& options);

// Writes `content` to `out` through a staging folder renamed into place.
// Refuses a non-empty `out` unless `force`, and any `out` that is the course
// or holds it.
void write_release(const Course& course, const ReleaseContent& content, const fs::path& out, bool force);

// Files of the release tree under `root` that contain a secret line.
struct Leak {
  std::string path;
  int line = 0;
  std::string text;
};
std::vector<Leak> scan_for_leaks(const fs::path& root, const ReleaseSecrets& secrets);

// Where reset finds a module's pristine student dev file in a released course.
inline constexpr std::string_view kPristineDir = ".tito/pristine";

}  // namespace tito
