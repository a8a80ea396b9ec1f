#include "util/error.hpp"

#include "util/text.hpp"

namespace tito {

std::string Diagnostic::format() const {
  std::string out = printable(path, 300);
  if (line > 0) out += ":" + std::to_string(line);
  out += ": " + printable(message, 2000);
  if (!source.empty()) out += "\n    " + printable(source, 160);
  return out;
}

namespace {

std::string join_diagnostics(const std::vector<Diagnostic>& diagnostics) {
  std::string out;
  for (const Diagnostic& d : diagnostics) {
    if (!out.empty()) out += '\n';
    out += d.format();
  }
  return out;
}

}  // namespace

DiagnosticError::DiagnosticError(std::vector<Diagnostic> diagnostics, std::string outcome)
    : Error(join_diagnostics(diagnostics)), diagnostics_(std::move(diagnostics)), outcome_(std::move(outcome)) {}

void DiagnosticList::add(int line, std::string message, std::string source) {
  if (kept_.size() >= limit_) {
    ++dropped_;
    return;
  }
  kept_.push_back(Diagnostic{path_, line, std::move(message), std::move(source)});
}

std::vector<Diagnostic> DiagnosticList::take() {
  std::vector<Diagnostic> out = std::move(kept_);
  if (dropped_ > 0) {
    out.push_back(Diagnostic{path_, 0,
                             "... and " + std::to_string(dropped_) + " more problem" + (dropped_ == 1 ? "" : "s") +
                                 " not shown (fix these first)",
                             ""});
  }
  kept_.clear();
  dropped_ = 0;
  return out;
}

}  // namespace tito
