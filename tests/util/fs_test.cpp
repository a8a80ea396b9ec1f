#include "util/fs.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include "engine/temp_course.hpp"
#include "util/error.hpp"

namespace tito {
namespace {

using testing::diagnostics_of;
using ::testing::HasSubstr;

class FsTest : public ::testing::Test {
 protected:
  TempDir dir{"tito-fs-test"};
  fs::path at(const std::string& name) const { return dir.path() / name; }
};

TEST_F(FsTest, ReadsAWholeFileAndSaysNothingIsThere) {
  write_file_atomic(at("a.txt"), std::string("one\0two\n", 8));
  EXPECT_EQ(read_file(at("a.txt")), std::string("one\0two\n", 8));
  EXPECT_EQ(read_file_if_exists(at("missing.txt")), std::nullopt);
  EXPECT_EQ(diagnostics_of([&] { read_file(at("missing.txt")); }),
            "cannot read " + at("missing.txt").string() + ": no such file");
  // A file where a folder should be is nothing there, as for fs::exists.
  EXPECT_EQ(read_file_if_exists(at("a.txt") / "inside"), std::nullopt);
}

TEST_F(FsTest, RefusesAFolderAFifoAndADeviceWithoutBlocking) {
  fs::create_directories(at("folder"));
  EXPECT_EQ(diagnostics_of([&] { read_file(at("folder")); }),
            "cannot read " + at("folder").string() + ": it is a folder, not a file");
  ASSERT_EQ(::mkfifo(at("fifo").c_str(), 0644), 0);
  EXPECT_EQ(diagnostics_of([&] { read_file_if_exists(at("fifo")); }),
            "cannot read " + at("fifo").string() + ": it is a FIFO (a named pipe), not a regular file");
  fs::create_symlink("/dev/zero", at("zero"));
  EXPECT_EQ(diagnostics_of([&] { read_file(at("zero")); }),
            "cannot read " + at("zero").string() + ": it is a device, not a regular file");
}

TEST_F(FsTest, RefusesAFileOverTheLimitAndAFileThatNeverEnds) {
  write_file_atomic(at("big.txt"), std::string(3000, 'x'));
  EXPECT_EQ(read_file(at("big.txt"), 3000).size(), 3000u);
  EXPECT_EQ(diagnostics_of([&] { read_file(at("big.txt"), 2999); }),
            "cannot read " + at("big.txt").string() +
                ": it is larger than 2999 bytes, more than tito reads of one file (is it the right file?)");
  // /proc files say size 0; the limit holds while reading.
  EXPECT_THAT(diagnostics_of([] { read_file("/proc/self/maps", 16); }), HasSubstr("it is larger than"));
}

TEST_F(FsTest, WriteFileAtomicReplacesAndCreatesFolders) {
  write_file_atomic(at("x/y/z.txt"), "first");
  write_file_atomic(at("x/y/z.txt"), "second");
  EXPECT_EQ(read_file(at("x/y/z.txt")), "second");
  EXPECT_EQ(std::distance(fs::directory_iterator(at("x/y")), fs::directory_iterator()), 1);  // no temporary left
}

TEST_F(FsTest, WriteFileAtomicNamesThePathWhenAFileIsInTheWay) {
  write_file_atomic(at("file"), "x");
  EXPECT_THAT(diagnostics_of([&] { write_file_atomic(at("file") / "sub" / "z.txt", "y"); }),
              HasSubstr("cannot create folder " + (at("file") / "sub").string() + ": "));
  fs::create_directories(at("folder"));
  EXPECT_EQ(diagnostics_of([&] { write_file_atomic(at("folder"), "y"); }),
            "cannot write " + at("folder").string() + ": a folder is in the way: Is a directory");
  EXPECT_EQ(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator()), 2);
}

TEST_F(FsTest, StagedFilesAppearOnlyWhenCommitted) {
  write_file_atomic(at("a.txt"), "old");
  {
    StagedFile a(at("a.txt"), "new");
    StagedFile b(at("b.txt"), "b");
    EXPECT_EQ(read_file(at("a.txt")), "old");
    EXPECT_FALSE(fs::exists(at("b.txt")));
    a.commit();
    EXPECT_EQ(read_file(at("a.txt")), "new");
  }  // b is dropped with its temporary file
  EXPECT_FALSE(fs::exists(at("b.txt")));
  EXPECT_EQ(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator()), 1);
}

TEST_F(FsTest, TempDirRemovesItselfUnlessKept) {
  fs::path removed, kept;
  {
    TempDir a(dir.path(), ".staging-");
    TempDir b(dir.path(), ".kept-");
    removed = a.path();
    kept = b.path();
    write_file_atomic(a.path() / "f", "x");
    EXPECT_EQ(removed.parent_path(), dir.path());
    EXPECT_TRUE(removed.filename().string().starts_with(".staging-"));
    b.keep();
  }
  EXPECT_FALSE(fs::exists(removed));
  EXPECT_TRUE(fs::is_directory(kept));
  struct stat st {};
  ASSERT_EQ(::stat(kept.c_str(), &st), 0);
  EXPECT_NE(st.st_mode & 0055, 0u) << "a folder made to be renamed into place is an ordinary folder, not 0700";
}

}  // namespace
}  // namespace tito
