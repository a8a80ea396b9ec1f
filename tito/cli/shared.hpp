// Steps that several verbs share: writing a sync plan, reporting builds.
#pragma once

#include <vector>

#include "cli/context.hpp"
#include "engine/builder.hpp"
#include "engine/sync.hpp"
#include "engine/testrun.hpp"

namespace tito::cli {

// Applies the plan, or reports its errors and throws (nothing written).
void write_sync(Context& ctx, const SyncPlan& plan);

// Plans the sync of `modules` (all when empty), reports its warnings and
// writes it: the first step of sync, test, status and module run.
SyncPlan sync_package(Context& ctx, const std::vector<std::string>& modules, bool force = false);

// The build folder, configured if it never was.
Builder configured_builder(Context& ctx);

// Prints compiler errors of failed modules to stderr; true when all built.
bool report_builds(Context& ctx, const std::vector<ModuleBuild>& builds);

// Syncs, builds and runs the tests of `modules` (all when empty); remembers
// the result for `tito module list`.
TestReport sync_and_test(Context& ctx, const TestOptions& options);

// The compiler's own words from a build log: ninja's progress lines and the
// command lines of failed steps are dropped (kept with -v).
std::string compiler_messages(const std::string& log, bool verbose);

}  // namespace tito::cli
