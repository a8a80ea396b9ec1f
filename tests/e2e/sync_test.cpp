// `tito sync` on the shared fixture course: --check, hand edits, dev-file
// errors, compile errors, and finding the course from a nested folder.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "e2e/course_copy.hpp"

namespace tito::e2e {
namespace {

using ::testing::HasSubstr;

using SyncCommand = FixtureCourseTest;

TEST_F(SyncCommand, CheckExitsZeroWhenThePackageIsUpToDate) {
  std::map<std::string, std::string> before = snapshot(root() / "package");
  TitoRun r = run({"sync", "--check"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "the package is up to date with the dev files\n");
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(snapshot(root() / "package"), before);
}

TEST_F(SyncCommand, CheckListsWhatADevFileEditWouldChangeAndWritesNothing) {
  FileRestorer restore(dev_file("01_tiny"));
  write(dev_file("01_tiny"), replace(read(dev_file("01_tiny")), "return 2 * x;", "return x + x;"));
  std::map<std::string, std::string> before = snapshot(root() / "package");

  TitoRun r = run({"sync", "--check"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "updated: package/generated/src/tiny.cpp\n");
  EXPECT_EQ(r.err, "error: the package is out of date: 1 file differs from the dev files; run `tito sync`\n");
  EXPECT_EQ(snapshot(root() / "package"), before);
}

TEST_F(SyncCommand, HandEditedGeneratedFileSurvivesUntilForced) {
  fs::path generated = root() / "package" / "generated" / "src" / "tiny.cpp";
  std::string original = read(generated);
  FileRestorer restore(generated);
  write(generated, original + "int edited_by_hand = 1;\n");

  TitoRun refused = run({"sync"});
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_EQ(refused.out, "");
  EXPECT_EQ(refused.err,
            "error: package/generated/src/tiny.cpp: generated file was edited by hand; not overwritten. Move the edit "
            "into its dev file, or run `tito sync --force` to replace it\n"
            "error: nothing was written\n");
  EXPECT_EQ(read(generated), original + "int edited_by_hand = 1;\n");

  TitoRun forced = run({"sync", "--force"});
  EXPECT_EQ(forced.exit_code, 0) << forced.err;
  EXPECT_EQ(read(generated), original);
}

TEST_F(SyncCommand, MalformedDevFileIsReportedAtItsLineAndNothingIsWritten) {
  FileRestorer restore_tiny(dev_file("01_tiny"));
  FileRestorer restore_more(dev_file("02_more"));
  // A good edit that a sync would export...
  write(dev_file("02_more"),
        replace(read(dev_file("02_more")), "return tiny::add_one(tiny::add_one(x));", "return tiny::add_one(x) + 1;"));
  // ...and a misspelt directive in the module it requires.
  std::string broken = replace(read(dev_file("01_tiny")), "//| export impl\n", "//| export impl\n//| tset\n");
  write(dev_file("01_tiny"), broken);
  std::map<std::string, std::string> before = snapshot(root() / "package" / "generated");

  TitoRun r = run({"sync"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "error: modules/01_tiny/tiny_dev.cpp:" + std::to_string(line_of(broken, "//| tset")) +
                       ": unknown directive '//| tset' (did you mean '//| test'?); known: default_exp, export, export "
                       "impl, test, demo, hide\n"
                       "    //| tset\n"
                       "error: nothing was written\n");
  EXPECT_EQ(snapshot(root() / "package" / "generated"), before);
}

TEST_F(SyncCommand, CompileErrorIsReportedAtTheDevFileLine) {
  FileRestorer restore(dev_file("01_tiny"));
  std::string broken = replace(read(dev_file("01_tiny")), "return x + 1;", "return x + undeclared_name;");
  write(dev_file("01_tiny"), broken);
  std::string line = std::to_string(line_of(broken, "undeclared_name"));

  TitoRun r = run({"sync"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("\nmodules/01_tiny/tiny_dev.cpp:" + line + ":"));
  EXPECT_THAT(r.err, HasSubstr("undeclared_name"));
  EXPECT_THAT(r.err, HasSubstr("error: 01_tiny does not compile; the messages above point at "
                               "modules/01_tiny/tiny_dev.cpp\n"));
  EXPECT_THAT(r.err, HasSubstr("warning: 02_more was not built: it requires 01_tiny, which does not compile\n"));
  // Course paths are shown relative to the course, as the student knows them.
  EXPECT_EQ(r.err.find(root().string()), std::string::npos) << r.err;
}

TEST_F(SyncCommand, FindsTheCourseFromANestedFolder) {
  TitoRun check = run({"sync", "--check"}, "modules/01_tiny/tests");
  EXPECT_EQ(check.exit_code, 0) << check.err;
  EXPECT_EQ(check.out, "the package is up to date with the dev files\n");

  TitoRun list = run({"module", "list"}, "modules/01_tiny/tests");
  EXPECT_EQ(list.exit_code, 0) << list.err;
  EXPECT_THAT(list.out, HasSubstr("\n01  tiny     Tiny     easy        synced"));
}

TEST_F(SyncCommand, SyncOfOneModuleBuildsWhatItRequires) {
  TitoRun r = run({"sync", "more"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "");
  EXPECT_THAT(r.err, HasSubstr("Building 2 modules\n"));
}

TEST_F(SyncCommand, UnknownModuleIsAnErrorNamingTheModules) {
  TitoRun r = run({"sync", "tensr"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err,
            "error: no module 'tensr' in this course (modules: 01_tiny, 02_more, 03_trouble; `tito module list` shows "
            "them)\n");
}

}  // namespace
}  // namespace tito::e2e
