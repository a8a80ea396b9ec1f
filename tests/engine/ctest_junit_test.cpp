#include "engine/ctest_junit.hpp"

#include <gtest/gtest.h>

#include "engine/temp_course.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"

namespace tito {
namespace {

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

}  // namespace
}  // namespace tito
