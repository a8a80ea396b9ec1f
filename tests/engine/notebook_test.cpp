#include "engine/notebook.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "engine/temp_course.hpp"
#include "util/fs.hpp"

namespace tito {
namespace {

TEST(Notebook, CellsKeepTheirKindsTextAndDirectives) {
  std::string dev =
      "// %% [markdown]\n// # Title\n//\n// Some *text*.\n\n"
      "// %%\n//| default_exp a\n\n"
      "// %%\n//| export\nint f();\n";
  nlohmann::json nb = nlohmann::json::parse(dev_file_to_notebook(dev, "modules/01_a/a_dev.cpp"));
  EXPECT_EQ(nb["nbformat"], 4);
  EXPECT_EQ(nb["nbformat_minor"], 5);
  EXPECT_EQ(nb["metadata"]["kernelspec"]["name"], "xcpp20");
  ASSERT_EQ(nb["cells"].size(), 3u);
  EXPECT_EQ(nb["cells"][0]["cell_type"], "markdown");
  EXPECT_EQ(nb["cells"][0]["source"], nlohmann::json({"# Title\n", "\n", "Some *text*."}));
  EXPECT_EQ(nb["cells"][1]["cell_type"], "code");
  EXPECT_EQ(nb["cells"][1]["source"], nlohmann::json({"//| default_exp a"}));
  EXPECT_EQ(nb["cells"][2]["source"], nlohmann::json({"//| export\n", "int f();"}));
  EXPECT_EQ(nb["cells"][2]["outputs"], nlohmann::json::array());
  EXPECT_TRUE(nb["cells"][2]["execution_count"].is_null());
}

// The kernel the notebook names speaks the standard the course is compiled
// with, and the metadata says what running it in that kernel takes.
TEST(Notebook, NamesAKernelOfTheCoursesCxxStandardAndSaysItsLimitation) {
  std::string cmake = read_file(fs::path(TITO_SOURCE_DIR) / "CMakeLists.txt");
  std::size_t at = cmake.find("set(CMAKE_CXX_STANDARD ");
  ASSERT_NE(at, std::string::npos);
  std::string standard = cmake.substr(at + 23, cmake.find(')', at) - at - 23);
  nlohmann::json nb = nlohmann::json::parse(dev_file_to_notebook("// %%\n//| default_exp a\n", "a_dev.cpp"));
  const nlohmann::json& meta = nb["metadata"];
  EXPECT_EQ(meta["kernelspec"]["display_name"], "C++" + standard + " (xcpp)");
  EXPECT_EQ(meta["kernelspec"]["language"], "cpp");
  EXPECT_EQ(meta["kernelspec"]["name"], "xcpp" + standard);
  EXPECT_EQ(meta["language_info"]["version"], standard);
  EXPECT_EQ(meta["tinytorch"]["cxx_standard"], "c++" + standard);
  EXPECT_EQ(meta["tinytorch"]["limitation"], std::string(kNotebookLimitation));
  EXPECT_NE(std::string(kNotebookLimitation).find("C++" + standard), std::string::npos);
}

TEST(Notebook, AMalformedDevFileIsAnError) {
  EXPECT_EQ(testing::diagnostics_of([] { dev_file_to_notebook("// %%\n//| exprot\n", "x_dev.cpp"); }),
            "x_dev.cpp:2: unknown directive '//| exprot' (did you mean '//| export'?); known: default_exp, export, "
            "export impl, test, demo, hide\n    //| exprot");
}

}  // namespace
}  // namespace tito
