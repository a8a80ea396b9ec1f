#include "engine/test_report.hpp"

#include <gtest/gtest.h>
#include <tinyxml2.h>

#include <nlohmann/json.hpp>

#include "engine/junit_report.hpp"
#include "engine/last_results.hpp"
#include "engine/temp_course.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"

namespace tito {
namespace {

using json = nlohmann::json;
using testing::diagnostics_of;

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

TEST(WaitingTests, GroupsUnwrittenFunctionsUnderTheirModuleEachOnce) {
  ModuleInfo tensor, activations;
  tensor.folder = "01_tensor";
  activations.folder = "02_activations";
  auto ni = [](const std::string& test, const std::string& function, int line, const std::string& folder) {
    std::string file = "modules/" + folder + "/" + folder.substr(3) + "_dev.cpp";
    return TestCase{test, TestStatus::NotImplemented, 0, "", function, file + ":" + std::to_string(line)};
  };
  ModuleReport t;
  t.module = &tensor;
  t.outcome = ModuleOutcome::Tested;
  t.cases = {ni("T.A", "full", 832, "01_tensor"), ni("T.B", "tensor", 802, "01_tensor"),
             ni("T.C", "tensor", 797, "01_tensor"), ni("T.D", "tensor", 802, "01_tensor"),
             TestCase{"T.E", TestStatus::Passed, 0, "", "", ""}};
  ModuleReport a;
  a.module = &activations;
  a.outcome = ModuleOutcome::Tested;
  a.cases = {ni("A.A", "tensor", 797, "01_tensor"), ni("A.B", "relu", 40, "02_activations"),
             ni("A.C", "full", 832, "01_tensor")};
  TestReport report;
  report.modules = {t, a};

  std::vector<WaitingTests> w = waiting_tests(report);
  ASSERT_EQ(w.size(), 2u);
  auto text = [](const std::vector<Unwritten>& us) {
    std::vector<std::string> out;
    for (const Unwritten& u : us) {
      std::string lines;
      for (int l : u.lines) lines += " " + std::to_string(l);
      out.push_back(u.function + " @" + u.file + lines + " x" + std::to_string(u.tests));
    }
    return out;
  };
  EXPECT_EQ(w[0].module, &tensor);
  EXPECT_EQ(w[0].tests, 4);
  EXPECT_EQ(text(w[0].own), (std::vector<std::string>{"tensor @modules/01_tensor/tensor_dev.cpp 797 802 x3",
                                                      "full @modules/01_tensor/tensor_dev.cpp 832 x1"}));
  EXPECT_TRUE(w[0].elsewhere.empty());
  EXPECT_EQ(w[1].tests, 3);
  EXPECT_EQ(text(w[1].own), (std::vector<std::string>{"relu @modules/02_activations/activations_dev.cpp 40 x1"}));
  ASSERT_EQ(w[1].elsewhere.size(), 1u);
  EXPECT_EQ(w[1].elsewhere[0].first, "01_tensor");
  EXPECT_EQ(text(w[1].elsewhere[0].second), (std::vector<std::string>{"tensor @modules/01_tensor/tensor_dev.cpp 797 x1",
                                                                     "full @modules/01_tensor/tensor_dev.cpp 832 x1"}));
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
