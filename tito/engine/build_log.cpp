#include "engine/build_log.hpp"

#include "util/text.hpp"

namespace tito {

std::string compiler_messages(const std::string& log, bool verbose) {
  if (verbose) return log;
  std::string out;
  bool skip_next = false;
  for (const std::string& line : split_lines(log)) {
    if (skip_next) {
      skip_next = false;
      continue;
    }
    if (line.starts_with("FAILED: ")) {
      skip_next = true;  // the compile command
      continue;
    }
    if ((line.starts_with("[") && line.find('/') != std::string::npos && line.find("] ") != std::string::npos) ||
        line.starts_with("ninja: ") || line.starts_with("Change Dir: ")) {
      continue;
    }
    out += line + "\n";
  }
  return out;
}

}  // namespace tito
