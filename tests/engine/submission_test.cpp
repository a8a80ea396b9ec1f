// Finding a submission's dev files: by name anywhere, the module's folder
// first, never through a dot folder or a symbolic link.
#include "engine/submission.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>

#include "engine/temp_course.hpp"

namespace tito {
namespace {

using testing::TempCourse;

struct Found {
  std::string path, problem;
  bool read = false;
  bool operator==(const Found&) const = default;
};

std::map<std::string, Found> found(const Course& course, const fs::path& folder) {
  std::map<std::string, Found> out;
  for (const auto& [module, f] : find_dev_files(course, folder))
    out[module] = {f.path, f.problem, f.content.has_value()};
  return out;
}

class Submission : public ::testing::Test {
 protected:
  void SetUp() override {
    course_.add_module("01_tiny");
    course_.add_module("02_more");
  }
  Course course() const { return Course::open(course_.root()); }
  void put(const std::string& rel, const std::string& text = "x") const {
    fs::create_directories((sub_.path() / rel).parent_path());
    std::ofstream(sub_.path() / rel) << text;
  }
  TempCourse course_;
  TempDir sub_{"tito-sub"};
};

TEST_F(Submission, DevFilesAreFoundByNameAnywhereAndDotFoldersAreSkipped) {
  put("tiny_dev.cpp");
  put("deep/er/more_dev.cpp");
  put(".tito/pristine/modules/01_tiny/tiny_dev.cpp");
  put(".git/more_dev.cpp");
  Course c = course();
  EXPECT_EQ(found(c, sub_.path()), (std::map<std::string, Found>{{"01_tiny", {"tiny_dev.cpp", "", true}},
                                                                 {"02_more", {"deep/er/more_dev.cpp", "", true}}}));
}

TEST_F(Submission, TheOneInTheModulesFolderWinsAndTwoThereAreAProblem) {
  put("old/tiny_dev.cpp");
  put("modules/01_tiny/tiny_dev.cpp");
  put("a/02_more/more_dev.cpp");
  put("b/02_more/more_dev.cpp");
  Course c = course();
  EXPECT_EQ(found(c, sub_.path()),
            (std::map<std::string, Found>{
                {"01_tiny", {"modules/01_tiny/tiny_dev.cpp", "", true}},
                {"02_more",
                 {"a/02_more/more_dev.cpp",
                  "2 dev files for 02_more (a/02_more/more_dev.cpp, b/02_more/more_dev.cpp); a submission holds one: "
                  "remove the others",
                  false}}}));
}

TEST_F(Submission, ASymbolicLinkIsNeverRead) {
  fs::create_symlink(course_.root() / "modules" / "01_tiny" / "module.json", sub_.path() / "tiny_dev.cpp");
  Course c = course();
  EXPECT_EQ(
      found(c, sub_.path()),
      (std::map<std::string, Found>{
          {"01_tiny",
           {"tiny_dev.cpp", "tiny_dev.cpp is not a regular file (a symbolic link?); submit the file itself", false}}}));
}

TEST_F(Submission, TheStudentIdIsTheNameWithoutTheArchiveSuffix) {
  put("x");
  fs::create_directories(sub_.path() / "alice");
  for (const char* a : {"bob.zip", "carol.tar.gz", "dan.tgz", "eve.tar"}) put(a);
  EXPECT_EQ(student_id(sub_.path() / "alice/"), "alice");
  EXPECT_EQ(student_id(sub_.path() / "bob.zip"), "bob");
  EXPECT_EQ(student_id(sub_.path() / "carol.tar.gz"), "carol");
  EXPECT_EQ(student_id(sub_.path() / "dan.tgz"), "dan");
  EXPECT_EQ(student_id(sub_.path() / "eve.tar"), "eve");
  EXPECT_EQ(testing::diagnostics_of([&] { student_id(sub_.path() / "x"); }),
            (sub_.path() / "x").string() + ": a submission is a folder or a .zip, .tar, .tar.gz or .tgz archive");
  put("we ird.zip");
  EXPECT_EQ(testing::diagnostics_of([&] { student_id(sub_.path() / "we ird.zip"); }),
            (sub_.path() / "we ird.zip").string() +
                ": the student id 'we ird' (the name without its archive suffix) may hold only letters, digits and . _ "
                "- @ +; rename it");
}

}  // namespace
}  // namespace tito
