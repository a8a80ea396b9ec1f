// One test on a real course module: modules/01_tensor, synced, built and
// tested by tito as the instructor would (solutions in place: all pass).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "e2e/course_copy.hpp"

namespace tito::e2e {
namespace {

using json = nlohmann::json;

TEST(RealCourse, TensorModuleBuildsAndPassesItsTests) {
  fs::path module = source_dir() / "modules" / "01_tensor";
  if (!fs::exists(module / "module.json") || !fs::exists(module / "tensor_dev.cpp")) {
    GTEST_SKIP() << "modules/01_tensor is not there yet (needs module.json and tensor_dev.cpp)";
  }
  SharedCourse course("tensor-course", {{"01_tensor", /*real=*/true}});
  if (course.prepared().exit_code != 0) {
    GTEST_SKIP() << "modules/01_tensor does not sync or compile yet:\n" << course.prepared().err;
  }
  TitoRun r = tito({"test", "tensor", "--json"}, course.root());
  json report;
  ASSERT_NO_THROW(report = json::parse(r.out)) << r.out << r.err;
  ASSERT_EQ(report["modules"].size(), 1u);
  if (report["modules"][0]["outcome"] == "build failed") {
    GTEST_SKIP() << "the tests of modules/01_tensor do not compile yet:\n"
                 << report["modules"][0]["build_output"].get<std::string>();
  }
  EXPECT_EQ(r.exit_code, 0) << report.dump(2);
  EXPECT_EQ(report["ok"], true);
  EXPECT_GT(report["total"].get<int>(), 0);
  EXPECT_EQ(report["total"], report["passed"]);
}

}  // namespace
}  // namespace tito::e2e
