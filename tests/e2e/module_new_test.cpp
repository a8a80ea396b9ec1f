// `tito module new` on a fresh course copy, through sync and test: the new
// module builds, its tests wait on the unwritten solution, and pass once it
// is written.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "e2e/course_copy.hpp"
#include "util/fs.hpp"

namespace tito::e2e {
namespace {

using ::testing::ContainsRegex;
using ::testing::HasSubstr;

// Everything in the course but its build folder.
std::map<std::string, std::string> sources(const fs::path& root) {
  std::map<std::string, std::string> files = snapshot(root);
  std::erase_if(files, [](const auto& f) { return f.first.starts_with("build/"); });
  return files;
}

TEST(ModuleNew, RefusesBadReservedAndTakenNamesWithStatusTwoAndWritesNothing) {
  TempDir dir("tito-e2e");
  make_course(dir.path(), {{"01_tiny"}});
  std::map<std::string, std::string> before = sources(dir.path());
  const std::vector<std::pair<std::string, std::string>> refusals = {
      {"Bad-Name",
       "'Bad-Name' is not a module name: use snake_case (lower-case letters, digits and single underscores, starting "
       "with a letter), like data_loader"},
      {"class", "'class' is reserved (a C++ keyword or a name tito uses)"},
      {"tinytorch", "'tinytorch' is reserved (a C++ keyword or a name tito uses)"},
      {"tiny", "a module named 'tiny' exists already: modules/01_tiny"},
      {std::string(41, 'a'), "'" + std::string(41, 'a') + "' is too long for a module name (40 characters at most)"},
  };
  for (const auto& [name, message] : refusals) {
    TitoRun r = tito({"module", "new", name}, dir.path());
    EXPECT_EQ(r.exit_code, 2) << name;
    EXPECT_EQ(r.out, "") << name;
    EXPECT_EQ(r.err, "error: " + message + "\n") << name;
  }
  EXPECT_EQ(sources(dir.path()), before);
}

TEST(ModuleNew, NewModuleSyncsAndItsTestsFailUntilTheSolutionIsWritten) {
  TempDir dir("tito-e2e");
  const fs::path& root = dir.path();
  make_course(root, {});

  TitoRun made = tito({"module", "new", "hello"}, root);
  ASSERT_EQ(made.exit_code, 0) << made.err;
  EXPECT_EQ(made.out,
            "created modules/01_hello/ (4 files)\n"
            "next: edit modules/01_hello/hello_dev.cpp, then `tito test hello`\n");
  std::map<std::string, std::string> after_new = sources(root);

  TitoRun again = tito({"module", "new", "hello"}, root);
  EXPECT_EQ(again.exit_code, 2);
  EXPECT_EQ(again.err, "error: a module named 'hello' exists already: modules/01_hello\n");
  EXPECT_EQ(sources(root), after_new);

  TitoRun listed = tito({"module", "list"}, root);
  EXPECT_EQ(listed.exit_code, 0) << listed.err;
  EXPECT_THAT(listed.out, HasSubstr("\n01  hello  Hello  medium      not synced           never run\n"));

  TitoRun synced = tito({"sync"}, root);
  ASSERT_EQ(synced.exit_code, 0) << synced.err;

  fs::path dev = root / "modules" / "01_hello" / "hello_dev.cpp";
  std::string text = read(dev);
  int throw_line = line_of(text, "throw tinytorch::NotImplemented();");
  TitoRun unfinished = tito({"test"}, root);
  EXPECT_EQ(unfinished.exit_code, 1) << unfinished.err;
  EXPECT_THAT(unfinished.out, HasSubstr("01_hello: 3 tests wait on code not written yet\n"
                                        "  hello_square (modules/01_hello/hello_dev.cpp:" +
                                        std::to_string(throw_line) + ") · 3 tests\n"));
  // module, passed, failed, not yet, total, ..., verdict
  EXPECT_THAT(unfinished.out, ContainsRegex("\n  01_hello +0 +0 +3 +3 [^\n]* … not started\n"));
  EXPECT_THAT(unfinished.out, HasSubstr("tests: 0 passed, 3 failed\n"));

  write(dev, replace(text, "  (void)x;\n  throw tinytorch::NotImplemented();\n", "  return x * x;\n"));
  TitoRun finished = tito({"test"}, root);
  EXPECT_EQ(finished.exit_code, 0) << finished.out << finished.err;
  EXPECT_THAT(finished.out, ContainsRegex("\n  01_hello +3 +0 +0 +3 [^\n]* ✓ passed\n"));
  EXPECT_THAT(finished.out, HasSubstr("tests: 3 passed, 0 failed\n"));

  TitoRun list_after = tito({"module", "list"}, root);
  EXPECT_THAT(list_after.out, HasSubstr("\n01  hello  Hello  medium      synced               3/3 passed\n"));
}

}  // namespace
}  // namespace tito::e2e
