#include "engine/reset.hpp"

#include <algorithm>
#include <ctime>
#include <set>

#include "engine/release.hpp"
#include "engine/stripper.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"
#include "util/text.hpp"

namespace tito {

namespace {

fs::path backup_dir(const Course& course, const ModuleInfo& m) { return course.root() / ".tito" / "backups" / m.folder; }

std::string backup_name(const std::string& stamp, const ModuleInfo& m) { return stamp + "_" + m.name + "_dev.cpp"; }

// Copies the current dev file into the backups; returns its stamp.
std::string back_up(const Course& course, const ModuleInfo& m, const std::string& current) {
  std::time_t now = std::time(nullptr);
  char base[32];
  std::strftime(base, sizeof base, "%Y%m%d-%H%M%S", std::gmtime(&now));
  std::string stamp = base;
  for (int n = 2; fs::exists(backup_dir(course, m) / backup_name(stamp, m)); ++n) {
    stamp = std::string(base) + "-" + std::to_string(n);
  }
  write_file_atomic(backup_dir(course, m) / backup_name(stamp, m), current);
  return stamp;
}

}  // namespace

std::string student_version_of(const Course& course, const ModuleInfo& m) {
  fs::path pristine = course.root() / kPristineDir / course.rel(m.dev_file());
  if (std::optional<std::string> text = read_file_if_exists(pristine)) return *text;
  return strip_dev_file(read_file(m.dev_file()), course.rel(m.dev_file())).text;
}

int exercises_left(const Course& course, const ModuleInfo& m) {
  std::optional<std::string> pristine = read_file_if_exists(course.root() / kPristineDir / course.rel(m.dev_file()));
  std::optional<std::string> current = read_file_if_exists(m.dev_file());
  if (!pristine || !current) return 0;
  auto stubs = [](const std::string& text) {
    std::multiset<std::string> out;
    std::vector<std::string> lines = split_lines(text);
    for (std::size_t i = 0; i + 1 < lines.size(); ++i) {
      if (trim(lines[i]) == kYourCodeHere) out.insert(std::string(trim(lines[i + 1])));
    }
    return out;
  };
  std::multiset<std::string> released = stubs(*pristine), still = stubs(*current);
  int left = 0;
  for (auto it = released.begin(); it != released.end(); it = released.upper_bound(*it)) {
    left += static_cast<int>(std::min(released.count(*it), still.count(*it)));
  }
  return left;
}

ResetResult reset_module(const Course& course, const ModuleInfo& m) {
  std::string student = student_version_of(course, m);
  std::string current = read_file(m.dev_file());
  if (current == student) return {};
  ResetResult result{true, back_up(course, m, current)};
  write_file_atomic(m.dev_file(), student);
  return result;
}

std::vector<Backup> list_backups(const Course& course, const ModuleInfo& m) {
  std::vector<Backup> out;
  std::error_code ec;
  std::optional<std::string> current = read_file_if_exists(m.dev_file());
  std::string suffix = "_" + m.name + "_dev.cpp";
  for (const auto& e : fs::directory_iterator(backup_dir(course, m), ec)) {
    std::string name = e.path().filename().string();
    if (!name.ends_with(suffix)) continue;
    Backup b{name.substr(0, name.size() - suffix.size()), e.path(), false};
    b.same_as_current = current && read_file(e.path()) == *current;
    out.push_back(std::move(b));
  }
  std::sort(out.begin(), out.end(), [](const Backup& a, const Backup& b) { return a.stamp < b.stamp; });
  return out;
}

std::string restore_backup(const Course& course, const ModuleInfo& m, const std::string& stamp) {
  std::vector<Backup> backups = list_backups(course, m);
  auto it = std::find_if(backups.begin(), backups.end(), [&](const Backup& b) { return b.stamp == stamp; });
  if (it == backups.end()) {
    std::vector<std::string> known;
    for (const Backup& b : backups) known.push_back(b.stamp);
    throw Error("no backup " + stamp + " of " + m.folder + " (" + (known.empty() ? "there are none" : "backups: " + join(known)) +
                ")");
  }
  std::string content = read_file(it->file);
  std::string current = read_file(m.dev_file());
  std::string saved;
  if (current != content) {
    bool already_saved = std::any_of(backups.begin(), backups.end(), [](const Backup& b) { return b.same_as_current; });
    if (!already_saved) saved = back_up(course, m, current);
    write_file_atomic(m.dev_file(), content);
  }
  return saved;
}

}  // namespace tito
