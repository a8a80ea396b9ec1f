#include "engine/last_results.hpp"

#include <ctime>
#include <nlohmann/json.hpp>
#include <optional>

#include "util/fs.hpp"

namespace tito {

namespace fs = std::filesystem;
using json = nlohmann::json;

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
