// The steps several verbs share, as engine functions that return values:
// sync the package (sync, test, status, module run), and sync-then-test
// (test, status).
#pragma once

#include <filesystem>
#include <vector>

#include "engine/builder.hpp"
#include "engine/course.hpp"
#include "engine/progress.hpp"
#include "engine/sync.hpp"
#include "engine/test_report.hpp"
#include "engine/testrun.hpp"

namespace tito {

// Plans the sync of `options.modules` (all when empty), tells `progress` its
// warnings and the files it writes, and writes it. Throws DiagnosticError
// with the plan's errors, having written nothing.
SyncPlan sync_package(const Course& course, const SyncOptions& options, Progress& progress);

// The build folder, configured if it never was.
Builder configured_builder(const Course& course, const std::filesystem::path& build_dir, Progress& progress);

// Syncs, builds and runs the tests of `options.modules` (all when empty),
// and remembers each module's result for `tito module list`.
TestReport sync_and_test(const Course& course, const std::filesystem::path& build_dir, const TestOptions& options,
                         Progress& progress);

}  // namespace tito
