// Tests of <tinytorch/files.hpp>: atomic writes, reading, CRC-32.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <tinytorch/files.hpp>

namespace {

namespace fs = std::filesystem;
using tinytorch::io::FileError;

// A fresh temporary folder, removed with everything in it.
class TempDir : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("tinytorch-files-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

std::string message_of(auto action) {
  try {
    action();
  } catch (const FileError& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected a FileError";
  return "";
}

TEST_F(TempDir, AtomicWriteCreatesTheFileAndItsFolders) {
  const fs::path path = dir_ / "a" / "b" / "log.csv";
  tinytorch::io::write_file_atomically(path, "epoch,loss\n1,0.5\n");
  EXPECT_EQ(tinytorch::io::read_file(path), "epoch,loss\n1,0.5\n");
}

TEST_F(TempDir, AtomicWriteReplacesAndLeavesNoTemporaryFile) {
  const fs::path path = dir_ / "x.bin";
  tinytorch::io::write_file_atomically(path, std::string(100000, 'a'));
  tinytorch::io::write_file_atomically(path, std::string("\0b", 2));
  EXPECT_EQ(tinytorch::io::read_file(path), std::string("\0b", 2)) << "binary content, NUL bytes included";
  int files = 0;
  for (const auto& entry : fs::directory_iterator(dir_)) {
    ++files;
    EXPECT_EQ(entry.path().filename(), "x.bin") << "a temporary file was left behind";
  }
  EXPECT_EQ(files, 1);
}

TEST_F(TempDir, AWriteThatCannotHappenNamesThePathAndLeavesNothing) {
  std::ofstream(dir_ / "plain") << "a file, not a folder";
  const std::string message = message_of([&] { tinytorch::io::write_file_atomically(dir_ / "plain" / "x", "y"); });
  EXPECT_NE(message.find((dir_ / "plain" / "x").string()), std::string::npos) << message;
  const fs::path folder = dir_ / "folder";
  fs::create_directories(folder / "target");  // renaming a file over a non-empty folder fails
  std::ofstream(folder / "target" / "inside") << "x";
  const std::string over = message_of([&] { tinytorch::io::write_file_atomically(folder / "target", "y"); });
  EXPECT_NE(over.find("target"), std::string::npos) << over;
  int left = 0;
  for (const auto& entry : fs::directory_iterator(folder)) left += entry.path().filename() != "target";
  EXPECT_EQ(left, 0) << "the temporary file must be removed when the rename fails";
}

TEST_F(TempDir, ReadingAMissingFileNamesIt) {
  const std::string message = message_of([&] { tinytorch::io::read_file(dir_ / "nope.ttc"); });
  EXPECT_NE(message.find("nope.ttc"), std::string::npos) << message;
  EXPECT_NE(message.find("no such file"), std::string::npos) << message;
}

TEST(Crc32, TheStandardCheckValue) {
  EXPECT_EQ(tinytorch::io::crc32("123456789"), 0xCBF43926u) << "CRC-32's published check value";
  EXPECT_EQ(tinytorch::io::crc32(""), 0u);
}

TEST(Crc32, ContinuesFromAnEarlierValue) {
  EXPECT_EQ(tinytorch::io::crc32("6789", tinytorch::io::crc32("12345")), 0xCBF43926u);
}

}  // namespace
