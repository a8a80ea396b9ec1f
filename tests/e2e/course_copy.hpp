// What the end-to-end tests share: running the real tito binary, and course
// copies to run it in.
//
// A copy holds the course's own CMakeLists.txt, CMakePresets.json, package/
// (without package/generated) and templates/, plus modules: small fixture
// modules from tests/fixtures/course/modules (01_tiny, 02_more, 03_trouble)
// or real ones from modules/. tito configures and builds it in <copy>/build.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace tito::e2e {

namespace fs = std::filesystem;

// What one run of tito did.
struct TitoRun {
  int exit_code = -1;
  std::string out;  // stdout
  std::string err;  // stderr
};

// Runs the tito binary under test with `args` in `cwd`; `env` is added to
// the environment, from which TITO_ROOT and TITO_BUILD_DIR are cleared.
TitoRun tito(const std::vector<std::string>& args, const fs::path& cwd, std::map<std::string, std::string> env = {});

// A module for make_course: a fixture module ("01_tiny") or, with `real`, one
// of the course's own modules ("01_tensor").
struct ModuleSource {
  std::string folder;
  bool real = false;
};

// Makes `dest` a course with the given modules. Files whose content is
// already right are left alone (so an existing build stays incremental);
// anything else under modules/, templates/ and package/ (but generated/) is
// removed.
void make_course(const fs::path& dest, const std::vector<ModuleSource>& modules);

// A course copy shared by the tests of every test process (ctest runs each
// test in a process of its own): TITO_E2E_WORK_DIR/<name>. Opening it waits
// for the other tests using it, refreshes it with make_course and brings it
// to a synced, built state with `tito sync --force`; a test may change it and
// restores what it changed (see FileRestorer). `prepare`, when given, adds to
// the course after make_course, before the sync.
class SharedCourse {
 public:
  SharedCourse(const std::string& name, const std::vector<ModuleSource>& modules,
               const std::function<void(const fs::path&)>& prepare = {});
  ~SharedCourse();
  SharedCourse(const SharedCourse&) = delete;
  SharedCourse& operator=(const SharedCourse&) = delete;

  const fs::path& root() const { return root_; }
  // The output of the `tito sync --force` that prepared it.
  const TitoRun& prepared() const { return prepared_; }

 private:
  fs::path root_;
  int lock_fd_ = -1;
  TitoRun prepared_;
};

// Puts a file's content back when it goes out of scope.
class FileRestorer {
 public:
  explicit FileRestorer(fs::path path);
  ~FileRestorer();
  FileRestorer(const FileRestorer&) = delete;
  FileRestorer& operator=(const FileRestorer&) = delete;

 private:
  fs::path path_;
  std::string content_;
};

// Every regular file under `dir` (relative path -> content).
std::map<std::string, std::string> snapshot(const fs::path& dir);

// `text` with the first occurrence of `from` replaced by `to`; fails the test
// when `from` is not there.
std::string replace(const std::string& text, const std::string& from, const std::string& to);

// A student's version of a dev file with each `throw tinytorch::NotImplemented();`
// stub, in order, replaced by the given code (the stub itself for an exercise
// left unwritten); fails the test when there are fewer stubs than answers.
std::string answer_stubs(std::string text, const std::vector<std::string>& answers);

// An exclusive lock on a file (created if missing), for as long as it lives:
// test processes that share a folder take turns.
class FileLock {
 public:
  explicit FileLock(const fs::path& path);
  ~FileLock();
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

 private:
  int fd_;
};

// The 1-based line of `text` that holds `needle`, or 0.
int line_of(const std::string& text, const std::string& needle);

// The tito source tree and the fixture course.
fs::path source_dir();
fs::path fixture_modules_dir();

std::string read(const fs::path& path);
void write(const fs::path& path, const std::string& content);

// Tests on the shared copy of the fixture course (01_tiny, 02_more requiring
// it, 03_trouble), synced and built; run() runs tito in it.
class FixtureCourseTest : public ::testing::Test {
 protected:
  void SetUp() override;
  const fs::path& root() const { return shared_->root(); }
  fs::path dev_file(const std::string& folder) const;
  // tito in the course root, or in `cwd` relative to it.
  TitoRun run(const std::vector<std::string>& args, const std::string& cwd = "",
              std::map<std::string, std::string> env = {}) const;

 private:
  std::unique_ptr<SharedCourse> shared_;
};

}  // namespace tito::e2e
