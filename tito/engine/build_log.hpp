// What a student needs from a build log: the compiler's own words.
#pragma once

#include <string>

namespace tito {

// `log` without ninja's progress lines and the command lines of failed steps
// (all of it with `verbose`).
std::string compiler_messages(const std::string& log, bool verbose);

}  // namespace tito
