#include "engine/builder.hpp"

#include <algorithm>
#include <map>

#include "util/env.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"
#include "util/process.hpp"

namespace tito {

std::string library_target(const ModuleInfo& m) { return "tinytorch_" + m.name; }
std::string tests_target(const ModuleInfo& m) { return m.name + "_tests"; }
std::string demo_target(const ModuleInfo& m) { return m.name + "_demo"; }

Builder::Builder(const Course& course, fs::path build_dir, Progress& progress)
    : course_(course), build_dir_(build_dir.empty() ? course.root() / "build" : fs::absolute(build_dir)), progress_(progress) {}

namespace {

std::string cache_value(const std::string& cache, const std::string& key) {
  std::size_t at = cache.find("\n" + key + ":");
  if (at == std::string::npos) return "";
  std::size_t eq = cache.find('=', at);
  std::size_t end = cache.find('\n', eq);
  return cache.substr(eq + 1, end - eq - 1);
}

}  // namespace

void Builder::ensure_configured() {
  fs::path cache_file = build_dir_ / "CMakeCache.txt";
  std::optional<std::string> cache = read_file_if_exists(cache_file);
  if (cache) {
    std::string home = cache_value("\n" + *cache, "CMAKE_HOME_DIRECTORY");
    std::error_code ec;
    if (!home.empty() && !fs::equivalent(home, course_.root(), ec)) {
      throw Error(build_dir_.string() + " is the build folder of another course (" + home +
                  "); remove it or pass --build-dir DIR");
    }
    ninja_ = cache_value("\n" + *cache, "CMAKE_GENERATOR").find("Ninja") != std::string::npos;
    return;
  }
  progress_.step("configuring " + display_path(build_dir_, course_.root()) + " (first build of this course)");
  // The course's root is mapped out of debug info and __FILE__: paths there
  // are relative to the course (as the #line directives are), so a debugger
  // run from the course root finds the dev files, and objects do not depend
  // on where the course is (ccache shares them between copies).
  std::string flags = "-ffile-prefix-map=" + course_.root().string() + "/=";
  // ... and the build folder (the compiler's working folder) as the way back
  // to the root, so that a debugger run from the build folder finds them too.
  fs::path back = course_.root().lexically_relative(build_dir_);
  if (!back.empty() && display_path(build_dir_, course_.root()) != build_dir_.string()) {
    flags += " -ffile-prefix-map=" + build_dir_.string() + "=" + back.string();
  }
  if (std::string user = env_string("CXXFLAGS"); !user.empty()) flags = user + " " + flags;
  std::vector<std::string> argv = {"cmake", "-S", course_.root().string(), "-B", build_dir_.string(),
                                   "-DTITO_PACKAGE_ONLY=ON", "-DCMAKE_BUILD_TYPE=RelWithDebInfo",
                                   "-DCMAKE_CXX_FLAGS=" + flags};
  if (find_program("ninja")) {
    argv.insert(argv.begin() + 1, {"-G", "Ninja"});
    ninja_ = true;
  }
  ProcessOptions options;
  options.on_line = [this](const std::string& line) { progress_.detail(line); };
  ProcessResult r = run_process(argv, options);
  if (!r.ok()) {
    throw Error("cmake could not configure " + build_dir_.string() + ":\n" + relative_paths(r.output));
  }
}

BuildResult Builder::build(const std::vector<std::string>& targets) {
  std::vector<std::string> argv;
  if (ninja_) {
    argv = {"ninja", "-C", build_dir_.string()};
  } else {
    argv = {"cmake", "--build", build_dir_.string(), "--target"};
  }
  argv.insert(argv.end(), targets.begin(), targets.end());
  ProcessOptions options;
  // ccache hashes paths below the course root as relative ones: two copies
  // of a course (a release and its check) hit each other's objects.
  options.env["CCACHE_BASEDIR"] = course_.root().string();
  // ... which makes the compiler see paths relative to the build folder;
  // ccache turns those in its messages back into absolute ones, shown
  // relative to the course below ("modules/01_x/tests/test_x.cpp:6").
  options.env["CCACHE_ABSSTDERR"] = "1";
  options.on_line = [this](const std::string& line) {
    progress_.detail(relative_paths(line));
    // Ninja's "[3/7] Building CXX object .../tensor.cpp.o" -> "[3/7] tensor.cpp"
    if (line.starts_with("[") && (line.find("] Building ") != std::string::npos ||
                                  line.find("] Linking ") != std::string::npos)) {
      std::string counter = line.substr(0, line.find("] ") + 1);
      std::string what = line.substr(line.rfind(' ') + 1);
      what = what.substr(what.rfind('/') + 1);
      if (what.ends_with(".o")) what.resize(what.size() - 2);
      progress_.status(counter + " " + what);
    }
  };
  ProcessResult r = run_process(argv, options);
  progress_.status("");
  return BuildResult{r.ok(), relative_paths(r.output)};
}

fs::path Builder::program(const std::string& target) const { return build_dir_ / "package" / "bin" / target; }

BuildResult Builder::run_ctest(const std::vector<std::string>& labels, const fs::path& junit, int timeout_seconds,
                               int jobs) {
  // Module tests carry no TIMEOUT property of their own, so --timeout applies to each.
  std::string regex = "^module:(";
  for (std::size_t i = 0; i < labels.size(); ++i) regex += (i ? "|" : "") + labels[i];
  regex += ")$";
  std::vector<std::string> argv = {"ctest",         "--test-dir", build_dir_.string(),        "-L",
                                   regex,           "--output-junit", junit.string(),         "--timeout",
                                   std::to_string(timeout_seconds), "-j", std::to_string(jobs), "--no-tests=ignore"};
  ProcessOptions options;
  options.on_line = [this](const std::string& line) { progress_.detail(relative_paths(line)); };
  ProcessResult r = run_process(argv, options);
  return BuildResult{r.ok(), relative_paths(r.output)};
}

std::string Builder::relative_paths(std::string text) const {
  std::string prefix = course_.root().string() + "/";
  std::size_t at = 0;
  while ((at = text.find(prefix, at)) != std::string::npos) text.erase(at, prefix.size());
  // The compiler also names files relative to the build folder, where it
  // runs ("../modules/01_x/tests/test_x.cpp" in "from ..." lines).
  std::string back = course_.root().lexically_relative(build_dir_).string() + "/";
  if (!back.starts_with("../")) return text;
  for (at = text.find(back); at != std::string::npos; at = text.find(back, at)) {
    bool boundary = at == 0 || text[at - 1] == '\n' || text[at - 1] == ' ' || text[at - 1] == '(';
    std::size_t name_end = text.find_first_of("/:\n", at + back.size());
    std::string name = text.substr(at + back.size(), name_end == std::string::npos ? std::string::npos : name_end - at - back.size());
    std::error_code ec;
    if (boundary && !name.empty() && fs::exists(course_.root() / name, ec)) {
      text.erase(at, back.size());
    } else {
      at += back.size();
    }
  }
  return text;
}

}  // namespace tito
