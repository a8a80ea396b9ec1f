// SKELETON: the module's author replaces this file.
#include <gtest/gtest.h>

#include <tinytorch/core/training.hpp>

namespace {

class Two : public tinytorch::data::BatchSource {
 public:
  int64_t num_batches() const override { return 2; }
  int64_t num_examples() const override { return 4; }
  void start_epoch(int64_t) override {}
  tinytorch::data::Example batch(int64_t) override { return {tinytorch::ones({2, 3}), tinytorch::zeros({2})}; }
};

TEST(TrainingSkeleton, ABatchSourceGivesExamples) {
  Two source;
  EXPECT_EQ(source.batch(0).data.shape(), (tinytorch::Shape{2, 3}));
}

}  // namespace
