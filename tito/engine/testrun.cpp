#include "engine/testrun.hpp"

#include <tinyxml2.h>

#include <chrono>
#include <cstdlib>
#include <ctime>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>

#include "engine/reset.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"
#include "util/json_document.hpp"
#include "util/text.hpp"

namespace tito {

using json = nlohmann::json;

const char* describe(TestStatus status) {
  switch (status) {
    case TestStatus::Passed: return "passed";
    case TestStatus::Failed: return "failed";
    case TestStatus::NotImplemented: return "not implemented";
    case TestStatus::Crashed: return "crashed";
    case TestStatus::TimedOut: return "timed out";
    case TestStatus::Skipped: return "skipped";
  }
  return "?";
}

const char* describe(ModuleOutcome outcome) {
  switch (outcome) {
    case ModuleOutcome::Tested: return "tested";
    case ModuleOutcome::BuildFailed: return "build failed";
    case ModuleOutcome::Blocked: return "blocked";
    case ModuleOutcome::NoTests: return "no tests";
  }
  return "?";
}

int TestCase::location_line() const {
  std::size_t colon = location.rfind(':');
  return colon == std::string::npos ? 0 : std::atoi(location.c_str() + colon + 1);
}

int ModuleReport::count(TestStatus s) const {
  int n = 0;
  for (const TestCase& c : cases) n += c.status == s;
  return n;
}

int ModuleReport::failed() const {
  return count(TestStatus::Failed) + count(TestStatus::Crashed) + count(TestStatus::TimedOut);
}

bool ModuleReport::ok() const {
  return (outcome == ModuleOutcome::Tested || outcome == ModuleOutcome::NoTests) && failed() == 0 &&
         not_implemented() == 0;
}

bool TestReport::ok() const {
  for (const ModuleReport& m : modules) {
    if (!m.ok()) return false;
  }
  return true;
}

int TestReport::count(TestStatus s) const {
  int n = 0;
  for (const ModuleReport& m : modules) n += m.count(s);
  return n;
}

int TestReport::failed() const {
  int n = 0;
  for (const ModuleReport& m : modules) n += m.failed();
  return n;
}

int TestReport::total() const {
  int n = 0;
  for (const ModuleReport& m : modules) n += m.total();
  return n;
}

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

void classify(TestCase& test, const std::string& ctest_message, const std::string& output) {
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
             ctest_message.starts_with("Signal ") || ctest_message.find("ILLEGAL") != std::string::npos ||
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
      classify(test, message, output);
    } else if (tc->FirstChildElement("skipped") != nullptr || status == "notrun" || status == "disabled") {
      test.status = TestStatus::Skipped;
    } else if (status == "fail") {
      classify(test, reasons.contains(full) ? reasons[full] : "Failed", output);
    }
    out.emplace_back(module, std::move(test));
  }
  return out;
}

TestReport run_module_tests(const Course& course, const SyncPlan& plan, Builder& builder, const TestOptions& options,
                            Progress& progress) {
  TestReport report;
  std::vector<std::string> labels;
  for (ModuleBuild& b : build_modules(course, plan, builder, {options.modules, true, false}, progress)) {
    if (!b.selected) continue;
    ModuleReport r;
    r.module = b.module;
    if (const ModuleState* state = plan.state(b.module->folder)) r.exercises = state->exercises;
    r.exercises_left = std::min(r.exercises, exercises_left(course, *b.module));
    switch (b.outcome) {
      case BuildOutcome::Failed:
        r.outcome = ModuleOutcome::BuildFailed;
        r.build_output = std::move(b.output);
        break;
      case BuildOutcome::Blocked:
        r.outcome = ModuleOutcome::Blocked;
        r.blocked_by = b.blocked_by;
        break;
      case BuildOutcome::Built:
      case BuildOutcome::NothingToBuild:
        r.outcome = b.has_tests ? ModuleOutcome::Tested : ModuleOutcome::NoTests;
        if (b.has_tests) labels.push_back(b.module->folder);
        break;
    }
    report.modules.push_back(std::move(r));
  }
  if (labels.empty()) return report;

  progress.step("running tests");
  fs::path junit = builder.build_dir() / "tito" / "ctest-junit.xml";
  fs::create_directories(junit.parent_path());
  fs::remove(junit);
  BuildResult ran = builder.run_ctest(labels, junit, options.timeout_seconds, options.jobs);
  std::optional<std::string> xml = read_file_if_exists(junit);
  if (!xml) throw Error("ctest wrote no report; its output:\n" + ran.output);
  for (auto& [folder, test] : read_ctest_junit(*xml, ran.output)) {
    for (ModuleReport& r : report.modules) {
      if (r.module->folder == folder) r.cases.push_back(std::move(test));
    }
  }
  for (ModuleReport& r : report.modules) {
    if (r.outcome == ModuleOutcome::Tested && r.cases.empty() && !ran.ok) {
      // The program could not even list its tests: it crashed before main's work.
      TestCase c;
      c.name = "(listing the tests)";
      c.status = TestStatus::Crashed;
      c.message = ran.output;
      r.cases.push_back(std::move(c));
    }
  }
  return report;
}

std::string to_json(const TestReport& report) {
  json modules = json::array();
  for (const ModuleReport& m : report.modules) {
    json tests = json::array();
    for (const TestCase& c : m.cases) {
      json t = {{"name", c.name}, {"status", describe(c.status)}, {"seconds", c.seconds}};
      if (!c.message.empty()) t["message"] = c.message;
      if (!c.function.empty()) t["function"] = c.function;
      if (!c.location.empty()) t["location"] = c.location;
      tests.push_back(std::move(t));
    }
    json jm = {{"module", m.module->folder},     {"name", m.module->name},
               {"outcome", describe(m.outcome)}, {"passed", m.passed()},
               {"failed", m.failed()},           {"not_implemented", m.not_implemented()},
               {"total", m.total()},             {"ok", m.ok()},
               {"exercises", m.exercises},       {"exercises_written", m.written()},
               {"tests", std::move(tests)}};
    if (!m.build_output.empty()) jm["build_output"] = m.build_output;
    if (!m.blocked_by.empty()) jm["blocked_by"] = m.blocked_by;
    modules.push_back(std::move(jm));
  }
  json j = {{"ok", report.ok()},
            {"passed", report.count(TestStatus::Passed)},
            {"failed", report.failed()},
            {"not_implemented", report.count(TestStatus::NotImplemented)},
            {"total", report.total()},
            {"modules", std::move(modules)}};
  return dump_json(j, 2) + "\n";
}

std::string to_junit(const TestReport& report) {
  tinyxml2::XMLDocument doc;
  doc.InsertEndChild(doc.NewDeclaration());
  tinyxml2::XMLElement* suites = doc.NewElement("testsuites");
  suites->SetAttribute("name", "tinytorch");
  suites->SetAttribute("tests", report.total());
  suites->SetAttribute("failures", report.failed() + report.count(TestStatus::NotImplemented));
  doc.InsertEndChild(suites);
  for (const ModuleReport& m : report.modules) {
    tinyxml2::XMLElement* suite = suites->InsertNewChildElement("testsuite");
    suite->SetAttribute("name", m.module->folder.c_str());
    int cases = m.total() + (m.outcome == ModuleOutcome::Tested || m.outcome == ModuleOutcome::NoTests ? 0 : 1);
    suite->SetAttribute("tests", cases);
    suite->SetAttribute("failures", m.failed() + m.not_implemented());
    double seconds = 0;
    for (const TestCase& c : m.cases) seconds += c.seconds;
    suite->SetAttribute("time", seconds);
    if (m.outcome == ModuleOutcome::BuildFailed || m.outcome == ModuleOutcome::Blocked) {
      tinyxml2::XMLElement* tc = suite->InsertNewChildElement("testcase");
      tc->SetAttribute("classname", m.module->folder.c_str());
      tc->SetAttribute("name", "build");
      tinyxml2::XMLElement* failure = tc->InsertNewChildElement("failure");
      failure->SetAttribute("message", m.outcome == ModuleOutcome::Blocked
                                           ? ("blocked: " + m.blocked_by + " does not build").c_str()
                                           : "the module does not compile");
      failure->SetText(m.build_output.c_str());
    }
    for (const TestCase& c : m.cases) {
      tinyxml2::XMLElement* tc = suite->InsertNewChildElement("testcase");
      std::size_t dot = c.name.find('.');
      std::string classname = m.module->folder + (dot == std::string::npos ? "" : "." + c.name.substr(0, dot));
      tc->SetAttribute("classname", classname.c_str());
      tc->SetAttribute("name", (dot == std::string::npos ? c.name : c.name.substr(dot + 1)).c_str());
      tc->SetAttribute("time", c.seconds);
      if (c.status == TestStatus::Skipped) {
        tc->InsertNewChildElement("skipped");
      } else if (c.status != TestStatus::Passed) {
        tinyxml2::XMLElement* failure = tc->InsertNewChildElement("failure");
        std::string first = c.message.substr(0, c.message.find('\n'));
        failure->SetAttribute("message", first.c_str());
        failure->SetAttribute("type", describe(c.status));
        failure->SetText(c.message.c_str());
      }
    }
  }
  tinyxml2::XMLPrinter printer;
  doc.Print(&printer);
  return printer.CStr();
}

void save_last_results(const fs::path& build_dir, const TestReport& report) {
  fs::path file = build_dir / "tito" / "last-test.json";
  json j = json::object();
  if (std::optional<std::string> old = read_file_if_exists(file)) {
    try {
      j = json::parse(*old);
    } catch (const json::exception&) {
      j = json::object();
    }
  }
  std::time_t now = std::time(nullptr);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
  for (const ModuleReport& m : report.modules) {
    std::string summary;
    switch (m.outcome) {
      case ModuleOutcome::Tested:
        summary = std::to_string(m.passed()) + "/" + std::to_string(m.total()) + " passed";
        if (m.not_implemented() > 0) summary += ", " + std::to_string(m.not_implemented()) + " not implemented";
        break;
      case ModuleOutcome::BuildFailed: summary = "build failed"; break;
      case ModuleOutcome::Blocked: summary = "blocked by " + m.blocked_by; break;
      case ModuleOutcome::NoTests: summary = "no tests"; break;
    }
    j[m.module->folder] = {{"summary", summary}, {"ok", m.ok()}, {"at", stamp}};
  }
  write_file_atomic(file, j.dump(2) + "\n");
}

std::map<std::string, LastResult> load_last_results(const fs::path& build_dir) {
  std::map<std::string, LastResult> out;
  std::optional<std::string> text = read_file_if_exists(build_dir / "tito" / "last-test.json");
  if (!text) return out;
  try {
    json j = json::parse(*text);
    for (auto& [folder, v] : j.items()) out[folder] = LastResult{v.value("summary", ""), v.value("ok", false)};
  } catch (const json::exception&) {
  }
  return out;
}

}  // namespace tito
