// What several verbs print the same way: compile errors of failed modules.
#pragma once

#include <vector>

#include "cli/context.hpp"
#include "engine/build_modules.hpp"

namespace tito::cli {

// Prints compiler errors of failed modules to stderr; true when all built.
bool report_builds(Context& ctx, const std::vector<ModuleBuild>& builds);

}  // namespace tito::cli
