// The dataset lock: taken, waited for, and never leaking its descriptor.
#include "data/lock.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <stdexcept>

#include "data/observer.hpp"
#include "support.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"

namespace tito::data {
namespace {

using namespace std::chrono_literals;

std::size_t open_descriptors() {
  std::size_t n = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator("/proc/self/fd")) ++n;
  return n;
}

class ThrowingObserver : public FetchObserver {
 public:
  void notice(const std::string& message) override { throw std::runtime_error("observer gave up: " + message); }
};

TEST(DatasetLock, ASecondHolderWaitsThenTimesOutNamingTheHolder) {
  TempDir cache("tito-lock-test");
  testing::RecordingObserver observer;
  DatasetLock first(cache.path(), "cifar10", 1s, nullptr, observer);
  EXPECT_FALSE(first.waited());
  try {
    DatasetLock second(cache.path(), "cifar10", 100ms, nullptr, observer);
    ADD_FAILURE() << "the second lock was taken while the first was held";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("tito (process " + std::to_string(::getpid()) + ") still holds the lock on cifar10"),
              std::string::npos)
        << e.what();
  }
  EXPECT_EQ(observer.notices(),
            std::vector<std::string>{"tito (process " + std::to_string(::getpid()) +
                                     ") is working on cifar10; waiting for it to finish"});
}

TEST(DatasetLock, NoDescriptorLeaksWhenTheObserverThrowsWhileWaiting) {
  TempDir cache("tito-lock-test");
  testing::RecordingObserver quiet;
  DatasetLock holder(cache.path(), "mnist", 1s, nullptr, quiet);
  std::size_t before = open_descriptors();
  ThrowingObserver throwing;
  EXPECT_THROW(DatasetLock(cache.path(), "mnist", 1s, nullptr, throwing), std::runtime_error);
  EXPECT_EQ(open_descriptors(), before);
}

TEST(DatasetLock, IsFreedWhenItsHolderGoesAway) {
  TempDir cache("tito-lock-test");
  testing::RecordingObserver observer;
  { DatasetLock first(cache.path(), "mnist", 1s, nullptr, observer); }
  DatasetLock second(cache.path(), "mnist", 100ms, nullptr, observer);
  EXPECT_FALSE(second.waited());
  EXPECT_TRUE(observer.notices().empty());
}

}  // namespace
}  // namespace tito::data
