// make_zip: what Python's zipfile (an independent reader) finds in the bytes,
// what tito's own extraction makes of them, and that equal entries give
// equal bytes.
#include "data/zip.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "data/extract.hpp"
#include "util/fs.hpp"
#include "util/process.hpp"

namespace tito::data {
namespace {

const std::vector<ZipEntry> kEntries = {
    {"run_autograder", "#!/usr/bin/env bash\necho hi\n", true},
    {"course/modules/01_tiny/tiny_dev.cpp", std::string(100000, 'x') + "\nend\n", false},
    {"empty.txt", "", false},
    {"ünïcode/naïve.txt", "naïve\n", false},
};

TEST(MakeZip, PythonsZipfileReadsEveryEntryWithItsBytesAndMode) {
  TempDir tmp("tito-zip-test");
  write_file_atomic(tmp.path() / "a.zip", make_zip(kEntries));
  ProcessResult r = run_process({"python3", "-c",
                                 "import sys, zipfile, hashlib\n"
                                 "z = zipfile.ZipFile(sys.argv[1])\n"
                                 "assert z.testzip() is None\n"
                                 "for i in z.infolist():\n"
                                 "    print(i.filename, oct((i.external_attr >> 16) & 0o777), len(z.read(i)),\n"
                                 "          hashlib.sha256(z.read(i)).hexdigest()[:12], i.compress_type)\n",
                                 (tmp.path() / "a.zip").string()});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output,
            // Lengths and SHA-256 prefixes computed apart from tito; 8 is deflate.
            "run_autograder 0o755 28 ea3bf4b4b4b3 8\n"
            "course/modules/01_tiny/tiny_dev.cpp 0o644 100005 4911fb06284e 8\n"
            "empty.txt 0o644 0 e3b0c44298fc 8\n"
            "ünïcode/naïve.txt 0o644 7 e5264d078fbc 8\n");
}

TEST(MakeZip, TitosExtractionGivesBackTheFilesAndTheExecutableBit) {
  TempDir tmp("tito-zip-test");
  write_file_atomic(tmp.path() / "a.zip", make_zip(kEntries));
  fs::create_directories(tmp.path() / "out");
  extract_archive(tmp.path() / "a.zip", tmp.path() / "out", nullptr);
  for (const ZipEntry& e : kEntries) {
    EXPECT_EQ(read_file(tmp.path() / "out" / e.path), e.content) << e.path;
    struct stat st {};
    ASSERT_EQ(::stat((tmp.path() / "out" / e.path).c_str(), &st), 0);
    EXPECT_EQ((st.st_mode & S_IXUSR) != 0, e.executable) << e.path;
  }
}

TEST(MakeZip, TheSameEntriesMakeTheSameBytesAndTheBigFileIsCompressed) {
  const std::string a = make_zip(kEntries);
  EXPECT_EQ(a, make_zip(kEntries));
  EXPECT_LT(a.size(), 5000u);  // 100 kB of one letter deflates to almost nothing
  std::vector<ZipEntry> other = kEntries;
  other[0].content += "#\n";
  EXPECT_NE(a, make_zip(other));
}

}  // namespace
}  // namespace tito::data
