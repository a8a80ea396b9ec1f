// tito grade run SUBMISSION... [-j N] [--out DIR] [--timeout S]
// tito grade show STUDENT [--out DIR] [--all]
// tito grade prepare [--out DIR] [--timeout S]
// tito grade autograder [--out FILE.zip] [--timeout S] [--force]
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include <algorithm>
#include <iomanip>
#include <iostream>
#include <mutex>
#include <sstream>

#include "cli/context.hpp"
#include "engine/autograder.hpp"
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

struct PrepareArgs {
  std::string out = "grades";
  int timeout = 60;
};

struct AutograderArgs {
  std::string out = "autograder.zip";
  int timeout = 60;
  bool force = false;
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

int run_prepare(Context& ctx, const PrepareArgs& args) {
  GradeOptions options;
  options.out = args.out;
  options.timeout_seconds = args.timeout;
  GradePrinter printer(ctx);
  std::vector<PreparedModule> modules = prepare_grading(ctx.course(), options, printer);
  int tests = 0;
  double points = 0;
  for (const PreparedModule& m : modules) {
    std::cout << "  " << m.folder << "  " << m.tests << (m.tests == 1 ? " test" : " tests");
    if (m.hidden > 0) std::cout << " (" << m.hidden << " hidden)";
    std::cout << ", " << points_text(m.points) << (m.points == 1 ? " point" : " points") << "\n";
    tests += m.tests;
    points += m.points;
  }
  std::cout << "ready to grade: " << tests << " tests worth " << points_text(points) << " points in " << modules.size()
            << " modules; the course is built in "
            << display_path(fs::absolute(args.out) / "work" / "reference", fs::current_path()) << "\n";
  return kExitOk;
}

int run_autograder(Context& ctx, const AutograderArgs& args) {
  AutograderOptions options;
  options.tito_source = TITO_SOURCE_DIR;
  options.timeout_seconds = args.timeout;
  AutograderBundle bundle = make_autograder(ctx.course(), options);
  write_autograder(ctx.course(), bundle, args.out, args.force);
  std::cout << "wrote " << args.out << ": the Gradescope autograder for " << bundle.modules
            << (bundle.modules == 1 ? " module" : " modules") << " (" << bundle.course_files
            << " course files, tito's sources, setup.sh, run_autograder; " << args.timeout << " s per test)\n";
  if (!ctx.quiet()) {
    std::cout << "it holds the solutions and hidden tests: upload it to Gradescope's autograder settings, never to "
                 "students\n";
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

  auto prepare_args = std::make_shared<PrepareArgs>();
  CLI::App* prepare = grade->add_subcommand(
      "prepare", "Build the course and list its tests, once, before any submission (what `run` does first)");
  prepare->add_option("--out", prepare_args->out, "Results folder (the course is built in DIR/work/reference)")
      ->type_name("DIR")
      ->capture_default_str();
  prepare->add_option("--timeout", prepare_args->timeout, "Seconds one test may run before it counts as hung")
      ->capture_default_str();
  prepare->footer(
      "Runs every test of the instructor's course, hidden ones included, and warns about any that does not pass:\n"
      "they are graded as they are. A later `tito grade run --out DIR` finds the list and builds only the\n"
      "submissions. Exit status: 0 ready, 1 the course does not build, 2 usage error.");
  prepare->callback(
      [&ctx, prepare_args] { ctx.run = [&ctx, prepare_args] { return run_prepare(ctx, *prepare_args); }; });

  auto autograder_args = std::make_shared<AutograderArgs>();
  CLI::App* autograder =
      grade->add_subcommand("autograder", "Write the course as a Gradescope autograder (autograder.zip)");
  autograder->add_option("--out", autograder_args->out, "The zip file to write")
      ->type_name("FILE")
      ->capture_default_str();
  autograder->add_option("--timeout", autograder_args->timeout, "Seconds one test may run before it counts as hung")
      ->capture_default_str();
  autograder->add_flag("--force", autograder_args->force, "Replace an existing --out file");
  autograder->footer(
      "The zip holds setup.sh (installs the Debian packages, builds tito from the sources in the zip, fetches\n"
      "the course's data, builds the course once), run_autograder (grades /autograder/submission with `tito\n"
      "grade run` and writes /autograder/results/results.json in Gradescope's format), the course with its\n"
      "hidden tests, and tito's sources. Upload it in Gradescope's autograder settings, never to students\n"
      "(setup.sh installs Debian 12's package names with apt-get). To try it without Gradescope: unzip it\n"
      "into DIR/source, put a submission in DIR/submission, run AUTOGRADER=DIR DIR/source/setup.sh, then\n"
      "AUTOGRADER=DIR DIR/source/run_autograder.\n"
      "Exit status: 0 written, 1 the course's grading settings are malformed, 2 usage error.");
  autograder->callback(
      [&ctx, autograder_args] { ctx.run = [&ctx, autograder_args] { return run_autograder(ctx, *autograder_args); }; });
}

}  // namespace tito::cli
