// Typed errors of tito. main() catches tito::Error once and turns it into a
// message and an exit code; everything else is a bug.
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

namespace tito {

// Exit codes: 0 success, 1 a check or test failed / the input is wrong /
// the file system refused, 2 a usage error, 70 a bug in tito (EX_SOFTWARE
// of sysexits.h: never the user's input), 130 interrupted.
enum ExitCode : int {
  kExitOk = 0,
  kExitFailure = 1,
  kExitUsage = 2,
  kExitInternal = 70,
  kExitInterrupted = 130,
};

// Anything a user can act on. `what()` is the whole message.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message, int exit_code = kExitFailure)
      : std::runtime_error(message), exit_code_(exit_code) {}
  int exit_code() const noexcept { return exit_code_; }

 private:
  int exit_code_;
};

// A problem at a place in a file: "modules/01_tensor/tensor_dev.cpp:42: message".
struct Diagnostic {
  std::string path;    // as shown to the user (relative to the course root)
  int line = 0;        // 1-based; 0 when the problem is the whole file
  std::string message;
  std::string source;  // the offending line, shown under the message; may be empty

  // "path:line: message" and, when known, the source line indented under it,
  // with the file's control bytes escaped and a long line cut short.
  std::string format() const;
};

// One or more problems in the course's files.
class DiagnosticError : public Error {
 public:
  // `outcome` is said after the problems: what did not happen because of them.
  explicit DiagnosticError(std::vector<Diagnostic> diagnostics, std::string outcome = "nothing was written");
  const std::vector<Diagnostic>& diagnostics() const noexcept { return diagnostics_; }
  const std::string& outcome() const noexcept { return outcome_; }

 private:
  std::vector<Diagnostic> diagnostics_;
  std::string outcome_;
};

// Collects the diagnostics of one file, keeping the first `limit` and
// counting the rest: a file whose every cell is malformed gets a few dozen
// messages and "... and N more", not thousands.
class DiagnosticList {
 public:
  explicit DiagnosticList(std::string path, std::size_t limit = 30) : path_(std::move(path)), limit_(limit) {}
  void add(int line, std::string message, std::string source = "");
  bool empty() const { return kept_.empty(); }
  std::size_t size() const { return kept_.size() + dropped_; }
  // The kept diagnostics, and one more that counts the dropped ones.
  std::vector<Diagnostic> take();

 private:
  std::string path_;
  std::size_t limit_;
  std::vector<Diagnostic> kept_;
  std::size_t dropped_ = 0;
};

}  // namespace tito
