#include "engine/notebook.hpp"

#include <nlohmann/json.hpp>

#include "engine/devfile.hpp"
#include "util/json_document.hpp"
#include "util/text.hpp"

namespace tito {

namespace {

using ordered = nlohmann::ordered_json;

// nbformat stores source as lines, each but the last ending in '\n'.
ordered source_lines(std::vector<std::string> lines) {
  while (!lines.empty() && trim(lines.back()).empty()) lines.pop_back();
  while (!lines.empty() && trim(lines.front()).empty()) lines.erase(lines.begin());
  ordered out = ordered::array();
  for (std::size_t i = 0; i < lines.size(); ++i) out.push_back(lines[i] + (i + 1 < lines.size() ? "\n" : ""));
  return out;
}

std::string markdown_text(const std::string& line) {
  std::string_view t = line;
  if (t.starts_with("// ")) return std::string(t.substr(3));
  if (trim(t) == "//") return "";
  if (t.starts_with("//")) return std::string(t.substr(2));
  return line;
}

}  // namespace

std::string dev_file_to_notebook(std::string_view text, const std::string& path) {
  DevFile dev = parse_dev_file(text, path);  // validation only: the notebook keeps the text as written
  std::vector<std::string> lines = split_lines(text);
  ordered cells = ordered::array();
  auto add_cell = [&](bool markdown, std::vector<std::string> body) {
    if (markdown) {
      for (std::string& l : body) l = markdown_text(l);
    }
    ordered src = source_lines(std::move(body));
    if (src.empty()) return;
    char id[16];
    std::snprintf(id, sizeof id, "cell-%03zu", cells.size() + 1);
    ordered cell = {{"cell_type", markdown ? "markdown" : "code"}, {"id", id}, {"metadata", ordered::object()}};
    if (!markdown) {
      cell["execution_count"] = nullptr;
      cell["outputs"] = ordered::array();
    }
    cell["source"] = std::move(src);
    cells.push_back(std::move(cell));
  };
  for (std::size_t c = 0; c < dev.cells.size(); ++c) {
    const Cell& cell = dev.cells[c];
    int first = cell.header_line > 0 ? cell.header_line + 1 : 1;
    int next = c + 1 < dev.cells.size() ? dev.cells[c + 1].header_line : static_cast<int>(lines.size()) + 1;
    std::vector<std::string> body(lines.begin() + first - 1, lines.begin() + next - 1);
    add_cell(cell.kind == CellKind::Markdown, std::move(body));
  }
  const std::string standard = std::to_string(kNotebookCxxStandard);
  ordered nb = {
      {"cells", std::move(cells)},
      {"metadata",
       {{"kernelspec", {{"display_name", "C++" + standard + " (xcpp)"}, {"language", "cpp"}, {"name", "xcpp" + standard}}},
        {"language_info",
         {{"codemirror_mode", "text/x-c++src"},
          {"file_extension", ".cpp"},
          {"mimetype", "text/x-c++src"},
          {"name", "c++"},
          {"version", standard}}},
        {"jupytext", {{"formats", "ipynb,cpp:percent"}}},
        {"tinytorch",
         {{"dev_file", path}, {"cxx_standard", "c++" + standard}, {"limitation", std::string(kNotebookLimitation)}}}}},
      {"nbformat", 4},
      {"nbformat_minor", 5}};
  return dump_json(nb, 1) + "\n";
}

}  // namespace tito
