#include "engine/release.hpp"

#include <gtest/gtest.h>

#include "engine/reset.hpp"
#include "engine/temp_course.hpp"
#include "util/error.hpp"

namespace tito {
namespace {

using testing::TempCourse;

constexpr const char* kDev =
    "// %%\n//| default_exp alpha\n"
    "// %%\n//| export\nint alpha();\n"
    "// %%\n//| export impl\nint alpha() {\n  // BEGIN SOLUTION\n  int secret_value = 6 * 7;\n"
    "  return secret_value;\n  // END SOLUTION\n}\n";

class ReleaseTest : public ::testing::Test {
 protected:
  void SetUp() override {
    course.add_module("01_alpha", {}, kDev);
    course.write("modules/01_alpha/tests/test_alpha.cpp",
                 "TEST(Alpha, Value) {}\n// BEGIN HIDDEN TESTS\nTEST(Alpha, HiddenCheck) {}\n// END HIDDEN TESTS\n");
    course.write("modules/01_alpha/README.md", "# Alpha\n");
    course.write("tito/main.cpp", "int main() {}\n");
    course.write("package/generated/include/tinytorch/alpha.hpp", "generated\n");
    course.write("data/cache/big.bin", "cached\n");
    course.write("data/datasets.json", "{}\n");
    course.write("templates/student/README.md", "# For students\n");
  }
  const ReleaseFile* find(const ReleaseContent& r, const std::string& path) {
    for (const ReleaseFile& f : r.files) {
      if (f.path == path) return &f;
    }
    return nullptr;
  }
  TempCourse course;
};

TEST_F(ReleaseTest, HoldsStudentFilesAndNothingGeneratedOrCached) {
  ReleaseContent r = make_release(Course::open(course.root()), {});
  std::vector<std::string> paths;
  for (const ReleaseFile& f : r.files) paths.push_back(f.path);
  EXPECT_EQ(paths, (std::vector<std::string>{".tito/pristine/modules/01_alpha/alpha_dev.cpp", "README.md",
                                             "data/datasets.json", "modules/01_alpha/README.md",
                                             "modules/01_alpha/alpha_dev.cpp", "modules/01_alpha/module.json",
                                             "modules/01_alpha/tests/test_alpha.cpp", "package/CMakeLists.txt",
                                             "templates/student/README.md", "tito/main.cpp"}));
  EXPECT_EQ(find(r, "README.md")->content, "# For students\n");
  EXPECT_EQ(find(r, "modules/01_alpha/tests/test_alpha.cpp")->content, "TEST(Alpha, Value) {}\n");
  EXPECT_NE(find(r, "modules/01_alpha/module.json")->content.find("\"exercises\": 1"), std::string::npos);
  EXPECT_EQ(r.exercises, 1);
  EXPECT_EQ(find(r, "modules/01_alpha/alpha_dev.cpp")->content,
            find(r, ".tito/pristine/modules/01_alpha/alpha_dev.cpp")->content);
}

TEST_F(ReleaseTest, SecretsExcludeLinesThatArePublicElsewhere) {
  course.write("tito/other.cpp", "return secret_value;\n");  // the same line, in public code
  ReleaseContent r = make_release(Course::open(course.root()), {});
  EXPECT_EQ(r.secrets.lines, (std::vector<std::string>{"TEST(Alpha, HiddenCheck) {}", "int secret_value = 6 * 7;"}));
}

TEST_F(ReleaseTest, LeakScanFindsASolutionLineCopiedIntoTheRelease) {
  Course c = Course::open(course.root());
  ReleaseContent r = make_release(c, {});
  TempDir out("release-test");
  write_release(c, r, out.path() / "student", false);
  EXPECT_TRUE(scan_for_leaks(out.path() / "student", r.secrets).empty());
  write_file_atomic(out.path() / "student" / "modules" / "01_alpha" / "notes.txt", "x\n  int secret_value = 6 * 7;\n");
  std::vector<Leak> leaks = scan_for_leaks(out.path() / "student", r.secrets);
  ASSERT_EQ(leaks.size(), 1u);
  EXPECT_EQ(leaks[0].path, "modules/01_alpha/notes.txt");
  EXPECT_EQ(leaks[0].line, 2);
  EXPECT_EQ(leaks[0].text, "int secret_value = 6 * 7;");
}

TEST_F(ReleaseTest, RefusesANonEmptyFolderUnlessForced) {
  Course c = Course::open(course.root());
  ReleaseContent r = make_release(c, {});
  TempDir out("release-test");
  write_file_atomic(out.path() / "mine.txt", "a student's file\n");
  try {
    write_release(c, r, out.path(), false);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()),
              out.path().string() + " is not empty; choose an empty folder, or pass --force to replace it");
  }
  EXPECT_EQ(read_file(out.path() / "mine.txt"), "a student's file\n");
  write_release(c, r, out.path(), true);
  EXPECT_FALSE(fs::exists(out.path() / "mine.txt"));
  EXPECT_TRUE(fs::exists(out.path() / "modules/01_alpha/alpha_dev.cpp"));
}

TEST_F(ReleaseTest, RefusesToReleaseIntoTheCourseOrItsSources) {
  Course c = Course::open(course.root());
  ReleaseContent r = make_release(c, {});
  EXPECT_THROW(write_release(c, r, course.root(), true), Error);
  EXPECT_THROW(write_release(c, r, course.root() / "modules" / "out", true), Error);
  EXPECT_THROW(write_release(c, r, course.root().parent_path(), true), Error);
  EXPECT_TRUE(course.exists("modules/01_alpha/alpha_dev.cpp"));
}

TEST_F(ReleaseTest, IsDeterministic) {
  Course c = Course::open(course.root());
  ReleaseContent a = make_release(c, {});
  ReleaseContent b = make_release(c, {});
  ASSERT_EQ(a.files.size(), b.files.size());
  for (std::size_t i = 0; i < a.files.size(); ++i) {
    EXPECT_EQ(a.files[i].path, b.files[i].path);
    EXPECT_EQ(a.files[i].content, b.files[i].content);
  }
}

TEST_F(ReleaseTest, RefusesANearMissMarkerThatWouldShipTheSolution) {
  std::string dev = kDev;
  dev.replace(dev.find("// END SOLUTION"), 15, "// END SOLUTON");
  dev.replace(dev.find("// BEGIN SOLUTION"), 17, "// begin solution");
  course.write("modules/01_alpha/alpha_dev.cpp", dev);
  std::string tail = "' but is not that marker, so it is kept as a comment (and what it should hide reaches students): "
                     "write '// ";
  EXPECT_EQ(testing::diagnostics_of([&] { make_release(Course::open(course.root()), {}); }),
            "modules/01_alpha/alpha_dev.cpp:9: looks like '// BEGIN SOLUTION" + tail +
                "BEGIN SOLUTION' exactly, or reword it; tito release refuses the file until then\n"
                "    // begin solution\n"
                "modules/01_alpha/alpha_dev.cpp:12: looks like '// END SOLUTION" + tail +
                "END SOLUTION' exactly, or reword it; tito release refuses the file until then\n"
                "    // END SOLUTON");
}

TEST_F(ReleaseTest, RefusesADevFileThatIsNotARegularFile) {
  course.remove("modules/01_alpha/alpha_dev.cpp");
  fs::create_directories(course.root() / "modules/01_alpha/alpha_dev.cpp");
  EXPECT_EQ(testing::diagnostics_of([&] { make_release(Course::open(course.root()), {}); }),
            "modules/01_alpha/alpha_dev.cpp: cannot read it: it is a folder, not a file; the module cannot be released "
            "without it");
}

TEST_F(ReleaseTest, ResetRestoresTheStudentVersionAndKeepsABackup) {
  Course c = Course::open(course.root());
  TempDir out("release-test");
  write_release(c, make_release(c, {}), out.path() / "student", false);
  Course student = Course::open(out.path() / "student");
  const ModuleInfo& m = student.module("alpha");
  std::string pristine = read_file(m.dev_file());
  std::string work = pristine;
  work.replace(work.find("throw tinytorch::NotImplemented();"), 34, "return 42;  // my work");
  write_file_atomic(m.dev_file(), work);

  ResetResult r = reset_module(student, m);
  EXPECT_TRUE(r.changed);
  EXPECT_EQ(read_file(m.dev_file()), pristine);
  std::vector<Backup> backups = list_backups(student, m);
  ASSERT_EQ(backups.size(), 1u);
  EXPECT_EQ(backups[0].stamp, r.backup_stamp);
  EXPECT_EQ(read_file(backups[0].file), work);

  EXPECT_FALSE(reset_module(student, m).changed);  // already the student version: no second backup
  EXPECT_EQ(list_backups(student, m).size(), 1u);

  restore_backup(student, m, r.backup_stamp);
  EXPECT_EQ(read_file(m.dev_file()), work);
  EXPECT_THROW(restore_backup(student, m, "19990101-000000"), Error);
}

}  // namespace
}  // namespace tito
