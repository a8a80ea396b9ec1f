// The dev file: a module's single source of truth, in jupytext's percent
// format for C++ ("// %%" code cells, "// %% [markdown]" markdown cells) with
// nbdev-style directives ("//| export") and nbgrader-style markers
// ("// BEGIN SOLUTION"). Parsing is pure: text in, DevFile out.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/error.hpp"

namespace tito {

enum class CellKind { Markdown, Code };

// What a code cell's directives make of it.
enum class CellRole {
  Scratch,     // no directive: exploration, not exported
  Export,      // //| export       -> public header
  ExportImpl,  // //| export impl  -> compiled source
  Test,        // //| test         -> the module's test program
  Demo,        // //| demo         -> the module's demo program
};

struct Directive {
  std::string key;    // "export"
  std::string value;  // "impl", "core/tensor", or empty
  int line = 0;
};

// A BEGIN ... END block inside a cell. Line numbers are the dev file's.
struct MarkerBlock {
  int begin_line = 0;
  int end_line = 0;
  std::optional<std::string> stub;  // "// BEGIN SOLUTION stub: return {};"
};

struct Cell {
  CellKind kind = CellKind::Code;
  CellRole role = CellRole::Scratch;
  bool hidden = false;               // //| hide: instructor only
  int header_line = 0;               // the "// %%" line; 0 for text before the first marker
  int body_line = 0;                 // dev-file line of lines[0]
  std::vector<Directive> directives;
  std::vector<std::string> lines;    // the body: directives removed, blank lines trimmed at both ends
  std::vector<MarkerBlock> solutions;
  std::vector<MarkerBlock> hidden_tests;
};

struct DevFile {
  std::string path;                       // as shown in messages
  std::optional<std::string> default_exp; // "core/tensor"
  int default_exp_line = 0;
  std::vector<Cell> cells;
  // What is probably a mistake but not an error: near-miss markers. Sync
  // says them; release refuses the file.
  std::vector<Diagnostic> warnings;

  // The cells with `role`, in file order.
  std::vector<const Cell*> cells_with(CellRole role) const;
};

// Parses a dev file. Throws DiagnosticError listing the problems found
// ("path:line: message", the first few dozen and a count); a DevFile is
// returned only when there is none. A UTF-8 byte-order mark is skipped; a
// NUL byte, a bare carriage return and an empty file are errors.
DevFile parse_dev_file(std::string_view text, const std::string& path);

// The most of a dev file tito reads: the longest module is ~100 kB.
inline constexpr std::uintmax_t kMaxDevFileBytes = std::uintmax_t{8} << 20;

// Why `text` cannot be a course source file (a NUL byte, a bare carriage
// return), as a diagnostic at its line; nullopt when it can.
std::optional<Diagnostic> text_problem(std::string_view text, const std::string& path);

// The marker a comment line was probably meant to be ("END SOLUTION" for
// "// END SOLUTON", "// end solution" or "// BEGIN  SOLUTION"), or nullopt
// for a real marker and for any other line. A near-miss is not a marker:
// what it was meant to hide would reach students.
std::optional<std::string> near_miss_marker(std::string_view line);

// The warning for a near-miss of `meant`.
std::string near_miss_message(const std::string& meant);

// Marker recognition, shared with the stripper and the test-file scanner.
enum class MarkerKind { None, BeginSolution, EndSolution, BeginHiddenTests, EndHiddenTests };
MarkerKind marker_kind(std::string_view line);

// True for a directive line ("//| export").
bool is_directive_line(std::string_view line);

// The text after "stub:" on a BEGIN SOLUTION line, if any.
std::optional<std::string> marker_stub(std::string_view line);

// Checks BEGIN/END marker pairing in a plain C++ file (a module's tests/*.cpp).
// Returns the hidden-test blocks; throws DiagnosticError on imbalance and on
// a text_problem. Near-miss markers go to `warnings` when given.
std::vector<MarkerBlock> scan_test_file_markers(std::string_view text, const std::string& path,
                                                std::vector<Diagnostic>* warnings = nullptr);

}  // namespace tito
