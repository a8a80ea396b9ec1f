#include "engine/scaffold.hpp"

#include <gtest/gtest.h>

#include "engine/devfile.hpp"
#include "engine/temp_course.hpp"
#include "util/error.hpp"

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
            "number, requires_json, title, title_id, title_json)");
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
  EXPECT_EQ(dev.default_exp, "layers");
  EXPECT_FALSE(dev.cells_with(CellRole::Export).empty());
  EXPECT_FALSE(dev.cells_with(CellRole::Test).empty());
  EXPECT_TRUE(course.exists("modules/02_layers/tests/test_layers.cpp"));
  EXPECT_NO_THROW(scan_test_file_markers(course.read("modules/02_layers/tests/test_layers.cpp"), "t.cpp"));
  std::string readme = course.read("modules/02_layers/README.md");
  EXPECT_EQ(readme.find("{{"), std::string::npos) << readme;
}

}  // namespace
}  // namespace tito
