// The course: its root folder and its modules, read from modules/NN_name/
// module.json. The one registry of modules: numbers, names and order are
// derived from here and written nowhere else.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/error.hpp"

namespace tito {

namespace fs = std::filesystem;

struct ModuleInfo {
  std::string folder;       // "01_tensor"
  int number = 0;           // 1
  std::string name;         // "tensor"
  std::string title;        // "Tensor"
  std::string difficulty;   // easy | medium | hard
  std::string pattern;      // the learning pattern: "Build → Use → Reflect" (or Analyze, Optimize)
  std::string pattern_reason;  // why this module follows that pattern
  std::string time_estimate;   // an honest estimate for a student: "3-4 hours"
  std::string description;
  std::vector<std::string> required;  // "requires": names of the modules this one builds on
  int exercises = -1;       // functions students write: stated in a released course's module.json, else -1
  fs::path dir;             // absolute

  fs::path dev_file() const { return dir / (name + "_dev.cpp"); }
  fs::path tests_dir() const { return dir / "tests"; }
  fs::path manifest() const { return dir / "module.json"; }
};

// The module.json of folder `folder` (its whole text), checked field by field:
// every problem a diagnostic at `path` (as shown to the user) and, where
// there is one, its line. Keys tito does not know (a misspelt "requries")
// go to `warnings`. Pure: the course's other modules are not looked at.
ModuleInfo parse_module_json(std::string_view text, const std::string& folder, const std::string& path,
                             std::vector<Diagnostic>& warnings);

// The most of a module.json tito reads: one is a few hundred bytes.
inline constexpr std::uintmax_t kMaxManifestBytes = std::uintmax_t{1} << 20;

class Course {
 public:
  // Reads every module.json under root/modules. Throws DiagnosticError for
  // malformed, duplicate or cyclic modules.
  static Course open(const fs::path& root);

  // The nearest folder at or above `start` that holds modules/ and
  // package/CMakeLists.txt. Throws tito::Error when there is none.
  static fs::path find_root(const fs::path& start);

  // The course's root as the user chose it: `root_option` (--root), else
  // TITO_ROOT, else found from the current folder. nullopt only when neither
  // is given and the current folder is in no course; a --root or TITO_ROOT
  // that names no course throws.
  static std::optional<fs::path> locate_root(const std::string& root_option);

  const fs::path& root() const { return root_; }

  // Modules in build order: every module after the ones it requires, ties by number.
  const std::vector<ModuleInfo>& modules() const { return modules_; }

  // A module by name ("tensor"), folder ("01_tensor") or number ("01", "1").
  // Throws tito::Error naming the known modules when none matches.
  const ModuleInfo& module(std::string_view ref) const;

  // The modules named (all when `refs` is empty), plus with `with_requires`
  // everything they build on, in build order.
  std::vector<const ModuleInfo*> select(const std::vector<std::string>& refs, bool with_requires) const;

  // `path` relative to the root, for messages.
  std::string rel(const fs::path& path) const;

  // The next free module number.
  int next_number() const;

  // What is odd but not wrong in the module.json files (unknown keys).
  const std::vector<Diagnostic>& warnings() const { return warnings_; }

 private:
  fs::path root_;
  std::vector<ModuleInfo> modules_;
  std::vector<Diagnostic> warnings_;
};

// The difficulties a module.json may state.
inline constexpr std::string_view kDifficulties[] = {"easy", "medium", "hard"};

}  // namespace tito
