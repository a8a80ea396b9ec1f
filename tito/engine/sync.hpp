// Sync, part one: bring package/generated up to date with the dev files.
// Planning is separate from writing so that `--check` and the refusal to
// overwrite hand edits see exactly what a write would do.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "engine/course.hpp"
#include "engine/exporter.hpp"
#include "util/error.hpp"

namespace tito {

enum class FileChange {
  Unchanged,
  Created,
  Updated,       // tito's own earlier output, now stale
  Removed,       // tito's own output whose module or export target is gone
  EditedByHand,  // differs from what tito last wrote: refused without --force
  Overwritten,   // edited by hand, replaced because of --force
};

struct FilePlan {
  std::string path;     // relative to the course root
  FileChange change = FileChange::Unchanged;
  std::string content;  // what will be written (empty for Removed)
  std::string module;   // the module folder it belongs to; empty for course-level files
  std::optional<std::string> on_disk;  // what is there now, to put back if the sync fails half-way
};

struct ModuleState {
  const ModuleInfo* module = nullptr;
  ModuleExport exported;
  bool selected = false;  // named on the command line (or required by one that is)
  bool parsed = false;    // false: its dev file has errors, listed in SyncPlan::errors
  int exercises = 0;      // functions students write: solution blocks, or module.json's count in a release
  int default_exp_line = 0;  // where the dev file says where it exports to
};

struct SyncPlan {
  std::vector<ModuleState> modules;   // every module of the course, in build order
  std::vector<FilePlan> files;
  std::vector<Diagnostic> errors;     // problems in selected modules: fatal
  std::vector<Diagnostic> warnings;   // problems in modules that were not selected, files left alone

  bool ok() const { return errors.empty(); }
  // Files whose change is not Unchanged.
  std::vector<const FilePlan*> changes() const;
  const ModuleState* state(const std::string& folder) const;
};

struct SyncOptions {
  std::vector<std::string> modules;  // empty: the whole course
  bool force = false;                // overwrite hand-edited generated files
};

// Parses and exports every module, and compares the result with the disk.
// Throws for course-level problems (module.json); dev-file problems are
// collected in the plan.
SyncPlan plan_sync(const Course& course, const SyncOptions& options);

// Writes the plan and removes orphans, all or nothing: every new file is
// written beside its place first, then all are renamed into place; if that
// fails half-way, the files already replaced get their old content back.
// Requires plan.ok(); throws DiagnosticError listing hand-edited files unless
// they were planned as Overwritten, tito::Error when the disk refuses.
void apply_sync(const Course& course, const SyncPlan& plan);

// "created", "updated", ...
const char* describe(FileChange change);

// Where a module's generated files stand against its dev file.
enum class SyncState {
  Synced,            // every file is what the dev file makes
  NotSynced,         // some file was never written
  Stale,             // some file is tito's older output
  EditedByHand,      // some file was changed by hand since tito wrote it
  DevFileHasErrors,  // the dev file does not parse: nothing can be compared
};

// The state of `module` in `plan` (a plan_sync of the whole course).
SyncState sync_state(const SyncPlan& plan, const ModuleInfo& module);

// "synced", "not synced", "stale", "edited by hand", "dev file has errors".
const char* describe(SyncState state);

}  // namespace tito
