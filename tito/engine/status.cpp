#include "engine/status.hpp"

namespace tito {

Stage stage_of(const ModuleReport& m) {
  if (m.outcome == ModuleOutcome::BuildFailed || m.outcome == ModuleOutcome::Blocked) return Stage::Broken;
  if (m.failed() > 0) return Stage::Failing;
  if (m.not_implemented() == 0) return Stage::Done;
  return m.passed() > 0 || m.written() > 0 ? Stage::InProgress : Stage::NotStarted;
}

const char* describe(Stage stage) {
  switch (stage) {
    case Stage::Done: return "done";
    case Stage::InProgress: return "in progress";
    case Stage::NotStarted: return "not started";
    case Stage::Failing: return "failing";
    case Stage::Broken: return "does not compile";
  }
  return "?";
}

namespace {

bool is_failure(const TestCase& c) {
  return c.status != TestStatus::Passed && c.status != TestStatus::NotImplemented && c.status != TestStatus::Skipped;
}

// The unwritten function that comes first in the dev file: the order a student works in.
const TestCase* first_unwritten(const ModuleReport& m) {
  const TestCase* first = nullptr;
  for (const TestCase& c : m.cases) {
    if (c.status == TestStatus::NotImplemented && (first == nullptr || c.location_line() < first->location_line())) {
      first = &c;
    }
  }
  return first;
}

}  // namespace

std::string next_step(const Course& course, const TestReport& report) {
  for (const ModuleReport& m : report.modules) {
    const std::string& name = m.module->name;
    switch (stage_of(m)) {
      case Stage::Done:
        continue;
      case Stage::Broken:
        if (m.outcome == ModuleOutcome::Blocked) continue;  // the module it waits on comes first
        return "fix the compile errors in " + course.rel(m.module->dev_file()) + ", then `tito sync " + name + "`";
      case Stage::Failing:
        for (const TestCase& c : m.cases) {
          if (is_failure(c)) {
            return "make " + c.name + " pass in " + m.module->folder + ": `tito test " + name + "` shows why it fails";
          }
        }
        break;
      case Stage::InProgress:
      case Stage::NotStarted:
        if (const TestCase* first = first_unwritten(m)) {
          return "write " + first->function + " (" + first->location + "), then `tito test " + name + "`";
        }
        break;
    }
  }
  return "every module passes: well done";
}

}  // namespace tito
