// The dataset registry: the course's own data/datasets.json, malformed
// registries, and where the registry and cache are found.
#include "data/registry.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include "common/scoped_env.hpp"
#include "util/error.hpp"

namespace tito::data {
namespace {

using tito::testing::ScopedEnv;

Registry course_registry() { return Registry::load(fs::path(TITO_SOURCE_DIR) / "data" / "datasets.json"); }

TEST(CourseRegistry, DescribesCifar10AsPublished) {
  Registry r = course_registry();
  const Dataset& d = r.find("cifar10");
  ASSERT_EQ(d.files.size(), 1u);
  const RemoteFile& f = d.files[0];
  EXPECT_EQ(f.name, "cifar-10-binary.tar.gz");
  EXPECT_EQ(f.size, 170052171u);
  EXPECT_EQ(f.md5, "c32a1d4ab5d03f1284b67883e8d87530");
  EXPECT_EQ(f.sha256, "c4a38c50a1bc5f3a1c5537f2155ab9d68f9f25eb1ed8d9ddda3db29a59bca1dd");
  EXPECT_EQ(f.unpack, Unpack::Archive);
  EXPECT_EQ(d.mirrors, std::vector<std::string>{"https://www.cs.toronto.edu/~kriz/"});
  EXPECT_EQ(d.dir, "cifar-10-batches-bin");
  std::vector<std::string> batches;
  for (const ContentFile& c : d.contents) {
    if (c.path == "batches.meta.txt") continue;
    EXPECT_EQ(c.size, 30730000u) << c.path;
    batches.push_back(c.path);
  }
  EXPECT_EQ(batches, (std::vector<std::string>{"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin",
                                               "data_batch_4.bin", "data_batch_5.bin", "test_batch.bin"}));
  EXPECT_EQ(d.classes.size(), 10u);
  EXPECT_EQ(d.format, "cifar10-binary");
}

TEST(CourseRegistry, DescribesMnistAndFashionMnistWithTheirPublishedMd5s) {
  Registry r = course_registry();
  const Dataset& mnist = r.find("mnist");
  const Dataset& fashion = r.find("fashion-mnist");
  std::vector<std::string> mnist_md5, fashion_md5, mnist_sizes;
  for (const RemoteFile& f : mnist.files) {
    mnist_md5.push_back(f.name + " " + f.md5);
    ASSERT_TRUE(f.content);
    mnist_sizes.push_back(f.content->path + " " + std::to_string(f.content->size));
  }
  for (const RemoteFile& f : fashion.files) {
    fashion_md5.push_back(f.name + " " + f.md5);
    ASSERT_TRUE(f.content);
    EXPECT_EQ(f.content->sha256.size(), 64u) << f.name;  // Fashion-MNIST is accepted by its content
  }
  EXPECT_EQ(mnist_md5, (std::vector<std::string>{"train-images-idx3-ubyte.gz f68b3c2dcbeaaa9fbdd348bbdeb94873",
                                                 "train-labels-idx1-ubyte.gz d53e105ee54ea40749a09fcbcd1e9432",
                                                 "t10k-images-idx3-ubyte.gz 9fb629c4189551a2d022fa330f9573f3",
                                                 "t10k-labels-idx1-ubyte.gz ec29112dd5afa0611ce80d1b7f02629c"}));
  EXPECT_EQ(mnist_sizes, (std::vector<std::string>{"train-images-idx3-ubyte 47040016", "train-labels-idx1-ubyte 60008",
                                                   "t10k-images-idx3-ubyte 7840016", "t10k-labels-idx1-ubyte 10008"}));
  EXPECT_EQ(fashion_md5, (std::vector<std::string>{"train-images-idx3-ubyte.gz 8d4fb7e6c68d591d4c3dfef9ec88bf0d",
                                                   "train-labels-idx1-ubyte.gz 25c81989df183df01b3e8a0aad5dffbe",
                                                   "t10k-images-idx3-ubyte.gz bef4ecab320f06d8554ea6380940ec79",
                                                   "t10k-labels-idx1-ubyte.gz bb300cfdad3c16e7a12a480ee83cd310"}));
  EXPECT_GE(mnist.mirrors.size(), 2u);
  EXPECT_GE(fashion.mirrors.size(), 2u);
  EXPECT_EQ(fashion.classes.at(9), "Ankle boot");
}

TEST(CourseRegistry, EveryMirrorEndsInASlash) {
  Registry r = course_registry();
  for (const Dataset& d : r.datasets()) {
    for (const std::string& m : d.mirrors) EXPECT_EQ(m.back(), '/') << d.name << " " << m;
  }
}

std::string parse_error(const std::string& text) {
  try {
    Registry::parse(text, "r.json");
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

TEST(RegistryParse, NamesTheDatasetAndTheFieldThatIsWrong) {
  EXPECT_EQ(parse_error("{\"datasets\": []}"),
            "r.json:1: a dataset registry is a JSON object with \"datasets\": {name: {...}}");
  EXPECT_EQ(parse_error(R"({"datasets": {"x": {"title": "X", "dir": "x"}}})"),
            "r.json:1: dataset 'x': \"files\" must list what to download");
  EXPECT_EQ(parse_error(R"({"datasets": {"x": {"title": "X", "dir": "x", "files": [{"name": "a", "sha256": "abc"}]}}})"),
            "r.json:1: dataset 'x': \"sha256\" must be 64 lower-case hex digits, not 'abc'");
  EXPECT_EQ(parse_error(R"({"datasets": {"x": {"title": "X", "dir": "x", "files": [{"name": "a", "size": 1, "unpack": "zip"}]}}})"),
            "r.json:1: dataset 'x': file 'a': \"unpack\" must be none, archive or gzip, not 'zip'");
  EXPECT_EQ(parse_error(R"({"datasets": {"x": {"title": "X", "dir": "x", "files": [{"name": "a.gz", "size": 1, "unpack": "gzip"}]}}})"),
            "r.json:1: dataset 'x': file 'a.gz': a gzip file needs \"content\" (the decompressed file's name, size, "
            "sha256)");
  EXPECT_EQ(parse_error(R"({"datasets": {"x": {"title": "X", "dir": "x", "files": [{"name": "../a", "size": 1}]}}})"),
            "r.json:1: dataset 'x': file name '../a' must be a plain file name");
  EXPECT_EQ(parse_error(R"({"datasets": {"x": {"title": "X", "dir": "../up", "files": [{"name": "a", "size": 1}]}}})"),
            "r.json:1: dataset 'x': \"dir\" must be a plain folder name, not '../up'");
  EXPECT_EQ(parse_error(R"({"datasets": {"x": {"title": "X", "dir": "x", "files": [{"name": "a"}]}}})"),
            "r.json:1: dataset 'x': file 'a' needs a checksum (sha256 or md5) or a size");
  EXPECT_EQ(parse_error(R"({"datasets": {"x": {"title": "X", "dir": "x", "mirrors": ["ftp://h/"], "files": [{"name": "a", "size": 1}]}}})"),
            "r.json:1: dataset 'x': mirror 'ftp://h/' must be an http(s) URL");
  EXPECT_EQ(parse_error(R"({"datasets": {"../x": {}}})"),
            "r.json:1: dataset '../x': not a usable dataset name (it names a cache folder)");
}

TEST(RegistryParse, ProblemsAreReportedAtTheLineOfTheirDatasetsField) {
  std::string text =
      "{\n"
      "  \"datasets\": {\n"
      "    \"good\": {\"title\": \"G\", \"dir\": \"g\", \"files\": [{\"name\": \"a\", \"size\": 1}]},\n"
      "    \"bad\": {\n"
      "      \"title\": \"B\",\n"
      "      \"dir\": \"b\",\n"
      "      \"files\": [{\"name\": \"a\", \"size\": -1}]\n"
      "    }\n"
      "  }\n"
      "}\n";
  EXPECT_EQ(parse_error(text), "r.json:7: dataset 'bad': \"size\" must be a whole number of bytes");
}

TEST(RegistryParse, MalformedRegistriesAreErrorsAtTheirLineNeverACrash) {
  EXPECT_EQ(parse_error("{\n  \"datasets\": {,}\n}\n"),
            "r.json:2: invalid JSON: syntax error while parsing object key - unexpected ','; expected string literal");
  // Nested 100,000 arrays deep: once a segfault (exit 139) of `tito data list`.
  std::string deep = std::string(100000, '[') + std::string(100000, ']');
  EXPECT_EQ(parse_error("{\"datasets\": {\"x\": {\"extra\":\n" + deep + "}}}"),
            "r.json:2: nested more than 32 levels deep; this file needs a few at most");
  // Once "internal error ... please report this", exit 70.
  EXPECT_EQ(parse_error("{\"datasets\": {\"x\": {\"title\": \"X\", \"dir\": \"x\",\n\"files\": [{\"name\": \"a\", \"size\": 1e400}]}}}"),
            "r.json:2: the number 1e400 is too large (no field here needs more than a few digits)");
  EXPECT_EQ(parse_error(std::string("{\"datasets\": {}}\n\0garbage", 26)),
            "r.json:2: a NUL byte: a JSON file is text; is this the right file?");
  // Found by bench/fuzz: a name written with an escape is still reported at a line.
  EXPECT_EQ(parse_error("{\n  \"datasets\": {\n    \"a\\u0000b\": 1\n  }\n}\n"),
            "r.json:2: dataset 'a\\x00b': not a usable dataset name (it names a cache folder)");
  EXPECT_EQ(parse_error("{\"datasets\": {}} {}"),
            "r.json:1: invalid JSON: syntax error while parsing value - unexpected '{'; expected end of input");
}

TEST(RegistryParse, AddsTheSlashThatAMirrorLacks) {
  Registry r = Registry::parse(
      R"({"datasets": {"x": {"title": "X", "dir": "x", "mirrors": ["https://h/p"], "files": [{"name": "a", "size": 1}]}}})",
      "r.json");
  EXPECT_EQ(r.find("x").mirrors, std::vector<std::string>{"https://h/p/"});
}

TEST(RegistryFind, ListsTheKnownDatasetsForAnUnknownName) {
  Registry r = course_registry();
  try {
    r.find("imagenet");
    FAIL() << "found";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "no dataset called 'imagenet' in " + r.origin() +
                                         " (known: cifar10, mnist, fashion-mnist)");
    EXPECT_EQ(e.exit_code(), kExitUsage);
  }
}


TEST(ResolveLocations, OptionBeatsEnvironmentBeatsCourse) {
  ScopedEnv reg("TITO_REGISTRY", "/env/registry.json");
  ScopedEnv cache("TITO_DATA_DIR", nullptr);
  DataLocations l = resolve_locations(fs::path("/course"), "", "");
  EXPECT_EQ(l.registry, "/env/registry.json");
  EXPECT_EQ(l.cache, "/course/data/cache");
  l = resolve_locations(fs::path("/course"), "/opt/r.json", "/opt/cache");
  EXPECT_EQ(l.registry, "/opt/r.json");
  EXPECT_EQ(l.cache, "/opt/cache");
}

TEST(ResolveLocations, OutsideACourseSaysWhatToPass) {
  ScopedEnv reg("TITO_REGISTRY", nullptr);
  ScopedEnv cache("TITO_DATA_DIR", nullptr);
  try {
    resolve_locations(std::nullopt, "", "/tmp/cache");
    FAIL() << "resolved";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()),
              "not inside a TinyTorch course, so there is no dataset registry: run this in the course folder (or "
              "pass --root DIR), or pass --registry FILE (or set TITO_REGISTRY)");
    EXPECT_EQ(e.exit_code(), kExitUsage);
  }
  EXPECT_THROW(resolve_locations(std::nullopt, "/r.json", ""), Error);
  EXPECT_NO_THROW(resolve_locations(std::nullopt, "/r.json", "/c"));
}

}  // namespace
}  // namespace tito::data
