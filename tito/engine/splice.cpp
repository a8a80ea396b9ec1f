#include "engine/splice.hpp"

#include <algorithm>

#include "engine/devfile.hpp"
#include "engine/stripper.hpp"
#include "util/text.hpp"

namespace tito {

namespace {

constexpr std::size_t kMaxTamperReports = 12;

// A line that compiles to something: not blank, not a comment. Directives and cell headers count:
// they decide what is compiled where.
bool is_code(std::string_view line) {
  std::string_view t = trim(line);
  if (t.empty()) return false;
  if (!t.starts_with("//")) return true;
  return is_directive_line(t) || t.starts_with("// %%");
}

// A run of lines [first, last) of a file, 0-based.
struct Span {
  std::size_t first = 0, last = 0;
};

// The code lines of `lines` in `span`, as indices.
std::vector<std::size_t> code_lines(const std::vector<std::string>& lines, Span span) {
  std::vector<std::size_t> out;
  for (std::size_t i = span.first; i < span.last; ++i) {
    if (is_code(lines[i])) out.push_back(i);
  }
  return out;
}

// A line without its trailing `//` comment (one outside string and character literals), trimmed.
std::string_view code_part(std::string_view line) {
  char quote = 0;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quote != 0) {
      if (c == '\\') {
        ++i;
      } else if (c == quote) {
        quote = 0;
      }
    } else if (c == '"' || c == '\'') {
      quote = c;
    } else if (c == '/' && i + 1 < line.size() && line[i + 1] == '/') {
      return trim(line.substr(0, i));
    }
  }
  return trim(line);
}

// Two lines compile the same, up to spacing at their ends and a trailing comment.
bool same_code(std::string_view a, std::string_view b) { return code_part(a) == code_part(b); }

// The last code line above `line` (0-based) in `lines`: what names an exercise ("int add(...) {").
std::string context_above(const std::vector<std::string>& lines, std::size_t line) {
  for (std::size_t i = line; i-- > 0;) {
    if (is_code(lines[i]) && !trim(lines[i]).starts_with("//")) return std::string(trim(lines[i]));
  }
  return "";
}

// Where each line of a dev file's text is a test: cells with //| test.
std::vector<bool> test_lines(std::string_view text, const std::string& path, std::size_t count) {
  std::vector<bool> out(count, false);
  DevFile dev = parse_dev_file(text, path);
  for (std::size_t c = 0; c < dev.cells.size(); ++c) {
    if (dev.cells[c].role != CellRole::Test) continue;
    const int first = dev.cells[c].header_line > 0 ? dev.cells[c].header_line : dev.cells[c].body_line;
    int last = static_cast<int>(count);
    if (c + 1 < dev.cells.size()) {
      const Cell& next = dev.cells[c + 1];
      last = (next.header_line > 0 ? next.header_line : next.body_line) - 1;
    }
    for (int l = std::max(first, 1); l <= last && l <= static_cast<int>(count); ++l) out[l - 1] = true;
  }
  return out;
}

// Reports how the code lines of the student's span differ from the instructor's: a line changed,
// missing or added, at the student's line.
void compare_given(const std::vector<std::string>& given, Span given_span, const std::vector<bool>& is_test,
                   const std::vector<std::string>& student, Span student_span, const std::string& student_path,
                   std::vector<Diagnostic>& out, std::size_t& unreported) {
  const std::vector<std::size_t> a = code_lines(given, given_span);
  const std::vector<std::size_t> b = code_lines(student, student_span);
  // The common start and end, then a longest common subsequence of what is left.
  std::size_t head = 0;
  while (head < a.size() && head < b.size() && same_code(given[a[head]], student[b[head]])) ++head;
  std::size_t tail = 0;
  while (tail < a.size() - head && tail < b.size() - head &&
         same_code(given[a[a.size() - 1 - tail]], student[b[b.size() - 1 - tail]])) {
    ++tail;
  }
  const std::size_t n = a.size() - head - tail, m = b.size() - head - tail;
  if (n == 0 && m == 0) return;
  std::vector<std::vector<int>> lcs(n + 1, std::vector<int>(m + 1, 0));
  for (std::size_t i = n; i-- > 0;) {
    for (std::size_t j = m; j-- > 0;) {
      lcs[i][j] = same_code(given[a[head + i]], student[b[head + j]]) ? lcs[i + 1][j + 1] + 1
                                                                      : std::max(lcs[i + 1][j], lcs[i][j + 1]);
    }
  }
  auto report = [&](int line, std::string message, std::string source) {
    if (out.size() >= kMaxTamperReports) {
      ++unreported;
      return;
    }
    out.push_back(Diagnostic{student_path, line, std::move(message), std::move(source)});
  };
  auto what = [&](std::size_t given_index) { return is_test[given_index] ? "a line of a visible test" : "given code"; };
  std::size_t i = 0, j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && same_code(given[a[head + i]], student[b[head + j]])) {
      ++i, ++j;
    } else if (i < n && j < m && lcs[i + 1][j + 1] == lcs[i][j]) {  // one line for another
      const std::size_t g = a[head + i];
      report(static_cast<int>(b[head + j] + 1),
             std::string(what(g)) + " was changed; the course's line is `" + std::string(trim(given[g])) + "`",
             student[b[head + j]]);
      ++i, ++j;
    } else if (i < n && (j == m || lcs[i + 1][j] >= lcs[i][j + 1])) {
      const std::size_t g = a[head + i];
      const int at = j < m ? static_cast<int>(b[head + j] + 1)
                           : static_cast<int>(head + j > 0 ? b[head + j - 1] + 1 : student_span.first + 1);
      report(at, std::string(what(g)) + " is missing: `" + std::string(trim(given[g])) + "`", "");
      ++i;
    } else {
      report(static_cast<int>(b[head + j] + 1),
             "code added outside the regions (only what is between `// YOUR CODE HERE` and `// END YOUR CODE` is "
             "graded)",
             student[b[head + j]]);
      ++j;
    }
  }
}

// The student's regions: pairs of 0-based marker lines. Throws at the first marker out of place.
std::vector<std::pair<std::size_t, std::size_t>> find_regions(const std::vector<std::string>& lines,
                                                              const std::string& path) {
  constexpr std::size_t kNone = static_cast<std::size_t>(-1);
  std::vector<std::pair<std::size_t, std::size_t>> regions;
  std::size_t open = kNone;  // the line of the region being read
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const std::string_view t = trim(lines[i]);
    if (t == kYourCodeHere) {
      if (open != kNone) {
        throw DiagnosticError(
            {Diagnostic{path, static_cast<int>(i + 1),
                        "a second `// YOUR CODE HERE` before the `// END YOUR CODE` of the one at "
                        "line " +
                            std::to_string(open + 1) + ": every region ends with `// END YOUR CODE`; put the line back",
                        lines[i]}},
            "this module cannot be graded");
      }
      open = i;
    } else if (t == kEndYourCode) {
      if (open == kNone) {
        throw DiagnosticError({Diagnostic{path, static_cast<int>(i + 1),
                                          "`// END YOUR CODE` without a `// YOUR CODE HERE` above it: every region "
                                          "starts with `// YOUR CODE HERE`; put the line back",
                                          lines[i]}},
                              "this module cannot be graded");
      }
      regions.emplace_back(open, i);
      open = kNone;
    }
  }
  if (open != kNone) {
    throw DiagnosticError(
        {Diagnostic{path, static_cast<int>(open + 1),
                    "this region has no `// END YOUR CODE` after it; put the line back after your code", lines[open]}},
        "this module cannot be graded");
  }
  return regions;
}

// The student's text as lines: a byte-order mark skipped, Windows line endings accepted.
std::vector<std::string> student_lines(std::string_view text, const std::string& path) {
  if (text.starts_with("\xEF\xBB\xBF")) text.remove_prefix(3);
  if (text.empty())
    throw DiagnosticError({Diagnostic{path, 0, "the file is empty", ""}}, "this module cannot be graded");
  std::vector<std::string> lines = split_lines(text);
  for (std::string& line : lines) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find('\0') != std::string::npos) {
      throw DiagnosticError({Diagnostic{path, static_cast<int>(&line - lines.data() + 1),
                                        "a NUL byte: this is not a "
                                        "text file",
                                        ""}},
                            "this module cannot be graded");
    }
  }
  return lines;
}

bool is_stub(const std::vector<std::string>& lines, std::size_t begin, std::size_t end, const std::string& stub) {
  std::vector<std::string_view> body;
  for (std::size_t i = begin + 1; i < end; ++i) {
    if (!trim(lines[i]).empty()) body.push_back(trim(lines[i]));
  }
  return body.size() == 1 && body[0] == trim(stub);
}

}  // namespace

int Splice::written() const {
  return static_cast<int>(
      std::count_if(regions.begin(), regions.end(), [](const SplicedRegion& r) { return r.written; }));
}

Splice splice_submission(std::string_view instructor, const std::string& instructor_path, std::string_view student,
                         const std::string& student_path) {
  const StudentVersion version = strip_dev_file(instructor, instructor_path);
  const std::vector<std::string> given = split_lines(version.text);
  const std::vector<std::string> source = split_lines(instructor);
  const std::vector<std::string> lines = student_lines(student, student_path);
  const std::vector<bool> is_test = test_lines(version.text, instructor_path, given.size());

  // The instructor's given text must not itself hold marker lines: they would be taken for regions.
  std::size_t markers_in_given = 0;
  for (const std::string& l : given) markers_in_given += trim(l) == kYourCodeHere || trim(l) == kEndYourCode;
  if (markers_in_given != 2 * version.regions.size()) {
    throw Error(instructor_path +
                ": a line `// YOUR CODE HERE` or `// END YOUR CODE` outside an exercise; grading "
                "cannot tell it from a student's region. Reword it (e.g. put it in backquotes within a sentence)");
  }

  const auto regions = find_regions(lines, student_path);
  if (regions.size() != version.regions.size()) {
    std::vector<std::string> theirs;
    for (const auto& [begin, end] : regions) theirs.push_back(context_above(lines, begin));
    std::string missing;
    for (const StubRegion& r : version.regions) {
      const std::string context = context_above(given, static_cast<std::size_t>(r.student_begin_line - 1));
      auto found = std::find(theirs.begin(), theirs.end(), context);
      if (found != theirs.end()) {
        theirs.erase(found);
      } else if (missing.empty()) {
        missing = "; the first without one is under `" + context + "`";
      }
    }
    throw DiagnosticError({Diagnostic{student_path, 0,
                                      std::to_string(regions.size()) + " region" + (regions.size() == 1 ? "" : "s") +
                                          " between `// YOUR CODE HERE` and `// END YOUR CODE`, and the module has " +
                                          std::to_string(version.regions.size()) + " exercises" + missing +
                                          ": put the marker lines back around your code",
                                      ""}},
                          "this module cannot be graded");
  }

  Splice out;
  std::size_t unreported = 0;
  for (std::size_t i = 0; i <= regions.size(); ++i) {
    // The given text between region i-1 and region i, in both files.
    const Span g{
        i == 0 ? 0 : static_cast<std::size_t>(version.regions[i - 1].student_end_line),
        i < regions.size() ? static_cast<std::size_t>(version.regions[i].student_begin_line - 1) : given.size()};
    const Span s{i == 0 ? 0 : regions[i - 1].second + 1, i < regions.size() ? regions[i].first : lines.size()};
    compare_given(given, g, is_test, lines, s, student_path, out.tampering, unreported);
  }
  if (unreported > 0) {
    out.tampering.push_back(
        Diagnostic{student_path, 0, "... and " + std::to_string(unreported) + " more changed lines", ""});
  }

  // The instructor's file, each solution block's body replaced by the student's region.
  std::size_t next_line = 0;  // 0-based, in the instructor's file
  for (std::size_t i = 0; i < version.regions.size(); ++i) {
    const StubRegion& r = version.regions[i];
    const auto [begin, end] = regions[i];
    for (; next_line < static_cast<std::size_t>(r.begin_line); ++next_line) out.text += source[next_line] + "\n";
    const int spliced_line = 1 + static_cast<int>(std::count(out.text.begin(), out.text.end(), '\n'));
    for (std::size_t l = begin + 1; l < end; ++l) out.text += lines[l] + "\n";
    next_line = static_cast<std::size_t>(r.end_line - 1);  // the END SOLUTION line comes next
    const std::string& stub = given[static_cast<std::size_t>(r.student_begin_line)];  // the line under YOUR CODE HERE
    out.regions.push_back(SplicedRegion{r.begin_line, static_cast<int>(begin + 1), context_above(lines, begin),
                                        !is_stub(lines, begin, end, stub), spliced_line,
                                        static_cast<int>(end - begin - 1)});
  }
  for (; next_line < source.size(); ++next_line) out.text += source[next_line] + "\n";
  if (!instructor.empty() && instructor.back() != '\n' && !out.text.empty()) out.text.pop_back();
  return out;
}

int Splice::student_line(int spliced_line) const {
  for (const SplicedRegion& r : regions) {
    if (spliced_line >= r.spliced_line && spliced_line < r.spliced_line + r.lines) {
      return r.student_line + 1 + (spliced_line - r.spliced_line);
    }
  }
  return 0;
}

}  // namespace tito
