#include "engine/builder.hpp"

#include <gtest/gtest.h>

#include "engine/temp_course.hpp"

namespace tito {
namespace {

TEST(Builder, ToolOutputNamesCourseFilesAsTheStudentKnowsThem) {
  testing::TempCourse course;
  course.add_module("01_tiny", {}, "// %%\n//| default_exp tiny\n");
  Course c = Course::open(course.root());
  Progress quiet;
  Builder builder(c, course.root() / "build", quiet);
  std::string root = course.root().string();
  EXPECT_EQ(builder.relative_paths(root + "/modules/01_tiny/tiny_dev.cpp:3:1: error: x\n"),
            "modules/01_tiny/tiny_dev.cpp:3:1: error: x\n");
  EXPECT_EQ(builder.relative_paths("In file included from a.h:1,\n                 from ../modules/01_tiny/tests/t.cpp:2:\n"),
            "In file included from a.h:1,\n                 from modules/01_tiny/tests/t.cpp:2:\n");
  // Only paths into the course lose their "../".
  EXPECT_EQ(builder.relative_paths("see ../elsewhere/x.cpp and x/../modules/y\n"), "see ../elsewhere/x.cpp and x/../modules/y\n");
}

}  // namespace
}  // namespace tito
