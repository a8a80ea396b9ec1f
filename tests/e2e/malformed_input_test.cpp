// Malformed input through the real binary: never a crash, an internal
// error, a silent loss or a half-written package; every error names its
// file and, where there is one, its line.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include "e2e/course_copy.hpp"
#include "util/fs.hpp"
#include "util/process.hpp"

namespace tito::e2e {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

class MalformedInput : public ::testing::Test {
 protected:
  void SetUp() override { make_course(course, {{"01_tiny"}, {"02_more"}}); }
  TempDir dir{"tito-e2e-malformed"};
  fs::path course = dir.path() / "course";
};

TEST_F(MalformedInput, ANumberTooLargeInModuleJsonIsAnErrorAtItsLineForEveryVerb) {
  fs::path manifest = course / "modules/01_tiny/module.json";
  write(manifest, replace(read(manifest), "\"number\": 1,", "\"number\": 1e400,"));
  const std::string expected =
      "error: modules/01_tiny/module.json:3: the number 1e400 is too large (no field here needs more than a few "
      "digits)\n";
  for (std::vector<std::string> verb : {std::vector<std::string>{"sync", "--no-build"}, {"test"}, {"module", "list"},
                                        {"status"}, {"notebook", "tiny"}, {"release", "--out", "../out"}}) {
    TitoRun r = tito(verb, course);
    EXPECT_EQ(r.exit_code, 1) << verb[0];
    EXPECT_THAT(r.err, ::testing::StartsWith(expected)) << verb[0];
    EXPECT_THAT(r.err, Not(HasSubstr("internal error"))) << verb[0];
  }
}

TEST_F(MalformedInput, ARegistryNestedDeepIsAnErrorAtItsLineNotACrash) {
  fs::path registry = dir.path() / "deep.json";
  write(registry, "{\"datasets\": {\"x\": {\"extra\":\n" + std::string(100000, '[') + std::string(100000, ']') + "}}}\n");
  for (std::vector<std::string> verb : {std::vector<std::string>{"list"}, {"fetch", "x"}, {"path", "x"}}) {
    std::vector<std::string> args = {"data", "--registry", registry.string(), "--cache", (dir.path() / "cache").string()};
    args.insert(args.end(), verb.begin(), verb.end());
    TitoRun r = tito(args, dir.path());
    EXPECT_EQ(r.exit_code, 1) << verb[0] << " (139 was a segfault)";
    EXPECT_EQ(r.err, "error: " + registry.string() + ":2: nested more than 32 levels deep; this file needs a few at most\n")
        << verb[0];
  }
}

TEST_F(MalformedInput, AFifoInPlaceOfADevFileIsRefusedWithoutBlocking) {
  fs::path dev = course / "modules/02_more/more_dev.cpp";
  fs::remove(dev);
  ASSERT_EQ(::mkfifo(dev.c_str(), 0644), 0);
  TitoRun r = tito({"sync", "--no-build"}, course);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err,
            "error: modules/02_more/more_dev.cpp: cannot read it: it is a FIFO (a named pipe), not a regular file\n"
            "error: nothing was written\n");
}

TEST_F(MalformedInput, AReleaseWithANearMissMarkerIsRefused) {
  fs::path dev = course / "modules/01_tiny/tiny_dev.cpp";
  std::string text = replace(read(dev), "  return x + 1;\n  // END SOLUTION", "  return x + 1;\n  // END SOLUTON");
  text = replace(text, "int add_one(int x) {\n  // BEGIN SOLUTION", "int add_one(int x) {\n  // BEGIN  SOLUTION");
  write(dev, text);
  TitoRun sync = tito({"sync", "--no-build"}, course);
  EXPECT_EQ(sync.exit_code, 0) << sync.err;
  EXPECT_THAT(sync.err, HasSubstr("warning: modules/01_tiny/tiny_dev.cpp:" +
                                  std::to_string(line_of(text, "// BEGIN  SOLUTION")) +
                                  ": looks like '// BEGIN SOLUTION' but is not that marker"));
  TitoRun release = tito({"release", "--out", (dir.path() / "student").string()}, course);
  EXPECT_EQ(release.exit_code, 1);
  EXPECT_THAT(release.err, HasSubstr("error: modules/01_tiny/tiny_dev.cpp:" +
                                     std::to_string(line_of(text, "// END SOLUTON")) +
                                     ": looks like '// END SOLUTION' but is not that marker"));
  EXPECT_THAT(release.err, HasSubstr("tito release refuses the file until then\n"));
  EXPECT_FALSE(fs::exists(dir.path() / "student"));
}

// A write that fails half-way through a sync (here a file-size limit, as a
// full disk would): no module's generated files are rewritten.
TEST_F(MalformedInput, AWriteFailureDuringSyncLeavesEveryGeneratedFileAsItWas) {
  ASSERT_EQ(tito({"sync", "--no-build"}, course).exit_code, 0);
  std::map<std::string, std::string> before = snapshot(course / "package/generated");
  fs::path tiny = course / "modules/01_tiny/tiny_dev.cpp";
  write(tiny, replace(read(tiny), "return 2 * x;", "return x + x;"));
  fs::path more = course / "modules/02_more/more_dev.cpp";
  // 02_more's source is written after 01_tiny's and is too big for the limit.
  write(more, replace(read(more), "int add_two(int x) {", "// " + std::string(20000, 'x') + "\nint add_two(int x) {"));
  ProcessOptions options;
  options.cwd = course;
  options.separate_stderr = true;
  options.env = {{"TITO_ROOT", ""}, {"TITO_BUILD_DIR", ""}};
  // 16 blocks of 512 bytes; SIGXFSZ ignored, so the write fails with EFBIG.
  ProcessResult r = run_process({"/bin/sh", "-c", "trap '' XFSZ; ulimit -f 16; exec \"$0\" sync --no-build", TITO_BINARY},
                                options);
  EXPECT_EQ(r.exit_code, 1) << r.errors;
  EXPECT_EQ(r.errors, "error: cannot write " + (course / "package/generated/src/more.cpp").string() +
                          ": write failed: File too large\n");
  EXPECT_EQ(snapshot(course / "package/generated"), before) << "01_tiny's files were rewritten before 02_more's failed";
}

}  // namespace
}  // namespace tito::e2e
