// fetch_dataset and the cache: a small CIFAR-10-format archive served by the
// loopback server, fetched, unpacked, verified, imported, locked, cleaned.
#include <gtest/gtest.h>

#include <thread>

#include "data/cache.hpp"
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
using testing::TarEntry;
using namespace std::chrono_literals;

constexpr std::size_t kRecords = 20;
constexpr const char* kArchive = "cifar-10-binary.tar.gz";

FetchOptions fast_options() {
  FetchOptions o;
  o.download.http.connect_timeout_s = 5;
  o.download.http.low_speed_limit = 1000;
  o.download.http.low_speed_time_s = 1;
  o.download.retry.attempts_per_mirror = 3;
  o.download.retry.backoff = 10ms;
  o.download.retry.max_backoff = 40ms;
  o.lock_timeout = 30s;
  return o;
}

class Fetch : public ::testing::Test {
 protected:
  LoopbackServer server;
  TempDir tmp{"tito-fetch-test"};
  fs::path cache = tmp.path() / "cache";
  RecordingObserver observer;
  FetchOptions options = fast_options();
  std::string archive = testing::cifar_archive(kRecords);
  Registry registry;

  void SetUp() override { serve(archive); }

  // Serves `bytes` as the archive and describes them in the registry.
  void serve(const std::string& bytes) {
    server.add_file(std::string("cifar/") + kArchive, bytes);
    registry = Registry::parse(testing::cifar_registry({server.url("cifar/")}, bytes, kRecords), "test-registry.json");
  }
  const Dataset& cifar() const { return registry.find("cifar10"); }
  fs::path data_dir() const { return cache / "cifar10" / "cifar-10-batches-bin"; }
  fs::path download() const { return cache / "cifar10" / "downloads" / kArchive; }
  FetchReport fetch() { return fetch_dataset(cifar(), cache, options, observer); }
  std::string fetch_error() {
    try {
      fetch();
    } catch (const Error& e) {
      return e.what();
    }
    return "no error";
  }
  // Names in the dataset's cache folder, sorted.
  std::vector<std::string> listing() const {
    std::vector<std::string> out;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(cache / "cifar10", ec)) out.push_back(e.path().filename().string());
    std::sort(out.begin(), out.end());
    return out;
  }
};

TEST_F(Fetch, DownloadsVerifiesUnpacksAndMarksReady) {
  FetchReport r = fetch();
  EXPECT_FALSE(r.already_cached);
  EXPECT_EQ(r.path, data_dir());
  EXPECT_EQ(r.transferred, archive.size());
  for (const char* name : {"data_batch_1.bin", "data_batch_5.bin", "test_batch.bin"}) {
    EXPECT_EQ(fs::file_size(data_dir() / name), kRecords * 3073) << name;
  }
  EXPECT_TRUE(fs::exists(data_dir() / "batches.meta.txt"));
  EXPECT_EQ(listing(), (std::vector<std::string>{"cifar-10-batches-bin", "downloads", "tito-cache.json"}));
  EXPECT_EQ(dataset_status(cifar(), cache).state, CacheState::Ready);
  EXPECT_EQ(dataset_path(cifar(), cache), data_dir());
  EXPECT_EQ(observer.stages(), (std::vector<std::string>{"extracting cifar-10-binary.tar.gz"}));
}

TEST_F(Fetch, ASecondFetchDoesNothing) {
  fetch();
  FetchReport again = fetch();
  EXPECT_TRUE(again.already_cached);
  EXPECT_EQ(server.requests().size(), 1u);
}

TEST_F(Fetch, ForceFetchesAndUnpacksAgain) {
  fetch();
  options.force = true;
  FetchReport again = fetch();
  EXPECT_FALSE(again.already_cached);
  EXPECT_EQ(server.requests().size(), 2u);
  EXPECT_EQ(dataset_status(cifar(), cache).state, CacheState::Ready);
}

TEST_F(Fetch, TriesTheMirrorOptionFirst) {
  server.add_file(std::string("other/") + kArchive, archive);
  options.mirrors = {server.url("other")};
  fetch();
  ASSERT_EQ(server.requests().size(), 1u);
  EXPECT_EQ(server.requests()[0].path, std::string("/other/") + kArchive);
}

TEST_F(Fetch, ResumesAfterADropAndAFlakyServer) {
  server.queue_fault(std::string("cifar/") + kArchive, Fault::drop(static_cast<std::int64_t>(archive.size() / 3)));
  server.queue_fault(std::string("cifar/") + kArchive, Fault::http(503, {{"Retry-After", "0"}}));
  server.queue_fault(std::string("cifar/") + kArchive, Fault::stall(static_cast<std::int64_t>(archive.size() / 3)));
  fetch();
  EXPECT_EQ(dataset_status(cifar(), cache).state, CacheState::Ready);
  EXPECT_EQ(read_file(download()), archive);
}

TEST_F(Fetch, VerifyFindsADamagedFileAndTheNextFetchRepairsItOffline) {
  fetch();
  fs::resize_file(data_dir() / "data_batch_3.bin", 100);
  VerifyReport v = verify_dataset(cifar(), cache, options, observer);
  EXPECT_FALSE(v.ok);
  std::vector<std::string> failed;
  for (const FileCheck& c : v.checks) {
    if (!c.ok) failed.push_back(c.path + ": " + c.problem);
  }
  EXPECT_EQ(failed, std::vector<std::string>{"cifar-10-batches-bin/data_batch_3.bin: has 100 bytes, expected " +
                                             std::to_string(kRecords * 3073)});
  EXPECT_EQ(dataset_status(cifar(), cache).state, CacheState::Downloaded);

  options.offline = true;  // the archive in the cache is enough
  fetch();
  EXPECT_EQ(fs::file_size(data_dir() / "data_batch_3.bin"), kRecords * 3073);
  EXPECT_EQ(server.requests().size(), 1u);
  EXPECT_TRUE(verify_dataset(cifar(), cache, options, observer).ok);
}

TEST_F(Fetch, ADamagedDownloadIsDeletedAndFetchedAgain) {
  fetch();
  std::string bytes = read_file(download());
  bytes[bytes.size() / 2] ^= 0x40;
  testing::write_bytes(download(), bytes);
  VerifyReport v = verify_dataset(cifar(), cache, options, observer);
  EXPECT_FALSE(v.ok);
  EXPECT_EQ(v.checks[0].path, std::string("downloads/") + kArchive);
  EXPECT_EQ(v.checks[0].problem, "checksum mismatch: expected sha256 " + sha256_hex(archive) + ", got " + sha256_hex(bytes));
  fetch();
  EXPECT_EQ(read_file(download()), archive);
  EXPECT_EQ(server.requests().size(), 2u);
  EXPECT_NE(observer.notices_text().find("cifar-10-binary.tar.gz in the cache is damaged (checksum mismatch"),
            std::string::npos);
}

TEST_F(Fetch, CleanRemovesTheDatasetFolder) {
  fetch();
  std::uint64_t freed = clean_dataset(cifar(), cache, options, observer);
  EXPECT_GT(freed, archive.size());
  EXPECT_FALSE(fs::exists(cache / "cifar10"));
  EXPECT_EQ(dataset_status(cifar(), cache).state, CacheState::Missing);
  EXPECT_EQ(clean_dataset(cifar(), cache, options, observer), 0u);
  try {
    dataset_path(cifar(), cache);
    FAIL() << "a cleaned dataset has a path";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()),
              "cifar10 is not ready in " + cache.string() + " (not cached): run `tito data fetch cifar10`");
  }
}

TEST_F(Fetch, TwoConcurrentFetchesDownloadOnceAndBothSucceed) {
  server.set_rate(archive.size() * 2);  // about half a second
  RecordingObserver second_observer;
  FetchReport first, second;
  std::string first_error, second_error;
  std::thread a([&] {
    try {
      first = fetch_dataset(cifar(), cache, options, observer);
    } catch (const std::exception& e) {
      first_error = e.what();
    }
  });
  std::thread b([&] {
    try {
      second = fetch_dataset(cifar(), cache, options, second_observer);
    } catch (const std::exception& e) {
      second_error = e.what();
    }
  });
  a.join();
  b.join();
  EXPECT_EQ(first_error, "");
  EXPECT_EQ(second_error, "");
  EXPECT_EQ(server.requests().size(), 1u);
  EXPECT_NE(first.already_cached, second.already_cached);
  EXPECT_NE(first.waited_for_lock, second.waited_for_lock);
  const RecordingObserver& waiter = first.waited_for_lock ? observer : second_observer;
  ASSERT_FALSE(waiter.notices().empty());
  EXPECT_NE(waiter.notices()[0].find("is working on cifar10; waiting for it to finish"), std::string::npos);
  EXPECT_EQ(dataset_status(cifar(), cache).state, CacheState::Ready);
}

TEST_F(Fetch, OfflineSaysWhatIsMissingAndTouchesNoNetwork) {
  options.offline = true;
  EXPECT_EQ(fetch_error(), "TITO_OFFLINE is set, so nothing is downloaded, and cifar10 still needs " +
                               std::string(kArchive) + " (" + human_bytes(archive.size()) +
                               ").\nDownload it elsewhere (" + server.url("cifar/") + kArchive +
                               ") and run `tito data fetch cifar10 --from DIR`, or unset TITO_OFFLINE");
  EXPECT_TRUE(server.requests().empty());
}

TEST_F(Fetch, OfflineWithTheDatasetCachedSucceeds) {
  fetch();
  options.offline = true;
  EXPECT_TRUE(fetch().already_cached);
}

TEST_F(Fetch, ImportsAnArchiveFromAFileOrAFolder) {
  fs::path elsewhere = tmp.path() / "Downloads";
  testing::write_bytes(elsewhere / kArchive, archive);
  options.from = elsewhere;
  FetchReport r = fetch();
  EXPECT_EQ(r.transferred, 0u);
  EXPECT_EQ(dataset_status(cifar(), cache).state, CacheState::Ready);

  clean_dataset(cifar(), cache, options, observer);
  testing::write_bytes(tmp.path() / "renamed.tgz", archive);
  options.from = tmp.path() / "renamed.tgz";  // one file for a one-file dataset: any name
  fetch();
  EXPECT_EQ(dataset_status(cifar(), cache).state, CacheState::Ready);
  EXPECT_TRUE(server.requests().empty());
  EXPECT_TRUE(fs::exists(tmp.path() / "renamed.tgz"));  // copied, not moved
}

TEST_F(Fetch, RefusesToImportAFileThatDoesNotMatch) {
  std::string other = testing::cifar_archive(kRecords + 1);
  testing::write_bytes(tmp.path() / kArchive, other);
  options.from = tmp.path() / kArchive;
  EXPECT_EQ(fetch_error(), (tmp.path() / kArchive).string() + " is not the registry's " + kArchive +
                               ": checksum mismatch: expected sha256 " + sha256_hex(archive) + ", got " +
                               sha256_hex(other) + "; it was not imported");
  EXPECT_FALSE(fs::exists(download()));
  EXPECT_EQ(listing(), std::vector<std::string>{"downloads"});
  EXPECT_TRUE(fs::is_empty(cache / "cifar10" / "downloads"));
}

TEST_F(Fetch, SaysWhichFileAFromFolderLacks) {
  fs::create_directories(tmp.path() / "empty");
  options.from = tmp.path() / "empty";
  EXPECT_EQ(fetch_error(), (tmp.path() / "empty").string() + " does not hold " + kArchive +
                               " (the names the registry uses) for cifar10; pass the folder that holds it, or fetch "
                               "without --from");
}

TEST_F(Fetch, ReportsAFullDiskBeforeDownloading) {
  options.free_space = [](const fs::path&) { return FreeSpace{1000, ""}; };
  std::uint64_t need = archive.size() + 6 * kRecords * 3073;
  EXPECT_EQ(fetch_error(), "not enough disk space for cifar10 in " + (cache / "cifar10").string() + ": it needs " +
                               human_bytes(need) + " more and 1.0 kB is free; free some space, or put the cache on a "
                               "bigger disk with --cache DIR (or TITO_DATA_DIR)");
  EXPECT_TRUE(server.requests().empty());
}

TEST_F(Fetch, SaysSoWhenTheFreeSpaceCannotBeRead) {
  options.free_space = [](const fs::path&) { return FreeSpace{std::nullopt, "Permission denied"}; };
  std::uint64_t need = archive.size() + 6 * kRecords * 3073;
  FetchReport report = fetch();
  EXPECT_FALSE(report.already_cached);
  EXPECT_GT(report.transferred, 0u);
  std::vector<std::string> notices = observer.notices();
  ASSERT_FALSE(notices.empty());
  EXPECT_EQ(notices.front(), "cannot tell how much disk space is free in " + (cache / "cifar10").string() +
                                 " (Permission denied); fetching without checking that " + human_bytes(need) + " fit");
}

// Each escaping entry, inside an otherwise good CIFAR archive whose checksum
// the registry vouches for: still refused, and nothing is left behind.
class EscapingArchive : public Fetch, public ::testing::WithParamInterface<TarEntry> {};

TEST_P(EscapingArchive, IsRefusedAndLeavesNoFolder) {
  std::vector<TarEntry> entries{{TarEntry::Dir, "cifar-10-batches-bin/", "", ""}};
  for (const char* name : {"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin",
                           "data_batch_5.bin", "test_batch.bin"}) {
    entries.push_back({TarEntry::File, std::string("cifar-10-batches-bin/") + name, testing::cifar_batch(kRecords, 1), ""});
  }
  entries.push_back(GetParam());
  entries.push_back({TarEntry::File, "cifar-10-batches-bin/batches.meta.txt", "cat\n", ""});
  serve(testing::make_tar_gz(entries));
  std::string message = fetch_error();
  EXPECT_EQ(message.rfind("refusing to extract cifar-10-binary.tar.gz: entry '" + GetParam().path + "' ", 0), 0u)
      << message;
  EXPECT_NE(message.find("; the download was removed"), std::string::npos) << message;
  EXPECT_EQ(listing(), std::vector<std::string>{"downloads"});  // no data folder, no temporary folder
  EXPECT_FALSE(fs::exists(download()));
  EXPECT_FALSE(fs::exists(cache / "cifar10" / "evil"));
  EXPECT_FALSE(fs::exists(cache / "evil"));
  EXPECT_FALSE(fs::exists(tmp.path() / "evil"));
}

std::string escaping_kind(const ::testing::TestParamInfo<TarEntry>& info) {
  static const char* const kNames[] = {"AbsolutePath", "DotDot",     "SymlinkOut", "AbsoluteSymlink",
                                       "HardlinkOut",  "DeviceFile", "Fifo"};
  return kNames[info.index];
}

INSTANTIATE_TEST_SUITE_P(
    EachKind, EscapingArchive,
    ::testing::Values(TarEntry{TarEntry::File, "/tmp/tito-test-evil", "x", ""},
                      TarEntry{TarEntry::File, "cifar-10-batches-bin/../../evil", "x", ""},
                      TarEntry{TarEntry::Symlink, "cifar-10-batches-bin/evil", "", "../../../evil"},
                      TarEntry{TarEntry::Symlink, "cifar-10-batches-bin/passwd", "", "/etc/passwd"},
                      TarEntry{TarEntry::Hardlink, "cifar-10-batches-bin/evil", "", "../../evil"},
                      TarEntry{TarEntry::CharDevice, "cifar-10-batches-bin/null", "", ""},
                      TarEntry{TarEntry::Fifo, "cifar-10-batches-bin/pipe", "", ""}),
    escaping_kind);

TEST_F(Fetch, RejectsATruncatedArchiveAndLeavesNoFolder) {
  serve(archive.substr(0, archive.size() / 2));  // the registry vouches for the cut file
  std::string message = fetch_error();
  EXPECT_EQ(message.rfind("cannot extract cifar-10-binary.tar.gz: ", 0), 0u) << message;
  EXPECT_NE(message.find("(the archive is damaged or truncated); the download was removed"), std::string::npos)
      << message;
  EXPECT_EQ(listing(), std::vector<std::string>{"downloads"});
}

TEST_F(Fetch, ChecksUnpackedSizesAgainstTheRegistry) {
  registry = Registry::parse(testing::cifar_registry({server.url("cifar/")}, archive, kRecords + 1), "test-registry.json");
  std::string message = fetch_error();
  EXPECT_EQ(message, "after unpacking cifar10, cifar-10-batches-bin/data_batch_1.bin has " +
                         std::to_string(kRecords * 3073) + " bytes, expected " + std::to_string((kRecords + 1) * 3073) +
                         ": the download does not hold what the registry describes (check the registry, or run with "
                         "--force)");
  EXPECT_EQ(listing(), (std::vector<std::string>{"downloads"}));
}

TEST_F(Fetch, ARegistryChangeMakesTheCacheUnverified) {
  fetch();
  std::string changed = testing::cifar_registry({server.url("cifar/")}, archive, kRecords);
  changed.replace(changed.find("CIFAR-10 (test copy)"), 4, "cifar");  // the title does not matter...
  registry = Registry::parse(changed, "r.json");
  EXPECT_EQ(dataset_status(cifar(), cache).state, CacheState::Ready);
  Dataset other = cifar();
  other.contents.pop_back();  // ...what the cache holds does
  EXPECT_EQ(dataset_status(other, cache).state, CacheState::Downloaded);
}

}  // namespace
}  // namespace tito::data
