#include "engine/grading.hpp"

#include <regex>

#include "util/json_document.hpp"
#include "util/text.hpp"

namespace tito {

namespace {

using json = nlohmann::ordered_json;

constexpr const char* kVisibilities = "visible, hidden, after_due_date or after_published";
constexpr double kMaxPoints = 1000;

class GradingReader {
 public:
  GradingReader(std::string_view text, const std::string& path) : text_(text), path_(path), problems_(path) {}

  GradingSpec read() {
    json j = parse_json_document(text_, path_);
    GradingSpec spec;
    if (!j.is_object() || !j.contains("grading")) return spec;
    grading_at_ = find_json_key(text_, "grading");
    const json& g = j["grading"];
    if (!g.is_object()) {
      fail(line_of("grading"),
           "\"grading\" must be an object, like {\"weight\": 1, \"tests\": {\"Suite.*\": "
           "{\"points\": 2}}}");
    }
    static const std::vector<std::string> keys = {"weight", "default_visibility", "hidden_visibility", "tests"};
    for (const auto& [key, value] : g.items()) unknown_key(key, keys, "\"grading\"");
    if (g.contains("weight")) spec.weight = number(g["weight"], "weight", "\"weight\"", line_of("weight"));
    if (g.contains("default_visibility")) {
      spec.default_visibility =
          visibility(g["default_visibility"], "default_visibility", line_of("default_visibility"));
    }
    if (g.contains("hidden_visibility")) {
      spec.hidden_visibility = visibility(g["hidden_visibility"], "hidden_visibility", line_of("hidden_visibility"));
    }
    if (g.contains("tests")) read_tests(g["tests"], spec);
    if (!problems_.empty()) throw DiagnosticError(problems_.take(), "nothing was graded");
    return spec;
  }

 private:
  void read_tests(const json& tests, GradingSpec& spec) {
    const int tests_line = line_of("tests");
    if (!tests.is_object()) {
      problems_.add(tests_line,
                    "\"tests\" must map test names to their points and visibility, like "
                    "{\"TensorTest.Matmul*\": {\"points\": 2, \"visibility\": \"after_due_date\"}}");
      return;
    }
    std::size_t from = find_json_key(text_, "tests", grading_at_);
    for (const auto& [pattern, rule] : tests.items()) {
      std::size_t at = find_json_key(text_, pattern, from == std::string_view::npos ? 0 : from);
      const int line = at == std::string_view::npos ? tests_line : line_at(text_, at);
      if (at != std::string_view::npos) from = at + 1;
      TestRule r{pattern, std::nullopt, std::nullopt, line};
      const std::string where = "test \"" + printable(pattern, 60) + "\"";
      if (trim(pattern).empty() || pattern.find_first_of(" \t") != std::string::npos) {
        problems_.add(line, "the " + where +
                                " is not a test name: use Suite.Name as GoogleTest prints it, with * "
                                "for any run of characters");
      }
      if (!rule.is_object()) {
        problems_.add(line, "the " + where + " must be an object, like {\"points\": 2, \"visibility\": \"visible\"}");
        continue;
      }
      for (const auto& [key, value] : rule.items()) unknown_key(key, {"points", "visibility"}, "the " + where, line);
      if (rule.contains("points")) r.points = number(rule["points"], "points", "the " + where + "'s \"points\"", line);
      if (rule.contains("visibility")) r.visibility = visibility(rule["visibility"], "visibility", line);
      spec.tests.push_back(std::move(r));
    }
  }

  int line_of(const std::string& key) const {
    std::size_t at = find_json_key(text_, key, grading_at_ == std::string_view::npos ? 0 : grading_at_);
    return at == std::string_view::npos ? 1 : line_at(text_, at);
  }

  void unknown_key(const std::string& key, const std::vector<std::string>& known, const std::string& in, int line = 0) {
    if (std::find(known.begin(), known.end(), key) != known.end()) return;
    std::string guess = nearest(key, known);
    problems_.add(line > 0 ? line : line_of(key), "unknown key \"" + printable(key, 60) + "\" in " + in +
                                                      (guess.empty() ? "" : " (did you mean \"" + guess + "\"?)") +
                                                      "; " + in + " knows " + join(known));
  }

  double number(const json& value, const std::string& key, const std::string& what, int line) {
    (void)key;
    if (!value.is_number() || value.get<double>() < 0 || value.get<double>() > kMaxPoints) {
      problems_.add(line, what + " must be a number from 0 to " + std::to_string(static_cast<int>(kMaxPoints)) +
                              "; got " + printable(dump_json(value), 60));
      return 1;
    }
    return value.get<double>();
  }

  Visibility visibility(const json& value, const std::string& key, int line) {
    std::optional<Visibility> v = value.is_string() ? parse_visibility(value.get<std::string>()) : std::nullopt;
    if (!v) {
      problems_.add(line, "\"" + key + "\" must be " + kVisibilities + " (Gradescope's visibilities); got " +
                              printable(dump_json(value), 60));
      return Visibility::Visible;
    }
    return *v;
  }

  [[noreturn]] void fail(int line, std::string message) {
    problems_.add(line, std::move(message));
    throw DiagnosticError(problems_.take(), "nothing was graded");
  }

  std::string_view text_;
  std::string path_;
  DiagnosticList problems_;
  std::size_t grading_at_ = std::string_view::npos;
};

}  // namespace

const char* to_string(Visibility v) {
  switch (v) {
    case Visibility::Visible:
      return "visible";
    case Visibility::Hidden:
      return "hidden";
    case Visibility::AfterDueDate:
      return "after_due_date";
    case Visibility::AfterPublished:
      return "after_published";
  }
  return "visible";
}

std::optional<Visibility> parse_visibility(std::string_view text) {
  for (Visibility v : {Visibility::Visible, Visibility::Hidden, Visibility::AfterDueDate, Visibility::AfterPublished}) {
    if (text == to_string(v)) return v;
  }
  return std::nullopt;
}

TestWorth GradingSpec::worth(std::string_view name, bool hidden) const {
  TestWorth w{weight, hidden ? hidden_visibility : default_visibility};
  for (const TestRule& r : tests) {
    if (!glob_match(r.pattern, name)) continue;
    if (r.points) w.points = *r.points * weight;
    if (r.visibility) w.visibility = *r.visibility;
    break;
  }
  return w;
}

GradingSpec parse_grading(std::string_view module_json, const std::string& path) {
  return GradingReader(module_json, path).read();
}

bool glob_match(std::string_view pattern, std::string_view name) {
  // Iterative, with one backtrack point: linear enough for test names.
  std::size_t p = 0, n = 0, star = std::string_view::npos, resume = 0;
  while (n < name.size()) {
    if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == name[n])) {
      ++p;
      ++n;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      resume = n;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      n = ++resume;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

std::set<std::string> hidden_test_names(std::string_view source) {
  static const std::regex test(R"(^\s*(?:TYPED_)?TEST(?:_F|_P)?\s*\(\s*(\w+)\s*,\s*(\w+)\s*\))");
  std::set<std::string> out;
  bool hidden = false;
  for (const std::string& line : split_lines(source)) {
    std::string_view t = trim(line);
    if (t == "// BEGIN HIDDEN TESTS") {
      hidden = true;
    } else if (t == "// END HIDDEN TESTS") {
      hidden = false;
    } else if (std::smatch m; hidden && std::regex_search(line, m, test)) {
      out.insert(m[1].str() + "." + m[2].str());
    }
  }
  return out;
}

std::string base_test_name(std::string_view name) {
  std::string_view s = name;
  std::size_t dot = s.find('.');
  std::size_t slash = s.find('/');
  if (slash != std::string_view::npos && dot != std::string_view::npos && slash < dot) s.remove_prefix(slash + 1);
  dot = s.find('.');
  slash = s.rfind('/');
  if (slash != std::string_view::npos && dot != std::string_view::npos && slash > dot) s = s.substr(0, slash);
  return std::string(s);
}

}  // namespace tito
