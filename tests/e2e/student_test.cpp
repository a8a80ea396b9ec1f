// End-to-end: the student side. `tito release` on a copy of the fixture
// course, then status, reset and notebook in the released course, driven
// through the real binary.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "e2e/course_copy.hpp"
#include "util/fs.hpp"
#include "util/process.hpp"

namespace tito::e2e {
namespace {

class StudentTest : public ::testing::Test {
 protected:
  void SetUp() override {
    make_course(dir.path() / "course", {{"01_tiny"}});
    course = dir.path() / "course";
    student = dir.path() / "student";
  }
  TitoRun release(const std::vector<std::string>& extra = {}) {
    std::vector<std::string> args = {"release", "--out", student.string()};
    args.insert(args.end(), extra.begin(), extra.end());
    return tito(args, course);
  }
  TempDir dir{"tito-e2e-student"};
  fs::path course, student;
};

TEST_F(StudentTest, ReleaseStripsSolutionsAndHiddenTests) {
  TitoRun r = release();
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("2 exercises for students to write"), std::string::npos) << r.out;
  std::string dev = read_file(student / "modules/01_tiny/tiny_dev.cpp");
  EXPECT_NE(dev.find("int add_one(int x) {\n  // YOUR CODE HERE\n  throw tinytorch::NotImplemented();\n  // END YOUR CODE\n}"),
            std::string::npos)
      << dev;
  EXPECT_EQ(dev.find("return x + 1;"), std::string::npos);
  EXPECT_EQ(dev.find("SOLUTION"), std::string::npos);
  std::string tests = read_file(student / "modules/01_tiny/tests/test_tiny.cpp");
  EXPECT_EQ(tests.find("TwiceOfZero"), std::string::npos);
  EXPECT_NE(tests.find("TwiceDoubles"), std::string::npos);
  EXPECT_FALSE(fs::exists(student / "package/generated"));
}

TEST_F(StudentTest, ReleaseIsDeterministicAndRefusesANonEmptyFolder) {
  ASSERT_EQ(release().exit_code, 0);
  std::map<std::string, std::string> first = snapshot(student);
  TitoRun again = release();
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_NE(again.err.find("is not empty; choose an empty folder, or pass --force"), std::string::npos) << again.err;
  ASSERT_EQ(release({"--force"}).exit_code, 0);
  EXPECT_EQ(snapshot(student), first);
}

TEST_F(StudentTest, StudentSeesNotImplementedThenGreen) {
  ASSERT_EQ(release().exit_code, 0);
  TitoRun status = tito({"status"}, student);
  EXPECT_EQ(status.exit_code, 0) << status.err;
  EXPECT_NE(status.out.find("not started  01_tiny"), std::string::npos) << status.out;
  EXPECT_NE(status.out.find("0/2 exercises written"), std::string::npos) << status.out;
  EXPECT_NE(status.out.find("next: write tiny::add_one (modules/01_tiny/tiny_dev.cpp:"), std::string::npos)
      << status.out;

  TitoRun test = tito({"test", "tiny"}, student);
  EXPECT_EQ(test.exit_code, 1);
  EXPECT_NE(test.out.find("01_tiny: 2 tests wait on code not written yet\n  tiny::add_one (modules/01_tiny/tiny_dev.cpp:"),
            std::string::npos)
      << test.out;

  // The student writes one function: in progress.
  fs::path dev = student / "modules/01_tiny/tiny_dev.cpp";
  std::string text = read_file(dev);
  std::size_t at = text.find("throw tinytorch::NotImplemented();");
  text.replace(at, std::string("throw tinytorch::NotImplemented();").size(), "return x + 1;");
  write_file_atomic(dev, text);
  status = tito({"status", "--json"}, student);
  nlohmann::json j = nlohmann::json::parse(status.out);
  EXPECT_EQ(j["modules"][0]["stage"], "in progress");
  EXPECT_EQ(j["modules"][0]["exercises_written"], 1);
  EXPECT_EQ(j["modules"][0]["exercises"], 2);

  // ... and the other: green.
  text = read_file(dev);
  at = text.find("throw tinytorch::NotImplemented();");
  text.replace(at, std::string("throw tinytorch::NotImplemented();").size(), "return 2 * x;");
  write_file_atomic(dev, text);
  test = tito({"test"}, student);
  EXPECT_EQ(test.exit_code, 0) << test.out << test.err;
  EXPECT_NE(test.out.find("tests: 2 passed, 0 failed"), std::string::npos) << test.out;
}

TEST_F(StudentTest, ResetKeepsUncommittedWorkAsABackup) {
  ASSERT_EQ(release().exit_code, 0);
  fs::path dev = student / "modules/01_tiny/tiny_dev.cpp";
  std::string pristine = read_file(dev);
  std::string work = pristine + "// my notes, not committed anywhere\n";
  write_file_atomic(dev, work);

  TitoRun reset = tito({"module", "reset", "tiny"}, student);
  ASSERT_EQ(reset.exit_code, 0) << reset.err;
  EXPECT_EQ(read_file(dev), pristine);
  TitoRun list = tito({"module", "reset", "tiny", "--list"}, student);
  std::string stamp = list.out.substr(0, list.out.find(' '));
  ASSERT_FALSE(stamp.empty()) << list.out;
  EXPECT_EQ(read_file(student / ".tito/backups/01_tiny" / (stamp + "_tiny_dev.cpp")), work);

  TitoRun restore = tito({"module", "reset", "tiny", "--restore", stamp}, student);
  EXPECT_EQ(restore.exit_code, 0) << restore.err;
  EXPECT_EQ(read_file(dev), work);
  TitoRun bad = tito({"module", "reset", "tiny", "--restore", "nope"}, student);
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.err.find("no backup nope of 01_tiny (backups: " + stamp), std::string::npos) << bad.err;
}

TEST_F(StudentTest, NotebookIsValidNbformat) {
  fs::path out = dir.path() / "tiny.ipynb";
  TitoRun r = tito({"notebook", "tiny", "--student", "--out", out.string()}, course);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::string nb = read_file(out);
  EXPECT_EQ(nb.find("return x + 1;"), std::string::npos);  // --student: stripped
  ProcessResult v = run_process({"/usr/bin/python3", "-c",
                                 "import sys, nbformat\n"
                                 "nb = nbformat.read(sys.argv[1], as_version=4)\n"
                                 "nbformat.validate(nb)\n"
                                 "print(len(nb.cells), nb.cells[0].cell_type, nb.metadata.kernelspec.name)\n",
                                 out.string()});
  EXPECT_EQ(v.exit_code, 0) << v.output;
  EXPECT_NE(v.output.find("markdown xcpp20"), std::string::npos) << v.output;
}

}  // namespace
}  // namespace tito::e2e
