// Tests for module 10 (profiling): the public API of <tinytorch/core/profiling.hpp>.
// No test asserts a speed: machines are noisy, so the timers are tested on fake clocks and
// synthetic samples, the cost formulas on numbers worked out by hand, the profiler on the
// names, counts, nesting and FLOPs of graphs whose ops are known, and the memory counter on
// allocations of known sizes. The integration tests profile a training step of the CNN
// milestone's network, one of them on the real Fashion-MNIST (a failure names the fetch command
// when it is missing).
// Linked with gtest_main, together with the quick tests in profiling_dev.cpp.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <tinytorch/core/profiling.hpp>
#include <tinytorch/testing.hpp>

namespace {

using namespace tinytorch;
namespace P = tinytorch::profiler;
namespace F = tinytorch::nn::functional;
namespace ds = tinytorch::data::datasets;
using P::Cost;
using P::EventKind;
using ::testing::HasSubstr;
using tinytorch::testing::error_message;

// The row of `rows` named `name`, or a test failure.
P::OpStats row(const std::vector<P::OpStats>& rows, const std::string& name) {
  for (const P::OpStats& r : rows) {
    if (r.name == name) return r;
  }
  ADD_FAILURE() << "no row named '" << name << "' in the profile";
  return P::OpStats{};
}

bool has_row(const std::vector<P::OpStats>& rows, const std::string& name) {
  return std::any_of(rows.begin(), rows.end(), [&](const P::OpStats& r) { return r.name == name; });
}

// The names of the top-level events of `kind`, in order.
std::vector<std::string> top_level(const std::vector<P::Event>& events, EventKind kind) {
  std::vector<std::string> names;
  for (const P::Event& e : events) {
    if (e.depth == 0 && e.kind == kind) names.push_back(e.name);
  }
  return names;
}

// The real Fashion-MNIST from the tito data cache, or a test failure that names the fetch command.
std::optional<ds::FashionMNIST> real_fashion_mnist(bool train) {
  return tinytorch::testing::real_dataset<ds::FashionMNIST, data::DatasetNotFound>(train);
}

// The CNN milestone's network.
nn::Sequential milestone_cnn() {
  return nn::Sequential(nn::Conv2d(1, 16, 5, 1, 2, true, 1), nn::ReLU(), nn::MaxPool2d(2),
                        nn::Conv2d(16, 32, 5, 1, 2, true, 2), nn::ReLU(), nn::MaxPool2d(2), nn::Flatten(),
                        nn::Linear(32 * 7 * 7, 10, true, 3));
}

Tensor class_labels(int64_t n) {
  std::vector<float> classes(static_cast<std::size_t>(n));
  for (std::size_t i = 0; i < classes.size(); ++i) classes[i] = static_cast<float>(i % 10);
  return Tensor(classes, {n});
}

// One training step with the ranges of demo 7.
void training_step(nn::Sequential& cnn, optim::Adam& adam, const Tensor& images, const Tensor& labels) {
  Tensor loss;
  {
    P::RecordFunction range("forward");
    loss = F::cross_entropy(cnn(images), labels);
  }
  {
    P::RecordFunction range("backward");
    adam.zero_grad();
    loss.backward();
  }
  {
    P::RecordFunction range("optimizer.step");
    adam.step();
  }
}

// ---------------------------------------------------------------------------------------
// Part 1: clocks, summaries, measure

TEST(ProfilingClocks, ProcessCpuTimeGrowsWithWorkInSeconds) {
  const double cpu0 = P::process_cpu_seconds(), wall0 = P::wall_seconds();
  volatile double sink = 0;
  while (P::wall_seconds() - wall0 < 0.05) sink = sink + std::sqrt(sink + 1.0);  // busy for 50 ms of wall time
  const double used = P::process_cpu_seconds() - cpu0;
  EXPECT_GT(used, 0.0) << "a busy loop used no CPU time: is this the process clock?";
  EXPECT_LT(used, 5.0) << "50 ms of work counted as " << used
                       << " s: tv_nsec is nanoseconds, multiply it by 1e-9 (not 1e-6)";
}

TEST(ProfilingClocks, SleepingCostsNoCpuTime) {
  const double cpu0 = P::process_cpu_seconds();
  std::this_thread::sleep_for(std::chrono::milliseconds(60));
  EXPECT_LT(P::process_cpu_seconds() - cpu0, 0.04)
      << "60 ms of sleep counted as CPU time: that is the wall clock, not CLOCK_PROCESS_CPUTIME_ID";
}

TEST(ProfilingSummarize, UnsortedSamples) {
  const P::Summary s = P::summarize({5, 1, 4, 2, 3});
  EXPECT_DOUBLE_EQ(s.median, 3) << "the middle of the *sorted* samples, not samples[n / 2]";
  EXPECT_DOUBLE_EQ(s.min, 1);
  EXPECT_DOUBLE_EQ(s.max, 5);
  EXPECT_DOUBLE_EQ(s.mean, 3);
  EXPECT_DOUBLE_EQ(s.spread(), 4);
  EXPECT_EQ(s.count, 5u);
}

TEST(ProfilingSummarize, EvenCountTakesTheMeanOfTheTwoMiddleOnes) {
  EXPECT_DOUBLE_EQ(P::summarize({10, 40, 20, 30}).median, 25) << "n even: (sorted[n/2 - 1] + sorted[n/2]) / 2";
  EXPECT_DOUBLE_EQ(P::summarize({7, 3}).median, 5);
}

TEST(ProfilingSummarize, OneOutlierMovesTheMeanNotTheMedian) {
  const P::Summary s = P::summarize({1, 1, 1, 1, 100});
  EXPECT_DOUBLE_EQ(s.median, 1);
  EXPECT_DOUBLE_EQ(s.mean, 20.8);
  EXPECT_DOUBLE_EQ(P::summarize({0.25}).median, 0.25) << "one sample is its own median";
}

TEST(ProfilingSummarize, NoSamplesIsAnError) {
  EXPECT_THAT(error_message<std::invalid_argument>([] { P::summarize({}); }), HasSubstr("no samples"));
}

TEST(ProfilingMeasure, SamplesComeFromTheClocksAroundEachRun) {
  double wall = 100, cpu = 0;
  int run = 0;
  // Run i (counting warm-ups) takes i seconds of wall time and half of it in CPU time.
  const P::Timing t = P::measure(
      [&] {
        ++run;
        wall += run;
        cpu += run / 2.0;
      },
      {.warmup = 2, .repeats = 4}, [&] { return wall; }, [&] { return cpu; });
  EXPECT_EQ(run, 6);
  EXPECT_EQ(t.wall, (std::vector<double>{3, 4, 5, 6})) << "warm-up runs are not timed; samples stay in run order";
  EXPECT_EQ(t.cpu, (std::vector<double>{1.5, 2, 2.5, 3})) << "the CPU samples come from the CPU clock";
  EXPECT_DOUBLE_EQ(P::summarize(t.wall).median, 4.5);
}

TEST(ProfilingMeasure, NoWarmUpAndOneRepeat) {
  int runs = 0;
  const P::Timing t = P::measure([&] { ++runs; }, {.warmup = 0, .repeats = 1});
  EXPECT_EQ(runs, 1);
  ASSERT_EQ(t.wall.size(), 1u);
  ASSERT_EQ(t.cpu.size(), 1u);
  EXPECT_GE(t.wall[0], 0.0) << "steady_clock never runs backwards";
}

TEST(ProfilingMeasure, BadOptionsAreErrors) {
  EXPECT_THAT(error_message<std::invalid_argument>([] { P::measure([] {}, {.warmup = 1, .repeats = 0}); }),
              HasSubstr("repeats"));
  EXPECT_THROW(P::measure([] {}, {.warmup = -1, .repeats = 3}), std::invalid_argument);
}

// ---------------------------------------------------------------------------------------
// Part 2: costs

TEST(ProfilingCosts, MatmulCountsAMultiplyAddAsTwo) {
  EXPECT_EQ(P::matmul_cost(1, 1, 1), (Cost{2, 12}));
  EXPECT_EQ(P::matmul_cost(32, 400, 12544),
            (Cost{2.0 * 32 * 400 * 12544, 4.0 * (32 * 400 + 400 * 12544 + 32 * 12544)}));
  EXPECT_EQ(P::matmul_cost(4096, 4096, 4096).flops, 2.0 * 4096 * 4096 * 4096) << "compute in double: no overflow";
  EXPECT_EQ(P::matmul_cost(100000, 100000, 100000).flops, 2e15)
      << "2·m·k·n overflows int32 and loses nothing in double";
}

TEST(ProfilingCosts, ElementwiseReadsEachInputAsItsOwnSize) {
  EXPECT_EQ(P::elementwise_cost({640, 10}, 640), (Cost{640, 4.0 * (640 + 10 + 640)}))
      << "a broadcast bias is read as its 10 floats, not 640";
  EXPECT_EQ(P::elementwise_cost({100}, 100, 3.0), (Cost{300, 800}));
  EXPECT_EQ(P::elementwise_cost({100}, 100, 0.0), (Cost{0, 800})) << "a copy moves bytes and computes nothing";
  EXPECT_EQ(P::elementwise_cost({}, 5), (Cost{5, 20}));
}

TEST(ProfilingCosts, Reductions) {
  EXPECT_EQ(P::reduction_cost(1000, 1), (Cost{1000, 4004}));
  EXPECT_EQ(P::reduction_cost(64 * 10, 64), (Cost{640, 4.0 * 704}));
}

TEST(ProfilingCosts, Im2colOfTheCnnLayers) {
  // conv1: [64, 1, 28, 28], kernel 5, padding 2 -> cols [25, 50176]
  EXPECT_EQ(P::im2col_cost({64, 1, 28, 28}, 5, 1, 2), (Cost{0, 4.0 * (50176 + 25.0 * 50176)}));
  // conv2: [64, 16, 14, 14] -> cols [400, 12544]
  EXPECT_EQ(P::im2col_cost({64, 16, 14, 14}, 5, 1, 2), (Cost{0, 4.0 * (200704 + 400.0 * 12544)}));
}

TEST(ProfilingCosts, Im2colOfNonSquareStridedImages) {
  // [2, 3, 7, 9], kernel 3, stride 2, padding 1: OH = 4, OW = 5, cols [27, 40]
  EXPECT_EQ(P::im2col_cost({2, 3, 7, 9}, 3, 2, 1), (Cost{0, 4.0 * (378 + 27 * 40)}))
      << "OH from the height (7), OW from the width (9)";
  EXPECT_EQ(P::col2im_cost({2, 3, 7, 9}, 3, 2, 1), (Cost{1080, 4.0 * (1080 + 378)}));
}

TEST(ProfilingCosts, Conv2dIsIm2colPlusOneMatmul) {
  EXPECT_EQ(P::conv2d_cost({64, 1, 28, 28}, 16, 5, 1, 2),
            P::im2col_cost({64, 1, 28, 28}, 5, 1, 2) + P::matmul_cost(16, 25, 50176));
  EXPECT_EQ(P::conv2d_cost({64, 16, 14, 14}, 32, 5, 1, 2).flops, 2.0 * 32 * 400 * 12544)
      << "the matmul [O, C·K·K] x [C·K·K, N·OH·OW]: the fan-in is C·K·K, not C";
}

TEST(ProfilingCosts, AShapeThatIsNotAnImageBatchIsNamed) {
  EXPECT_THAT(error_message<ShapeError>([] {
                P::im2col_cost({16, 14, 14}, 5, 1, 2);
              }),
              HasSubstr("im2col_cost(): expected an input shape [N, C, H, W], got [16, 14, 14]"));
  EXPECT_THAT(error_message<ShapeError>([] { P::conv2d_cost({1, 2}, 4, 3, 1, 0); }), HasSubstr("conv2d_cost()"));
}

TEST(ProfilingOpCost, OfRecordedOpsByKind) {
  const Tensor a = randn({6, 4}, 1), b = randn({4, 3}, 2), bias = randn({3}, 3);
  const Tensor y = a.matmul(b), z = y + bias, s = z.sum(1), c = z.clone();
  auto cost = [](const char* op, std::vector<Tensor> in, std::vector<int64_t> ints, const Tensor& out) {
    return P::op_cost(EventKind::op, op, in, ints, &out);
  };
  EXPECT_EQ(cost("matmul", {a, b}, {}, y), P::matmul_cost(6, 4, 3));
  EXPECT_EQ(cost("add", {y, bias}, {}, z), (Cost{18, 4.0 * (18 + 3 + 18)})) << "the bias is read as 3 floats";
  EXPECT_EQ(cost("sum_dim", {z}, {1, 0}, s), P::reduction_cost(18, 6));
  EXPECT_EQ(cost("clone", {z}, {}, c), (Cost{0, 4.0 * 36}));
  EXPECT_EQ(cost("transpose", {z}, {0, 1}, z.t()), Cost{}) << "a view moves no number";
  EXPECT_EQ(cost("log_softmax", {z}, {1}, z), (Cost{54, 4.0 * 36})) << "softmax counts 3 FLOPs per element";
  EXPECT_EQ(cost("no_such_op", {z}, {}, z), Cost{});
}

TEST(ProfilingOpCost, MatmulWithVectors) {
  const Tensor m = randn({5, 4}, 1), v = randn({4}, 2);
  const Tensor mv = m.matmul(v), vm = randn({5}, 3).matmul(m), vv = v.matmul(v);
  EXPECT_EQ(P::op_cost(EventKind::op, "matmul", std::vector<Tensor>{m, v}, {}, &mv), P::matmul_cost(5, 4, 1));
  EXPECT_EQ(P::op_cost(EventKind::op, "matmul", std::vector<Tensor>{randn({5}, 3), m}, {}, &vm),
            P::matmul_cost(1, 5, 4))
      << "a 1-D left operand is a row vector: m = 1, k = its size";
  EXPECT_EQ(P::op_cost(EventKind::op, "matmul", std::vector<Tensor>{v, v}, {}, &vv), P::matmul_cost(1, 4, 1));
}

TEST(ProfilingOpCost, WindowOpsAndTheirBackwardNodes) {
  const Tensor x = randn({2, 3, 8, 8}, 1);
  const Tensor cols = im2col(x, 3, 1, 1);
  const std::vector<Tensor> xs{x}, colss{cols};
  const std::vector<int64_t> window{3, 1, 1};
  EXPECT_EQ(P::op_cost(EventKind::op, "im2col", xs, window, &cols), P::im2col_cost({2, 3, 8, 8}, 3, 1, 1));
  const Tensor back = col2im(cols, x.shape(), 3, 1, 1);
  EXPECT_EQ(P::op_cost(EventKind::op, "col2im", colss, window, &back), P::col2im_cost({2, 3, 8, 8}, 3, 1, 1))
      << "col2im's image is its output";
  EXPECT_EQ(P::op_cost(EventKind::backward, "im2col", xs, window, &cols), P::col2im_cost({2, 3, 8, 8}, 3, 1, 1))
      << "im2col's backward node runs a col2im kernel itself";
  EXPECT_EQ(P::op_cost(EventKind::backward, "col2im", colss, window, &back), P::im2col_cost({2, 3, 8, 8}, 3, 1, 1));
  const Tensor pooled = F::max_pool2d(x, 2);  // [2, 3, 4, 4]: 96 outputs of 384 inputs
  const std::vector<int64_t> pool{2, 2};
  EXPECT_EQ(P::op_cost(EventKind::op, "max_pool2d", xs, pool, &pooled), (Cost{384, 4.0 * 384 + 12.0 * 96}));
  EXPECT_EQ(P::op_cost(EventKind::backward, "max_pool2d", xs, pool, &pooled), (Cost{0, 12.0 * 96 + 4.0 * 384}));
}

TEST(ProfilingOpCost, Module11sConvolutionIsOneOpAndItsBackwardOneOrTwoProducts) {
  const Tensor x = randn({2, 3, 8, 8}, 1), w = randn({4, 3, 3, 3}, 2);
  const Tensor out = F::conv2d(x, w, Tensor(), 1, 1);  // [2, 4, 8, 8]
  const std::vector<int64_t> args{1, 1};               // stride, padding
  const Cost forward = P::conv2d_cost({2, 3, 8, 8}, 4, 3, 1, 1);
  EXPECT_EQ(P::op_cost(EventKind::op, "conv2d", std::vector<Tensor>{x, w}, args, &out), forward);
  EXPECT_EQ(P::op_cost(EventKind::backward, "conv2d", std::vector<Tensor>{x, w}, args, &out), forward)
      << "data that needs no gradient: only the weight's gradient, im2col and a product as large as the forward's";
  const Tensor leaf_x = x.detach().clone().requires_grad_();
  EXPECT_EQ(P::op_cost(EventKind::backward, "conv2d", std::vector<Tensor>{leaf_x, w}, args, &out),
            forward + P::matmul_cost(27, 4, 128) + P::col2im_cost({2, 3, 8, 8}, 3, 1, 1))
      << "and the input's gradient: weight^T [27, 4] @ grad [4, 128], then col2im";
}

TEST(ProfilingOpCost, NodesMadeOfOpsRangesAndFailuresCostNothing) {
  const Tensor a = randn({6, 4}, 1), b = randn({4, 3}, 2), y = a.matmul(b);
  const std::vector<Tensor> ab{a, b};
  EXPECT_EQ(P::op_cost(EventKind::backward, "matmul", ab, {}, &y), Cost{})
      << "a matmul's backward node calls two matmuls, which are counted as ops: counting them here too counts twice";
  EXPECT_EQ(P::op_cost(EventKind::range, "forward", {}, {}, &y), Cost{});
  EXPECT_EQ(P::op_cost(EventKind::op, "matmul", ab, {}, nullptr), Cost{}) << "an op that threw has no output";
}

// ---------------------------------------------------------------------------------------
// Part 3: the event recorder, key_averages, the profiler

TEST(ProfilingRecorder, NestingDepthsParentsAndSelfTimes) {
  P::EventRecorder r;
  r.enter(EventKind::range, "step", 0);
  r.enter(EventKind::range, "forward", 1);
  r.enter(EventKind::op, "matmul", 2);
  r.enter(EventKind::op, "clone", 3);
  r.exit(5, {});
  r.exit(8, {});
  r.exit(9, {});
  r.enter(EventKind::backward, "matmul_backward", 10);
  r.exit(14, {});
  EXPECT_EQ(r.open(), 1u);
  r.exit(20, {});
  EXPECT_EQ(r.open(), 0u);
  const auto& e = r.events();
  ASSERT_EQ(e.size(), 5u);
  EXPECT_EQ((std::vector<int>{e[0].depth, e[1].depth, e[2].depth, e[3].depth, e[4].depth}),
            (std::vector<int>{0, 1, 2, 3, 1}));
  EXPECT_EQ((std::vector<int64_t>{e[0].parent, e[1].parent, e[2].parent, e[3].parent, e[4].parent}),
            (std::vector<int64_t>{-1, 0, 1, 2, 0}));
  EXPECT_DOUBLE_EQ(e[0].self, 20 - 8 - 4) << "step: 20 minus forward's 8 and matmul_backward's 4, its direct children";
  EXPECT_DOUBLE_EQ(e[1].self, 8 - 6) << "forward subtracts matmul's 6, not clone's 2 again";
  EXPECT_DOUBLE_EQ(e[2].self, 6 - 2);
  EXPECT_DOUBLE_EQ(e[3].self, 2);
  EXPECT_DOUBLE_EQ(e[4].self, 4);
  for (const P::Event& event : e) EXPECT_TRUE(event.closed) << event.name;
}

TEST(ProfilingRecorder, OpenEventsAreMarkedAndExitWithoutEnterIsAnError) {
  P::EventRecorder r;
  r.enter(EventKind::op, "matmul", 1);
  ASSERT_EQ(r.events().size(), 1u);
  EXPECT_FALSE(r.events()[0].closed);
  EXPECT_EQ(r.events()[0].kind, EventKind::op);
  EXPECT_DOUBLE_EQ(r.events()[0].start, 1);
  r.exit(3, {7, 8});
  EXPECT_EQ(r.events()[0].cost, (Cost{7, 8}));
  EXPECT_DOUBLE_EQ(r.events()[0].end, 3);
  EXPECT_THAT(error_message<std::logic_error>([&] { r.exit(4, {}); }), HasSubstr("without a matching enter"));
}

TEST(ProfilingKeyAverages, SumsPerNameSortsBySelfTimeAndSkipsOpenEvents) {
  P::EventRecorder r;
  r.enter(EventKind::op, "b_op", 0);
  r.exit(2, {1, 1});
  r.enter(EventKind::op, "a_op", 2);
  r.exit(4, {2, 2});
  r.enter(EventKind::op, "c_op", 4);
  r.exit(9, {});
  r.enter(EventKind::op, "b_op", 9);
  r.exit(10, {1, 1});
  r.enter(EventKind::op, "never_closed", 10);
  const std::vector<P::OpStats> rows = P::key_averages(r.events());
  ASSERT_EQ(rows.size(), 3u) << "an open event has no end: it is not in the averages";
  EXPECT_EQ(rows[0].name, "c_op");
  EXPECT_EQ(rows[1].name, "b_op") << "b_op's 2 + 1 = 3 s rank above a_op's 2 s";
  EXPECT_EQ(rows[1].calls, 2);
  EXPECT_DOUBLE_EQ(rows[1].self_seconds, 3);
  EXPECT_EQ(rows[1].cost, (Cost{2, 2}));
  EXPECT_EQ(rows[2].name, "a_op");
}

TEST(ProfilingKeyAverages, EqualSelfTimesAreOrderedByName) {
  P::EventRecorder r;
  for (const char* name : {"zeta", "alpha", "mid"}) {
    r.enter(EventKind::op, name, 0);
    r.exit(1, {});
  }
  const std::vector<P::OpStats> rows = P::key_averages(r.events());
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ((std::vector<std::string>{rows[0].name, rows[1].name, rows[2].name}),
            (std::vector<std::string>{"alpha", "mid", "zeta"}));
}

TEST(ProfilingKeyAverages, GroupedByCallerKeepsForwardAndBackwardMatmulsApart) {
  P::EventRecorder r;
  r.enter(EventKind::range, "forward", 0);
  r.enter(EventKind::op, "matmul", 0);
  r.exit(3, {10, 1});
  r.exit(4, {});
  r.enter(EventKind::backward, "matmul_backward", 4);
  r.enter(EventKind::op, "matmul", 4);
  r.exit(6, {10, 1});
  r.enter(EventKind::op, "matmul", 6);
  r.exit(8, {10, 1});
  r.exit(8, {});
  const std::vector<P::OpStats> by_name = P::key_averages(r.events());
  EXPECT_EQ(row(by_name, "matmul").calls, 3);
  const std::vector<P::OpStats> by_caller = P::key_averages(r.events(), P::GroupBy::name_and_parent);
  EXPECT_EQ(row(by_caller, "matmul <- forward").calls, 1);
  EXPECT_EQ(row(by_caller, "matmul <- matmul_backward").calls, 2);
  EXPECT_DOUBLE_EQ(row(by_caller, "matmul <- matmul_backward").self_seconds, 4);
  EXPECT_EQ(row(by_caller, "matmul_backward").kind, EventKind::backward) << "a top-level event keeps its bare name";
  EXPECT_DOUBLE_EQ(row(by_caller, "forward").total_seconds, 4);
}

TEST(ProfilingProfiler, RecordsTheForwardOpsOfAKnownGraphInOrder) {
  const Tensor a = randn({4, 3}, 1), b = randn({3, 5}, 2);
  P::Profiler prof;
  const Tensor y = relu(a.matmul(b)).sum();
  prof.stop();
  EXPECT_EQ(top_level(prof.events(), EventKind::op), (std::vector<std::string>{"matmul", "relu", "sum"}));
  const std::vector<P::OpStats> rows = prof.key_averages();
  EXPECT_EQ(row(rows, "matmul").calls, 1);
  EXPECT_EQ(row(rows, "matmul").cost, P::matmul_cost(4, 3, 5)) << "the profiler counts each op with op_cost";
  EXPECT_EQ(row(rows, "relu").calls, 1);
  for (const P::Event& e : prof.events()) {
    EXPECT_TRUE(e.closed) << e.name;
    EXPECT_GE(e.self, 0.0) << e.name;
    EXPECT_LE(e.self, e.total() + 1e-12) << e.name;
  }
}

TEST(ProfilingProfiler, RecordsEveryBackwardNode) {
  const Tensor a = randn({4, 3}, 1).requires_grad_(), b = randn({3, 5}, 2).requires_grad_();
  const Tensor loss = relu(a.matmul(b)).sum();
  P::Profiler prof;
  loss.backward();
  prof.stop();
  EXPECT_EQ(top_level(prof.events(), EventKind::backward),
            (std::vector<std::string>{"sum_backward", "relu_backward", "matmul_backward"}))
      << "one event per node, in the order the engine ran them, named op + \"_backward\"";
  const std::vector<P::OpStats> by_caller = prof.key_averages(P::GroupBy::name_and_parent);
  EXPECT_EQ(row(by_caller, "matmul <- matmul_backward").calls, 2) << "g·bᵀ for a and aᵀ·g for b";
  EXPECT_EQ(row(by_caller, "matmul <- matmul_backward").cost, P::matmul_cost(4, 5, 3) + P::matmul_cost(3, 4, 5));
}

TEST(ProfilingProfiler, TheBackwardOfADataInputSkipsItsMatmul) {
  const Tensor x = randn({8, 3}, 1), w = randn({3, 2}, 2).requires_grad_();
  const Tensor loss = x.matmul(w).sum();
  P::Profiler prof;
  loss.backward();
  prof.stop();
  EXPECT_EQ(row(prof.key_averages(P::GroupBy::name_and_parent), "matmul <- matmul_backward").calls, 1)
      << "x needs no gradient, so its matmul is never run";
}

TEST(ProfilingProfiler, RangesNestAndTheirSelfTimesAddUpToTheWhole) {
  const Tensor a = randn({16, 16}, 1);
  P::Profiler prof;
  {
    P::RecordFunction outer("outer");
    const Tensor b = a.matmul(a);
    {
      P::RecordFunction inner("inner", Cost{5, 6});
      const Tensor c = relu(b);
    }
  }
  prof.stop();
  const auto& events = prof.events();
  ASSERT_GE(events.size(), 4u);
  EXPECT_EQ(events[0].name, "outer");
  EXPECT_EQ(events[0].kind, EventKind::range);
  const auto inner = std::find_if(events.begin(), events.end(), [](const P::Event& e) { return e.name == "inner"; });
  ASSERT_NE(inner, events.end());
  EXPECT_EQ(inner->parent, 0);
  EXPECT_EQ(inner->cost, (Cost{5, 6})) << "a range carries the cost it was given";
  const auto relu_event =
      std::find_if(events.begin(), events.end(), [](const P::Event& e) { return e.name == "relu"; });
  ASSERT_NE(relu_event, events.end());
  EXPECT_EQ(events[static_cast<std::size_t>(relu_event->parent)].name, "inner");
  double self_sum = 0, top_total = 0;
  for (const P::Event& e : events) {
    self_sum += e.self;
    if (e.depth == 0) top_total += e.total();
  }
  EXPECT_NEAR(self_sum, top_total, 1e-9) << "self times count every moment once";
  EXPECT_EQ(row(prof.key_averages(), "outer").calls, 1);
}

TEST(ProfilingProfiler, RecordsNothingWhenStoppedOrNotRunning) {
  const Tensor a = randn({8, 8}, 1);
  EXPECT_EQ(autograd::op_profiler(), nullptr) << "no profiler: the hook in module 01 stays empty";
  {
    P::RecordFunction nothing("no profiler runs");  // does nothing
    (void)a.matmul(a);
  }
  P::Profiler prof;
  EXPECT_NE(autograd::op_profiler(), nullptr);
  (void)a.matmul(a);
  prof.stop();
  EXPECT_EQ(autograd::op_profiler(), nullptr) << "stop() removes the hook";
  const std::size_t recorded = prof.events().size();
  (void)relu(a.matmul(a));
  { P::RecordFunction late("after stop"); }
  EXPECT_EQ(prof.events().size(), recorded) << "a stopped profiler records nothing more";
  EXPECT_FALSE(prof.running());
  EXPECT_EQ(top_level(prof.events(), EventKind::op), std::vector<std::string>{"matmul"});
  EXPECT_FALSE(has_row(prof.key_averages(), "relu"));
}

TEST(ProfilingProfiler, OneAtATimePerThreadAndNoneFromOtherThreads) {
  const Tensor a = randn({8, 8}, 1);
  P::Profiler prof;
  EXPECT_THAT(error_message<std::logic_error>([] { P::Profiler second; }), HasSubstr("already runs"));
  std::thread other([&] { (void)relu(a); });
  other.join();
  (void)a.matmul(a);
  prof.stop();
  EXPECT_FALSE(has_row(prof.key_averages(), "relu")) << "another thread's ops are not this profile's";
  EXPECT_TRUE(has_row(prof.key_averages(), "matmul"));
  P::Profiler again;  // after stop, a new one may start
  (void)relu(a);
  again.stop();
  EXPECT_EQ(row(again.key_averages(), "relu").calls, 1);
}

TEST(ProfilingProfiler, TheTableShowsTheRowsAndTheirShares) {
  P::EventRecorder r;
  r.enter(EventKind::op, "matmul", 0);
  r.exit(0.003, P::matmul_cost(100, 100, 100));
  r.enter(EventKind::op, "relu", 0.003);
  r.exit(0.004, {1e4, 8e4});
  const std::string text = P::table(P::key_averages(r.events()), {.machine = P::Machine{100, 20}});
  EXPECT_THAT(text, HasSubstr("matmul"));
  EXPECT_THAT(text, HasSubstr("75.0"));     // matmul's share of the 4 ms
  EXPECT_THAT(text, HasSubstr("0.67"));     // 2 MFLOP in 3 ms
  EXPECT_THAT(text, HasSubstr("compute"));  // 16.7 FLOP/byte, above the ridge at 5
  EXPECT_THAT(text, HasSubstr("memory"));   // relu: 0.125 FLOP/byte
  EXPECT_EQ(P::format_seconds(843e-9), "843 ns");
  EXPECT_EQ(P::format_seconds(12.3e-6), "12.3 us");
  EXPECT_EQ(P::format_seconds(4.56e-3), "4.56 ms");
  EXPECT_EQ(P::format_seconds(1.234), "1.23 s");
}

// ---------------------------------------------------------------------------------------
// Part 4: memory

TEST(ProfilingMemory, CounterFollowsLiveBytesAndThePeak) {
  P::MemoryCounter c;
  c.allocated(10);
  c.freed(10);
  c.allocated(30);
  c.allocated(5);
  c.freed(5);
  EXPECT_EQ(c.live_bytes(), 30);
  EXPECT_EQ(c.peak_bytes(), 35);
  EXPECT_EQ(c.allocations(), 3);
  c.reset_peak();
  EXPECT_EQ(c.peak_bytes(), 30);
  c.freed(30);
  EXPECT_EQ(c.peak_bytes(), 30) << "a free never moves the peak";
}

TEST(ProfilingMemory, TrackerCountsKnownAllocationsExactly) {
  P::MemoryTracker tracker;
  EXPECT_EQ(tracker.allocations(), 0);
  Tensor a = zeros({1000});                   // 4,000 bytes
  Tensor b = zeros({10, 50});                 // 2,000 bytes
  const Tensor view = a.view({10, 100}).t();  // views allocate nothing
  EXPECT_EQ(tracker.live_bytes() - tracker.start_bytes(), 6000);
  Tensor c = view.clone();  // 4,000 more
  EXPECT_EQ(tracker.peak_above_start_bytes(), 10000);
  EXPECT_EQ(tracker.allocations(), 3);
  a = Tensor();
  c = Tensor();  // the view still holds a's storage
  EXPECT_EQ(tracker.live_bytes() - tracker.start_bytes(), 6000);
  b = Tensor();
  EXPECT_EQ(tracker.peak_above_start_bytes(), 10000) << "the peak stays where it was";
}

TEST(ProfilingMemory, TrackersNestWithPeaksOfTheirOwn) {
  P::MemoryTracker outer;
  Tensor big = zeros({5000});  // 20,000 bytes
  big = Tensor();
  P::MemoryTracker inner;
  { const Tensor small = zeros({100}); }
  EXPECT_EQ(inner.peak_above_start_bytes(), 400);
  EXPECT_EQ(outer.peak_above_start_bytes(), 20000);
  EXPECT_EQ(inner.allocations(), 1);
  EXPECT_EQ(outer.allocations(), 2);
}

TEST(ProfilingMemory, MaxRssIsInBytes) {
  const int64_t before = P::max_rss_bytes();
  EXPECT_GT(before, 1 << 20) << "a test program holds more than 1 MiB; ru_maxrss is in kilobytes on Linux: times 1024";
  EXPECT_LT(before, int64_t{1} << 40);
  std::vector<char> block(96 << 20);
  for (std::size_t i = 0; i < block.size(); i += 4096) block[i] = 1;  // touch every page
  EXPECT_GE(P::max_rss_bytes(), int64_t{96} << 20) << "96 MiB were touched: the maximum resident set holds them";
  EXPECT_EQ(P::format_bytes(512), "512 B");
  EXPECT_EQ(P::format_bytes(1536), "1.5 KiB");
  EXPECT_EQ(P::format_bytes(20.1 * (1 << 20)), "20.1 MiB");
}

// ---------------------------------------------------------------------------------------
// Part 5: the machine's peaks

// The result fma_chains must give: the same FMAs, one chain at a time.
float reference_chains(int64_t iterations, float multiplier, float addend) {
  float sum = 0.0f;
  std::vector<float> acc(P::kChains);
  for (int i = 0; i < P::kChains; ++i) acc[static_cast<std::size_t>(i)] = 1.0f + static_cast<float>(i) * 1e-3f;
  for (float& a : acc) {
    for (int64_t it = 0; it < iterations; ++it) a = std::fma(a, multiplier, addend);
  }
  for (float a : acc) sum += a;
  return sum;
}

TEST(ProfilingPeak, FmaChainsDoesEveryFma) {
  EXPECT_FLOAT_EQ(P::fma_chains(0, 2.0f, 1.0f), reference_chains(0, 2.0f, 1.0f)) << "zero rounds: the starting values";
  EXPECT_FLOAT_EQ(P::fma_chains(10, 0.5f, 1.0f), reference_chains(10, 0.5f, 1.0f));
  EXPECT_FLOAT_EQ(P::fma_chains(1000, 0.999f, 0.01f), reference_chains(1000, 0.999f, 0.01f));
}

TEST(ProfilingPeak, StreamCopyCopiesExactlyN) {
  std::vector<float> src(1000), dst(1002, -1.0f);
  for (std::size_t i = 0; i < src.size(); ++i) src[i] = static_cast<float>(i);
  P::stream_copy(src.data(), dst.data() + 1, 1000);
  EXPECT_EQ(dst.front(), -1.0f);
  EXPECT_EQ(dst.back(), -1.0f) << "wrote past n floats";
  EXPECT_TRUE(std::equal(src.begin(), src.end(), dst.begin() + 1));
}

TEST(ProfilingPeak, MeasurementsArePositiveAndFinite) {
  const double peak = P::peak_gflops(200000, 3);
  const double bandwidth = P::bandwidth_gbs(16, 3);
  EXPECT_TRUE(std::isfinite(peak) && peak > 0) << peak;
  EXPECT_TRUE(std::isfinite(bandwidth) && bandwidth > 0) << bandwidth;
}

// ---------------------------------------------------------------------------------------
// Part 6: the roofline

TEST(ProfilingRoofline, PlacementUnderTheRoofs) {
  const P::Machine m{.peak_gflops = 100, .bandwidth_gbs = 25};
  EXPECT_DOUBLE_EQ(m.ridge(), 4);
  EXPECT_DOUBLE_EQ(P::arithmetic_intensity(P::matmul_cost(64, 64, 64)), 2.0 * 64 * 64 * 64 / (4.0 * 3 * 64 * 64));
  EXPECT_DOUBLE_EQ(P::arithmetic_intensity({0, 800}), 0) << "a copy does no FLOPs per byte";
  EXPECT_DOUBLE_EQ(P::arithmetic_intensity({10, 0}), 0) << "no bytes: 0, not infinity or NaN";
  EXPECT_DOUBLE_EQ(P::attainable_gflops(0.1, m), 2.5) << "left of the ridge: intensity times bandwidth";
  EXPECT_DOUBLE_EQ(P::attainable_gflops(4, m), 100) << "the roofs meet at the ridge";
  EXPECT_DOUBLE_EQ(P::attainable_gflops(1000, m), 100) << "right of it: the peak, however many FLOPs per byte";
  EXPECT_EQ(P::bound_of(3.99, m), P::Bound::memory);
  EXPECT_EQ(P::bound_of(4, m), P::Bound::compute);
  EXPECT_EQ(P::bound_of(P::arithmetic_intensity(P::elementwise_cost({100, 100}, 100)), m), P::Bound::memory)
      << "an add is memory-bound on any machine";
}

TEST(ProfilingRoofline, WritesAPng) {
  P::EventRecorder r;
  r.enter(EventKind::op, "matmul", 0);
  r.exit(0.01, P::matmul_cost(256, 256, 256));
  r.enter(EventKind::op, "relu", 0.01);
  r.exit(0.011, P::elementwise_cost({65536}, 65536));
  r.enter(EventKind::op, "view", 0.011);
  r.exit(0.0111, {});
  const std::filesystem::path path = std::filesystem::temp_directory_path() / "tinytorch_roofline_test" / "r.png";
  std::filesystem::remove_all(path.parent_path());
  P::write_roofline(path.string(), P::Machine{100, 20}, P::key_averages(r.events()));
  std::ifstream file(path, std::ios::binary);
  char signature[8] = {};
  file.read(signature, 8);
  EXPECT_EQ(std::string(signature + 1, 3), "PNG");
  std::filesystem::remove_all(path.parent_path());
}

// ---------------------------------------------------------------------------------------
// Part 7: integration, a training step of the CNN milestone's network

// The expected FLOPs of the three forward matmuls of the CNN at batch n.
double forward_matmul_flops(int64_t n) {
  return P::matmul_cost(16, 25, n * 784).flops + P::matmul_cost(32, 400, n * 196).flops +
         P::matmul_cost(n, 1568, 10).flops;
}

TEST(ProfilingIntegration, ProfileOfACnnTrainingStepOnRealFashionMnist) {
  const auto train = real_fashion_mnist(true);
  if (!train) return;
  data::DataLoader loader(data::MapDataset(*train, data::transforms::Normalize({0.2860f}, {0.3530f})),
                          data::DataLoaderOptions(16));
  const data::Example batch = loader.batch(0);
  nn::Sequential cnn = milestone_cnn();
  optim::Adam adam(cnn.parameters(), optim::AdamOptions(1e-3));
  training_step(cnn, adam, batch.data, batch.target);  // warm-up: Adam's state
  P::Profiler prof;
  training_step(cnn, adam, batch.data, batch.target);
  prof.stop();

  EXPECT_EQ(top_level(prof.events(), EventKind::range),
            (std::vector<std::string>{"forward", "backward", "optimizer.step"}));
  const std::vector<P::OpStats> rows = prof.key_averages();
  EXPECT_EQ(row(rows, "im2col").calls, 2) << "one per convolution";
  EXPECT_EQ(row(rows, "max_pool2d").calls, 2);
  EXPECT_EQ(row(rows, "relu").calls, 2);
  EXPECT_EQ(row(rows, "max_pool2d_backward").calls, 2);
  EXPECT_EQ(row(rows, "relu_backward").calls, 2);
  EXPECT_EQ(row(rows, "matmul_backward").calls, 3) << "conv1, conv2 and the linear layer";
  EXPECT_EQ(row(rows, "im2col_backward").calls, 1) << "the images need no gradient: only conv2's im2col has a node";
  EXPECT_EQ(row(rows, "im2col").cost,
            P::im2col_cost({16, 1, 28, 28}, 5, 1, 2) + P::im2col_cost({16, 16, 14, 14}, 5, 1, 2));

  const std::vector<P::OpStats> by_caller = prof.key_averages(P::GroupBy::name_and_parent);
  EXPECT_EQ(row(by_caller, "matmul <- forward").calls, 3);
  EXPECT_DOUBLE_EQ(row(by_caller, "matmul <- forward").cost.flops, forward_matmul_flops(16));
  EXPECT_EQ(row(by_caller, "matmul <- matmul_backward").calls, 5)
      << "2 each for conv2 and the linear layer, 1 for conv1 (its cols need no gradient)";
  EXPECT_DOUBLE_EQ(row(by_caller, "im2col_backward <- backward").cost.flops,
                   P::col2im_cost({16, 16, 14, 14}, 5, 1, 2).flops);

  double self_sum = 0, step = 0;
  for (const P::Event& e : prof.events()) {
    EXPECT_TRUE(e.closed) << e.name;
    self_sum += e.self;
    if (e.depth == 0) step += e.total();
  }
  EXPECT_NEAR(self_sum, step, 1e-6);
  EXPECT_LE(step, prof.elapsed_seconds() + 1e-6);
  const std::string text = P::table(rows, {.row_limit = 10, .machine = P::Machine{100, 20}});
  EXPECT_THAT(text, HasSubstr("matmul"));
}

TEST(ProfilingIntegration, MemoryPeakOfAStepGrowsWithTheBatch) {
  auto peak_of_step = [](int64_t batch) {
    nn::Sequential cnn = milestone_cnn();
    optim::Adam adam(cnn.parameters(), optim::AdamOptions(1e-3));
    const Tensor images = randn({batch, 1, 28, 28}, 7), labels = class_labels(batch);
    training_step(cnn, adam, images, labels);
    P::MemoryTracker tracker;
    training_step(cnn, adam, images, labels);
    return static_cast<double>(tracker.peak_above_start_bytes());
  };
  const double p8 = peak_of_step(8), p16 = peak_of_step(16);
  // Activations kept for backward: conv1's cols alone are 25 x (8·784) floats at batch 8.
  EXPECT_GT(p8, 4.0 * 25 * 8 * 784);
  EXPECT_GT(p16, 1.8 * p8) << "activations grow with the batch, and they dominate the peak";
  EXPECT_LT(p16, 2.2 * p8);
}

// BEGIN HIDDEN TESTS
TEST(ProfilingHidden, SummarizeMatchesAReferenceOnRandomSamples) {
  std::mt19937 gen(7);
  std::uniform_real_distribution<double> uniform(0.0, 10.0);
  for (const std::size_t n : {1u, 2u, 7u, 10u, 101u}) {
    std::vector<double> samples(n);
    for (double& v : samples) v = uniform(gen);
    std::vector<double> sorted = samples;
    std::sort(sorted.begin(), sorted.end());
    const double median = n % 2 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    const P::Summary s = P::summarize(samples);
    EXPECT_DOUBLE_EQ(s.median, median) << n;
    EXPECT_DOUBLE_EQ(s.min, sorted.front()) << n;
    EXPECT_DOUBLE_EQ(s.max, sorted.back()) << n;
  }
}

TEST(ProfilingHidden, MeasureReadsTheClocksOnlyAroundTheRun) {
  int reads = 0;
  double now = 0;
  const P::Timing t =
      P::measure([&] { now += 1; }, {.warmup = 5, .repeats = 3}, [&] { return ++reads, now; }, [] { return 0.0; });
  EXPECT_EQ(reads, 6) << "two readings of the wall clock per timed run, none during the warm-up";
  EXPECT_EQ(t.wall, std::vector<double>(3, 1.0));
  EXPECT_EQ(t.cpu, std::vector<double>(3, 0.0));
}

TEST(ProfilingHidden, CostsOfOtherShapes) {
  EXPECT_EQ(P::matmul_cost(3, 7, 2), (Cost{84, 4.0 * (21 + 14 + 6)}));
  EXPECT_EQ(P::im2col_cost({3, 2, 10, 6}, 4, 3, 0), (Cost{0, 4.0 * (360 + 32 * 3 * 3 * 1)}));
  EXPECT_EQ(P::col2im_cost({1, 4, 5, 5}, 1, 1, 0), (Cost{100, 800}));
  EXPECT_EQ(P::conv2d_cost({2, 3, 9, 9}, 8, 3, 2, 1).flops, 2.0 * 8 * 27 * 2 * 25);
  EXPECT_EQ(P::reduction_cost(0, 1), (Cost{0, 4}));
  EXPECT_EQ(P::elementwise_cost({3, 3, 3}, 3, 2.5), (Cost{7.5, 48}));
}

TEST(ProfilingHidden, OpCostOfOtherOps) {
  const Tensor x = randn({3, 5}, 1), y = randn({5}, 2);
  const Tensor e = exp(x), s = x.sum(), m = x.max(1), p = x.permute({1, 0}), d = x * y;
  auto cost = [](const char* op, std::vector<Tensor> in, const Tensor& out) {
    return P::op_cost(EventKind::op, op, in, {}, &out);
  };
  EXPECT_EQ(cost("exp", {x}, e), (Cost{15, 120}));
  EXPECT_EQ(cost("sum", {x}, s), (Cost{15, 64}));
  EXPECT_EQ(cost("max_dim", {x}, m), (Cost{15, 4.0 * 18}));
  EXPECT_EQ(cost("permute", {x}, p), Cost{});
  EXPECT_EQ(cost("mul", {x, y}, d), (Cost{15, 4.0 * 35}));
  const Tensor w = randn({7, 5}, 3), o = x.matmul(w.t());
  EXPECT_EQ(cost("matmul", {x, w.t()}, o), P::matmul_cost(3, 5, 7));
  const Tensor img = randn({1, 2, 6, 4}, 4), pooled = F::max_pool2d(img, 2);
  EXPECT_EQ(P::op_cost(EventKind::op, "max_pool2d", std::vector<Tensor>{img}, std::vector<int64_t>{2, 2}, &pooled),
            (Cost{48, 4.0 * 48 + 12.0 * 12}));
  EXPECT_EQ(P::op_cost(EventKind::backward, "relu", std::vector<Tensor>{x}, {}, &x), Cost{});
}

TEST(ProfilingHidden, RecorderSelfTimesOnADeeperTree) {
  P::EventRecorder r;
  r.enter(EventKind::op, "a", 0);
  r.enter(EventKind::op, "b", 1);
  r.exit(2, {});
  r.enter(EventKind::op, "c", 2);
  r.enter(EventKind::op, "d", 3);
  r.exit(6, {});
  r.enter(EventKind::op, "e", 6);
  r.exit(7, {});
  r.exit(8, {});
  r.exit(20, {});
  r.enter(EventKind::op, "f", 21);
  r.exit(22, {});
  const auto& e = r.events();
  ASSERT_EQ(e.size(), 6u);
  EXPECT_DOUBLE_EQ(e[0].self, 20 - 1 - 6);
  EXPECT_DOUBLE_EQ(e[2].self, 6 - 3 - 1);
  EXPECT_EQ(e[4].parent, 2);
  EXPECT_EQ(e[5].parent, -1);
  EXPECT_EQ(e[5].depth, 0);
  EXPECT_DOUBLE_EQ(e[5].self, 1);
}

TEST(ProfilingHidden, FmaChainsWithOtherArguments) {
  EXPECT_FLOAT_EQ(P::fma_chains(7, 1.5f, -0.25f), reference_chains(7, 1.5f, -0.25f));
  EXPECT_FLOAT_EQ(P::fma_chains(5000, 0.9999f, 0.0001f), reference_chains(5000, 0.9999f, 0.0001f));
}

TEST(ProfilingHidden, RooflineOfOtherMachines) {
  const P::Machine m{.peak_gflops = 37, .bandwidth_gbs = 9.25};
  EXPECT_DOUBLE_EQ(P::attainable_gflops(2, m), 18.5);
  EXPECT_DOUBLE_EQ(P::attainable_gflops(8, m), 37);
  EXPECT_EQ(P::bound_of(3.9, m), P::Bound::memory);
  EXPECT_EQ(P::bound_of(4.1, m), P::Bound::compute);
  EXPECT_DOUBLE_EQ(P::arithmetic_intensity({30, 4}), 7.5);
}
// END HIDDEN TESTS

}  // namespace
