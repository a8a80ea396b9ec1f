#include "util/env.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <optional>
#include <string>

#include "common/scoped_env.hpp"
#include "engine/temp_course.hpp"

namespace tito {
namespace {

using testing::diagnostics_of;
using testing::ScopedEnv;

TEST(Env, StringIsEmptyWhenUnset) {
  ScopedEnv unset("TITO_TEST_VAR", nullptr);
  EXPECT_EQ(env_string("TITO_TEST_VAR"), "");
  ScopedEnv set("TITO_TEST_VAR", "value");
  EXPECT_EQ(env_string("TITO_TEST_VAR"), "value");
}

TEST(Env, FlagIsOffForUnsetEmptyZeroAndFalse) {
  for (const char* off : {static_cast<const char*>(nullptr), "", "0", "false"}) {
    ScopedEnv v("TITO_TEST_VAR", off);
    EXPECT_FALSE(env_flag("TITO_TEST_VAR")) << (off ? off : "(unset)");
  }
  for (const char* on : {"1", "true", "yes"}) {
    ScopedEnv v("TITO_TEST_VAR", on);
    EXPECT_TRUE(env_flag("TITO_TEST_VAR")) << on;
  }
}

TEST(Env, CountIsAWholeNumberOrAUsageErrorNamingTheVariable) {
  {
    ScopedEnv v("TITO_TEST_VAR", nullptr);
    EXPECT_EQ(env_count("TITO_TEST_VAR", 7), 7);
  }
  {
    ScopedEnv v("TITO_TEST_VAR", "42");
    EXPECT_EQ(env_count("TITO_TEST_VAR", 7), 42);
  }
  for (const char* bad : {"-1", "ten", "3s", " 4", "99999999999999999999999"}) {
    ScopedEnv v("TITO_TEST_VAR", bad);
    EXPECT_EQ(diagnostics_of([] { env_count("TITO_TEST_VAR", 7); }),
              std::string("TITO_TEST_VAR must be a whole number of at least 0, not '") + bad + "'");
    try {
      env_count("TITO_TEST_VAR", 7);
    } catch (const Error& e) {
      EXPECT_EQ(e.exit_code(), kExitUsage);
    }
  }
}

}  // namespace
}  // namespace tito
