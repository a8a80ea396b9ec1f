#include "engine/release_check.hpp"

#include <nlohmann/json.hpp>

#include "engine/release.hpp"
#include "util/env.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"
#include "util/process.hpp"

namespace tito {

bool ReleaseCheck::ok() const {
  for (const CheckStep& s : steps) {
    if (!s.ok) return false;
  }
  return !steps.empty();
}

namespace {

using json = nlohmann::json;

// Runs `tito test --json` in a released course and returns its report:
// stdout alone, which --json keeps for the report (diagnostics and build
// progress go to stderr, kept in `log`). The released course has no data of its
// own: its tests read the checked course's cache (TITO_DATA_DIR, else
// <course>/data/cache), as they do there.
json test_release(const ReleaseCheckOptions& options, const Course& source, const fs::path& course,
                  std::string& log) {
  ProcessOptions p;
  p.cwd = course;
  p.env["NO_COLOR"] = "1";
  const std::string data_dir = env_string("TITO_DATA_DIR");
  p.env["TITO_DATA_DIR"] = fs::absolute(data_dir.empty() ? source.root() / "data" / "cache" : fs::path(data_dir)).string();
  p.separate_stderr = true;
  std::vector<std::string> argv = {options.tito.string(), "--root", course.string(), "-q", "test", "--json",
                                   "--timeout", std::to_string(options.timeout_seconds)};
  ProcessResult r = run_process(argv, p);
  log = r.errors;
  try {
    return json::parse(r.output);
  } catch (const json::exception&) {
    throw Error("`tito test --json` in " + course.string() + " printed no report (exit status " +
                std::to_string(r.exit_code) + "):\n" + r.errors + r.output);
  }
}

// Modules that did not compile, with the compiler's words.
void compile_findings(const json& report, CheckStep& step) {
  for (const json& m : report["modules"]) {
    std::string outcome = m["outcome"];
    if (outcome == "build failed" || outcome == "blocked") {
      step.details.push_back(m["module"].get<std::string>() + ": " + outcome +
                             (m.contains("build_output") ? "\n" + m["build_output"].get<std::string>() : ""));
    }
  }
  step.ok = step.details.empty();
}

bool same_tree(const fs::path& a, const fs::path& b, std::vector<std::string>& differences) {
  auto list = [](const fs::path& root) {
    std::vector<std::string> files;
    for (const auto& e : fs::recursive_directory_iterator(root)) {
      if (e.is_regular_file()) files.push_back(e.path().lexically_relative(root).string());
    }
    std::sort(files.begin(), files.end());
    return files;
  };
  std::vector<std::string> fa = list(a), fb = list(b);
  if (fa != fb) differences.push_back("the two releases hold different files");
  for (const std::string& f : fa) {
    if (std::find(fb.begin(), fb.end(), f) != fb.end() && read_file(a / f) != read_file(b / f)) {
      differences.push_back(f + " differs between two releases");
    }
  }
  return differences.empty();
}

}  // namespace

ReleaseCheck check_release(const Course& course, const ReleaseCheckOptions& options, Progress& progress) {
  ReleaseCheck check;
  std::optional<TempDir> temp;
  fs::path work = options.keep;
  if (work.empty()) {
    temp.emplace("tito-release-check");
    work = temp->path();
  } else {
    fs::create_directories(work);
  }
  fs::path student = work / "student", again = work / "student-again", restored = work / "solutions";

  progress.step("releasing the course to " + student.string());
  ReleaseContent content = make_release(course, {options.modules, false});
  write_release(course, content, student, true);
  write_release(course, make_release(course, {options.modules, false}), again, true);

  CheckStep deterministic{"a second release is byte-identical", false, {}};
  deterministic.ok = same_tree(student, again, deterministic.details);
  fs::remove_all(again);
  check.steps.push_back(std::move(deterministic));

  progress.step("scanning the release for solution lines");
  CheckStep leaks{"no solution, hidden cell or hidden test appears in the release", true, {}};
  for (const Leak& leak : scan_for_leaks(student, content.secrets)) {
    leaks.details.push_back(leak.path + ":" + std::to_string(leak.line) + ": " + leak.text);
  }
  leaks.ok = leaks.details.empty();
  check.steps.push_back(std::move(leaks));

  progress.step("building and testing the student version");
  std::string log;
  json student_report = test_release(options, course, student, log);
  CheckStep compiles{"the student course compiles", false, {}};
  compile_findings(student_report, compiles);
  check.steps.push_back(std::move(compiles));

  CheckStep stubs{"every test fails with \"not implemented yet\" (none passes, none crashes)", true, {}};
  int tests = 0;
  for (const json& m : student_report["modules"]) {
    for (const json& t : m["tests"]) {
      ++tests;
      std::string status = t["status"];
      if (status == "not implemented") continue;
      std::string where = m["module"].get<std::string>() + " " + t["name"].get<std::string>();
      if (status == "passed") {
        stubs.details.push_back(where + ": passes without the solutions (does it test the student's code?)");
      } else {
        stubs.details.push_back(where + ": " + status + " without the not-implemented message: " +
                                t.value("message", std::string()));
      }
    }
  }
  if (tests == 0) stubs.details.push_back("the student version ran no tests");
  stubs.ok = stubs.details.empty();
  check.steps.push_back(std::move(stubs));

  progress.step("pasting the solutions back and testing again");
  write_release(course, make_release(course, {options.modules, true}), restored, true);
  json restored_report = test_release(options, course, restored, log);
  CheckStep solved{"with the solutions pasted back every test passes", true, {}};
  compile_findings(restored_report, solved);
  for (const json& m : restored_report["modules"]) {
    for (const json& t : m["tests"]) {
      if (t["status"] != "passed") {
        solved.details.push_back(m["module"].get<std::string>() + " " + t["name"].get<std::string>() + ": " +
                                 t["status"].get<std::string>() + " " + t.value("message", std::string()));
      }
    }
  }
  if (restored_report["total"].get<int>() == 0) solved.details.push_back("the restored course ran no tests");
  solved.ok = solved.details.empty();
  check.steps.push_back(std::move(solved));
  return check;
}

}  // namespace tito
