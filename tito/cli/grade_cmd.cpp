// tito grade run SUBMISSION... [-j N] [--out DIR] [--timeout S]
// tito grade show STUDENT [--out DIR] [--all]
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include <algorithm>
#include <iomanip>
#include <iostream>
#include <mutex>
#include <sstream>

#include "cli/context.hpp"
#include "engine/grade.hpp"
#include "util/fs.hpp"
#include "util/text.hpp"

namespace tito::cli {

namespace {

struct RunArgs {
  std::vector<std::string> submissions;
  std::string out = "grades";
  int jobs = 1;
  int timeout = 60;
};

struct ShowArgs {
  std::string student;
  std::string out = "grades";
  bool all = false;
};

std::string score(double points, double max) { return points_text(points) + "/" + points_text(max); }

// Grading as it goes, on stderr: the reference run's steps, one line per
// student graded, the current step redrawn on a smart terminal. Workers call
// it from their threads: one lock around every print.
class GradePrinter : public GradeObserver {
 public:
  explicit GradePrinter(Context& ctx) : ctx_(ctx) {}

  void step(const std::string& student, const std::string& what) override {
    std::lock_guard lock(mutex_);
    if (student.empty()) {
      ctx_.progress().step(what);
    } else if (ctx_.terminal.interactive()) {
      ctx_.progress().status(student + ": " + what);
    } else if (!ctx_.quiet()) {
      // A log gets each step as a line of its own: a build can take minutes.
      std::cerr << "             " << student << ": " << what << "\n";
    }
  }
  void detail(const std::string& student, const std::string& line) override {
    std::lock_guard lock(mutex_);
    ctx_.progress().detail((student.empty() ? "" : student + ": ") + line);
  }
  void finished(const StudentGrade& g, bool reused) override {
    std::lock_guard lock(mutex_);
    ctx_.progress().status("");
    ctx_.progress().step(std::string(reused ? "unchanged " : "graded ") + g.student + " " +
                         score(g.points, g.max_points) + (reused ? " (same submission as the last run)" : ""));
  }
  void failed(const std::string& student, const std::string& why) override {
    std::lock_guard lock(mutex_);
    ctx_.progress().status("");
    spdlog::error("grading {} failed (not the student's doing): {}", student, why);
  }
  void warning(const std::string& what) override {
    std::lock_guard lock(mutex_);
    ctx_.progress().status("");
    spdlog::warn("{}", what);
  }

 private:
  Context& ctx_;
  std::mutex mutex_;
};

// What a student's row says besides the score.
std::string notes(const StudentGrade& g) {
  std::vector<std::string> out;
  if (!g.reasons.empty()) out.push_back(g.reasons.front());
  int ungraded = 0, tampered = 0;
  for (const GradedModule& m : g.modules) {
    ungraded += !m.reasons.empty();
    tampered += !m.tampering.empty();
  }
  if (ungraded > 0)
    out.push_back(std::to_string(ungraded) + (ungraded == 1 ? " module" : " modules") + " with no credit");
  if (tampered > 0)
    out.push_back("changed code outside the exercises in " + std::to_string(tampered) +
                  (tampered == 1 ? " module" : " modules"));
  std::string s;
  for (const std::string& n : out) s += (s.empty() ? "" : "; ") + n;
  return s;
}

int run_grade(Context& ctx, const RunArgs& args) {
  GradeOptions options;
  options.out = args.out;
  options.jobs = args.jobs;
  options.timeout_seconds = args.timeout;
  std::vector<fs::path> submissions(args.submissions.begin(), args.submissions.end());
  GradePrinter printer(ctx);
  GradeSummary summary = grade_submissions(ctx.course(), submissions, options, printer);
  const Terminal& t = ctx.terminal;
  std::size_t width = 7;
  for (const StudentGrade& g : summary.graded) width = std::max(width, g.student.size());
  std::cout << t.bold("  " + std::string("student") + std::string(width - 7, ' ') + "   score") << "\n";
  for (const StudentGrade& g : summary.graded) {
    std::ostringstream row;
    row << "  " << std::left << std::setw(static_cast<int>(width)) << g.student << std::right << std::setw(8)
        << score(g.points, g.max_points);
    std::string n = notes(g);
    std::cout << row.str() << (n.empty() ? "" : "  " + t.yellow(n)) << "\n";
  }
  for (const auto& [student, why] : summary.failures) {
    std::cout << "  " << std::left << std::setw(static_cast<int>(width)) << student << "  " << t.red("not graded")
              << "\n";
  }
  std::cout << "\n"
            << summary.graded.size() << " graded (" << summary.reused << " unchanged since the last run), "
            << summary.failures.size() << " failed; results in "
            << display_path(fs::absolute(args.out), fs::current_path()) << "/ (grades.csv, grades.json, students/)\n";
  return summary.ok() ? kExitOk : kExitFailure;
}

// "not_implemented" -> "not implemented".
std::string status_words(std::string status) {
  std::replace(status.begin(), status.end(), '_', ' ');
  return status;
}

std::string mark(const Terminal& t, const GradedTest& test) {
  return test.status == kPassed ? t.green("✓") : t.red("✗");
}

int run_show(Context& ctx, const ShowArgs& args) {
  StudentGrade g = load_student_grade(args.out, args.student);
  const Terminal& t = ctx.terminal;
  double points = 0, max = 0;
  for (const GradedModule& m : g.modules) {
    for (const GradedTest& test : m.tests) {
      if (!args.all && !shown_to_student(test)) continue;
      points += test.points;
      max += test.max_points;
    }
  }
  std::cout << t.bold(g.student + ": " + score(points, max) + " points") << (args.all ? "" : " (the tests you can see)")
            << "\n";
  for (const std::string& r : g.reasons) std::cout << t.red("  " + r) << "\n";
  for (const GradedModule& m : g.modules) {
    double mp = 0, mm = 0;
    int hidden = 0;
    for (const GradedTest& test : m.tests) {
      if (!args.all && !shown_to_student(test)) {
        ++hidden;
        continue;
      }
      mp += test.points;
      mm += test.max_points;
    }
    std::cout << "\n" << t.bold(m.folder) << "  " << score(mp, mm) << "\n";
    for (const std::string& r : m.reasons) std::cout << indent(r, "  ");
    for (const GradedTest& test : m.tests) {
      if (!args.all && !shown_to_student(test)) continue;
      std::cout << "  " << mark(t, test) << " " << test.name << "  " << score(test.points, test.max_points)
                << (test.status == kPassed ? "" : "  " + status_words(test.status))
                << (args.all && test.visibility != Visibility::Visible
                        ? t.dim(std::string("  (") + to_string(test.visibility) + ")")
                        : "")
                << "\n";
      if (test.status != kPassed && test.status != kNotRun && !test.output.empty()) {
        std::cout << t.dim(indent(test.output, "      "));
      }
    }
    if (hidden > 0) {
      std::cout << "  " << hidden << (hidden == 1 ? " hidden test" : " hidden tests")
                << " (results shown after grading is published)\n";
    }
    if (!m.tampering.empty()) {
      std::cout << t.yellow(
                       "  code outside the exercises differs from the course's (ignored: your score uses the "
                       "course's code):")
                << "\n";
      for (const Diagnostic& d : m.tampering) std::cout << "    " << d.format() << "\n";
    }
  }
  return kExitOk;
}

}  // namespace

void add_grade_command(CLI::App& app, Context& ctx) {
  CLI::App* grade = app.add_subcommand("grade", "Grade students' submissions with the course's tests, hidden ones too");
  grade->require_subcommand(1);

  auto run_args = std::make_shared<RunArgs>();
  CLI::App* run = grade->add_subcommand(
      "run", "Splice each submission's exercises into the course, build it, run every test, write the grades");
  run->add_option("submissions", run_args->submissions,
                  "A student's course folder (or a folder holding only their *_dev.cpp files), or a .zip, .tar, "
                  ".tar.gz archive of one; the student id is its name")
      ->type_name("SUBMISSION")
      ->required();
  run->add_option("-j,--jobs", run_args->jobs, "Submissions to grade at once (each build uses the machine's cores)")
      ->capture_default_str();
  run->add_option("--out", run_args->out,
                  "Results folder: grades.csv, grades.json, students/<id>.json (and work/, the build copies)")
      ->type_name("DIR")
      ->capture_default_str();
  run->add_option("--timeout", run_args->timeout, "Seconds one test may run before it counts as hung")
      ->capture_default_str();
  run->footer(
      "Only what a student wrote between `// YOUR CODE HERE` and `// END YOUR CODE` is graded, in the course's own\n"
      "dev file; other changes are listed as tampering and have no effect. A submission whose files and course are\n"
      "unchanged since the last run keeps its result. Points and visibility: \"grading\" in module.json (see\n"
      "README.md, \"Grading\").\n"
      "Exit status: 0 when every submission was graded (whatever the scores), 1 when grading itself failed,\n"
      "2 usage error.");
  run->callback([&ctx, run_args] { ctx.run = [&ctx, run_args] { return run_grade(ctx, *run_args); }; });

  auto show_args = std::make_shared<ShowArgs>();
  CLI::App* show = grade->add_subcommand("show", "One student's grade as the student sees it");
  show->add_option("student", show_args->student, "The student id (the submission's name)")->required();
  show->add_option("--out", show_args->out, "The results folder of `tito grade run`")
      ->type_name("DIR")
      ->capture_default_str();
  show->add_flag("--all", show_args->all, "Every test, whatever its visibility (the instructor's view)");
  show->footer(
      "Tests whose visibility is not \"visible\" are only counted (\"2 hidden tests\"), as Gradescope does before\n"
      "it publishes them.");
  show->callback([&ctx, show_args] { ctx.run = [&ctx, show_args] { return run_show(ctx, *show_args); }; });
}

}  // namespace tito::cli
