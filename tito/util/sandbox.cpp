#include "util/sandbox.hpp"

#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <string_view>
#include <system_error>

#include "util/error.hpp"
#include "util/fd.hpp"
#include "util/text.hpp"

namespace tito {

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr const char* kSandboxPath = "/usr/local/bin:/usr/bin:/bin";
// How long the output is still read after the child ended: everything the
// program started is dead by then, unless tito had to kill the supervisor
// itself (kStopGrace) and a program without a PID namespace left something.
constexpr milliseconds kDrainGrace{2000};
// How long the supervisor has to end a run tito ends (timeout, Ctrl-C) before
// tito kills its process group itself.
constexpr milliseconds kStopGrace{5000};
// How often the loop looks whether the child ended while it waits for output.
constexpr int kWakeMs = 100;

// "256 MiB", "2 GiB", "48.7 MiB", "512 bytes".
std::string format_bytes(std::uint64_t n) {
  constexpr std::uint64_t kKiB = 1024, kMiB = kKiB << 10, kGiB = kMiB << 10;
  auto exact = [&](std::uint64_t unit, const char* name) { return std::to_string(n / unit) + " " + name; };
  auto approx = [&](std::uint64_t unit, const char* name) {
    char buffer[64];
    std::snprintf(buffer, sizeof buffer, "%.1f %s", static_cast<double>(n) / static_cast<double>(unit), name);
    return std::string(buffer);
  };
  if (n >= kGiB) return n % kGiB == 0 ? exact(kGiB, "GiB") : approx(kGiB, "GiB");
  if (n >= kMiB) return n % kMiB == 0 ? exact(kMiB, "MiB") : approx(kMiB, "MiB");
  if (n >= kKiB) return n % kKiB == 0 ? exact(kKiB, "KiB") : approx(kKiB, "KiB");
  return std::to_string(n) + (n == 1 ? " byte" : " bytes");
}

// "10 s", "1.5 s", "250 ms".
std::string format_duration(milliseconds d) {
  long long ms = d.count();
  if (ms < 1000) return std::to_string(ms) + " ms";
  if (ms % 1000 == 0) return std::to_string(ms / 1000) + " s";
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.1f s", static_cast<double>(ms) / 1000.0);
  return buffer;
}

std::string signal_name(int sig) {
  const char* abbrev = sigabbrev_np(sig);
  return abbrev ? "SIG" + std::string(abbrev) : "signal " + std::to_string(sig);
}

// Keeps the first half and the last half of what the child writes, and
// counts all of it.
class OutputCapture {
 public:
  explicit OutputCapture(std::uint64_t limit) : head_limit_(limit - limit / 2), tail_limit_(limit / 2) {}

  void add(std::string_view bytes) {
    total_ += bytes.size();
    if (head_.size() < head_limit_) {
      std::size_t take = std::min<std::uint64_t>(bytes.size(), head_limit_ - head_.size());
      head_.append(bytes.substr(0, take));
      bytes.remove_prefix(take);
    }
    if (bytes.empty() || tail_limit_ == 0) return;
    if (bytes.size() > tail_limit_) bytes = bytes.substr(bytes.size() - tail_limit_);
    tail_.append(bytes);
    // Trimmed only when twice the limit, so each byte moves once at most.
    if (tail_.size() > 2 * tail_limit_) tail_.erase(0, tail_.size() - tail_limit_);
  }

  std::uint64_t total() const { return total_; }
  bool truncated() const { return total_ > head_limit_ + tail_limit_; }

  std::string take() {
    if (!truncated()) return head_ + tail_;
    if (tail_.size() > tail_limit_) tail_.erase(0, tail_.size() - tail_limit_);
    std::uint64_t dropped = total_ - head_.size() - tail_.size();
    std::string out = std::move(head_);
    if (!out.empty() && out.back() != '\n') out += '\n';
    out +=
        "[tito: " + format_bytes(dropped) + " of output dropped here, " + format_bytes(total_) + " written in all]\n";
    return out + tail_;
  }

 private:
  std::uint64_t head_limit_;
  std::uint64_t tail_limit_;
  std::uint64_t total_ = 0;
  std::string head_;
  std::string tail_;
};

std::optional<std::filesystem::path> find_on_path(const std::string& program, const std::string& path) {
  if (program.find('/') != std::string::npos) {
    if (::access(program.c_str(), X_OK) == 0) return std::filesystem::path(program);
    return std::nullopt;
  }
  std::size_t start = 0;
  while (start <= path.size()) {
    std::size_t end = path.find(':', start);
    if (end == std::string::npos) end = path.size();
    std::filesystem::path dir = path.substr(start, end - start);
    std::filesystem::path candidate = dir / program;
    if (!dir.empty() && ::access(candidate.c_str(), X_OK) == 0) return candidate;
    start = end + 1;
  }
  return std::nullopt;
}

// The processes of a run, all forked before the program's exec:
//
//   tito
//    └─ supervisor   tito's child: sets up the namespaces, starts the program,
//        │           waits for it (or for tito to end the run), kills all it
//        │           left, then ends the way the program ended
//        ├─ init     PID 1 of a new PID namespace, when there is one
//        └─ program  the argv, in that namespace (PID 2)
//
// Everything the program starts is in the namespace and dies with its init:
// not even setsid() leaves it. Where no PID namespace may be made, the
// supervisor is a subreaper instead (PR_SET_CHILD_SUBREAPER): every orphan of
// the program becomes its child, and it kills its children until none is left.

// What the supervisor and the program tell tito over a close-on-exec pipe
// before the program runs: which namespaces they got, or the step that
// failed. The pipe closes at a successful exec.
enum class Step : int {
  kNetwork,       // not fatal: `error` is 0 when isolated, else why not
  kPidNamespace,  // not fatal either: 0, or why the subreaper stands in
  kStdio,
  kSupervise,  // the supervisor could not start the init or the program
  kLimit,
  kGroups,
  kGid,
  kUid,
  kUserMap,
  kNoNewPrivs,
  kCwd,
  kExec,
};

struct Report {
  Step step;
  int error;
  int detail;  // for kLimit: the resource
};

struct ResourceLimit {
  int resource;
  rlimit value;
};

// Everything the supervisor and the program need, prepared before fork:
// after it, in a program that may have threads, they call only
// async-signal-safe functions.
struct ChildPlan {
  int output_fd = -1;
  int report_fd = -1;
  int stop_fd = -1;  // read end of a pipe tito closes (or that closes when tito dies): end the run now
  const char* program = nullptr;
  char* const* argv = nullptr;
  char* const* envp = nullptr;
  const char* cwd = nullptr;
  std::vector<ResourceLimit> limits;
  bool root = false;  // tito is root: it may make namespaces without a user namespace
  bool want_network_namespace = false;
  bool want_pid_namespace = false;
  std::optional<SandboxUser> drop_to;
  std::string uid_map;  // "uid uid 1\n": the child's own ids, mapped to themselves
  std::string gid_map;
  int max_fd = 1024;  // for closing descriptors when close_range is missing
  // Filled in by the supervisor, for the program it forks.
  int network_error = ENOSYS;  // 0 once in a network namespace
  int pid_error = ENOSYS;      // 0 once the program's forks land in a PID namespace
  pid_t supervisor = 0;
};

// How often the supervisor reaps the program's orphans when it is their
// subreaper, and looks whether the program ended when pidfd_open is missing.
constexpr int kSuperviseWakeMs = 100;
// How long it gives the processes it killed to die before it looks again.
constexpr int kSettleMs = 10;

void report(const ChildPlan& plan, Step step, int error, int detail = 0) {
  Report r{step, error, detail};
  [[maybe_unused]] ssize_t n = ::write(plan.report_fd, &r, sizeof r);
}

[[noreturn]] void fail(const ChildPlan& plan, Step step, int detail = 0) {
  report(plan, step, errno, detail);
  ::_exit(127);
}

bool write_proc_file(const char* path, const std::string& text) {
  int fd = ::open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  ::close(fd);
  return ok;
}

// A new user namespace in which the process keeps its ids: inside it, an
// unprivileged process may make the other namespaces. 0, or why not.
int enter_user_namespace(const ChildPlan& plan) {
  if (::unshare(CLONE_NEWUSER) != 0) return errno;
  // A process that changed its uid is not dumpable, and then its /proc/self
  // files belong to root: it could not write its own maps. Its program is
  // dumpable again after exec anyway.
  ::prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
  // Without "deny" an unprivileged process may not write its gid_map;
  // kernels before 3.19 have no setgroups file and need none.
  int fd = ::open("/proc/self/setgroups", O_WRONLY | O_CLOEXEC);
  if (fd >= 0) {
    [[maybe_unused]] ssize_t n = ::write(fd, "deny", 4);
    ::close(fd);
  }
  if (!write_proc_file("/proc/self/uid_map", plan.uid_map) || !write_proc_file("/proc/self/gid_map", plan.gid_map))
    fail(plan, Step::kUserMap);
  return 0;
}

int unshare_error(int flag) { return ::unshare(flag) == 0 ? 0 : errno; }

// The supervisor's namespaces, which the init and the program inherit. As
// root, each directly: root keeps its privileges until the program drops
// them, and a user namespace made by root would map root. Otherwise both
// inside one user namespace.
void enter_namespaces(ChildPlan& plan) {
  if (plan.root) {
    if (plan.want_network_namespace) plan.network_error = unshare_error(CLONE_NEWNET);
    if (plan.want_pid_namespace) plan.pid_error = unshare_error(CLONE_NEWPID);
    return;
  }
  if (!plan.want_network_namespace && !plan.want_pid_namespace) return;
  if (int error = enter_user_namespace(plan); error != 0) {
    plan.network_error = plan.pid_error = error;
    return;
  }
  if (plan.want_network_namespace) plan.network_error = unshare_error(CLONE_NEWNET);
  if (plan.want_pid_namespace) plan.pid_error = unshare_error(CLONE_NEWPID);
}

// Closes every descriptor above stderr but `keep_a` and `keep_b`.
void close_other_descriptors(const ChildPlan& plan, int keep_a, int keep_b) {
  auto [low, high] = std::minmax(keep_a, keep_b);
  auto close_between = [&](int first, int last) {
    if (first > last || ::close_range(first, last, 0) == 0) return;
    for (int fd = first; fd <= std::min(last, plan.max_fd); ++fd) ::close(fd);
  };
  close_between(3, low - 1);
  close_between(low + 1, high - 1);
  if (::close_range(high + 1, ~0U, 0) != 0) close_between(high + 1, plan.max_fd);
}

// The program, forked by the supervisor: its limits, its user, its network,
// then exec. `plan` is the supervisor's copy.
[[noreturn]] void program_main(ChildPlan& plan) noexcept {
  for (const ResourceLimit& limit : plan.limits)
    if (::setrlimit(limit.resource, &limit.value) != 0) fail(plan, Step::kLimit, limit.resource);

  if (plan.drop_to) {
    if (::setgroups(0, nullptr) != 0) fail(plan, Step::kGroups);
    if (::setresgid(plan.drop_to->gid, plan.drop_to->gid, plan.drop_to->gid) != 0) fail(plan, Step::kGid);
    if (::setresuid(plan.drop_to->uid, plan.drop_to->uid, plan.drop_to->uid) != 0) fail(plan, Step::kUid);
  }

  // Root that was refused a network namespace tries what an ordinary user
  // may: one owned by a user namespace of the user it now is.
  if (plan.root && plan.want_network_namespace && plan.network_error != 0) {
    plan.network_error = enter_user_namespace(plan);
    if (plan.network_error == 0) plan.network_error = unshare_error(CLONE_NEWNET);
  }
  if (plan.want_network_namespace) report(plan, Step::kNetwork, plan.network_error);

  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) fail(plan, Step::kNoNewPrivs);
  // Checked as the user the program runs as.
  if (::chdir(plan.cwd) != 0) fail(plan, Step::kCwd);
  // Set last: a change of credentials clears it. Outside a PID namespace, a
  // supervisor that died before it was set left an orphan that stops here;
  // inside, getppid() is 0 (the supervisor is not in the namespace), and
  // the init dies with the supervisor and takes the program with it.
  ::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  if (plan.pid_error != 0 && ::getppid() != plan.supervisor) ::_exit(127);

  ::execve(plan.program, plan.argv, plan.envp);
  fail(plan, Step::kExec);
}

// PID 1 of the run's PID namespace. The program is not PID 1 itself: PID 1
// ignores every signal it has no handler for (its own abort() would not end
// it), and each orphan's zombie would wait for it to reap it. This init only
// waits to be killed by the supervisor, and with it the kernel kills every
// process in the namespace. SIGCHLD set to SIG_IGN makes the kernel reap its
// children (the orphans) as they end.
[[noreturn]] void init_main(const ChildPlan& plan) noexcept {
  // If the supervisor dies, so does the namespace. Before this is set, the
  // supervisor ends only by a kill of its process group, which this init is
  // in too, or after killing the init itself.
  ::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  ::prctl(PR_SET_NAME, "tito-init", 0, 0, 0);
  ::close(plan.report_fd);
  ::close(plan.stop_fd);
  // Only the program's processes hold the output pipe (stdin is /dev/null).
  ::dup2(STDIN_FILENO, STDOUT_FILENO);
  ::dup2(STDIN_FILENO, STDERR_FILENO);
  struct sigaction reap {};
  reap.sa_handler = SIG_IGN;
  ::sigaction(SIGCHLD, &reap, nullptr);
  while (true) ::pause();
}

// "1234" from a /proc entry's name, 0 when it is not a process.
pid_t parse_pid(const char* name) {
  pid_t pid = 0;
  for (const char* c = name; *c != '\0'; ++c) {
    if (*c < '0' || *c > '9' || pid > 100000000) return 0;
    pid = pid * 10 + (*c - '0');
  }
  return pid;
}

// The parent of `pid` from /proc/<pid>/stat ("1234 (name) S 1200 ..."; the
// name may hold spaces and parentheses, so the last ')' ends it), 0 when gone.
pid_t parent_of(pid_t pid) {
  char path[32] = "/proc/";
  char digits[16];
  int n = 0;
  for (pid_t rest = pid; rest > 0 && n < 15; rest /= 10) digits[n++] = static_cast<char>('0' + rest % 10);
  int at = 6;
  while (n > 0) path[at++] = digits[--n];
  for (const char* tail = "/stat"; *tail != '\0';) path[at++] = *tail++;
  path[at] = '\0';

  int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  char stat[512];
  ssize_t got = ::read(fd, stat, sizeof stat - 1);
  ::close(fd);
  if (got <= 0) return 0;
  char* close_paren = nullptr;
  for (ssize_t i = 0; i < got; ++i)
    if (stat[i] == ')') close_paren = stat + i;
  if (close_paren == nullptr || close_paren + 4 >= stat + got) return 0;
  pid_t parent = 0;
  for (char* c = close_paren + 4; c < stat + got && *c >= '0' && *c <= '9'; ++c) parent = parent * 10 + (*c - '0');
  return parent;
}

// Sends SIGKILL to every process whose parent is `self`, found in /proc.
// Safe from reuse of a pid: only `self` reaps its children, and it is busy
// here. False when /proc cannot be read.
bool kill_children(pid_t self) {
  struct DirEntry {  // what getdents64 returns: struct linux_dirent64
    ino64_t inode;
    off64_t next;
    unsigned short length;
    unsigned char type;
    char name[1];
  };
  int dir = ::open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0) return false;
  alignas(DirEntry) char entries[8192];
  while (true) {
    long got = ::syscall(SYS_getdents64, dir, entries, sizeof entries);
    if (got <= 0) break;
    for (long at = 0; at < got;) {
      const auto* entry = reinterpret_cast<const DirEntry*>(entries + at);
      at += entry->length;
      pid_t pid = parse_pid(entry->name);
      if (pid > 0 && parent_of(pid) == self) ::kill(pid, SIGKILL);
    }
  }
  ::close(dir);
  return true;
}

// Reaps every child that has ended, keeping the program's status: the
// errno of waitpid when no child is left (ECHILD), else 0.
int reap_ended(pid_t program, std::optional<int>& program_status) {
  while (true) {
    int status = 0;
    pid_t ended = ::waitpid(-1, &status, WNOHANG);
    if (ended == program) program_status = status;
    if (ended > 0) continue;
    if (ended == 0) return 0;
    if (errno != EINTR) return errno;
  }
}

// Kills everything the run has left and reaps it. With a PID namespace,
// killing the init is enough: the kernel kills every process in it, and the
// init is not reaped until they all are (the program, the supervisor's own
// child, is reaped here, which the init waits for). Without one, every
// process left is a descendant of the supervisor, so killing its children
// until it has none kills them all: each one's orphans come to it in turn.
void end_everything(pid_t program, pid_t init, std::optional<int>& program_status) {
  pid_t self = ::getpid();
  if (init > 0) ::kill(init, SIGKILL);
  while (true) {
    bool found_all = init > 0 || kill_children(self);
    if (!found_all && !program_status) ::kill(program, SIGKILL);
    if (reap_ended(program, program_status) != 0) return;
    // Without /proc what is left cannot be found: not waited for forever.
    if (!found_all && program_status) return;
    ::poll(nullptr, 0, kSettleMs);
  }
}

// Waits for the program to end, or for tito to end the run, then ends
// everything that is left. Returns the program's wait status.
int supervise(const ChildPlan& plan, pid_t program, pid_t init) {
  // Readable when the program ends; without it (Linux before 5.3) the loop
  // looks every kSuperviseWakeMs.
  int exited = static_cast<int>(::syscall(SYS_pidfd_open, program, 0));
  std::optional<int> program_status;
  while (!program_status) {
    pollfd fds[2] = {{plan.stop_fd, POLLIN, 0}, {exited, POLLIN, 0}};
    // As their subreaper it reaps the program's orphans as they end.
    int wait_ms = exited < 0 || init <= 0 ? kSuperviseWakeMs : -1;
    int ready = ::poll(fds, exited < 0 ? 1 : 2, wait_ms);
    if (ready < 0 && errno != EINTR) ::poll(nullptr, 0, kSuperviseWakeMs);
    if (reap_ended(program, program_status) != 0) break;
    if (ready > 0 && fds[0].revents != 0) break;  // tito closed the pipe: timeout, Ctrl-C, or it died
  }
  if (exited >= 0) ::close(exited);
  end_everything(program, init, program_status);
  return program_status.value_or(W_EXITCODE(127, 0));
}

// Ends the supervisor the way the program ended, so that tito's waitpid
// sees the program's own exit status or signal.
[[noreturn]] void end_as(int status) {
  if (WIFSIGNALED(status)) {
    // No core file of the supervisor's: the program's crash was its own.
    rlimit none{0, 0};
    ::setrlimit(RLIMIT_CORE, &none);
    ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    struct sigaction defaults {};
    defaults.sa_handler = SIG_DFL;
    ::sigaction(WTERMSIG(status), &defaults, nullptr);
    ::kill(::getpid(), WTERMSIG(status));
  }
  ::_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 127);
}

// tito's child. `plan` is the parent's copy: it changes only plain fields of
// it.
[[noreturn]] void supervisor_main(ChildPlan& plan) noexcept {
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  struct sigaction defaults {};
  defaults.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; ++sig) ::sigaction(sig, &defaults, nullptr);
  ::setpgid(0, 0);

  // Above 0-2 first, so the dup2s below never overwrite one with another.
  plan.report_fd = ::fcntl(plan.report_fd, F_DUPFD_CLOEXEC, 3);
  plan.stop_fd = ::fcntl(plan.stop_fd, F_DUPFD_CLOEXEC, 3);
  int output = ::fcntl(plan.output_fd, F_DUPFD_CLOEXEC, 3);
  int null = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (plan.report_fd < 0) ::_exit(127);
  if (plan.stop_fd < 0 || output < 0 || null < 0) fail(plan, Step::kStdio);
  if (::dup2(null, STDIN_FILENO) < 0 || ::dup2(output, STDOUT_FILENO) < 0 || ::dup2(output, STDERR_FILENO) < 0)
    fail(plan, Step::kStdio);
  close_other_descriptors(plan, plan.report_fd, plan.stop_fd);

  enter_namespaces(plan);
  if (plan.want_pid_namespace) report(plan, Step::kPidNamespace, plan.pid_error);
  plan.supervisor = ::getpid();

  // _Fork, not fork: no atfork handlers, whose locks another thread of tito
  // may have held when it forked this process.
  pid_t init = 0;
  if (plan.pid_error == 0) {
    init = ::_Fork();
    if (init == 0) init_main(plan);
    if (init < 0) fail(plan, Step::kSupervise);
  } else if (::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0) {
    fail(plan, Step::kSupervise);
  }
  pid_t program = ::_Fork();
  if (program == 0) program_main(plan);
  if (program < 0) {
    int error = errno;
    // Killed here: it may not have set its PR_SET_PDEATHSIG yet.
    if (init > 0) ::kill(init, SIGKILL);
    errno = error;
    fail(plan, Step::kSupervise);
  }

  ::close(plan.report_fd);
  ::dup2(STDIN_FILENO, STDOUT_FILENO);
  ::dup2(STDIN_FILENO, STDERR_FILENO);
  end_as(supervise(plan, program, init));
}

std::string resource_name(int resource) {
  switch (resource) {
    case RLIMIT_AS:
      return "the memory limit (RLIMIT_AS)";
    case RLIMIT_CPU:
      return "the CPU time limit (RLIMIT_CPU)";
    case RLIMIT_FSIZE:
      return "the file size limit (RLIMIT_FSIZE)";
    case RLIMIT_NPROC:
      return "the process limit (RLIMIT_NPROC)";
    case RLIMIT_CORE:
      return "the core dump limit (RLIMIT_CORE)";
    default:
      return "resource limit " + std::to_string(resource);
  }
}

// Why another user cannot reach `path`: the first folder above it that
// others may not enter, as a sentence with what to do; "" when none is (a
// closed `path` itself is tito's to open: make_writable_for_sandbox).
std::string closed_folder(const std::filesystem::path& path) {
  std::filesystem::path so_far;
  for (const std::filesystem::path& part : std::filesystem::absolute(path).lexically_normal().parent_path()) {
    so_far /= part;
    struct stat st {};
    if (::stat(so_far.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) break;
    if ((st.st_mode & S_IXOTH) == 0) {
      char mode[8];
      std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
      return " (" + so_far.string() + " has mode " + mode +
             ": other users may not enter it, and the tests run as an unprivileged user; grade into a folder "
             "everyone may enter, e.g. --out /srv/grades, or chmod o+x " +
             so_far.string() + ")";
    }
  }
  return "";
}

// The message of a child that could not start the program.
std::string start_failure(const Report& r, const std::string& program, const std::filesystem::path& cwd,
                          const std::optional<SandboxUser>& user) {
  std::string why = std::strerror(r.error);
  std::string as = user ? " as uid " + std::to_string(user->uid) : "";
  std::string prefix = "cannot run " + program + " in the sandbox: ";
  switch (r.step) {
    case Step::kStdio:
      return prefix + "cannot set up its stdin and output: " + why;
    case Step::kSupervise:
      return prefix + "cannot start it under a supervisor: " + why;
    case Step::kLimit:
      return prefix + "cannot set " + resource_name(r.detail) + ": " + why;
    case Step::kGroups:
    case Step::kGid:
    case Step::kUid:
      return prefix + "cannot switch to uid " + std::to_string(user ? user->uid : 0) + ", gid " +
             std::to_string(user ? user->gid : 0) + ": " + why;
    case Step::kUserMap:
      return prefix + "cannot map its user into a new user namespace: " + why;
    case Step::kNoNewPrivs:
      return prefix + "cannot forbid it new privileges: " + why;
    case Step::kCwd: {
      std::string hint;
      if (r.error == EACCES) hint = closed_folder(cwd);
      if (r.error == EACCES && hint.empty()) hint = " (make_writable_for_sandbox hands a folder to the sandbox user)";
      return prefix + "cannot enter " + cwd.string() + as + ": " + why + hint;
    }
    case Step::kExec: {
      std::string hint;
      if (r.error == EACCES && user) hint = closed_folder(program);
      if (r.error == EACCES && user && hint.empty())
        hint = " (it must be executable by uid " + std::to_string(user->uid) + ")";
      return prefix + why + hint;
    }
    case Step::kNetwork:
    case Step::kPidNamespace:
      break;
  }
  return prefix + why;
}

std::vector<ResourceLimit> resource_limits(const SandboxLimits& limits, bool dropping) {
  auto same = [](std::uint64_t n) { return rlimit{static_cast<rlim_t>(n), static_cast<rlim_t>(n)}; };
  std::vector<ResourceLimit> out;
  out.push_back({RLIMIT_CORE, same(0)});
  if (limits.memory_bytes != 0) out.push_back({RLIMIT_AS, same(limits.memory_bytes)});
  if (limits.file_bytes != 0) out.push_back({RLIMIT_FSIZE, same(limits.file_bytes)});
  if (limits.cpu_time.count() > 0) {
    // SIGXCPU at the soft limit, SIGKILL a second later.
    auto seconds = static_cast<rlim_t>(limits.cpu_time.count());
    out.push_back({RLIMIT_CPU, rlimit{seconds, seconds + 1}});
  }
  if (dropping && limits.processes != 0) out.push_back({RLIMIT_NPROC, same(limits.processes)});
  return out;
}

std::vector<std::string> sandbox_environment(const std::filesystem::path& cwd,
                                             const std::map<std::string, std::string>& extra) {
  std::map<std::string, std::string> env{{"PATH", kSandboxPath}, {"HOME", cwd.string()}, {"LANG", "C"}};
  for (const auto& [key, value] : extra) env[key] = value;
  std::vector<std::string> out;
  for (const auto& [key, value] : env) out.push_back(key + "=" + value);
  return out;
}

std::vector<char*> pointers(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (std::string& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

// Kills the supervisor's process group and reaps the supervisor unless it was
// reaped: a throw never leaves a sandboxed program running. The init is in
// that group, so the PID namespace goes with it; without one, what left the
// group is left (this is for tito's own errors, not the program's).
class ChildGuard {
 public:
  explicit ChildGuard(pid_t pid) : pid_(pid) {}
  ~ChildGuard() {
    if (reaped_) return;
    ::kill(-pid_, SIGKILL);
    ::kill(pid_, SIGKILL);
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
  }
  ChildGuard(const ChildGuard&) = delete;
  ChildGuard& operator=(const ChildGuard&) = delete;
  pid_t pid() const { return pid_; }
  void reaped() { reaped_ = true; }

 private:
  pid_t pid_;
  bool reaped_ = false;
};

// What the child reported before exec: the namespaces' fate, or why it could
// not start.
struct ChildReports {
  std::optional<int> network_error;
  std::optional<int> pid_error;
  std::optional<Report> failure;
};

ChildReports read_reports(Fd& report_read) {
  ChildReports out;
  Report r{};
  std::size_t have = 0;
  auto* bytes = reinterpret_cast<char*>(&r);
  while (true) {
    ssize_t got = ::read(report_read.get(), bytes + have, sizeof r - have);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) break;
    have += static_cast<std::size_t>(got);
    if (have < sizeof r) continue;
    have = 0;
    if (r.step == Step::kNetwork) {
      out.network_error = r.error;
    } else if (r.step == Step::kPidNamespace) {
      out.pid_error = r.error;
    } else {
      out.failure = r;
    }
  }
  return out;
}

bool mentions_failed_allocation(const std::string& output) {
  for (std::string_view needle : {"bad_alloc", "Cannot allocate memory", "out of memory", "memory exhausted"})
    if (output.find(needle) != std::string::npos) return true;
  return false;
}

// "AddressSanitizer: SEGV" from a sanitizer's "==12==ERROR: AddressSanitizer:
// SEGV on unknown address ...": a sanitizer catches the crash and exits 1,
// so its report is the only place that says what happened. "" when none.
std::string sanitizer_error(const std::string& output) {
  std::size_t at = output.find("ERROR: ");
  while (at != std::string::npos) {
    std::size_t start = at + 7;
    std::size_t colon = output.find("Sanitizer: ", start);
    std::size_t line_end = std::min(output.find('\n', start), output.size());
    if (colon != std::string::npos && colon < line_end && output.find(' ', start) > colon) {
      std::string text = output.substr(start, line_end - start);
      if (std::size_t on = text.find(" on "); on != std::string::npos) text.resize(on);
      return printable(text, 80);
    }
    at = output.find("ERROR: ", start);
  }
  return "";
}

std::string describe(const SandboxResult& r, const SandboxLimits& limits) {
  std::string why;
  if (r.timed_out) {
    why = "killed after " + format_duration(limits.timeout) + " (timeout)";
  } else if (r.interrupted) {
    why = "killed: tito was interrupted";
  } else if (r.signal != 0) {
    why = "killed by " + signal_name(r.signal);
    if (r.signal == SIGXCPU && limits.cpu_time.count() > 0)
      why += " (CPU time limit " + format_duration(limits.cpu_time) + ")";
    if (r.signal == SIGXFSZ && limits.file_bytes != 0)
      why += " (file size limit " + format_bytes(limits.file_bytes) + ")";
  } else {
    why = "exited " + std::to_string(r.exit_code);
    if (r.exit_code != 0) {
      std::string sanitizer = sanitizer_error(r.output);
      if (!sanitizer.empty()) why += " (" + sanitizer + ")";
    }
  }
  if (r.memory_exceeded_hint) why += ", probably out of memory (limit " + format_bytes(limits.memory_bytes) + ")";
  return why;
}

// How the child ended.
struct Ending {
  int status = 0;  // of waitpid
  bool timed_out = false;
  bool interrupted = false;
  Clock::time_point at{};
};

// Reads the child's output into `capture` until it ends, then what is still
// in the pipe. At `deadline` or an interrupt it closes `stop`, and the
// supervisor kills everything of the run and ends; should it not within
// kStopGrace, its process group is killed. Returns once the child is reaped
// and the pipe is closed or the grace period is over.
Ending watch(ChildGuard& child, Fd& output, Fd& stop, std::optional<Clock::time_point> deadline,
             const std::atomic<bool>* interrupted, OutputCapture& capture, const std::string& program) {
  pid_t pid = child.pid();
  // Readable when the child ends; without it (Linux before 5.3) the loop
  // looks every kWakeMs.
  Fd exited(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
  Ending ending;
  bool reaped = false;
  Clock::time_point drain_until{};
  // When tito stops waiting for the supervisor to end the run; none yet.
  constexpr Clock::time_point kNever = Clock::time_point::max();
  Clock::time_point kill_at = kNever;
  char buffer[65536];
  while (true) {
    if (!reaped) {
      pid_t waited = ::waitpid(pid, &ending.status, WNOHANG);
      if (waited < 0 && errno != EINTR)
        throw Error("waiting for " + program + " in the sandbox: " + std::strerror(errno));
      if (waited == pid) {
        reaped = true;
        child.reaped();
        ending.at = Clock::now();
        // The supervisor left nothing running, unless it was killed itself.
        ::kill(-pid, SIGKILL);
        drain_until = ending.at + kDrainGrace;
      }
    }
    Clock::time_point now = Clock::now();
    bool ending_run = ending.timed_out || ending.interrupted;
    if (!reaped && !ending_run && deadline && now >= *deadline) ending.timed_out = true;
    if (!reaped && !ending_run && interrupted && interrupted->load()) ending.interrupted = true;
    if (!ending_run && (ending.timed_out || ending.interrupted)) {
      stop.close();
      kill_at = now + kStopGrace;
    }
    if (!reaped && now >= kill_at) {
      ::kill(-pid, SIGKILL);
      ::kill(pid, SIGKILL);
      kill_at = kNever;
    }
    if (reaped && (!output.valid() || now >= drain_until)) return ending;

    auto ms_until = [&](Clock::time_point t) {
      return static_cast<int>(std::clamp<long long>(std::chrono::ceil<milliseconds>(t - now).count(), 0, 1 << 30));
    };
    int wait_ms = -1;
    if (reaped) {
      wait_ms = ms_until(drain_until);
    } else if (kill_at != kNever) {
      wait_ms = ms_until(kill_at);
    } else if (deadline && !ending.timed_out && !ending.interrupted) {
      wait_ms = ms_until(*deadline);
    }
    // The flag is set by a signal handler that may run on another thread.
    if (!reaped && (!exited.valid() || interrupted)) wait_ms = wait_ms < 0 ? kWakeMs : std::min(wait_ms, kWakeMs);

    pollfd fds[2];
    nfds_t n = 0;
    if (output.valid()) fds[n++] = {output.get(), POLLIN, 0};
    if (!reaped && exited.valid()) fds[n++] = {exited.get(), POLLIN, 0};
    int ready = ::poll(fds, n, wait_ms);
    if (ready < 0 && errno != EINTR)
      throw Error(std::string("cannot read a sandboxed program's output: ") + std::strerror(errno));
    if (ready <= 0 || !output.valid() || fds[0].revents == 0) continue;
    ssize_t got = ::read(output.get(), buffer, sizeof buffer);
    if (got < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (got <= 0) {
      output.close();
      continue;
    }
    capture.add(std::string_view(buffer, static_cast<std::size_t>(got)));
  }
}

}  // namespace

std::optional<SandboxUser> sandbox_user(const SandboxLimits& limits) {
  if (limits.run_as) {
    if (limits.run_as->uid == ::geteuid() && limits.run_as->gid == ::getegid()) return std::nullopt;
    return limits.run_as;
  }
  if (::geteuid() != 0) return std::nullopt;
  SandboxUser nobody;
  passwd entry{};
  passwd* found = nullptr;
  std::vector<char> buffer(16384);
  if (::getpwnam_r("nobody", &entry, buffer.data(), buffer.size(), &found) == 0 && found != nullptr) {
    nobody.uid = found->pw_uid;
    nobody.gid = found->pw_gid;
  }
  return nobody;
}

void make_writable_for_sandbox(const std::filesystem::path& path, const SandboxLimits& limits) {
  std::optional<SandboxUser> user = sandbox_user(limits);
  if (!user) return;
  auto hand_over = [&](const std::filesystem::path& p) {
    if (::lchown(p.c_str(), user->uid, user->gid) != 0)
      throw Error("cannot hand " + p.string() + " to the sandbox user (uid " + std::to_string(user->uid) +
                  "): " + std::strerror(errno));
  };
  hand_over(path);
  std::error_code ec;
  if (!std::filesystem::is_directory(std::filesystem::symlink_status(path, ec))) return;
  std::filesystem::recursive_directory_iterator it(path, ec), end;
  for (; !ec && it != end; it.increment(ec)) hand_over(it->path());
  if (ec) throw Error("cannot hand " + path.string() + " to the sandbox user: " + ec.message());
}

namespace {

// The child's plan and the strings it points into, built before fork.
class PreparedChild {
 public:
  PreparedChild(const std::vector<std::string>& argv, const std::filesystem::path& workdir,
                const std::map<std::string, std::string>& env, const SandboxLimits& limits,
                const std::optional<SandboxUser>& user, Fd& output_write, Fd& report_write, Fd& stop_read)
      : args_(argv), env_(sandbox_environment(workdir, env)), workdir_(workdir.string()) {
    std::string path_value = kSandboxPath;
    if (auto it = env.find("PATH"); it != env.end()) path_value = it->second;
    std::optional<std::filesystem::path> program = find_on_path(argv[0], path_value);
    if (!program) throw Error("cannot run " + argv[0] + ": not found on the sandbox's PATH (" + path_value + ")");
    // Absolute: a relative name would be looked up again from `cwd` by execve.
    program_ = std::filesystem::absolute(*program).string();
    arg_pointers_ = pointers(args_);
    env_pointers_ = pointers(env_);

    plan.output_fd = output_write.get();
    plan.report_fd = report_write.get();
    plan.stop_fd = stop_read.get();
    plan.program = program_.c_str();
    plan.argv = arg_pointers_.data();
    plan.envp = env_pointers_.data();
    plan.cwd = workdir_.c_str();
    plan.limits = resource_limits(limits, user.has_value());
    plan.root = ::geteuid() == 0;
    plan.want_network_namespace = limits.no_network;
    plan.want_pid_namespace = limits.pid_namespace;
    plan.drop_to = user;
    uid_t uid = user ? user->uid : ::geteuid();
    gid_t gid = user ? user->gid : ::getegid();
    plan.uid_map = std::to_string(uid) + " " + std::to_string(uid) + " 1\n";
    plan.gid_map = std::to_string(gid) + " " + std::to_string(gid) + " 1\n";
    long open_max = ::sysconf(_SC_OPEN_MAX);
    plan.max_fd = open_max > 0 ? static_cast<int>(std::min(open_max, 65536L)) : 1024;
  }
  PreparedChild(const PreparedChild&) = delete;
  PreparedChild& operator=(const PreparedChild&) = delete;

  ChildPlan plan;

 private:
  std::vector<std::string> args_;
  std::vector<std::string> env_;
  std::string workdir_;
  std::string program_;
  std::vector<char*> arg_pointers_;
  std::vector<char*> env_pointers_;
};

void make_pipe(Fd& read_end, Fd& write_end) {
  int fds[2] = {-1, -1};
  if (::pipe2(fds, O_CLOEXEC) != 0) throw Error(std::string("cannot create a pipe: ") + std::strerror(errno));
  read_end = Fd(fds[0]);
  write_end = Fd(fds[1]);
}

// The result of a child that started, from what it reported, how it ended
// and what it wrote.
SandboxResult outcome(const ChildReports& reports, const Ending& ending, Clock::time_point start,
                      OutputCapture& capture, const std::optional<SandboxUser>& user, const SandboxLimits& limits) {
  SandboxResult result;
  result.network_isolated = reports.network_error && *reports.network_error == 0;
  if (limits.no_network && !result.network_isolated)
    result.network_note = std::string("no network namespace: unshare: ") +
                          std::strerror(reports.network_error ? *reports.network_error : ENOSYS);
  result.in_pid_namespace = reports.pid_error && *reports.pid_error == 0;
  if (limits.pid_namespace && !result.in_pid_namespace)
    result.pid_namespace_note = std::string("no PID namespace: unshare: ") +
                                std::strerror(reports.pid_error ? *reports.pid_error : ENOSYS) +
                                "; a subreaper killed what the program left";
  result.privileges_dropped = user.has_value();
  result.timed_out = ending.timed_out;
  result.interrupted = ending.interrupted;
  result.elapsed = std::chrono::duration_cast<milliseconds>(ending.at - start);
  if (WIFEXITED(ending.status)) {
    result.exit_code = WEXITSTATUS(ending.status);
  } else if (WIFSIGNALED(ending.status)) {
    result.signal = WTERMSIG(ending.status);
  }
  result.output_total_bytes = capture.total();
  result.output_truncated = capture.truncated();
  result.output = capture.take();
  result.memory_exceeded_hint = limits.memory_bytes != 0 && !result.ok() && !result.timed_out && !result.interrupted &&
                                mentions_failed_allocation(result.output);
  result.reason = describe(result, limits);
  return result;
}

}  // namespace

SandboxResult run_sandboxed(const std::vector<std::string>& argv, const std::filesystem::path& cwd,
                            const std::map<std::string, std::string>& env, const SandboxLimits& limits) {
  if (argv.empty()) throw Error("internal: run_sandboxed without a program");
  std::filesystem::path workdir = std::filesystem::absolute(cwd.empty() ? std::filesystem::current_path() : cwd);
  std::optional<SandboxUser> user = sandbox_user(limits);
  if (user && ::geteuid() != 0)
    throw Error("cannot run " + argv[0] + " as uid " + std::to_string(user->uid) +
                ": only root can switch users, and tito runs as uid " + std::to_string(::geteuid()));

  Fd output_read, output_write, report_read, report_write, stop_read, stop_write;
  make_pipe(output_read, output_write);
  make_pipe(report_read, report_write);
  make_pipe(stop_read, stop_write);
  PreparedChild child(argv, workdir, env, limits, user, output_write, report_write, stop_read);

  Clock::time_point start = Clock::now();
  pid_t pid = ::fork();
  if (pid < 0) throw Error("cannot run " + argv[0] + ": fork failed: " + std::strerror(errno));
  if (pid == 0) supervisor_main(child.plan);
  ChildGuard guard(pid);
  // Both sides set the group, so it is in place before either goes on.
  ::setpgid(pid, pid);
  output_write.close();
  report_write.close();
  stop_read.close();

  ChildReports reports = read_reports(report_read);
  if (reports.failure) throw Error(start_failure(*reports.failure, argv[0], workdir, user));

  OutputCapture capture(limits.output_bytes);
  std::optional<Clock::time_point> deadline;
  if (limits.timeout.count() > 0)
    deadline = start + std::min<milliseconds>(limits.timeout, std::chrono::hours(24 * 365));
  Ending ending = watch(guard, output_read, stop_write, deadline, limits.interrupted, capture, argv[0]);
  return outcome(reports, ending, start, capture, user, limits);
}

}  // namespace tito
