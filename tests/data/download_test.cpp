// download_file against the loopback server: resume, retries, mirrors,
// verification, cancellation.
#include "data/download.hpp"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>

#include "http_server.hpp"
#include "support.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"
#include "util/hash.hpp"

namespace tito::data {
namespace {

using testing::Fault;
using testing::LoopbackServer;
using testing::RecordingObserver;
using namespace std::chrono_literals;

// Bytes that do not repeat, so a misplaced range shows in the checksum.
std::string pattern(std::size_t n, std::uint32_t seed = 1) {
  std::string out(n, '\0');
  std::uint32_t x = seed;
  for (char& c : out) {
    x = x * 1664525u + 1013904223u;
    c = static_cast<char>(x >> 24);
  }
  return out;
}

RemoteFile remote(const std::string& name, const std::string& content) {
  RemoteFile f;
  f.name = name;
  f.size = content.size();
  f.md5 = testing::md5_hex(content);
  f.sha256 = sha256_hex(content);
  return f;
}

DownloadSettings fast(const std::atomic<bool>* cancel = nullptr) {
  DownloadSettings s;
  s.http.connect_timeout_s = 5;
  s.http.low_speed_limit = 1000;
  s.http.low_speed_time_s = 1;
  s.retry.attempts_per_mirror = 3;
  s.retry.backoff = 10ms;
  s.retry.max_backoff = 40ms;
  s.retry.max_retry_after = 3s;
  s.cancel = cancel;
  return s;
}

class Download : public ::testing::Test {
 protected:
  LoopbackServer server;
  TempDir tmp{"tito-download-test"};
  RecordingObserver observer;
  std::string content = pattern(300000);
  RemoteFile file = remote("blob.bin", content);

  void SetUp() override { server.add_file("a/blob.bin", content); }
  fs::path dest() const { return tmp.path() / "downloads" / "blob.bin"; }
  fs::path part() const { return tmp.path() / "downloads" / "blob.bin.part"; }
  Downloaded fetch(const std::vector<std::string>& urls, const DownloadSettings& s) {
    return download_file(file, urls, dest(), s, observer);
  }
  Downloaded fetch() { return fetch({server.url("a/blob.bin")}, fast()); }
  std::string error_of(const std::vector<std::string>& urls, const DownloadSettings& s) {
    try {
      fetch(urls, s);
    } catch (const Error& e) {
      return e.what();
    }
    return "no error";
  }
};

TEST_F(Download, FetchesAVerifiedFileAndLeavesNothingElse) {
  Downloaded d = fetch();
  EXPECT_EQ(read_file(dest()), content);
  EXPECT_EQ(d.url, server.url("a/blob.bin"));
  EXPECT_EQ(d.attempts, 1);
  EXPECT_EQ(d.transferred, content.size());
  EXPECT_FALSE(fs::exists(part()));
  EXPECT_FALSE(fs::exists(tmp.path() / "downloads" / "blob.bin.part.json"));
}

TEST_F(Download, SendsItsUserAgent) {
  DownloadSettings s = fast();
  s.http.user_agent = "tito/9.9 (test)";
  fetch({server.url("a/blob.bin")}, s);
  ASSERT_EQ(server.requests().size(), 1u);
  EXPECT_EQ(server.requests()[0].user_agent, "tito/9.9 (test)");
}

TEST_F(Download, ResumesAfterTheConnectionDropsAtManyOffsets) {
  for (std::int64_t offset : {0, 1, 1000, 4095, 4096, 65536, 131073, 299999}) {
    SCOPED_TRACE("dropped at byte " + std::to_string(offset));
    fs::remove_all(tmp.path() / "downloads");
    std::size_t before = server.requests().size();
    server.queue_fault("a/blob.bin", Fault::drop(offset));
    Downloaded d = fetch();
    EXPECT_EQ(read_file(dest()), content);
    EXPECT_EQ(d.attempts, 2);
    std::vector<testing::SeenRequest> seen = server.requests();
    ASSERT_EQ(seen.size(), before + 2);
    const testing::SeenRequest& resumed = seen.back();
    if (offset == 0) {
      EXPECT_EQ(resumed.range, "");
      EXPECT_EQ(resumed.status, 200);
    } else {
      EXPECT_EQ(resumed.range, "bytes=" + std::to_string(offset) + "-");
      EXPECT_EQ(resumed.if_range, "\"tito-test-1\"");
      EXPECT_EQ(resumed.status, 206);
    }
    EXPECT_EQ(d.transferred, content.size());
  }
}

TEST_F(Download, DropsThatMakeProgressDoNotUseUpTheRetries) {
  // Five drops in a row, each after new bytes; only 3 attempts without progress are allowed.
  for (int i = 0; i < 5; ++i) server.queue_fault("a/blob.bin", Fault::drop(20000));
  Downloaded d = fetch();
  EXPECT_EQ(read_file(dest()), content);
  EXPECT_EQ(d.attempts, 6);
  EXPECT_EQ(observer.start_offsets(), (std::vector<std::uint64_t>{0, 20000, 40000, 60000, 80000, 100000}));
}

TEST_F(Download, RestartsCleanlyWhenTheServerIgnoresRange) {
  testing::write_bytes(part(), pattern(5000, 99));  // not a prefix of the file: appending would corrupt it
  server.queue_fault("a/blob.bin", Fault::no_range());
  Downloaded d = fetch();
  EXPECT_EQ(read_file(dest()), content);
  EXPECT_TRUE(d.resumed);
  ASSERT_EQ(server.requests().size(), 1u);
  EXPECT_EQ(server.requests()[0].range, "bytes=5000-");
  EXPECT_EQ(server.requests()[0].status, 200);
  EXPECT_NE(observer.notices_text().find("sent the whole file instead of the rest; starting blob.bin over"),
            std::string::npos)
      << observer.notices_text();
}

TEST_F(Download, StartsOverWhenTheFileChangedOnTheServer) {
  std::string old_content = pattern(300000, 7);
  server.replace_file("a/blob.bin", old_content);
  server.queue_fault("a/blob.bin", Fault::drop(1000));
  RemoteFile old_file = remote("blob.bin", old_content);
  old_file.size = 0;  // unknown, so the first run stops at the drop without a size to resume to
  DownloadSettings one_try = fast();
  one_try.retry.max_attempts = 1;
  EXPECT_THROW(download_file(old_file, {server.url("a/blob.bin")}, dest(), one_try, observer), Error);
  ASSERT_EQ(fs::file_size(part()), 1000u);

  server.replace_file("a/blob.bin", content);  // a new version with a new ETag
  fetch();
  EXPECT_EQ(read_file(dest()), content);
  const testing::SeenRequest& last = server.requests().back();
  EXPECT_EQ(last.if_range, "\"tito-test-2\"");
  EXPECT_EQ(last.status, 200);
}

TEST_F(Download, WaitsAsRetryAfterSaysOn503) {
  server.queue_fault("a/blob.bin", Fault::http(503, {{"Retry-After", "1"}}));
  auto start = std::chrono::steady_clock::now();
  Downloaded d = fetch();
  auto waited = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(read_file(dest()), content);
  EXPECT_EQ(d.attempts, 2);
  EXPECT_GE(waited, 900ms);
  EXPECT_EQ(observer.notices(),
            std::vector<std::string>{"127.0.0.1:" + std::to_string(server.port()) +
                                     ": HTTP 503 Service Unavailable; retrying in 1 s (attempt 2)"});
}

TEST_F(Download, RetriesOn408And429And5xxWithBackoff) {
  server.queue_fault("a/blob.bin", Fault::http(429));
  server.queue_fault("a/blob.bin", Fault::http(500));
  Downloaded d = fetch();
  EXPECT_EQ(read_file(dest()), content);
  EXPECT_EQ(d.attempts, 3);
}

TEST_F(Download, MovesOnWhenRetryAfterIsTooLong) {
  server.add_file("b/blob.bin", content);
  server.queue_fault("a/blob.bin", Fault::http(503, {{"Retry-After", "3600"}}));
  Downloaded d = fetch({server.url("a/blob.bin"), server.url("b/blob.bin")}, fast());
  EXPECT_EQ(d.url, server.url("b/blob.bin"));
  EXPECT_EQ(server.count("a/blob.bin"), 1u);
}

TEST_F(Download, GivesUpOnAMirrorAfterBoundedAttempts) {
  server.add_file("b/blob.bin", content);
  for (int i = 0; i < 10; ++i) server.queue_fault("a/blob.bin", Fault::http(503));
  Downloaded d = fetch({server.url("a/blob.bin"), server.url("b/blob.bin")}, fast());
  EXPECT_EQ(d.url, server.url("b/blob.bin"));
  EXPECT_EQ(server.count("a/blob.bin"), 3u);
  EXPECT_EQ(read_file(dest()), content);
}

TEST_F(Download, FallsBackToTheNextMirrorOn404) {
  server.add_file("b/blob.bin", content);
  Downloaded d = fetch({server.url("missing/blob.bin"), server.url("b/blob.bin")}, fast());
  EXPECT_EQ(d.url, server.url("b/blob.bin"));
  EXPECT_EQ(server.count("missing/blob.bin"), 1u);  // a 404 is not retried
  EXPECT_NE(observer.notices_text().find("HTTP 404 Not Found; trying the next mirror"), std::string::npos);
}

TEST_F(Download, DeletesAWrongFileAndFallsBackToTheNextMirror) {
  std::string wrong = pattern(content.size(), 5);
  server.add_file("b/blob.bin", content);
  server.queue_fault("a/blob.bin", Fault::content(wrong));
  Downloaded d = fetch({server.url("a/blob.bin"), server.url("b/blob.bin")}, fast());
  EXPECT_EQ(d.url, server.url("b/blob.bin"));
  EXPECT_EQ(read_file(dest()), content);
  std::string expected = "blob.bin from 127.0.0.1:" + std::to_string(server.port()) +
                         ": checksum mismatch: expected sha256 " + file.sha256 + ", got " + sha256_hex(wrong) +
                         "; deleted it";
  EXPECT_EQ(observer.notices(), std::vector<std::string>{expected});
}

TEST_F(Download, ReportsAChecksumMismatchAndKeepsNothing) {
  std::string wrong = pattern(content.size(), 5);
  server.queue_fault("a/blob.bin", Fault::content(wrong));
  std::string message = error_of({server.url("a/blob.bin")}, fast());
  EXPECT_EQ(message, "cannot download blob.bin: the only mirror failed:\n  " + server.url("a/blob.bin") +
                         ": checksum mismatch: expected sha256 " + file.sha256 + ", got " + sha256_hex(wrong) +
                         "; the download was deleted\n"
                         "To get it elsewhere: --mirror URL tries another host first; --from FILE imports a copy you "
                         "downloaded.");
  EXPECT_FALSE(fs::exists(dest()));
  EXPECT_FALSE(fs::exists(part()));
}

TEST_F(Download, RetriesAStalledTransferAndResumesIt) {
  server.queue_fault("a/blob.bin", Fault::stall(2000));
  Downloaded d = fetch();
  EXPECT_EQ(read_file(dest()), content);
  EXPECT_EQ(d.attempts, 2);
  EXPECT_EQ(server.requests().back().range, "bytes=2000-");
  EXPECT_NE(observer.notices_text().find("the transfer stalled at"), std::string::npos) << observer.notices_text();
}

TEST_F(Download, ListsEveryMirrorAndItsReasonWhenAllFail) {
  std::string refused = "http://127.0.0.1:" + std::to_string(testing::unused_loopback_port()) + "/blob.bin";
  std::string message = error_of({server.url("missing/blob.bin"), refused}, fast());
  EXPECT_EQ(message.rfind("cannot download blob.bin: all 2 mirrors failed:\n  " + server.url("missing/blob.bin") +
                              ": HTTP 404 Not Found\n  " + refused + ": cannot connect (",
                          0),
            0u)
      << message;
  EXPECT_NE(message.find("(gave up after 3 attempts)"), std::string::npos) << message;
  EXPECT_EQ(message.find("No host could be reached"), std::string::npos) << message;
}

TEST_F(Download, SaysTheNetworkIsDownWhenNoHostAnswers) {
  std::string refused = "http://127.0.0.1:" + std::to_string(testing::unused_loopback_port()) + "/blob.bin";
  std::string message = error_of({refused, refused}, fast());
  EXPECT_NE(message.find("\nNo host could be reached: check the network connection (and https_proxy, if you use a "
                         "proxy), then run the same command again."),
            std::string::npos)
      << message;
}

TEST_F(Download, CancellingKeepsTheResumablePart) {
  std::atomic<bool> cancel{false};
  server.set_rate(400000);
  content = pattern(1000000);
  file = remote("blob.bin", content);
  server.replace_file("a/blob.bin", content);
  observer.cancel = &cancel;
  observer.cancel_after = 100000;
  try {
    fetch({server.url("a/blob.bin")}, fast(&cancel));
    FAIL() << "not interrupted";
  } catch (const Error& e) {
    EXPECT_EQ(e.exit_code(), kExitInterrupted);
    EXPECT_NE(std::string(e.what()).find("blob.bin.part ("), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("is kept; run the same command again to resume"), std::string::npos);
  }
  std::uint64_t kept = fs::file_size(part());
  EXPECT_GE(kept, 100000u);
  EXPECT_LT(kept, content.size());

  server.set_rate(0);
  observer.cancel = nullptr;
  Downloaded d = fetch();
  EXPECT_TRUE(d.resumed);
  EXPECT_EQ(read_file(dest()), content);
  EXPECT_EQ(server.requests().back().range, "bytes=" + std::to_string(kept) + "-");
}

TEST_F(Download, ChecksAPartThatAlreadyHoldsEveryByteWithoutARequest) {
  testing::write_bytes(part(), content);
  fetch();
  EXPECT_EQ(read_file(dest()), content);
  EXPECT_TRUE(server.requests().empty());
}

TEST_F(Download, StartsOverWhenTheServerCannotResume) {
  file.size = 0;  // unknown size: a .part longer than the file is only found out by the server
  testing::write_bytes(part(), content + "extra bytes");
  fetch();
  EXPECT_EQ(read_file(dest()), content);
  std::vector<testing::SeenRequest> seen = server.requests();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].status, 416);
  EXPECT_EQ(seen[1].range, "");
}

TEST(VerifyFile, AcceptsARecompressedGzipByItsContent) {
  TempDir tmp("tito-verify-test");
  std::string content = pattern(50000);
  std::string published = testing::make_gzip(content);  // stands for the host's file
  std::string recompressed = published;
  recompressed[4] = static_cast<char>(recompressed[4] ^ 0x5a);  // another mtime in the header: same content
  RemoteFile f = remote("x.gz", published);
  f.unpack = Unpack::Gzip;
  f.content = ContentFile{"x", content.size(), sha256_hex(content)};
  testing::write_bytes(tmp.path() / "x.gz", recompressed);
  Verdict v = verify_file(f, tmp.path() / "x.gz", "", nullptr);
  EXPECT_TRUE(v.ok) << v.problem;
  EXPECT_TRUE(v.by_content);

  f.content->sha256 = sha256_hex("something else");
  v = verify_file(f, tmp.path() / "x.gz", "", nullptr);
  EXPECT_FALSE(v.ok);
  EXPECT_EQ(v.problem.rfind("checksum mismatch: expected sha256 " + f.sha256 + ", got " + sha256_hex(recompressed) +
                                "; its decompressed content does not match either (sha256 " + sha256_hex(content) + ")",
                            0),
            0u)
      << v.problem;
}

TEST(VerifyFile, FallsBackToMd5WhenThereIsNoSha256) {
  TempDir tmp("tito-verify-test");
  std::string content = pattern(1000);
  RemoteFile f = remote("x.bin", content);
  f.sha256.clear();
  testing::write_bytes(tmp.path() / "x.bin", content + "!");
  Verdict v = verify_file(f, tmp.path() / "x.bin", "", nullptr);
  EXPECT_FALSE(v.ok);
  EXPECT_EQ(v.problem, "checksum mismatch: expected md5 " + f.md5 + ", got " + testing::md5_hex(content + "!"));
}

TEST(HumanBytes, UsesDecimalUnits) {
  EXPECT_EQ(human_bytes(12), "12 B");
  EXPECT_EQ(human_bytes(4542), "4.5 kB");
  EXPECT_EQ(human_bytes(170052171), "170.1 MB");
  EXPECT_EQ(human_bytes(2500000000ULL), "2.50 GB");
}

}  // namespace
}  // namespace tito::data
