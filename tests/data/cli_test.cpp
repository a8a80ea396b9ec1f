// The tito binary's `data` verbs, run as a student would, against the
// loopback server: output, exit codes, Ctrl-C, two processes at once.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <map>
#include <thread>

#include "http_server.hpp"
#include "support.hpp"
#include "util/fs.hpp"
#include "util/hash.hpp"
#include <nlohmann/json.hpp>

namespace tito::data {
namespace {

using namespace std::chrono_literals;

// A tito process with its output going to files.
class Tito {
 public:
  Tito(const std::vector<std::string>& args, const std::map<std::string, std::string>& env, const fs::path& cwd,
       const fs::path& out_dir)
      : out_(out_dir / ("out-" + std::to_string(++counter_))), err_(out_dir / ("err-" + std::to_string(counter_))) {
    pid_ = ::fork();
    if (pid_ == 0) {
      ::chdir(cwd.c_str());
      for (const char* v : {"TITO_REGISTRY", "TITO_DATA_DIR", "TITO_OFFLINE", "TITO_ROOT", "CI", "NO_COLOR"}) {
        ::unsetenv(v);
      }
      for (const auto& [k, v] : env) ::setenv(k.c_str(), v.c_str(), 1);
      int o = ::open(out_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      int e = ::open(err_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      int in = ::open("/dev/null", O_RDONLY);
      ::dup2(in, 0);
      ::dup2(o, 1);
      ::dup2(e, 2);
      std::vector<std::string> all{TITO_BINARY};
      all.insert(all.end(), args.begin(), args.end());
      std::vector<char*> argv;
      for (std::string& a : all) argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execv(TITO_BINARY, argv.data());
      ::_exit(127);
    }
  }
  ~Tito() {
    if (pid_ > 0 && status_ < 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }

  // Exit code (128 + signal when killed); kills the process after 60 s.
  int wait() {
    if (status_ >= 0) return status_;
    auto until = std::chrono::steady_clock::now() + 60s;
    int st = 0;
    while (::waitpid(pid_, &st, WNOHANG) == 0) {
      if (std::chrono::steady_clock::now() > until) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, &st, 0);
        break;
      }
      std::this_thread::sleep_for(10ms);
    }
    status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    return status_;
  }
  void interrupt() { ::kill(pid_, SIGINT); }
  std::string out() const { return read_file(out_); }
  std::string err() const { return read_file(err_); }

 private:
  static inline int counter_ = 0;
  fs::path out_, err_;
  pid_t pid_ = -1;
  int status_ = -1;
};

std::string random_bytes(std::size_t n) {
  std::string out(n, '\0');
  std::uint32_t x = 12345;
  for (char& c : out) {
    x = x * 1664525u + 1013904223u;
    c = static_cast<char>(x >> 24);
  }
  return out;
}

class DataCli : public ::testing::Test {
 protected:
  testing::LoopbackServer server;
  TempDir tmp{"tito-data-cli-test"};
  fs::path registry = tmp.path() / "registry.json";
  fs::path cache = tmp.path() / "cache";
  std::string archive = testing::cifar_archive(12);
  std::string blob = random_bytes(3'000'000);

  void SetUp() override {
    server.add_file("cifar/cifar-10-binary.tar.gz", archive);
    server.add_file("blob/blob.bin", blob);
    // The CIFAR test registry plus "blob": one plain file, for transfer tests.
    nlohmann::json r = nlohmann::json::parse(testing::cifar_registry({server.url("cifar/")}, archive, 12));
    r["datasets"]["blob"] = {{"title", "Random bytes"},
                             {"mirrors", {server.url("blob/")}},
                             {"files", {{{"name", "blob.bin"}, {"size", blob.size()}, {"sha256", sha256_hex(blob)}}}},
                             {"dir", "files"}};
    testing::write_bytes(registry, r.dump(2));
  }

  std::map<std::string, std::string> env() const {
    return {{"TITO_REGISTRY", registry.string()},
            {"TITO_DATA_DIR", cache.string()},
            {"TITO_FETCH_BACKOFF_MS", "10"},
            {"TITO_FETCH_LOW_SPEED_TIME", "2"}};
  }
  Tito tito(const std::vector<std::string>& args, std::map<std::string, std::string> extra = {}) {
    std::map<std::string, std::string> e = env();
    for (auto& [k, v] : extra) e[k] = v;
    return Tito(args, e, tmp.path(), tmp.path());
  }
};

TEST_F(DataCli, FetchPathListVerifyAndClean) {
  Tito fetch = tito({"data", "fetch", "cifar10"});
  ASSERT_EQ(fetch.wait(), 0) << fetch.err();
  fs::path dir = cache / "cifar10" / "cifar-10-batches-bin";
  EXPECT_NE(fetch.err().find("Ready cifar10 ("), std::string::npos) << fetch.err();
  EXPECT_NE(fetch.err().find(dir.string()), std::string::npos) << fetch.err();
  EXPECT_EQ(server.requests().at(0).user_agent.rfind("tito/", 0), 0u);

  Tito path = tito({"data", "path", "cifar10"});
  EXPECT_EQ(path.wait(), 0);
  EXPECT_EQ(path.out(), dir.string() + "\n");

  Tito list = tito({"data", "list"});
  EXPECT_EQ(list.wait(), 0);
  EXPECT_NE(list.out().find("cifar10  CIFAR-10 (test copy)"), std::string::npos) << list.out();
  EXPECT_NE(list.out().find("ready, verified 20"), std::string::npos) << list.out();
  EXPECT_NE(list.out().find("blob     Random bytes"), std::string::npos) << list.out();
  EXPECT_NE(list.out().find("not cached"), std::string::npos) << list.out();

  Tito verify = tito({"data", "verify", "cifar10"});
  EXPECT_EQ(verify.wait(), 0) << verify.err();
  EXPECT_NE(verify.out().find("ok      cifar10/downloads/cifar-10-binary.tar.gz\n"), std::string::npos) << verify.out();
  EXPECT_NE(verify.out().find("cifar10: every file matches the registry\n"), std::string::npos);

  fs::resize_file(dir / "test_batch.bin", 10);
  Tito broken = tito({"data", "verify", "cifar10"});
  EXPECT_EQ(broken.wait(), 1);
  EXPECT_NE(broken.out().find("FAILED  cifar10/cifar-10-batches-bin/test_batch.bin: has 10 bytes, expected 36876\n"),
            std::string::npos)
      << broken.out();
  EXPECT_NE(broken.err().find("error: cifar10 does not match the registry; run `tito data fetch cifar10` to repair it"),
            std::string::npos)
      << broken.err();

  Tito clean = tito({"data", "clean", "cifar10"});
  EXPECT_EQ(clean.wait(), 0);
  EXPECT_EQ(clean.out().rfind("removed " + (cache / "cifar10").string() + " (", 0), 0u) << clean.out();
  EXPECT_FALSE(fs::exists(cache / "cifar10"));

  Tito gone = tito({"data", "path", "cifar10"});
  EXPECT_EQ(gone.wait(), 1);
  EXPECT_NE(gone.err().find("run `tito data fetch cifar10`"), std::string::npos);
}

TEST_F(DataCli, OutsideACourseWithoutARegistrySaysWhatToPass) {
  Tito t({"data", "list"}, {}, tmp.path(), tmp.path());
  EXPECT_EQ(t.wait(), 2);
  EXPECT_EQ(t.err(),
            "error: not inside a TinyTorch course, so there is no dataset registry: run this in the course folder (or "
            "pass --root DIR), or pass --registry FILE (or set TITO_REGISTRY)\n");
}

TEST_F(DataCli, OptionsWorkAsWellAsEnvironmentVariables) {
  Tito t({"data", "fetch", "cifar10", "--registry", registry.string(), "--cache", (tmp.path() / "c2").string()}, {},
         tmp.path(), tmp.path());
  EXPECT_EQ(t.wait(), 0) << t.err();
  EXPECT_TRUE(fs::is_directory(tmp.path() / "c2" / "cifar10" / "cifar-10-batches-bin"));
}

TEST_F(DataCli, AnUnknownDatasetIsAUsageError) {
  Tito t = tito({"data", "fetch", "imagenet"});
  EXPECT_EQ(t.wait(), 2);
  EXPECT_EQ(t.err(), "error: no dataset called 'imagenet' in " + registry.string() + " (known: blob, cifar10)\n");
}

TEST_F(DataCli, PrintsPlainProgressLinesWithoutATerminal) {
  server.set_rate(2'000'000);
  Tito t = tito({"data", "fetch", "blob"});
  ASSERT_EQ(t.wait(), 0) << t.err();
  std::string err = t.err();
  EXPECT_EQ(err.find('\r'), std::string::npos);
  EXPECT_NE(err.find("Downloading blob.bin from 127.0.0.1:" + std::to_string(server.port()) + " (3.0 MB)\n"),
            std::string::npos)
      << err;
  EXPECT_NE(err.find("blob.bin: 3.0 MB of 3.0 MB (100%)"), std::string::npos) << err;
  std::size_t progress_lines = 0;
  for (std::size_t at = err.find(" of 3.0 MB ("); at != std::string::npos; at = err.find(" of 3.0 MB (", at + 1)) {
    ++progress_lines;
  }
  EXPECT_GE(progress_lines, 5u) << err;   // about every 10%
  EXPECT_LE(progress_lines, 11u) << err;
  EXPECT_EQ(read_file(cache / "blob" / "files" / "blob.bin"), blob);
}

TEST_F(DataCli, QuietPrintsNothing) {
  Tito t = tito({"-q", "data", "fetch", "cifar10"});
  EXPECT_EQ(t.wait(), 0);
  EXPECT_EQ(t.err(), "");
  EXPECT_EQ(t.out(), "");
}

TEST_F(DataCli, CtrlCKeepsTheResumablePartAndExits130) {
  server.set_rate(600'000);
  Tito t = tito({"data", "fetch", "blob"});
  fs::path part = cache / "blob" / "downloads" / "blob.bin.part";
  auto until = std::chrono::steady_clock::now() + 20s;
  std::error_code ec;
  while (fs::file_size(part, ec) < 300'000 || ec) {
    ASSERT_LT(std::chrono::steady_clock::now(), until) << "no progress: " << t.err();
    std::this_thread::sleep_for(20ms);
  }
  t.interrupt();
  EXPECT_EQ(t.wait(), 130) << t.err();
  std::uint64_t kept = fs::file_size(part);
  EXPECT_GE(kept, 300'000u);
  EXPECT_LT(kept, blob.size());
  EXPECT_NE(t.err().find("error: interrupted: blob.bin.part ("), std::string::npos) << t.err();
  EXPECT_NE(t.err().find("is kept; run the same command again to resume"), std::string::npos) << t.err();

  server.set_rate(0);
  Tito again = tito({"data", "fetch", "blob"});
  EXPECT_EQ(again.wait(), 0) << again.err();
  EXPECT_NE(again.err().find("Resuming blob.bin from 127.0.0.1"), std::string::npos) << again.err();
  EXPECT_EQ(server.requests().back().range, "bytes=" + std::to_string(kept) + "-");
  EXPECT_EQ(read_file(cache / "blob" / "files" / "blob.bin"), blob);
}

TEST_F(DataCli, TwoProcessesFetchingAtOnceDownloadOnce) {
  server.set_rate(3'000'000);  // one second
  Tito a = tito({"data", "fetch", "blob"});
  Tito b = tito({"data", "fetch", "blob"});
  EXPECT_EQ(a.wait(), 0) << a.err();
  EXPECT_EQ(b.wait(), 0) << b.err();
  EXPECT_EQ(server.count("blob/blob.bin"), 1u);
  std::string both = a.err() + b.err();
  EXPECT_NE(both.find("is working on blob; waiting for it to finish"), std::string::npos) << both;
  EXPECT_NE(both.find("Ready blob (already in the cache)"), std::string::npos) << both;
  EXPECT_EQ(read_file(cache / "blob" / "files" / "blob.bin"), blob);
}

TEST_F(DataCli, OfflineSaysWhatIsMissing) {
  Tito t = tito({"data", "fetch", "cifar10"}, {{"TITO_OFFLINE", "1"}});
  EXPECT_EQ(t.wait(), 1);
  EXPECT_NE(t.err().find("error: TITO_OFFLINE is set, so nothing is downloaded, and cifar10 still needs "
                         "cifar-10-binary.tar.gz ("),
            std::string::npos)
      << t.err();
  EXPECT_NE(t.err().find("tito data fetch cifar10 --from DIR"), std::string::npos);
  EXPECT_TRUE(server.requests().empty());
}

TEST_F(DataCli, ImportsWithFrom) {
  testing::write_bytes(tmp.path() / "dl" / "cifar-10-binary.tar.gz", archive);
  Tito t = tito({"data", "fetch", "cifar10", "--from", (tmp.path() / "dl").string()}, {{"TITO_OFFLINE", "1"}});
  EXPECT_EQ(t.wait(), 0) << t.err();
  EXPECT_NE(t.err().find("Importing cifar-10-binary.tar.gz from "), std::string::npos) << t.err();
  EXPECT_TRUE(server.requests().empty());
}

TEST_F(DataCli, ReportsEveryFailedMirror) {
  server.queue_fault("blob/blob.bin", testing::Fault::content(random_bytes(10)));
  Tito t = tito({"data", "fetch", "blob", "--mirror", server.url("nowhere/")});
  EXPECT_EQ(t.wait(), 1);
  std::string err = t.err();
  EXPECT_NE(err.find("error: cannot download blob.bin: all 2 mirrors failed:\n  " + server.url("nowhere/blob.bin") +
                     ": HTTP 404 Not Found\n  " + server.url("blob/blob.bin") + ": "),
            std::string::npos)
      << err;
}

TEST_F(DataCli, ShowsImagesInTheTerminalAndAsAPng) {
  ASSERT_EQ(tito({"data", "fetch", "cifar10"}).wait(), 0);
  Tito one = tito({"--color", "always", "data", "show", "cifar10", "--index", "13"});
  EXPECT_EQ(one.wait(), 0) << one.err();
  std::string out = one.out();
  EXPECT_NE(out.find("\033[38;2;"), std::string::npos);
  EXPECT_NE(out.find("\u2580"), std::string::npos);
  // Record 13 is record 1 of data_batch_2 (12 per batch here): label (1 + 2) % 10 = cat.
  EXPECT_NE(out.find("cifar10 train #13 of 60: \033[1mcat\033[0m (label 3)\n"), std::string::npos) << out;

  Tito grid = tito({"data", "show", "cifar10", "--grid", "2", "--png", "grid.png", "--split", "test"});
  EXPECT_EQ(grid.wait(), 0) << grid.err();
  EXPECT_EQ(grid.out(), "wrote grid.png: 4 images of cifar10 test (#0 to #3 of 12)\n  row 1: airplane, automobile\n"
                        "  row 2: bird, cat\n");
  std::string png = read_file(tmp.path() / "grid.png");
  EXPECT_EQ(png.substr(0, 4), "\x89PNG");

  Tito past = tito({"data", "show", "cifar10", "--index", "60"});
  EXPECT_EQ(past.wait(), 2);
  EXPECT_EQ(past.err(), "error: cifar10 train has 60 images (0 to 59); 60 is past the end\n");
}

}  // namespace
}  // namespace tito::data
