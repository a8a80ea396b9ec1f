#include "util/sandbox.hpp"

#include <grp.h>
#include <fcntl.h>
#include <gtest/gtest.h>

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <functional>

#include <atomic>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <thread>

#include "common/scoped_env.hpp"
#include "engine/temp_course.hpp"
#include "util/fd.hpp"
#include "util/fs.hpp"

#if defined(__SANITIZE_ADDRESS__)
#define TITO_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TITO_TEST_ASAN 1
#endif
#endif

namespace tito {
namespace {

using namespace std::chrono_literals;
using testing::diagnostics_of;

constexpr const char* kProbe = TITO_SANDBOX_PROBE;
constexpr const char* kAsanReason =
    "built with AddressSanitizer: its shadow memory needs terabytes of address space, so no program of this "
    "build can start under RLIMIT_AS";

bool running_as_root() { return ::geteuid() == 0; }

// A word no other process has in its command line. The probe's processes
// carry it (the probe ignores it), and are found by it in /proc: inside the
// sandbox's PID namespace, the pids they see are not this test's.
std::string unique_marker() {
  static int count = 0;
  return "tito-sandbox-test-" + std::to_string(::getpid()) + "-" + std::to_string(++count) + "-" +
         std::to_string(std::chrono::steady_clock::now().time_since_epoch().count());
}

// The processes whose command line holds `marker`: the living ones, since a
// zombie's command line is empty.
std::vector<pid_t> processes_with(const std::string& marker) {
  std::vector<pid_t> found;
  std::error_code ec;
  for (fs::directory_iterator it("/proc", ec), end; !ec && it != end; it.increment(ec)) {
    std::string name = it->path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    // Read with read(2): a process that exits while it is read fails the read
    // with ESRCH (std::ifstream would throw); it is gone, which is what is asked.
    std::string cmdline;
    if (int fd = ::open((it->path() / "cmdline").c_str(), O_RDONLY | O_CLOEXEC); fd >= 0) {
      char buffer[4096];
      for (ssize_t n; (n = ::read(fd, buffer, sizeof buffer)) > 0;) cmdline.append(buffer, static_cast<std::size_t>(n));
      ::close(fd);
    }
    if (cmdline.find(marker) != std::string::npos) found.push_back(static_cast<pid_t>(std::stol(name)));
  }
  return found;
}

std::size_t open_descriptors() {
  std::size_t n = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator("/proc/self/fd")) ++n;
  return n;
}

// A socket listening on 127.0.0.1 at a port the kernel picks.
class LoopbackListener {
 public:
  LoopbackListener() : fd_(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t size = sizeof address;
    if (!fd_.valid() || ::bind(fd_.get(), reinterpret_cast<sockaddr*>(&address), size) != 0 ||
        ::listen(fd_.get(), 8) != 0 || ::getsockname(fd_.get(), reinterpret_cast<sockaddr*>(&address), &size) != 0)
      throw std::runtime_error("cannot listen on 127.0.0.1");
    port_ = ntohs(address.sin_port);
  }
  std::string port() const { return std::to_string(port_); }

 private:
  Fd fd_;
  int port_ = 0;
};

class Sandbox : public ::testing::Test {
 protected:
  void SetUp() override {
    make_writable_for_sandbox(dir_.path());
#ifdef TITO_TEST_ASAN
    limits_.memory_bytes = 0;  // the probe is built with AddressSanitizer too
#endif
  }

  SandboxResult run(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env = {}) {
    return run_sandboxed(argv, dir_.path(), env, limits_);
  }

  TempDir dir_{"tito-sandbox-test"};
  SandboxLimits limits_;
};

// Runs `body` as `nobody` in a forked copy of this process and returns its
// exit code (body's result; 3 when the privileges cannot be dropped, 1 when
// it throws, printing why), or -1 when the child did not exit normally.
int exit_code_as_nobody(const std::function<int()>& body) {
  pid_t pid = ::fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    if (::setgroups(0, nullptr) != 0 || ::setresgid(65534, 65534, 65534) != 0 || ::setresuid(65534, 65534, 65534) != 0)
      ::_exit(3);
    int code = 1;
    try {
      code = body();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "%s\n", e.what());
    }
    ::_exit(code);
  }
  int status = 0;
  if (::waitpid(pid, &status, 0) != pid || !WIFEXITED(status)) return -1;
  return WEXITSTATUS(status);
}

TEST_F(Sandbox, CapturesOutputAndExitStatus) {
  SandboxResult r = run({"/bin/sh", "-c", "echo out; echo err >&2; exit 3"});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_EQ(r.signal, 0);
  EXPECT_FALSE(r.timed_out);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.output, "out\nerr\n");
  EXPECT_EQ(r.output_total_bytes, 8u);
  EXPECT_FALSE(r.output_truncated);
  EXPECT_FALSE(r.memory_exceeded_hint);
  EXPECT_EQ(r.reason, "exited 3");
}

TEST_F(Sandbox, ANormalExitIsOk) {
  SandboxResult r = run({"sh", "-c", "echo fine"});
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.output, "fine\n");
  EXPECT_EQ(r.reason, "exited 0");
}

TEST_F(Sandbox, ARelativeProgramIsFoundFromTitosFolderNotTheSandboxs) {
  fs::path relative = fs::relative(kProbe, fs::current_path());
  std::string program = relative.has_parent_path() ? relative.string() : "./" + relative.string();
  SandboxResult r = run({program, "spam", "4"});
  EXPECT_TRUE(r.ok()) << r.reason;
  EXPECT_EQ(r.output, "END\n");
}

TEST_F(Sandbox, NamesTheSignalThatKilledIt) {
  SandboxResult r = run({kProbe, "segv"});
#ifdef TITO_TEST_ASAN
  // The probe's AddressSanitizer catches the signal, reports it and exits 1.
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.reason, "exited 1 (AddressSanitizer: SEGV)");
#else
  EXPECT_EQ(r.signal, SIGSEGV);
  EXPECT_EQ(r.exit_code, -1);
  EXPECT_EQ(r.reason, "killed by SIGSEGV");
#endif
  EXPECT_FALSE(r.timed_out);

  r = run({"/bin/sh", "-c", "kill -SEGV $$"});
  EXPECT_EQ(r.signal, SIGSEGV);
  EXPECT_EQ(r.reason, "killed by SIGSEGV");
}

TEST_F(Sandbox, ASanitizersReportSaysWhatHappened) {
  SandboxResult r = run({"/bin/sh", "-c",
                         "echo '==42==ERROR: AddressSanitizer: heap-buffer-overflow on address 0x602 at pc 0x55'; "
                         "echo 'SUMMARY: AddressSanitizer: heap-buffer-overflow'; exit 1"});
  EXPECT_EQ(r.reason, "exited 1 (AddressSanitizer: heap-buffer-overflow)");

  r = run({"/bin/sh", "-c", "echo '==7==ERROR: LeakSanitizer: detected memory leaks'; exit 23"});
  EXPECT_EQ(r.reason, "exited 23 (LeakSanitizer: detected memory leaks)");

  r = run({"/bin/sh", "-c", "echo 'ERROR: nothing to do with sanitizers: x'; exit 1"});
  EXPECT_EQ(r.reason, "exited 1");
}

TEST_F(Sandbox, TimeoutKillsTheProgramAndItsChildren) {
  limits_.timeout = 1s;
  std::string marker = unique_marker();
  auto start = std::chrono::steady_clock::now();
  SandboxResult r = run({kProbe, "fork-sleep", marker});
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_TRUE(r.timed_out);
  EXPECT_EQ(r.signal, SIGKILL);
  EXPECT_EQ(r.reason, "killed after 1 s (timeout)");
  EXPECT_LT(took, limits_.timeout + 5s);
  EXPECT_GE(r.elapsed, 1s);
  EXPECT_EQ(r.output.substr(0, 6), "child ") << r.output;
  EXPECT_EQ(processes_with(marker), std::vector<pid_t>{}) << "the probe or its sleeping child survived the timeout";
}

TEST_F(Sandbox, AnInterruptKillsTheProgramAndItsChildren) {
  std::atomic<bool> interrupted{false};
  limits_.interrupted = &interrupted;
  std::thread ctrl_c([&] {
    std::this_thread::sleep_for(2s);  // time for the probe to start its child and say so
    interrupted = true;
  });
  std::string marker = unique_marker();
  SandboxResult r = run({kProbe, "fork-sleep", marker});
  ctrl_c.join();
  EXPECT_TRUE(r.interrupted);
  EXPECT_FALSE(r.timed_out);
  EXPECT_EQ(r.signal, SIGKILL);
  EXPECT_EQ(r.reason, "killed: tito was interrupted");
  EXPECT_EQ(r.output.substr(0, 6), "child ") << r.output;
  EXPECT_EQ(processes_with(marker), std::vector<pid_t>{}) << "the probe or its sleeping child survived the interrupt";
}

TEST_F(Sandbox, WhatTheProgramLeavesRunningIsKilledWhenItEnds) {
  std::string marker = unique_marker();
  auto start = std::chrono::steady_clock::now();
  // Without the kill, the background sleep would hold the output pipe for 100 s.
  SandboxResult r = run({"/bin/sh", "-c", "\"$0\" sleep 100 \"$1\" & echo background", kProbe, marker});
  EXPECT_LT(std::chrono::steady_clock::now() - start, 20s);
  EXPECT_TRUE(r.ok()) << r.reason;
  EXPECT_FALSE(r.timed_out);
  EXPECT_EQ(r.output, "background\n");
  EXPECT_EQ(processes_with(marker), std::vector<pid_t>{}) << "the background sleep survived";
}

// A program's child that leaves its process group and session (setsid(),
// as a daemon does) still ends with the run: in the PID namespace, and in
// the subreaper that stands in for it. Each test runs under both.
class SandboxEscape : public Sandbox, public ::testing::WithParamInterface<bool> {
 protected:
  void SetUp() override {
    Sandbox::SetUp();
    limits_.pid_namespace = GetParam();
  }

  // The mechanism the result names is the one asked for, unless the
  // platform refused the namespace, and then the note says why.
  void expect_mechanism(const SandboxResult& r) {
    if (GetParam() && !r.in_pid_namespace) {
      EXPECT_EQ(r.pid_namespace_note.substr(0, 26), "no PID namespace: unshare:") << r.pid_namespace_note;
      std::cout << "[ NOTE     ] " << r.pid_namespace_note << "\n";
      return;
    }
    EXPECT_EQ(r.in_pid_namespace, GetParam());
    EXPECT_EQ(r.pid_namespace_note, "");
  }
};

TEST_P(SandboxEscape, ADaemonLeftAtExitIsKilledAndNotWaitedFor) {
  std::string marker = unique_marker();
  auto start = std::chrono::steady_clock::now();
  SandboxResult r = run({kProbe, "escape", "daemon-pid", "exit", marker});
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_TRUE(r.ok()) << r.reason << "\n" << r.output;
  EXPECT_EQ(r.output, "escaped\n");
  EXPECT_TRUE(fs::exists(dir_.path() / "daemon-pid"));
  EXPECT_EQ(processes_with(marker), std::vector<pid_t>{}) << "the daemon survived the run";
  // It holds the output pipe for 60 s unless killed.
  EXPECT_LT(took, 20s);
  expect_mechanism(r);
}

TEST_P(SandboxEscape, ATimeoutKillsADaemonToo) {
  limits_.timeout = 2s;
  std::string marker = unique_marker();
  auto start = std::chrono::steady_clock::now();
  SandboxResult r = run({kProbe, "escape", "daemon-pid", "hang", marker});
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_TRUE(r.timed_out);
  EXPECT_EQ(r.signal, SIGKILL);
  EXPECT_EQ(r.reason, "killed after 2 s (timeout)");
  EXPECT_EQ(r.output, "escaped\n");
  EXPECT_TRUE(fs::exists(dir_.path() / "daemon-pid"));
  EXPECT_EQ(processes_with(marker), std::vector<pid_t>{}) << "the daemon or the program survived the timeout";
  EXPECT_LT(took, 20s);
  expect_mechanism(r);
}

// Killed with SIGKILL, tito can end nothing itself: the supervisor sees the
// pipe tito held close, and ends the run. Tried on a forked copy of tito.
TEST_P(SandboxEscape, WhenTitoDiesTheRunDiesWithIt) {
  std::string marker = unique_marker();
  pid_t tito = ::fork();
  ASSERT_GE(tito, 0);
  if (tito == 0) {
    try {
      run({kProbe, "escape", "daemon-pid", "hang", marker});
    } catch (...) {
    }
    ::_exit(0);
  }
  for (int i = 0; i < 1000 && !fs::exists(dir_.path() / "daemon-pid"); ++i) std::this_thread::sleep_for(10ms);
  EXPECT_TRUE(fs::exists(dir_.path() / "daemon-pid")) << "the daemon did not start";
  ::kill(tito, SIGKILL);
  int status = 0;
  ASSERT_EQ(::waitpid(tito, &status, 0), tito);
  // Nobody waits for the supervisor's work now: it is given time (generously:
  // a correctness check, not a speed test).
  std::vector<pid_t> left = processes_with(marker);
  for (int i = 0; i < 100 && !left.empty(); ++i) {
    std::this_thread::sleep_for(100ms);
    left = processes_with(marker);
  }
  EXPECT_EQ(left, std::vector<pid_t>{}) << "the program or its daemon outlived tito";
}

// The same as an ordinary user, whose namespaces are in a user namespace of
// its own. Tried as `nobody` in a forked copy of this test when root.
TEST_P(SandboxEscape, AnUnprivilegedUsersDaemonIsKilledToo) {
  if (!running_as_root()) GTEST_SKIP() << "not root: the other tests of SandboxEscape try this path";
  std::string marker = unique_marker();
  fs::path cwd = dir_.path();
  const bool pid_namespace = GetParam();
  int code = exit_code_as_nobody([&] {
    int failed = 0;
    SandboxLimits limits;
    limits.memory_bytes = 0;
    limits.pid_namespace = pid_namespace;
    limits.timeout = 2s;
    for (const char* mode : {"exit", "hang"}) {
      fs::remove(cwd / "daemon-pid");
      auto start = std::chrono::steady_clock::now();
      SandboxResult r = run_sandboxed({kProbe, "escape", "daemon-pid", mode, marker}, cwd, {}, limits);
      auto took = std::chrono::steady_clock::now() - start;
      bool killed_as_asked = std::string(mode) == "exit" ? r.ok() : r.timed_out;
      if (!killed_as_asked || r.output != "escaped\n" || !processes_with(marker).empty() || took >= 20s ||
          r.privileges_dropped || (!pid_namespace && r.in_pid_namespace)) {
        std::fprintf(stderr, "%s: %s, output: %s, pid namespace %d (%s)\n", mode, r.reason.c_str(), r.output.c_str(),
                     r.in_pid_namespace, r.pid_namespace_note.c_str());
        failed = 1;
      }
      if (pid_namespace && !r.in_pid_namespace) std::fprintf(stderr, "%s\n", r.pid_namespace_note.c_str());
    }
    return failed;
  });
  EXPECT_EQ(code, 0);
  EXPECT_EQ(processes_with(marker), std::vector<pid_t>{});
}

INSTANTIATE_TEST_SUITE_P(Containment, SandboxEscape, ::testing::Values(true, false),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "PidNamespace" : "Subreaper";
                         });

TEST_F(Sandbox, KeepsTheStartAndEndOfHugeOutputAndCountsAll) {
  limits_.output_bytes = 1 << 20;
  SandboxResult r = run({kProbe, "spam", "50000000"});
  EXPECT_TRUE(r.ok()) << r.reason;
  EXPECT_TRUE(r.output_truncated);
  EXPECT_EQ(r.output_total_bytes, 50000000u);
  std::string marker = "[tito: 46.7 MiB of output dropped here, 47.7 MiB written in all]\n";
  EXPECT_EQ(r.output.size(), limits_.output_bytes + marker.size());
  EXPECT_EQ(r.output.substr(0, 64), std::string(63, 'x') + "\n");
  EXPECT_EQ(r.output.substr(r.output.size() - 4), "END\n");
  // The first half ends on a whole line (524288 = 8192 lines of 64 bytes).
  EXPECT_EQ(r.output.substr(limits_.output_bytes / 2, marker.size()), marker);
}

TEST_F(Sandbox, OutputUpToTheCapIsKeptWhole) {
  limits_.output_bytes = 1000;
  SandboxResult r = run({kProbe, "spam", "1000"});
  EXPECT_FALSE(r.output_truncated);
  EXPECT_EQ(r.output.size(), 1000u);
  EXPECT_EQ(r.output_total_bytes, 1000u);

  r = run({kProbe, "spam", "1001"});
  EXPECT_TRUE(r.output_truncated);
  EXPECT_EQ(r.output_total_bytes, 1001u);
  EXPECT_NE(r.output.find("[tito: 1 byte of output dropped here, 1001 bytes written in all]\n"), std::string::npos);
}

TEST_F(Sandbox, AMemoryLimitMakesABigAllocationFail) {
#ifdef TITO_TEST_ASAN
  GTEST_SKIP() << kAsanReason;
#endif
  limits_.memory_bytes = 256u << 20;
  SandboxResult r = run({kProbe, "alloc", std::to_string(1u << 30)});
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.signal, SIGABRT) << r.output;
  EXPECT_TRUE(r.memory_exceeded_hint) << r.output;
  EXPECT_EQ(r.reason, "killed by SIGABRT, probably out of memory (limit 256 MiB)");
  EXPECT_NE(r.output.find("std::bad_alloc"), std::string::npos) << r.output;

  r = run({kProbe, "alloc", std::to_string(16u << 20)});
  EXPECT_TRUE(r.ok()) << r.reason << "\n" << r.output;
  EXPECT_EQ(r.output, "allocated 16777216\n");
  EXPECT_FALSE(r.memory_exceeded_hint);
}

TEST_F(Sandbox, NotEvenLoopbackIsReachableWithoutNetwork) {
  LoopbackListener listener;
  SandboxResult r = run({kProbe, "connect", listener.port()});
  if (!r.network_isolated) GTEST_SKIP() << "this platform allows tito " << r.network_note;
  EXPECT_EQ(r.network_note, "");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.output, "connect failed: Network is unreachable\n");

  limits_.no_network = false;
  r = run({kProbe, "connect", listener.port()});
  EXPECT_FALSE(r.network_isolated);
  EXPECT_EQ(r.network_note, "");
  EXPECT_TRUE(r.ok()) << r.output;
  EXPECT_EQ(r.output, "connected\n");
}

// What a user other than root gets: a user namespace that owns the network
// one. Tried as `nobody` in a forked copy of this test when root.
TEST_F(Sandbox, AnUnprivilegedUserIsIsolatedByAUserNamespace) {
  if (!running_as_root()) GTEST_SKIP() << "not root: NotEvenLoopbackIsReachableWithoutNetwork tries this path";
  LoopbackListener listener;
  fs::path cwd = dir_.path();
  int code = exit_code_as_nobody([&] {
    SandboxLimits limits;
    limits.memory_bytes = 0;
    SandboxResult r = run_sandboxed({kProbe, "connect", listener.port()}, cwd, {}, limits);
    if (r.network_isolated && !r.privileges_dropped && r.output == "connect failed: Network is unreachable\n") return 0;
    if (!r.network_isolated && r.output == "connected\n") return 2;
    std::fprintf(stderr, "isolated %d, output: %s\n", r.network_isolated, r.output.c_str());
    return 1;
  });
  if (code == 2) GTEST_SKIP() << "this platform forbids unprivileged user namespaces";
  EXPECT_EQ(code, 0);
}

TEST_F(Sandbox, RootDropsToNobodyWhoCannotWriteRootsFolders) {
  if (!running_as_root()) GTEST_SKIP() << "not root: the child keeps tito's own user";
  SandboxResult r = run({kProbe, "ids"});
  EXPECT_TRUE(r.privileges_dropped);
  EXPECT_EQ(r.output, "uid 65534 gid 65534 groups 0\n");

  TempDir private_dir("tito-sandbox-private");
  ASSERT_EQ(::chmod(private_dir.path().c_str(), 0700), 0);
  std::string inside = (private_dir.path() / "forged-results.json").string();
  r = run({kProbe, "touch", inside});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.output, "cannot create " + inside + ": Permission denied\n");
  EXPECT_FALSE(fs::exists(inside));

  std::string scratch = (dir_.path() / "scratch-file").string();
  r = run({kProbe, "touch", scratch});
  EXPECT_EQ(r.output, "created\n");
  struct stat st {};
  ASSERT_EQ(::stat(scratch.c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 65534u);
}

TEST_F(Sandbox, AScratchFolderBelowAClosedOneNamesTheClosedOneAndWhatToDo) {
  if (!running_as_root()) GTEST_SKIP() << "not root: the child keeps tito's own user, who may enter its folders";
  // As when an instructor grades as root into a folder under /root (mode 0700).
  TempDir closed("tito-sandbox-closed");
  ASSERT_EQ(::chmod(closed.path().c_str(), 0700), 0);
  const fs::path scratch = closed.path() / "grades" / "scratch";
  fs::create_directories(scratch);
  make_writable_for_sandbox(scratch);
  try {
    run_sandboxed({kProbe, "ids"}, scratch, {}, limits_);
    ADD_FAILURE() << "nobody entered a folder below a closed one";
  } catch (const Error& e) {
    const std::string expected = closed.path().string() +
                                 " has mode 0700: other users may not enter it, and the tests run as an unprivileged "
                                 "user; grade into a folder everyone may enter";
    EXPECT_NE(std::string(e.what()).find(expected), std::string::npos) << e.what();
  }
}

TEST_F(Sandbox, AnOrdinaryUserKeepsItsOwnIds) {
  if (running_as_root()) GTEST_SKIP() << "root: RootDropsToNobodyWhoCannotWriteRootsFolders covers it";
  SandboxResult r = run({kProbe, "ids"});
  EXPECT_FALSE(r.privileges_dropped);
  EXPECT_EQ(r.output.substr(0, 4 + std::to_string(::getuid()).size()), "uid " + std::to_string(::getuid()));
  limits_.run_as = SandboxUser{::getuid() + 1, ::getgid()};
  EXPECT_EQ(diagnostics_of([&] {
              run({kProbe, "ids"});
            }),
            "cannot run " + std::string(kProbe) + " as uid " + std::to_string(::getuid() + 1) +
                ": only root can switch users, and tito runs as uid " + std::to_string(::getuid()));
}

TEST_F(Sandbox, TheEnvironmentIsClearedToAMinimum) {
  testing::ScopedEnv secret("TITO_SANDBOX_SECRET", "hunter2");
  SandboxResult r = run({kProbe, "env"}, {{"GTEST_COLOR", "no"}});
  EXPECT_EQ(r.output, "GTEST_COLOR=no\nHOME=" + dir_.path().string() + "\nLANG=C\nPATH=/usr/local/bin:/usr/bin:/bin\n");

  r = run({kProbe, "env"}, {{"LANG", "C.UTF-8"}});
  EXPECT_NE(r.output.find("\nLANG=C.UTF-8\n"), std::string::npos) << r.output;
}

TEST_F(Sandbox, AFileSizeLimitStopsABigWrite) {
  limits_.file_bytes = 1 << 20;
  SandboxResult r = run({kProbe, "write-file", "big", std::to_string(4 << 20)});
  EXPECT_EQ(r.signal, SIGXFSZ);
  EXPECT_EQ(r.reason, "killed by SIGXFSZ (file size limit 1 MiB)");
  EXPECT_EQ(fs::file_size(dir_.path() / "big"), 1u << 20);
}

TEST_F(Sandbox, ACpuTimeLimitStopsABusyLoop) {
  limits_.cpu_time = 1s;
  SandboxResult r = run({kProbe, "spin"});
  EXPECT_FALSE(r.timed_out);
  EXPECT_EQ(r.signal, SIGXCPU);
  EXPECT_EQ(r.reason, "killed by SIGXCPU (CPU time limit 1 s)");
}

TEST_F(Sandbox, AProgramThatCannotStartIsAnErrorNamingWhy) {
  EXPECT_EQ(diagnostics_of([&] { run({"tito-no-such-program"}); }),
            "cannot run tito-no-such-program: not found on the sandbox's PATH (/usr/local/bin:/usr/bin:/bin)");

  fs::path missing = dir_.path() / "missing";
  std::string as = running_as_root() ? " as uid 65534" : "";
  EXPECT_EQ(diagnostics_of([&] {
              run_sandboxed({kProbe, "ids"}, missing, {}, limits_);
            }),
            "cannot run " + std::string(kProbe) + " in the sandbox: cannot enter " + missing.string() + as +
                ": No such file or directory");

  if (running_as_root()) {
    TempDir private_dir("tito-sandbox-private");
    ASSERT_EQ(::chmod(private_dir.path().c_str(), 0700), 0);
    EXPECT_EQ(diagnostics_of([&] {
                run_sandboxed({kProbe, "ids"}, private_dir.path(), {}, limits_);
              }),
              "cannot run " + std::string(kProbe) + " in the sandbox: cannot enter " + private_dir.path().string() +
                  " as uid 65534: Permission denied (make_writable_for_sandbox hands a folder to the sandbox user)");
  }
}

TEST_F(Sandbox, LeavesNoDescriptorOrChildBehind) {
  int status = 0;
  // Zombies of earlier tests in this process (not the sandbox's) are not ours to count.
  while (::waitpid(-1, &status, WNOHANG) > 0) {
  }
  std::size_t before = open_descriptors();
  run({"/bin/sh", "-c", "echo hi"});
  EXPECT_THROW(run({"tito-no-such-program"}), Error);
  EXPECT_THROW(run_sandboxed({kProbe, "ids"}, dir_.path() / "missing", {}, limits_), Error);
  EXPECT_EQ(open_descriptors(), before);
  EXPECT_EQ(::waitpid(-1, &status, WNOHANG), -1) << "a child was left unreaped";
  EXPECT_EQ(errno, ECHILD);
}

}  // namespace
}  // namespace tito
