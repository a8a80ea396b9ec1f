// Benchmark of `tito grade` on the whole course (not a test: the figures
// depend on the machine). On a copy of the course it times:
//   prepare         tito grade prepare: the reference run (the instructor's
//                   course built and every test run once)
//   grade N         tito grade run of N submissions with -j J: each a copy of
//                   the course with the student's code spliced in, synced,
//                   built and every test run in the sandbox
//   rerun           the same N again: every submission unchanged, skipped
// and prints seconds per submission and the hours 500 students would take on
// this machine with the same -j.
//
// Each student's dev files are the instructor's with a comment of their own
// in every exercise region: every module's code differs from the reference
// and from the other students' (as real work does), so no build step is
// skipped that real grading could not skip; ccache still serves what does not
// depend on the student's code.
//
// usage: grade_bench [--students N] [-j J] [--keep DIR]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "util/env.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"
#include "util/process.hpp"

namespace {

using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

double run_seconds(const std::vector<std::string>& argv, const tito::ProcessOptions& options) {
  auto start = Clock::now();
  tito::ProcessResult r = tito::run_process(argv, options);
  double s = std::chrono::duration<double>(Clock::now() - start).count();
  if (!r.ok()) {
    std::fprintf(stderr, "command failed (exit %d): %s ...\n%s\n", r.exit_code, argv[1].c_str(), r.output.c_str());
    std::exit(1);
  }
  return s;
}

void copy_course(const fs::path& from, const fs::path& to) {
  for (const char* item : {"CMakeLists.txt", "CMakePresets.json", "package", "templates", "modules", "data/datasets.json"}) {
    fs::create_directories((to / item).parent_path());
    fs::copy(from / item, to / item, fs::copy_options::recursive);
  }
  fs::remove_all(to / "package" / "generated");
}

// The instructor's dev file with `// <student>'s work` after every `// YOUR CODE HERE`.
std::string student_version(std::string text, const std::string& student) {
  const std::string marker = "// YOUR CODE HERE\n";
  for (std::size_t at = text.find(marker); at != std::string::npos; at = text.find(marker, at)) {
    at += marker.size();
    const std::string mine = "// " + student + "'s work\n";
    text.insert(at, mine);
    at += mine.size();
  }
  return text;
}

}  // namespace

int main(int argc, char** argv) {
  int students = 2;
  int jobs = 1;
  std::string keep;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--students") == 0 && i + 1 < argc) {
      students = std::max(1, std::atoi(argv[++i]));
    } else if (std::strcmp(argv[i], "-j") == 0 && i + 1 < argc) {
      jobs = std::max(1, std::atoi(argv[++i]));
    } else if (std::strcmp(argv[i], "--keep") == 0 && i + 1 < argc) {
      keep = argv[++i];
    } else {
      std::fprintf(stderr, "usage: grade_bench [--students N] [-j J] [--keep DIR]\n");
      return 2;
    }
  }
  try {
    tito::TempDir dir("tito-grade-bench");
    const fs::path base = keep.empty() ? dir.path() : fs::absolute(keep);
    if (!keep.empty()) fs::create_directories(base);
    const fs::path course = base / "course";
    fs::remove_all(course);
    copy_course(TITO_SOURCE_DIR, course);
    tito::ProcessOptions options;
    options.cwd = course;
    std::string data = tito::env_string("TITO_DATA_DIR");
    options.env["TITO_DATA_DIR"] = data.empty() ? (fs::path(TITO_SOURCE_DIR) / "data" / "cache").string() : data;
    options.env["TITO_ROOT"] = "";
    const std::string tito = TITO_BINARY;
    const fs::path out = base / "grades";
    fs::remove_all(out);

    std::vector<std::string> args = {tito, "grade", "run"};
    for (int s = 0; s < students; ++s) {
      const std::string id = "student" + std::to_string(s + 1);
      for (const auto& m : fs::directory_iterator(course / "modules")) {
        for (const auto& f : fs::directory_iterator(m.path())) {
          if (!f.path().filename().string().ends_with("_dev.cpp")) continue;
          tito::write_file_atomic(base / "submissions" / id / "modules" / m.path().filename() / f.path().filename(),
                                  student_version(tito::read_file(f.path()), id));
        }
      }
      args.push_back((base / "submissions" / id).string());
    }
    for (std::string a : {std::string("--out"), out.string(), std::string("-j"), std::to_string(jobs)}) {
      args.push_back(a);
    }

    std::printf("tito grade on the whole course: %d students, -j %d, %u cores\n", students, jobs,
                std::thread::hardware_concurrency());
    double prepare = run_seconds({tito, "grade", "prepare", "--out", out.string()}, options);
    std::printf("  prepare (the reference run)  %8.1f s\n", prepare);
    double grade = run_seconds(args, options);
    std::printf("  grade %d submissions          %8.1f s   %.1f s per submission\n", students, grade, grade / students);
    double rerun = run_seconds(args, options);
    std::printf("  rerun, all unchanged         %8.1f s\n", rerun);
    const double hours = 500 * grade / students / 3600;
    std::printf("  500 students on this machine with -j %d: %.1f hours (+ %.0f s once for prepare)\n", jobs, hours,
                prepare);
    std::printf("  grades: %s\n", tito::read_file(out / "grades.csv").c_str());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "grade_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
