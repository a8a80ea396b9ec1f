#include "engine/scaffold.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "engine/devfile.hpp"
#include "engine/temp_course.hpp"
#include "util/error.hpp"
#include "util/text.hpp"

namespace tito {
namespace {

using testing::diagnostics_of;
using testing::TempCourse;

// Small templates whose rendering the tests can state in full.
void write_templates(const TempCourse& course) {
  course.write("templates/module/module.json.in",
               "{\"name\": \"{{name}}\", \"number\": {{number}}, \"title\": \"{{title_json}}\", "
               "\"difficulty\": \"{{difficulty}}\", \"requires\": {{requires_json}}}\n");
  course.write("templates/module/{{name}}_dev.cpp.in", "// {{NN}} {{folder}} {{title}} {{ title_id }}\n");
  course.write("templates/module/tests/test_{{name}}.cpp.in", "TEST({{title_id}}, Works) {}\n");
}

std::map<std::string, std::string> module_files(const TempCourse& course, const std::string& folder) {
  return course.snapshot("modules/" + folder);
}

TEST(ModuleName, MustBeSnakeCase) {
  TempCourse course;
  Course c = Course::open(course.root());
  for (std::string bad : {"DataLoader", "data-loader", "1layer", "data__loader", "loader_", "_loader", ""}) {
    EXPECT_EQ(check_module_name(c, bad),
              "'" + bad +
                  "' is not a module name: use snake_case (lower-case letters, digits and single underscores, "
                  "starting with a letter), like data_loader");
  }
  EXPECT_EQ(check_module_name(c, "data_loader2"), "");
}

TEST(ModuleName, MustNotBeReserved) {
  TempCourse course;
  Course c = Course::open(course.root());
  for (std::string reserved : {"class", "namespace", "tinytorch", "tito", "test", "modules", "std"}) {
    EXPECT_EQ(check_module_name(c, reserved), "'" + reserved + "' is reserved (a C++ keyword or a name tito uses)");
  }
}

TEST(ModuleName, MustNotBeTaken) {
  TempCourse course;
  course.add_module("01_tensor");
  Course c = Course::open(course.root());
  EXPECT_EQ(check_module_name(c, "tensor"), "a module named 'tensor' exists already: modules/01_tensor");
}

TEST(ModuleName, MustBeAtMostFortyCharacters) {
  TempCourse course;
  Course c = Course::open(course.root());
  std::string forty(40, 'a');
  EXPECT_EQ(check_module_name(c, forty), "");
  EXPECT_EQ(check_module_name(c, forty + "a"),
            "'" + forty + "a' is too long for a module name (40 characters at most)");
}

TEST(RenderTemplate, ReplacesEveryPlaceholder) {
  EXPECT_EQ(render_template("{{a}}-{{ b }}-{{a}}{{b}}", {{"a", "1"}, {"b", "two"}}, "t.in"), "1-two-1two");
  EXPECT_EQ(render_template("no placeholders { } }}", {}, "t.in"), "no placeholders { } }}");
}

TEST(RenderTemplate, UnknownPlaceholderIsAnErrorAtItsLine) {
  EXPECT_EQ(
      diagnostics_of([] {
        render_template("line one\n{{name}}\n  {{nmae}}\n", {{"name", "x"}, {"NN", "01"}}, "templates/module/x.in");
      }),
      "templates/module/x.in:3: unknown placeholder {{nmae}} (known: NN, name)");
}

TEST(RenderTemplate, UnclosedPlaceholderIsAnErrorAtItsLine) {
  EXPECT_EQ(diagnostics_of([] {
              render_template("\n{{name", {{"name", "x"}}, "templates/module/x.in");
            }),
            "templates/module/x.in:2: '{{' without a closing '}}'");
}

TEST(Scaffold, RendersTheTemplatesIntoTheNextNumberedFolder) {
  TempCourse course;
  write_templates(course);
  course.add_module("01_basics");
  course.add_module("03_tensor");
  Course c = Course::open(course.root());

  Scaffolded made = scaffold_module(c, {"data_loader", "", "hard", {"tensor", "1"}});
  EXPECT_EQ(made.folder, "04_data_loader");
  EXPECT_EQ(made.files, (std::vector<std::string>{
                            "modules/04_data_loader/module.json",
                            "modules/04_data_loader/tests/test_data_loader.cpp",
                            "modules/04_data_loader/data_loader_dev.cpp",
                        }));
  EXPECT_EQ(module_files(course, "04_data_loader"),
            (std::map<std::string, std::string>{
                {"modules/04_data_loader/data_loader_dev.cpp", "// 04 04_data_loader Data Loader DataLoader\n"},
                {"modules/04_data_loader/module.json",
                 "{\"name\": \"data_loader\", \"number\": 4, \"title\": \"Data Loader\", \"difficulty\": \"hard\", "
                 "\"requires\": [\"tensor\", \"basics\"]}\n"},
                {"modules/04_data_loader/tests/test_data_loader.cpp", "TEST(DataLoader, Works) {}\n"},
            }));
}

TEST(Scaffold, TitleIsEscapedForJson) {
  TempCourse course;
  write_templates(course);
  scaffold_module(Course::open(course.root()), {"quotes", "The \"best\" \\ module", "easy", {}});
  EXPECT_EQ(course.read("modules/01_quotes/module.json"),
            "{\"name\": \"quotes\", \"number\": 1, \"title\": \"The \\\"best\\\" \\\\ module\", \"difficulty\": "
            "\"easy\", \"requires\": []}\n");
  EXPECT_EQ(course.read("modules/01_quotes/quotes_dev.cpp"), "// 01 01_quotes The \"best\" \\ module Quotes\n");
}

TEST(Scaffold, NewModuleIsAModuleOfTheCourse) {
  TempCourse course;
  write_templates(course);
  course.add_module("01_basics");
  scaffold_module(Course::open(course.root()), {"layers", "", "medium", {"basics"}});
  Course c = Course::open(course.root());
  const ModuleInfo& m = c.module("layers");
  EXPECT_EQ(m.folder, "02_layers");
  EXPECT_EQ(m.title, "Layers");
  EXPECT_EQ(m.difficulty, "medium");
  EXPECT_EQ(m.required, std::vector<std::string>{"basics"});
}

TEST(Scaffold, CreatedFolderIsReadableLikeAnyOther) {
  TempCourse course;
  write_templates(course);
  scaffold_module(Course::open(course.root()), {"layers", "", "medium", {}});
  fs::perms made = fs::status(course.root() / "modules" / "01_layers").permissions();
  fs::perms sibling = fs::status(course.root() / "modules" / "01_layers" / "tests").permissions();
  EXPECT_EQ(made, sibling);
}

TEST(Scaffold, RefusesBadNamesWithAUsageError) {
  TempCourse course;
  write_templates(course);
  course.add_module("01_tensor");
  Course c = Course::open(course.root());
  std::map<std::string, std::string> before = course.snapshot();
  for (std::string name : {"Bad-Name", "class", "tensor"}) {
    try {
      scaffold_module(c, {name, "", "medium", {}});
      ADD_FAILURE() << name << " was accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.what(), check_module_name(c, name));
      EXPECT_EQ(e.exit_code(), kExitUsage);
    }
  }
  EXPECT_EQ(course.snapshot(), before);
}

TEST(Scaffold, RefusesAnUnknownDifficultyOrRequiredModule) {
  TempCourse course;
  write_templates(course);
  Course c = Course::open(course.root());
  EXPECT_EQ(diagnostics_of([&] {
              scaffold_module(c, {"layers", "", "brutal", {}});
            }),
            "difficulty must be easy, medium or hard; got 'brutal'");
  EXPECT_EQ(diagnostics_of([&] {
              scaffold_module(c, {"layers", "", "easy", {"tensor"}});
            }),
            "no module 'tensor' in this course (modules: none yet; `tito module list` shows them)");
  EXPECT_FALSE(course.exists("modules/01_layers"));
}

TEST(Scaffold, RefusesATitleWithControlCharacters) {
  TempCourse course;
  write_templates(course);
  Course c = Course::open(course.root());
  try {
    scaffold_module(c, {"layers", "Two\nlines", "easy", {}});
    ADD_FAILURE() << "a title with a newline was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "the title 'Two\\x0alines' holds a control character (a newline, a tab, an escape); "
                                     "give a plain one-line title");
    EXPECT_EQ(e.exit_code(), kExitUsage);
  }
  EXPECT_FALSE(course.exists("modules/01_layers"));
}

TEST(Scaffold, NeverOverwritesAnExistingFolder) {
  TempCourse course;
  write_templates(course);
  Course c = Course::open(course.root());
  course.write("modules/01_layers/notes.txt", "mine\n");  // appeared after the course was read
  EXPECT_EQ(diagnostics_of([&] {
              scaffold_module(c, {"layers", "", "easy", {}});
            }),
            "modules/01_layers exists already; nothing was written");
  EXPECT_EQ(module_files(course, "01_layers"),
            (std::map<std::string, std::string>{{"modules/01_layers/notes.txt", "mine\n"}}));
}

TEST(Scaffold, BadTemplateWritesNothing) {
  TempCourse course;
  write_templates(course);
  course.write("templates/module/README.md.in", "# {{title}}\n\n{{autor}}\n");
  Course c = Course::open(course.root());
  EXPECT_EQ(diagnostics_of([&] {
              scaffold_module(c, {"layers", "", "easy", {}});
            }),
            "templates/module/README.md.in:3: unknown placeholder {{autor}} (known: NN, difficulty, folder, name, "
            "number, requires_json, requires_text, title, title_id, title_json)");
  EXPECT_EQ(course.snapshot("modules"), (std::map<std::string, std::string>{}));
  EXPECT_TRUE(fs::is_empty(course.root() / "modules"));
}

TEST(Scaffold, MissingTemplatesIsAnError) {
  TempCourse course;
  EXPECT_EQ(diagnostics_of([&] {
              scaffold_module(Course::open(course.root()), {"layers", "", "easy", {}});
            }),
            "no templates: templates/module is missing (it holds what `tito module new` renders)");
}

TEST(Scaffold, CourseTemplatesMakeADevFileThatParsesAndExports) {
  TempCourse course;
  fs::copy(fs::path(TITO_SOURCE_DIR) / "templates", course.root() / "templates", fs::copy_options::recursive);
  course.add_module("01_basics");
  Scaffolded made = scaffold_module(Course::open(course.root()), {"layers", "", "medium", {"basics"}});
  EXPECT_EQ(made.folder, "02_layers");
  Course c = Course::open(course.root());
  const ModuleInfo& m = c.module("layers");
  EXPECT_EQ(m.number, 2);
  EXPECT_EQ(m.required, std::vector<std::string>{"basics"});
  DevFile dev = parse_dev_file(course.read("modules/02_layers/layers_dev.cpp"), "modules/02_layers/layers_dev.cpp");
  EXPECT_EQ(dev.default_exp, "core/layers");
  EXPECT_FALSE(dev.cells_with(CellRole::Export).empty());
  EXPECT_FALSE(dev.cells_with(CellRole::Test).empty());
  EXPECT_TRUE(course.exists("modules/02_layers/tests/test_layers.cpp"));
  EXPECT_NO_THROW(scan_test_file_markers(course.read("modules/02_layers/tests/test_layers.cpp"), "t.cpp"));
  std::string readme = course.read("modules/02_layers/README.md");
  EXPECT_EQ(readme.find("{{"), std::string::npos) << readme;
}

// The course's own modules, 01 and 02, are the model the template follows:
// what they share, a new module has too.
class TemplateMatchesTheCourse : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* m : {"01_tensor", "02_activations"}) {
      if (!fs::exists(source / "modules" / m)) GTEST_SKIP() << "modules/" << m << " is not part of the course (yet)";
    }
    fs::copy(source / "templates", course.root() / "templates", fs::copy_options::recursive);
    course.add_module("01_basics");
    scaffold_module(Course::open(course.root()), {"layers", "", "medium", {"basics"}});
  }
  static std::vector<std::string> headings(const std::string& markdown) {
    std::vector<std::string> out;
    for (const std::string& line : split_lines(markdown)) {
      if (line.starts_with("## ")) out.push_back(line);
    }
    return out;
  }
  fs::path source = TITO_SOURCE_DIR;
  TempCourse course;
};

TEST_F(TemplateMatchesTheCourse, ReadmeHasTheSectionsOfTheCoursesModulesInTheirOrder) {
  std::vector<std::string> a = headings(read_file(source / "modules/01_tensor/README.md"));
  std::vector<std::string> b = headings(read_file(source / "modules/02_activations/README.md"));
  std::vector<std::string> shared;
  for (const std::string& h : a) {
    if (std::find(b.begin(), b.end(), h) != b.end()) shared.push_back(h);
  }
  ASSERT_FALSE(shared.empty());
  std::vector<std::string> rendered = headings(course.read("modules/02_layers/README.md"));
  std::vector<std::string> in_order;
  for (const std::string& h : rendered) {
    if (std::find(shared.begin(), shared.end(), h) != shared.end()) in_order.push_back(h);
  }
  EXPECT_EQ(in_order, shared) << course.read("modules/02_layers/README.md");
  EXPECT_TRUE(course.read("modules/02_layers/README.md").starts_with("# Module 02: Layers\n\n**Difficulty:** medium · "
                                                                     "**Pattern:** "));
  EXPECT_NE(course.read("modules/02_layers/README.md").find("**Requires:** 01 basics"), std::string::npos);
}

TEST_F(TemplateMatchesTheCourse, ModuleJsonHasEveryFieldOfTheCoursesModulesAndThePatternsReason) {
  auto keys = [](const std::string& text) {
    std::vector<std::string> out;
    nlohmann::ordered_json j = nlohmann::ordered_json::parse(text);
    for (const auto& [k, v] : j.items()) out.push_back(k);
    return out;
  };
  std::vector<std::string> rendered = keys(course.read("modules/02_layers/module.json"));
  for (const char* m : {"01_tensor", "02_activations"}) {
    for (const std::string& k : keys(read_file(source / "modules" / m / "module.json"))) {
      EXPECT_NE(std::find(rendered.begin(), rendered.end(), k), rendered.end()) << k << " of " << m;
    }
  }
  const Course opened = Course::open(course.root());
  const ModuleInfo& layers = opened.module("layers");
  EXPECT_FALSE(layers.pattern.empty());
  EXPECT_FALSE(layers.pattern_reason.empty());   // COURSE.md: the pattern "with its reason"
  EXPECT_FALSE(layers.time_estimate.empty());    // and "an honest time estimate"
}

TEST_F(TemplateMatchesTheCourse, DevFileExportsWhereTheCoursesModulesDoAndGuidesEachExercise) {
  auto default_exp = [](const fs::path& dev) {
    return *parse_dev_file(read_file(dev), dev.string()).default_exp;
  };
  std::string tensor = default_exp(source / "modules/01_tensor/tensor_dev.cpp");
  std::string activations = default_exp(source / "modules/02_activations/activations_dev.cpp");
  std::string folder = tensor.substr(0, tensor.rfind('/') + 1);  // "core/"
  ASSERT_EQ(activations.substr(0, activations.rfind('/') + 1), folder);
  std::string text = course.read("modules/02_layers/layers_dev.cpp");
  DevFile dev = parse_dev_file(text, "layers_dev.cpp");
  EXPECT_EQ(*dev.default_exp, folder + "layers");
  EXPECT_TRUE(dev.warnings.empty());
  for (const char* part : {"**TODO**", "**APPROACH**", "**EXAMPLE**", "**HINTS**", "**SYSTEMS THINKING**", "⭐",
                           "## Summary", "## Reflect", "Next:", "namespace tinytorch {"}) {
    EXPECT_NE(text.find(part), std::string::npos) << part;
  }
  // Markdown before every exercise, quick test and demo.
  int checked = 0;
  for (std::size_t i = 1; i < dev.cells.size(); ++i) {
    const Cell& cell = dev.cells[i];
    bool exercise = !cell.solutions.empty();
    if (!exercise && cell.role != CellRole::Test && cell.role != CellRole::Demo) continue;
    ++checked;
    EXPECT_EQ(dev.cells[i - 1].kind, CellKind::Markdown) << "no markdown before the cell at line " << cell.header_line;
  }
  EXPECT_GE(checked, 3);
}

}  // namespace
}  // namespace tito
