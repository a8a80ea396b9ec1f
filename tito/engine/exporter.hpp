// Export: a parsed dev file in, the generated library sources out (pure).
//
// For a module 01_tensor with `//| default_exp core/tensor`:
//   package/generated/include/tinytorch/core/tensor.hpp   //| export cells
//   package/generated/src/core/tensor.cpp                 //| export impl cells
//   package/generated/tests/01_tensor.cpp                 //| test cells
//   package/generated/demos/01_tensor.cpp                 //| demo cells, in a main()
//   package/generated/modules/01_tensor.cmake             the module's targets
// and, for the course, package/generated/modules.cmake including them in order.
// Every file starts with a banner naming its source and a checksum of the
// rest, so a later sync can tell its own output from a hand edit.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "engine/course.hpp"
#include "engine/devfile.hpp"

namespace tito {

// Where generated files live, relative to the course root.
inline constexpr std::string_view kGeneratedDir = "package/generated";

struct GeneratedFile {
  std::string path;     // relative to the course root
  std::string content;
};

struct ModuleExport {
  std::vector<GeneratedFile> files;
  bool has_library = false;  // the module exports a header (and maybe sources)
  bool has_tests = false;    // the module has a test program
  bool has_demo = false;     // the module has demo cells
};

// The generated files of one module. `test_files` are the module's tests/*.cpp,
// relative to the course root. The #line directives name the dev file
// relative to the course root ("modules/01_tensor/tensor_dev.cpp"), as the
// student knows it: compiler errors point there, a debugger run from the
// course root finds it, and two copies of a course generate the same bytes,
// so ccache shares their objects (the Builder maps the root out of the rest).
ModuleExport export_module(const ModuleInfo& module, const DevFile& dev, const std::vector<std::string>& test_files);

// package/generated/modules.cmake: every module's .cmake, in build order.
GeneratedFile export_course_manifest(const std::vector<ModuleInfo>& modules);

// `body` behind tito's banner: a `comment` line naming `source` (relative to
// the course root) and a checksum of `body`, as every generated file starts.
std::string banner_file(std::string_view comment, const std::string& source, const std::string& body);

// What a file's first line says about it.
struct Banner {
  std::string source;  // the file it was generated from, relative to the course root
  bool intact = false; // the checksum matches: nobody edited the file since tito wrote it
};

// The banner of `content`, or nullopt when it does not start with one.
std::optional<Banner> read_banner(std::string_view content);

// What package/CMakeLists.txt writes as modules.cmake before the first sync.
inline constexpr std::string_view kManifestPlaceholder = "# placeholder: run `tito sync` to list the modules\n";

}  // namespace tito
