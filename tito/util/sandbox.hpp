// Running code that tito does not trust (a student's submission inside the
// instructor's test programs, for `tito grade`): a wall-clock timeout,
// resource limits, a capped capture of its output, no network, an
// unprivileged user when tito is root, a cleared environment, and nothing it
// starts outliving the run: the program runs in a PID namespace of its own,
// whose processes the kernel kills all at once when the run ends (not even
// setsid() leaves it). Where the platform refuses the namespace, a subreaper
// stands in: every orphan of the program becomes the supervisor's child, and
// the supervisor kills its children until none is left.
//
// What it does not do: the file system is not hidden, only permissions guard
// it (the child reads what `nobody` may read, and can connect to a UNIX
// socket on disk that lets it: those are not in the network namespace).
// Without a PID namespace, sandboxes that run at once as the same user can
// signal each other (give each its own `run_as` to prevent it), and when
// tito is not root the program can kill the subreaper, which runs as the
// same user, and so let what it started outlive the run.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace tito {

// Who the child runs as.
struct SandboxUser {
  uid_t uid = 65534;
  gid_t gid = 65534;
};

struct SandboxLimits {
  // Wall clock; the program and all it started are killed (SIGKILL) after it. 0 = none.
  std::chrono::milliseconds timeout{60000};
  // RLIMIT_AS, 0 = none. A program built with AddressSanitizer reserves
  // terabytes of address space for its shadow memory and cannot even start
  // under an address-space limit: use 0 for sanitizer builds. Each thread's
  // stack and glibc's per-thread malloc arenas (64 MiB each) count too.
  std::uint64_t memory_bytes = std::uint64_t{2} << 30;
  // RLIMIT_CPU in seconds of CPU time, 0 = none (the timeout bounds a busy
  // loop already; this bounds a program that burns many cores at once).
  std::chrono::seconds cpu_time{0};
  // RLIMIT_FSIZE: the largest file the child may write, 0 = none.
  std::uint64_t file_bytes = std::uint64_t{256} << 20;
  // RLIMIT_NPROC, 0 = none. Linux counts it per user over all of that user's
  // processes, so it is applied only when the child runs as the sandbox
  // user (tito is root), never to an ordinary user's whole session.
  std::uint64_t processes = 256;
  // Captured stdout + stderr kept: the first half and the last half of it,
  // with a line between them saying how much was dropped. The child is never
  // blocked by a full pipe; everything it writes is counted.
  std::uint64_t output_bytes = std::uint64_t{1} << 20;
  // A new network namespace, where not even 127.0.0.1 answers: as root
  // directly, otherwise inside a new user namespace. When the platform allows
  // neither, the child runs with the network and the result says so.
  bool no_network = true;
  // A new PID namespace for the program and all it starts: as root directly,
  // otherwise inside a new user namespace. When the platform allows neither
  // (or this is false), a subreaper kills what the program leaves instead,
  // and the result says so.
  bool pid_namespace = true;
  // nullopt: `nobody` when tito runs as root, and tito's own user otherwise.
  // Another user needs tito to be root.
  std::optional<SandboxUser> run_as;
  // Set on Ctrl-C (the child is in a group of its own, so the terminal's
  // SIGINT never reaches it): the run is killed and the result says so.
  const std::atomic<bool>* interrupted = nullptr;
};

struct SandboxResult {
  int exit_code = -1;                 // the exit status when it exited, else -1
  int signal = 0;                     // the signal that ended it, 0 when it exited
  bool timed_out = false;             // killed by tito after `timeout`
  bool interrupted = false;           // killed by tito because `interrupted` was set
  bool memory_exceeded_hint = false;  // failed under a memory limit, and its output says an allocation failed
  bool output_truncated = false;
  std::uint64_t output_total_bytes = 0;  // all it wrote, kept or not
  std::string output;                    // stdout and stderr interleaved, capped
  bool network_isolated = false;
  std::string network_note;  // why not, when no_network asked for it: "unshare: Operation not permitted"
  // How what the program started was ended with it: in a PID namespace, or
  // when not, by a subreaper; the note says why not, when pid_namespace asked
  // for it: "no PID namespace: unshare: Operation not permitted; a subreaper
  // killed what the program left".
  bool in_pid_namespace = false;
  std::string pid_namespace_note;
  bool privileges_dropped = false;  // ran as a user other than tito's
  std::chrono::milliseconds elapsed{0};
  // One line for a person: "exited 0", "exited 1", "killed by SIGSEGV",
  // "killed after 10 s (timeout)", "killed by SIGABRT, probably out of
  // memory (limit 256 MiB)", "killed by SIGXCPU (CPU time limit 5 s)",
  // "exited 1 (AddressSanitizer: SEGV)", "killed: tito was interrupted".
  std::string reason;

  bool ok() const { return exit_code == 0; }
};

// The user the child of `run_sandboxed(..., limits)` runs as, or nullopt
// when it keeps tito's own.
std::optional<SandboxUser> sandbox_user(const SandboxLimits& limits);

// Hands `path` (and everything under it) to the sandbox user, so the child
// can write there: the scratch folder a submission builds and runs in. Does
// nothing when the child keeps tito's own user. Throws tito::Error naming
// the path when it cannot.
void make_writable_for_sandbox(const std::filesystem::path& path, const SandboxLimits& limits = {});

// Runs argv (argv[0] looked up on the sandbox's PATH) in `cwd` with an
// environment of PATH=/usr/local/bin:/usr/bin:/bin, HOME=cwd, LANG=C and
// then `env` (which may replace those), stdin from /dev/null, and waits for
// it under `limits`. When the program ends, or is killed, whatever it left
// running is killed, and the call returns once it is gone. Throws tito::Error when the program cannot be
// started at all (not found, `cwd` not enterable by the sandbox user, a
// limit refused); everything after the start is in the result.
SandboxResult run_sandboxed(const std::vector<std::string>& argv, const std::filesystem::path& cwd,
                            const std::map<std::string, std::string>& env = {}, const SandboxLimits& limits = {});

}  // namespace tito
