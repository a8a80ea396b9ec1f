// Fashion-MNIST on real data: Debian's dataset-fashion-mnist files, served
// by the loopback server or imported with --from, against the course's own
// registry entry.
#include <gtest/gtest.h>

#include "data/cache.hpp"
#include "data/images.hpp"
#include "http_server.hpp"
#include "support.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"
#include "util/hash.hpp"

namespace tito::data {
namespace {

using namespace std::chrono_literals;

const fs::path kDebianDir = FASHION_MNIST_DIR;

class FashionMnist : public ::testing::Test {
 protected:
  TempDir tmp{"tito-fashion-test"};
  fs::path cache = tmp.path() / "cache";
  testing::RecordingObserver observer;
  Registry registry = Registry::load(fs::path(TITO_SOURCE_DIR) / "data" / "datasets.json");
  Dataset dataset = registry.find("fashion-mnist");
  FetchOptions options;

  void SetUp() override {
    ASSERT_TRUE(fs::is_directory(kDebianDir))
        << kDebianDir << " is missing: install Debian's dataset-fashion-mnist package (the README setup does)";
    dataset.mirrors.clear();  // never the real hosts: only what a test adds with options.mirrors
    options.download.retry.attempts_per_mirror = 2;
    options.download.retry.backoff = 10ms;
    options.lock_timeout = 30s;
  }

  void expect_ready() {
    EXPECT_EQ(dataset_status(dataset, cache).state, CacheState::Ready);
    fs::path dir = dataset_path(dataset, cache);
    EXPECT_EQ(dir, cache / "fashion-mnist" / "idx");
    EXPECT_EQ(fs::file_size(dir / "train-images-idx3-ubyte"), 47040016u);
    EXPECT_EQ(fs::file_size(dir / "t10k-labels-idx1-ubyte"), 10008u);
    VerifyReport v = verify_dataset(dataset, cache, options, observer);
    for (const FileCheck& c : v.checks) EXPECT_TRUE(c.ok) << c.path << ": " << c.problem;
  }
};

// Debian's files differ from the published ones only in the gzip header
// (Debian dropped the file name and changed the mtime). Putting the original
// header back must give the published size, MD5 and the registry's SHA-256:
// proof that the registry's checksums describe this data.
TEST_F(FashionMnist, PublishedChecksumsMatchDebiansFilesWithTheOriginalHeader) {
  for (const RemoteFile& f : dataset.files) {
    SCOPED_TRACE(f.name);
    std::string debian = read_file(kDebianDir / f.name);
    std::uint32_t mtime = f.name.rfind("train", 0) == 0 ? 1504176606u : 1504176627u;
    std::string header = "\x1f\x8b\x08\x08";
    for (int i = 0; i < 4; ++i) header += static_cast<char>((mtime >> (8 * i)) & 0xFF);
    header += std::string("\x00\x03", 2) + f.content->path + std::string(1, '\0');
    std::string original = header + debian.substr(10);
    EXPECT_EQ(original.size(), f.size);
    EXPECT_EQ(testing::md5_hex(original), f.md5);
    EXPECT_EQ(sha256_hex(original), f.sha256);
  }
}

TEST_F(FashionMnist, FetchesTheRealFilesFromTheLoopbackServerAndVerifiesThem) {
  testing::LoopbackServer server;
  for (const RemoteFile& f : dataset.files) {
    server.add_file("fashion/" + f.name, read_file(kDebianDir / f.name));
  }
  server.queue_fault("fashion/train-images-idx3-ubyte.gz", testing::Fault::drop(10'000'000));
  options.mirrors = {server.url("fashion/")};
  FetchReport r = fetch_dataset(dataset, cache, options, observer);
  EXPECT_EQ(r.files.size(), 4u);
  for (const std::string& line : r.files) {
    EXPECT_NE(line.find("(recompressed; content verified)"), std::string::npos) << line;
  }
  EXPECT_EQ(server.count("fashion/train-images-idx3-ubyte.gz"), 2u);  // dropped, then resumed
  expect_ready();
}

TEST_F(FashionMnist, ImportsDebiansRecompressedFilesWithFrom) {
  options.from = kDebianDir;
  fetch_dataset(dataset, cache, options, observer);
  EXPECT_NE(observer.notices_text().find("train-images-idx3-ubyte.gz: recompressed copy, accepted because its "
                                         "content matches"),
            std::string::npos)
      << observer.notices_text();
  expect_ready();

  ImageSelection first = read_images(dataset, dataset_path(dataset, cache), "train", 0, 2);
  EXPECT_EQ(first.split_size, 60000u);
  EXPECT_EQ(first.images[0].width, 28);
  EXPECT_EQ(dataset.classes.at(static_cast<std::size_t>(first.images[0].label)), "Ankle boot");
  EXPECT_EQ(dataset.classes.at(static_cast<std::size_t>(first.images[1].label)), "T-shirt/top");
  EXPECT_EQ(read_images(dataset, dataset_path(dataset, cache), "test", 0, 1).split_size, 10000u);
}

TEST_F(FashionMnist, RefusesMnistFilesUnderFashionMnistNames) {
  // Any other gzip content under the right name is refused by checksum.
  testing::write_bytes(tmp.path() / "fake" / "train-images-idx3-ubyte.gz", testing::make_gzip("not fashion"));
  options.from = tmp.path() / "fake" / "train-images-idx3-ubyte.gz";
  try {
    fetch_dataset(dataset, cache, options, observer);
    FAIL() << "accepted";
  } catch (const Error& e) {
    std::string m = e.what();
    EXPECT_NE(m.find(" is not the registry's train-images-idx3-ubyte.gz: checksum mismatch: expected sha256 "),
              std::string::npos)
        << m;
    EXPECT_NE(m.find("its decompressed content does not match either"), std::string::npos) << m;
  }
}

}  // namespace
}  // namespace tito::data
