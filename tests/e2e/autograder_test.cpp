// `tito grade autograder`: the Gradescope bundle, tried out as Gradescope
// uses it, in a folder laid out like its /autograder: the zip unpacked into
// source/ (by Python's zipfile, not by tito's own reader), setup.sh run once,
// then for each submission put in submission/, run_autograder writing
// results/results.json, which is checked against Gradescope's specification.
//
// setup.sh is given TITO (the tito under test) so that it does not build tito
// again from the bundle's sources; TheBundledSourcesConfigure checks those.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>

#include "e2e/course_copy.hpp"
#include "util/fs.hpp"
#include "util/process.hpp"

namespace tito::e2e {
namespace {

using ::testing::HasSubstr;
using json = nlohmann::json;

// What Gradescope's autograder specification allows in results.json: the
// keys, their types and the visibility words. An empty list means it conforms.
std::vector<std::string> gradescope_problems(const json& results) {
  std::vector<std::string> problems;
  auto say = [&](const std::string& p) { problems.push_back(p); };
  const std::set<std::string> visibilities = {"hidden", "after_due_date", "after_published", "visible"};
  const std::set<std::string> top = {
      "score",      "execution_time",    "output",     "output_format", "test_output_format", "test_name_format",
      "visibility", "stdout_visibility", "extra_data", "tests",         "leaderboard"};
  const std::set<std::string> test_keys = {"score",  "max_score",     "status", "name",       "name_format", "number",
                                           "output", "output_format", "tags",   "visibility", "extra_data"};
  if (!results.is_object()) return {"results.json is not a JSON object"};
  for (const auto& [key, value] : results.items()) {
    if (!top.contains(key)) say("unknown top-level key \"" + key + "\"");
  }
  auto visibility = [&](const json& j, const std::string& where) {
    if (j.contains("visibility") && (!j["visibility"].is_string() || !visibilities.contains(j["visibility"]))) {
      say(where + ": visibility " + j["visibility"].dump() + " is not one Gradescope knows");
    }
  };
  visibility(results, "top level");
  if (results.contains("stdout_visibility") && !visibilities.contains(results["stdout_visibility"])) {
    say("stdout_visibility " + results["stdout_visibility"].dump());
  }
  if (results.contains("score") && !results["score"].is_number()) say("score is not a number");
  if (results.contains("output") && !results["output"].is_string()) say("output is not a string");
  if (results.contains("execution_time") && !results["execution_time"].is_number()) say("execution_time");
  if (!results.contains("tests")) {
    if (!results.contains("score")) say("neither a top-level score nor tests");
    return problems;
  }
  if (!results["tests"].is_array()) return {"tests is not an array"};
  for (std::size_t i = 0; i < results["tests"].size(); ++i) {
    const json& t = results["tests"][i];
    const std::string where = "tests[" + std::to_string(i) + "]";
    if (!t.is_object()) {
      say(where + " is not an object");
      continue;
    }
    for (const auto& [key, value] : t.items()) {
      if (!test_keys.contains(key)) say(where + ": unknown key \"" + key + "\"");
    }
    if (!results.contains("score") && !t.contains("score")) say(where + ": no score, and none at the top level");
    for (const char* number : {"score", "max_score"}) {
      if (t.contains(number) && !t[number].is_number()) say(where + ": " + number + " is not a number");
    }
    for (const char* text : {"name", "output", "number"}) {
      if (t.contains(text) && !t[text].is_string()) say(where + ": " + text + " is not a string");
    }
    if (t.contains("status") && t["status"] != "passed" && t["status"] != "failed") {
      say(where + ": status " + t["status"].dump());
    }
    visibility(t, where);
  }
  return problems;
}

// The course, its bundle and a Gradescope-like folder, made once for the tests of a process.
struct Bundle {
  fs::path base = fs::path(TITO_E2E_WORK_DIR) / "autograder";
  fs::path course = base / "course";
  fs::path release = base / "release";
  fs::path zip = base / "autograder.zip";
  fs::path root = base / "gradescope";  // as /autograder
  TitoRun made;
  ProcessResult setup;

  void make() {
    make_course(course, {{"01_tiny"}, {"02_more"}});
    const fs::path manifest = course / "modules" / "01_tiny" / "module.json";
    write(manifest, replace(read(manifest), "\"requires\": []",
                            "\"requires\": [],\n  \"grading\": {\"tests\": {\"Tiny.TwiceDoubles\": {\"points\": 2}}}"));
    TitoRun r = tito({"release", "--out", release.string(), "--force"}, course);
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    made = tito({"grade", "autograder", "--out", zip.string(), "--force", "--timeout", "5"}, course);
    ASSERT_EQ(made.exit_code, 0) << made.out << made.err;
    fs::remove_all(root);
    fs::create_directories(root / "source");
    // As Gradescope does: unpack with a tool of its own, keep the modes, copy run_autograder up.
    ProcessResult unzip =
        run_process({"python3", "-c",
                     "import os, sys, zipfile\n"
                     "with zipfile.ZipFile(sys.argv[1]) as z:\n"
                     "    for i in z.infolist():\n"
                     "        z.extract(i, sys.argv[2])\n"
                     "        os.chmod(os.path.join(sys.argv[2], i.filename), (i.external_attr >> 16) & 0o777)\n",
                     zip.string(), (root / "source").string()});
    ASSERT_EQ(unzip.exit_code, 0) << unzip.output;
    fs::copy_file(root / "source" / "run_autograder", root / "run_autograder");
    ProcessOptions o;
    o.cwd = root / "source";
    o.env = {{"AUTOGRADER", root.string()}, {"TITO", TITO_BINARY}, {"TITO_ROOT", ""}, {"TITO_DATA_DIR", ""}};
    setup = run_process({(root / "source" / "setup.sh").string()}, o);
  }

  // run_autograder on a submission made by `fill` (in submission/), as Gradescope runs it.
  ProcessResult grade(const std::function<void(const fs::path&)>& fill) const {
    fs::remove_all(root / "submission");
    fs::remove_all(root / "results");
    fs::create_directories(root / "submission");
    fill(root / "submission");
    ProcessOptions o;
    o.cwd = root;
    o.env = {{"AUTOGRADER", root.string()}, {"TITO_ROOT", ""}, {"TITO_DATA_DIR", ""}};
    return run_process({(root / "run_autograder").string()}, o);
  }

  // The student's dev files: the release's, with these answers.
  void answers(const fs::path& into, const std::vector<std::string>& tiny, const std::vector<std::string>& more) const {
    write(into / "tiny_dev.cpp", answer_stubs(read(release / "modules" / "01_tiny" / "tiny_dev.cpp"), tiny));
    write(into / "more" / "more_dev.cpp", answer_stubs(read(release / "modules" / "02_more" / "more_dev.cpp"), more));
  }
};

const Bundle& bundle() {
  static Bundle* b = [] {
    auto* made = new Bundle;
    fs::create_directories(made->base);
    FileLock lock(made->base / "lock");
    made->make();
    return made;
  }();
  return *b;
}

class GradescopeAutograder : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(bundle().made.exit_code, 0) << bundle().made.err;
    ASSERT_EQ(bundle().setup.exit_code, 0) << bundle().setup.output;
  }
  // The Gradescope-like folder is one: its runs take turns.
  FileLock lock_{bundle().base / "lock"};
};

const std::string kRightMore = "return tiny::add_one(tiny::add_one(x));";

TEST_F(GradescopeAutograder, TheZipHoldsTheScriptsTheCourseWithItsHiddenTestsAndTitosSources) {
  const fs::path source = bundle().root / "source";
  EXPECT_THAT(bundle().made.out,
              HasSubstr("wrote " + bundle().zip.string() + ": the Gradescope autograder for 2 modules"));
  for (const char* script : {"setup.sh", "run_autograder"}) {
    EXPECT_EQ(fs::status(source / script).permissions() & fs::perms::owner_exec, fs::perms::owner_exec) << script;
  }
  EXPECT_EQ(read(source / "autograder.env"),
            "# Read by setup.sh and run_autograder; written by `tito grade autograder`.\nTIMEOUT=5\n");
  // The instructor's files as they are: solutions, hidden tests and the grading settings.
  EXPECT_EQ(read(source / "course" / "modules" / "01_tiny" / "tiny_dev.cpp"),
            read(bundle().course / "modules" / "01_tiny" / "tiny_dev.cpp"));
  EXPECT_THAT(read(source / "course" / "modules" / "01_tiny" / "tests" / "test_tiny.cpp"),
              HasSubstr("BEGIN HIDDEN TESTS"));
  EXPECT_THAT(read(source / "course" / "modules" / "01_tiny" / "module.json"), HasSubstr("\"grading\""));
  EXPECT_FALSE(fs::exists(source / "course" / "data" / "cache"));
  EXPECT_EQ(read(source / "tito-source" / "tito" / "main.cpp"), read(source_dir() / "tito" / "main.cpp"));
  EXPECT_EQ(read(source / "tito-source" / "scripts" / "deps"), read(source_dir() / "scripts" / "deps"));
  EXPECT_THAT(bundle().setup.output, HasSubstr("ready to grade: 4 tests worth 5 points in 2 modules"));
}

TEST_F(GradescopeAutograder, AFullSubmissionGetsResultsJsonToGradescopesSpecification) {
  ProcessResult run = bundle().grade([&](const fs::path& s) {
    bundle().answers(s, {"return x + 1;", "return 2 * x;"}, {kRightMore});
  });
  ASSERT_EQ(run.exit_code, 0) << run.output;
  const json results = json::parse(read(bundle().root / "results" / "results.json"));
  EXPECT_EQ(gradescope_problems(results), std::vector<std::string>{}) << results.dump(2);
  EXPECT_EQ(results["score"], 5);
  ASSERT_EQ(results["tests"].size(), 4u);
  std::map<std::string, json> tests;
  for (const json& t : results["tests"]) tests[t["name"]] = t;
  EXPECT_EQ(tests["01_tiny Tiny.TwiceDoubles"], (json{{"name", "01_tiny Tiny.TwiceDoubles"},
                                                      {"score", 2},
                                                      {"max_score", 2},
                                                      {"status", "passed"},
                                                      {"visibility", "visible"}}));
  // The hidden test is graded and shown after the due date.
  EXPECT_EQ(tests["01_tiny Tiny.TwiceOfZero"]["visibility"], "after_due_date");
  EXPECT_EQ(tests["01_tiny Tiny.TwiceOfZero"]["score"], 1);
  EXPECT_EQ(tests["02_more MoreCells.AddTwoOfOne"]["score"], 1);
}

TEST_F(GradescopeAutograder, APartlyWrongSubmissionShowsWhatFailedAndWhy) {
  ProcessResult run = bundle().grade([&](const fs::path& s) {
    bundle().answers(s, {"return x + 1;", "return x * x;"}, {"return x;"});
  });
  ASSERT_EQ(run.exit_code, 0) << run.output;
  const json results = json::parse(read(bundle().root / "results" / "results.json"));
  EXPECT_EQ(gradescope_problems(results), std::vector<std::string>{}) << results.dump(2);
  // add_one is right (1 point), twice is x*x: right at 0 (the hidden TwiceOfZero, 1), wrong at 3 (0 of 2).
  EXPECT_EQ(results["score"], 2);
  for (const json& t : results["tests"]) {
    if (t["name"] == "01_tiny Tiny.TwiceDoubles" || t["name"] == "02_more MoreCells.AddTwoOfOne") {
      EXPECT_EQ(t["status"], "failed") << t.dump();
      EXPECT_EQ(t["score"], 0);
      EXPECT_THAT(t["output"].get<std::string>(), HasSubstr("failed: ")) << t.dump();
      EXPECT_THAT(t["output"].get<std::string>(), HasSubstr("Which is:")) << t.dump();
    } else {
      EXPECT_EQ(t["status"], "passed") << t.dump();
    }
  }
}

TEST_F(GradescopeAutograder, ASubmissionWithoutDevFilesGetsZeroWithTheReasonInItsOutput) {
  ProcessResult run = bundle().grade([](const fs::path& s) { write(s / "notes.txt", "I did not finish."); });
  ASSERT_EQ(run.exit_code, 0) << run.output;
  const json results = json::parse(read(bundle().root / "results" / "results.json"));
  EXPECT_EQ(gradescope_problems(results), std::vector<std::string>{}) << results.dump(2);
  EXPECT_EQ(results["score"], 0);
  EXPECT_THAT(results["output"].get<std::string>(), HasSubstr("01_tiny: no dev file submitted (tiny_dev.cpp)"));
  EXPECT_EQ(results["tests"].size(), 4u);
}

TEST_F(GradescopeAutograder, WhenGradingItselfFailsNoResultsAreWritten) {
  // A tito that is not there: the run fails, and Gradescope is left to say so to the instructor.
  const fs::path env = bundle().root / "tito.env";
  FileRestorer restore(env);
  write(env, "TITO=\"" + (bundle().base / "no-such-tito").string() + "\"\n");
  ProcessResult run = bundle().grade([&](const fs::path& s) { bundle().answers(s, {"return x + 1;"}, {}); });
  EXPECT_EQ(run.exit_code, 1) << run.output;
  EXPECT_THAT(run.output, HasSubstr("run_autograder: tito grade run failed"));
  EXPECT_FALSE(fs::exists(bundle().root / "results" / "results.json"));
}

TEST_F(GradescopeAutograder, AnExistingZipIsKeptWithoutForce) {
  const std::string before = read(bundle().zip);
  TitoRun r = tito({"grade", "autograder", "--out", bundle().zip.string()}, bundle().course);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr(bundle().zip.string() + " exists; pass --force to replace it"));
  EXPECT_EQ(read(bundle().zip), before);
  TitoRun inside = tito({"grade", "autograder", "--out", "modules/autograder.zip"}, bundle().course);
  EXPECT_EQ(inside.exit_code, 2);
  EXPECT_THAT(inside.err, HasSubstr("modules/autograder.zip is inside the course's modules/"));
  EXPECT_FALSE(fs::exists(bundle().course / "modules" / "autograder.zip"));
  // The default, in the course's own folder, is fine: the bundle does not read it.
  TitoRun here = tito({"grade", "autograder", "--force"}, bundle().course);
  EXPECT_EQ(here.exit_code, 0) << here.err;
  EXPECT_TRUE(fs::exists(bundle().course / "autograder.zip"));
  fs::remove(bundle().course / "autograder.zip");
}

TEST_F(GradescopeAutograder, MalformedGradingIsAnErrorAtItsLineAndNoZip) {
  const fs::path manifest = bundle().course / "modules" / "02_more" / "module.json";
  FileRestorer restore(manifest);
  write(manifest,
        replace(read(manifest), "\"requires\"", "\"grading\": {\"default_visibility\": \"secret\"},\n  \"requires\""));
  const fs::path out = bundle().base / "bad.zip";
  fs::remove(out);
  TitoRun r = tito({"grade", "autograder", "--out", out.string()}, bundle().course);
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_THAT(r.err, HasSubstr("modules/02_more/module.json:"));
  EXPECT_THAT(r.err, HasSubstr("\"secret\""));
  EXPECT_FALSE(fs::exists(out));
}

TEST_F(GradescopeAutograder, TheBundledSourcesConfigureTitoAlone) {
  // What setup.sh runs before it builds: the bundle's tito sources, as a project of their own.
  const fs::path build = bundle().base / "tito-configure";
  fs::remove_all(build);
  ProcessResult r = run_process({"cmake", "-S", (bundle().root / "source" / "tito-source").string(), "-B",
                                 build.string(), "-G", "Ninja", "-DTITO_TOOL_ONLY=ON"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  ProcessResult targets = run_process({"ninja", "-C", build.string(), "-t", "targets", "all"});
  EXPECT_THAT(targets.output, HasSubstr("tito/tito:"));
  EXPECT_THAT(targets.output, ::testing::Not(HasSubstr("tinytorch")));
}

}  // namespace
}  // namespace tito::e2e
