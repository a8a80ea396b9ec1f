// The course's milestones: programs under milestones/NN_name/ that train a
// historic network with the student's library. The one registry of them is
// milestones/*/milestone.json; numbers, names and requirements are read
// from there and written nowhere else.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "engine/course.hpp"
#include "engine/exporter.hpp"

namespace tito {

namespace fs = std::filesystem;

struct MilestoneInfo {
  std::string folder;  // "03_mlp"
  int number = 0;      // 3
  std::string name;    // "mlp"
  std::string title;   // "Multi-layer perceptron"
  int year = 0;        // 1986
  std::string description;
  std::vector<std::string> required;  // "requires": the modules it uses (what they require comes along)
  std::vector<std::string> faster_with;  // "faster_with": linked in when they pass their tests, never required
  std::vector<std::string> data;      // datasets of data/datasets.json it reads
  std::string target;                 // "≥ 88% test accuracy on Fashion-MNIST"
  std::vector<std::string> sources;   // relative to dir; "main.cpp" when milestone.json lists none
  fs::path dir;                       // absolute

  fs::path manifest() const { return dir / "milestone.json"; }
  // "Multi-layer perceptron (1986)"
  std::string heading() const;
};

// Where milestones live, relative to the course root, and the harness folder in it.
inline constexpr std::string_view kMilestonesDir = "milestones";
inline constexpr std::string_view kHarnessFolder = "common";

class Milestones {
 public:
  // Reads every milestones/NN_name/milestone.json of the course. Throws
  // DiagnosticError (file:line: message) for malformed, duplicate or
  // misnamed milestones, unknown modules in "requires", unknown datasets in
  // "data" (checked against data/datasets.json) and missing sources. A
  // course without milestones/ has none.
  static Milestones load(const Course& course);

  // In number order.
  const std::vector<MilestoneInfo>& all() const { return milestones_; }
  bool present() const { return present_; }  // the course has a milestones/ folder

  // A milestone by name ("mlp"), folder ("03_mlp") or number ("3", "03").
  // Throws tito::Error (exit 2) with a did-you-mean and the list otherwise.
  const MilestoneInfo& find(std::string_view ref) const;

 private:
  std::vector<MilestoneInfo> milestones_;
  bool present_ = false;
};

// The modules a milestone needs: those it requires and everything they
// require, in build order.
std::vector<const ModuleInfo*> required_modules(const Course& course, const MilestoneInfo& milestone);

// The modules that make a milestone faster ("faster_with") and everything they require, in
// build order, without those required_modules already names.
std::vector<const ModuleInfo*> faster_modules(const Course& course, const MilestoneInfo& milestone);

// The program's CMake target and file name: "milestone_mlp".
std::string milestone_target(const MilestoneInfo& milestone);
// The same program linked with the "faster_with" modules too: "milestone_cnn_faster".
std::string faster_milestone_target(const MilestoneInfo& milestone);

// What tito sync generates for the milestones:
//   package/generated/milestones.cmake           tinytorch_add_milestone(...) for each
//   package/generated/milestones/NN_name.cpp     milestone::info(), the facts of its milestone.json
std::vector<GeneratedFile> export_milestones(const std::vector<MilestoneInfo>& milestones);

// What package/CMakeLists.txt writes as milestones.cmake before the first sync.
inline constexpr std::string_view kMilestonesPlaceholder = "# placeholder: run `tito sync` to list the milestones\n";

}  // namespace tito
