#include "engine/course.hpp"

#include <algorithm>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>

#include "util/env.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"
#include "util/json_document.hpp"
#include "util/text.hpp"

namespace tito {

namespace {

using json = nlohmann::ordered_json;

// The keys a module.json may hold; "exercises" is what a release adds;
// "grading" is tito grade's (engine/grading.hpp checks it).
const std::vector<std::string> kManifestKeys = {"name",           "number",        "title",    "difficulty",
                                                "pattern",        "pattern_reason", "time_estimate",
                                                "description",    "requires",      "exercises",
                                                "grading"};

bool is_module_folder(const std::string& name) {
  return name.size() > 3 && std::isdigit(static_cast<unsigned char>(name[0])) &&
         std::isdigit(static_cast<unsigned char>(name[1])) && name[2] == '_' && is_snake_case(name.substr(3));
}

// Checks one module.json, collecting every problem.
class ManifestReader {
 public:
  ManifestReader(std::string_view text, const std::string& path) : text_(text), path_(path), problems_(path) {}

  ModuleInfo read(const std::string& folder, std::vector<Diagnostic>& warnings) {
    json j = parse_json_document(text_, path_);  // throws at the syntax error's line
    if (!j.is_object()) fail(1, "module.json holds a JSON object ({\"name\": ..., \"number\": ...}), not " +
                                    std::string(j.type_name() == std::string("array") ? "an array" : "a " + std::string(j.type_name())));
    ModuleInfo m;
    m.folder = folder;
    m.number = std::stoi(folder.substr(0, 2));
    m.name = text(j, "name", true);
    m.title = text(j, "title", true);
    m.difficulty = text(j, "difficulty", true);
    m.pattern = text(j, "pattern", false);
    m.pattern_reason = text(j, "pattern_reason", false);
    m.time_estimate = text(j, "time_estimate", false);
    m.description = text(j, "description", false);
    check_number(j, m);
    std::string expected = folder.substr(3);
    if (!m.name.empty() && m.name != expected) {
      error("name", "\"name\" is '" + printable(m.name, 60) + "' but the folder is " + folder +
                        "; make them agree (\"name\": \"" + expected + "\")");
    }
    if (!m.difficulty.empty() &&
        std::find(std::begin(kDifficulties), std::end(kDifficulties), m.difficulty) == std::end(kDifficulties)) {
      error("difficulty", "\"difficulty\" must be easy, medium or hard; got '" + printable(m.difficulty, 60) + "'");
    }
    m.required = names(j, "requires");
    if (j.contains("exercises")) {
      const json& e = j["exercises"];
      if (!e.is_number_integer() || e.get<long long>() < 0 || e.get<long long>() > 10000) {
        error("exercises", "\"exercises\" must be a whole number from 0 to 10000 (tito release writes it)");
      } else {
        m.exercises = e.get<int>();
      }
    }
    for (const auto& [key, value] : j.items()) {
      if (std::find(kManifestKeys.begin(), kManifestKeys.end(), key) != kManifestKeys.end()) continue;
      std::string guess = nearest(key, kManifestKeys);
      warnings.push_back(Diagnostic{path_, line_of(key),
                                    "unknown key \"" + printable(key, 60) + "\" is ignored" +
                                        (guess.empty() ? "" : " (did you mean \"" + guess + "\"?)"),
                                    ""});
    }
    if (!problems_.empty()) throw DiagnosticError(problems_.take());
    return m;
  }

 private:
  int line_of(const std::string& key) const {
    std::size_t at = find_json_key(text_, key);
    return at == std::string_view::npos ? 1 : line_at(text_, at);
  }

  void error(const std::string& key, std::string message) { problems_.add(line_of(key), std::move(message)); }

  [[noreturn]] void fail(int line, std::string message) {
    problems_.add(line, std::move(message));
    throw DiagnosticError(problems_.take());
  }

  std::string text(const json& j, const char* key, bool required) {
    if (!j.contains(key)) {
      if (required) problems_.add(1, std::string("missing \"") + key + "\"");
      return "";
    }
    if (!j[key].is_string()) {
      error(key, std::string("\"") + key + "\" must be a string");
      return "";
    }
    std::string value = j[key].get<std::string>();
    if (trim(value).empty()) {
      error(key, std::string("\"") + key + "\" is empty" + (required ? "; it must say something" : "; say something or leave it out"));
      return "";
    }
    return value;
  }

  void check_number(const json& j, const ModuleInfo& m) {
    if (!j.contains("number")) {
      problems_.add(1, "missing \"number\" (" + std::to_string(m.number) + ", as the folder " + m.folder + " says)");
    } else if (!j["number"].is_number_integer()) {
      error("number", "\"number\" must be a whole number (" + std::to_string(m.number) + ", as the folder says)");
    } else if (j["number"].get<long long>() != m.number) {
      error("number", "\"number\" is " + std::to_string(j["number"].get<long long>()) + " but the folder is " +
                          m.folder + "; make them agree");
    }
  }

  std::vector<std::string> names(const json& j, const char* key) {
    std::vector<std::string> out;
    if (!j.contains(key)) return out;
    const json& r = j[key];
    if (!r.is_array() || !std::all_of(r.begin(), r.end(), [](const json& x) { return x.is_string(); })) {
      error(key, std::string("\"") + key + "\" must be a list of module names, like [\"tensor\"]");
      return out;
    }
    for (const json& x : r) out.push_back(x.get<std::string>());
    return out;
  }

  std::string_view text_;
  std::string path_;
  DiagnosticList problems_;
};

}  // namespace

ModuleInfo parse_module_json(std::string_view text, const std::string& folder, const std::string& path,
                             std::vector<Diagnostic>& warnings) {
  return ManifestReader(text, path).read(folder, warnings);
}

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

  std::vector<ModuleInfo> modules;
  std::set<std::string> unreadable;  // names of modules whose module.json has errors (reported already)
  std::map<int, std::string> numbers;
  std::map<std::string, std::string> names;
  for (const fs::path& dir : dirs) {
    std::string folder = dir.filename().string();
    std::string path = display_path(dir / "module.json", root);
    try {
      std::optional<std::string> text = read_file_if_exists(dir / "module.json", kMaxManifestBytes);
      if (!text) {
        throw DiagnosticError({Diagnostic{path, 0, "missing module.json (every module folder has one; see "
                                                   "templates/module/module.json.in)", ""}});
      }
      ModuleInfo m = parse_module_json(*text, folder, path, course.warnings_);
      m.dir = dir;
      modules.push_back(std::move(m));
    } catch (const ReadError& e) {
      diagnostics.push_back(Diagnostic{path, 0, "cannot read module.json: " + e.reason(), ""});
      unreadable.insert(folder.substr(3));
    } catch (const DiagnosticError& e) {
      diagnostics.insert(diagnostics.end(), e.diagnostics().begin(), e.diagnostics().end());
      unreadable.insert(folder.substr(3));
    }
  }
  for (const ModuleInfo& m : modules) {
    auto [it, fresh] = numbers.emplace(m.number, m.folder);
    if (!fresh) {
      diagnostics.push_back(Diagnostic{display_path(m.dir, root), 0,
                                       "two modules numbered " + std::to_string(m.number) + ": " + it->second +
                                           " and " + m.folder + " (renumber one of them)",
                                       ""});
    }
    // Modules are required and selected by name: a second one would vanish.
    auto [named, unique] = names.emplace(m.name, m.folder);
    if (!unique) {
      diagnostics.push_back(Diagnostic{display_path(m.dir, root), 0,
                                       "two modules named '" + m.name + "': " + named->second + " and " + m.folder +
                                           " (rename one of them)",
                                       ""});
    }
  }

  std::map<std::string, const ModuleInfo*> by_name;
  for (const ModuleInfo& m : modules) by_name[m.name] = &m;
  auto requires_line = [&](const ModuleInfo& m) {
    std::optional<std::string> text = read_file_if_exists(m.manifest(), kMaxManifestBytes);
    std::size_t at = text ? find_json_key(*text, "requires") : std::string::npos;
    return at == std::string::npos ? 0 : line_at(*text, at);
  };
  std::vector<std::string> known;
  for (const ModuleInfo& m : modules) known.push_back(m.name);
  for (const ModuleInfo& m : modules) {
    for (const std::string& r : m.required) {
      // A module whose module.json has errors is reported as such, not as unknown.
      if (by_name.contains(r) || unreadable.contains(r)) continue;
      std::string guess = nearest(r, known);
      diagnostics.push_back(Diagnostic{display_path(m.manifest(), root), requires_line(m),
                                       "requires unknown module '" + printable(r, 60) + "'" +
                                           (guess.empty() ? "" : " (did you mean '" + guess + "'?)"),
                                       ""});
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
      diagnostics.push_back(Diagnostic{display_path(last.manifest(), root), requires_line(last),
                                       "requires cycle: " + cycle + " (a module cannot build on itself)", ""});
      return;
    }
    state[m.name] = 1;
    path.push_back(m.name);
    for (const std::string& r : m.required) {
      if (by_name.contains(r)) visit(*by_name[r]);
    }
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
