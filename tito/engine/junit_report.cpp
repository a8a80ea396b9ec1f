#include "engine/junit_report.hpp"

#include <tinyxml2.h>

namespace tito {

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

}  // namespace tito
