#include "engine/milestone.hpp"

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>

#include "util/error.hpp"
#include "util/fs.hpp"
#include "util/text.hpp"

namespace tito {

namespace {

using json = nlohmann::json;

constexpr std::string_view kKeys[] = {"name", "number", "title",  "year",   "description", "requires",
                                      "faster_with", "data", "target", "sources"};

int line_at(const std::string& text, std::size_t at) {
  if (at == std::string::npos) return 1;
  return 1 + static_cast<int>(std::count(text.begin(), text.begin() + static_cast<long>(at), '\n'));
}

// Edit distance, for did-you-mean hints.
int distance(std::string_view a, std::string_view b) {
  std::vector<int> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = static_cast<int>(j);
  for (std::size_t i = 1; i <= a.size(); ++i) {
    int diagonal = row[0];
    row[0] = static_cast<int>(i);
    for (std::size_t j = 1; j <= b.size(); ++j) {
      int above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

// The candidate closest to `word`, when it is close enough to be a typo.
std::optional<std::string> closest(std::string_view word, const std::vector<std::string>& candidates) {
  std::optional<std::string> best;
  int best_distance = std::max<int>(2, static_cast<int>(word.size()) / 3) + 1;
  for (const std::string& c : candidates) {
    int d = distance(word, c);
    if (d < best_distance) {
      best_distance = d;
      best = c;
    }
  }
  return best;
}

std::string did_you_mean(std::string_view word, const std::vector<std::string>& candidates) {
  std::optional<std::string> best = closest(word, candidates);
  return best ? " (did you mean '" + *best + "'?)" : "";
}

std::string joined(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& i : items) out += (out.empty() ? "" : ", ") + i;
  return out;
}

bool is_milestone_folder(const std::string& name) {
  return name.size() > 3 && std::isdigit(static_cast<unsigned char>(name[0])) &&
         std::isdigit(static_cast<unsigned char>(name[1])) && name[2] == '_' && is_snake_case(name.substr(3));
}

bool one_line(const std::string& s) {
  return std::none_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20; });
}

// A relative path that stays inside its folder.
bool is_inner_path(const std::string& p) {
  if (p.empty() || p.front() == '/') return false;
  for (const fs::path& part : fs::path(p)) {
    if (part == ".." || part == ".") return false;
  }
  return true;
}

// The dataset names of data/datasets.json (empty when there is none).
std::optional<std::vector<std::string>> dataset_names(const fs::path& root, std::vector<Diagnostic>& diagnostics) {
  std::optional<std::string> text = read_file_if_exists(root / "data" / "datasets.json");
  if (!text) return std::nullopt;
  std::vector<std::string> names;
  try {
    json j = json::parse(*text);
    if (j.is_object() && j.contains("datasets") && j["datasets"].is_object()) {
      for (const auto& [name, entry] : j["datasets"].items()) names.push_back(name);
    }
  } catch (const json::parse_error&) {
    diagnostics.push_back(Diagnostic{"data/datasets.json", 0, "invalid JSON (`tito data list` says where)", ""});
  }
  return names;
}

class MilestoneReader {
 public:
  MilestoneReader(const fs::path& root, std::vector<Diagnostic>& diagnostics)
      : root_(root), diagnostics_(diagnostics) {}

  std::optional<MilestoneInfo> read(const fs::path& dir) {
    MilestoneInfo m;
    m.folder = dir.filename().string();
    m.dir = dir;
    m.number = std::stoi(m.folder.substr(0, 2));
    path_ = display_path(m.manifest(), root_);
    std::optional<std::string> text = read_file_if_exists(m.manifest());
    if (!text) {
      error(0, "missing milestone.json (every milestone folder has one; see milestones/README.md)");
      return std::nullopt;
    }
    text_ = *text;
    json j;
    try {
      j = json::parse(text_);
    } catch (const json::parse_error& e) {
      std::size_t byte = std::min<std::size_t>(e.byte == 0 ? 0 : e.byte - 1, text_.size());
      std::string what = e.what();
      std::size_t at = what.find("syntax error");
      error(line_at(text_, byte), "invalid JSON: " + (at == std::string::npos ? what : what.substr(at)));
      return std::nullopt;
    }
    if (!j.is_object()) {
      error(1, "milestone.json must hold a JSON object");
      return std::nullopt;
    }
    std::size_t before = diagnostics_.size();
    std::vector<std::string> keys(std::begin(kKeys), std::end(kKeys));
    for (const auto& [key, value] : j.items()) {
      if (std::find(keys.begin(), keys.end(), key) == keys.end()) {
        error(line_of_key(key),
              "unknown key \"" + key + "\"" + did_you_mean(key, keys) + "; milestone.json holds " + joined(keys));
      }
    }
    m.name = text_field(j, "name", true);
    m.title = text_field(j, "title", true);
    m.target = text_field(j, "target", true);
    m.description = text_field(j, "description", false);
    if (!j.contains("number")) {
      error(1, "missing \"number\"");
    } else if (!j["number"].is_number_integer()) {
      error(line_of_key("number"), "\"number\" must be a whole number");
    } else if (j["number"].get<int>() != m.number) {
      error(line_of_key("number"), "\"number\" is " + std::to_string(j["number"].get<int>()) + " but the folder is " +
                                       m.folder + "; make them agree");
    }
    if (!j.contains("year")) {
      error(1, "missing \"year\" (when the network was first published, e.g. 1986)");
    } else if (!j["year"].is_number_integer()) {
      error(line_of_key("year"), "\"year\" must be a whole number, e.g. 1986");
    } else {
      m.year = j["year"].get<int>();
    }
    if (!m.name.empty() && m.name != m.folder.substr(3)) {
      error(line_of_key("name"), "\"name\" is '" + m.name + "' but the folder is " + m.folder + "; make them agree");
    }
    m.required = list_field(j, "requires");
    if (j.contains("requires") && j["requires"].is_array() && m.required.empty()) {
      error(line_of_key("requires"), "\"requires\" must name the modules the milestone uses");
    } else if (!j.contains("requires")) {
      error(1, "missing \"requires\" (the modules the milestone uses, e.g. [\"losses\"])");
    }
    if (j.contains("faster_with")) {
      m.faster_with = list_field(j, "faster_with");
      if (j["faster_with"].is_array() && m.faster_with.empty()) {
        error(line_of_key("faster_with"),
              "\"faster_with\" must name modules that make the milestone faster (or leave it out)");
      }
      for (const std::string& f : m.faster_with) {
        if (std::find(m.required.begin(), m.required.end(), f) != m.required.end()) {
          error(line_of_key("faster_with"), "'" + f + "' is in both \"requires\" and \"faster_with\"; keep it in one");
        }
      }
    }
    m.data = list_field(j, "data");
    if (j.contains("sources")) {
      m.sources = list_field(j, "sources");
      if (j["sources"].is_array() && m.sources.empty()) {
        error(line_of_key("sources"), "\"sources\" must list the program's .cpp files (or leave it out for main.cpp)");
      }
    } else {
      m.sources = {"main.cpp"};
    }
    for (const std::string& s : m.sources) {
      int line = j.contains("sources") ? line_of_item("sources", s) : 0;
      if (!is_inner_path(s) || !s.ends_with(".cpp")) {
        error(line, "source '" + s + "' must be a .cpp file inside " + m.folder + "/");
      } else if (!fs::is_regular_file(dir / s)) {
        error(line, j.contains("sources") ? "source '" + s + "' does not exist (" + display_path(dir / s, root_) + ")"
                                          : "missing main.cpp (the milestone's program; or list its files in "
                                            "\"sources\")");
      }
    }
    texts_[m.folder] = text_;
    if (diagnostics_.size() != before) return std::nullopt;
    return m;
  }

  // The line of `item` in the list under `key` of the milestone's file.
  int line_in(const std::string& folder, const std::string& key, const std::string& item) {
    const std::string& text = texts_[folder];
    std::size_t at = text.find("\"" + key + "\"");
    return line_at(text, at == std::string::npos ? at : text.find(double_quoted(item), at));
  }

 private:
  int line_of_key(const std::string& key) { return line_at(text_, text_.find("\"" + key + "\"")); }
  int line_of_item(const std::string& key, const std::string& item) {
    std::size_t at = text_.find("\"" + key + "\"");
    return line_at(text_, at == std::string::npos ? at : text_.find(double_quoted(item), at));
  }

  std::string text_field(const json& j, const char* key, bool required) {
    if (!j.contains(key)) {
      if (required) error(1, std::string("missing \"") + key + "\"");
      return "";
    }
    if (!j[key].is_string()) {
      error(line_of_key(key), std::string("\"") + key + "\" must be a string");
      return "";
    }
    std::string value = j[key].get<std::string>();
    if (!one_line(value)) {
      error(line_of_key(key), std::string("\"") + key + "\" must be one line of text");
    } else if (required && value.empty()) {
      error(line_of_key(key), std::string("\"") + key + "\" must not be empty");
    }
    return value;
  }

  std::vector<std::string> list_field(const json& j, const char* key) {
    std::vector<std::string> out;
    if (!j.contains(key)) return out;
    const json& v = j[key];
    if (!v.is_array() || !std::all_of(v.begin(), v.end(), [](const json& x) { return x.is_string(); })) {
      error(line_of_key(key), std::string("\"") + key + "\" must be a list of strings");
      return out;
    }
    for (const json& x : v) out.push_back(x.get<std::string>());
    return out;
  }

  void error(int line, std::string message) { diagnostics_.push_back(Diagnostic{path_, line, std::move(message), ""}); }

  fs::path root_;
  std::vector<Diagnostic>& diagnostics_;
  std::string path_;
  std::string text_;
  std::map<std::string, std::string> texts_;  // folder -> its milestone.json
};

}  // namespace

std::string MilestoneInfo::heading() const {
  std::string y = std::to_string(year);
  return year == 0 || title.find(y) != std::string::npos ? title : title + " (" + y + ")";
}

Milestones Milestones::load(const Course& course) {
  Milestones out;
  const fs::path& root = course.root();
  fs::path base = root / kMilestonesDir;
  std::error_code ec;
  if (!fs::is_directory(base, ec)) return out;
  out.present_ = true;
  std::vector<Diagnostic> diagnostics;
  std::vector<fs::path> dirs;
  for (const fs::directory_entry& entry : fs::directory_iterator(base, ec)) {
    std::string name = entry.path().filename().string();
    if (!entry.is_directory() || name.starts_with(".") || name == kHarnessFolder) continue;
    if (!is_milestone_folder(name)) {
      diagnostics.push_back(Diagnostic{display_path(entry.path(), root), 0,
                                       "milestone folders are named NN_name (two digits, then snake_case), like "
                                       "03_mlp; milestones/common holds the harness",
                                       ""});
      continue;
    }
    dirs.push_back(entry.path());
  }
  if (ec) throw Error("cannot list " + base.string() + ": " + ec.message());
  std::sort(dirs.begin(), dirs.end());

  MilestoneReader reader(root, diagnostics);
  std::map<int, std::string> numbers;
  std::map<std::string, std::string> names;
  for (const fs::path& dir : dirs) {
    std::optional<MilestoneInfo> m = reader.read(dir);
    if (!m) continue;
    auto [number, fresh] = numbers.emplace(m->number, m->folder);
    if (!fresh) {
      diagnostics.push_back(Diagnostic{display_path(dir, root), 0,
                                       "two milestones numbered " + std::to_string(m->number) + ": " + number->second +
                                           " and " + m->folder + " (renumber one of them)",
                                       ""});
    }
    auto [named, unique] = names.emplace(m->name, m->folder);
    if (!unique) {
      diagnostics.push_back(Diagnostic{
          display_path(dir, root), 0,
          "two milestones named '" + m->name + "': " + named->second + " and " + m->folder + " (rename one of them)",
          ""});
    }
    out.milestones_.push_back(std::move(*m));
  }

  std::vector<std::string> module_names;
  for (const ModuleInfo& mod : course.modules()) module_names.push_back(mod.name);
  std::optional<std::vector<std::string>> datasets;
  bool datasets_read = false;
  for (const MilestoneInfo& m : out.milestones_) {
    std::string path = display_path(m.manifest(), root);
    // Each module named under `key` must be one of the course's.
    // A "faster_with" module the course does not have (yet) is left out, unless the name looks
    // like a misspelt one it has.
    auto check_modules = [&](const std::vector<std::string>& names, const char* key, const std::string& says) {
      for (const std::string& name : names) {
        if (std::find(module_names.begin(), module_names.end(), name) != module_names.end()) continue;
        if (std::string_view(key) == "faster_with" && did_you_mean(name, module_names).empty()) continue;
        diagnostics.push_back(
            Diagnostic{path, reader.line_in(m.folder, key, name),
                       says + " unknown module '" + name + "'" + did_you_mean(name, module_names) +
                           " (modules: " + (module_names.empty() ? "none yet" : joined(module_names)) + ")",
                       ""});
      }
    };
    check_modules(m.required, "requires", "requires");
    check_modules(m.faster_with, "faster_with", "\"faster_with\" names");
    if (!m.data.empty() && !datasets_read) {
      datasets = dataset_names(root, diagnostics);
      datasets_read = true;
    }
    for (const std::string& d : m.data) {
      int line = reader.line_in(m.folder, "data", d);
      if (!datasets) {
        diagnostics.push_back(
            Diagnostic{path, line, "reads dataset '" + d + "', but the course has no data/datasets.json", ""});
      } else if (std::find(datasets->begin(), datasets->end(), d) == datasets->end()) {
        diagnostics.push_back(Diagnostic{path, line,
                                         "unknown dataset '" + d + "'" + did_you_mean(d, *datasets) +
                                             " (data/datasets.json has " +
                                             (datasets->empty() ? std::string("none") : joined(*datasets)) + ")",
                                         ""});
      }
    }
  }
  if (!diagnostics.empty()) throw DiagnosticError(std::move(diagnostics));
  std::sort(out.milestones_.begin(), out.milestones_.end(),
            [](const MilestoneInfo& a, const MilestoneInfo& b) { return a.number < b.number; });
  return out;
}

const MilestoneInfo& Milestones::find(std::string_view ref) const {
  for (const MilestoneInfo& m : milestones_) {
    if (m.name == ref || m.folder == ref) return m;
  }
  bool numeric = !ref.empty() && std::all_of(ref.begin(), ref.end(),
                                             [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
  if (numeric && ref.size() <= 3) {
    int n = std::stoi(std::string(ref));
    for (const MilestoneInfo& m : milestones_) {
      if (m.number == n) return m;
    }
  }
  if (milestones_.empty()) {
    throw Error(
        "no milestone '" + std::string(ref) +
            "': this course has no milestones yet (milestones/NN_name/milestone.json; see milestones/README.md)",
        kExitUsage);
  }
  std::vector<std::string> names, folders;
  for (const MilestoneInfo& m : milestones_) {
    names.push_back(m.name);
    folders.push_back(m.folder);
  }
  throw Error("no milestone '" + std::string(ref) + "' in this course" + did_you_mean(ref, names) +
                  "; milestones: " + joined(folders) + " (`tito milestone list` shows them)",
              kExitUsage);
}

std::vector<const ModuleInfo*> required_modules(const Course& course, const MilestoneInfo& milestone) {
  if (milestone.required.empty()) return {};
  return course.select(milestone.required, /*with_requires=*/true);
}

std::vector<const ModuleInfo*> faster_modules(const Course& course, const MilestoneInfo& milestone) {
  if (milestone.faster_with.empty()) return {};
  const std::vector<const ModuleInfo*> required = required_modules(course, milestone);
  std::vector<std::string> present;
  for (const std::string& f : milestone.faster_with) {
    const auto& all = course.modules();
    if (std::any_of(all.begin(), all.end(), [&](const ModuleInfo& m) { return m.name == f; })) present.push_back(f);
  }
  if (present.empty()) return {};
  std::vector<const ModuleInfo*> out;
  for (const ModuleInfo* m : course.select(present, /*with_requires=*/true)) {
    if (std::find(required.begin(), required.end(), m) == required.end()) out.push_back(m);
  }
  return out;
}

std::string milestone_target(const MilestoneInfo& milestone) { return "milestone_" + milestone.name; }
std::string faster_milestone_target(const MilestoneInfo& milestone) { return milestone_target(milestone) + "_faster"; }

std::vector<GeneratedFile> export_milestones(const std::vector<MilestoneInfo>& milestones) {
  const std::string gen(kGeneratedDir);
  std::vector<GeneratedFile> out;
  std::string cmake =
      "# The course's milestones, each a program built against the modules it requires\n"
      "# (tinytorch_add_milestone in package/CMakeLists.txt).\n";
  for (const MilestoneInfo& m : milestones) {
    std::string source = std::string(kMilestonesDir) + "/" + m.folder + "/milestone.json";
    std::string info = gen + "/milestones/" + m.folder + ".cpp";
    std::string body =
        "#include <milestone.hpp>\n\n"
        "// The facts of " +
        source +
        "; the two paths come from the build (package/CMakeLists.txt).\n"
        "const milestone::Info& milestone::info() {\n"
        "  static const Info facts{" +
        double_quoted(m.name) + ", " + double_quoted(m.folder) +
        ",\n"
        "                          " +
        double_quoted(m.heading()) +
        ",\n"
        "                          " +
        double_quoted(m.target) +
        ",\n"
        "                          MILESTONE_DEFAULT_OUT, MILESTONE_DEFAULT_DATA};\n"
        "  return facts;\n"
        "}\n";
    out.push_back({info, banner_file("//", source, body)});
    cmake += "tinytorch_add_milestone(\n  NAME " + m.name + "\n  FOLDER " + m.folder + "\n  SOURCES";
    for (const std::string& s : m.sources)
      cmake += " " + double_quoted(std::string(kMilestonesDir) + "/" + m.folder + "/" + s);
    cmake += "\n  INFO " + double_quoted(info) + "\n  REQUIRES";
    for (const std::string& r : m.required) cmake += " " + double_quoted(r);
    if (!m.faster_with.empty()) {
      cmake += "\n  FASTER_WITH";
      for (const std::string& f : m.faster_with) cmake += " " + double_quoted(f);
    }
    cmake += "\n)\n";
  }
  out.push_back(
      {gen + "/milestones.cmake", banner_file("#", std::string(kMilestonesDir) + "/*/milestone.json", cmake)});
  return out;
}

}  // namespace tito
