// tito_fetch_bench [ROUNDS]: fetch throughput of tito's engine against the
// curl command line, on the same file from the same loopback server, and the
// time tito takes to extract a CIFAR-10-sized archive. Not a test: it prints
// numbers. Everything stays on 127.0.0.1 and in a temporary folder; the
// server is a child process that exits with the benchmark.
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "data/download.hpp"
#include "data/extract.hpp"
#include "data/observer.hpp"
#include "http_server.hpp"
#include "support.hpp"
#include "runs.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"
#include "util/hash.hpp"
#include "util/process.hpp"

namespace {

using namespace tito;
using Clock = std::chrono::steady_clock;

constexpr std::size_t kFileSize = 170'052'171;  // cifar-10-binary.tar.gz
constexpr std::size_t kBatchSize = 30'730'000;  // one CIFAR-10 batch

// Incompressible bytes, like a .tar.gz.
std::string random_bytes(std::size_t n, std::uint64_t seed) {
  std::string out(n, '\0');
  std::uint64_t x = seed | 1;
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    std::memcpy(out.data() + i, &x, 8);
  }
  for (; i < n; ++i) out[i] = static_cast<char>(i);
  return out;
}

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

void line(const std::string& what, double seconds, std::size_t bytes) {
  std::printf("  %-36s %7.3f s  %8.1f MB/s\n", what.c_str(), seconds, static_cast<double>(bytes) / 1e6 / seconds);
}

// The loopback server in a process of its own, as a real host would be:
// tito and curl then compete with it for the CPU in the same way.
class ServerProcess {
 public:
  ServerProcess(const std::string& path, std::shared_ptr<const std::string> content) {
    int to_parent[2], to_child[2];
    if (::pipe(to_parent) != 0 || ::pipe(to_child) != 0) throw Error("pipe failed");
    pid_ = ::fork();
    if (pid_ < 0) throw Error("fork failed");
    if (pid_ == 0) {
      ::close(to_parent[0]);
      ::close(to_child[1]);
      testing::LoopbackServer server(std::chrono::seconds(900));
      server.add_file(path, content);
      int port = server.port();
      if (::write(to_parent[1], &port, sizeof port) != sizeof port) ::_exit(1);
      char stop;
      [[maybe_unused]] ssize_t n = ::read(to_child[0], &stop, 1);  // returns when the parent closes the pipe
      ::_exit(0);
    }
    ::close(to_parent[1]);
    ::close(to_child[0]);
    stop_fd_ = to_child[1];
    if (::read(to_parent[0], &port_, sizeof port_) != sizeof port_) throw Error("the server process did not start");
    ::close(to_parent[0]);
  }
  ~ServerProcess() {
    ::close(stop_fd_);
    ::waitpid(pid_, nullptr, 0);
  }
  int port() const { return port_; }

 private:
  pid_t pid_ = -1;
  int stop_fd_ = -1;
  int port_ = 0;
};

using Times = bench::Runs;

// "median 0.812 (best 0.790, worst 0.900)" of curl's time over tito's: a
// throughput ratio, > 1 when tito is faster.
std::string ratio_text(const Times& curl, const Times& tito) {
  char buf[128];
  std::snprintf(buf, sizeof buf, "median %.3f (best run %.3f, worst run %.3f)", curl.median() / tito.median(),
                curl.best() / tito.best(), curl.worst() / tito.worst());
  return buf;
}

void benchmark_fetch(int rounds, const fs::path& curl, const fs::path& work) {
  std::printf("generating a %zu-byte file...\n", kFileSize);
  auto content = std::make_shared<const std::string>(random_bytes(kFileSize, 0x9e3779b97f4a7c15ULL));
  data::RemoteFile file;
  file.name = "cifar-10-binary.tar.gz";
  file.size = content->size();
  file.sha256 = sha256_hex(*content);
  ServerProcess server("bench/" + file.name, content);
  std::string url = "http://127.0.0.1:" + std::to_string(server.port()) + "/bench/" + file.name;

  data::RemoteFile size_only = file;
  size_only.sha256.clear();
  std::optional<fs::path> sha256sum = find_program("sha256sum");

  data::DownloadSettings settings;
  data::FetchObserver quiet;
  Times tito, tito_size_only, curl_times, curl_checked;
  auto run_tito = [&](const data::RemoteFile& f, Times& times, const std::string& label) {
    fs::path dest = work / "tito" / f.name;
    fs::remove_all(dest.parent_path());
    ::sync();  // each run starts with the disk idle, the previous run's file written back
    Clock::time_point start = Clock::now();
    data::download_file(f, {url}, dest, settings, quiet);
    times.add(seconds_since(start));
    line(label, times.last(), kFileSize);
  };
  std::printf("fetching it %d times with each, alternating:\n", rounds);
  for (int r = 0; r < rounds; ++r) {
    std::string round = " (round " + std::to_string(r + 1) + ")";
    run_tito(file, tito, "tito, SHA-256 verified" + round);
    run_tito(size_only, tito_size_only, "tito, size checked" + round);

    fs::path out = work / "curl.out";
    fs::remove(out);
    ::sync();
    Clock::time_point start = Clock::now();
    ProcessResult p = run_process(
        {curl.string(), "--silent", "--show-error", "--fail", "--noproxy", "*", "--output", out.string(), url});
    curl_times.add(seconds_since(start));
    if (!p.ok() || fs::file_size(out) != kFileSize) throw Error("curl failed: " + p.output);
    line("curl" + round, curl_times.last(), kFileSize);
    if (sha256sum) {
      start = Clock::now();
      run_process({sha256sum->string(), out.string()});
      curl_checked.add(curl_times.last() + seconds_since(start));
    }
  }
  std::printf("median of %d rounds (best and worst beside it):\n", rounds);
  auto summary = [](const std::string& what, const Times& t) {
    std::printf("  %-36s %s  %8.1f MB/s\n", what.c_str(), t.describe("%.3f", " s").c_str(),
                static_cast<double>(kFileSize) / 1e6 / t.median());
  };
  summary("tito, SHA-256 verified", tito);
  summary("tito, size checked", tito_size_only);
  summary("curl command line", curl_times);
  if (!curl_checked.empty()) summary("curl, then sha256sum", curl_checked);
  // The verdict is the medians': one fast run proves nothing.
  double ratio = curl_times.median() / tito_size_only.median();
  std::printf("throughput ratio tito/curl, transfer alone: %s; goal >= 0.95: %s\n",
              ratio_text(curl_times, tito_size_only).c_str(), ratio >= 0.95 ? "met" : "NOT MET");
  std::printf("throughput ratio tito/curl, with tito verifying: %s\n", ratio_text(curl_times, tito).c_str());
  if (!curl_checked.empty()) {
    std::printf("throughput ratio tito/(curl + sha256sum), both verifying: %s\n", ratio_text(curl_checked, tito).c_str());
  }
}

void benchmark_extraction(const fs::path& work) {
  std::printf("building a CIFAR-like archive (6 batches of 10,000 random records)...\n");
  std::vector<testing::TarEntry> entries{{testing::TarEntry::Dir, "cifar-10-batches-bin/", "", ""}};
  std::uint64_t seed = 7;
  for (const char* name : {"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin",
                           "data_batch_5.bin", "test_batch.bin"}) {
    entries.push_back(
        {testing::TarEntry::File, std::string("cifar-10-batches-bin/") + name, random_bytes(kBatchSize, seed++), ""});
  }
  std::string archive = testing::make_tar_gz(entries);
  entries.clear();
  fs::path archive_path = work / "cifar-like.tar.gz";
  testing::write_bytes(archive_path, archive);
  const std::size_t unpacked = 6 * kBatchSize;
  std::printf("extracting %.1f MB from a %.1f MB archive:\n", unpacked / 1e6, archive.size() / 1e6);
  fs::path dest = work / "extract";
  fs::create_directories(dest);
  ::sync();
  Clock::time_point start = Clock::now();
  data::extract_archive(archive_path, dest, nullptr);
  line("tito (libarchive, checked entries)", seconds_since(start), unpacked);
  if (std::optional<fs::path> tar = find_program("tar")) {
    fs::path tar_dest = work / "extract-tar";
    fs::create_directories(tar_dest);
    ::sync();
    start = Clock::now();
    ProcessResult p = run_process({tar->string(), "-xzf", archive_path.string(), "-C", tar_dest.string()});
    if (p.ok()) line("tar -xzf (for reference)", seconds_since(start), unpacked);
  }
}

}  // namespace

int main(int argc, char** argv) {
  int rounds = argc > 1 ? std::max(1, std::atoi(argv[1])) : 5;
  try {
    std::optional<fs::path> curl = find_program("curl");
    if (!curl) {
      std::cerr << "the curl command line is needed for the comparison: apt-get install curl\n";
      return 2;
    }
    TempDir work("tito-fetch-bench");
    benchmark_fetch(rounds, *curl, work.path());
    benchmark_extraction(work.path());
  } catch (const Error& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
