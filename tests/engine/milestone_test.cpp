// The milestone registry (milestones/*/milestone.json), what sync generates
// for it, results.json, the kept runs and where each milestone stands.
#include "engine/milestone.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "engine/milestone_run.hpp"
#include "engine/sync.hpp"
#include "engine/temp_course.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"

namespace tito {
namespace {

using testing::diagnostics_of;
using testing::TempCourse;

// A milestone.json for folder NN_name requiring `requires_`.
std::string milestone_json(const std::string& folder, const std::string& requires_ = "\"a\"") {
  return "{\n"
         "  \"name\": \"" +
         folder.substr(3) +
         "\",\n"
         "  \"number\": " +
         std::to_string(std::stoi(folder.substr(0, 2))) +
         ",\n"
         "  \"title\": \"Title of " +
         folder.substr(3) +
         "\",\n"
         "  \"year\": 1986,\n"
         "  \"requires\": [" +
         requires_ +
         "],\n"
         "  \"target\": \"≥ 88% test accuracy\"\n"
         "}\n";
}

class MilestoneTest : public ::testing::Test {
 protected:
  void SetUp() override {
    course.add_module("01_a");
    course.add_module("02_b", {"a"});
    course.add_module("03_c");
    course.write("milestones/common/milestone.hpp", "// the harness\n");
  }
  // A milestone folder with its milestone.json and a main.cpp.
  void add(const std::string& folder, const std::string& json) const {
    course.write("milestones/" + folder + "/milestone.json", json);
    course.write("milestones/" + folder + "/main.cpp", "int main() {}\n");
  }
  Milestones load() {
    opened_ = Course::open(course.root());
    return Milestones::load(*opened_);
  }
  std::string errors() {
    return diagnostics_of([&] { load(); });
  }
  const Course& opened() const { return *opened_; }

  TempCourse course;

 private:
  std::optional<Course> opened_;
};

TEST_F(MilestoneTest, ReadsEveryFieldOfMilestoneJson) {
  course.write("data/datasets.json", R"({"datasets": {"fashion-mnist": {}, "cifar10": {}}})");
  course.write("milestones/03_mlp/milestone.json",
               "{\n"
               "  \"name\": \"mlp\",\n"
               "  \"number\": 3,\n"
               "  \"title\": \"Multi-layer perceptron\",\n"
               "  \"year\": 1986,\n"
               "  \"description\": \"Backpropagation trains hidden layers.\",\n"
               "  \"requires\": [\"b\", \"c\"],\n"
               "  \"data\": [\"fashion-mnist\"],\n"
               "  \"target\": \"≥ 88% test accuracy on Fashion-MNIST\",\n"
               "  \"sources\": [\"main.cpp\", \"model/net.cpp\"]\n"
               "}\n");
  course.write("milestones/03_mlp/main.cpp", "int main() {}\n");
  course.write("milestones/03_mlp/model/net.cpp", "\n");
  Milestones ms = load();
  EXPECT_TRUE(ms.present());
  ASSERT_EQ(ms.all().size(), 1u);
  const MilestoneInfo& m = ms.all()[0];
  EXPECT_EQ(m.folder, "03_mlp");
  EXPECT_EQ(m.number, 3);
  EXPECT_EQ(m.name, "mlp");
  EXPECT_EQ(m.title, "Multi-layer perceptron");
  EXPECT_EQ(m.year, 1986);
  EXPECT_EQ(m.heading(), "Multi-layer perceptron (1986)");
  EXPECT_EQ(m.description, "Backpropagation trains hidden layers.");
  EXPECT_EQ(m.required, (std::vector<std::string>{"b", "c"}));
  EXPECT_EQ(m.data, std::vector<std::string>{"fashion-mnist"});
  EXPECT_EQ(m.target, "≥ 88% test accuracy on Fashion-MNIST");
  EXPECT_EQ(m.sources, (std::vector<std::string>{"main.cpp", "model/net.cpp"}));
  EXPECT_EQ(m.dir, course.root() / "milestones" / "03_mlp");
  EXPECT_EQ(m.manifest(), course.root() / "milestones" / "03_mlp" / "milestone.json");
  EXPECT_EQ(milestone_target(m), "milestone_mlp");
}

TEST_F(MilestoneTest, SourcesDefaultToMainAndOrderIsByNumber) {
  add("02_xor", milestone_json("02_xor"));
  add("01_perceptron", milestone_json("01_perceptron"));
  Milestones ms = load();
  ASSERT_EQ(ms.all().size(), 2u);
  EXPECT_EQ(ms.all()[0].folder, "01_perceptron");
  EXPECT_EQ(ms.all()[1].folder, "02_xor");
  EXPECT_EQ(ms.all()[0].sources, std::vector<std::string>{"main.cpp"});
  EXPECT_TRUE(ms.all()[0].data.empty());
}

TEST_F(MilestoneTest, ACourseWithoutMilestonesHasNone) {
  course.remove("milestones");
  Milestones ms = load();
  EXPECT_FALSE(ms.present());
  EXPECT_TRUE(ms.all().empty());
}

TEST_F(MilestoneTest, TheHarnessFolderFilesAndHiddenFoldersAreNotMilestones) {
  course.write("milestones/README.md", "# milestones\n");
  course.write("milestones/.01_x.tmp/milestone.json", "not JSON");
  add("01_one", milestone_json("01_one"));
  Milestones ms = load();
  ASSERT_EQ(ms.all().size(), 1u);
  EXPECT_EQ(ms.all()[0].folder, "01_one");
}

TEST_F(MilestoneTest, FolderNamesMustBeNumberedSnakeCase) {
  add("mlp", milestone_json("01_mlp"));
  EXPECT_EQ(errors(),
            "milestones/mlp: milestone folders are named NN_name (two digits, then snake_case), like 03_mlp; "
            "milestones/common holds the harness");
}

TEST_F(MilestoneTest, MissingMilestoneJsonIsAnError) {
  course.write("milestones/01_one/main.cpp", "int main() {}\n");
  EXPECT_EQ(errors(),
            "milestones/01_one/milestone.json: missing milestone.json (every milestone folder has one; see "
            "milestones/README.md)");
}

TEST_F(MilestoneTest, InvalidJsonIsAnErrorAtItsLine) {
  add("01_one", "{\n  \"name\": \"one\",\n  \"number\": 1,,\n}\n");
  EXPECT_EQ(errors(),
            "milestones/01_one/milestone.json:3: invalid JSON: syntax error while parsing object key - unexpected "
            "','; expected string literal");
}

TEST_F(MilestoneTest, MilestoneJsonMustBeAnObject) {
  add("01_one", "[\"one\"]\n");
  EXPECT_EQ(errors(), "milestones/01_one/milestone.json:1: milestone.json must hold a JSON object");
}

TEST_F(MilestoneTest, MissingFieldsAreEachAnError) {
  add("01_one", "{}\n");
  EXPECT_EQ(errors(),
            "milestones/01_one/milestone.json:1: missing \"name\"\n"
            "milestones/01_one/milestone.json:1: missing \"title\"\n"
            "milestones/01_one/milestone.json:1: missing \"target\"\n"
            "milestones/01_one/milestone.json:1: missing \"number\"\n"
            "milestones/01_one/milestone.json:1: missing \"year\" (when the network was first published, e.g. 1986)\n"
            "milestones/01_one/milestone.json:1: missing \"requires\" (the modules the milestone uses, e.g. "
            "[\"losses\"])");
}

TEST_F(MilestoneTest, FieldsOfTheWrongTypeAreErrorsAtTheirLines) {
  add("01_one",
      "{\n"
      "  \"name\": \"one\",\n"
      "  \"number\": \"1\",\n"
      "  \"title\": [\"One\"],\n"
      "  \"year\": 1957.5,\n"
      "  \"requires\": \"a\",\n"
      "  \"data\": [1],\n"
      "  \"target\": \"two\\nlines\"\n"
      "}\n");
  EXPECT_EQ(errors(),
            "milestones/01_one/milestone.json:4: \"title\" must be a string\n"
            "milestones/01_one/milestone.json:8: \"target\" must be one line of text\n"
            "milestones/01_one/milestone.json:3: \"number\" must be a whole number\n"
            "milestones/01_one/milestone.json:5: \"year\" must be a whole number, e.g. 1986\n"
            "milestones/01_one/milestone.json:6: \"requires\" must be a list of strings\n"
            "milestones/01_one/milestone.json:7: \"data\" must be a list of strings");
}

TEST_F(MilestoneTest, UnknownKeysAreErrorsWithADidYouMean) {
  std::string json = milestone_json("01_one");
  json.replace(json.find("  \"year\""), 0, "  \"require\": [\"a\"],\n");
  add("01_one", json);
  EXPECT_EQ(errors(),
            "milestones/01_one/milestone.json:5: unknown key \"require\" (did you mean 'requires'?); milestone.json "
            "holds name, number, title, year, description, requires, faster_with, data, target, sources");
}

TEST_F(MilestoneTest, NameAndNumberMustAgreeWithTheFolder) {
  add("01_one", milestone_json("02_two"));
  EXPECT_EQ(errors(),
            "milestones/01_one/milestone.json:3: \"number\" is 2 but the folder is 01_one; make them agree\n"
            "milestones/01_one/milestone.json:2: \"name\" is 'two' but the folder is 01_one; make them agree");
}

TEST_F(MilestoneTest, RequiresMustNameAModule) {
  add("01_one", milestone_json("01_one", ""));
  EXPECT_EQ(errors(), "milestones/01_one/milestone.json:6: \"requires\" must name the modules the milestone uses");
}

TEST_F(MilestoneTest, UnknownRequiredModuleIsAnErrorAtItsLine) {
  add("01_one", milestone_json("01_one", "\n    \"a\",\n    \"bb\"\n  "));
  EXPECT_EQ(errors(),
            "milestones/01_one/milestone.json:8: requires unknown module 'bb' (did you mean 'b'?) (modules: a, b, c)");
}

TEST_F(MilestoneTest, UnknownDatasetIsAnErrorNamingTheRegistry) {
  course.write("data/datasets.json", R"({"datasets": {"fashion-mnist": {}, "cifar10": {}}})");
  std::string json = milestone_json("01_one");
  json.replace(json.find("  \"target\""), 0, "  \"data\": [\"fashion_mnist\"],\n");
  add("01_one", json);
  EXPECT_EQ(errors(),
            "milestones/01_one/milestone.json:7: unknown dataset 'fashion_mnist' (did you mean 'fashion-mnist'?) "
            "(data/datasets.json has cifar10, fashion-mnist)");
  course.remove("data");
  EXPECT_EQ(errors(),
            "milestones/01_one/milestone.json:7: reads dataset 'fashion_mnist', but the course has no "
            "data/datasets.json");
}

TEST_F(MilestoneTest, SourcesMustBeCppFilesThatExistInsideTheFolder) {
  course.write("milestones/01_one/milestone.json", milestone_json("01_one"));
  EXPECT_EQ(errors(),
            "milestones/01_one/milestone.json: missing main.cpp (the milestone's program; or list its files in "
            "\"sources\")");
  std::string json = milestone_json("01_one");
  json.replace(json.find("  \"target\""), 0, "  \"sources\": [\"main.cpp\", \"../x.cpp\", \"notes.txt\"],\n");
  add("01_one", json);
  EXPECT_EQ(errors(),
            "milestones/01_one/milestone.json:7: source '../x.cpp' must be a .cpp file inside 01_one/\n"
            "milestones/01_one/milestone.json:7: source 'notes.txt' must be a .cpp file inside 01_one/");
  json = milestone_json("01_one");
  json.replace(json.find("  \"target\""), 0, "  \"sources\": [\"main.cpp\", \"net.cpp\"],\n");
  add("01_one", json);
  EXPECT_EQ(errors(),
            "milestones/01_one/milestone.json:7: source 'net.cpp' does not exist (milestones/01_one/net.cpp)");
}

TEST_F(MilestoneTest, DuplicateNumbersAndNamesAreErrors) {
  add("01_one", milestone_json("01_one"));
  add("01_two", milestone_json("01_two"));
  EXPECT_EQ(errors(), "milestones/01_two: two milestones numbered 1: 01_one and 01_two (renumber one of them)");
  course.remove("milestones/01_two");
  add("02_one", milestone_json("02_one"));
  EXPECT_EQ(errors(), "milestones/02_one: two milestones named 'one': 01_one and 02_one (rename one of them)");
}

TEST_F(MilestoneTest, FindsByNameFolderOrNumber) {
  add("01_perceptron", milestone_json("01_perceptron"));
  add("03_mlp", milestone_json("03_mlp"));
  Milestones ms = load();
  EXPECT_EQ(ms.find("mlp").folder, "03_mlp");
  EXPECT_EQ(ms.find("03_mlp").folder, "03_mlp");
  EXPECT_EQ(ms.find("3").folder, "03_mlp");
  EXPECT_EQ(ms.find("01").folder, "01_perceptron");
}

TEST_F(MilestoneTest, AnUnknownNameIsAUsageErrorWithADidYouMeanAndTheList) {
  add("01_perceptron", milestone_json("01_perceptron"));
  add("03_mlp", milestone_json("03_mlp"));
  Milestones ms = load();
  try {
    ms.find("mpl");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.exit_code(), kExitUsage);
    EXPECT_STREQ(e.what(),
                 "no milestone 'mpl' in this course (did you mean 'mlp'?); milestones: 01_perceptron, 03_mlp "
                 "(`tito milestone list` shows them)");
  }
  EXPECT_EQ(diagnostics_of([&] { ms.find("cnn"); }),
            "no milestone 'cnn' in this course; milestones: 01_perceptron, 03_mlp (`tito milestone list` shows them)");
  course.remove("milestones");
  EXPECT_EQ(diagnostics_of([&] { load().find("mlp"); }),
            "no milestone 'mlp': this course has no milestones yet (milestones/NN_name/milestone.json; see "
            "milestones/README.md)");
}

TEST_F(MilestoneTest, RequiredModulesAreTheClosureInBuildOrder) {
  add("01_one", milestone_json("01_one", "\"c\", \"b\""));
  Milestones ms = load();
  std::vector<std::string> folders;
  for (const ModuleInfo* m : required_modules(opened(), ms.all()[0])) folders.push_back(m->folder);
  EXPECT_EQ(folders, (std::vector<std::string>{"01_a", "02_b", "03_c"}));
}

TEST_F(MilestoneTest, FasterWithNamesModulesBeyondTheRequiredOnesAndIsExported) {
  std::string json = milestone_json("01_one", "\"a\"");
  json.replace(json.find("  \"target\""), 0, "  \"faster_with\": [\"b\"],\n");
  add("01_one", json);
  Milestones ms = load();
  EXPECT_EQ(ms.all()[0].faster_with, (std::vector<std::string>{"b"}));
  std::vector<std::string> folders;
  for (const ModuleInfo* m : faster_modules(opened(), ms.all()[0])) folders.push_back(m->folder);
  EXPECT_EQ(folders, (std::vector<std::string>{"02_b"})) << "01_a is required already";
  EXPECT_EQ(faster_milestone_target(ms.all()[0]), "milestone_one_faster");
  const std::vector<GeneratedFile> files = export_milestones(ms.all());
  EXPECT_THAT(files.back().content, ::testing::HasSubstr("  REQUIRES \"a\"\n  FASTER_WITH \"b\"\n)\n"));

  std::string unknown = milestone_json("01_one", "\"a\"");
  unknown.replace(unknown.find("  \"target\""), 0, "  \"faster_with\": [\"bb\"],\n");
  add("01_one", unknown);
  EXPECT_EQ(errors(),
            "milestones/01_one/milestone.json:7: \"faster_with\" names unknown module 'bb' (did you mean 'b'?) "
            "(modules: a, b, c)");
  // A module the course does not have yet, with no name like it, is left out.
  std::string later = milestone_json("01_one", "\"a\"");
  later.replace(later.find("  \"target\""), 0, "  \"faster_with\": [\"acceleration\"],\n");
  add("01_one", later);
  Milestones without = load();
  EXPECT_TRUE(faster_modules(opened(), without.all()[0]).empty());
  std::string twice = milestone_json("01_one", "\"a\"");
  twice.replace(twice.find("  \"target\""), 0, "  \"faster_with\": [\"a\"],\n");
  add("01_one", twice);
  EXPECT_EQ(errors(), "milestones/01_one/milestone.json:7: 'a' is in both \"requires\" and \"faster_with\"; keep it in one");
  std::string empty = milestone_json("01_one", "\"a\"");
  empty.replace(empty.find("  \"target\""), 0, "  \"faster_with\": [],\n");
  add("01_one", empty);
  EXPECT_EQ(errors(),
            "milestones/01_one/milestone.json:7: \"faster_with\" must name modules that make the milestone faster (or "
            "leave it out)");
}

TEST_F(MilestoneTest, ExportWritesTheCMakeListAndEachMilestonesInfo) {
  std::string json = milestone_json("01_one", "\"b\"");
  json.replace(json.find("\"Title of one\""), 14, "\"The \\\"one\\\"\"");
  json.replace(json.find("  \"target\""), 0, "  \"sources\": [\"main.cpp\", \"net.cpp\"],\n");
  add("01_one", json);
  course.write("milestones/01_one/net.cpp", "\n");
  std::vector<GeneratedFile> files = export_milestones(load().all());
  ASSERT_EQ(files.size(), 2u);
  EXPECT_EQ(files[0].path, "package/generated/milestones/01_one.cpp");
  std::string info =
      "#include <milestone.hpp>\n\n"
      "// The facts of milestones/01_one/milestone.json; the two paths come from the build (package/CMakeLists.txt).\n"
      "const milestone::Info& milestone::info() {\n"
      "  static const Info facts{\"one\", \"01_one\",\n"
      "                          \"The \\\"one\\\" (1986)\",\n"
      "                          \"≥ 88% test accuracy\",\n"
      "                          MILESTONE_DEFAULT_OUT, MILESTONE_DEFAULT_DATA};\n"
      "  return facts;\n"
      "}\n";
  EXPECT_EQ(files[0].content, banner_file("//", "milestones/01_one/milestone.json", info));
  EXPECT_EQ(files[1].path, "package/generated/milestones.cmake");
  std::string cmake =
      "# The course's milestones, each a program built against the modules it requires\n"
      "# (tinytorch_add_milestone in package/CMakeLists.txt).\n"
      "tinytorch_add_milestone(\n"
      "  NAME one\n"
      "  FOLDER 01_one\n"
      "  SOURCES \"milestones/01_one/main.cpp\" \"milestones/01_one/net.cpp\"\n"
      "  INFO \"package/generated/milestones/01_one.cpp\"\n"
      "  REQUIRES \"b\"\n"
      ")\n";
  EXPECT_EQ(files[1].content, banner_file("#", "milestones/*/milestone.json", cmake));
  std::optional<Banner> banner = read_banner(files[1].content);
  ASSERT_TRUE(banner);
  EXPECT_TRUE(banner->intact);
}

TEST_F(MilestoneTest, SyncPlansTheMilestoneFilesOnlyInACourseWithMilestones) {
  for (const char* folder : {"01_a", "02_b", "03_c"}) {
    std::string name = std::string(folder).substr(3);
    course.write("modules/" + std::string(folder) + "/" + name + "_dev.cpp",
                 "// %%\n//| default_exp " + name + "\n// %%\n//| export\nint " + name + "();\n");
  }
  add("01_one", milestone_json("01_one"));
  Course c = Course::open(course.root());
  SyncPlan plan = plan_sync(c, {});
  std::vector<std::string> milestone_files;
  for (const FilePlan& f : plan.files) {
    if (f.path.find("milestone") != std::string::npos)
      milestone_files.push_back(std::string(describe(f.change)) + " " + f.path);
  }
  EXPECT_EQ(milestone_files, (std::vector<std::string>{"created package/generated/milestones/01_one.cpp",
                                                       "created package/generated/milestones.cmake"}));
  // package/CMakeLists.txt's placeholder is tito's to replace.
  course.write("package/generated/milestones.cmake", kMilestonesPlaceholder);
  plan = plan_sync(c, {});
  EXPECT_TRUE(plan.ok()) << plan.errors.front().format();
  apply_sync(c, plan);
  EXPECT_NE(course.read("package/generated/milestones.cmake").find("NAME one"), std::string::npos);

  course.remove("milestones");
  Course without = Course::open(course.root());
  plan = plan_sync(without, {});
  std::vector<std::string> removed;
  for (const FilePlan& f : plan.files) {
    if (f.path.find("milestone") != std::string::npos)
      removed.push_back(std::string(describe(f.change)) + " " + f.path);
  }
  EXPECT_EQ(removed, (std::vector<std::string>{"removed package/generated/milestones/01_one.cpp",
                                               "removed package/generated/milestones.cmake"}));
}

TEST_F(MilestoneTest, ABrokenMilestoneJsonStopsTheSync) {
  add("01_one", "{}\n");
  Course c = Course::open(course.root());
  EXPECT_EQ(diagnostics_of([&] { plan_sync(c, {}); }).substr(0, 50),
            "milestones/01_one/milestone.json:1: missing \"name\"");
}

// results.json as the harness writes it.
constexpr const char* kResults = R"({
  "format": "tinytorch-milestone-results",
  "version": 1,
  "milestone": "mlp",
  "mode": "full",
  "met": true,
  "target": "≥ 88% test accuracy",
  "verdict": "target met",
  "metrics": {"test_accuracy": 0.8812, "seconds_per_epoch": 3.5, "loss": null},
  "epochs": 10,
  "batches": 4690,
  "seconds": 35.2,
  "seed": 0,
  "checks": {"losses": 4690, "grad_norms": 4690, "finite": true, "loss_start": null, "loss_end": null},
  "artifacts": ["log.csv", "curves.png"],
  "notes": ["trained on the real data"]
})";

TEST(MilestoneResults, ReadsEveryField) {
  MilestoneResults r = parse_milestone_results(kResults, "out/results.json");
  EXPECT_EQ(r.milestone, "mlp");
  EXPECT_FALSE(r.quick);
  EXPECT_TRUE(r.met);
  EXPECT_EQ(r.target, "≥ 88% test accuracy");
  EXPECT_EQ(r.verdict, "target met");
  EXPECT_EQ(r.metrics, (Metrics{{"test_accuracy", 0.8812}, {"seconds_per_epoch", 3.5}, {"loss", std::nullopt}}));
  EXPECT_EQ(r.epochs, 10);
  EXPECT_EQ(r.batches, 4690);
  EXPECT_DOUBLE_EQ(r.seconds, 35.2);
  EXPECT_EQ(r.artifacts, (std::vector<std::string>{"log.csv", "curves.png"}));
  EXPECT_EQ(r.notes, std::vector<std::string>{"trained on the real data"});
}

std::string results_error(const std::string& from, const std::string& to) {
  std::string text = kResults;
  text.replace(text.find(from), from.size(), to);
  return diagnostics_of([&] { parse_milestone_results(text, "out/results.json"); });
}

TEST(MilestoneResults, EachWrongFieldIsAnErrorNamingTheFileAndTheField) {
  EXPECT_EQ(diagnostics_of([] { parse_milestone_results("{", "out/results.json"); }).substr(0, 34),
            "out/results.json: not valid JSON (");
  EXPECT_EQ(diagnostics_of([] { parse_milestone_results("[]", "out/results.json"); }),
            "out/results.json: results.json must hold a JSON object");
  EXPECT_EQ(results_error("\"milestone\": \"mlp\",", ""), "out/results.json: missing \"milestone\"");
  EXPECT_EQ(results_error("\"mode\": \"full\"", "\"mode\": \"long\""),
            "out/results.json: \"mode\" must be \"quick\" or \"full\", not 'long'");
  EXPECT_EQ(results_error("\"met\": true", "\"met\": 1"), "out/results.json: \"met\" must be true or false");
  EXPECT_EQ(results_error("\"test_accuracy\": 0.8812", "\"test_accuracy\": \"88%\""),
            "out/results.json: metric \"test_accuracy\" must be a number (or null)");
  EXPECT_EQ(results_error("\"epochs\": 10", "\"epochs\": -1"), "out/results.json: \"epochs\" must be a whole number");
  EXPECT_EQ(results_error("\"log.csv\"", "\"../log.csv\""),
            "out/results.json: artifact '../log.csv' must be a file name inside the output folder");
  EXPECT_EQ(results_error("[\"trained on the real data\"]", "\"trained\""),
            "out/results.json: \"notes\" must be a list of strings");
}

TEST(MilestoneRuns, AreKeptPerMilestoneAndModeAndReadBack) {
  TempCourse course;
  course.add_module("01_a");
  course.write("milestones/01_one/milestone.json", milestone_json("01_one"));
  course.write("milestones/01_one/main.cpp", "int main() {}\n");
  Course c = Course::open(course.root());
  Milestones ms = Milestones::load(c);
  fs::path build = course.root() / "build";

  MilestoneRun full;
  full.milestone = &ms.all()[0];
  full.outcome = MilestoneOutcome::Met;
  full.at = "2026-01-02T03:04:05Z";
  full.out = build / "milestones" / "01_one";
  full.results = parse_milestone_results(kResults, "results.json");
  save_milestone_run(build, c, full);

  MilestoneRun quick = full;
  quick.quick = true;
  quick.outcome = MilestoneOutcome::Crashed;
  quick.results.reset();
  quick.problem = "was killed by signal 11 (SIGSEGV)";
  quick.seconds = 1.5;
  save_milestone_run(build, c, quick);

  MilestoneRun refused = full;
  refused.outcome = MilestoneOutcome::Refused;
  refused.at = "2030-01-01T00:00:00Z";
  save_milestone_run(build, c, refused);  // not a run: not kept

  std::map<std::string, StoredMilestone> runs = load_milestone_runs(build);
  ASSERT_EQ(runs.size(), 1u);
  const StoredMilestone& s = runs["01_one"];
  ASSERT_TRUE(s.full);
  EXPECT_EQ(s.full->outcome, MilestoneOutcome::Met);
  EXPECT_EQ(s.full->at, "2026-01-02T03:04:05Z");
  EXPECT_EQ(s.full->epochs, 10);
  EXPECT_DOUBLE_EQ(s.full->seconds, 35.2);
  EXPECT_EQ(s.full->metrics, (Metrics{{"test_accuracy", 0.8812}, {"seconds_per_epoch", 3.5}, {"loss", std::nullopt}}));
  EXPECT_EQ(s.full->detail, "target met");
  EXPECT_EQ(s.full->out, "build/milestones/01_one");
  ASSERT_TRUE(s.quick);
  EXPECT_EQ(s.quick->outcome, MilestoneOutcome::Crashed);
  EXPECT_EQ(s.quick->detail, "was killed by signal 11 (SIGSEGV)");
  EXPECT_DOUBLE_EQ(s.quick->seconds, 1.5);

  write_file_atomic(build / "tito" / "last-milestones.json", "{ torn");
  EXPECT_TRUE(load_milestone_runs(build).empty());
}

TEST_F(MilestoneTest, StandingIsLockedUntilEveryNeededModulePassesThenFollowsTheLastRuns) {
  add("01_one", milestone_json("01_one", "\"b\""));
  add("02_two", milestone_json("02_two", "\"c\""));
  add("03_three", milestone_json("03_three", "\"a\""));
  Milestones ms = load();
  std::map<std::string, LastResult> last = {{"01_a", {"3/3 passed", true}},
                                            {"02_b", {"1/4 passed, 3 not implemented", false}}};
  std::map<std::string, std::string> modules = module_standing(opened(), last);
  EXPECT_EQ(modules, (std::map<std::string, std::string>{
                         {"01_a", ""}, {"02_b", "1/4 passed, 3 not implemented"}, {"03_c", "not tested yet"}}));
  std::map<std::string, StoredMilestone> runs;
  runs["03_three"].quick = StoredRun{MilestoneOutcome::QuickPassed, {}, 2, 1, "2026-01-01T00:00:00Z", "", ""};

  std::vector<MilestoneStanding> s = milestone_standings(opened(), ms, modules, runs);
  ASSERT_EQ(s.size(), 3u);
  EXPECT_EQ(s[0].state, MilestoneState::Locked);
  ASSERT_EQ(s[0].unfinished.size(), 1u);
  EXPECT_EQ(s[0].unfinished[0].module->folder, "02_b");
  EXPECT_EQ(s[0].unfinished[0].why, "1/4 passed, 3 not implemented");
  EXPECT_EQ(s[1].state, MilestoneState::Locked);
  EXPECT_EQ(s[1].unfinished[0].why, "not tested yet");
  EXPECT_EQ(s[2].state, MilestoneState::QuickPassed);
  EXPECT_EQ(next_milestone(s), &s[2]);

  // A full run decides over a quick one; met is done, so the next is none.
  runs["03_three"].full = StoredRun{MilestoneOutcome::Met, {}, 10, 30, "2026-01-02T00:00:00Z", "target met", ""};
  s = milestone_standings(opened(), ms, modules, runs);
  EXPECT_EQ(s[2].state, MilestoneState::Met);
  EXPECT_EQ(next_milestone(s), nullptr);

  modules["02_b"] = "";
  modules["03_c"] = "";
  runs["03_three"].full->outcome = MilestoneOutcome::BadResults;
  s = milestone_standings(opened(), ms, modules, runs);
  EXPECT_EQ(s[0].state, MilestoneState::Ready);
  EXPECT_EQ(s[1].state, MilestoneState::Ready);
  EXPECT_EQ(s[2].state, MilestoneState::NoResults);
  EXPECT_EQ(next_milestone(s), &s[0]);
}

TEST(MilestoneOutcomes, HaveTheirWords) {
  EXPECT_STREQ(describe(MilestoneOutcome::QuickFailed), "quick failed");
  EXPECT_STREQ(describe(MilestoneOutcome::BadResults), "no results");
  EXPECT_STREQ(describe(MilestoneState::Locked), "locked");
  EXPECT_STREQ(describe(MilestoneState::NoResults), "no results");
}

}  // namespace
}  // namespace tito
