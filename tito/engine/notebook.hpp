// A dev file as a Jupyter notebook (nbformat 4.5, xeus-cling C++17 kernel):
// markdown cells as markdown, code cells as code with their directives kept.
#pragma once

#include <string>
#include <string_view>

namespace tito {

// Throws DiagnosticError when the dev file is malformed.
std::string dev_file_to_notebook(std::string_view text, const std::string& path);

}  // namespace tito
