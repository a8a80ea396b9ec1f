// The benchmarks' verdicts are judged on bench::Runs' median.
#include "runs.hpp"

#include <gtest/gtest.h>

namespace tito::bench {
namespace {

TEST(BenchRuns, MedianIsTheMiddleRunNotTheBest) {
  Runs r;
  for (double v : {5.0, 1.0, 9.0, 3.0, 7.0}) r.add(v);
  EXPECT_EQ(r.median(), 5.0);
  EXPECT_EQ(r.best(), 1.0);
  EXPECT_EQ(r.worst(), 9.0);
  EXPECT_EQ(r.describe("%.1f", " s"), "5.0 s (best 1.0, worst 9.0, 5 runs)");
}

TEST(BenchRuns, MedianOfAnEvenCountIsTheMeanOfTheMiddleTwo) {
  Runs r;
  for (double v : {4.0, 1.0, 2.0, 100.0}) r.add(v);
  EXPECT_EQ(r.median(), 3.0);
  EXPECT_THROW(Runs().median(), std::logic_error);
}

}  // namespace
}  // namespace tito::bench
