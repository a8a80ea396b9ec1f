#include "engine/scaffold.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <set>

#include "util/error.hpp"
#include "util/fs.hpp"
#include "util/text.hpp"

namespace tito {

namespace {

// Names that would collide with C++, the library's own folders, or tito's words.
const std::set<std::string>& reserved_names() {
  static const std::set<std::string> names = {
      "alignas", "alignof", "and", "asm", "auto", "bool", "break", "case", "catch", "char", "class", "concept",
      "const", "consteval", "constexpr", "constinit", "continue", "co_await", "co_return", "co_yield", "decltype",
      "default", "delete", "do", "double", "else", "enum", "explicit", "export", "extern", "false", "float", "for",
      "friend", "goto", "if", "inline", "int", "long", "mutable", "namespace", "new", "noexcept", "not", "nullptr",
      "operator", "or", "private", "protected", "public", "register", "requires", "return", "short", "signed",
      "sizeof", "static", "struct", "switch", "template", "this", "throw", "true", "try", "typedef", "typeid",
      "typename", "union", "unsigned", "using", "virtual", "void", "volatile", "while", "xor",
      // the library and the toolchain
      "tinytorch", "tito", "support", "generated", "include", "src", "std", "detail", "main", "test", "tests",
      "demo", "demos", "module", "modules", "package", "all"};
  return names;
}

std::string title_from(const std::string& name) {
  std::string out;
  bool start = true;
  for (char c : name) {
    if (c == '_') {
      out += ' ';
      start = true;
    } else {
      out += start ? static_cast<char>(std::toupper(static_cast<unsigned char>(c))) : c;
      start = false;
    }
  }
  return out;
}

}  // namespace

std::string check_module_name(const Course& course, const std::string& name) {
  if (!is_snake_case(name)) {
    return "'" + name + "' is not a module name: use snake_case (lower-case letters, digits and single underscores, "
           "starting with a letter), like data_loader";
  }
  if (name.size() > 40) return "'" + name + "' is too long for a module name (40 characters at most)";
  if (reserved_names().contains(name)) return "'" + name + "' is reserved (a C++ keyword or a name tito uses)";
  for (const ModuleInfo& m : course.modules()) {
    if (m.name == name) return "a module named '" + name + "' exists already: " + course.rel(m.dir);
  }
  return "";
}

std::string render_template(const std::string& text, const std::map<std::string, std::string>& values,
                            const std::string& where) {
  std::string out;
  std::size_t at = 0;
  while (true) {
    std::size_t open = text.find("{{", at);
    if (open == std::string::npos) break;
    std::size_t close = text.find("}}", open);
    int line = 1 + static_cast<int>(std::count(text.begin(), text.begin() + static_cast<long>(open), '\n'));
    if (close == std::string::npos) {
      throw DiagnosticError({Diagnostic{where, line, "'{{' without a closing '}}'", ""}});
    }
    std::string key(trim(std::string_view(text).substr(open + 2, close - open - 2)));
    auto it = values.find(key);
    if (it == values.end()) {
      std::vector<std::string> known;
      for (const auto& [k, v] : values) known.push_back(k);
      throw DiagnosticError(
          {Diagnostic{where, line, "unknown placeholder {{" + printable(key, 60) + "}} (known: " + join(known) + ")", ""}});
    }
    out.append(text, at, open - at);
    out += it->second;
    at = close + 2;
  }
  out.append(text, at);
  return out;
}

Scaffolded scaffold_module(const Course& course, const NewModule& request) {
  if (std::string why = check_module_name(course, request.name); !why.empty()) throw Error(why, kExitUsage);
  if (std::find(std::begin(kDifficulties), std::end(kDifficulties), request.difficulty) == std::end(kDifficulties)) {
    throw Error("difficulty must be easy, medium or hard; got '" + request.difficulty + "'", kExitUsage);
  }
  std::string requires_json = "[";
  std::vector<std::string> requires_text;  // "01 tensor", as the modules' READMEs say it
  for (const std::string& r : request.required) {
    const ModuleInfo& m = course.module(r);  // throws for an unknown module
    requires_json += (requires_json.size() > 1 ? ", " : "") + double_quoted(m.name);
    requires_text.push_back(m.folder.substr(0, 2) + " " + m.name);
  }
  requires_json += "]";

  fs::path templates = course.root() / "templates" / "module";
  if (!fs::is_directory(templates)) {
    throw Error("no templates: " + course.rel(templates) + " is missing (it holds what `tito module new` renders)");
  }
  int number = course.next_number();
  if (number > 99) throw Error("the course has 99 modules already; module numbers have two digits");
  char prefix[16];
  std::snprintf(prefix, sizeof prefix, "%02d", number);
  Scaffolded result;
  result.folder = std::string(prefix) + "_" + request.name;
  std::string title = request.title.empty() ? title_from(request.name) : request.title;
  // It goes into module.json, C++ comments and Markdown as it is.
  if (std::any_of(title.begin(), title.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; })) {
    throw Error("the title '" + printable(title, 60) + "' holds a control character (a newline, a tab, an escape); "
                "give a plain one-line title",
                kExitUsage);
  }
  std::string escaped_title = double_quoted(title);
  std::map<std::string, std::string> values = {
      {"name", request.name},
      {"folder", result.folder},
      {"number", std::to_string(number)},
      {"NN", prefix},
      {"title", title},
      {"title_id", [&] {
         std::string id = title_from(request.name);
         id.erase(std::remove(id.begin(), id.end(), ' '), id.end());
         return id;
       }()},
      {"title_json", escaped_title.substr(1, escaped_title.size() - 2)},
      {"difficulty", request.difficulty},
      {"requires_json", requires_json},
      {"requires_text", requires_text.empty() ? "nothing" : join(requires_text)},
  };

  fs::path final_dir = course.root() / "modules" / result.folder;
  if (fs::exists(final_dir)) throw Error(course.rel(final_dir) + " exists already; nothing was written");

  // Render everything in memory first: a bad template writes nothing.
  std::vector<std::pair<std::string, std::string>> files;
  std::vector<fs::path> sources;
  for (const fs::directory_entry& e : fs::recursive_directory_iterator(templates)) {
    if (e.is_regular_file()) sources.push_back(e.path());
  }
  std::sort(sources.begin(), sources.end());
  for (const fs::path& source : sources) {
    std::string rel = source.lexically_relative(templates).string();
    if (rel.ends_with(".in")) rel.resize(rel.size() - 3);
    std::string where = course.rel(source);
    files.emplace_back(render_template(rel, values, where), render_template(read_file(source), values, where));
  }

  TempDir staging(course.root() / "modules", "." + result.folder + ".tito-new-");
  for (const auto& [rel, content] : files) {
    write_file_atomic(staging.path() / rel, content);
    result.files.push_back(course.rel(final_dir / rel));
  }
  std::error_code ec;
  fs::rename(staging.path(), final_dir, ec);
  if (ec) throw Error("cannot create " + course.rel(final_dir) + ": " + ec.message() + "; nothing was written");
  staging.keep();  // it is the module folder now
  return result;
}

}  // namespace tito
