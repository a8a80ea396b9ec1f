#include "engine/devfile.hpp"

#include <algorithm>
#include <array>
#include <cctype>

#include "engine/braces.hpp"
#include "util/error.hpp"
#include "util/text.hpp"

namespace tito {

std::vector<const Cell*> DevFile::cells_with(CellRole role) const {
  std::vector<const Cell*> out;
  for (const Cell& cell : cells) {
    if (cell.kind == CellKind::Code && cell.role == role) out.push_back(&cell);
  }
  return out;
}

MarkerKind marker_kind(std::string_view line) {
  // The marker opens the comment ("// BEGIN SOLUTION"), so prose that merely
  // mentions a marker is not one.
  std::string_view t = trim(line);
  if (!t.starts_with("//")) return MarkerKind::None;
  t = trim(t.substr(2));
  if (t.starts_with("BEGIN SOLUTION")) return MarkerKind::BeginSolution;
  if (t.starts_with("END SOLUTION")) return MarkerKind::EndSolution;
  if (t.starts_with("BEGIN HIDDEN TESTS")) return MarkerKind::BeginHiddenTests;
  if (t.starts_with("END HIDDEN TESTS")) return MarkerKind::EndHiddenTests;
  return MarkerKind::None;
}

bool is_directive_line(std::string_view line) { return trim(line).starts_with("//|"); }

std::optional<std::string> marker_stub(std::string_view line) {
  std::size_t at = line.find("BEGIN SOLUTION");
  if (at == std::string_view::npos) return std::nullopt;
  std::string_view rest = trim(line.substr(at + std::string_view("BEGIN SOLUTION").size()));
  if (!rest.starts_with("stub:")) return std::nullopt;
  return std::string(trim(rest.substr(5)));
}

namespace {

// The letters of `s`, upper-cased: "End  solUton" -> "ENDSOLUTON".
std::string letters(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (std::isalpha(static_cast<unsigned char>(c))) out += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  return out;
}

}  // namespace

std::optional<std::string> near_miss_marker(std::string_view line) {
  std::string_view t = trim(line);
  if (!t.starts_with("//") || t.starts_with("//|") || marker_kind(line) != MarkerKind::None) return std::nullopt;
  std::string said = letters(t.substr(2, 40));
  for (std::string_view marker : {"BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS"}) {
    std::string want = letters(marker);
    // The comment's first letters against the marker's, one letter more or less.
    for (std::size_t n = want.size() - 1; n <= want.size() + 1 && n <= said.size(); ++n) {
      if (edit_distance(said.substr(0, n), want) <= 2) return std::string(marker);
    }
  }
  return std::nullopt;
}

std::string near_miss_message(const std::string& meant) {
  return "looks like '// " + meant + "' but is not that marker, so it is kept as a comment (and what it should hide "
         "reaches students): write '// " + meant + "' exactly, or reword it";
}

std::optional<Diagnostic> text_problem(std::string_view text, const std::string& path) {
  if (std::size_t nul = text.find('\0'); nul != std::string_view::npos) {
    return Diagnostic{path, line_at(text, nul), "a NUL byte: a course source is text; is this the right file?", ""};
  }
  for (std::size_t cr = text.find('\r'); cr != std::string_view::npos; cr = text.find('\r', cr + 1)) {
    if (cr + 1 == text.size() || text[cr + 1] != '\n') {
      return Diagnostic{path, line_at(text, cr),
                        "a carriage return without a line feed (old Mac line endings): save the file with LF (or "
                        "CRLF) line endings",
                        ""};
    }
  }
  return std::nullopt;
}

namespace {

// The longest part of a default_exp path, and the most parts: file names
// stay far below the file system's 255 bytes.
constexpr std::size_t kMaxExportPart = 64;
constexpr std::size_t kMaxExportParts = 4;

const std::array<std::string, 5> kDirectives = {"default_exp", "export", "test", "demo", "hide"};

bool is_cell_header(std::string_view line) { return line.starts_with("// %%"); }

bool is_directive(std::string_view line) { return trim(line).starts_with("//|"); }

// Why `s` cannot be a default_exp path, or "" when it can.
std::string export_path_problem(std::string_view s) {
  std::string got = "'" + printable(s, 60) + "'";
  std::size_t start = 0;
  std::size_t parts = 0;
  while (true) {
    std::size_t slash = s.find('/', start);
    std::string_view part = s.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
    if (!is_snake_case(part)) return "default_exp needs a path of snake_case names, like 'core/tensor'; got " + got;
    if (part.size() > kMaxExportPart) {
      return "default_exp " + got + " has a name of " + std::to_string(part.size()) + " characters; at most " +
             std::to_string(kMaxExportPart) + " (each becomes a folder or file name)";
    }
    if (++parts > kMaxExportParts) {
      return "default_exp " + got + " has more than " + std::to_string(kMaxExportParts) + " parts";
    }
    if (slash == std::string_view::npos) return "";
    start = slash + 1;
  }
}

// A UTF-8 byte-order mark, which some editors put first.
constexpr std::string_view kBom = "\xEF\xBB\xBF";

class Parser {
 public:
  Parser(std::string_view text, const std::string& path) : text_(text), path_(path), problems_(path) {
    if (text_.starts_with(kBom)) text_.remove_prefix(kBom.size());
  }

  DevFile parse() {
    DevFile file;
    file.path = path_;
    if (std::optional<Diagnostic> p = text_problem(text_, path_)) throw DiagnosticError({*p});
    if (text_.find_first_not_of(" \t\r\n\f\v") == std::string_view::npos) {
      throw DiagnosticError({Diagnostic{path_, 0,
                                        "the dev file is empty: a module's dev file holds at least its "
                                        "'//| default_exp' cell (templates/module/ shows a whole one)",
                                        ""}});
    }
    lines_ = split_lines(text_);
    split_cells(file);
    for (Cell& cell : file.cells) {
      if (cell.kind == CellKind::Code) {
        read_directives(cell, file);
        read_markers(cell);
        check_braces(cell);
      } else {
        for (std::size_t i = 0; i < cell.lines.size(); ++i) {
          if (is_directive(cell.lines[i])) {
            error(cell.body_line + static_cast<int>(i),
                  "directive in a markdown cell (directives go at the top of a code cell, after '// %%')");
          }
        }
      }
    }
    if (!file.default_exp) {
      for (const Cell& cell : file.cells) {
        if (cell.role == CellRole::Export || cell.role == CellRole::ExportImpl) {
          error(cell.directives.front().line,
                "exported cell but the file has no '//| default_exp' (add e.g. '//| default_exp core/tensor' "
                "to the first code cell)");
        }
      }
    }
    for (Cell& cell : file.cells) trim_blank_lines(cell);
    if (!problems_.empty()) throw DiagnosticError(problems_.take());
    file.warnings = std::move(warnings_);
    return file;
  }

 private:
  std::string source_line(int line) const {
    return line >= 1 && line <= static_cast<int>(lines_.size()) ? std::string(trim(lines_[line - 1])) : "";
  }

  void error(int line, std::string message) { problems_.add(line, std::move(message), source_line(line)); }

  void warn(int line, std::string message) {
    if (warnings_.size() < 30) warnings_.push_back(Diagnostic{path_, line, std::move(message), source_line(line)});
  }

  void split_cells(DevFile& file) {
    Cell* current = nullptr;
    for (int i = 0; i < static_cast<int>(lines_.size()); ++i) {
      const std::string& line = lines_[i];
      if (is_cell_header(line)) {
        Cell cell;
        std::string_view rest = trim(std::string_view(line).substr(5));
        if (rest.starts_with("[markdown]") || rest.starts_with("[md]")) {
          cell.kind = CellKind::Markdown;
        } else if (!rest.empty() && rest.front() == '[') {
          error(i + 1, "unknown cell type '" + printable(rest, 60) + "' (use '// %%' or '// %% [markdown]')");
        }
        cell.header_line = i + 1;
        cell.body_line = i + 2;
        file.cells.push_back(std::move(cell));
        current = &file.cells.back();
        continue;
      }
      if (current == nullptr) {
        if (trim(line).empty()) continue;
        Cell preamble;  // jupytext keeps text before the first marker as a cell of its own
        preamble.kind = CellKind::Code;
        preamble.body_line = i + 1;
        file.cells.push_back(std::move(preamble));
        current = &file.cells.back();
      }
      current->lines.push_back(line);
    }
  }

  void read_directives(Cell& cell, DevFile& file) {
    std::size_t i = 0;
    while (i < cell.lines.size() && trim(cell.lines[i]).empty()) ++i;
    std::vector<std::string> body(cell.lines.begin(), cell.lines.begin() + static_cast<long>(i));
    int first_body = -1;
    for (; i < cell.lines.size(); ++i) {
      int line_no = cell.body_line + static_cast<int>(i);
      const std::string& line = cell.lines[i];
      if (!is_directive(line)) break;
      std::string_view rest = trim(trim(line).substr(3));
      std::size_t space = rest.find_first_of(" \t");
      Directive d;
      d.key = std::string(rest.substr(0, space));
      d.value = space == std::string_view::npos ? "" : std::string(trim(rest.substr(space)));
      d.line = line_no;
      apply_directive(d, cell, file);
      cell.directives.push_back(std::move(d));
    }
    first_body = static_cast<int>(i);
    for (std::size_t j = i; j < cell.lines.size(); ++j) {
      if (is_directive(cell.lines[j])) {
        error(cell.body_line + static_cast<int>(j),
              "directive after code: directives must be the first lines of their cell");
      }
    }
    cell.lines.erase(cell.lines.begin(), cell.lines.begin() + first_body);
    cell.body_line += first_body;
  }

  void apply_directive(const Directive& d, Cell& cell, DevFile& file) {
    auto set_role = [&](CellRole role) {
      if (cell.role != CellRole::Scratch) {
        error(d.line, "a cell takes one of export, export impl, test and demo; this one already has another");
        return;
      }
      cell.role = role;
    };
    if (d.key == "default_exp") {
      if (file.default_exp) {
        error(d.line, "second '//| default_exp' (the first is at line " + std::to_string(file.default_exp_line) +
                          "; a dev file exports to one place)");
      } else if (std::string why = export_path_problem(d.value); !why.empty()) {
        error(d.line, why);
      } else {
        file.default_exp = d.value;
        file.default_exp_line = d.line;
      }
    } else if (d.key == "export") {
      if (d.value.empty()) {
        set_role(CellRole::Export);
      } else if (d.value == "impl") {
        set_role(CellRole::ExportImpl);
      } else {
        error(d.line, "unknown export target '" + printable(d.value, 60) +
                          "' (use '//| export' for the header or '//| export impl' "
                      "for the compiled source)");
      }
    } else if (d.key == "test" || d.key == "demo" || d.key == "hide") {
      if (!d.value.empty()) error(d.line, "'//| " + d.key + "' takes no value; got '" + printable(d.value, 60) + "'");
      if (d.key == "test") set_role(CellRole::Test);
      if (d.key == "demo") set_role(CellRole::Demo);
      if (d.key == "hide") cell.hidden = true;
    } else {
      std::string message = "unknown directive '//| " + printable(d.key, 60) + "'";
      std::string best = nearest(d.key, {kDirectives.begin(), kDirectives.end()});
      if (!best.empty()) message += " (did you mean '//| " + best + "'?)";
      message += "; known: default_exp, export, export impl, test, demo, hide";
      error(d.line, message);
    }
    if (cell.hidden && (cell.role == CellRole::Export || cell.role == CellRole::ExportImpl)) {
      error(d.line, "a '//| hide' cell cannot be exported: the student's library would miss it");
    }
  }

  void read_markers(Cell& cell) {
    std::optional<MarkerBlock> solution;
    std::optional<MarkerBlock> hidden;
    bool misplaced_hidden = false;  // a BEGIN HIDDEN TESTS already reported: its END is no second error
    for (std::size_t i = 0; i < cell.lines.size(); ++i) {
      int line_no = cell.body_line + static_cast<int>(i);
      switch (marker_kind(cell.lines[i])) {
        case MarkerKind::None:
          if (std::optional<std::string> meant = near_miss_marker(cell.lines[i])) {
            warn(line_no, near_miss_message(*meant));
          }
          break;
        case MarkerKind::BeginSolution:
          if (solution) {
            error(line_no, "BEGIN SOLUTION inside the solution block opened at line " +
                               std::to_string(solution->begin_line) + " (blocks cannot nest)");
          } else if (hidden) {
            error(line_no, "BEGIN SOLUTION inside the hidden tests opened at line " + std::to_string(hidden->begin_line));
          } else {
            solution = MarkerBlock{line_no, 0, marker_stub(cell.lines[i])};
          }
          break;
        case MarkerKind::EndSolution:
          if (!solution) {
            error(line_no, "END SOLUTION without BEGIN SOLUTION");
          } else {
            solution->end_line = line_no;
            cell.solutions.push_back(*solution);
            solution.reset();
          }
          break;
        case MarkerKind::BeginHiddenTests:
          if (cell.role != CellRole::Test) {
            error(line_no, "BEGIN HIDDEN TESTS outside a '//| test' cell");
            misplaced_hidden = true;
          } else if (hidden) {
            error(line_no, "BEGIN HIDDEN TESTS inside the hidden tests opened at line " +
                               std::to_string(hidden->begin_line) + " (blocks cannot nest)");
          } else if (solution) {
            error(line_no, "BEGIN HIDDEN TESTS inside the solution block opened at line " +
                               std::to_string(solution->begin_line));
          } else {
            hidden = MarkerBlock{line_no, 0, std::nullopt};
          }
          break;
        case MarkerKind::EndHiddenTests:
          if (!hidden) {
            if (!misplaced_hidden) error(line_no, "END HIDDEN TESTS without BEGIN HIDDEN TESTS");
            misplaced_hidden = false;
          } else {
            hidden->end_line = line_no;
            cell.hidden_tests.push_back(*hidden);
            hidden.reset();
          }
          break;
      }
    }
    int last = cell.body_line + static_cast<int>(cell.lines.size()) - 1;
    if (solution) {
      error(solution->begin_line, "BEGIN SOLUTION is not closed by an END SOLUTION before its cell ends at line " +
                                      std::to_string(last));
    }
    if (hidden) {
      error(hidden->begin_line, "BEGIN HIDDEN TESTS is not closed by an END HIDDEN TESTS before its cell ends at line " +
                                    std::to_string(last));
    }
  }

  void check_braces(const Cell& cell) {
    if (cell.role != CellRole::Export && cell.role != CellRole::ExportImpl) return;
    if (std::optional<BraceProblem> p = find_unbalanced_brace(cell.lines)) {
      error(cell.body_line + p->line_index, "unbalanced braces in an exported cell: " + p->message);
      return;
    }
    // The student version replaces each block by its stub: what a block
    // opens it must close, or the student's file would not compile.
    for (const MarkerBlock& b : cell.solutions) {
      auto first = cell.lines.begin() + (b.begin_line - cell.body_line) + 1;
      auto last = cell.lines.begin() + (b.end_line - cell.body_line);
      std::vector<std::string> inner(first, last);
      if (std::optional<BraceProblem> p = find_unbalanced_brace(inner)) {
        error(b.begin_line + 1 + p->line_index,
              "unbalanced braces in the solution block opened at line " + std::to_string(b.begin_line) + ": " +
                  p->message + " (students get the block's stub instead, so it must balance on its own)");
      } else if (b.stub) {
        if (std::optional<BraceProblem> q = find_unbalanced_brace({*b.stub})) {
          error(b.begin_line, "unbalanced braces in the stub: " + q->message);
        }
      }
    }
  }

  static void trim_blank_lines(Cell& cell) {
    while (!cell.lines.empty() && trim(cell.lines.back()).empty()) cell.lines.pop_back();
    std::size_t leading = 0;
    while (leading < cell.lines.size() && trim(cell.lines[leading]).empty()) ++leading;
    cell.lines.erase(cell.lines.begin(), cell.lines.begin() + static_cast<long>(leading));
    cell.body_line += static_cast<int>(leading);
  }

  std::string_view text_;
  std::vector<std::string> lines_;
  std::string path_;
  DiagnosticList problems_;
  std::vector<Diagnostic> warnings_;
};

}  // namespace

DevFile parse_dev_file(std::string_view text, const std::string& path) { return Parser(text, path).parse(); }

std::vector<MarkerBlock> scan_test_file_markers(std::string_view text, const std::string& path,
                                                std::vector<Diagnostic>* warnings) {
  if (std::optional<Diagnostic> p = text_problem(text, path)) throw DiagnosticError({*p});
  std::vector<std::string> lines = split_lines(text);
  DiagnosticList diagnostics(path);
  std::vector<MarkerBlock> blocks;
  std::optional<MarkerBlock> open;
  auto error = [&](int line, std::string message) {
    diagnostics.add(line, std::move(message), std::string(trim(lines[line - 1])));
  };
  for (int i = 0; i < static_cast<int>(lines.size()); ++i) {
    if (std::optional<std::string> meant = near_miss_marker(lines[i]); meant && warnings != nullptr) {
      warnings->push_back(Diagnostic{path, i + 1, near_miss_message(*meant), std::string(trim(lines[i]))});
    }
    switch (marker_kind(lines[i])) {
      case MarkerKind::BeginHiddenTests:
        if (open) {
          error(i + 1, "BEGIN HIDDEN TESTS inside the hidden tests opened at line " + std::to_string(open->begin_line) +
                           " (blocks cannot nest)");
        } else {
          open = MarkerBlock{i + 1, 0, std::nullopt};
        }
        break;
      case MarkerKind::EndHiddenTests:
        if (!open) {
          error(i + 1, "END HIDDEN TESTS without BEGIN HIDDEN TESTS");
        } else {
          open->end_line = i + 1;
          blocks.push_back(*open);
          open.reset();
        }
        break;
      case MarkerKind::BeginSolution:
      case MarkerKind::EndSolution:
        error(i + 1, "solution markers belong in the dev file, not in a test file");
        break;
      case MarkerKind::None:
        break;
    }
  }
  if (open) error(open->begin_line, "BEGIN HIDDEN TESTS is never closed by an END HIDDEN TESTS");
  if (!diagnostics.empty()) throw DiagnosticError(diagnostics.take());
  return blocks;
}

}  // namespace tito
