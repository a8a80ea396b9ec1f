// `tito release --check`: nbgrader's validate and validate --invert, on a
// real release built in a temporary folder by the real tito binary.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "engine/builder.hpp"
#include "engine/course.hpp"

namespace tito {

struct CheckStep {
  std::string name;                  // "the student course compiles"
  bool ok = false;
  std::vector<std::string> details;  // what went wrong, one finding a line
};

struct ReleaseCheck {
  std::vector<CheckStep> steps;
  bool ok() const;
};

struct ReleaseCheckOptions {
  std::vector<std::string> modules;
  std::filesystem::path tito;      // the tito binary to run in the released courses
  std::filesystem::path keep;      // non-empty: work here (kept) instead of a temporary folder
  int timeout_seconds = 60;
};

// Releases the course twice (determinism), scans for leaks, builds and tests
// the student version (every test must fail with "not implemented yet"), then
// the version with solutions pasted back (every test must pass).
ReleaseCheck check_release(const Course& course, const ReleaseCheckOptions& options, Progress& progress);

}  // namespace tito
