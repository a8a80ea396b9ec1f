// Running other programs (cmake, ninja, ctest, the module programs).
#pragma once

#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace tito {

struct ProcessOptions {
  std::filesystem::path cwd;                          // empty: the current folder
  std::map<std::string, std::string> env;             // added to (or replacing in) the environment
  bool capture = true;                                // false: the child writes to our stdout/stderr
  bool separate_stderr = false;                       // with capture: stderr goes to `errors`, not `output`
  std::function<void(const std::string&)> on_line;    // with capture: called for each line of `output`
};

struct ProcessResult {
  int exit_code = -1;    // the child's exit status, or 128 + signal when it was killed
  bool signaled = false;
  std::string output;    // stdout and stderr, interleaved as written (with capture); only stdout when separate
  std::string errors;    // stderr, with capture and separate_stderr

  bool ok() const { return exit_code == 0; }
};

// Runs argv[0] (looked up on PATH) and waits for it. Throws tito::Error when
// the program cannot be started at all.
ProcessResult run_process(const std::vector<std::string>& argv, const ProcessOptions& options = {});

// The full path of `program` on PATH, if any.
std::optional<std::filesystem::path> find_program(const std::string& program);

}  // namespace tito
