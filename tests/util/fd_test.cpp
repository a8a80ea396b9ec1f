#include "util/fd.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <string>

namespace tito {
namespace {

bool is_open(int fd) { return ::fcntl(fd, F_GETFD) != -1; }

TEST(Fd, ClosesItsDescriptorWhenItGoesOutOfScope) {
  int raw = -1;
  {
    Fd fd(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    raw = fd.get();
    ASSERT_TRUE(fd.valid());
    EXPECT_TRUE(is_open(raw));
  }
  EXPECT_FALSE(is_open(raw));
}

TEST(Fd, ClosesWhenAThrowUnwindsPastIt) {
  int raw = -1;
  try {
    Fd fd(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    raw = fd.get();
    throw std::runtime_error("a step that can throw");
  } catch (const std::runtime_error&) {
  }
  ASSERT_GE(raw, 0);
  EXPECT_FALSE(is_open(raw));
}

TEST(Fd, MoveHandsOverOwnershipAndAssignmentClosesTheOldOne) {
  Fd a(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  Fd b(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  int raw_a = a.get(), raw_b = b.get();
  b = std::move(a);
  EXPECT_FALSE(a.valid());
  EXPECT_EQ(b.get(), raw_a);
  EXPECT_FALSE(is_open(raw_b));
  Fd c(std::move(b));
  EXPECT_EQ(c.get(), raw_a);
  EXPECT_TRUE(is_open(raw_a));
}

TEST(Fd, ReleaseGivesUpWithoutClosingAndCloseReportsOnce) {
  Fd fd(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  int raw = fd.release();
  EXPECT_FALSE(fd.valid());
  EXPECT_TRUE(is_open(raw));
  Fd again(raw);
  EXPECT_EQ(again.close(), 0);
  EXPECT_FALSE(is_open(raw));
  EXPECT_EQ(again.close(), 0);  // closing twice does nothing
}

TEST(WriteAll, WritesEverythingThroughShortWrites) {
  int fds[2];
  ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0);
  Fd read_end(fds[0]), write_end(fds[1]);
  // More than a pipe holds at once: the writer must loop while we read.
  std::string data(300000, 'x');
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>('a' + i % 26);
  std::string got;
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    read_end.close();
    ::_exit(write_all(write_end.get(), data) == 0 ? 0 : 1);
  }
  write_end.close();
  char buffer[4096];
  for (ssize_t n; (n = ::read(read_end.get(), buffer, sizeof buffer)) > 0;) got.append(buffer, static_cast<std::size_t>(n));
  int status = 0;
  ::waitpid(child, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  EXPECT_EQ(got, data);
}

TEST(WriteAll, ReturnsTheErrnoOfTheFailedWrite) {
  Fd full(::open("/dev/full", O_WRONLY | O_CLOEXEC));
  ASSERT_TRUE(full.valid());
  EXPECT_EQ(write_all(full.get(), "data"), ENOSPC);
  Fd read_only(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  EXPECT_EQ(write_all(read_only.get(), "data"), EBADF);
  EXPECT_EQ(write_all(read_only.get(), ""), 0);  // nothing to write: no write at all
}

TEST(PwriteAll, WritesAtTheOffsetAndLeavesThePositionAlone) {
  char name[] = "/tmp/tito-pwrite-XXXXXX";
  Fd fd(::mkstemp(name));
  ASSERT_TRUE(fd.valid());
  ::unlink(name);
  ASSERT_EQ(write_all(fd.get(), "0123456789"), 0);
  ASSERT_EQ(pwrite_all(fd.get(), "ab", 3), 0);
  EXPECT_EQ(::lseek(fd.get(), 0, SEEK_CUR), 10);
  char buffer[16] = {0};
  ASSERT_EQ(::pread(fd.get(), buffer, sizeof buffer, 0), 10);
  EXPECT_STREQ(buffer, "012ab56789");
}

}  // namespace
}  // namespace tito
