#include "util/error.hpp"

namespace tito {

std::string Diagnostic::format() const {
  std::string out = path;
  if (line > 0) out += ":" + std::to_string(line);
  out += ": " + message;
  if (!source.empty()) out += "\n    " + source;
  return out;
}

static std::string join_diagnostics(const std::vector<Diagnostic>& diagnostics) {
  std::string out;
  for (const Diagnostic& d : diagnostics) {
    if (!out.empty()) out += '\n';
    out += d.format();
  }
  return out;
}

DiagnosticError::DiagnosticError(std::vector<Diagnostic> diagnostics)
    : Error(join_diagnostics(diagnostics)), diagnostics_(std::move(diagnostics)) {}

}  // namespace tito
