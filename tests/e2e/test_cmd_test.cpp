// `tito test`, `tito module list` and `tito module run` on the shared fixture
// course.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <tinyxml2.h>

#include <chrono>
#include <nlohmann/json.hpp>

#include "e2e/course_copy.hpp"
#include "util/fs.hpp"

namespace tito::e2e {
namespace {

using ::testing::ContainsRegex;
using ::testing::EndsWith;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;
using json = nlohmann::json;

using TestCommand = FixtureCourseTest;
using ModuleCommand = FixtureCourseTest;

std::string unwritten_location(const fs::path& dev) {
  return "modules/03_trouble/trouble_dev.cpp:" +
         std::to_string(line_of(read(dev), "throw tinytorch::NotImplemented();"));
}

TEST_F(TestCommand, PassingModulesExitZeroWithASummary) {
  TitoRun r = run({"test", "tiny", "more"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  // module, passed, failed, not yet, total, ..., verdict
  EXPECT_THAT(r.out, ContainsRegex("\n  01_tiny +3 +0 +0 +3 [^\n]* ✓ passed\n"));
  EXPECT_THAT(r.out, ContainsRegex("\n  02_more +1 +0 +0 +1 [^\n]* ✓ passed\n"));
  EXPECT_THAT(r.out, EndsWith("\n\ntests: 4 passed, 0 failed\n"));
}

TEST_F(TestCommand, CrashAndHangAreEachOneFailureAndTheOtherTestsStillRun) {
  TempDir reports("tito-e2e");
  fs::path junit = reports.path() / "junit.xml";
  auto start = std::chrono::steady_clock::now();
  TitoRun r = run({"test", "trouble", "--timeout", "2", "--junit", junit.string()});
  auto seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_LT(seconds, 30) << "--timeout 2 did not cut the hanging test short";
  EXPECT_THAT(r.out, StartsWith("crashed 03_trouble Trouble.Crashes\n"
                                "    crashed (SEGFAULT)\n"
                                "timed out 03_trouble Trouble.Hangs\n"
                                "    did not finish within the time limit (an endless loop?)\n"
                                "03_trouble: 1 test waits on code not written yet\n"
                                "  trouble::unwritten (" +
                                unwritten_location(dev_file("03_trouble")) + ") · 1 test\n\n"));
  EXPECT_THAT(r.out, ContainsRegex("\n  03_trouble +1 +2 +1 +4 [^\n]* ✗ failing\n"));
  EXPECT_THAT(r.out, EndsWith("\n\n1 test waits on code not written yet\ntests: 1 passed, 3 failed\n"));

  tinyxml2::XMLDocument doc;
  std::string xml = read(junit);
  ASSERT_EQ(doc.Parse(xml.c_str()), tinyxml2::XML_SUCCESS) << xml;
  const tinyxml2::XMLElement* suites = doc.FirstChildElement("testsuites");
  ASSERT_NE(suites, nullptr) << xml;
  EXPECT_EQ(suites->IntAttribute("tests"), 4);
  EXPECT_EQ(suites->IntAttribute("failures"), 3);
  const tinyxml2::XMLElement* suite = suites->FirstChildElement("testsuite");
  ASSERT_NE(suite, nullptr);
  EXPECT_STREQ(suite->Attribute("name"), "03_trouble");
  std::vector<std::string> cases;
  for (auto* c = suite->FirstChildElement("testcase"); c != nullptr; c = c->NextSiblingElement("testcase")) {
    auto* failure = c->FirstChildElement("failure");
    cases.push_back(std::string(c->Attribute("name")) + ": " + (failure ? failure->Attribute("type") : "passed"));
  }
  EXPECT_EQ(cases, (std::vector<std::string>{"Passes: passed", "Crashes: crashed", "Hangs: timed out",
                                             "WaitsOnUnwrittenCode: not implemented"}));
}

TEST_F(TestCommand, AProgramThatDiesBeforeMainIsItsModulesCrashAndTheOtherModulesStillRun) {
  // GoogleTest's discovery runs each test program before any test; one that dies there (a
  // namespace-scope object calling code that throws) used to stop CTest for every module.
  fs::path dev = dev_file("02_more");
  FileRestorer restore(dev);
  write(dev, read(dev) +
                 "\n// %%\n//| test\n#include <stdexcept>\n"
                 "namespace { const int kBuiltBeforeMain = [] { if (tinytorch::more::add_two(0) == 2) "
                 "throw std::runtime_error(\"thrown before main\"); return 0; }(); }\n");
  TitoRun r = run({"test", "tiny", "more"});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_THAT(r.out, ContainsRegex("\n  01_tiny +3 +0 +0 +3 [^\n]* ✓ passed\n")) << "01_tiny's tests did not run";
  EXPECT_THAT(r.out, HasSubstr("crashed 02_more (listing the tests)\n"));
  EXPECT_THAT(r.out, HasSubstr("died while listing its tests, before any test ran"));
  EXPECT_THAT(r.out, HasSubstr("thrown before main"));
  EXPECT_THAT(r.err, Not(HasSubstr("ctest wrote no report")));
}

TEST_F(TestCommand, ModulesThatDoNotBuildAreCountedApartFromTests) {
  FileRestorer restore(dev_file("01_tiny"));
  write(dev_file("01_tiny"), replace(read(dev_file("01_tiny")), "return x + 1;", "return x + undeclared_name;"));
  TitoRun r = run({"test", "tiny", "more"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.out, ContainsRegex("\n  01_tiny +- +- +- +- [^\n]* ✗ does not compile\n"));
  EXPECT_THAT(r.out, ContainsRegex("\n  02_more +- +- +- +- [^\n]* ✗ blocked: 01_tiny does not compile\n"));
  EXPECT_THAT(r.out, EndsWith("\n\n2 modules were not built, so their tests did not run\ntests: 0 passed, 0 failed\n"));
}

TEST_F(TestCommand, ACompileErrorInATestFileIsShownAtItsPathInTheCourse) {
  fs::path tests = root() / "modules/01_tiny/tests/test_tiny.cpp";
  FileRestorer restore(tests);
  std::string text = replace(read(tests), "twice(21), 42)", "twice(21), undeclared_value)");
  write(tests, text);
  TitoRun r = run({"test", "tiny"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("\nmodules/01_tiny/tests/test_tiny.cpp:" + std::to_string(line_of(text, "undeclared_value")) +
                               ":"));
  EXPECT_EQ(r.err.find("../modules/"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find(root().string()), std::string::npos) << r.err;
}

TEST_F(TestCommand, AWrongAnswerIsShownAtItsTestFileAsTheStudentKnowsIt) {
  fs::path tests = root() / "modules/01_tiny/tests/test_tiny.cpp";
  FileRestorer restore(tests);
  std::string text = replace(read(tests), "twice(21), 42)", "twice(21), 43)");
  write(tests, text);
  TitoRun r = run({"test", "tiny"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.out, HasSubstr("failed 01_tiny Tiny.TwiceDoubles\n    modules/01_tiny/tests/test_tiny.cpp:" +
                               std::to_string(line_of(text, "twice(21), 43)")) + ": Failure\n"));
}

TEST_F(TestCommand, JsonReportIsTheOnlyThingOnStdout) {
  TitoRun r = run({"test", "trouble", "--timeout", "2", "--json"});
  EXPECT_EQ(r.exit_code, 1);
  json report;
  ASSERT_NO_THROW(report = json::parse(r.out)) << r.out;
  EXPECT_EQ(report["ok"], false);
  EXPECT_EQ(report["passed"], 1);
  EXPECT_EQ(report["failed"], 2);
  EXPECT_EQ(report["not_implemented"], 1);
  EXPECT_EQ(report["total"], 4);
  ASSERT_EQ(report["modules"].size(), 1u);
  const json& m = report["modules"][0];
  EXPECT_EQ(m["module"], "03_trouble");
  EXPECT_EQ(m["outcome"], "tested");
  std::vector<std::string> statuses;
  for (const json& t : m["tests"])
    statuses.push_back(t["name"].get<std::string>() + ": " + t["status"].get<std::string>());
  EXPECT_EQ(statuses,
            (std::vector<std::string>{"Trouble.Passes: passed", "Trouble.Crashes: crashed", "Trouble.Hangs: timed out",
                                      "Trouble.WaitsOnUnwrittenCode: not implemented"}));
  EXPECT_EQ(m["tests"][3]["function"], "trouble::unwritten");
  EXPECT_EQ(m["tests"][3]["location"], unwritten_location(dev_file("03_trouble")));
  EXPECT_EQ(r.err.find('{'), std::string::npos) << "JSON went to stderr:\n" << r.err;
}

TEST_F(TestCommand, PlainOutputHasNoEscapeCodesButColorAlwaysHas) {
  TitoRun plain = run({"test", "tiny"});
  EXPECT_EQ(plain.exit_code, 0) << plain.err;
  EXPECT_EQ(plain.out.find('\033'), std::string::npos) << plain.out;
  EXPECT_EQ(plain.err.find('\033'), std::string::npos) << plain.err;

  TitoRun no_color = run({"test", "tiny"}, "", {{"NO_COLOR", "1"}});
  EXPECT_EQ(no_color.out, plain.out);
  EXPECT_EQ(no_color.err.find('\033'), std::string::npos) << no_color.err;

  TitoRun colored = run({"--color", "always", "test", "tiny"});
  EXPECT_EQ(colored.exit_code, 0) << colored.err;
  EXPECT_THAT(colored.out, HasSubstr("\033[32m✓ passed\033[0m"));
}

TEST_F(ModuleCommand, ListShowsSyncStateAndLastTestResult) {
  TitoRun tested = run({"test", "tiny"});
  ASSERT_EQ(tested.exit_code, 0) << tested.out << tested.err;
  FileRestorer restore(dev_file("02_more"));
  write(dev_file("02_more"),
        replace(read(dev_file("02_more")), "return tiny::add_one(tiny::add_one(x));", "return tiny::add_one(x) + 1;"));

  TitoRun r = run({"module", "list"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::vector<std::string> lines;
  std::istringstream in(r.out);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  ASSERT_EQ(lines.size(), 4u) << r.out;
  EXPECT_EQ(lines[0], "#   name     title    difficulty  sync                 last test");
  EXPECT_EQ(lines[1], "01  tiny     Tiny     easy        synced               3/3 passed");
  EXPECT_THAT(lines[2], StartsWith("02  more     More     medium      stale                "));
  EXPECT_THAT(lines[3], StartsWith("03  trouble  Trouble  hard        synced               "));

  TitoRun as_json = run({"module", "list", "--json"});
  EXPECT_EQ(as_json.exit_code, 0) << as_json.err;
  json modules = json::parse(as_json.out);
  ASSERT_EQ(modules.size(), 3u);
  EXPECT_EQ(modules[0], json::parse(R"json({"number": 1, "folder": "01_tiny", "name": "tiny", "title": "Tiny",
      "difficulty": "easy", "requires": [], "sync": "synced", "last_test": "3/3 passed"})json"));
  EXPECT_EQ(modules[1]["sync"], "stale");
  EXPECT_EQ(modules[1]["requires"], json::parse(R"(["tiny"])"));
}

TEST_F(ModuleCommand, RunPrintsTheDemoOutput) {
  TitoRun r = run({"module", "run", "tiny"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  int line = line_of(read(dev_file("01_tiny")), "std::cout << \"add_one(41) = \"");
  EXPECT_EQ(r.out, "\n── demo 1 of 1 · modules/01_tiny/tiny_dev.cpp:" + std::to_string(line) +
                       " ──\n"
                       "add_one(41) = 42\n");
}

TEST_F(ModuleCommand, RunOfAModuleWithoutDemosIsAnError) {
  TitoRun r = run({"module", "run", "more"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "error: modules/02_more/more_dev.cpp has no '//| demo' cells to run\n");
}

}  // namespace
}  // namespace tito::e2e
