// End-to-end: COURSE.md's "autograd arrives without rewrites", shown on the real course.
// A student who has written modules 01-04 (and not 05) passes their tests; then they write
// module 05, and module 05's tests, which differentiate module 03's layers and module 04's
// losses, pass too, while the files of modules 01-04 stay byte for byte as they were.
#include <gtest/gtest.h>

#include <cstdlib>

#include <nlohmann/json.hpp>

#include "e2e/course_copy.hpp"
#include "util/fs.hpp"

namespace tito::e2e {
namespace {

using json = nlohmann::json;

const std::vector<std::string> kBeforeAutograd = {"01_tensor", "02_activations", "03_layers", "04_losses"};

// The student's copy of one module's dev file, replaced by the instructor's (solutions in it).
void write_module(const fs::path& instructor, const fs::path& student, const std::string& folder) {
  for (const auto& entry : fs::directory_iterator(instructor / "modules" / folder)) {
    const std::string name = entry.path().filename().string();
    if (name.size() > 8 && name.ends_with("_dev.cpp")) fs::copy_file(entry.path(), student / "modules" / folder / name,
                                                                       fs::copy_options::overwrite_existing);
  }
}

json test_report(const fs::path& course, const std::vector<std::string>& modules, int* exit_code) {
  std::vector<std::string> args = {"test", "--json"};
  args.insert(args.end(), modules.begin(), modules.end());
  // Module 03's real-data test reads Fashion-MNIST: the course's own cache, unless one is set.
  std::map<std::string, std::string> env;
  const char* data = std::getenv("TITO_DATA_DIR");
  env["TITO_DATA_DIR"] = data != nullptr && *data != '\0' ? std::string(data) : (source_dir() / "data" / "cache").string();
  const TitoRun r = tito(args, course, env);
  *exit_code = r.exit_code;
  try {
    return json::parse(r.out);
  } catch (const json::exception&) {
    ADD_FAILURE() << "tito test --json printed no JSON:\n" << r.out << r.err;
    return json::object();
  }
}

TEST(AutogradContract, LayersAndLossesBecomeDifferentiableWithoutAnEdit) {
  for (const char* folder : {"01_tensor", "02_activations", "03_layers", "04_losses", "05_autograd"}) {
    if (!fs::exists(source_dir() / "modules" / folder / "module.json")) GTEST_SKIP() << "modules/" << folder << " is absent";
  }
  TempDir dir("tito-e2e-autograd-contract");
  const fs::path instructor = dir.path() / "instructor";
  const fs::path student = dir.path() / "student";
  make_course(instructor, {{"01_tensor", true}, {"02_activations", true}, {"03_layers", true}, {"04_losses", true},
                           {"05_autograd", true}});
  const TitoRun release = tito({"release", "--out", student.string()}, instructor);
  ASSERT_EQ(release.exit_code, 0) << release.err;

  // The student writes modules 01 to 04.
  for (const std::string& folder : kBeforeAutograd) write_module(instructor, student, folder);
  int code = -1;
  json before = test_report(student, kBeforeAutograd, &code);
  EXPECT_EQ(code, 0) << before.dump(2);
  EXPECT_EQ(before["ok"], true);
  std::map<std::string, std::string> written;
  for (const std::string& folder : kBeforeAutograd) {
    for (const auto& [path, content] : snapshot(student / "modules" / folder)) written[folder + "/" + path] = content;
  }

  // Module 05 is not written yet: its tests say so, and nothing else fails.
  json stubbed = test_report(student, {"autograd"}, &code);
  EXPECT_EQ(code, 1);
  ASSERT_EQ(stubbed["modules"].size(), 1u) << stubbed.dump(2);
  EXPECT_EQ(stubbed["modules"][0]["failed"], 0) << "no test of 05 fails with a wrong answer\n" << stubbed.dump(2);
  EXPECT_GT(stubbed["modules"][0]["not_implemented"].get<int>(), 40) << stubbed.dump(2);

  // The student writes module 05, and only module 05.
  write_module(instructor, student, "05_autograd");
  json after = test_report(student, {"autograd"}, &code);
  EXPECT_EQ(code, 0) << after.dump(2);
  EXPECT_EQ(after["ok"], true);
  EXPECT_GT(after["passed"].get<int>(), 0);
  std::map<std::string, std::string> now;
  for (const std::string& folder : kBeforeAutograd) {
    for (const auto& [path, content] : snapshot(student / "modules" / folder)) now[folder + "/" + path] = content;
  }
  EXPECT_EQ(now, written) << "modules 01-04 must not change when autograd arrives";

  // Module 05's suite differentiates module 03's layers and module 04's losses.
  bool layers = false;
  bool losses = false;
  for (const auto& test : after["modules"][0]["tests"]) {
    const std::string name = test.value("name", "");
    layers = layers || (name.find("AutogradLayers.") != std::string::npos && test.value("status", "") == "passed");
    losses = losses || (name.find("AutogradLosses.") != std::string::npos && test.value("status", "") == "passed");
  }
  EXPECT_TRUE(layers) << "module 05's tests of module 03's layers ran and passed\n" << after.dump(2);
  EXPECT_TRUE(losses) << "module 05's tests of module 04's losses ran and passed\n" << after.dump(2);
}

}  // namespace
}  // namespace tito::e2e
