#include "engine/testrun.hpp"

#include <gtest/gtest.h>
#include <tinyxml2.h>

#include <nlohmann/json.hpp>

#include "engine/temp_course.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"

namespace tito {
namespace {

using json = nlohmann::json;
using testing::diagnostics_of;

// fixtures/ctest/: what CTest 3.25 wrote for hello_test.cpp (a pass, a wrong
// answer, a NotImplemented, a segfault, a hang under --timeout 2, a skip, a
// disabled test and an abort): its JUnit file and its console output.
std::string fixture(const std::string& name) {
  return read_file(fs::path(TITO_SOURCE_DIR) / "tests" / "fixtures" / "ctest" / name);
}

struct Row {
  std::string module;
  std::string name;
  TestStatus status;
  std::string message;
  std::string function;
  std::string location;
  bool operator==(const Row&) const = default;
};

std::ostream& operator<<(std::ostream& out, const Row& r) {
  return out << "{" << r.module << ", " << r.name << ", " << describe(r.status) << ", \"" << r.message << "\", "
             << r.function << ", " << r.location << "}";
}

std::vector<Row> rows(const std::vector<std::pair<std::string, TestCase>>& cases) {
  std::vector<Row> out;
  for (const auto& [module, c] : cases) out.push_back({module, c.name, c.status, c.message, c.function, c.location});
  return out;
}

TEST(CTestJUnit, ClassifiesEveryOutcomeOfARealRun) {
  std::vector<std::pair<std::string, TestCase>> cases = read_ctest_junit(fixture("junit.xml"), fixture("console.txt"));
  EXPECT_EQ(rows(cases),
            (std::vector<Row>{
                {"01_hello", "Hello.Passes", TestStatus::Passed, "", "", ""},
                {"01_hello", "Hello.Fails", TestStatus::Failed,
                 "/tmp/junitprobe/t.cpp:6: Failure\nExpected equality of these values:\n  1\n  2\none is not two & <b>",
                 "", ""},
                {"01_hello", "Hello.NotImpl", TestStatus::NotImplemented,
                 "not implemented yet: hello::square (modules/01_hello/hello_dev.cpp:42)", "hello::square",
                 "modules/01_hello/hello_dev.cpp:42"},
                {"01_hello", "Hello.Crashes", TestStatus::Crashed, "crashed (SEGFAULT)", "", ""},
                {"01_hello", "Hello.Hangs", TestStatus::TimedOut,
                 "did not finish within the time limit (an endless loop?)", "", ""},
                {"01_hello", "Hello.Skips", TestStatus::Skipped, "", "", ""},
                {"01_hello", "Hello.Off", TestStatus::Skipped, "", "", ""},
                {"01_hello", "Hello.Aborts", TestStatus::Crashed, "crashed (Subprocess aborted)", "", ""},
            }));
  EXPECT_DOUBLE_EQ(cases[0].second.seconds, 0.00320865);
  EXPECT_DOUBLE_EQ(cases[4].second.seconds, 2.00355);
}

TEST(CTestJUnit, WithoutCTestsOutputCrashesAndHangsAreFailures) {
  // CTest 3.25 leaves <failure message=""> empty: the JUnit file alone cannot tell.
  std::vector<Row> r = rows(read_ctest_junit(fixture("junit.xml")));
  ASSERT_EQ(r.size(), 8u);
  EXPECT_EQ(r[3], (Row{"01_hello", "Hello.Crashes", TestStatus::Failed, "Failed", "", ""}));
  EXPECT_EQ(r[4], (Row{"01_hello", "Hello.Hangs", TestStatus::Failed, "Failed", "", ""}));
  EXPECT_EQ(r[2].status, TestStatus::NotImplemented);  // read from the test's own output
}

TEST(CTestJUnit, FailureMessagesStatedInTheJUnitFileAreUsed) {
  std::string xml = R"xml(<?xml version="1.0" encoding="UTF-8"?>
<testsuite name="(empty)" tests="4">
  <testcase name="02_x.X.Hangs" classname="02_x.X.Hangs" time="2.5" status="fail">
    <failure message="Timeout"/>
    <system-out>[ RUN      ] X.Hangs
</system-out>
  </testcase>
  <testcase name="02_x.X.Crashes" classname="02_x.X.Crashes" time="0.1" status="fail">
    <failure message="SEGFAULT"/>
    <system-out>[ RUN      ] X.Crashes
about to crash
</system-out>
  </testcase>
  <testcase name="02_x.X.Illegal" classname="02_x.X.Illegal" time="0.1" status="fail">
    <failure message="ILLEGAL"/>
  </testcase>
  <testcase name="02_x.X.Fails" classname="02_x.X.Fails" time="0.1" status="fail">
    <failure message="Failed"/>
  </testcase>
</testsuite>
)xml";
  EXPECT_EQ(
      rows(read_ctest_junit(xml)),
      (std::vector<Row>{
          {"02_x", "X.Hangs", TestStatus::TimedOut, "did not finish within the time limit (an endless loop?)", "", ""},
          {"02_x", "X.Crashes", TestStatus::Crashed, "crashed (SEGFAULT)\nabout to crash", "", ""},
          {"02_x", "X.Illegal", TestStatus::Crashed, "crashed (ILLEGAL)", "", ""},
          {"02_x", "X.Fails", TestStatus::Failed, "Failed", "", ""},
      }));
}

TEST(CTestJUnit, LongFailureOutputIsCutAtTwelveLines) {
  std::string out = "[ RUN      ] X.Noisy\n";
  for (int i = 1; i <= 15; ++i) out += "line " + std::to_string(i) + "\n";
  out += "[  FAILED  ] X.Noisy (0 ms)\n";
  std::string xml = "<testsuite><testcase name=\"01_a.X.Noisy\" status=\"fail\"><failure message=\"\"/><system-out>" +
                    out + "</system-out></testcase></testsuite>";
  std::vector<std::pair<std::string, TestCase>> cases = read_ctest_junit(xml);
  ASSERT_EQ(cases.size(), 1u);
  EXPECT_EQ(cases[0].second.message,
            "line 1\nline 2\nline 3\nline 4\nline 5\nline 6\nline 7\nline 8\nline 9\nline 10\nline 11\nline 12\n"
            "... (3 more lines)");
}

TEST(CTestJUnit, NameWithoutAModulePrefixHasNoModule) {
  std::vector<std::pair<std::string, TestCase>> cases =
      read_ctest_junit(R"(<testsuite><testcase name="loose" status="run"/></testsuite>)");
  ASSERT_EQ(cases.size(), 1u);
  EXPECT_EQ(cases[0].first, "");
  EXPECT_EQ(cases[0].second.name, "loose");
  EXPECT_EQ(cases[0].second.status, TestStatus::Passed);
}

TEST(CTestJUnit, EmptySuiteHasNoCases) {
  EXPECT_TRUE(
      read_ctest_junit(R"xml(<?xml version="1.0"?><testsuite name="(empty)" tests="0"></testsuite>)xml").empty());
  EXPECT_TRUE(read_ctest_junit("<other/>").empty());
}

TEST(CTestJUnit, MalformedXmlIsAnError) {
  std::string message = diagnostics_of([] { read_ctest_junit("<testsuite><testcase"); });
  EXPECT_EQ(message.rfind("cannot read CTest's JUnit report: ", 0), 0u) << message;
}

// ------------------------------------------------------------ reports

class ReportTest : public ::testing::Test {
 protected:
  ReportTest() {
    hello.folder = "01_hello";
    hello.name = "hello";
    broken.folder = "02_broken";
    broken.name = "broken";
    blocked.folder = "03_blocked";
    blocked.name = "blocked";
    quiet.folder = "04_quiet";
    quiet.name = "quiet";

    ModuleReport h;
    h.module = &hello;
    h.outcome = ModuleOutcome::Tested;
    h.exercises = 2;
    h.exercises_left = 1;
    h.cases = {
        TestCase{"Hello.Passes", TestStatus::Passed, 0.5, "", "", ""},
        TestCase{"Hello.Fails", TestStatus::Failed, 0.25, "t.cpp:6: Failure\nExpected 1", "", ""},
        TestCase{"Hello.NotImpl", TestStatus::NotImplemented, 0.25,
                 "not implemented yet: hello::square (modules/01_hello/hello_dev.cpp:42)", "hello::square",
                 "modules/01_hello/hello_dev.cpp:42"},
        TestCase{"Hello.Crashes", TestStatus::Crashed, 0, "crashed (SEGFAULT)", "", ""},
        TestCase{"Hello.Hangs", TestStatus::TimedOut, 2, "did not finish within the time limit (an endless loop?)", "",
                 ""},
        TestCase{"Hello.Skips", TestStatus::Skipped, 0, "", "", ""},
    };
    ModuleReport b;
    b.module = &broken;
    b.outcome = ModuleOutcome::BuildFailed;
    b.build_output = "modules/02_broken/broken_dev.cpp:9: error: 'y' was not declared";
    ModuleReport k;
    k.module = &blocked;
    k.outcome = ModuleOutcome::Blocked;
    k.blocked_by = "02_broken";
    ModuleReport q;
    q.module = &quiet;
    q.outcome = ModuleOutcome::NoTests;
    report.modules = {h, b, k, q};
  }

  ModuleInfo hello, broken, blocked, quiet;
  TestReport report;
};

TEST_F(ReportTest, CountsAndVerdicts) {
  const ModuleReport& h = report.modules[0];
  EXPECT_EQ(h.passed(), 1);
  EXPECT_EQ(h.failed(), 3);
  EXPECT_EQ(h.not_implemented(), 1);
  EXPECT_EQ(h.count(TestStatus::Skipped), 1);
  EXPECT_EQ(h.total(), 6);
  EXPECT_FALSE(h.ok());
  EXPECT_FALSE(report.modules[1].ok());
  EXPECT_FALSE(report.modules[2].ok());
  EXPECT_TRUE(report.modules[3].ok());
  EXPECT_FALSE(report.ok());
  EXPECT_EQ(report.failed(), 3);
  EXPECT_EQ(report.total(), 6);
  EXPECT_EQ(report.count(TestStatus::Passed), 1);

  ModuleReport only_missing;
  only_missing.module = &hello;
  only_missing.outcome = ModuleOutcome::Tested;
  only_missing.cases = {TestCase{"A.B", TestStatus::NotImplemented, 0, "", "f", "x:1"}};
  EXPECT_FALSE(only_missing.ok());  // unwritten code is not a pass
  only_missing.cases[0].status = TestStatus::Passed;
  EXPECT_TRUE(only_missing.ok());
  EXPECT_TRUE(TestReport{}.ok());
}

TEST_F(ReportTest, JsonHoldsTheWholeReport) {
  json expected = json::parse(R"json({
    "ok": false, "passed": 1, "failed": 3, "not_implemented": 1, "total": 6,
    "modules": [
      {"module": "01_hello", "name": "hello", "outcome": "tested", "passed": 1, "failed": 3,
       "not_implemented": 1, "total": 6, "ok": false, "exercises": 2, "exercises_written": 1,
       "tests": [
         {"name": "Hello.Passes", "status": "passed", "seconds": 0.5},
         {"name": "Hello.Fails", "status": "failed", "seconds": 0.25, "message": "t.cpp:6: Failure\nExpected 1"},
         {"name": "Hello.NotImpl", "status": "not implemented", "seconds": 0.25,
          "message": "not implemented yet: hello::square (modules/01_hello/hello_dev.cpp:42)",
          "function": "hello::square", "location": "modules/01_hello/hello_dev.cpp:42"},
         {"name": "Hello.Crashes", "status": "crashed", "seconds": 0.0, "message": "crashed (SEGFAULT)"},
         {"name": "Hello.Hangs", "status": "timed out", "seconds": 2.0,
          "message": "did not finish within the time limit (an endless loop?)"},
         {"name": "Hello.Skips", "status": "skipped", "seconds": 0.0}
       ]},
      {"module": "02_broken", "name": "broken", "outcome": "build failed", "passed": 0, "failed": 0,
       "not_implemented": 0, "total": 0, "ok": false, "exercises": 0, "exercises_written": 0, "tests": [],
       "build_output": "modules/02_broken/broken_dev.cpp:9: error: 'y' was not declared"},
      {"module": "03_blocked", "name": "blocked", "outcome": "blocked", "passed": 0, "failed": 0,
       "not_implemented": 0, "total": 0, "ok": false, "exercises": 0, "exercises_written": 0, "tests": [],
       "blocked_by": "02_broken"},
      {"module": "04_quiet", "name": "quiet", "outcome": "no tests", "passed": 0, "failed": 0,
       "not_implemented": 0, "total": 0, "ok": true, "exercises": 0, "exercises_written": 0, "tests": []}
    ]
  })json");
  std::string text = to_json(report);
  EXPECT_EQ(json::parse(text), expected) << text;
  EXPECT_TRUE(text.ends_with("}\n"));
}

// Attributes of an element, "name=value" in document order.
std::vector<std::string> attributes(const tinyxml2::XMLElement* e) {
  std::vector<std::string> out;
  for (const tinyxml2::XMLAttribute* a = e->FirstAttribute(); a != nullptr; a = a->Next()) {
    out.push_back(std::string(a->Name()) + "=" + a->Value());
  }
  return out;
}

TEST_F(ReportTest, JUnitHasASuitePerModuleAndACasePerTest) {
  std::string xml = to_junit(report);
  tinyxml2::XMLDocument doc;
  ASSERT_EQ(doc.Parse(xml.c_str()), tinyxml2::XML_SUCCESS) << xml;
  const tinyxml2::XMLElement* suites = doc.FirstChildElement("testsuites");
  ASSERT_NE(suites, nullptr);
  EXPECT_EQ(attributes(suites), (std::vector<std::string>{"name=tinytorch", "tests=6", "failures=4"}));

  std::vector<std::vector<std::string>> suite_attrs;
  for (auto* s = suites->FirstChildElement("testsuite"); s != nullptr; s = s->NextSiblingElement("testsuite")) {
    suite_attrs.push_back(attributes(s));
  }
  EXPECT_EQ(suite_attrs, (std::vector<std::vector<std::string>>{
                             {"name=01_hello", "tests=6", "failures=4", "time=3"},
                             {"name=02_broken", "tests=1", "failures=0", "time=0"},
                             {"name=03_blocked", "tests=1", "failures=0", "time=0"},
                             {"name=04_quiet", "tests=0", "failures=0", "time=0"},
                         }));

  const tinyxml2::XMLElement* hello_suite = suites->FirstChildElement("testsuite");
  std::vector<std::string> cases;
  for (auto* c = hello_suite->FirstChildElement("testcase"); c != nullptr; c = c->NextSiblingElement("testcase")) {
    std::string line = c->Attribute("classname") + std::string(" ") + c->Attribute("name");
    if (auto* f = c->FirstChildElement("failure")) {
      line += std::string(" failure[") + f->Attribute("type") + "]: " + f->Attribute("message") + " | " +
              (f->GetText() ? f->GetText() : "");
    }
    if (c->FirstChildElement("skipped")) line += " skipped";
    cases.push_back(line);
  }
  EXPECT_EQ(cases, (std::vector<std::string>{
                       "01_hello.Hello Passes",
                       "01_hello.Hello Fails failure[failed]: t.cpp:6: Failure | t.cpp:6: Failure\nExpected 1",
                       "01_hello.Hello NotImpl failure[not implemented]: not implemented yet: hello::square "
                       "(modules/01_hello/hello_dev.cpp:42) | not implemented yet: hello::square "
                       "(modules/01_hello/hello_dev.cpp:42)",
                       "01_hello.Hello Crashes failure[crashed]: crashed (SEGFAULT) | crashed (SEGFAULT)",
                       "01_hello.Hello Hangs failure[timed out]: did not finish within the time limit (an endless "
                       "loop?) | did not finish within the time limit (an endless loop?)",
                       "01_hello.Hello Skips skipped",
                   }));

  const tinyxml2::XMLElement* build = hello_suite->NextSiblingElement("testsuite")->FirstChildElement("testcase");
  EXPECT_EQ(attributes(build), (std::vector<std::string>{"classname=02_broken", "name=build"}));
  EXPECT_STREQ(build->FirstChildElement("failure")->Attribute("message"), "the module does not compile");
  EXPECT_STREQ(build->FirstChildElement("failure")->GetText(),
               "modules/02_broken/broken_dev.cpp:9: error: 'y' was not declared");
  const tinyxml2::XMLElement* blocked_case =
      hello_suite->NextSiblingElement("testsuite")->NextSiblingElement("testsuite")->FirstChildElement("testcase");
  EXPECT_STREQ(blocked_case->FirstChildElement("failure")->Attribute("message"), "blocked: 02_broken does not build");
}

TEST_F(ReportTest, LastResultsAreKeptPerModuleAcrossRuns) {
  TempDir build("tito-unit");
  save_last_results(build.path(), report);
  std::map<std::string, LastResult> last = load_last_results(build.path());
  ASSERT_EQ(last.size(), 4u);
  EXPECT_EQ(last["01_hello"].summary, "1/6 passed, 1 not implemented");
  EXPECT_FALSE(last["01_hello"].ok);
  EXPECT_EQ(last["02_broken"].summary, "build failed");
  EXPECT_EQ(last["03_blocked"].summary, "blocked by 02_broken");
  EXPECT_EQ(last["04_quiet"].summary, "no tests");
  EXPECT_TRUE(last["04_quiet"].ok);

  // A later run of one module keeps the others' results.
  TestReport later;
  ModuleReport h;
  h.module = &hello;
  h.outcome = ModuleOutcome::Tested;
  h.cases = {TestCase{"Hello.Passes", TestStatus::Passed, 0, "", "", ""}};
  later.modules = {h};
  save_last_results(build.path(), later);
  last = load_last_results(build.path());
  EXPECT_EQ(last["01_hello"].summary, "1/1 passed");
  EXPECT_TRUE(last["01_hello"].ok);
  EXPECT_EQ(last["02_broken"].summary, "build failed");
}

TEST(LastResults, MissingOrCorruptFileMeansNoResults) {
  TempDir build("tito-unit");
  EXPECT_TRUE(load_last_results(build.path()).empty());
  write_file_atomic(build.path() / "tito" / "last-test.json", "{ not json");
  EXPECT_TRUE(load_last_results(build.path()).empty());
}

TEST(TestRunDescribe, NamesEveryStatusAndOutcome) {
  EXPECT_STREQ(describe(TestStatus::Passed), "passed");
  EXPECT_STREQ(describe(TestStatus::Failed), "failed");
  EXPECT_STREQ(describe(TestStatus::NotImplemented), "not implemented");
  EXPECT_STREQ(describe(TestStatus::Crashed), "crashed");
  EXPECT_STREQ(describe(TestStatus::TimedOut), "timed out");
  EXPECT_STREQ(describe(TestStatus::Skipped), "skipped");
  EXPECT_STREQ(describe(ModuleOutcome::Tested), "tested");
  EXPECT_STREQ(describe(ModuleOutcome::BuildFailed), "build failed");
  EXPECT_STREQ(describe(ModuleOutcome::Blocked), "blocked");
  EXPECT_STREQ(describe(ModuleOutcome::NoTests), "no tests");
}

}  // namespace
}  // namespace tito
