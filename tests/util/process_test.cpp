#include "util/process.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <stdexcept>

#include "engine/temp_course.hpp"
#include "util/fs.hpp"

namespace tito {
namespace {

using testing::diagnostics_of;

std::size_t open_descriptors() {
  std::size_t n = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator("/proc/self/fd")) ++n;
  return n;
}

TEST(Process, CapturesOutputAndExitStatus) {
  ProcessResult r = run_process({"/bin/sh", "-c", "echo out; echo err >&2; exit 3"});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_FALSE(r.signaled);
  EXPECT_EQ(r.output, "out\nerr\n");
  EXPECT_EQ(r.errors, "");
}

TEST(Process, KeepsStderrApartWhenAsked) {
  ProcessOptions options;
  options.separate_stderr = true;
  std::vector<std::string> lines;
  options.on_line = [&](const std::string& line) { lines.push_back(line); };
  // Enough of both that the two pipes fill and must be read side by side.
  ProcessResult r = run_process({"/bin/sh", "-c",
                                 "i=0; while [ $i -lt 2000 ]; do echo \"out $i\"; echo \"err $i\" >&2; i=$((i+1)); done"},
                                options);
  EXPECT_EQ(r.exit_code, 0);
  ASSERT_EQ(lines.size(), 2000u);
  EXPECT_EQ(lines.front(), "out 0");
  EXPECT_EQ(lines.back(), "out 1999");
  EXPECT_EQ(r.output.find("err"), std::string::npos);
  EXPECT_EQ(r.errors.substr(0, 12), "err 0\nerr 1\n");
  EXPECT_EQ(r.errors.find("out"), std::string::npos);
}

TEST(Process, ReportsASignal) {
  ProcessResult r = run_process({"/bin/sh", "-c", "kill -SEGV $$"});
  EXPECT_TRUE(r.signaled);
  EXPECT_EQ(r.exit_code, 128 + 11);
}

TEST(Process, AProgramThatIsNotThereIsAnErrorNamingIt) {
  EXPECT_EQ(diagnostics_of([] { run_process({"tito-no-such-program"}); }),
            "cannot run tito-no-such-program: not found on PATH (is it installed?)");
}

TEST(Process, NoDescriptorLeaksWhenALineHandlerThrowsOrTheProgramCannotStart) {
  std::size_t before = open_descriptors();
  ProcessOptions options;
  options.separate_stderr = true;
  options.on_line = [](const std::string&) { throw std::runtime_error("stop"); };
  EXPECT_THROW(run_process({"/bin/sh", "-c", "echo a line"}, options), std::runtime_error);
  EXPECT_EQ(open_descriptors(), before);

  TempDir dir("tito-process-test");
  fs::path not_a_program = dir.path() / "garbage";
  write_file_atomic(not_a_program, std::string("\x7f\x01\x02 not an executable", 22));
  fs::permissions(not_a_program, fs::perms::owner_all);
  EXPECT_THROW(run_process({not_a_program.string()}), Error);
  EXPECT_EQ(open_descriptors(), before);
}

}  // namespace
}  // namespace tito
