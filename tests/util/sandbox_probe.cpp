// What sandbox_test.cpp runs inside the sandbox, so the tests do not depend
// on tools that may be missing:
//
//   alloc N          allocates N bytes and touches every page ("allocated N")
//   connect PORT     connects to 127.0.0.1:PORT ("connected", else exit 1)
//   spam N           writes exactly N bytes, the last four "END\n"
//   segv             dies of SIGSEGV
//   fork-sleep       starts a child that sleeps, prints "child PID", sleeps
//   sleep N          sleeps N seconds
//   escape FILE hang|exit
//                    starts a daemon as daemons start (fork, setsid, fork
//                    again, the middle one exits), which writes its pid to
//                    FILE and sleeps 60 s; once FILE is there prints
//                    "escaped", then hangs or exits 0
//   ids              prints "uid U gid G groups N"
//   touch PATH       creates the file PATH ("created", else exit 1)
//   env              prints its environment, one variable a line
//   write-file PATH N  writes N bytes to PATH
//   spin             burns CPU until it is stopped
//
// Any further argument is ignored: a test passes a marker that every process
// of the probe then carries in its command line, to find them in /proc.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

extern char** environ;

namespace {

int alloc(std::size_t n) {
  std::vector<char> block(n);  // an uncaught std::bad_alloc when refused, as in a student's code
  for (std::size_t i = 0; i < n; i += 4096) block[i] = static_cast<char>(i);
  std::cout << "allocated " << n << "\n";
  return 0;
}

int connect_to(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) {
    std::cout << "socket failed: " << std::strerror(errno) << "\n";
    return 1;
  }
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    std::cout << "connect failed: " << std::strerror(errno) << "\n";
    return 1;
  }
  std::cout << "connected\n";
  return 0;
}

int spam(std::size_t n) {
  std::string line(63, 'x');
  line += '\n';
  std::size_t body = n >= 4 ? n - 4 : 0;
  for (std::size_t written = 0; written < body;) {
    std::size_t chunk = std::min(line.size(), body - written);
    std::fwrite(line.data(), 1, chunk, stdout);
    written += chunk;
  }
  std::fwrite("END\n", 1, n >= 4 ? 4 : n, stdout);
  return 0;
}

int fork_sleep() {
  pid_t child = ::fork();
  if (child < 0) return 1;
  if (child == 0) {
    ::sleep(100);
    ::_exit(0);
  }
  std::printf("child %d\n", static_cast<int>(child));
  std::fflush(stdout);
  ::sleep(100);
  return 0;
}

int escape(const std::string& file, bool hang) {
  pid_t child = ::fork();
  if (child < 0) return 1;
  if (child == 0) {
    ::setsid();
    // The daemon is an orphan from the start: no parent of the program's
    // waits for it.
    if (::fork() != 0) ::_exit(0);
    {
      std::ofstream out(file + ".tmp");
      out << ::getpid() << "\n";
    }
    std::filesystem::rename(file + ".tmp", file);  // whole, or not there
    ::sleep(60);
    ::_exit(0);
  }
  ::waitpid(child, nullptr, 0);
  // The parent goes on only once the child has left, so the test knows there
  // was something to kill.
  for (int i = 0; i < 1000 && !std::filesystem::exists(file); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  std::printf("escaped\n");
  std::fflush(stdout);
  if (hang) ::sleep(60);
  return 0;
}

int ids() {
  std::printf("uid %d gid %d groups %d\n", static_cast<int>(::getuid()), static_cast<int>(::getgid()),
              ::getgroups(0, nullptr));
  return 0;
}

int touch(const char* path) {
  std::FILE* f = std::fopen(path, "w");
  if (f == nullptr) {
    std::printf("cannot create %s: %s\n", path, std::strerror(errno));
    return 1;
  }
  std::fclose(f);
  std::printf("created\n");
  return 0;
}

int write_file(const char* path, std::size_t n) {
  std::ofstream out(path, std::ios::binary);
  std::string block(4096, 'w');
  for (std::size_t written = 0; written < n && out; written += block.size()) out.write(block.data(), block.size());
  out.close();
  return out ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  std::string command = argc > 1 ? argv[1] : "";
  auto number = [&] { return argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 0ull; };
  if (command == "alloc") return alloc(number());
  if (command == "connect") return connect_to(static_cast<int>(number()));
  if (command == "spam") return spam(number());
  if (command == "segv") {
    ::raise(SIGSEGV);
    return 1;
  }
  if (command == "fork-sleep") return fork_sleep();
  if (command == "sleep") return ::sleep(static_cast<unsigned>(number())) == 0 ? 0 : 1;
  if (command == "escape" && argc > 3) return escape(argv[2], std::string(argv[3]) == "hang");
  if (command == "ids") return ids();
  if (command == "touch" && argc > 2) return touch(argv[2]);
  if (command == "env") {
    for (char** e = environ; *e != nullptr; ++e) std::printf("%s\n", *e);
    return 0;
  }
  if (command == "spin") {
    volatile unsigned long n = 0;
    while (true) n = n + 1;
  }
  if (command == "write-file" && argc > 3) return write_file(argv[2], std::strtoull(argv[3], nullptr, 10));
  std::fprintf(stderr,
               "usage: sandbox_probe alloc N | connect PORT | spam N | segv | fork-sleep | sleep N | "
               "escape FILE hang|exit | ids | touch PATH | env | write-file PATH N | spin\n");
  return 2;
}
