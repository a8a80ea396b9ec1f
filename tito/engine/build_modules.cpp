#include "engine/build_modules.hpp"

#include <algorithm>
#include <map>

namespace tito {

std::vector<ModuleBuild> build_modules(const Course& course, const SyncPlan& plan, Builder& builder,
                                       const BuildRequest& request, Progress& progress) {
  std::vector<const ModuleInfo*> selected = course.select(request.modules, /*with_requires=*/false);
  std::vector<const ModuleInfo*> needed = course.select(request.modules, /*with_requires=*/true);
  auto targets_of = [&](const ModuleInfo& m, bool is_selected) {
    std::vector<std::string> targets;
    const ModuleState* state = plan.state(m.folder);
    if (state == nullptr || !state->parsed) return targets;
    if (state->exported.has_library) targets.push_back(library_target(m));
    if (is_selected && request.tests && state->exported.has_tests) targets.push_back(tests_target(m));
    if (is_selected && request.demos && state->exported.has_demo) targets.push_back(demo_target(m));
    return targets;
  };
  auto is_selected = [&](const ModuleInfo* m) { return std::find(selected.begin(), selected.end(), m) != selected.end(); };

  // The usual case, everything compiles, takes one build; only when it fails
  // are the modules built one by one to pin each error on its module.
  std::vector<std::string> everything;
  for (const ModuleInfo* m : needed) {
    for (std::string& t : targets_of(*m, is_selected(m))) everything.push_back(std::move(t));
  }
  bool all_built = false;
  if (!everything.empty()) {
    progress.step(needed.size() == 1 ? "building " + needed.front()->folder
                                     : "building " + std::to_string(needed.size()) + " modules");
    all_built = builder.build(everything).ok;
  }

  std::map<std::string, std::string> broken;  // module name -> the module folder that failed
  std::vector<ModuleBuild> out;
  for (const ModuleInfo* m : needed) {
    ModuleBuild b;
    b.module = m;
    b.selected = std::find(selected.begin(), selected.end(), m) != selected.end();
    const ModuleState* state = plan.state(m->folder);
    if (state != nullptr) {
      b.has_tests = state->exported.has_tests;
      b.has_demo = state->exported.has_demo;
    }
    for (const std::string& req : m->required) {
      if (broken.contains(req)) {
        b.outcome = BuildOutcome::Blocked;
        b.blocked_by = broken[req];
        broken[m->name] = broken[req];
        break;
      }
    }
    std::vector<std::string> targets = targets_of(*m, b.selected);
    if (b.outcome != BuildOutcome::Blocked && !targets.empty()) {
      if (all_built) {
        b.outcome = BuildOutcome::Built;
      } else {
        BuildResult r = builder.build(targets);
        b.outcome = r.ok ? BuildOutcome::Built : BuildOutcome::Failed;
        if (!r.ok) {
          b.output = r.output;
          broken[m->name] = m->folder;
        }
      }
    }
    out.push_back(std::move(b));
  }
  return out;
}

}  // namespace tito
