// One test on a real course module: modules/01_tensor, synced, built and
// tested by tito as the instructor would (solutions in place: all pass).
// Skipped only while the module does not exist; a module that is there but
// does not sync, compile or pass is a failure.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "e2e/course_copy.hpp"

namespace tito::e2e {
namespace {

using json = nlohmann::json;

TEST(RealCourse, TensorModuleBuildsAndPassesItsTests) {
  fs::path module = source_dir() / "modules" / "01_tensor";
  if (!fs::exists(module)) GTEST_SKIP() << "modules/01_tensor is not part of the course (yet)";
  SharedCourse course("tensor-course", {{"01_tensor", /*real=*/true}});
  ASSERT_EQ(course.prepared().exit_code, 0) << "modules/01_tensor does not sync or compile:\n"
                                            << course.prepared().err;
  TitoRun r = tito({"test", "tensor", "--json"}, course.root());
  json report;
  ASSERT_NO_THROW(report = json::parse(r.out)) << r.out << r.err;
  ASSERT_EQ(report["modules"].size(), 1u) << report.dump(2);
  const json& m = report["modules"][0];
  ASSERT_EQ(m["outcome"], "tested") << m.value("build_output", std::string());
  EXPECT_EQ(r.exit_code, 0) << report.dump(2);
  EXPECT_EQ(report["ok"], true);
  EXPECT_GT(report["total"].get<int>(), 0);
  EXPECT_EQ(report["total"], report["passed"]);
}

}  // namespace
}  // namespace tito::e2e
