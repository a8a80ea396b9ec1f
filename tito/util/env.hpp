// Reading the environment: one place that decides what "set" means.
#pragma once

#include <string>

namespace tito {

// The variable's value; "" when it is unset.
std::string env_string(const char* name);

// True when the variable is set to anything but "", "0" or "false".
bool env_flag(const char* name);

// The variable as a whole number >= 0, or `fallback` when it is unset or
// empty. Throws tito::Error (exit 2) naming the variable and its value when
// it is something else.
long env_count(const char* name, long fallback);

// True in a CI job (CI set, as GitHub, GitLab and most runners do): logs
// are files there even when a pseudo-terminal is attached.
bool in_ci();

}  // namespace tito
