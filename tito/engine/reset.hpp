// `tito module reset`: a module's dev file back to the student version, with
// every replaced file kept as a timestamped backup first.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "engine/course.hpp"

namespace tito {

struct Backup {
  std::string stamp;   // "20261123-164500", unique per module
  std::filesystem::path file;
  bool same_as_current = false;
};

// The module's student version: the pristine copy a release ships in
// .tito/pristine/, or (in the instructor's course) the stripped dev file.
std::string student_version_of(const Course& course, const ModuleInfo& module);

// How many of the module's exercises still hold the stub they were released
// with ("// YOUR CODE HERE" and the line under it, as in the pristine copy).
// Derived from the student's own file each time; 0 in the instructor's course.
int exercises_left(const Course& course, const ModuleInfo& module);

struct ResetResult {
  bool changed = false;      // false: the dev file was the student version already
  std::string backup_stamp;  // where the replaced file went
};

// Saves the current dev file as a backup, then writes the student version.
ResetResult reset_module(const Course& course, const ModuleInfo& module);

// The module's backups, oldest first.
std::vector<Backup> list_backups(const Course& course, const ModuleInfo& module);

// Brings a backup back (after backing up the current file). Throws when the
// stamp is unknown, naming the stamps there are.
std::string restore_backup(const Course& course, const ModuleInfo& module, const std::string& stamp);

}  // namespace tito
