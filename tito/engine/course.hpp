// The course: its root folder and its modules, read from modules/NN_name/
// module.json. The one registry of modules: numbers, names and order are
// derived from here and written nowhere else.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tito {

namespace fs = std::filesystem;

struct ModuleInfo {
  std::string folder;       // "01_tensor"
  int number = 0;           // 1
  std::string name;         // "tensor"
  std::string title;        // "Tensor"
  std::string difficulty;   // easy | medium | hard
  std::string pattern;      // the learning pattern, free text
  std::string description;
  std::vector<std::string> required;
  int exercises = -1;       // functions students write; set in a released course's module.json  // "requires" in module.json: names of modules this one builds on
  fs::path dir;             // absolute

  fs::path dev_file() const { return dir / (name + "_dev.cpp"); }
  fs::path tests_dir() const { return dir / "tests"; }
  fs::path manifest() const { return dir / "module.json"; }
};

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

 private:
  fs::path root_;
  std::vector<ModuleInfo> modules_;
};

// The difficulties a module.json may state.
inline constexpr std::string_view kDifficulties[] = {"easy", "medium", "hard"};

}  // namespace tito
