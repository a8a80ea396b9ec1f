// Benchmark of `tito sync` on a copy of the whole course (not a test: the
// figures depend on the machine). Prints:
//   cold build      tito sync on a fresh copy (configure + compile, ccache off)
//   no-op sync      tito sync when nothing changed (goal: under 50 ms)
//   export only     tito sync --no-build when nothing changed
//   touch one file  tito sync after editing one dev file (export + recompile)
//
// usage: sync_bench [--runs N]   (run from anywhere; uses the course it was built from)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "course_commands.hpp"
#include "runs.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"
#include "util/process.hpp"

namespace {

namespace fs = std::filesystem;

// Inserts a comment at the top of the first `//| export impl` cell of the
// first module's dev file: the generated source changes, so it recompiles.
fs::path touch_one_dev_file(const fs::path& course, int round) {
  std::vector<fs::path> dirs;
  for (const auto& e : fs::directory_iterator(course / "modules")) dirs.push_back(e.path());
  std::sort(dirs.begin(), dirs.end());
  for (const fs::path& dir : dirs) {
    for (const auto& e : fs::directory_iterator(dir)) {
      std::string name = e.path().filename().string();
      if (!name.ends_with("_dev.cpp")) continue;
      std::string text = tito::read_file(e.path());
      std::size_t at = text.find("//| export impl\n");
      if (at == std::string::npos) continue;
      at += std::strlen("//| export impl\n");
      text.insert(at, "// benchmark edit " + std::to_string(round) + "\n");
      tito::write_file_atomic(e.path(), text);
      return e.path();
    }
  }
  throw tito::Error("no dev file with an `//| export impl` cell to touch");
}

}  // namespace

int main(int argc, char** argv) {
  int runs = 15;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--runs") == 0 && i + 1 < argc) runs = std::max(1, std::atoi(argv[++i]));
  }
  try {
    tito::TempDir dir("tito-bench");
    fs::path course = dir.path() / "course";
    fs::create_directories(course);
    tito::bench::copy_course(TITO_SOURCE_DIR, course);
    tito::ProcessOptions options;
    options.cwd = course;
    const std::string tito = TITO_BINARY;

    tito::ProcessOptions cold = options;
    cold.env["CCACHE_DISABLE"] = "1";
    double cold_ms = 1000 * tito::bench::timed_seconds({tito, "-q", "sync"}, cold);

    tito::bench::Runs noop, export_only, touched;
    for (int i = 0; i < runs; ++i) noop.add(1000 * tito::bench::timed_seconds({tito, "-q", "sync"}, options));
    for (int i = 0; i < runs; ++i)
      export_only.add(1000 * tito::bench::timed_seconds({tito, "-q", "sync", "--no-build"}, options));
    fs::path edited;
    for (int i = 0; i < std::max(3, runs / 5); ++i) {
      edited = touch_one_dev_file(course, i);
      touched.add(1000 * tito::bench::timed_seconds({tito, "-q", "sync"}, cold));
    }

    // Verdicts are the medians'; best and worst show the spread.
    std::printf("tito sync benchmark on a copy of the course (medians; best and worst beside them)\n");
    std::printf("  cold sync (configure, compile the library; no ccache)  %.0f ms (one run)\n", cold_ms);
    std::printf("  no-op sync                            %s; goal 50 ms: %s (%.2fx of the goal)\n",
                noop.describe("%.1f", " ms").c_str(), noop.median() < 50 ? "met" : "NOT met", noop.median() / 50.0);
    std::printf("  no-op sync, export only (--no-build)  %s\n", export_only.describe("%.1f", " ms").c_str());
    std::printf("  sync after editing %s  %s\n", edited.filename().string().c_str(),
                touched.describe("%.0f", " ms").c_str());
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "sync_bench: %s\n", e.what());
    return 1;
  }
}
