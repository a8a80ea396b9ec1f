// Tests for module 09 (spatial): the public API of <tinytorch/core/spatial.hpp>.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <tinytorch/core/spatial.hpp>
#include <tinytorch/testing.hpp>

namespace {

using namespace tinytorch;

TEST(SpatialPlaceholder, OutputSize) { EXPECT_EQ(conv_output_size(5, 3, 1, 0), 3); }

}  // namespace
