#include "util/env.hpp"

#include <cerrno>
#include <cstdlib>

#include "util/error.hpp"

namespace tito {

std::string env_string(const char* name) {
  const char* v = std::getenv(name);
  return v == nullptr ? "" : v;
}

bool env_flag(const char* name) {
  std::string v = env_string(name);
  return !v.empty() && v != "0" && v != "false";
}

long env_count(const char* name, long fallback) {
  std::string v = env_string(name);
  if (v.empty()) return fallback;
  char* end = nullptr;
  errno = 0;
  long n = std::strtol(v.c_str(), &end, 10);
  if (*end != '\0' || n < 0 || errno == ERANGE || v.front() == '-' || v.front() == '+' || v.front() == ' ') {
    throw Error(std::string(name) + " must be a whole number of at least 0, not '" + v + "'", kExitUsage);
  }
  return n;
}

bool in_ci() { return env_flag("CI"); }

}  // namespace tito
