// End-to-end: a student's path to the MLP milestone, on the real data. In a
// copy of the course with the real modules 01-08 (solutions in place: what a
// student who finished module 08 has) and the real milestones, Fashion-MNIST is
// imported from Debian's files into the copy's own cache, and
// `tito milestone run mlp --quick` must learn: exit 0, a test accuracy far
// above chance on the slice of the test set a quick run reads, and a CSV log
// and a curves PNG that are what they claim to be.
//
// TITO_DATA_DIR is cleared, so every reader (module tests, the milestone) has
// to find the copy's cache, <copy>/data/cache, by itself.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <sstream>

#include "e2e/course_copy.hpp"
#include "util/fs.hpp"

namespace tito::e2e {
namespace {

using ::testing::HasSubstr;
using json = nlohmann::json;

const std::vector<std::string> kModules = {"01_tensor",   "02_activations", "03_layers",   "04_losses",
                                           "05_autograd", "06_optimizers",  "07_training", "08_dataloader"};

// The milestones that need no module beyond kModules, and the harness.
const std::vector<std::string> kMilestones = {"common", "01_perceptron", "02_xor", "03_mlp"};

// The course's milestones (harness and programs) and its dataset registry, into the copy;
// only files whose content differs are written, so its build stays incremental.
void add_real_milestones(const fs::path& root) {
  const fs::path from = source_dir() / "milestones";
  for (const fs::directory_entry& e : fs::recursive_directory_iterator(from)) {
    if (!e.is_regular_file()) continue;
    const fs::path relative = e.path().lexically_relative(from);
    const bool in_a_folder = !relative.parent_path().empty();  // not milestones/README.md
    if (in_a_folder && std::find(kMilestones.begin(), kMilestones.end(), relative.begin()->string()) ==
                           kMilestones.end()) {
      continue;  // a later milestone, which needs modules the copy does not have
    }
    const fs::path to = root / "milestones" / relative;
    const std::string content = read_file(e.path());
    if (read_file_if_exists(to) != content) write_file_atomic(to, content);
  }
  for (const fs::directory_entry& e : fs::directory_iterator(root / "milestones")) {  // a copy made before
    if (e.is_directory() &&
        std::find(kMilestones.begin(), kMilestones.end(), e.path().filename().string()) == kMilestones.end()) {
      fs::remove_all(e.path());
    }
  }
  const std::string registry = read_file(source_dir() / "data" / "datasets.json");
  if (read_file_if_exists(root / "data" / "datasets.json") != registry) {
    write_file_atomic(root / "data" / "datasets.json", registry);
  }
}

std::vector<std::string> split(const std::string& text, char separator) {
  std::vector<std::string> parts;
  std::string part;
  std::istringstream in(text);
  while (std::getline(in, part, separator)) parts.push_back(part);
  if (!text.empty() && text.back() == separator) parts.push_back("");
  return parts;
}

uint32_t be32(const std::string& bytes, std::size_t at) {
  auto b = [&](std::size_t i) { return static_cast<uint32_t>(static_cast<unsigned char>(bytes[at + i])); };
  return b(0) << 24 | b(1) << 16 | b(2) << 8 | b(3);
}

TEST(RealMilestones, MlpQuickRunLearnsOnRealFashionMnistInAStudentsCopy) {
  for (const std::string& folder : kModules) {
    if (!fs::exists(source_dir() / "modules" / folder / "module.json"))
      GTEST_SKIP() << "modules/" << folder << " is absent";
  }
  if (!fs::exists(source_dir() / "milestones" / "03_mlp" / "milestone.json"))
    GTEST_SKIP() << "milestones/03_mlp is absent";
  ASSERT_TRUE(fs::exists(fs::path(FASHION_MNIST_DIR) / "t10k-images-idx3-ubyte.gz"))
      << FASHION_MNIST_DIR << " is missing: install Debian's dataset-fashion-mnist (scripts/deps)";

  std::vector<ModuleSource> modules;
  for (const std::string& folder : kModules) modules.push_back({folder, /*real=*/true});
  SharedCourse course("milestone-real-course", modules, add_real_milestones);
  ASSERT_EQ(course.prepared().exit_code, 0) << course.prepared().out << course.prepared().err;
  const fs::path root = course.root();
  const std::map<std::string, std::string> env = {{"TITO_DATA_DIR", ""}};

  // The data, as the student imports it: into the course's own cache.
  fs::remove_all(root / "data" / "cache");
  const TitoRun fetch = tito({"data", "fetch", "fashion-mnist", "--from", FASHION_MNIST_DIR}, root, env);
  ASSERT_EQ(fetch.exit_code, 0) << fetch.out << fetch.err;
  ASSERT_TRUE(fs::exists(root / "data" / "cache" / "fashion-mnist" / "idx" / "t10k-images-idx3-ubyte")) << fetch.err;

  const fs::path out = root / "build" / "milestones" / "03_mlp" / "quick";
  fs::remove_all(out);
  const TitoRun run = tito({"milestone", "run", "mlp", "--quick"}, root, env);
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  EXPECT_THAT(run.out, HasSubstr("✓ 03_mlp passed its quick validation"));

  json results = json::parse(read(out / "results.json"));
  EXPECT_EQ(results["mode"], "quick");
  EXPECT_EQ(results["met"], true);
  EXPECT_EQ(results["epochs"], 2);
  EXPECT_EQ(results["batches"], 40);
  EXPECT_EQ(results["checks"]["finite"], true);
  EXPECT_EQ(results["checks"]["grad_norms"], 40);
  // 20 batches of 128 of the real test set. Chance is 10%; a correct library reaches 67%
  // after 40 steps with the milestone's seed, a library that does not learn stays near 10%.
  EXPECT_EQ(results["metrics"]["test_images"], 2560);
  EXPECT_GT(results["metrics"]["test_accuracy"].get<double>(), 0.5) << results.dump(2);
  EXPECT_LT(results["checks"]["loss_end"].get<double>(), 0.6 * results["checks"]["loss_start"].get<double>())
      << results.dump(2);
  EXPECT_EQ(results["artifacts"], json::parse(R"(["log.csv", "curves.png", "losses.csv"])"));

  // The Trainer's log: its header and one row of 8 numbers per epoch.
  const std::vector<std::string> lines = split(read(out / "log.csv"), '\n');
  ASSERT_EQ(lines.size(), 4u) << read(out / "log.csv");  // header, 2 epochs, the empty piece after the last newline
  EXPECT_EQ(lines[0], "epoch,train_loss,train_accuracy,val_loss,val_accuracy,lr,seconds,examples_per_second");
  for (int epoch = 1; epoch <= 2; ++epoch) {
    const std::vector<std::string> fields = split(lines[static_cast<std::size_t>(epoch)], ',');
    ASSERT_EQ(fields.size(), 8u) << lines[static_cast<std::size_t>(epoch)];
    EXPECT_EQ(fields[0], std::to_string(epoch));
    for (const std::string& f : fields)
      EXPECT_NO_THROW((void)std::stod(f)) << "'" << f << "' in " << lines[static_cast<std::size_t>(epoch)];
    const double val_accuracy = std::stod(fields[4]);
    EXPECT_GT(val_accuracy, 0.3) << "validation accuracy of epoch " << epoch;
    EXPECT_LE(val_accuracy, 1.0);
  }

  // The curves: a PNG (signature, then an IHDR chunk) of the Trainer's 1000 x 420 figure.
  const std::string png = read(out / "curves.png");
  ASSERT_GT(png.size(), 33u);
  EXPECT_EQ(png.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
  EXPECT_EQ(png.substr(12, 4), "IHDR");
  EXPECT_EQ(be32(png, 16), 1000u);
  EXPECT_EQ(be32(png, 20), 420u);
  EXPECT_EQ(png.substr(png.size() - 8, 4), "IEND") << "the PNG is cut short";

  // The harness's record of every batch.
  EXPECT_EQ(split(read(out / "losses.csv"), '\n').size(), 42u);  // header, 40 batches, ""
}

}  // namespace
}  // namespace tito::e2e
