#include "engine/release.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "engine/devfile.hpp"
#include "engine/stripper.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"
#include "util/text.hpp"

namespace tito {

namespace {

bool is_executable(const fs::path& p) {
  std::error_code ec;
  fs::perms perms = fs::status(p, ec).permissions();
  return !ec && (perms & fs::perms::owner_exec) != fs::perms::none;
}

}  // namespace

void collect_files(const fs::path& root, const std::string& rel, const std::set<std::string>& skip,
                   std::vector<ReleaseFile>& out) {
  fs::path base = root / rel;
  std::error_code ec;
  if (fs::is_regular_file(base, ec)) {
    out.push_back({rel, read_file(base), is_executable(base)});
    return;
  }
  if (!fs::is_directory(base, ec)) return;
  for (auto it = fs::recursive_directory_iterator(base, ec); it != fs::recursive_directory_iterator(); ++it) {
    std::string name = it->path().filename().string();
    std::string path = it->path().lexically_relative(root).string();
    if (name.starts_with(".") || skip.contains(path)) {
      if (it->is_directory()) it.disable_recursion_pending();
      continue;
    }
    if (it->is_regular_file()) out.push_back({path, read_file(it->path()), is_executable(it->path())});
  }
}

namespace {

// Punctuation-only lines ("}", "};", "})") say nothing about a solution.
bool is_trivial(std::string_view line) { return line.find_first_not_of("{}()[];, \t") == std::string_view::npos; }

}  // namespace

ReleaseContent make_release(const Course& course, const ReleaseOptions& options) {
  ReleaseContent release;
  const fs::path& root = course.root();
  std::vector<ReleaseFile> files;
  for (const char* item : {"CMakeLists.txt", "CMakePresets.json", ".gitignore"}) collect_files(root, item, {}, files);
  collect_files(root, "scripts", {}, files);
  collect_files(root, "tito", {}, files);
  collect_files(root, "templates", {}, files);
  collect_files(root, "package", {"package/generated"}, files);
  collect_files(root, "data", {"data/cache"}, files);
  collect_files(root, "milestones", {}, files);  // programs and harness, as they are: nothing in them is hidden
  if (std::optional<std::string> readme = read_file_if_exists(root / "templates" / "student" / "README.md")) {
    files.push_back({"README.md", *readme, false});
  }

  std::map<std::string, int> secret_count;  // secret occurrences per trimmed line
  std::map<std::string, int> total_count;   // all occurrences in the instructor's sources
  // Files copied as they are (tito, templates, ...) are public by definition.
  for (const ReleaseFile& f : files) {
    for (const std::string& line : split_lines(f.content)) ++total_count[std::string(trim(line))];
  }
  std::vector<Diagnostic> problems;
  for (const ModuleInfo* m : course.select(options.modules, /*with_requires=*/true)) {
    std::vector<ReleaseFile> module_files;
    collect_files(root, "modules/" + m->folder, {}, module_files);
    // module.json last: it records the exercise count of the dev file's strip.
    std::stable_partition(module_files.begin(), module_files.end(),
                          [](const ReleaseFile& f) { return !f.path.ends_with("module.json"); });
    int exercises = 0;
    std::string dev_rel = course.rel(m->dev_file());
    if (std::none_of(module_files.begin(), module_files.end(),
                     [&](const ReleaseFile& f) { return f.path == dev_rel; })) {
      // collect() skips what is not a regular file; the dev file must be one.
      std::string why = "missing dev file";
      try {
        read_file(m->dev_file(), kMaxDevFileBytes);
      } catch (const ReadError& e) {
        why = "cannot read it: " + e.reason();
      }
      problems.push_back(Diagnostic{dev_rel, 0, why + "; the module cannot be released without it", ""});
    }
    for (ReleaseFile& f : module_files) {
      bool dev = f.path == course.rel(m->dev_file());
      bool test = f.path.starts_with("modules/" + m->folder + "/tests/") && f.path.ends_with(".cpp");
      if (!dev && !test && !f.path.ends_with("module.json")) {
        files.push_back(std::move(f));
        continue;
      }
      try {
        if (f.path.ends_with("module.json")) {
          nlohmann::ordered_json j = nlohmann::ordered_json::parse(f.content);
          j["exercises"] = exercises;
          j.erase("grading");  // points and patterns that may name hidden tests stay with the instructor
          f.content = j.dump(2) + "\n";
          files.push_back(std::move(f));
          continue;
        }
        for (const std::string& line : split_lines(f.content)) ++total_count[std::string(trim(line))];
        StudentVersion s =
            dev ? strip_dev_file(f.content, f.path, {options.keep_solutions}) : strip_test_file(f.content, f.path);
        for (Diagnostic& d : s.near_misses) {
          d.message += "; tito release refuses the file until then";
          problems.push_back(std::move(d));
        }
        for (const std::string& line : s.secrets.lines) ++secret_count[line];
        if (dev && options.keep_solutions) {
          exercises = strip_dev_file(f.content, f.path).exercises;  // the count a student release states
        } else if (dev) {
          exercises = s.exercises;
        }
        if (dev) {
          release.exercises += s.exercises;
          files.push_back({std::string(kPristineDir) + "/" + f.path, s.text, false});
        }
        f.content = std::move(s.text);
        files.push_back(std::move(f));
      } catch (const DiagnosticError& e) {
        problems.insert(problems.end(), e.diagnostics().begin(), e.diagnostics().end());
      }
    }
  }
  if (!problems.empty()) throw DiagnosticError(std::move(problems));
  for (const auto& [line, n] : secret_count) {
    // A line that also appears outside every secret region is public anyway.
    if (!is_trivial(line) && total_count[line] == n && line != kDefaultStub && line != kYourCodeHere) {
      release.secrets.lines.push_back(line);
    }
  }
  std::sort(files.begin(), files.end(), [](const ReleaseFile& a, const ReleaseFile& b) { return a.path < b.path; });
  release.files = std::move(files);
  return release;
}

void write_release(const Course& course, const ReleaseContent& content, const fs::path& out_arg, bool force) {
  std::error_code ec;
  fs::path out = fs::weakly_canonical(fs::absolute(out_arg), ec);
  fs::path root = fs::weakly_canonical(course.root(), ec);
  auto inside = [](const fs::path& p, const fs::path& dir) {
    fs::path rel = p.lexically_relative(dir);
    return !rel.empty() && *rel.begin() != "..";
  };
  if (out == root || inside(root, out)) {
    throw Error("refusing to release into " + out.string() + ": it holds the course itself; choose another --out");
  }
  for (const char* source : {"modules", "tito", "package", "templates", "data", "scripts"}) {
    if (inside(out, root / source)) {
      throw Error("refusing to release into " + out.string() + ": it is inside the course's " + source +
                  "/, which the release copies; choose another --out (build/release is fine)");
    }
  }
  bool exists = fs::exists(out, ec);
  if (exists && !fs::is_directory(out, ec)) throw Error(out.string() + " exists and is not a folder");
  if (exists && !fs::is_empty(out, ec) && !force) {
    throw Error(out.string() + " is not empty; choose an empty folder, or pass --force to replace it");
  }
  fs::create_directories(out.parent_path(), ec);
  if (ec) throw Error("cannot create folder " + out.parent_path().string() + ": " + ec.message());
  TempDir staging(out.parent_path(), "." + out.filename().string() + ".tito-release-");
  for (const ReleaseFile& f : content.files) {
    fs::path target = staging.path() / f.path;
    write_file_atomic(target, f.content);
    if (f.executable) ::chmod(target.c_str(), 0755);
  }
  auto move = [&](const fs::path& from, const fs::path& to) {
    fs::rename(from, to, ec);
    if (ec)
      throw Error("cannot write the release to " + out.string() + ": cannot rename " + from.string() + ": " +
                  ec.message());
  };
  if (exists) {
    fs::path old = out.string() + ".tito-old";
    fs::remove_all(old, ec);
    move(out, old);
    move(staging.path(), out);
    fs::remove_all(old, ec);
  } else {
    move(staging.path(), out);
  }
  staging.keep();  // it is `out` now
}

std::vector<Leak> scan_for_leaks(const fs::path& root, const ReleaseSecrets& secrets) {
  std::set<std::string> secret(secrets.lines.begin(), secrets.lines.end());
  std::vector<Leak> leaks;
  std::vector<fs::path> paths;
  for (const auto& e : fs::recursive_directory_iterator(root)) {
    if (e.is_regular_file()) paths.push_back(e.path());
  }
  std::sort(paths.begin(), paths.end());
  for (const fs::path& p : paths) {
    std::string rel = p.lexically_relative(root).string();
    if (rel.starts_with("build/") || rel.starts_with("package/generated/")) continue;  // products of the check itself
    std::vector<std::string> lines = split_lines(read_file(p));
    for (std::size_t i = 0; i < lines.size(); ++i) {
      std::string t(trim(lines[i]));
      if (secret.contains(t)) leaks.push_back({rel, static_cast<int>(i + 1), t});
    }
  }
  return leaks;
}

}  // namespace tito
