#include "util/process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include "util/error.hpp"
#include "util/fd.hpp"

extern char** environ;

namespace tito {

namespace {

std::vector<std::string> merged_environment(const std::map<std::string, std::string>& extra) {
  std::vector<std::string> out;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string entry(*e);
    std::string key = entry.substr(0, entry.find('='));
    if (!extra.contains(key)) out.push_back(std::move(entry));
  }
  for (const auto& [key, value] : extra) out.push_back(key + "=" + value);
  return out;
}

class FileActions {
 public:
  FileActions() { posix_spawn_file_actions_init(&actions_); }
  ~FileActions() { posix_spawn_file_actions_destroy(&actions_); }
  posix_spawn_file_actions_t* get() { return &actions_; }

 private:
  posix_spawn_file_actions_t actions_;
};

}  // namespace

std::optional<std::filesystem::path> find_program(const std::string& program) {
  if (program.find('/') != std::string::npos) {
    if (::access(program.c_str(), X_OK) == 0) return std::filesystem::path(program);
    return std::nullopt;
  }
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "/usr/local/bin:/usr/bin:/bin";
  std::size_t start = 0;
  while (start <= dirs.size()) {
    std::size_t end = dirs.find(':', start);
    if (end == std::string::npos) end = dirs.size();
    std::filesystem::path candidate = std::filesystem::path(dirs.substr(start, end - start)) / program;
    if (!candidate.parent_path().empty() && ::access(candidate.c_str(), X_OK) == 0) return candidate;
    start = end + 1;
  }
  return std::nullopt;
}

namespace {

// Splits what arrives into lines for `on_line`.
class LineSplitter {
 public:
  explicit LineSplitter(const std::function<void(const std::string&)>& on_line) : on_line_(on_line) {}
  void add(std::string_view bytes) {
    if (!on_line_) return;
    pending_.append(bytes);
    std::size_t newline;
    while ((newline = pending_.find('\n')) != std::string::npos) {
      on_line_(pending_.substr(0, newline));
      pending_.erase(0, newline + 1);
    }
  }
  void finish() {
    if (on_line_ && !pending_.empty()) on_line_(pending_);
  }

 private:
  const std::function<void(const std::string&)>& on_line_;
  std::string pending_;
};

// Reads both pipes until the child closes them.
void drain(Fd& out, Fd& err, ProcessResult& result, LineSplitter& lines) {
  char buffer[8192];
  while (out.valid() || err.valid()) {
    pollfd fds[2];
    nfds_t n = 0;
    if (out.valid()) fds[n++] = {out.get(), POLLIN, 0};
    if (err.valid()) fds[n++] = {err.get(), POLLIN, 0};
    if (::poll(fds, n, -1) < 0) {
      if (errno == EINTR) continue;
      throw Error(std::string("cannot read a program's output: ") + std::strerror(errno));
    }
    for (nfds_t i = 0; i < n; ++i) {
      if (fds[i].revents == 0) continue;
      bool is_out = out.valid() && fds[i].fd == out.get();
      ssize_t got = ::read(fds[i].fd, buffer, sizeof buffer);
      if (got < 0 && errno == EINTR) continue;
      if (got <= 0) {
        (is_out ? out : err).close();
        continue;
      }
      std::string_view bytes(buffer, static_cast<std::size_t>(got));
      if (is_out) {
        result.output.append(bytes);
        lines.add(bytes);
      } else {
        result.errors.append(bytes);
      }
    }
  }
  lines.finish();
}

}  // namespace

ProcessResult run_process(const std::vector<std::string>& argv, const ProcessOptions& options) {
  if (argv.empty()) throw Error("internal: run_process without a program");
  std::optional<std::filesystem::path> program = find_program(argv[0]);
  if (!program) throw Error("cannot run " + argv[0] + ": not found on PATH (is it installed?)");

  Fd out_read, out_write, err_read, err_write;
  auto make_pipe = [](Fd& read_end, Fd& write_end) {
    int fds[2] = {-1, -1};
    if (::pipe2(fds, O_CLOEXEC) != 0) throw Error(std::string("cannot create a pipe: ") + std::strerror(errno));
    read_end = Fd(fds[0]);
    write_end = Fd(fds[1]);
  };
  FileActions actions;
  if (options.capture) {
    make_pipe(out_read, out_write);
    if (options.separate_stderr) make_pipe(err_read, err_write);
    posix_spawn_file_actions_adddup2(actions.get(), out_write.get(), STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(actions.get(), options.separate_stderr ? err_write.get() : out_write.get(),
                                     STDERR_FILENO);
    posix_spawn_file_actions_addopen(actions.get(), STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  }
  if (!options.cwd.empty()) posix_spawn_file_actions_addchdir_np(actions.get(), options.cwd.c_str());

  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  std::vector<std::string> env_strings = merged_environment(options.env);
  std::vector<char*> env;
  for (std::string& e : env_strings) env.push_back(e.data());
  env.push_back(nullptr);

  pid_t pid = 0;
  int rc = ::posix_spawn(&pid, program->c_str(), actions.get(), nullptr, args.data(), env.data());
  // The child has its copies; ours must go, or the reads below never see the end.
  out_write.close();
  err_write.close();
  if (rc != 0) throw Error("cannot run " + argv[0] + ": " + std::strerror(rc));

  ProcessResult result;
  if (options.capture) {
    LineSplitter lines(options.on_line);
    drain(out_read, err_read, result, lines);
  }

  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) throw Error(std::string("waiting for ") + argv[0] + ": " + std::strerror(errno));
  }
  if (WIFEXITED(status)) {
    result.exit_code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    result.signaled = true;
    result.exit_code = 128 + WTERMSIG(status);
  }
  return result;
}

}  // namespace tito
