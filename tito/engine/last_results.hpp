// The last test result of each module, kept in the build folder for
// `tito module list` (build/tito/last-test.json).
#pragma once

#include <filesystem>
#include <map>
#include <string>

#include "engine/test_report.hpp"

namespace tito {

struct LastResult {
  std::string summary;  // "52/52 passed", "build failed", ...
  bool ok = false;
};

// The last result of each module folder that was ever tested; an unreadable
// file is an empty history, not an error.
std::map<std::string, LastResult> load_last_results(const std::filesystem::path& build_dir);

// Records the modules of `report`, keeping what is known of the others.
void save_last_results(const std::filesystem::path& build_dir, const TestReport& report);

}  // namespace tito
