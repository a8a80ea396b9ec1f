#include "engine/submission.hpp"

#include <algorithm>

#include "data/extract.hpp"
#include "engine/devfile.hpp"
#include "util/error.hpp"
#include "util/text.hpp"

namespace tito {

namespace {

constexpr const char* kArchiveSuffixes[] = {".tar.gz", ".tgz", ".tar", ".zip"};

// The archive suffix of `name`, or "".
std::string archive_suffix(const std::string& name) {
  for (const char* s : kArchiveSuffixes) {
    if (name.size() > std::string_view(s).size() && name.ends_with(s)) return s;
  }
  return "";
}

bool safe_id(const std::string& id) {
  if (id.empty() || id.front() == '.' || id.size() > 100) return false;
  for (char c : id) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-' && c != '@' && c != '+') {
      return false;
    }
  }
  return true;
}

// Files walked in a submission at most: a course with its build folder is a
// few thousand; more is not a course.
constexpr std::size_t kMaxEntries = 200000;

}  // namespace

std::string student_id(const fs::path& submission) {
  std::error_code ec;
  fs::path clean = submission.lexically_normal();
  if (clean.filename().empty()) clean = clean.parent_path();
  std::string name = clean.filename().string();
  std::string id;
  if (fs::is_directory(submission, ec)) {
    id = name;
  } else if (fs::is_regular_file(submission, ec)) {
    std::string suffix = archive_suffix(name);
    if (suffix.empty()) {
      throw Error(submission.string() + ": a submission is a folder or a .zip, .tar, .tar.gz or .tgz archive",
                  kExitUsage);
    }
    id = name.substr(0, name.size() - suffix.size());
  } else {
    throw Error(submission.string() + ": no such folder or archive", kExitUsage);
  }
  if (!safe_id(id)) {
    throw Error(submission.string() + ": the student id '" + printable(id, 60) +
                    "' (the name without its archive suffix) may hold only letters, digits and . _ - @ +; rename it",
                kExitUsage);
  }
  return id;
}

OpenedSubmission::OpenedSubmission(const fs::path& path) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    folder_ = fs::absolute(path);
    return;
  }
  temp_ = std::make_unique<TempDir>("tito-grade");
  data::extract_archive(path, temp_->path(), nullptr);
  folder_ = temp_->path();
}

std::map<std::string, SubmittedFile> find_dev_files(const Course& course, const fs::path& folder) {
  std::map<std::string, const ModuleInfo*> by_file;  // "tiny_dev.cpp" -> module
  for (const ModuleInfo& m : course.modules()) by_file[m.name + "_dev.cpp"] = &m;
  std::map<std::string, std::vector<fs::path>> found;  // module folder -> candidates (relative)
  std::error_code ec;
  std::size_t entries = 0;
  for (auto it = fs::recursive_directory_iterator(folder, fs::directory_options::skip_permission_denied, ec);
       it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (ec) break;
    if (++entries > kMaxEntries) {
      throw Error("the submission " + folder.string() + " holds more than " + std::to_string(kMaxEntries) +
                  " files; submit the course without its build folder");
    }
    const std::string name = it->path().filename().string();
    if (name.starts_with(".")) {
      if (it->is_directory(ec)) it.disable_recursion_pending();
      continue;
    }
    auto module = by_file.find(name);
    if (module == by_file.end()) continue;
    found[module->second->folder].push_back(it->path().lexically_relative(folder));
  }
  if (ec) throw Error("cannot read the submission " + folder.string() + ": " + ec.message());

  std::map<std::string, SubmittedFile> out;
  for (auto& [module_folder, candidates] : found) {
    std::sort(candidates.begin(), candidates.end());
    std::vector<fs::path> in_module;
    for (const fs::path& c : candidates) {
      if (c.parent_path().filename() == module_folder) in_module.push_back(c);
    }
    const std::vector<fs::path>& chosen = in_module.empty() ? candidates : in_module;
    SubmittedFile f;
    f.path = chosen.front().string();
    if (chosen.size() > 1) {
      std::vector<std::string> names;
      for (const fs::path& c : chosen) names.push_back(c.string());
      f.problem = std::to_string(chosen.size()) + " dev files for " + module_folder + " (" + join(names) +
                  "); a submission holds one: remove the others";
    } else if (fs::symlink_status(folder / chosen.front(), ec).type() != fs::file_type::regular) {
      f.problem = f.path + " is not a regular file (a symbolic link?); submit the file itself";
    } else {
      try {
        f.content = read_file(folder / chosen.front(), kMaxDevFileBytes);
      } catch (const ReadError& e) {
        f.problem = "cannot read " + f.path + ": " + e.reason();
      }
    }
    out[module_folder] = std::move(f);
  }
  return out;
}

}  // namespace tito
