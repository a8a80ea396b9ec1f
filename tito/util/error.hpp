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

  // "path:line: message" and, when known, the source line indented under it.
  std::string format() const;
};

// One or more problems in the course's files. Nothing has been written.
class DiagnosticError : public Error {
 public:
  explicit DiagnosticError(std::vector<Diagnostic> diagnostics);
  const std::vector<Diagnostic>& diagnostics() const noexcept { return diagnostics_; }

 private:
  std::vector<Diagnostic> diagnostics_;
};

}  // namespace tito
