#include "engine/autograder.hpp"

#include "data/zip.hpp"
#include "engine/grade.hpp"
#include "engine/grading.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"

namespace tito {

namespace {

// The files of tito's sources the bundle needs, each checked: a tree that
// lacks one cannot build tito on Gradescope.
std::vector<ReleaseFile> tito_sources(const fs::path& source) {
  for (const char* needed : {"CMakeLists.txt", "tito/CMakeLists.txt", "tito/main.cpp", "scripts/deps",
                             "tito/autograder/setup.sh", "tito/autograder/run_autograder"}) {
    if (!fs::is_regular_file(source / needed)) {
      throw Error("the autograder bundle builds tito from its sources, and " + (source / needed).string() +
                  " is not there; run `tito grade autograder` with a tito built from a full source tree");
    }
  }
  std::vector<ReleaseFile> files;
  for (const char* item : {"CMakeLists.txt", "CMakePresets.json", "scripts/deps", "tito"}) {
    collect_files(source, item, {}, files);
  }
  return files;
}

}  // namespace

AutograderBundle make_autograder(const Course& course, const AutograderOptions& options) {
  if (options.timeout_seconds <= 0) {
    throw Error("--timeout must be a positive number of seconds; got " + std::to_string(options.timeout_seconds),
                kExitUsage);
  }
  // A malformed "grading" is found now, at its line, not on Gradescope.
  std::vector<Diagnostic> problems;
  for (const ModuleInfo& m : course.modules()) {
    try {
      parse_grading(read_file(m.manifest(), kMaxManifestBytes), course.rel(m.manifest()));
    } catch (const DiagnosticError& e) {
      problems.insert(problems.end(), e.diagnostics().begin(), e.diagnostics().end());
    }
  }
  if (!problems.empty()) throw DiagnosticError(problems, "no autograder written");

  const fs::path source = fs::absolute(options.tito_source).lexically_normal();
  std::vector<ReleaseFile> tito = tito_sources(source);
  AutograderBundle bundle;
  for (const char* script : {"setup.sh", "run_autograder"}) {
    bundle.files.push_back({script, read_file(source / "tito" / "autograder" / script), true});
  }
  bundle.files.push_back({"autograder.env",
                          "# Read by setup.sh and run_autograder; written by `tito grade autograder`.\n"
                          "TIMEOUT=" +
                              std::to_string(options.timeout_seconds) + "\n",
                          false});
  for (ReleaseFile& f : tito) {
    f.path = "tito-source/" + f.path;
    bundle.files.push_back(std::move(f));
  }
  // What grading copies, the same list `tito grade run` uses, and the data registry.
  std::vector<ReleaseFile> own;
  const fs::path& root = course.root();
  for (const std::string& f : grading_course_files(root)) own.push_back({f, read_file(root / f), false});
  collect_files(root, "data", {"data/cache"}, own);
  bundle.course_files = static_cast<int>(own.size());
  for (ReleaseFile& f : own) {
    f.path = "course/" + f.path;
    bundle.files.push_back(std::move(f));
  }
  bundle.modules = static_cast<int>(course.modules().size());
  return bundle;
}

void write_autograder(const Course& course, const AutograderBundle& bundle, const fs::path& out, bool force) {
  const fs::path target = fs::absolute(out).lexically_normal();
  const fs::path root = fs::absolute(course.root()).lexically_normal();
  const fs::path rel = target.lexically_relative(root);
  for (const char* bundled : {"modules", "package", "data"}) {
    if (!rel.empty() && *rel.begin() == bundled) {
      throw Error(out.string() + " is inside the course's " + bundled +
                      "/, which the next bundle would hold; write it elsewhere (--out), e.g. the course's own folder",
                  kExitUsage);
    }
  }
  std::error_code ec;
  if (fs::is_directory(target, ec)) {
    throw Error(out.string() + " is a folder; --out names the zip file to write (e.g. " +
                    (out / "autograder.zip").string() + ")",
                kExitUsage);
  }
  if (fs::exists(target, ec) && !force) {
    throw Error(out.string() + " exists; pass --force to replace it", kExitUsage);
  }
  std::vector<data::ZipEntry> entries;
  entries.reserve(bundle.files.size());
  for (const ReleaseFile& f : bundle.files) entries.push_back({f.path, f.content, f.executable});
  write_file_atomic(target, data::make_zip(entries));
}

}  // namespace tito
