#include "engine/test_report.hpp"

#include <algorithm>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "util/json_document.hpp"

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

// "modules/01_tensor/tensor_dev.cpp" -> "01_tensor".
std::string module_of(const std::string& file) {
  std::size_t first = file.find('/');
  if (first == std::string::npos) return "";
  std::size_t second = file.find('/', first + 1);
  return file.substr(first + 1, second == std::string::npos ? std::string::npos : second - first - 1);
}

// The unwritten functions of `cases`, each once, in dev-file order.
std::vector<Unwritten> group(const std::vector<const TestCase*>& cases) {
  std::vector<Unwritten> out;
  for (const TestCase* c : cases) {
    std::string file = c->location.substr(0, c->location.rfind(':'));
    auto it = std::find_if(out.begin(), out.end(),
                           [&](const Unwritten& u) { return u.function == c->function && u.file == file; });
    if (it == out.end()) it = out.insert(out.end(), Unwritten{c->function, file, {}, 0});
    if (std::find(it->lines.begin(), it->lines.end(), c->location_line()) == it->lines.end()) {
      it->lines.push_back(c->location_line());
    }
    ++it->tests;
  }
  for (Unwritten& u : out) std::sort(u.lines.begin(), u.lines.end());
  std::stable_sort(out.begin(), out.end(), [](const Unwritten& a, const Unwritten& b) {
    return std::make_pair(a.file, a.lines.front()) < std::make_pair(b.file, b.lines.front());
  });
  return out;
}

}  // namespace

std::vector<WaitingTests> waiting_tests(const TestReport& report) {
  std::vector<WaitingTests> out;
  for (const ModuleReport& m : report.modules) {
    std::vector<const TestCase*> own;
    std::vector<std::pair<std::string, std::vector<const TestCase*>>> others;
    for (const TestCase& c : m.cases) {
      if (c.status != TestStatus::NotImplemented) continue;
      std::string owner = module_of(c.location);
      if (owner == m.module->folder) {
        own.push_back(&c);
        continue;
      }
      auto it = std::find_if(others.begin(), others.end(), [&](const auto& o) { return o.first == owner; });
      if (it == others.end()) it = others.insert(others.end(), {owner, {}});
      it->second.push_back(&c);
    }
    if (own.empty() && others.empty()) continue;
    WaitingTests w;
    w.module = m.module;
    w.tests = m.not_implemented();
    w.own = group(own);
    std::sort(others.begin(), others.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    for (const auto& [owner, cases] : others) w.elsewhere.emplace_back(owner, group(cases));
    out.push_back(std::move(w));
  }
  return out;
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

}  // namespace tito
