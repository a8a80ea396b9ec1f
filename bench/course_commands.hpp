// What the benchmarks of tito's own commands share (sync_bench, grade_bench):
// a copy of the course to run in, and one command timed.
#pragma once

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "util/process.hpp"

namespace tito::bench {

// Copies what a course needs to sync, build and grade from `from` (the tree
// the benchmark was built from) to `to`: the build files, package/ without
// its generated files, templates/, modules/ and the data registry.
inline void copy_course(const std::filesystem::path& from, const std::filesystem::path& to) {
  namespace fs = std::filesystem;
  for (const char* item :
       {"CMakeLists.txt", "CMakePresets.json", "package", "templates", "modules", "data/datasets.json"}) {
    fs::create_directories((to / item).parent_path());
    fs::copy(from / item, to / item, fs::copy_options::recursive);
  }
  fs::remove_all(to / "package" / "generated");
}

// The seconds `argv` took. A command that fails ends the benchmark, with its
// output: a figure of a failed run would mean nothing.
inline double timed_seconds(const std::vector<std::string>& argv, const ProcessOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  ProcessResult r = run_process(argv, options);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (!r.ok()) {
    std::fprintf(stderr, "command failed (exit %d): %s ...\n%s\n", r.exit_code,
                 argv.size() > 1 ? argv[1].c_str() : argv[0].c_str(), r.output.c_str());
    std::exit(1);
  }
  return seconds;
}

}  // namespace tito::bench
