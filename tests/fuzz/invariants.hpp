// What every fuzz target checks besides "no crash, no hang" (libFuzzer and
// the sanitizers see to those): tito's answer to any input is a value or a
// tito::Error, never another exception (an "internal error" for the user),
// and every diagnostic names the file, a line inside it (or 0 for the whole
// file), and prints as a bounded, escaped text.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <string_view>

#include "util/error.hpp"

namespace tito::fuzz {

[[noreturn]] inline void broken(const std::string& what) {
  std::fprintf(stderr, "\nINVARIANT BROKEN: %s\n", what.c_str());
  std::abort();
}

inline int line_count(std::string_view text) {
  int n = 1;
  for (char c : text) n += c == '\n';
  return n;
}

inline void check(const Diagnostic& d, const std::string& path, std::string_view input, bool line_required) {
  if (d.path != path) broken("diagnostic for '" + d.path + "', not for the file read, '" + path + "'");
  if (d.message.empty()) broken("diagnostic without a message");
  if (d.line < 0 || d.line > line_count(input)) broken("line " + std::to_string(d.line) + " is outside the file: " + d.format());
  if (line_required && d.line == 0) broken("no line in: " + d.format());
  std::string shown = d.format();
  if (shown.size() > 8000) broken("a diagnostic of " + std::to_string(shown.size()) + " bytes");
  for (std::size_t i = 0; i < shown.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(shown[i]);
    if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7F) broken("a raw control byte in: " + d.format());
  }
}

// Runs `action` on `input`, which is the file `path`; any escape but a
// tito::Error whose diagnostics hold is a finding.
template <typename Action>
void expect_value_or_diagnostics(Action&& action, const std::string& path, std::string_view input,
                                 bool line_required) {
  try {
    action();
  } catch (const DiagnosticError& e) {
    if (e.diagnostics().empty()) broken("a DiagnosticError without diagnostics");
    for (const Diagnostic& d : e.diagnostics()) {
      // "the file is empty" and "... and N more" are about the whole file.
      bool whole_file = d.message.starts_with("the dev file is empty") || d.message.starts_with("... and ");
      check(d, path, input, line_required && !whole_file);
    }
  } catch (const Error& e) {
    broken(std::string("a tito::Error without file and line: ") + e.what());
  } catch (const std::exception& e) {
    broken(std::string("an internal error (") + typeid(e).name() + "): " + e.what());
  }
}

}  // namespace tito::fuzz
