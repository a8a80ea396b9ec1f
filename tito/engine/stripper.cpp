#include "engine/stripper.hpp"

#include <set>

#include "engine/devfile.hpp"
#include "util/text.hpp"

namespace tito {

namespace {

// What happens to each line of the input.
enum class Fate { Keep, Drop, Stub };

void add_secret(Secrets& secrets, const std::string& line) {
  std::string_view t = trim(line);
  if (!t.empty()) secrets.lines.emplace_back(t);
}

// Renders the kept lines and the stubs; `stub_lines` gets the output lines of each stub's first
// and last line, in order.
std::string render(const std::vector<std::string>& lines, const std::vector<Fate>& fate,
                   const std::vector<std::string>& stub_for, bool trailing_newline,
                   std::vector<std::pair<int, int>>* stub_lines = nullptr) {
  std::string out;
  int line = 0;  // output lines so far
  for (std::size_t i = 0; i < lines.size(); ++i) {
    if (fate[i] == Fate::Drop) continue;
    if (fate[i] == Fate::Stub) {
      std::string indent(indentation(lines[i]));
      out += indent + std::string(kYourCodeHere) + "\n" + indent + stub_for[i] + "\n" + indent +
             std::string(kEndYourCode) + "\n";
      if (stub_lines) stub_lines->emplace_back(line + 1, line + 3);
      line += 3;
      continue;
    }
    out += lines[i] + "\n";
    ++line;
  }
  if (!trailing_newline && !out.empty()) out.pop_back();
  return out;
}

void drop_block(const MarkerBlock& b, std::vector<Fate>& fate, const std::vector<std::string>& lines,
                Secrets& secrets) {
  for (int l = b.begin_line; l <= b.end_line; ++l) {
    fate[l - 1] = Fate::Drop;
    if (l != b.begin_line && l != b.end_line) add_secret(secrets, lines[l - 1]);
  }
}

}  // namespace

StudentVersion strip_dev_file(std::string_view text, const std::string& path, const StripOptions& options) {
  DevFile dev = parse_dev_file(text, path);  // validates every marker first
  std::vector<std::string> lines = split_lines(text);
  std::vector<Fate> fate(lines.size(), Fate::Keep);
  std::vector<std::string> stub_for(lines.size());
  StudentVersion out;

  // Cell extents: from its header to the line before the next header.
  std::vector<int> starts;
  for (const Cell& cell : dev.cells) starts.push_back(cell.header_line > 0 ? cell.header_line : cell.body_line);
  for (std::size_t c = 0; c < dev.cells.size(); ++c) {
    const Cell& cell = dev.cells[c];
    if (cell.hidden) {
      int first = starts[c];
      int last = c + 1 < dev.cells.size() ? starts[c + 1] - 1 : static_cast<int>(lines.size());
      for (int l = first; l <= last; ++l) {
        fate[l - 1] = Fate::Drop;
        if (l > cell.header_line && !is_directive_line(lines[l - 1])) add_secret(out.secrets, lines[l - 1]);
      }
      continue;
    }
    for (const MarkerBlock& b : cell.hidden_tests) drop_block(b, fate, lines, out.secrets);
    if (options.keep_solutions) {
      for (const MarkerBlock& b : cell.solutions) {
        fate[b.begin_line - 1] = Fate::Drop;
        fate[b.end_line - 1] = Fate::Drop;
      }
      continue;
    }
    for (const MarkerBlock& b : cell.solutions) {
      drop_block(b, fate, lines, out.secrets);
      fate[b.begin_line - 1] = Fate::Stub;
      stub_for[b.begin_line - 1] = b.stub ? *b.stub : std::string(kDefaultStub);
      out.regions.push_back(StubRegion{b.begin_line, b.end_line, 0, 0});
      ++out.exercises;
    }
  }
  std::vector<std::pair<int, int>> stub_lines;
  out.text = render(lines, fate, stub_for, text.empty() || text.back() == '\n', &stub_lines);
  for (std::size_t i = 0; i < out.regions.size(); ++i) {  // cells and their blocks are in file order
    out.regions[i].student_begin_line = stub_lines[i].first;
    out.regions[i].student_end_line = stub_lines[i].second;
  }
  out.near_misses = std::move(dev.warnings);
  return out;
}

StudentVersion strip_test_file(std::string_view text, const std::string& path) {
  StudentVersion out;
  std::vector<MarkerBlock> blocks = scan_test_file_markers(text, path, &out.near_misses);
  std::vector<std::string> lines = split_lines(text);
  std::vector<Fate> fate(lines.size(), Fate::Keep);
  for (const MarkerBlock& b : blocks) drop_block(b, fate, lines, out.secrets);
  out.text = render(lines, fate, std::vector<std::string>(lines.size()), text.empty() || text.back() == '\n');
  return out;
}

}  // namespace tito
