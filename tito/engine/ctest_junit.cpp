#include "engine/ctest_junit.hpp"

#include <tinyxml2.h>

#include <map>
#include <regex>

#include "util/error.hpp"
#include "util/text.hpp"

namespace tito {

namespace {

// The lines of gtest's output that say what went wrong, without the
// RUN/OK banners and the runner's chatter.
std::string failure_lines(const std::string& output) {
  std::vector<std::string> lines = split_lines(output);
  std::vector<std::string> kept;
  bool in_test = false;
  for (const std::string& line : lines) {
    if (line.starts_with("[ RUN      ]")) {
      in_test = true;
      continue;
    }
    if (line.starts_with("[  FAILED  ]") || line.starts_with("[       OK ]") || line.starts_with("[  SKIPPED ]")) {
      in_test = false;
      continue;
    }
    if (in_test && !trim(line).empty()) kept.push_back(line);
  }
  if (kept.size() > 12) {
    std::size_t more = kept.size() - 12;
    kept.resize(12);
    kept.push_back("... (" + std::to_string(more) + " more lines)");
  }
  std::string out;
  for (const std::string& l : kept) out += (out.empty() ? "" : "\n") + l;
  return out;
}

void classify_impl(TestCase& test, const std::string& ctest_message, const std::string& output) {
  static const std::regex not_implemented(R"(not implemented yet: ([^\n"]+?) \(([^()\n"]+:[0-9]+)\))");
  std::smatch match;
  if (std::regex_search(output, match, not_implemented)) {
    test.status = TestStatus::NotImplemented;
    test.function = match[1];
    test.location = match[2];
    test.message = "not implemented yet: " + test.function + " (" + test.location + ")";
    return;
  }
  if (ctest_message == "Timeout") {
    test.status = TestStatus::TimedOut;
    test.message = "did not finish within the time limit (an endless loop?)";
  } else if (ctest_message.find("SEGFAULT") != std::string::npos ||
             ctest_message.find("Exception") != std::string::npos ||
             ctest_message.starts_with("Child ") || ctest_message.starts_with("Subprocess ") ||
             ctest_message.starts_with("Signal ") || ctest_message.starts_with("killed ") ||
             ctest_message.find("ILLEGAL") != std::string::npos ||
             ctest_message.find("INTERRUPT") != std::string::npos ||
             ctest_message.find("NUMERICAL") != std::string::npos ||
             ctest_message.find("Numerical") != std::string::npos ||
             ctest_message.find("OTHER_FAULT") != std::string::npos) {
    test.status = TestStatus::Crashed;
    test.message = "crashed (" + ctest_message + ")";
    std::string detail = failure_lines(output);
    if (!detail.empty()) test.message += "\n" + detail;
  } else {
    test.status = TestStatus::Failed;
    test.message = failure_lines(output);
    if (test.message.empty()) test.message = ctest_message;
  }
}

// "The following tests FAILED:" lines of ctest's output ("  4 - 01_x.X.Y (SEGFAULT)"):
// the full test name -> ctest's reason.
std::map<std::string, std::string> ctest_failure_reasons(const std::string& ctest_output) {
  static const std::regex failed_line(R"(^\s*[0-9]+ - (.+) \(([^()]+)\)\s*$)");
  std::map<std::string, std::string> reasons;
  bool in_list = false;
  for (const std::string& line : split_lines(ctest_output)) {
    if (line.starts_with("The following tests FAILED:")) {
      in_list = true;
      continue;
    }
    std::smatch match;
    if (in_list && std::regex_match(line, match, failed_line)) {
      reasons[match[1]] = match[2];
    } else if (in_list) {
      in_list = false;
    }
  }
  return reasons;
}

}  // namespace

void classify_test(TestCase& test, const std::string& reason, const std::string& output) {
  classify_impl(test, reason, output);
}

std::vector<std::pair<std::string, TestCase>> read_ctest_junit(const std::string& xml,
                                                               const std::string& ctest_output) {
  std::map<std::string, std::string> reasons = ctest_failure_reasons(ctest_output);
  tinyxml2::XMLDocument doc;
  if (doc.Parse(xml.c_str(), xml.size()) != tinyxml2::XML_SUCCESS) {
    throw Error(std::string("cannot read CTest's JUnit report: ") + doc.ErrorStr());
  }
  std::vector<std::pair<std::string, TestCase>> out;
  const tinyxml2::XMLElement* suite = doc.FirstChildElement("testsuite");
  if (suite == nullptr) return out;
  for (const tinyxml2::XMLElement* tc = suite->FirstChildElement("testcase"); tc != nullptr;
       tc = tc->NextSiblingElement("testcase")) {
    std::string full = tc->Attribute("name") ? tc->Attribute("name") : "";
    std::size_t dot = full.find('.');
    std::string module = dot == std::string::npos ? "" : full.substr(0, dot);
    TestCase test;
    test.name = dot == std::string::npos ? full : full.substr(dot + 1);
    test.seconds = tc->DoubleAttribute("time", 0.0);
    std::string status = tc->Attribute("status") ? tc->Attribute("status") : "";
    const tinyxml2::XMLElement* out_el = tc->FirstChildElement("system-out");
    std::string output = out_el && out_el->GetText() ? out_el->GetText() : "";
    if (const tinyxml2::XMLElement* failure = tc->FirstChildElement("failure")) {
      std::string message = failure->Attribute("message") ? failure->Attribute("message") : "";
      if (message.empty()) message = reasons.contains(full) ? reasons[full] : "Failed";
      classify_impl(test, message, output);
    } else if (tc->FirstChildElement("skipped") != nullptr || status == "notrun" || status == "disabled") {
      test.status = TestStatus::Skipped;
    } else if (status == "fail") {
      classify_impl(test, reasons.contains(full) ? reasons[full] : "Failed", output);
    }
    out.emplace_back(module, std::move(test));
  }
  return out;
}

}  // namespace tito
