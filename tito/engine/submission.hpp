// A student's submission for `tito grade`: a folder or an archive, and the
// dev files found in it. Nothing else a submission holds is ever read.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/course.hpp"
#include "util/fs.hpp"

namespace tito {

namespace fs = std::filesystem;

// The student id of a submission: the folder's name, or the archive's
// without .zip, .tar, .tar.gz or .tgz. Throws tito::Error (usage) when the
// path is neither a folder nor such an archive, or the name cannot be a
// file name of the results.
std::string student_id(const fs::path& submission);

// One module's dev file in a submission.
struct SubmittedFile {
  std::string path;                    // relative to the submission: "modules/01_tiny/tiny_dev.cpp"
  std::optional<std::string> content;  // nullopt: it could not be taken, `problem` says why
  std::string problem;
};

// A submission made readable: an archive extracted into a temporary folder
// (removed with it), a folder used as it is.
class OpenedSubmission {
 public:
  // Extracts `path` when it is an archive; throws tito::Error when the archive
  // is refused (an entry with "..", an absolute path, a link out) or damaged.
  explicit OpenedSubmission(const fs::path& path);
  const fs::path& folder() const { return folder_; }

 private:
  std::unique_ptr<TempDir> temp_;
  fs::path folder_;
};

// The dev file of each module of `course` found under `folder`, by its name
// (`name_dev.cpp`) anywhere in it; when several have the name, the one in a
// folder named like the module (`01_tiny/`). Folders starting with a dot
// (.git, .tito) and symbolic links are never followed or read. A module
// absent from the map has no dev file in the submission.
std::map<std::string, SubmittedFile> find_dev_files(const Course& course, const fs::path& folder);

}  // namespace tito
