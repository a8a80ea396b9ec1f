// A dev file as a Jupyter notebook (nbformat 4.5): markdown cells as
// markdown, code cells as code with their directives kept.
//
// The course is C++20, so the notebook names xeus-cpp's C++20 kernel
// (xcpp20), not xeus-cling's, whose newest kernel is C++17. Its metadata
// says the limitation plainly: the cells are the dev file's, compiled and
// tested by `tito sync` and `tito test`, never run cell by cell in a kernel;
// run there, the export and test cells need the tinytorch library and
// GoogleTest on the kernel's include and library paths.
#pragma once

#include <string>
#include <string_view>

namespace tito {

// The C++ standard of the course's code, which the notebook's kernel must
// speak (CMakeLists.txt's CMAKE_CXX_STANDARD; a test keeps the two equal).
inline constexpr int kNotebookCxxStandard = 20;

// What the notebook's metadata says about running it.
inline constexpr std::string_view kNotebookLimitation =
    "The cells are the dev file's, compiled as C++20 and tested by `tito sync` and `tito test`; they were not "
    "run cell by cell in a kernel. In xeus-cpp's C++20 kernel, the export and test cells need the tinytorch "
    "library and GoogleTest on the include and library paths. xeus-cling (C++17 at most) cannot run them.";

// Throws DiagnosticError when the dev file is malformed.
std::string dev_file_to_notebook(std::string_view text, const std::string& path);

}  // namespace tito
