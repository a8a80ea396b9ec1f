// The command line as a whole: help for every verb, the course lookup, and
// colour only where it belongs.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <regex>
#include <sstream>

#include "e2e/course_copy.hpp"
#include "util/fs.hpp"
#include "util/process.hpp"

namespace tito::e2e {
namespace {

using ::testing::HasSubstr;

// The names under "Subcommands:" in a help text.
std::vector<std::string> subcommands(const std::string& help) {
  std::vector<std::string> names;
  std::istringstream in(help);
  bool inside = false;
  static const std::regex entry(R"(^  ([a-z][a-z0-9_-]*)  +\S.*$)");
  for (std::string line; std::getline(in, line);) {
    if (line == "Subcommands:" || line == "SUBCOMMANDS:") {
      inside = true;
      continue;
    }
    std::smatch m;
    if (inside && std::regex_match(line, m, entry)) {
      names.push_back(m[1]);
    } else if (inside && line.empty()) {
      inside = false;
    }
  }
  return names;
}

TEST(Cli, HelpWorksForEveryVerb) {
  TempDir nowhere("tito-e2e");  // help needs no course
  TitoRun top = tito({"--help"}, nowhere.path());
  EXPECT_EQ(top.exit_code, 0) << top.err;
  EXPECT_THAT(top.out, HasSubstr("Usage: tito [OPTIONS] SUBCOMMAND"));
  std::vector<std::string> verbs = subcommands(top.out);
  for (const char* expected : {"sync", "test", "module"}) {
    EXPECT_THAT(verbs, ::testing::Contains(expected)) << top.out;
  }

  int checked = 0;
  std::vector<std::vector<std::string>> pending;
  for (const std::string& v : verbs) pending.push_back({v});
  while (!pending.empty()) {
    std::vector<std::string> words = pending.back();
    pending.pop_back();
    std::vector<std::string> args = words;
    args.push_back("--help");
    TitoRun r = tito(args, nowhere.path());
    std::string command = "tito";
    for (const std::string& w : words) command += " " + w;
    EXPECT_EQ(r.exit_code, 0) << command << " --help\n" << r.err;
    EXPECT_THAT(r.out, HasSubstr("Usage: " + command + " ")) << command << " --help";
    EXPECT_EQ(r.err, "") << command << " --help";
    ++checked;
    for (const std::string& sub : subcommands(r.out)) {
      std::vector<std::string> deeper = words;
      deeper.push_back(sub);
      pending.push_back(deeper);
    }
  }
  EXPECT_GE(checked, 6);  // sync, test, module, module new, module list, module run at least
}

const std::string kVerbs = "sync, test, module, data, release, status, notebook, milestone, grade";

TEST(Cli, AnUnknownVerbIsAUsageErrorNamingItTheNearestVerbAndEveryVerb) {
  TempDir nowhere("tito-e2e");
  for (std::vector<std::string> args : {std::vector<std::string>{"tset"}, {"tset", "--help"}, {"-q", "tset", "tiny"},
                                        {"--root", "/nowhere", "tset"}}) {
    TitoRun r = tito(args, nowhere.path());
    EXPECT_EQ(r.exit_code, 2) << args[0];
    EXPECT_EQ(r.out, "") << "no help for a verb that does not exist";
    EXPECT_EQ(r.err, "error: unknown command 'tset' (did you mean 'test'?); commands: " + kVerbs +
                         "\nrun `tito --help` for usage\n");
  }
  TitoRun far = tito({"frobnicate"}, nowhere.path());
  EXPECT_EQ(far.exit_code, 2);
  EXPECT_EQ(far.err, "error: unknown command 'frobnicate'; commands: " + kVerbs + "\nrun `tito --help` for usage\n");
}

TEST(Cli, AnUnknownSubVerbIsAUsageErrorToo) {
  TempDir nowhere("tito-e2e");
  TitoRun data = tito({"data", "--cache", "/tmp", "fecth", "cifar10"}, nowhere.path());
  EXPECT_EQ(data.exit_code, 2);
  EXPECT_EQ(data.out, "");
  EXPECT_EQ(data.err,
            "error: unknown data command 'fecth' (did you mean 'fetch'?); data commands: fetch, list, verify, clean, "
            "path, show\nrun `tito data --help` for usage\n");
  TitoRun module = tito({"module", "nwe", "x", "--help"}, nowhere.path());
  EXPECT_EQ(module.exit_code, 2);
  EXPECT_EQ(module.err,
            "error: unknown module command 'nwe' (did you mean 'new'?); module commands: new, list, reset, run\n"
            "run `tito module --help` for usage\n");
}

TEST(Cli, AMissingVerbSaysWhichOnesThereAre) {
  TempDir nowhere("tito-e2e");
  TitoRun none = tito({}, nowhere.path());
  EXPECT_EQ(none.exit_code, 2);
  EXPECT_EQ(none.err, "error: `tito` needs a command: " + kVerbs + "\nrun `tito --help` for usage\n");
  TitoRun data = tito({"-v", "data"}, nowhere.path());
  EXPECT_EQ(data.exit_code, 2);
  EXPECT_EQ(data.err,
            "error: `tito data` needs a data command: fetch, list, verify, clean, path, show\n"
            "run `tito data --help` for usage\n");
  TitoRun help = tito({"data", "--help"}, nowhere.path());
  EXPECT_EQ(help.exit_code, 0) << help.err;
  EXPECT_THAT(help.out, HasSubstr("Usage: tito data "));
}

TEST(Cli, FileSystemFailuresNameThePathAndAreNoInternalError) {
  TempDir dir("tito-e2e");
  make_course(dir.path() / "course", {{"01_tiny"}});
  fs::path file = dir.path() / "a-file";
  write_file_atomic(file, "not a folder\n");
  TitoRun keep = tito({"release", "--check", "--keep", (file / "work").string()}, dir.path() / "course");
  EXPECT_EQ(keep.exit_code, 1);
  EXPECT_EQ(keep.err, "error: cannot create directories " + (file / "work").string() + ": Not a directory\n");
  TitoRun notebook = tito({"notebook", "tiny", "--out", (file / "tiny.ipynb").string()}, dir.path() / "course");
  EXPECT_EQ(notebook.exit_code, 1);
  EXPECT_EQ(notebook.err, "error: cannot create folder " + file.string() + ": Not a directory\n");
  fs::create_directories(dir.path() / "folder.ipynb");
  TitoRun folder = tito({"notebook", "tiny", "--out", (dir.path() / "folder.ipynb").string()}, dir.path() / "course");
  EXPECT_EQ(folder.exit_code, 1);
  EXPECT_EQ(folder.err, "error: cannot write " + (dir.path() / "folder.ipynb").string() +
                            ": a folder is in the way: Is a directory\n");
}

TEST(Cli, VersionIsPrinted) {
  TempDir nowhere("tito-e2e");
  TitoRun r = tito({"--version"}, nowhere.path());
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_THAT(r.out, ::testing::MatchesRegex("tito [0-9]+\\.[0-9]+\\.[0-9]+\n"));
}

TEST(Cli, OutsideACourseIsAClearError) {
  TempDir nowhere("tito-e2e");
  fs::path dir = fs::canonical(nowhere.path());
  for (std::vector<std::string> args : {std::vector<std::string>{"sync"}, {"test"}, {"module", "list"}}) {
    TitoRun r = tito(args, dir);
    EXPECT_EQ(r.exit_code, 1) << args[0];
    EXPECT_EQ(r.out, "");
    EXPECT_EQ(r.err, "error: not inside a TinyTorch course: no folder at or above " + dir.string() +
                         " holds modules/ and package/CMakeLists.txt (cd into the course, or pass --root DIR)\n");
  }
}

TEST(Cli, RootOptionAndTitoRootFindTheCourseFromElsewhere) {
  TempDir dir("tito-e2e");
  make_course(dir.path() / "course", {});
  fs::create_directories(dir.path() / "elsewhere");
  TitoRun by_option = tito({"--root", (dir.path() / "course").string(), "module", "list"}, dir.path() / "elsewhere");
  EXPECT_EQ(by_option.exit_code, 0) << by_option.err;
  EXPECT_THAT(by_option.out, HasSubstr("no modules yet: `tito module new NAME` makes the first\n"));
  TitoRun by_env =
      tito({"module", "list"}, dir.path() / "elsewhere", {{"TITO_ROOT", (dir.path() / "course").string()}});
  EXPECT_EQ(by_env.exit_code, 0) << by_env.err;
  EXPECT_EQ(by_env.out, by_option.out);
}

// `tito module list` on a terminal (a pseudo-terminal made by script(1)).
std::string on_terminal(const fs::path& course, const std::string& env) {
  std::string command = env + " exec '" + std::string(TITO_BINARY) + "' module list";
  ProcessOptions options;
  options.cwd = course;
  options.env = {{"TERM", "xterm-256color"}, {"NO_COLOR", ""}, {"TITO_ROOT", ""}};
  ProcessResult r = run_process({"script", "-qec", command, "/dev/null"}, options);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  return r.output;
}

TEST(Cli, TerminalGetsColourUnlessNoColorIsSet) {
  // script(1) is in bsdutils, which every Debian system has (scripts/deps checks it).
  ASSERT_TRUE(find_program("script")) << "script(1) is not installed: no pseudo-terminal to test on (run scripts/deps)";
  TempDir dir("tito-e2e");
  make_course(dir.path(), {});
  std::string colored = on_terminal(dir.path(), "");
  EXPECT_THAT(colored, HasSubstr("\033[1m#   name"));
  std::string plain = on_terminal(dir.path(), "NO_COLOR=1");
  EXPECT_EQ(plain.find('\033'), std::string::npos) << plain;
  EXPECT_THAT(plain, HasSubstr("#   name"));
}

TEST(Cli, PipesGetNoEscapeCodes) {
  TempDir dir("tito-e2e");
  make_course(dir.path(), {});
  TitoRun list = tito({"module", "list"}, dir.path(), {{"TERM", "xterm-256color"}});
  EXPECT_EQ(list.exit_code, 0) << list.err;
  EXPECT_EQ(list.out.find('\033'), std::string::npos) << list.out;
  TitoRun error = tito({"module", "run", "nothing"}, dir.path(), {{"TERM", "xterm-256color"}});
  EXPECT_EQ(error.exit_code, 2);
  EXPECT_EQ(error.err,
            "error: no module 'nothing' in this course (modules: none yet; `tito module list` shows them)\n");
}

}  // namespace
}  // namespace tito::e2e
