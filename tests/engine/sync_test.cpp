#include "engine/sync.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "engine/temp_course.hpp"
#include "util/error.hpp"

namespace tito {
namespace {

using testing::diagnostics_of;
using testing::TempCourse;

// A dev file exporting to `target`, whose add() returns `value`.
std::string dev_file(const std::string& target, const std::string& value = "1") {
  return "// %%\n"
         "//| default_exp " +
         target +
         "\n"
         "// %%\n"
         "//| export\n"
         "int add();\n"
         "// %%\n"
         "//| export impl\n"
         "int add() { return " +
         value +
         "; }\n"
         "// %%\n"
         "//| test\n"
         "TEST(Add, One) {}\n";
}

constexpr const char* kBroken = "// %%\n//| exprot\nint f();\n";

// "created package/generated/..." for every file in the plan, in plan order.
std::vector<std::string> plan_lines(const SyncPlan& plan) {
  std::vector<std::string> out;
  for (const FilePlan& f : plan.files) out.push_back(std::string(describe(f.change)) + " " + f.path);
  return out;
}

std::string formatted(const std::vector<Diagnostic>& diagnostics) {
  std::string out;
  for (const Diagnostic& d : diagnostics) out += d.format() + "\n";
  return out;
}

class SyncTest : public ::testing::Test {
 protected:
  void SetUp() override { course.add_module("01_a", {}, dev_file("a")); }
  Course open() const { return Course::open(course.root()); }

  // Plans and applies a sync. The plan points into the course it read, which
  // lives until the next sync.
  SyncPlan sync(const TempCourse& on, const SyncOptions& options = {}) {
    synced_ = Course::open(on.root());
    SyncPlan plan = plan_sync(*synced_, options);
    apply_sync(*synced_, plan);
    return plan;
  }

  TempCourse course;

 private:
  std::optional<Course> synced_;
};

TEST_F(SyncTest, FirstSyncCreatesEveryFile) {
  Course c = open();
  SyncPlan plan = plan_sync(c, {});
  EXPECT_TRUE(plan.ok());
  EXPECT_EQ(plan_lines(plan), (std::vector<std::string>{
                                  "created package/generated/include/tinytorch/a.hpp",
                                  "created package/generated/src/a.cpp",
                                  "created package/generated/tests/01_a.cpp",
                                  "created package/generated/modules/01_a.cmake",
                                  "created package/generated/modules.cmake",
                              }));
  EXPECT_EQ(plan.changes().size(), 5u);
  EXPECT_EQ(plan.files[0].module, "01_a");
  EXPECT_EQ(plan.files[4].module, "");
  ASSERT_EQ(plan.modules.size(), 1u);
  EXPECT_TRUE(plan.modules[0].parsed);
  EXPECT_TRUE(plan.modules[0].selected);
  EXPECT_EQ(plan.state("01_a"), &plan.modules[0]);
  EXPECT_EQ(plan.state("02_b"), nullptr);

  apply_sync(c, plan);
  for (const FilePlan& f : plan.files) EXPECT_EQ(course.read(f.path), f.content) << f.path;
}

TEST_F(SyncTest, SecondSyncChangesNothing) {
  sync(course);
  Course c = open();
  SyncPlan again = plan_sync(c, {});
  EXPECT_TRUE(again.ok());
  EXPECT_TRUE(again.changes().empty());
  EXPECT_EQ(plan_lines(again), (std::vector<std::string>{
                                   "unchanged package/generated/include/tinytorch/a.hpp",
                                   "unchanged package/generated/src/a.cpp",
                                   "unchanged package/generated/tests/01_a.cpp",
                                   "unchanged package/generated/modules/01_a.cmake",
                                   "unchanged package/generated/modules.cmake",
                               }));
}

TEST_F(SyncTest, DevFileEditUpdatesOnlyTheFilesWhoseContentChanged) {
  sync(course);
  course.write("modules/01_a/a_dev.cpp", dev_file("a", "2"));
  SyncPlan plan = sync(course);
  EXPECT_EQ(plan_lines(plan), (std::vector<std::string>{
                                  "unchanged package/generated/include/tinytorch/a.hpp",
                                  "updated package/generated/src/a.cpp",
                                  "unchanged package/generated/tests/01_a.cpp",
                                  "unchanged package/generated/modules/01_a.cmake",
                                  "unchanged package/generated/modules.cmake",
                              }));
  EXPECT_NE(course.read("package/generated/src/a.cpp").find("int add() { return 2; }"), std::string::npos);
}

TEST_F(SyncTest, ManifestPlaceholderIsReplaced) {
  course.write("package/generated/modules.cmake", kManifestPlaceholder);
  Course c = open();
  SyncPlan plan = plan_sync(c, {});
  EXPECT_TRUE(plan.ok());
  EXPECT_EQ(plan.files.back().path, "package/generated/modules.cmake");
  EXPECT_EQ(plan.files.back().change, FileChange::Updated);
}

TEST_F(SyncTest, HandEditedFileIsRefusedAndNothingIsWritten) {
  sync(course);
  course.write("package/generated/src/a.cpp", course.read("package/generated/src/a.cpp") + "int by_hand;\n");
  course.write("modules/01_a/a_dev.cpp", dev_file("a", "2") + "// %%\n//| export\nint more();\n");
  std::map<std::string, std::string> before = course.snapshot("package");

  Course c = open();
  SyncPlan plan = plan_sync(c, {});
  EXPECT_FALSE(plan.ok());
  EXPECT_EQ(plan.files[1].change, FileChange::EditedByHand);
  EXPECT_EQ(formatted(plan.errors),
            "package/generated/src/a.cpp: generated file was edited by hand; not overwritten. Move the edit into its "
            "dev file, or run `tito sync --force` to replace it\n");
  EXPECT_EQ(diagnostics_of([&] { apply_sync(c, plan); }),
            "package/generated/src/a.cpp: generated file was edited by hand; not overwritten. Move the edit into its "
            "dev file, or run `tito sync --force` to replace it");
  EXPECT_EQ(course.snapshot("package"), before);
}

TEST_F(SyncTest, ForceOverwritesAHandEditedFile) {
  SyncPlan first = sync(course);
  course.write("package/generated/src/a.cpp", "// my own version\n");
  SyncPlan plan = sync(course, {{}, /*force=*/true});
  EXPECT_TRUE(plan.ok());
  EXPECT_EQ(plan_lines(plan)[1], "overwritten (was edited by hand) package/generated/src/a.cpp");
  EXPECT_EQ(course.read("package/generated/src/a.cpp"), first.files[1].content);
}

TEST_F(SyncTest, FileWithoutABannerIsNotTitosAndCountsAsEditedByHand) {
  course.write("package/generated/src/a.cpp", "int mine;\n");
  Course c = open();
  SyncPlan plan = plan_sync(c, {});
  EXPECT_EQ(plan.files[1].change, FileChange::EditedByHand);
  EXPECT_FALSE(plan.ok());
}

TEST_F(SyncTest, OrphansOfTitoAreRemoved) {
  sync(course);
  course.write("modules/01_a/a_dev.cpp", dev_file("core/a"));
  SyncPlan plan = sync(course);
  EXPECT_TRUE(plan.warnings.empty());
  EXPECT_EQ(plan_lines(plan), (std::vector<std::string>{
                                  "created package/generated/include/tinytorch/core/a.hpp",
                                  "created package/generated/src/core/a.cpp",
                                  "updated package/generated/tests/01_a.cpp",
                                  "updated package/generated/modules/01_a.cmake",
                                  "unchanged package/generated/modules.cmake",
                                  "removed package/generated/include/tinytorch/a.hpp",
                                  "removed package/generated/src/a.cpp",
                              }));
  EXPECT_FALSE(course.exists("package/generated/include/tinytorch/a.hpp"));
  EXPECT_FALSE(course.exists("package/generated/src/a.cpp"));
  EXPECT_TRUE(course.exists("package/generated/src/core/a.cpp"));
}

TEST_F(SyncTest, HandEditedOrphanIsKeptWithAWarning) {
  sync(course);
  course.write("package/generated/src/a.cpp", course.read("package/generated/src/a.cpp") + "int by_hand;\n");
  course.write("modules/01_a/a_dev.cpp", dev_file("core/a"));
  SyncPlan plan = sync(course);
  EXPECT_TRUE(plan.ok());
  EXPECT_EQ(formatted(plan.warnings),
            "package/generated/src/a.cpp: no module generates this file any more, but it was edited by hand; left "
            "alone (delete it if it is not needed)\n");
  EXPECT_TRUE(course.exists("package/generated/src/a.cpp"));
  EXPECT_FALSE(course.exists("package/generated/include/tinytorch/a.hpp"));
}

TEST_F(SyncTest, FilesThatAreNotTitosAreNeverTouched) {
  course.write("package/generated/NOTES.md", "my notes\n");
  course.write("package/generated/.hidden", "x\n");
  SyncPlan plan = sync(course);
  for (const FilePlan& f : plan.files) EXPECT_EQ(f.path.find("NOTES"), std::string::npos);
  EXPECT_EQ(course.read("package/generated/NOTES.md"), "my notes\n");
}

TEST_F(SyncTest, NothingIsWrittenWhenTheDevFileHasErrors) {
  course.add_module("02_b", {}, dev_file("b"));
  sync(course);
  std::map<std::string, std::string> before = course.snapshot("package");
  course.write("modules/02_b/b_dev.cpp", dev_file("b", "2"));  // would update b's source...
  course.write("modules/01_a/a_dev.cpp", kBroken);             // ...but a is broken

  Course c = open();
  SyncPlan plan = plan_sync(c, {});
  EXPECT_FALSE(plan.ok());
  EXPECT_FALSE(plan.state("01_a")->parsed);
  EXPECT_TRUE(plan.state("02_b")->parsed);
  EXPECT_TRUE(plan.warnings.empty());
  std::string expected =
      "modules/01_a/a_dev.cpp:2: unknown directive '//| exprot' (did you mean '//| export'?); known: default_exp, "
      "export, export impl, test, demo, hide\n"
      "    //| exprot";
  EXPECT_EQ(formatted(plan.errors), expected + "\n");
  EXPECT_EQ(diagnostics_of([&] { apply_sync(c, plan); }), expected);
  EXPECT_EQ(course.snapshot("package"), before);
}

TEST_F(SyncTest, BrokenModuleThatWasNotSelectedIsAWarningAndKeepsItsFiles) {
  course.add_module("02_b", {}, dev_file("b"));
  sync(course);
  course.write("modules/01_a/a_dev.cpp", kBroken);
  course.write("modules/02_b/b_dev.cpp", dev_file("b", "2"));

  SyncPlan plan = sync(course, {{"b"}, false});
  EXPECT_TRUE(plan.ok());
  EXPECT_EQ(formatted(plan.warnings),
            "modules/01_a/a_dev.cpp:2: unknown directive '//| exprot' (did you mean '//| export'?); known: "
            "default_exp, export, export impl, test, demo, hide\n"
            "    //| exprot\n");
  EXPECT_FALSE(plan.state("01_a")->selected);
  EXPECT_FALSE(plan.state("01_a")->parsed);
  EXPECT_TRUE(plan.state("02_b")->selected);
  for (const FilePlan& f : plan.files) EXPECT_NE(f.change, FileChange::Removed) << f.path;
  EXPECT_TRUE(course.exists("package/generated/src/a.cpp"));
  EXPECT_NE(course.read("package/generated/src/b.cpp").find("return 2;"), std::string::npos);
}

TEST_F(SyncTest, RequiredModulesAreSelectedToo) {
  course.add_module("02_b", {"a"}, dev_file("b"));
  course.add_module("03_c", {}, dev_file("c"));
  Course c = open();
  SyncPlan plan = plan_sync(c, {{"b"}, false});
  EXPECT_TRUE(plan.state("01_a")->selected);
  EXPECT_TRUE(plan.state("02_b")->selected);
  EXPECT_FALSE(plan.state("03_c")->selected);
}

TEST_F(SyncTest, HandEditInAModuleThatWasNotSelectedIsAWarning) {
  course.add_module("02_b", {}, dev_file("b"));
  sync(course);
  course.write("package/generated/src/a.cpp", "int mine;\n");
  SyncPlan plan = sync(course, {{"b"}, false});
  EXPECT_TRUE(plan.ok());
  EXPECT_EQ(formatted(plan.warnings),
            "package/generated/src/a.cpp: edited by hand; left alone (not part of this sync)\n");
  EXPECT_EQ(plan.files[1].change, FileChange::Unchanged);
  EXPECT_EQ(course.read("package/generated/src/a.cpp"), "int mine;\n");
}

TEST_F(SyncTest, MissingDevFileIsAnError) {
  course.add_module("02_b");
  Course c = open();
  SyncPlan plan = plan_sync(c, {});
  EXPECT_EQ(formatted(plan.errors), "modules/02_b/b_dev.cpp: missing dev file (each module has b_dev.cpp)\n");
}

TEST_F(SyncTest, UnbalancedMarkersInATestFileAreAnError) {
  course.write("modules/01_a/tests/test_a.cpp", "// BEGIN HIDDEN TESTS\nTEST(A, Two) {}\n");
  Course c = open();
  SyncPlan plan = plan_sync(c, {});
  EXPECT_EQ(formatted(plan.errors),
            "modules/01_a/tests/test_a.cpp:1: BEGIN HIDDEN TESTS is never closed by an END HIDDEN TESTS\n"
            "    // BEGIN HIDDEN TESTS\n");
}

TEST_F(SyncTest, TestFilesJoinTheModulesTestProgram) {
  course.write("modules/01_a/tests/test_b.cpp", "TEST(A, Two) {}\n");
  course.write("modules/01_a/tests/test_a.cpp", "TEST(A, Three) {}\n");
  course.write("modules/01_a/tests/notes.txt", "not a test\n");
  Course c = open();
  SyncPlan plan = plan_sync(c, {});
  const std::string& cmake = plan.files[3].content;
  EXPECT_NE(cmake.find("  TESTS \"modules/01_a/tests/test_a.cpp\" \"modules/01_a/tests/test_b.cpp\" "
                       "\"package/generated/tests/01_a.cpp\"\n"),
            std::string::npos)
      << cmake;
}

TEST_F(SyncTest, TwoModulesExportingToOnePlaceIsAnError) {
  course.add_module("02_b", {}, dev_file("a"));
  Course c = open();
  SyncPlan plan = plan_sync(c, {});
  EXPECT_EQ(formatted(plan.errors),
            "modules/02_b/b_dev.cpp:2: exports to package/generated/include/tinytorch/a.hpp, which 01_a exports to "
            "as well (give one of them another default_exp)\n");
}

// A dev file that is unusable as a fuzzer or an accident leaves it: an error
// at the file (and line), and the module's generated files stay as they were.
class BrokenDevFile : public SyncTest, public ::testing::WithParamInterface<std::pair<const char*, std::string>> {};

TEST_P(BrokenDevFile, IsAnErrorAndKeepsTheModulesGeneratedFiles) {
  sync(course);
  course.add_module("02_b", {}, dev_file("b"));
  sync(course);
  std::map<std::string, std::string> before = course.snapshot("package/generated");
  const auto& [what, expected] = GetParam();
  std::string kind = what;
  fs::path dev = course.root() / "modules/01_a/a_dev.cpp";
  fs::remove(dev);
  if (kind == "folder") {
    fs::create_directories(dev);
  } else if (kind == "fifo") {
    ASSERT_EQ(::mkfifo(dev.c_str(), 0644), 0);
  } else if (kind == "device") {
    fs::create_symlink("/dev/zero", dev);
  } else {
    course.write("modules/01_a/a_dev.cpp", kind == "empty" ? "" : kind == "nul" ? std::string(1, '\0') : "// %%\r//| default_exp a\r");
  }
  Course c = open();
  SyncPlan all = plan_sync(c, {});
  EXPECT_EQ(formatted(all.errors), expected + "\n");
  EXPECT_THROW(apply_sync(c, all), DiagnosticError);
  // Syncing only the other module: a warning, and 01_a's files are kept.
  SyncPlan other = plan_sync(c, {{"b"}, false});
  EXPECT_TRUE(other.ok()) << formatted(other.errors);
  EXPECT_EQ(formatted(other.warnings), expected + "\n");
  apply_sync(c, other);
  EXPECT_EQ(course.snapshot("package/generated"), before);
}

INSTANTIATE_TEST_SUITE_P(
    Sync, BrokenDevFile,
    ::testing::Values(
        std::pair<const char*, std::string>{"empty",
                                            "modules/01_a/a_dev.cpp: the dev file is empty: a module's dev file holds "
                                            "at least its '//| default_exp' cell (templates/module/ shows a whole one)"},
        std::pair<const char*, std::string>{"nul", "modules/01_a/a_dev.cpp:1: a NUL byte: a course source is text; is "
                                                   "this the right file?"},
        std::pair<const char*, std::string>{"cr", "modules/01_a/a_dev.cpp:1: a carriage return without a line feed "
                                                  "(old Mac line endings): save the file with LF (or CRLF) line "
                                                  "endings"},
        std::pair<const char*, std::string>{"folder", "modules/01_a/a_dev.cpp: cannot read it: it is a folder, not a "
                                                      "file"},
        std::pair<const char*, std::string>{"fifo", "modules/01_a/a_dev.cpp: cannot read it: it is a FIFO (a named "
                                                    "pipe), not a regular file"},
        std::pair<const char*, std::string>{"device", "modules/01_a/a_dev.cpp: cannot read it: it is a device, not a "
                                                      "regular file"}),
    [](const auto& info) { return std::string(info.param.first); });

TEST_F(SyncTest, NearMissMarkersAreWarnings) {
  course.write("modules/01_a/a_dev.cpp", dev_file("a") + "// %%\n//| export impl\nint g() {\n  // BEGIN SOLUTON\n  return 3;\n}\n");
  course.write("modules/01_a/tests/test_a.cpp", "// begin hidden tests\n");
  Course c = open();
  SyncPlan plan = plan_sync(c, {});
  EXPECT_TRUE(plan.ok());
  std::vector<int> lines;
  for (const Diagnostic& d : plan.warnings) lines.push_back(d.line);
  ASSERT_EQ(plan.warnings.size(), 2u);
  EXPECT_EQ(plan.warnings[0].path + ": " + plan.warnings[0].message.substr(0, 50),
            "modules/01_a/a_dev.cpp: looks like '// BEGIN SOLUTION' but is not that mar");
  EXPECT_EQ(plan.warnings[1].path, "modules/01_a/tests/test_a.cpp");
  EXPECT_EQ(lines, (std::vector<int>{15, 1}));
}

TEST_F(SyncTest, AFailureWhileMovingFilesIntoPlacePutsBackWhatWasThere) {
  course.add_module("02_b", {}, dev_file("b"));
  sync(course);
  std::map<std::string, std::string> before = course.snapshot("package/generated");
  course.write("modules/01_a/a_dev.cpp", dev_file("a", "2"));
  course.write("modules/02_b/b_dev.cpp", dev_file("b", "2"));
  Course c = open();
  SyncPlan plan = plan_sync(c, {});
  ASSERT_TRUE(plan.ok());
  // Between planning and writing, a folder takes the place of 02_b's source:
  // 01_a's source is renamed into place first, then 02_b's rename fails.
  course.remove("package/generated/src/b.cpp");
  fs::create_directories(course.root() / "package/generated/src/b.cpp/in-the-way");
  EXPECT_EQ(diagnostics_of([&] { apply_sync(c, plan); }),
            "cannot write " + (course.root() / "package/generated/src/b.cpp").string() +
                ": a folder is in the way: Is a directory");
  std::map<std::string, std::string> after = course.snapshot("package/generated");
  before.erase("package/generated/src/b.cpp");
  EXPECT_EQ(after, before) << "01_a's source got its old content back, and no temporary file is left";
}

TEST_F(SyncTest, SyncStateOfEachModule) {
  course.add_module("02_b", {}, dev_file("b"));
  course.add_module("03_c", {}, "// %%\n//| tset\n");
  {
    Course c = open();
    SyncPlan plan = plan_sync(c, {});
    EXPECT_EQ(sync_state(plan, c.module("a")), SyncState::NotSynced);
    EXPECT_EQ(sync_state(plan, c.module("c")), SyncState::DevFileHasErrors);
  }
  course.remove("modules/03_c");
  sync(course);
  course.write("modules/01_a/a_dev.cpp", dev_file("a", "2"));
  course.write("package/generated/src/b.cpp", course.read("package/generated/src/b.cpp") + "// mine\n");
  Course c = open();
  SyncPlan plan = plan_sync(c, {});
  EXPECT_EQ(sync_state(plan, c.module("a")), SyncState::Stale);
  EXPECT_EQ(sync_state(plan, c.module("b")), SyncState::EditedByHand);
  EXPECT_STREQ(describe(SyncState::Stale), "stale");
  EXPECT_STREQ(describe(SyncState::DevFileHasErrors), "dev file has errors");
}

TEST(SyncDescribe, NamesEveryChange) {
  EXPECT_STREQ(describe(FileChange::Unchanged), "unchanged");
  EXPECT_STREQ(describe(FileChange::Created), "created");
  EXPECT_STREQ(describe(FileChange::Updated), "updated");
  EXPECT_STREQ(describe(FileChange::Removed), "removed");
  EXPECT_STREQ(describe(FileChange::EditedByHand), "edited by hand");
  EXPECT_STREQ(describe(FileChange::Overwritten), "overwritten (was edited by hand)");
}

}  // namespace
}  // namespace tito
