#include "engine/sync.hpp"

#include <algorithm>
#include <map>
#include <set>

#include "engine/milestone.hpp"
#include "util/fs.hpp"

namespace tito {

const char* describe(FileChange change) {
  switch (change) {
    case FileChange::Unchanged: return "unchanged";
    case FileChange::Created: return "created";
    case FileChange::Updated: return "updated";
    case FileChange::Removed: return "removed";
    case FileChange::EditedByHand: return "edited by hand";
    case FileChange::Overwritten: return "overwritten (was edited by hand)";
  }
  return "?";
}

const char* describe(SyncState state) {
  switch (state) {
    case SyncState::Synced: return "synced";
    case SyncState::NotSynced: return "not synced";
    case SyncState::Stale: return "stale";
    case SyncState::EditedByHand: return "edited by hand";
    case SyncState::DevFileHasErrors: return "dev file has errors";
  }
  return "?";
}

SyncState sync_state(const SyncPlan& plan, const ModuleInfo& m) {
  const ModuleState* s = plan.state(m.folder);
  if (s == nullptr || !s->parsed) return SyncState::DevFileHasErrors;
  SyncState state = SyncState::Synced;
  for (const FilePlan& f : plan.files) {
    if (f.module != m.folder) continue;
    if (f.change == FileChange::EditedByHand || f.change == FileChange::Overwritten) return SyncState::EditedByHand;
    if (f.change == FileChange::Created) state = SyncState::NotSynced;
    if (f.change == FileChange::Updated && state == SyncState::Synced) state = SyncState::Stale;
  }
  return state;
}

std::vector<const FilePlan*> SyncPlan::changes() const {
  std::vector<const FilePlan*> out;
  for (const FilePlan& f : files) {
    if (f.change != FileChange::Unchanged) out.push_back(&f);
  }
  return out;
}

const ModuleState* SyncPlan::state(const std::string& folder) const {
  for (const ModuleState& s : modules) {
    if (s.module->folder == folder) return &s;
  }
  return nullptr;
}

namespace {

std::vector<std::string> module_test_files(const Course& course, const ModuleInfo& module) {
  std::vector<std::string> files;
  std::error_code ec;
  for (const fs::directory_entry& e : fs::directory_iterator(module.tests_dir(), ec)) {
    if (e.is_regular_file() && e.path().extension() == ".cpp") files.push_back(course.rel(e.path()));
  }
  std::sort(files.begin(), files.end());
  return files;
}

// A course source file, at most kMaxDevFileBytes; a folder, FIFO or device
// in its place is a diagnostic at `rel`.
std::optional<std::string> read_source(const fs::path& path, const std::string& rel) {
  try {
    return read_file_if_exists(path, kMaxDevFileBytes);
  } catch (const ReadError& e) {
    throw DiagnosticError({Diagnostic{rel, 0, "cannot read it: " + e.reason(), ""}});
  }
}

// Whether tito may replace the file now on disk.
bool is_ours(const std::string& on_disk) {
  if (on_disk == kManifestPlaceholder || on_disk == kMilestonesPlaceholder) return true;
  std::optional<Banner> banner = read_banner(on_disk);
  return banner && banner->intact;
}

FilePlan compare(const Course& course, const GeneratedFile& file, const std::string& module, bool force) {
  FilePlan plan{file.path, FileChange::Unchanged, file.content, module, std::nullopt};
  std::optional<std::string> on_disk = read_file_if_exists(course.root() / file.path);
  plan.on_disk = on_disk;
  if (!on_disk) {
    plan.change = FileChange::Created;
  } else if (*on_disk != file.content) {
    if (is_ours(*on_disk)) {
      plan.change = FileChange::Updated;
    } else {
      plan.change = force ? FileChange::Overwritten : FileChange::EditedByHand;
    }
  }
  return plan;
}

}  // namespace

SyncPlan plan_sync(const Course& course, const SyncOptions& options) {
  SyncPlan plan;
  std::set<std::string> selected;
  for (const ModuleInfo* m : course.select(options.modules, /*with_requires=*/true)) selected.insert(m->folder);

  std::set<std::string> unparsed_sources;  // banners naming these keep their files
  for (const ModuleInfo& m : course.modules()) {
    ModuleState state;
    state.module = &m;
    state.selected = selected.contains(m.folder);
    std::string dev_rel = course.rel(m.dev_file());
    try {
      std::optional<std::string> text = read_source(m.dev_file(), dev_rel);
      if (!text) {
        throw DiagnosticError({Diagnostic{dev_rel, 0, "missing dev file (each module has " + m.name + "_dev.cpp)", ""}});
      }
      DevFile dev = parse_dev_file(*text, dev_rel);
      plan.warnings.insert(plan.warnings.end(), dev.warnings.begin(), dev.warnings.end());
      std::vector<std::string> tests = module_test_files(course, m);
      for (const std::string& t : tests) {
        scan_test_file_markers(read_source(course.root() / t, t).value_or(""), t, &plan.warnings);
      }
      state.exported = export_module(m, dev, tests);
      for (const Cell& cell : dev.cells) state.exercises += static_cast<int>(cell.solutions.size());
      if (m.exercises >= 0) state.exercises = m.exercises;
      state.default_exp_line = dev.default_exp_line;
      state.parsed = true;
    } catch (const DiagnosticError& e) {
      auto& sink = state.selected ? plan.errors : plan.warnings;
      sink.insert(sink.end(), e.diagnostics().begin(), e.diagnostics().end());
      unparsed_sources.insert(dev_rel);
    }
    plan.modules.push_back(std::move(state));
  }

  // Two modules exporting to the same place would overwrite each other.
  std::map<std::string, std::string> owner;
  std::set<std::pair<std::string, std::string>> reported;  // one message per pair of modules
  for (const ModuleState& s : plan.modules) {
    for (const GeneratedFile& f : s.exported.files) {
      auto [it, fresh] = owner.emplace(f.path, s.module->folder);
      if (!fresh && reported.emplace(s.module->folder, it->second).second) {
        plan.errors.push_back(Diagnostic{course.rel(s.module->dev_file()), s.default_exp_line,
                                         "exports to " + f.path + ", which " + it->second +
                                             " exports to as well (give one of them another default_exp)",
                                         ""});
      }
    }
  }

  std::set<std::string> planned;
  for (const ModuleState& s : plan.modules) {
    for (const GeneratedFile& f : s.exported.files) {
      FilePlan fp = compare(course, f, s.module->folder, options.force);
      if (fp.change == FileChange::EditedByHand && !s.selected) {
        plan.warnings.push_back(Diagnostic{f.path, 0, "edited by hand; left alone (not part of this sync)", ""});
        fp.change = FileChange::Unchanged;
      }
      planned.insert(f.path);
      plan.files.push_back(std::move(fp));
    }
  }
  GeneratedFile manifest = export_course_manifest(course.modules());
  planned.insert(manifest.path);
  plan.files.push_back(compare(course, manifest, "", options.force));
  // The milestones build in the package too (engine/milestone.hpp).
  if (Milestones milestones = Milestones::load(course); milestones.present()) {
    for (const GeneratedFile& f : export_milestones(milestones.all())) {
      planned.insert(f.path);
      plan.files.push_back(compare(course, f, "", options.force));
    }
  }

  // Orphans: tito's own files that nothing generates any more.
  std::error_code ec;
  fs::path generated = course.root() / kGeneratedDir;
  if (fs::is_directory(generated, ec)) {
    std::vector<fs::path> found;
    for (auto it = fs::recursive_directory_iterator(generated, ec); it != fs::recursive_directory_iterator(); ++it) {
      if (it->is_regular_file() && !it->path().filename().string().starts_with(".")) found.push_back(it->path());
    }
    std::sort(found.begin(), found.end());
    for (const fs::path& p : found) {
      std::string rel = course.rel(p);
      if (planned.contains(rel)) continue;
      std::optional<std::string> content = read_file_if_exists(p);
      std::optional<Banner> banner = content ? read_banner(*content) : std::nullopt;
      if (!banner) continue;  // not tito's: never touched
      if (unparsed_sources.contains(banner->source)) continue;
      if (!banner->intact) {
        plan.warnings.push_back(Diagnostic{rel, 0, "no module generates this file any more, but it was edited by hand; "
                                                   "left alone (delete it if it is not needed)", ""});
        continue;
      }
      plan.files.push_back(FilePlan{rel, FileChange::Removed, "", "", content});
    }
  }

  for (const FilePlan& f : plan.files) {
    if (f.change == FileChange::EditedByHand) {
      plan.errors.push_back(Diagnostic{f.path, 0,
                                       "generated file was edited by hand; not overwritten. Move the edit into its dev "
                                       "file, or run `tito sync --force` to replace it",
                                       ""});
    }
  }
  return plan;
}

namespace {

// Puts back what the files were before a sync that failed half-way.
class Rollback {
 public:
  explicit Rollback(const Course& course) : course_(course) {}
  ~Rollback() {
    if (done_) return;
    for (auto it = changed_.rbegin(); it != changed_.rend(); ++it) {
      std::error_code ec;
      try {
        if (it->on_disk) {
          write_file_atomic(course_.root() / it->path, *it->on_disk);
        } else {
          fs::remove(course_.root() / it->path, ec);
        }
      } catch (const Error&) {
        // The disk refuses even this; the error being thrown says what failed first.
      }
    }
  }
  Rollback(const Rollback&) = delete;
  Rollback& operator=(const Rollback&) = delete;

  // `f` is about to be replaced or removed.
  void changing(const FilePlan& f) { changed_.push_back(f); }
  void commit() { done_ = true; }

 private:
  const Course& course_;
  std::vector<FilePlan> changed_;
  bool done_ = false;
};

}  // namespace

void apply_sync(const Course& course, const SyncPlan& plan) {
  if (!plan.ok()) throw DiagnosticError(plan.errors);
  // Everything that can run out of space or permission happens here, before
  // any file is replaced: a failure leaves the package as it was.
  std::vector<StagedFile> staged;
  std::vector<const FilePlan*> writes, removals;
  for (const FilePlan& f : plan.files) {
    switch (f.change) {
      case FileChange::Created:
      case FileChange::Updated:
      case FileChange::Overwritten:
        staged.emplace_back(course.root() / f.path, f.content);
        writes.push_back(&f);
        break;
      case FileChange::Removed:
        removals.push_back(&f);
        break;
      case FileChange::Unchanged:
      case FileChange::EditedByHand:
        break;
    }
  }
  Rollback rollback(course);
  for (std::size_t i = 0; i < staged.size(); ++i) {
    rollback.changing(*writes[i]);
    staged[i].commit();
  }
  for (const FilePlan* f : removals) {
    rollback.changing(*f);
    std::error_code ec;
    fs::remove(course.root() / f->path, ec);
    if (ec) throw Error("cannot remove " + f->path + ": " + ec.message());
  }
  rollback.commit();
}

}  // namespace tito
