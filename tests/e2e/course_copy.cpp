#include "e2e/course_copy.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <set>

#include "util/error.hpp"
#include "util/fs.hpp"
#include "util/process.hpp"

namespace tito::e2e {

fs::path source_dir() { return TITO_SOURCE_DIR; }

fs::path fixture_modules_dir() { return source_dir() / "tests" / "fixtures" / "course" / "modules"; }

TitoRun tito(const std::vector<std::string>& args, const fs::path& cwd, std::map<std::string, std::string> env) {
  std::vector<std::string> argv = {TITO_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  ProcessOptions options;
  options.cwd = cwd;
  options.separate_stderr = true;
  env.emplace("TITO_ROOT", "");
  env.emplace("TITO_BUILD_DIR", "");
  options.env = std::move(env);
  ProcessResult r = run_process(argv, options);
  return TitoRun{r.exit_code, r.output, r.errors};
}

namespace {

// Copies `from` to `to` unless `to` already holds the same bytes.
void copy_if_changed(const fs::path& from, const fs::path& to) {
  std::string content = read_file(from);
  if (read_file_if_exists(to) == content) return;
  write_file_atomic(to, content);
}

// Makes the tree at `to` hold what the tree at `from` holds; paths relative
// to `to` listed in `keep` are neither copied nor removed.
void mirror(const fs::path& from, const fs::path& to, const std::set<std::string>& keep = {}) {
  auto kept = [&](const fs::path& rel) {
    for (const std::string& k : keep) {
      if (rel == k || rel.string().starts_with(k + "/")) return true;
    }
    return false;
  };
  std::set<fs::path> wanted;
  for (const fs::directory_entry& e : fs::recursive_directory_iterator(from)) {
    fs::path rel = e.path().lexically_relative(from);
    if (!e.is_regular_file() || kept(rel)) continue;
    wanted.insert(rel);
    copy_if_changed(e.path(), to / rel);
  }
  if (!fs::exists(to)) return;
  std::vector<fs::path> extra;
  for (const fs::directory_entry& e : fs::recursive_directory_iterator(to)) {
    fs::path rel = e.path().lexically_relative(to);
    if (e.is_regular_file() && !kept(rel) && !wanted.contains(rel)) extra.push_back(e.path());
  }
  for (const fs::path& p : extra) fs::remove(p);
}

}  // namespace

void make_course(const fs::path& dest, const std::vector<ModuleSource>& modules) {
  fs::create_directories(dest / "modules");
  copy_if_changed(source_dir() / "CMakeLists.txt", dest / "CMakeLists.txt");
  copy_if_changed(source_dir() / "CMakePresets.json", dest / "CMakePresets.json");
  mirror(source_dir() / "package", dest / "package", {"generated"});
  mirror(source_dir() / "templates", dest / "templates");
  std::set<std::string> folders;
  for (const ModuleSource& m : modules) {
    fs::path from = m.real ? source_dir() / "modules" / m.folder : fixture_modules_dir() / m.folder;
    mirror(from, dest / "modules" / m.folder);
    folders.insert(m.folder);
  }
  for (const fs::directory_entry& e : fs::directory_iterator(dest / "modules")) {
    if (!folders.contains(e.path().filename().string())) fs::remove_all(e.path());
  }
}

SharedCourse::SharedCourse(const std::string& name, const std::vector<ModuleSource>& modules,
                           const std::function<void(const fs::path&)>& prepare) {
  fs::path work = TITO_E2E_WORK_DIR;
  fs::create_directories(work);
  root_ = work / name;
  std::string lock = (work / (name + ".lock")).string();
  lock_fd_ = ::open(lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (lock_fd_ < 0) throw Error("cannot open " + lock);
  while (::flock(lock_fd_, LOCK_EX) != 0) {
    if (errno != EINTR) throw Error("cannot lock " + lock);
  }
  make_course(root_, modules);
  if (prepare) prepare(root_);
  // --force: a test that died half-way may have left a hand edit behind.
  prepared_ = tito({"sync", "--force"}, root_);
}

SharedCourse::~SharedCourse() {
  if (lock_fd_ >= 0) ::close(lock_fd_);
}

FileRestorer::FileRestorer(fs::path path) : path_(std::move(path)), content_(read_file(path_)) {}

FileRestorer::~FileRestorer() {
  try {
    if (read_file_if_exists(path_) != content_) write_file_atomic(path_, content_);
  } catch (const std::exception& e) {
    ADD_FAILURE() << "cannot restore " << path_ << ": " << e.what();
  }
}

std::map<std::string, std::string> snapshot(const fs::path& dir) {
  std::map<std::string, std::string> files;
  if (!fs::exists(dir)) return files;
  for (const fs::directory_entry& e : fs::recursive_directory_iterator(dir)) {
    if (e.is_regular_file()) files[e.path().lexically_relative(dir).string()] = read_file(e.path());
  }
  return files;
}

std::string replace(const std::string& text, const std::string& from, const std::string& to) {
  std::size_t at = text.find(from);
  if (at == std::string::npos) {
    ADD_FAILURE() << "'" << from << "' is not in the text";
    return text;
  }
  return text.substr(0, at) + to + text.substr(at + from.size());
}

std::string answer_stubs(std::string text, const std::vector<std::string>& answers) {
  const std::string_view stub = "throw tinytorch::NotImplemented();";
  std::size_t at = 0;
  for (const std::string& a : answers) {
    at = text.find(stub, at);
    if (at == std::string::npos) {
      ADD_FAILURE() << "fewer stubs than answers in\n" << text;
      return text;
    }
    text.replace(at, stub.size(), a);
    at += a.size();  // an answer may be the stub itself: an exercise left unwritten
  }
  return text;
}

FileLock::FileLock(const fs::path& path) : fd_(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644)) {
  if (fd_ >= 0) ::flock(fd_, LOCK_EX);
}

FileLock::~FileLock() {
  if (fd_ >= 0) ::close(fd_);
}

int line_of(const std::string& text, const std::string& needle) {
  std::size_t at = text.find(needle);
  if (at == std::string::npos) return 0;
  return 1 + static_cast<int>(std::count(text.begin(), text.begin() + static_cast<long>(at), '\n'));
}

std::string read(const fs::path& path) { return read_file(path); }

void write(const fs::path& path, const std::string& content) { write_file_atomic(path, content); }

void FixtureCourseTest::SetUp() {
  shared_ = std::make_unique<SharedCourse>("fixture-course",
                                           std::vector<ModuleSource>{{"01_tiny"}, {"02_more"}, {"03_trouble"}});
  ASSERT_EQ(shared_->prepared().exit_code, 0) << shared_->prepared().out << shared_->prepared().err;
}

fs::path FixtureCourseTest::dev_file(const std::string& folder) const {
  return root() / "modules" / folder / (folder.substr(3) + "_dev.cpp");
}

TitoRun FixtureCourseTest::run(const std::vector<std::string>& args, const std::string& cwd,
                               std::map<std::string, std::string> env) const {
  return tito(args, cwd.empty() ? root() : root() / cwd, std::move(env));
}

}  // namespace tito::e2e
