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
// Each student's dev files are the student release's with the instructor's
// solutions in the exercise regions and a statement of the student's own in
// each (`static_cast<void>("student1's work (run ...)");`): every module's code differs from the reference and from the
// other students' (as real work does), so no build step is skipped that real grading could not skip; ccache still
// serves what does not depend on the student's code. The statements carry the run's time, so a run never finds a
// student's objects in ccache from an earlier run.
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

#include <nlohmann/json.hpp>

#include "course_commands.hpp"
#include "util/env.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"
#include "util/process.hpp"

namespace {

namespace fs = std::filesystem;

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::size_t from = 0;
  for (std::size_t nl = text.find('\n'); nl != std::string::npos; nl = text.find('\n', from)) {
    out.push_back(text.substr(from, nl - from));
    from = nl + 1;
  }
  if (from < text.size()) out.push_back(text.substr(from));
  return out;
}

bool is_marker(const std::string& line, const char* marker) {
  const std::size_t first = line.find_first_not_of(" \t");
  return first != std::string::npos && line.compare(first, std::string::npos, marker) == 0;
}

// A student's finished dev file: the release's (`student`), each exercise
// region holding the instructor's solution (from `instructor`, in order) and
// a comment of the student's own.
std::string finished(const std::string& student, const std::string& instructor, const std::string& id) {
  std::vector<std::vector<std::string>> solutions;
  bool in = false;
  for (const std::string& l : lines_of(instructor)) {
    if (is_marker(l, "// BEGIN SOLUTION")) {
      solutions.emplace_back();
      in = true;
    } else if (is_marker(l, "// END SOLUTION")) {
      in = false;
    } else if (in) {
      solutions.back().push_back(l);
    }
  }
  std::string out;
  std::size_t next = 0;
  in = false;
  for (const std::string& l : lines_of(student)) {
    if (is_marker(l, "// YOUR CODE HERE")) {
      // A statement, not a comment: ccache sees through comments (the preprocessor drops them).
      out += l + "\n  static_cast<void>(\"" + id + "'s work\");\n";
      if (next < solutions.size()) {
        for (const std::string& s : solutions[next]) out += s + "\n";
      }
      ++next;
      in = true;
    } else if (is_marker(l, "// END YOUR CODE")) {
      out += l + "\n";
      in = false;
    } else if (!in) {
      out += l + "\n";
    }
  }
  return out;
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
    // The tests run as nobody when tito is root: the folders must be open to other users.
    fs::permissions(dir.path(), fs::perms::others_exec | fs::perms::group_exec, fs::perm_options::add);
    const fs::path base = keep.empty() ? dir.path() : fs::absolute(keep);
    if (!keep.empty()) fs::create_directories(base);
    const fs::path course = base / "course";
    fs::remove_all(course);
    tito::bench::copy_course(TITO_SOURCE_DIR, course);
    tito::ProcessOptions options;
    options.cwd = course;
    std::string data = tito::env_string("TITO_DATA_DIR");
    options.env["TITO_DATA_DIR"] = data.empty() ? (fs::path(TITO_SOURCE_DIR) / "data" / "cache").string() : data;
    options.env["TITO_ROOT"] = "";
    const std::string tito = TITO_BINARY;
    const fs::path out = base / "grades";
    fs::remove_all(out);

    const fs::path release = base / "release";
    fs::remove_all(release);
    tito::bench::timed_seconds({tito, "release", "--out", release.string()}, options);
    std::vector<std::string> args = {tito, "grade", "run"};
    // Code no earlier run has written: ccache cannot serve what depends on the student's code.
    const std::string run_mark = std::to_string(std::chrono::system_clock::now().time_since_epoch().count());
    for (int s = 0; s < students; ++s) {
      const std::string id = "student" + std::to_string(s + 1);
      for (const auto& m : fs::directory_iterator(course / "modules")) {
        if (!m.is_directory()) continue;
        for (const auto& f : fs::directory_iterator(m.path())) {
          if (!f.path().filename().string().ends_with("_dev.cpp")) continue;
          const fs::path rel = fs::path("modules") / m.path().filename() / f.path().filename();
          tito::write_file_atomic(
              base / "submissions" / id / rel,
              finished(tito::read_file(release / rel), tito::read_file(f.path()), id + " (run " + run_mark + ")"));
        }
      }
      args.push_back((base / "submissions" / id).string());
    }
    for (std::string a : {std::string("--out"), out.string(), std::string("-j"), std::to_string(jobs)}) {
      args.push_back(a);
    }

    std::printf("tito grade on the whole course: %d students, -j %d, %u cores\n", students, jobs,
                std::thread::hardware_concurrency());
    double prepare = tito::bench::timed_seconds({tito, "grade", "prepare", "--out", out.string()}, options);
    std::printf("  prepare (the reference run)  %8.1f s\n", prepare);
    double grade = tito::bench::timed_seconds(args, options);
    std::printf("  grade %d submissions          %8.1f s   %.1f s per submission\n", students, grade, grade / students);
    double rerun = tito::bench::timed_seconds(args, options);
    std::printf("  rerun, all unchanged         %8.1f s\n", rerun);
    const double hours = 500 * grade / students / 3600;
    std::printf("  500 students on this machine with -j %d: %.1f hours (+ %.0f s once for prepare)\n", jobs, hours,
                prepare);
    std::printf("  grades: %s\n", tito::read_file(out / "grades.csv").c_str());
    // Every student hands in the solutions: a test that did not pass is the grader's failing, or a
    // test that depends on the machine's load. Name each.
    int lost = 0;
    for (int s = 0; s < students; ++s) {
      const std::string id = "student" + std::to_string(s + 1);
      const nlohmann::json g = nlohmann::json::parse(tito::read_file(out / "students" / (id + ".json")));
      for (const nlohmann::json& m : g["modules"]) {
        for (const nlohmann::json& t : m["tests"]) {
          if (t["status"] == "passed") continue;
          ++lost;
          std::printf("  %s lost %s %s (%s): %s\n", id.c_str(), m["module"].get<std::string>().c_str(),
                      t["name"].get<std::string>().c_str(), t["status"].get<std::string>().c_str(),
                      t["output"].get<std::string>().substr(0, 600).c_str());
        }
      }
    }
    if (lost > 0) std::printf("  %d tests of correct submissions did not pass\n", lost);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "grade_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
