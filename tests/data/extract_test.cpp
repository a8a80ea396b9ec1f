// extract_archive and gunzip_file: what lands where, and what is refused.
#include "data/extract.hpp"

#include <gtest/gtest.h>

#include "support.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"
#include "util/hash.hpp"

namespace tito::data {
namespace {

using testing::TarEntry;

class Extract : public ::testing::Test {
 protected:
  TempDir tmp{"tito-extract-test"};
  fs::path archive = tmp.path() / "archive.tar.gz";
  fs::path dest = tmp.path() / "out";

  void SetUp() override { fs::create_directories(dest); }

  // The error extract_archive throws for `entries`, or "no error".
  std::string refusal(const std::vector<TarEntry>& entries) {
    testing::write_bytes(archive, testing::make_tar_gz(entries));
    try {
      extract_archive(archive, dest, nullptr);
    } catch (const Error& e) {
      return e.what();
    }
    return "no error";
  }

  // Everything under the temporary folder except the archive and dest itself.
  std::vector<std::string> outside_dest() const {
    std::vector<std::string> out;
    for (const auto& e : fs::recursive_directory_iterator(tmp.path())) {
      fs::path rel = e.path().lexically_relative(tmp.path());
      if (rel == "archive.tar.gz" || rel == "out" || *rel.begin() == "out") continue;
      out.push_back(rel.string());
    }
    return out;
  }
};

TEST_F(Extract, WritesFilesFoldersAndInnerLinks) {
  testing::write_bytes(archive, testing::make_tar_gz({
                                    {TarEntry::Dir, "./top/", "", ""},
                                    {TarEntry::File, "./top/a.bin", "alpha", ""},
                                    {TarEntry::File, "top/sub//b.txt", "beta", ""},
                                    {TarEntry::Symlink, "top/latest", "", "a.bin"},
                                    {TarEntry::Hardlink, "top/again.bin", "", "top/a.bin"},
                                }));
  ExtractStats stats = extract_archive(archive, dest, nullptr);
  EXPECT_EQ(stats.entries, 5u);
  EXPECT_EQ(stats.bytes, 9u);
  EXPECT_EQ(read_file(dest / "top/a.bin"), "alpha");
  EXPECT_EQ(read_file(dest / "top/sub/b.txt"), "beta");
  EXPECT_EQ(fs::read_symlink(dest / "top/latest"), "a.bin");
  EXPECT_EQ(read_file(dest / "top/again.bin"), "alpha");
  EXPECT_TRUE(outside_dest().empty());
}

TEST_F(Extract, RefusesAnAbsolutePath) {
  EXPECT_EQ(refusal({{TarEntry::File, "/tmp/tito-evil", "x", ""}}),
            "refusing to extract archive.tar.gz: entry '/tmp/tito-evil' has an absolute path; an archive from the "
            "registry never does this, so it is damaged or malicious");
  EXPECT_FALSE(fs::exists("/tmp/tito-evil"));
}

TEST_F(Extract, RefusesDotDot) {
  EXPECT_EQ(refusal({{TarEntry::File, "ok.txt", "fine", ""}, {TarEntry::File, "a/../../evil.txt", "x", ""}}),
            "refusing to extract archive.tar.gz: entry 'a/../../evil.txt' has '..' in its path and would land "
            "outside the folder; an archive from the registry never does this, so it is damaged or malicious");
  EXPECT_TRUE(outside_dest().empty());
}

TEST_F(Extract, RefusesASymlinkLeavingTheFolder) {
  EXPECT_EQ(refusal({{TarEntry::Symlink, "escape", "", "../outside"}}),
            "refusing to extract archive.tar.gz: entry 'escape' is a symbolic link with '..' (../outside) that can "
            "leave the folder; an archive from the registry never does this, so it is damaged or malicious");
  EXPECT_EQ(refusal({{TarEntry::Symlink, "etc", "", "/etc"}}),
            "refusing to extract archive.tar.gz: entry 'etc' is a symbolic link to the absolute path /etc; an archive "
            "from the registry never does this, so it is damaged or malicious");
  EXPECT_TRUE(outside_dest().empty());
}

TEST_F(Extract, RefusesAWriteThroughASymlinkThatWouldLeave) {
  // The classic two-step: a link to a folder outside, then a file "inside" the link.
  std::string message = refusal({{TarEntry::Symlink, "dir", "", "../.."}, {TarEntry::File, "dir/evil.txt", "x", ""}});
  EXPECT_NE(message.find("entry 'dir' is a symbolic link with '..'"), std::string::npos) << message;
  EXPECT_TRUE(outside_dest().empty());
}

TEST_F(Extract, RefusesAHardLinkToAFileOutside) {
  EXPECT_EQ(refusal({{TarEntry::Hardlink, "passwd", "", "../../etc/passwd"}}),
            "refusing to extract archive.tar.gz: entry 'passwd' has '..' in its link target and would land outside "
            "the folder; an archive from the registry never does this, so it is damaged or malicious");
  EXPECT_EQ(refusal({{TarEntry::Hardlink, "shadow", "", "/etc/shadow"}}),
            "refusing to extract archive.tar.gz: entry 'shadow' has an absolute link target; an archive from the "
            "registry never does this, so it is damaged or malicious");
}

TEST_F(Extract, RefusesDeviceFilesFifosAndSockets) {
  EXPECT_EQ(refusal({{TarEntry::CharDevice, "null", "", ""}}),
            "refusing to extract archive.tar.gz: entry 'null' is a device file; an archive from the registry never "
            "does this, so it is damaged or malicious");
  EXPECT_EQ(refusal({{TarEntry::BlockDevice, "sda", "", ""}}),
            "refusing to extract archive.tar.gz: entry 'sda' is a device file; an archive from the registry never "
            "does this, so it is damaged or malicious");
  EXPECT_EQ(refusal({{TarEntry::Fifo, "pipe", "", ""}}),
            "refusing to extract archive.tar.gz: entry 'pipe' is a FIFO; an archive from the registry never does "
            "this, so it is damaged or malicious");
  EXPECT_FALSE(fs::exists(dest / "null"));
  EXPECT_FALSE(fs::exists(dest / "pipe"));
}

TEST_F(Extract, ReportsATruncatedArchive) {
  std::string whole = testing::cifar_archive(30);
  testing::write_bytes(archive, whole.substr(0, whole.size() * 6 / 10));
  try {
    extract_archive(archive, dest, nullptr);
    FAIL() << "a truncated archive was accepted";
  } catch (const Error& e) {
    std::string m = e.what();
    EXPECT_EQ(m.rfind("cannot extract archive.tar.gz: ", 0), 0u) << m;
    EXPECT_NE(m.find("(the archive is damaged or truncated)"), std::string::npos) << m;
  }
}

TEST_F(Extract, ReportsSomethingThatIsNoArchive) {
  testing::write_bytes(archive, std::string(5000, 'x'));
  EXPECT_THROW(extract_archive(archive, dest, nullptr), Error);
}

TEST_F(Extract, StopsWhenCancelled) {
  testing::write_bytes(archive, testing::cifar_archive(5));
  std::atomic<bool> cancel{true};
  try {
    extract_archive(archive, dest, &cancel);
    FAIL() << "not interrupted";
  } catch (const Error& e) {
    EXPECT_EQ(e.exit_code(), kExitInterrupted);
  }
}

TEST(Gunzip, DecompressesMeasuresAndHashes) {
  TempDir tmp("tito-gunzip-test");
  std::string content(100000, '\0');
  for (std::size_t i = 0; i < content.size(); ++i) content[i] = static_cast<char>(i * 7 % 251);
  testing::write_bytes(tmp.path() / "x.gz", testing::make_gzip(content));
  Gunzipped g = gunzip_file(tmp.path() / "x.gz", tmp.path() / "x", nullptr);
  EXPECT_EQ(g.size, content.size());
  EXPECT_EQ(g.sha256, sha256_hex(content));
  EXPECT_EQ(read_file(tmp.path() / "x"), content);
  Gunzipped measured = gunzip_file(tmp.path() / "x.gz", "", nullptr);
  EXPECT_EQ(measured.sha256, g.sha256);
}

TEST(Gunzip, RefusesAFileThatIsNotGzip) {
  TempDir tmp("tito-gunzip-test");
  testing::write_bytes(tmp.path() / "x.gz", "plain text, not compressed\n");
  try {
    gunzip_file(tmp.path() / "x.gz", "", nullptr);
    FAIL() << "accepted";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "cannot decompress x.gz: it is not a gzip file");
  }
}

TEST(Gunzip, ReportsATruncatedFile) {
  TempDir tmp("tito-gunzip-test");
  std::string content(200000, '\0');
  for (std::size_t i = 0; i < content.size(); ++i) content[i] = static_cast<char>((i * i) % 253);
  std::string gz = testing::make_gzip(content);
  testing::write_bytes(tmp.path() / "x.gz", gz.substr(0, gz.size() / 2));
  EXPECT_THROW(gunzip_file(tmp.path() / "x.gz", "", nullptr), Error);
}

}  // namespace
}  // namespace tito::data
