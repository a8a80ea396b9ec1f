// A course on disk in a temporary folder, for the engine tests that read
// module.json files, dev files and generated files.
#pragma once

#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "util/error.hpp"
#include "util/fs.hpp"

namespace tito::testing {

class TempCourse {
 public:
  // An empty course: modules/ and package/CMakeLists.txt, nothing else.
  TempCourse();

  const fs::path& root() const { return dir_.path(); }

  // Writes `content` to `rel` (relative to the root), creating folders.
  void write(const std::string& rel, std::string_view content) const;
  std::string read(const std::string& rel) const;
  bool exists(const std::string& rel) const;
  void remove(const std::string& rel) const;

  // modules/NN_name/module.json, and with `dev` the dev file.
  void add_module(const std::string& folder, const std::vector<std::string>& requires_ = {},
                  const std::string& dev = "") const;

  // Every regular file under `rel` (relative to the root) with its content.
  std::map<std::string, std::string> snapshot(const std::string& rel = "") const;

 private:
  TempDir dir_{"tito-unit"};
};

// A module.json for folder NN_name, with the given requires.
std::string module_json(const std::string& folder, const std::vector<std::string>& requires_ = {});

// The message of the tito::Error that `action` throws, as the user sees it
// ("path:line: message" lines), or "no error".
std::string diagnostics_of(const std::function<void()>& action);

}  // namespace tito::testing
