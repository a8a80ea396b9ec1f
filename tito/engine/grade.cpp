#include "engine/grade.hpp"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <thread>

#include "engine/build_log.hpp"
#include "engine/build_modules.hpp"
#include "engine/ctest_junit.hpp"
#include "engine/devfile.hpp"
#include "engine/grading.hpp"
#include "engine/splice.hpp"
#include "engine/stripper.hpp"
#include "engine/submission.hpp"
#include "engine/sync.hpp"
#include "util/env.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"
#include "util/hash.hpp"
#include "util/json_document.hpp"
#include "util/process.hpp"
#include "util/sandbox.hpp"
#include "util/text.hpp"

namespace tito {

namespace {

using json = nlohmann::ordered_json;

// Bumped when what a grade means changes: every stored result is then redone.
constexpr const char* kGradeFormat = "tito-grade-3";

// `text` cut to about `limit` bytes: its start and its end, with a line saying how much was left
// out between them. The end is kept because that is where a failed assertion is when the code
// under test printed a lot before it.
std::string capped(const std::string& text, std::size_t limit) {
  if (text.size() <= limit) return text;
  const std::size_t head = limit - limit / 2, tail = limit / 2;
  return text.substr(0, head) + "\n... (" + std::to_string(text.size() - limit) + " bytes left out) ...\n" +
         text.substr(text.size() - tail);
}

}  // namespace

std::vector<std::string> grading_course_files(const fs::path& root) {
  std::vector<std::string> out;
  for (const char* f : {"CMakeLists.txt", "CMakePresets.json"}) {
    if (fs::is_regular_file(root / f)) out.push_back(f);
  }
  for (const char* dir : {"package", "modules"}) {
    for (auto it = fs::recursive_directory_iterator(root / dir); it != fs::recursive_directory_iterator(); ++it) {
      const fs::path rel = it->path().lexically_relative(root);
      if (it->path().filename().string().starts_with(".") || rel == "package/generated") {
        if (it->is_directory()) it.disable_recursion_pending();
        continue;
      }
      if (it->is_regular_file()) out.push_back(rel.string());
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

namespace {

std::string course_hash(const fs::path& root, const std::vector<std::string>& files) {
  std::string all = kGradeFormat;
  for (const std::string& f : files) all += "\n" + f + " " + sha256_hex(read_file(root / f));
  return sha256_hex(all);
}

// Makes `work` a copy of the course's `files` with `dev_files` (relative
// path -> text) in place of the instructor's. Files already right are left
// alone, so the copy's build stays incremental; files of an older course
// under modules/ and package/ go.
void mirror_course(const fs::path& root, const std::vector<std::string>& files,
                   const std::map<std::string, std::string>& dev_files, const fs::path& work) {
  std::set<std::string> wanted(files.begin(), files.end());
  for (const std::string& f : files) {
    auto own = dev_files.find(f);
    std::string content = own != dev_files.end() ? own->second : read_file(root / f);
    if (read_file_if_exists(work / f) != content) write_file_atomic(work / f, content);
  }
  for (const char* dir : {"package", "modules"}) {
    std::vector<fs::path> extra;
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(work / dir, ec); it != fs::recursive_directory_iterator(); ++it) {
      const fs::path rel = it->path().lexically_relative(work);
      if (rel == "package/generated") {
        it.disable_recursion_pending();
        continue;
      }
      if (it->is_regular_file() && !wanted.contains(rel.string())) extra.push_back(it->path());
    }
    for (const fs::path& p : extra) fs::remove(p);
  }
}

// The module folder of a course-relative path ("modules/01_x/..." -> "01_x").
std::string module_of(const std::string& path) {
  if (!path.starts_with("modules/")) return "";
  std::size_t end = path.find('/', 8);
  return path.substr(8, end == std::string::npos ? std::string::npos : end - 8);
}

// A module's run in a grading copy.
struct ModuleRun {
  BuildOutcome outcome = BuildOutcome::NothingToBuild;
  std::string build_output;
  std::string blocked_by;
  std::vector<TestCase> cases;
};

// Forwards the engine's progress to the grade observer, under a student's name.
class StudentProgress : public Progress {
 public:
  StudentProgress(GradeObserver& observer, std::string student) : observer_(observer), student_(std::move(student)) {}
  void step(const std::string& what) override { observer_.step(student_, what); }
  void detail(const std::string& line) override { observer_.detail(student_, line); }
  void warning(const Diagnostic& what) override { observer_.detail(student_, what.format()); }

 private:
  GradeObserver& observer_;
  std::string student_;
};

// Syncs, builds and tests the grading copy at `work`. A module whose dev file
// does not sync is handed to `unsyncable` (which puts other text in its place
// and says why) and the copy is synced again.
std::map<std::string, ModuleRun> build_and_test(
    const fs::path& work, const TestLimits& limits, const std::map<std::string, std::string>& env, Progress& progress,
    const std::function<void(const std::string& folder, const std::vector<Diagnostic>&)>& unsyncable) {
  std::optional<Course> course;
  std::optional<SyncPlan> plan;
  for (int round = 0;; ++round) {
    course.emplace(Course::open(work));
    plan.emplace(plan_sync(*course, {{}, /*force=*/true}));
    if (plan->ok()) break;
    std::map<std::string, std::vector<Diagnostic>> by_module;
    for (const Diagnostic& d : plan->errors) by_module[module_of(d.path)].push_back(d);
    if (by_module.contains("") || round > static_cast<int>(course->modules().size())) {
      throw DiagnosticError(plan->errors, "the grading copy " + work.string() + " cannot be synced");
    }
    for (const auto& [folder, diagnostics] : by_module) unsyncable(folder, diagnostics);
  }
  apply_sync(*course, *plan);
  Builder builder(*course, work / "build", progress);
  builder.ensure_configured();
  std::map<std::string, ModuleRun> runs;
  for (ModuleBuild& b : build_modules(*course, *plan, builder, {{}, /*tests=*/true, false}, progress)) {
    ModuleRun& run = runs[b.module->folder];
    run.outcome = b.outcome;
    run.build_output = std::move(b.output);
    run.blocked_by = b.blocked_by;
    if ((b.outcome == BuildOutcome::Built || b.outcome == BuildOutcome::NothingToBuild) && b.has_tests) {
      progress.step("running the tests of " + b.module->folder);
      run.cases = run_test_program(builder, TestProgram{b.module, env}, limits);
    }
  }
  return runs;
}

// The tests of each module, from the instructor's own course.
struct ReferenceTest {
  std::string name;
  bool hidden = false;
};
using Reference = std::map<std::string, std::vector<ReferenceTest>>;

std::set<std::string> hidden_tests_of(const ModuleInfo& m) {
  std::set<std::string> hidden;
  auto add = [&](const fs::path& p) {
    std::set<std::string> h = hidden_test_names(read_file(p));
    hidden.insert(h.begin(), h.end());
  };
  if (fs::is_regular_file(m.dev_file())) add(m.dev_file());
  std::error_code ec;
  for (const fs::directory_entry& e : fs::recursive_directory_iterator(m.tests_dir(), ec)) {
    if (e.is_regular_file() && e.path().extension() == ".cpp") add(e.path());
  }
  return hidden;
}

Reference reference_tests(const Course& course, const std::vector<std::string>& files, const std::string& hash,
                          const GradeOptions& options, const std::map<std::string, std::string>& env,
                          GradeObserver& observer) {
  const fs::path work = options.out / "work";
  const fs::path cache = work / "reference.json";
  if (std::optional<std::string> text = read_file_if_exists(cache)) {
    try {
      json j = json::parse(*text);
      if (j.at("hash") == hash) {
        Reference ref;
        for (const auto& [folder, tests] : j.at("modules").items()) {
          for (const json& t : tests)
            ref[folder].push_back({t.at("name").get<std::string>(), t.at("hidden").get<bool>()});
        }
        return ref;
      }
    } catch (const std::exception&) {
      // Not what tito wrote: run the reference again.
    }
  }
  observer.step("", "running the instructor's course for the list of tests (once per version of the course)");
  StudentProgress progress(observer, "");
  mirror_course(course.root(), files, {}, work / "reference");
  std::map<std::string, ModuleRun> runs =
      build_and_test(work / "reference", {options.timeout_seconds, options.output_bytes, 2}, env, progress,
                     [&](const std::string&, const std::vector<Diagnostic>& d) {
                       throw DiagnosticError(d, "the instructor's course does not sync, so nothing was graded");
                     });
  Reference ref;
  json modules = json::object();
  for (const ModuleInfo& m : course.modules()) {
    const ModuleRun& run = runs[m.folder];
    if (run.outcome == BuildOutcome::Failed) {
      throw Error("the instructor's " + m.folder + " does not compile, so nothing was graded:\n" +
                  compiler_messages(run.build_output, false));
    }
    std::set<std::string> hidden = hidden_tests_of(m);
    json tests = json::array();
    for (const TestCase& c : run.cases) {
      bool is_hidden = hidden.contains(base_test_name(c.name));
      ref[m.folder].push_back({c.name, is_hidden});
      tests.push_back(json{{"name", c.name}, {"hidden", is_hidden}});
      if (c.status != TestStatus::Passed) {
        observer.warning("the instructor's own test " + m.folder + " " + c.name + " is " + describe(c.status) +
                         " on the instructor's solution; it is graded as it is");
      }
    }
    modules[m.folder] = tests;
  }
  write_file_atomic(cache, dump_json(json{{"hash", hash}, {"modules", modules}}, 2) + "\n");
  return ref;
}

const char* status_text(TestStatus s) {
  switch (s) {
    case TestStatus::Passed:
      return kPassed;
    case TestStatus::Failed:
      return kFailed;
    case TestStatus::NotImplemented:
      return kNotImplemented;
    case TestStatus::Crashed:
      return kCrashed;
    case TestStatus::TimedOut:
      return kTimeout;
    case TestStatus::Skipped:
      return kSkipped;
  }
  return kFailed;
}

// One module of a submission before it is built.
struct ModuleInput {
  std::string submitted;         // the student's path
  std::optional<Splice> splice;  // the spliced file and where the student's lines went;
                                 // nullopt: not gradable, built from stubs
  std::vector<std::string> reasons;
  std::vector<Diagnostic> tampering;
};

// The compiler's messages with every place in the student's code moved to
// the file and line the student handed in: "modules/02_more/more_dev.cpp:26:10:
// error" becomes "more_dev.cpp:24:10: error" when line 26 of the spliced
// dev file is line 24 of theirs. Places in the course's own code (a test that
// calls the student's function) keep the dev file's path and line.
std::string at_student_lines(const std::string& messages, const std::string& dev_path, const Splice& splice,
                             const std::string& submitted) {
  std::string out;
  std::size_t from = 0;
  for (std::size_t at = messages.find(dev_path + ":"); at != std::string::npos;
       at = messages.find(dev_path + ":", from)) {
    std::size_t digits = at + dev_path.size() + 1;
    std::size_t end = digits;
    while (end < messages.size() && std::isdigit(static_cast<unsigned char>(messages[end]))) ++end;
    out += messages.substr(from, at - from);
    const int mine =
        end > digits && end - digits < 9 ? splice.student_line(std::stoi(messages.substr(digits, end - digits))) : 0;
    out += mine > 0 ? submitted + ":" + std::to_string(mine) : messages.substr(at, end - at);
    from = end;
  }
  return out + messages.substr(from);
}

std::string stubbed(const std::string& instructor, const std::string& path) {
  return splice_submission(instructor, path, strip_dev_file(instructor, path).text, path).text;
}

class Grader {
 public:
  Grader(const Course& course, const GradeOptions& options, GradeObserver& observer)
      : course_(course), options_(options), observer_(observer) {}

  void prepare() {
    for (const ModuleInfo& m : course_.modules()) {
      specs_[m.folder] = parse_grading(read_file(m.manifest(), kMaxManifestBytes), course_.rel(m.manifest()));
      dev_[m.folder] = read_file(m.dev_file(), kMaxDevFileBytes);
    }
    files_ = grading_course_files(course_.root());
    hash_ = course_hash(course_.root(), files_);
    std::string data = env_string("TITO_DATA_DIR");
    env_["TITO_DATA_DIR"] = data.empty() ? (course_.root() / "data" / "cache").string() : data;
    reference_ = reference_tests(course_, files_, hash_, options_, env_, observer_);
    for (const ModuleInfo& m : course_.modules()) {
      for (const TestRule& rule : specs_[m.folder].tests) {
        const std::vector<ReferenceTest>& tests = reference_[m.folder];
        bool used = std::any_of(tests.begin(), tests.end(), [&](const ReferenceTest& t) {
          return glob_match(rule.pattern, base_test_name(t.name));
        });
        if (!used) {
          observer_.warning(course_.rel(m.manifest()) + ":" + std::to_string(rule.line) + ": the test pattern \"" +
                            printable(rule.pattern, 60) + "\" matches no test of " + m.folder + " (a typo?)");
        }
      }
    }
  }

  // Grades one submission; `reused` says the stored result was taken.
  StudentGrade grade(const fs::path& submission, const std::string& student, bool& reused) {
    reused = false;
    std::optional<OpenedSubmission> opened;
    try {
      opened.emplace(submission);
    } catch (const Error& e) {
      if (e.exit_code() == kExitInterrupted) throw;
      // A refused archive is refused again as long as it and the course are the same.
      const std::string hash = sha256_hex(std::string(kGradeFormat) + "\n" + hash_ + "\nrefused " +
                                          sha256_hex(read_file(submission)) + " " + e.what());
      if (std::optional<StudentGrade> stored = stored_grade(student); stored && stored->hash == hash) {
        reused = true;
        return *stored;
      }
      StudentGrade g = empty_grade(student, hash);
      g.reasons.push_back(std::string(e.what()));
      for (GradedModule& m : g.modules) m.reasons.push_back("the submission could not be opened");
      return g;
    }
    std::map<std::string, SubmittedFile> found;
    try {
      found = find_dev_files(course_, opened->folder());
    } catch (const Error& e) {
      StudentGrade g = empty_grade(student, "");
      g.reasons.push_back(e.what());
      return g;
    }
    const std::string hash = submission_hash(found);
    if (std::optional<StudentGrade> stored = stored_grade(student); stored && stored->hash == hash) {
      reused = true;
      return *stored;
    }

    std::map<std::string, ModuleInput> inputs;
    std::map<std::string, std::string> dev_files;  // course-relative path -> text
    bool any = false;
    for (const ModuleInfo& m : course_.modules()) {
      ModuleInput& in = inputs[m.folder];
      const std::string path = course_.rel(m.dev_file());
      auto f = found.find(m.folder);
      if (f == found.end()) {
        in.reasons.push_back("no dev file submitted (" + m.name + "_dev.cpp)");
      } else if (!f->second.content) {
        in.submitted = f->second.path;
        in.reasons.push_back(f->second.problem);
      } else {
        in.submitted = f->second.path;
        try {
          Splice s = splice_submission(dev_[m.folder], path, *f->second.content, f->second.path);
          in.tampering = std::move(s.tampering);
          in.splice = std::move(s);
          any = true;
        } catch (const DiagnosticError& e) {
          for (const Diagnostic& d : e.diagnostics()) in.reasons.push_back(d.format());
        } catch (const Error& e) {
          in.reasons.push_back(e.what());
        }
      }
      dev_files[path] = in.splice ? in.splice->text : stubbed(dev_[m.folder], path);
    }

    std::map<std::string, ModuleRun> runs;
    if (any) {
      const fs::path work = options_.out / "work" / "students" / student;
      StudentProgress progress(observer_, student);
      progress.step("grading in " + display_path(work, fs::current_path()));
      mirror_course(course_.root(), files_, dev_files, work);
      runs = build_and_test(
          work, limits(), env_, progress, [&](const std::string& folder, const std::vector<Diagnostic>& diagnostics) {
            const ModuleInfo& m = course_.module(folder);
            ModuleInput& in = inputs[folder];
            if (!in.splice) {
              throw DiagnosticError(diagnostics, "the instructor's stubs of " + folder + " do not sync");
            }
            in.splice.reset();
            for (const Diagnostic& d : diagnostics) {
              in.reasons.push_back("with your code spliced in, the dev file does not sync: " + d.format());
            }
            const std::string path = course_.rel(m.dev_file());
            write_file_atomic(work / path, stubbed(dev_[folder], path));
          });
    }
    StudentGrade g = assemble(student, hash, inputs, runs);
    return g;
  }

  // What the reference run found, per module.
  std::vector<PreparedModule> prepared() const {
    std::vector<PreparedModule> out;
    for (const ModuleInfo& m : course_.modules()) {
      PreparedModule p{m.folder};
      auto ref = reference_.find(m.folder);
      if (ref != reference_.end()) {
        for (const ReferenceTest& t : ref->second) {
          ++p.tests;
          p.hidden += t.hidden;
          p.points += specs_.at(m.folder).worth(base_test_name(t.name), t.hidden).points;
        }
      }
      out.push_back(std::move(p));
    }
    return out;
  }

  void save(const StudentGrade& g) const {
    write_file_atomic(options_.out / "students" / (g.student + ".json"), to_json(g));
    write_file_atomic(options_.out / "gradescope" / (g.student + ".json"), gradescope_results(g));
  }

  // grades.json and grades.csv of every student graded in the results folder.
  void write_summaries() const {
    std::vector<StudentGrade> all;
    std::vector<fs::path> files;
    std::error_code ec;
    for (const fs::directory_entry& e : fs::directory_iterator(options_.out / "students", ec)) {
      if (e.path().extension() == ".json" && !e.path().filename().string().starts_with(".")) files.push_back(e.path());
    }
    std::sort(files.begin(), files.end());
    for (const fs::path& f : files) all.push_back(student_grade_from_json(read_file(f), f.string()));
    std::vector<std::string> folders;
    for (const ModuleInfo& m : course_.modules()) folders.push_back(m.folder);
    write_file_atomic(options_.out / "grades.json", grades_json(all));
    write_file_atomic(options_.out / "grades.csv", grades_csv(all, folders));
  }

 private:
  TestLimits limits() const { return {options_.timeout_seconds, options_.output_bytes, options_.jobs > 1 ? 1 : 2}; }

  std::string submission_hash(const std::map<std::string, SubmittedFile>& found) const {
    std::string all = std::string(kGradeFormat) + "\n" + hash_ + "\n" + std::to_string(options_.timeout_seconds) + " " +
                      std::to_string(options_.output_bytes);
    for (const ModuleInfo& m : course_.modules()) {
      auto f = found.find(m.folder);
      all += "\n" + m.folder + " ";
      if (f == found.end()) {
        all += "-";
      } else {
        all += f->second.path + " " + (f->second.content ? sha256_hex(*f->second.content) : "! " + f->second.problem);
      }
    }
    return sha256_hex(all);
  }

  std::optional<StudentGrade> stored_grade(const std::string& student) const {
    const fs::path file = options_.out / "students" / (student + ".json");
    try {
      std::optional<std::string> text = read_file_if_exists(file);
      if (text) return student_grade_from_json(*text, file.string());
    } catch (const Error&) {
      // Not readable: graded again, and overwritten.
    }
    return std::nullopt;
  }

  StudentGrade empty_grade(const std::string& student, const std::string& hash) const {
    StudentGrade g;
    g.student = student;
    g.hash = hash;
    for (const ModuleInfo& m : course_.modules()) {
      GradedModule gm;
      gm.folder = m.folder;
      auto ref = reference_.find(m.folder);
      if (ref != reference_.end()) {
        for (const ReferenceTest& t : ref->second) {
          TestWorth w = specs_.at(m.folder).worth(base_test_name(t.name), t.hidden);
          gm.tests.push_back(GradedTest{t.name, 0, w.points, kNotRun, w.visibility, t.hidden, ""});
        }
      }
      g.modules.push_back(std::move(gm));
    }
    g.total();
    return g;
  }

  StudentGrade assemble(const std::string& student, const std::string& hash, std::map<std::string, ModuleInput>& inputs,
                        std::map<std::string, ModuleRun>& runs) const {
    StudentGrade g = empty_grade(student, hash);
    for (GradedModule& gm : g.modules) {
      ModuleInput& in = inputs[gm.folder];
      gm.submitted = in.submitted;
      gm.reasons = in.reasons;
      gm.tampering = in.tampering;
      if (!in.splice) continue;
      const ModuleRun& run = runs[gm.folder];
      if (run.outcome == BuildOutcome::Failed) {
        gm.reasons.push_back(
            "does not compile (a line of your code is numbered as in " + in.submitted +
            ", the file you handed in; a line of the course's code as in the course's copy):\n" +
            capped(at_student_lines(compiler_messages(run.build_output, false),
                                    course_.rel(course_.module(gm.folder).dev_file()), *in.splice, in.submitted),
                   4 * options_.output_bytes));
        continue;
      }
      if (run.outcome == BuildOutcome::Blocked) {
        gm.reasons.push_back("not built: it requires " + run.blocked_by + ", which does not compile");
        continue;
      }
      const TestCase* listing = nullptr;
      for (const TestCase& c : run.cases) {
        if (c.name == "(listing the tests)") listing = &c;
      }
      for (GradedTest& t : gm.tests) {
        auto c = std::find_if(run.cases.begin(), run.cases.end(), [&](const TestCase& c) { return c.name == t.name; });
        if (c == run.cases.end() && listing != nullptr) c = run.cases.begin() + (listing - run.cases.data());
        if (c == run.cases.end()) {
          t.output = "the test program did not report this test";
          continue;
        }
        t.status = status_text(c->status);
        t.output = c->message;  // capped by run_test_program
        if (c->status == TestStatus::Passed) t.points = t.max_points;
      }
    }
    g.total();
    return g;
  }

  const Course& course_;
  const GradeOptions& options_;
  GradeObserver& observer_;
  std::map<std::string, GradingSpec> specs_;
  std::map<std::string, std::string> dev_;  // module folder -> the instructor's dev file
  std::vector<std::string> files_;
  std::string hash_;
  std::map<std::string, std::string> env_;
  Reference reference_;
};

// The test programs of module `name` in the package's bin folder: `<name>_tests`,
// and others the build adds for it as `<name>_<what>_tests` (module 11's link test).
std::vector<fs::path> module_test_programs(const Builder& builder, const std::string& name) {
  std::vector<fs::path> out;
  const fs::path main = builder.program(name + "_tests");
  std::error_code ec;
  if (fs::is_regular_file(main, ec)) out.push_back(main);
  const fs::path bin = main.parent_path();
  if (!fs::is_directory(bin, ec)) return out;
  std::vector<fs::path> more;
  for (const fs::directory_entry& e : fs::directory_iterator(bin, ec)) {
    const std::string file = e.path().filename().string();
    if (file != name + "_tests" && file.starts_with(name + "_") && file.ends_with("_tests") && e.is_regular_file(ec)) {
      more.push_back(e.path());
    }
  }
  std::sort(more.begin(), more.end());
  out.insert(out.end(), more.begin(), more.end());
  return out;
}

// The test names of GoogleTest's --gtest_list_tests ("Suite." lines, then
// indented names, a parameter after '#').
std::vector<std::string> listed_tests(const std::string& output) {
  std::vector<std::string> names;
  std::string suite;
  for (const std::string& line : split_lines(output)) {
    if (line.empty()) continue;
    std::string text = line.substr(0, line.find('#'));
    if (line[0] != ' ') {
      suite = std::string(trim(text));
    } else if (!suite.empty() && suite.ends_with('.') && !trim(text).empty()) {
      names.push_back(suite + std::string(trim(text)));
    }
  }
  return names;
}

// The sandbox's limits for one test.
SandboxLimits test_sandbox(const TestLimits& limits) {
  SandboxLimits sandbox;
  sandbox.timeout = std::chrono::seconds(limits.timeout_seconds);
  sandbox.memory_bytes = limits.memory_bytes;
#if defined(__SANITIZE_ADDRESS__)
  sandbox.memory_bytes = 0;  // a program built with AddressSanitizer cannot start under RLIMIT_AS
#endif
  sandbox.output_bytes = std::max<std::uint64_t>(limits.output_bytes * 4, 64 * 1024);
  return sandbox;
}

// One test of `program`, alone in the sandbox, judged by tito from its exit and
// its output: a pass needs exit 0 and GoogleTest's own "[       OK ]" line for
// it, so a program that exits 0 half-way through a test does not pass.
TestCase run_one_test(const fs::path& program, const std::string& name, const fs::path& scratch,
                      const std::map<std::string, std::string>& env, const TestLimits& limits, const Builder& builder) {
  TestCase test;
  test.name = name;
  const SandboxResult r =
      run_sandboxed({program.string(), "--gtest_filter=" + name, "--gtest_color=no", "--gtest_brief=0"}, scratch, env,
                    test_sandbox(limits));
  test.seconds = std::chrono::duration<double>(r.elapsed).count();
  const std::string output = builder.relative_paths(r.output);
  if (r.exit_code == 0 && !r.timed_out && output.find("[  SKIPPED ] " + name) != std::string::npos) {
    test.status = TestStatus::Skipped;
  } else if (r.exit_code == 0 && !r.timed_out && output.find("[       OK ] " + name + " (") != std::string::npos) {
    test.status = TestStatus::Passed;
  } else if (r.exit_code == 0 && !r.timed_out) {
    test.status = TestStatus::Failed;
    test.message = "the test program ended before the test finished (exit() in the code under test?)";
  } else {
    classify_test(test, r.timed_out ? "Timeout" : r.signal != 0 ? r.reason : "", output);
    if (r.memory_exceeded_hint) test.message += "\n(" + r.reason + ")";
  }
  test.message = capped(test.message, limits.output_bytes);
  return test;
}

}  // namespace

std::vector<TestCase> run_test_program(const Builder& builder, const TestProgram& program, const TestLimits& limits) {
  // A scratch folder the tests may write (as the sandbox's user): the build tree stays tito's.
  const fs::path scratch = builder.build_dir() / "tito" / ("grade-scratch-" + program.module->folder);
  std::error_code ec;
  fs::remove_all(scratch, ec);
  fs::create_directories(scratch);
  make_writable_for_sandbox(scratch);
  std::vector<TestCase> cases;
  for (const fs::path& exe : module_test_programs(builder, program.module->name)) {
    SandboxLimits listing_limits = test_sandbox(limits);
    listing_limits.output_bytes = std::uint64_t{16} << 20;
    const SandboxResult listing =
        run_sandboxed({exe.string(), "--gtest_list_tests"}, scratch, program.env, listing_limits);
    const std::vector<std::string> names = listed_tests(listing.output);
    if (listing.exit_code != 0 || listing.timed_out) {
      TestCase c;
      c.name = "(listing the tests of " + exe.filename().string() + ")";
      c.status = TestStatus::Crashed;
      c.message = capped("the test program died while listing its tests (" + listing.reason +
                             "), before any test ran:\n" + builder.relative_paths(listing.output),
                         limits.output_bytes);
      cases.push_back(std::move(c));
      continue;
    }
    // Each test in a process of its own, `jobs` at a time.
    std::vector<TestCase> ran(names.size());
    std::atomic<std::size_t> next{0};
    auto work = [&] {
      for (std::size_t i = next++; i < names.size(); i = next++) {
        ran[i] = run_one_test(exe, names[i], scratch, program.env, limits, builder);
      }
    };
    {
      std::vector<std::jthread> workers;
      for (int j = 0; j < std::max(1, std::min<int>(limits.jobs, static_cast<int>(names.size()))); ++j) {
        workers.emplace_back(work);
      }
    }
    for (TestCase& c : ran) cases.push_back(std::move(c));
  }
  fs::remove_all(scratch, ec);
  return cases;
}

namespace {

// `options` checked, with an absolute results folder that exists.
GradeOptions results_folder_ready(const GradeOptions& options) {
  if (options.jobs < 1) throw Error("-j must be at least 1", kExitUsage);
  if (options.timeout_seconds < 1) throw Error("--timeout must be a positive number of seconds", kExitUsage);
  GradeOptions absolute = options;
  absolute.out = fs::absolute(options.out);
  fs::create_directories(absolute.out / "students");
  return absolute;
}

}  // namespace

std::vector<PreparedModule> prepare_grading(const Course& course, const GradeOptions& options,
                                            GradeObserver& observer) {
  const GradeOptions ready = results_folder_ready(options);
  Grader grader(course, ready, observer);
  grader.prepare();
  return grader.prepared();
}

GradeSummary grade_submissions(const Course& course, const std::vector<fs::path>& submissions,
                               const GradeOptions& options, GradeObserver& observer) {
  if (submissions.empty()) throw Error("name at least one submission (a folder or an archive)", kExitUsage);
  std::vector<std::string> ids;
  std::map<std::string, fs::path> seen;
  for (const fs::path& s : submissions) {
    std::string id = student_id(s);
    auto [it, fresh] = seen.emplace(id, s);
    if (!fresh) {
      throw Error("two submissions of the student '" + id + "': " + it->second.string() + " and " + s.string() +
                      "; grade one of them",
                  kExitUsage);
    }
    ids.push_back(id);
  }
  const GradeOptions ready = results_folder_ready(options);
  Grader grader(course, ready, observer);
  grader.prepare();

  GradeSummary summary;
  std::vector<std::optional<StudentGrade>> results(submissions.size());
  std::vector<bool> reused(submissions.size(), false);
  std::mutex mutex;
  std::atomic<std::size_t> next{0};
  auto work = [&] {
    for (std::size_t i = next++; i < submissions.size(); i = next++) {
      try {
        bool was_reused = false;
        StudentGrade g = grader.grade(submissions[i], ids[i], was_reused);
        if (!was_reused) grader.save(g);
        observer.finished(g, was_reused);
        std::lock_guard lock(mutex);
        results[i] = std::move(g);
        reused[i] = was_reused;
      } catch (const DiagnosticError& e) {
        std::string why;
        for (const Diagnostic& d : e.diagnostics()) why += d.format() + "\n";
        why += e.outcome();
        observer.failed(ids[i], why);
        std::lock_guard lock(mutex);
        summary.failures.emplace_back(ids[i], why);
      } catch (const std::exception& e) {
        observer.failed(ids[i], e.what());
        std::lock_guard lock(mutex);
        summary.failures.emplace_back(ids[i], e.what());
      }
    }
  };
  {
    std::vector<std::jthread> workers;
    for (int j = 0; j < std::min<int>(options.jobs, static_cast<int>(submissions.size())); ++j)
      workers.emplace_back(work);
  }
  for (std::size_t i = 0; i < results.size(); ++i) {
    if (!results[i]) continue;
    summary.reused += reused[i];
    summary.graded.push_back(std::move(*results[i]));
  }
  grader.write_summaries();
  return summary;
}

StudentGrade load_student_grade(const fs::path& out, const std::string& student) {
  const fs::path file = out / "students" / (student + ".json");
  std::optional<std::string> text = read_file_if_exists(file);
  if (!text) {
    std::vector<std::string> known;
    std::error_code ec;
    for (const fs::directory_entry& e : fs::directory_iterator(out / "students", ec)) {
      if (e.path().extension() == ".json") known.push_back(e.path().stem().string());
    }
    std::sort(known.begin(), known.end());
    std::string guess = nearest(student, known);
    throw Error("no grade for '" + printable(student, 60) + "' in " + out.string() +
                    (guess.empty() ? "" : " (did you mean '" + guess + "'?)") + "; graded there: " +
                    (known.empty() ? "nobody yet (run `tito grade run SUBMISSION... --out " + out.string() + "`)"
                                   : join(known)),
                kExitUsage);
  }
  return student_grade_from_json(*text, file.string());
}

}  // namespace tito
