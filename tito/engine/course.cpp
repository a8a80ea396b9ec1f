#include "engine/course.hpp"

#include <algorithm>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "util/env.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"
#include "util/text.hpp"

namespace tito {

namespace {

using json = nlohmann::json;

// The line of the first occurrence of `needle` in `text`, or 1.
int line_of(const std::string& text, std::string_view needle) {
  std::size_t at = text.find(needle);
  if (at == std::string::npos) return 1;
  return 1 + static_cast<int>(std::count(text.begin(), text.begin() + static_cast<long>(at), '\n'));
}

bool is_module_folder(const std::string& name) {
  return name.size() > 3 && std::isdigit(static_cast<unsigned char>(name[0])) &&
         std::isdigit(static_cast<unsigned char>(name[1])) && name[2] == '_' && is_snake_case(name.substr(3));
}

class ModuleReader {
 public:
  ModuleReader(const fs::path& root, std::vector<Diagnostic>& diagnostics) : root_(root), diagnostics_(diagnostics) {}

  // The line of "requires" in each module.json read so far, by folder, for
  // messages about what a module requires.
  std::map<std::string, int> requires_line;

  std::optional<ModuleInfo> read(const fs::path& dir) {
    ModuleInfo m;
    m.folder = dir.filename().string();
    m.dir = dir;
    m.number = std::stoi(m.folder.substr(0, 2));
    path_ = display_path(m.manifest(), root_);
    std::optional<std::string> text = read_file_if_exists(m.manifest());
    if (!text) {
      error(0, "missing module.json (every module folder has one; see templates/module/module.json.in)");
      return std::nullopt;
    }
    text_ = *text;
    requires_line[m.folder] = line_of(text_, "\"requires\"");
    json j;
    try {
      j = json::parse(text_);
    } catch (const json::parse_error& e) {
      std::size_t byte = std::min<std::size_t>(e.byte == 0 ? 0 : e.byte - 1, text_.size());
      int line = 1 + static_cast<int>(std::count(text_.begin(), text_.begin() + static_cast<long>(byte), '\n'));
      std::string what = e.what();
      std::size_t colon = what.find("syntax error");
      error(line, "invalid JSON: " + (colon == std::string::npos ? what : what.substr(colon)));
      return std::nullopt;
    }
    if (!j.is_object()) {
      error(1, "module.json must hold a JSON object");
      return std::nullopt;
    }
    std::size_t before = diagnostics_.size();
    m.name = string_field(j, "name", true);
    m.title = string_field(j, "title", true);
    m.difficulty = string_field(j, "difficulty", true);
    m.pattern = string_field(j, "pattern", false);
    m.description = string_field(j, "description", false);
    if (j.contains("number")) {
      if (!j["number"].is_number_integer()) {
        error(line_of(text_, "\"number\""), "\"number\" must be a whole number");
      } else if (j["number"].get<int>() != m.number) {
        error(line_of(text_, "\"number\""), "\"number\" is " + std::to_string(j["number"].get<int>()) +
                                                 " but the folder is " + m.folder + "; make them agree");
      }
    } else {
      error(1, "missing \"number\"");
    }
    if (!m.name.empty() && m.name != m.folder.substr(3)) {
      error(line_of(text_, "\"name\""),
            "\"name\" is '" + m.name + "' but the folder is " + m.folder + "; make them agree");
    }
    if (!m.difficulty.empty() &&
        std::find(std::begin(kDifficulties), std::end(kDifficulties), m.difficulty) == std::end(kDifficulties)) {
      error(line_of(text_, "\"difficulty\""), "\"difficulty\" must be easy, medium or hard; got '" + m.difficulty + "'");
    }
    if (j.contains("requires")) {
      const json& r = j["requires"];
      if (!r.is_array() || !std::all_of(r.begin(), r.end(), [](const json& x) { return x.is_string(); })) {
        error(line_of(text_, "\"requires\""), "\"requires\" must be a list of module names");
      } else {
        for (const json& x : r) m.required.push_back(x.get<std::string>());
      }
    }
    if (j.contains("exercises") && j["exercises"].is_number_integer()) m.exercises = j["exercises"].get<int>();
    if (diagnostics_.size() != before) return std::nullopt;
    return m;
  }

 private:
  std::string string_field(const json& j, const char* key, bool required) {
    if (!j.contains(key)) {
      if (required) error(1, std::string("missing \"") + key + "\"");
      return "";
    }
    if (!j[key].is_string()) {
      error(line_of(text_, std::string("\"") + key + "\""), std::string("\"") + key + "\" must be a string");
      return "";
    }
    return j[key].get<std::string>();
  }

  void error(int line, std::string message) {
    diagnostics_.push_back(Diagnostic{path_, line, std::move(message), ""});
  }

  fs::path root_;
  std::vector<Diagnostic>& diagnostics_;
  std::string path_;
  std::string text_;
};

}  // namespace

fs::path Course::find_root(const fs::path& start) {
  std::error_code ec;
  fs::path dir = fs::weakly_canonical(start, ec);
  if (ec) dir = fs::absolute(start);
  for (fs::path p = dir;; p = p.parent_path()) {
    if (fs::is_directory(p / "modules", ec) && fs::exists(p / "package" / "CMakeLists.txt", ec)) return p;
    if (p == p.parent_path()) break;
  }
  throw Error("not inside a TinyTorch course: no folder at or above " + dir.string() +
              " holds modules/ and package/CMakeLists.txt (cd into the course, or pass --root DIR)");
}

std::optional<fs::path> Course::locate_root(const std::string& root_option) {
  if (!root_option.empty()) return find_root(root_option);
  if (std::string env = env_string("TITO_ROOT"); !env.empty()) return find_root(env);
  try {
    return find_root(fs::current_path());
  } catch (const Error&) {
    return std::nullopt;
  }
}

Course Course::open(const fs::path& root) {
  Course course;
  course.root_ = root;
  std::vector<Diagnostic> diagnostics;
  std::vector<fs::path> dirs;
  std::error_code ec;
  for (const fs::directory_entry& entry : fs::directory_iterator(root / "modules", ec)) {
    std::string name = entry.path().filename().string();
    if (!entry.is_directory() || name.starts_with(".")) continue;
    if (!is_module_folder(name)) {
      diagnostics.push_back(Diagnostic{display_path(entry.path(), root), 0,
                                       "module folders are named NN_name (two digits, then snake_case), like 01_tensor",
                                       ""});
      continue;
    }
    dirs.push_back(entry.path());
  }
  if (ec) throw Error("cannot list " + (root / "modules").string() + ": " + ec.message());
  std::sort(dirs.begin(), dirs.end());

  ModuleReader reader(root, diagnostics);
  std::vector<ModuleInfo> modules;
  std::map<int, std::string> numbers;
  std::map<std::string, std::string> names;
  for (const fs::path& dir : dirs) {
    std::optional<ModuleInfo> m = reader.read(dir);
    if (!m) continue;
    auto [it, fresh] = numbers.emplace(m->number, m->folder);
    if (!fresh) {
      diagnostics.push_back(Diagnostic{display_path(dir, root), 0,
                                       "two modules numbered " + std::to_string(m->number) + ": " + it->second +
                                           " and " + m->folder + " (renumber one of them)",
                                       ""});
    }
    // Modules are required and selected by name: a second one would vanish.
    auto [named, unique] = names.emplace(m->name, m->folder);
    if (!unique) {
      diagnostics.push_back(Diagnostic{display_path(dir, root), 0,
                                       "two modules named '" + m->name + "': " + named->second + " and " + m->folder +
                                           " (rename one of them)",
                                       ""});
    }
    modules.push_back(std::move(*m));
  }

  std::map<std::string, const ModuleInfo*> by_name;
  for (const ModuleInfo& m : modules) by_name[m.name] = &m;
  for (const ModuleInfo& m : modules) {
    for (const std::string& r : m.required) {
      if (!by_name.contains(r)) {
        diagnostics.push_back(Diagnostic{display_path(m.manifest(), root), reader.requires_line[m.folder],
                                         "requires unknown module '" + r + "'", ""});
      }
    }
  }
  if (!diagnostics.empty()) throw DiagnosticError(std::move(diagnostics));

  // Depth-first topological sort, visiting in number order so ties keep it;
  // a module met again while still on the path closes a cycle.
  std::map<std::string, int> state;  // 0 new, 1 on the path, 2 done
  std::vector<std::string> path;
  std::vector<ModuleInfo> ordered;
  std::function<void(const ModuleInfo&)> visit = [&](const ModuleInfo& m) {
    if (state[m.name] == 2 || !diagnostics.empty()) return;
    if (state[m.name] == 1) {
      std::string cycle;
      auto from = std::find(path.begin(), path.end(), m.name);
      for (auto it = from; it != path.end(); ++it) cycle += *it + " → ";
      cycle += m.name;
      const ModuleInfo& last = *by_name[path.back()];
      diagnostics.push_back(Diagnostic{display_path(last.manifest(), root), reader.requires_line[last.folder],
                                       "requires cycle: " + cycle + " (a module cannot build on itself)", ""});
      return;
    }
    state[m.name] = 1;
    path.push_back(m.name);
    for (const std::string& r : m.required) visit(*by_name[r]);
    path.pop_back();
    state[m.name] = 2;
    ordered.push_back(m);
  };
  for (const ModuleInfo& m : modules) visit(m);
  if (!diagnostics.empty()) throw DiagnosticError(std::move(diagnostics));
  course.modules_ = std::move(ordered);
  return course;
}

const ModuleInfo& Course::module(std::string_view ref) const {
  for (const ModuleInfo& m : modules_) {
    if (m.name == ref || m.folder == ref) return m;
  }
  bool numeric = !ref.empty() && std::all_of(ref.begin(), ref.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
  if (numeric && ref.size() <= 3) {
    int n = std::stoi(std::string(ref));
    for (const ModuleInfo& m : modules_) {
      if (m.number == n) return m;
    }
  }
  std::vector<std::string> folders, names;
  for (const ModuleInfo& m : modules_) {
    folders.push_back(m.folder);
    names.push_back(m.name);
  }
  std::string guess = nearest(ref, names);
  throw Error("no module '" + std::string(ref) + "' in this course (" +
                  (guess.empty() ? "" : "did you mean '" + guess + "'? ") +
                  "modules: " + (folders.empty() ? "none yet" : join(folders)) + "; `tito module list` shows them)",
              kExitUsage);
}

std::vector<const ModuleInfo*> Course::select(const std::vector<std::string>& refs, bool with_requires) const {
  std::set<std::string> wanted;
  std::function<void(const ModuleInfo&)> add = [&](const ModuleInfo& m) {
    if (!wanted.insert(m.name).second) return;
    if (with_requires) {
      for (const std::string& r : m.required) add(module(r));
    }
  };
  if (refs.empty()) {
    for (const ModuleInfo& m : modules_) wanted.insert(m.name);
  }
  for (const std::string& ref : refs) add(module(ref));
  std::vector<const ModuleInfo*> out;
  for (const ModuleInfo& m : modules_) {
    if (wanted.contains(m.name)) out.push_back(&m);
  }
  return out;
}

std::string Course::rel(const fs::path& path) const { return display_path(path, root_); }

int Course::next_number() const {
  int highest = 0;
  for (const ModuleInfo& m : modules_) highest = std::max(highest, m.number);
  return highest + 1;
}

}  // namespace tito
