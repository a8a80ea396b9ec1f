#include "engine/grade_report.hpp"

#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "util/json_document.hpp"

namespace tito {

namespace {

using json = nlohmann::ordered_json;

// Points rounded to 1/100: sums of weights like 0.1 stay readable.
double rounded(double p) { return std::round(p * 100) / 100; }

json diagnostic_json(const Diagnostic& d) { return json{{"file", d.path}, {"line", d.line}, {"message", d.message}}; }

json module_json(const GradedModule& m) {
  json tests = json::array();
  for (const GradedTest& t : m.tests) {
    tests.push_back(json{{"name", t.name},
                         {"points", rounded(t.points)},
                         {"max", rounded(t.max_points)},
                         {"status", t.status},
                         {"visibility", to_string(t.visibility)},
                         {"hidden", t.hidden},
                         {"output", t.output}});
  }
  json tampering = json::array();
  for (const Diagnostic& d : m.tampering) tampering.push_back(diagnostic_json(d));
  return json{{"module", m.folder},
              {"submitted", m.submitted},
              {"points", rounded(m.points)},
              {"max", rounded(m.max_points)},
              {"reasons", m.reasons},
              {"tampering", tampering},
              {"tests", tests}};
}

json student_json(const StudentGrade& g) {
  json modules = json::array();
  for (const GradedModule& m : g.modules) modules.push_back(module_json(m));
  return json{{"student", g.student},         {"hash", g.hash},       {"points", rounded(g.points)},
              {"max", rounded(g.max_points)}, {"reasons", g.reasons}, {"modules", modules}};
}

// A CSV field: quoted when it holds a comma, a quote or a line break.
std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

}  // namespace

void StudentGrade::total() {
  points = max_points = 0;
  for (GradedModule& m : modules) {
    m.points = m.max_points = 0;
    for (const GradedTest& t : m.tests) {
      m.points += t.points;
      m.max_points += t.max_points;
    }
    points += m.points;
    max_points += m.max_points;
  }
}

std::string to_json(const StudentGrade& grade) { return dump_json(student_json(grade), 2) + "\n"; }

StudentGrade student_grade_from_json(const std::string& text, const std::string& path) {
  try {
    json j = parse_json_document(text, path);
    StudentGrade g;
    g.student = j.at("student").get<std::string>();
    g.hash = j.at("hash").get<std::string>();
    g.points = j.at("points").get<double>();
    g.max_points = j.at("max").get<double>();
    g.reasons = j.at("reasons").get<std::vector<std::string>>();
    for (const json& mj : j.at("modules")) {
      GradedModule m;
      m.folder = mj.at("module").get<std::string>();
      m.submitted = mj.at("submitted").get<std::string>();
      m.points = mj.at("points").get<double>();
      m.max_points = mj.at("max").get<double>();
      m.reasons = mj.at("reasons").get<std::vector<std::string>>();
      for (const json& d : mj.at("tampering")) {
        m.tampering.push_back(Diagnostic{d.at("file").get<std::string>(), d.at("line").get<int>(),
                                         d.at("message").get<std::string>(), ""});
      }
      for (const json& tj : mj.at("tests")) {
        GradedTest t;
        t.name = tj.at("name").get<std::string>();
        t.points = tj.at("points").get<double>();
        t.max_points = tj.at("max").get<double>();
        t.status = tj.at("status").get<std::string>();
        std::optional<Visibility> v = parse_visibility(tj.at("visibility").get<std::string>());
        if (!v) throw Error("unknown visibility " + tj.at("visibility").get<std::string>());
        t.visibility = *v;
        t.hidden = tj.at("hidden").get<bool>();
        t.output = tj.at("output").get<std::string>();
        m.tests.push_back(std::move(t));
      }
      g.modules.push_back(std::move(m));
    }
    return g;
  } catch (const DiagnosticError& e) {
    throw Error(e.diagnostics().empty()
                    ? path
                    : e.diagnostics().front().format() + " (tito grade wrote this file; grade the student again)");
  } catch (const std::exception& e) {
    throw Error(path + ": not a result tito grade wrote (" + std::string(e.what()) + "); grade the student again");
  }
}

std::string grades_json(const std::vector<StudentGrade>& grades) {
  json students = json::array();
  for (const StudentGrade& g : grades) students.push_back(student_json(g));
  return dump_json(json{{"students", students}}, 2) + "\n";
}

std::string grades_csv(const std::vector<StudentGrade>& grades, const std::vector<std::string>& modules) {
  std::string out = "student,total,max";
  for (const std::string& m : modules) out += "," + csv_field(m);
  out += "\n";
  for (const StudentGrade& g : grades) {
    out += csv_field(g.student) + "," + points_text(g.points) + "," + points_text(g.max_points);
    for (const std::string& folder : modules) {
      out += ",";
      for (const GradedModule& m : g.modules) {
        if (m.folder == folder) out += points_text(m.points);
      }
    }
    out += "\n";
  }
  return out;
}

std::string gradescope_results(const StudentGrade& grade) {
  json tests = json::array();
  std::string output;
  for (const std::string& r : grade.reasons) output += r + "\n";
  for (const GradedModule& m : grade.modules) {
    for (const std::string& r : m.reasons) output += m.folder + ": " + r + "\n";
    if (!m.tampering.empty()) {
      output += m.folder + ": code outside the exercises differs from the course's (ignored):\n";
      for (const Diagnostic& d : m.tampering) output += "  " + d.format() + "\n";
    }
    for (const GradedTest& t : m.tests) {
      json test = {{"name", m.folder + " " + t.name},
                   {"score", rounded(t.points)},
                   {"max_score", rounded(t.max_points)},
                   {"status", t.status == kPassed ? "passed" : "failed"},
                   {"visibility", to_string(t.visibility)}};
      if (!t.output.empty() || t.status != kPassed) {
        test["output"] = t.status == kPassed ? t.output : t.status + (t.output.empty() ? "" : ": " + t.output);
      }
      tests.push_back(std::move(test));
    }
  }
  json results = {{"score", rounded(grade.points)}, {"tests", tests}};
  if (!output.empty()) results["output"] = output;
  return dump_json(results, 2) + "\n";
}

std::string points_text(double points) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.2f", rounded(points));
  std::string s = buffer;
  while (s.back() == '0') s.pop_back();
  if (s.back() == '.') s.pop_back();
  return s == "-0" ? "0" : s;
}

bool shown_to_student(const GradedTest& test) { return test.visibility == Visibility::Visible; }

}  // namespace tito
