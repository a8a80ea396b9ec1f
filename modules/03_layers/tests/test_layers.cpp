// Tests for module 03 (layers): the public API of <tinytorch/core/layers.hpp>.
// Linked with gtest_main, together with the quick tests in layers_dev.cpp.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <limits>
#include <optional>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include <tinytorch/core/layers.hpp>
#include <tinytorch/course.hpp>
#include <tinytorch/testing.hpp>

namespace {

using namespace tinytorch;
using nn::init::FanMode;
using nn::init::Nonlinearity;
using ::testing::ElementsAre;
using ::testing::FloatNear;
using ::testing::HasSubstr;
using ::testing::Pointwise;
using tinytorch::testing::all_finite;
using tinytorch::testing::error_message;

using Values = std::vector<float>;
using Names = std::vector<std::string>;

Names names_of(const nn::NamedTensors& named) {
  Names names;
  for (const auto& [name, tensor] : named) names.push_back(name);
  return names;
}

Names names_of(const nn::NamedModules& named) {
  Names names;
  for (const auto& [name, module] : named) names.push_back(name);
  return names;
}

// Whether two handles point at one tensor (the same TensorImpl), not merely equal numbers.
bool same_tensor(const Tensor& a, const Tensor& b) { return a.impl_ptr() == b.impl_ptr(); }

// The tensor registered as `name` (an undefined tensor if there is none).
Tensor parameter(const nn::Module& module, const std::string& name) {
  for (const auto& [n, tensor] : module.named_parameters()) {
    if (n == name) return tensor;
  }
  return Tensor();
}

std::string printed(const nn::Module& module) {
  std::ostringstream out;
  out << module;
  return out.str();
}

// Mean, standard deviation, minimum and maximum of all elements, in double.
struct Moments {
  double mean, std, min, max;
};

Moments moments(const Tensor& t) {
  const Values v = t.to_vector();
  double sum = 0, square = 0, lo = std::numeric_limits<double>::infinity(), hi = -lo;
  for (float x : v) {
    sum += x;
    lo = std::min(lo, double{x});
    hi = std::max(hi, double{x});
  }
  const double mean = sum / static_cast<double>(v.size());
  for (float x : v) square += (x - mean) * (x - mean);
  return {mean, std::sqrt(square / static_cast<double>(v.size())), lo, hi};
}

// A module with no parameters of its own, to register things in.
struct Empty : nn::Module {};

// fc1 (4 -> 3), ReLU, fc2 (3 -> 2): the introduction's MLP, small.
struct TwoLayer : nn::Module {
  TwoLayer() {
    fc1 = register_module("fc1", std::make_shared<nn::Linear>(4, 3, true, 1));
    fc2 = register_module("fc2", std::make_shared<nn::Linear>(3, 2, true, 2));
  }
  Tensor forward(const Tensor& x) override { return fc2->forward(relu(fc1->forward(x))); }
  std::shared_ptr<nn::Linear> fc1, fc2;
};

// Three levels deep: "block" (a Sequential of a Linear and a Dropout), its own parameter
// "scale" registered after it, and "head", a TwoLayer.
struct Wrapper : nn::Module {
  Wrapper() {
    block = register_module("block", std::make_shared<nn::Sequential>(nn::Linear(4, 4, true, 3), nn::Dropout(0.5, 4)));
    scale = register_parameter("scale", ones({4}));
    head = register_module("head", std::make_shared<TwoLayer>());
  }
  Tensor forward(const Tensor& x) override { return head->forward(block->forward(x) * scale); }
  std::shared_ptr<nn::Sequential> block;
  Tensor scale;
  std::shared_ptr<TwoLayer> head;
};

// A module with state that is not learned, as batch normalization keeps.
struct WithBuffer : nn::Module {
  WithBuffer() {
    weight = register_parameter("weight", ones({3}));
    running_mean = register_buffer("running_mean", zeros({3}).requires_grad_());
  }
  Tensor weight, running_mean;
};

// The op names autograd would record (a recorder of the test's own stands in for module 05's).
std::vector<std::string> recorded_ops;
void op_recorder(autograd::OpCall call, const Tensor& output) {
  output.impl_ptr()->requires_grad = true;
  recorded_ops.push_back(call.op);
}

class LayersAutograd : public ::testing::Test {
 protected:
  void SetUp() override {
    recorded_ops.clear();
    autograd::set_recorder(&op_recorder);
  }
  void TearDown() override {
    autograd::set_recorder(nullptr);
    recorded_ops.clear();
  }
  bool recorded(const std::string& op) const {
    return std::find(recorded_ops.begin(), recorded_ops.end(), op) != recorded_ops.end();
  }
  std::string ops() const {
    std::string list;
    for (const std::string& op : recorded_ops) list += (list.empty() ? "" : ", ") + op;
    return "{" + list + "}";
  }
};

// ---------------------------------------------------------------------------------------
// Module: registration and collection

TEST(LayersModule, RegisterParameterKeepsTheTensorAndAsksForItsGradient) {
  Empty m;
  Tensor w = zeros({2, 3});
  Tensor registered = m.register_parameter("w", w);
  EXPECT_TRUE(same_tensor(registered, w)) << "register_parameter must return the tensor it was given, not a copy";
  EXPECT_TRUE(w.requires_grad()) << "a parameter requires grad: register_parameter calls requires_grad_()";
  Tensor frozen = m.register_parameter("frozen", zeros({1}), /*requires_grad=*/false);
  EXPECT_FALSE(frozen.requires_grad());
  ASSERT_EQ(m.parameters().size(), 2u);
  EXPECT_TRUE(same_tensor(m.parameters()[0], w));
}

TEST(LayersModule, ParametersAreTheLayersOwnTensorsSoAnOptimizerCanUpdateThem) {
  TwoLayer m;
  const std::vector<Tensor> params = m.parameters();
  ASSERT_EQ(params.size(), 4u) << "parameters() must include every submodule's parameters";
  const std::vector<Tensor> own = {m.fc1->weight, m.fc1->bias, m.fc2->weight, m.fc2->bias};
  for (std::size_t i = 0; i < own.size(); ++i) {
    EXPECT_TRUE(same_tensor(params[i], own[i]))
        << "parameters()[" << i << "] is not the layer's own tensor: an optimizer updating it in place would "
        << "change a copy and the model would never learn (return the handles, never clone() or detach())";
  }
  Tensor first = params[0];
  first.fill_(0.5f);  // what an optimizer's step does
  EXPECT_THAT(m.fc1->weight.to_vector(), ::testing::Each(0.5f));
}

TEST(LayersModule, NamedParametersAreDottedAndInRegistrationOrder) {
  EXPECT_EQ(names_of(TwoLayer().named_parameters()), (Names{"fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"}))
      << "each child's parameters, named child + \".\" + name, children in the order they were registered";
  EXPECT_EQ(names_of(nn::Linear(2, 2).named_parameters()), (Names{"weight", "bias"}));
}

TEST(LayersModule, OwnParametersComeBeforeTheChildrensAtEveryLevel) {
  EXPECT_EQ(names_of(Wrapper().named_parameters()), (Names{"scale", "block.0.weight", "block.0.bias", "head.fc1.weight",
                                                           "head.fc1.bias", "head.fc2.weight", "head.fc2.bias"}))
      << "PyTorch's order: a module's own parameters first (even one registered after a child), then each child's "
         "named_parameters(), recursively, with the child's name and a dot in front";
}

TEST(LayersModule, ParametersReachGrandchildren) {
  Wrapper w;
  const std::vector<Tensor> params = w.parameters();
  ASSERT_EQ(params.size(), 7u) << "parameters() must walk the whole tree, not just the direct children";
  EXPECT_TRUE(same_tensor(params.back(), w.head->fc2->bias));
  EXPECT_TRUE(same_tensor(params[1], w.block->at<nn::Linear>(0)->weight));
}

TEST(LayersModule, WithoutRecurseOnlyTheModulesOwnParameters) {
  Wrapper w;
  EXPECT_EQ(names_of(w.named_parameters(/*recurse=*/false)), (Names{"scale"}));
  EXPECT_EQ(w.parameters(false).size(), 1u);
  EXPECT_TRUE(TwoLayer().named_parameters(false).empty());
}

TEST(LayersModule, ChildrenInRegistrationOrder) {
  Wrapper w;
  EXPECT_EQ(names_of(w.named_children()), (Names{"block", "head"}));
  ASSERT_EQ(w.children().size(), 2u);
  EXPECT_EQ(w.children()[1].get(), w.head.get());
  EXPECT_TRUE(w.head->fc1->children().empty());
}

TEST(LayersModule, RegisterModuleReturnsTheModuleItWasGiven) {
  Empty m;
  auto fc = std::make_shared<nn::Linear>(3, 2, true, 1);
  std::shared_ptr<nn::Linear> back = m.register_module("fc", fc);
  EXPECT_EQ(back.get(), fc.get());
  EXPECT_TRUE(same_tensor(parameter(m, "fc.weight"), fc->weight));
}

TEST(LayersModule, DuplicateNamesAreErrorsNamingTheModuleAndTheName) {
  Empty m;
  m.register_parameter("w", zeros({1}));
  Tensor second = zeros({2});
  const std::string message = error_message<std::invalid_argument>([&] { m.register_parameter("w", second); });
  EXPECT_THAT(message, HasSubstr("Empty"));
  EXPECT_THAT(message, HasSubstr("\"w\""));
  EXPECT_THAT(message, HasSubstr("already"));
  ASSERT_EQ(m.parameters().size(), 1u) << "a refused registration must leave the module as it was";
  EXPECT_EQ(m.parameters()[0].shape(), (Shape{1}));

  m.register_module("child", std::make_shared<Empty>());
  auto another = std::make_shared<Empty>();
  EXPECT_THAT(error_message<std::invalid_argument>([&] { m.register_module("child", another); }),
              HasSubstr("\"child\""));
  m.register_buffer("b", zeros({1}));
  Tensor b = zeros({1});
  EXPECT_THAT(error_message<std::invalid_argument>([&] { m.register_buffer("b", b); }), HasSubstr("\"b\""));
}

TEST(LayersModule, EmptyOrDottedNamesAndMissingTensorsAreErrors) {
  Empty m;
  Tensor t = zeros({1});
  EXPECT_THAT(error_message<std::invalid_argument>([&] { m.register_parameter("", t); }), HasSubstr("empty"));
  EXPECT_THAT(error_message<std::invalid_argument>([&] { m.register_parameter("fc.weight", t); }), HasSubstr("'.'"));
  EXPECT_THAT(error_message<std::invalid_argument>([&] { m.register_parameter("w", Tensor()); }),
              HasSubstr("undefined"));
  EXPECT_THAT(error_message<std::invalid_argument>([&] { m.register_module("a.b", std::make_shared<Empty>()); }),
              HasSubstr("'.'"));
  EXPECT_THAT(error_message<std::invalid_argument>([&] { m.register_module("null", std::shared_ptr<Empty>()); }),
              HasSubstr("null"));
  EXPECT_TRUE(m.named_parameters().empty());
  EXPECT_TRUE(m.named_children().empty());
}

TEST(LayersModule, NameIsTheClassName) {
  EXPECT_EQ(nn::Linear(2, 2).name(), "Linear");
  EXPECT_EQ(TwoLayer().name(), "TwoLayer");
  EXPECT_EQ(nn::Sequential(nn::ReLU()).name(), "Sequential");
  EXPECT_EQ(nn::Module("Custom").name(), "Custom");
}

TEST(LayersModule, ForwardWithoutAnOverrideIsAClearError) {
  Empty m;
  m.register_parameter("w", ones({1}));
  Tensor x = ones({1});
  const std::string message = error_message<std::logic_error>([&] { m(x); });
  EXPECT_THAT(message, HasSubstr("Empty"));
  EXPECT_THAT(message, HasSubstr("forward"));
}

TEST(LayersModule, BuffersAreStateButNotParameters) {
  Empty parent;
  auto bn = parent.register_module("bn", std::make_shared<WithBuffer>());
  EXPECT_EQ(names_of(parent.named_buffers()), (Names{"bn.running_mean"}));
  EXPECT_EQ(names_of(parent.named_parameters()), (Names{"bn.weight"})) << "a buffer is not a parameter";
  EXPECT_TRUE(parent.buffers(/*recurse=*/false).empty());
  ASSERT_EQ(parent.buffers().size(), 1u);
  EXPECT_TRUE(same_tensor(parent.buffers()[0], bn->running_mean));
  EXPECT_FALSE(bn->running_mean.requires_grad())
      << "a buffer is never learned: register_buffer sets requires_grad_(false)";
  EXPECT_EQ(nn::parameter_count(parent), 3) << "buffers are not counted as parameters";
}

TEST(LayersModule, ParameterCountAddsEveryElement) {
  EXPECT_EQ(nn::parameter_count(nn::Linear(784, 256)), 200960);
  EXPECT_EQ(nn::parameter_count(nn::Linear(784, 256, /*bias=*/false)), 200704);
  EXPECT_EQ(nn::parameter_count(nn::ReLU()), 0);
  nn::Sequential mlp(nn::Linear(784, 256), nn::ReLU(), nn::Linear(256, 128), nn::ReLU(), nn::Linear(128, 10));
  EXPECT_EQ(nn::parameter_count(mlp), 235146);
}

// ---------------------------------------------------------------------------------------
// Module: train and eval

TEST(LayersModule, ModulesStartInTrainingMode) {
  Wrapper w;
  EXPECT_TRUE(w.is_training());
  EXPECT_TRUE(w.head->fc2->is_training());
}

TEST(LayersModule, TrainAndEvalReachGrandchildren) {
  Wrapper w;
  w.eval();
  EXPECT_FALSE(w.is_training());
  EXPECT_FALSE(w.block->is_training());
  EXPECT_FALSE((*w.block)[1]->is_training())
      << "eval() on the model must reach the Dropout two levels down: train(on) calls train(on) on every child";
  EXPECT_FALSE(w.head->fc1->is_training());
  w.train();
  EXPECT_TRUE((*w.block)[1]->is_training());
  EXPECT_TRUE(w.head->fc2->is_training());
  w.train(false);
  EXPECT_FALSE(w.head->fc2->is_training());
}

TEST(LayersModule, EvalOfAChildStaysBelowIt) {
  Wrapper w;
  w.head->eval();
  EXPECT_TRUE(w.is_training()) << "a child's mode does not travel up";
  EXPECT_TRUE(w.block->is_training()) << "nor sideways to its siblings";
  EXPECT_FALSE(w.head->fc2->is_training());
}

// ---------------------------------------------------------------------------------------
// Printing

TEST(LayersPrint, ModelTreeWithAlignedParameterCounts) {
  nn::Sequential model(nn::Linear(4, 3, true, 1), nn::ReLU(), nn::Dropout(0.5, 2), nn::Linear(3, 2, false, 3));
  EXPECT_EQ(printed(model),
            "Sequential(                                               # 21 parameters\n"
            "  (0): Linear(in_features=4, out_features=3, bias=true)   # 15 parameters\n"
            "  (1): ReLU()\n"
            "  (2): Dropout(p=0.5)\n"
            "  (3): Linear(in_features=3, out_features=2, bias=false)  # 6 parameters\n"
            ")");
}

TEST(LayersPrint, NestedModulesAndALeafOnItsOwn) {
  EXPECT_EQ(printed(nn::Linear(2, 1)), "Linear(in_features=2, out_features=1, bias=true)  # 3 parameters");
  EXPECT_EQ(printed(TwoLayer()),
            "TwoLayer(                                                  # 23 parameters\n"
            "  (fc1): Linear(in_features=4, out_features=3, bias=true)  # 15 parameters\n"
            "  (fc2): Linear(in_features=3, out_features=2, bias=true)  # 8 parameters\n"
            ")");
}

TEST(LayersPrint, ActivationModulesDescribeThemselves) {
  nn::Sequential acts(nn::LeakyReLU(0.2f), nn::Sigmoid(), nn::Tanh(), nn::GELU(), nn::Softmax(1), nn::LogSoftmax(-1));
  EXPECT_EQ(nn::parameter_count(acts), 0);
  EXPECT_EQ(printed(acts),
            "Sequential(\n"
            "  (0): LeakyReLU(negative_slope=0.2)\n"
            "  (1): Sigmoid()\n"
            "  (2): Tanh()\n"
            "  (3): GELU(approximate=tanh)\n"
            "  (4): Softmax(dim=1)\n"
            "  (5): LogSoftmax(dim=-1)\n"
            ")");
}

// ---------------------------------------------------------------------------------------
// Initialization

TEST(LayersInit, FanInIsTheSecondDimensionOfAnOutByInWeight) {
  auto [fan_in, fan_out] = nn::init::calculate_fan_in_and_fan_out(zeros({256, 784}));
  EXPECT_EQ(fan_in, 784) << "the weight is [out, in]: fan_in is dimension 1";
  EXPECT_EQ(fan_out, 256);
  std::tie(fan_in, fan_out) = nn::init::calculate_fan_in_and_fan_out(zeros({16, 3, 5, 5}));
  EXPECT_EQ(fan_in, 75) << "a convolution weight [out, in, kh, kw] reads in * kh * kw inputs per output";
  EXPECT_EQ(fan_out, 400);
  Tensor bias = zeros({10});
  EXPECT_THAT(error_message<ShapeError>([&] { nn::init::calculate_fan_in_and_fan_out(bias); }), HasSubstr("[10]"));
}

TEST(LayersInit, GainOfEachNonlinearity) {
  EXPECT_NEAR(nn::init::calculate_gain(Nonlinearity::Linear), 1.0, 1e-12);
  EXPECT_NEAR(nn::init::calculate_gain(Nonlinearity::Sigmoid), 1.0, 1e-12);
  EXPECT_NEAR(nn::init::calculate_gain(Nonlinearity::Tanh), 5.0 / 3.0, 1e-12);
  EXPECT_NEAR(nn::init::calculate_gain(Nonlinearity::ReLU), std::sqrt(2.0), 1e-12);
  EXPECT_NEAR(nn::init::calculate_gain(Nonlinearity::LeakyReLU, 0.2), std::sqrt(2.0 / 1.04), 1e-12);
  EXPECT_NEAR(nn::init::calculate_gain(Nonlinearity::LeakyReLU, 0.0), std::sqrt(2.0), 1e-12);
  EXPECT_NEAR(nn::init::calculate_gain(Nonlinearity::LeakyReLU, std::sqrt(5.0)), std::sqrt(1.0 / 3.0), 1e-12);
}

TEST(LayersInit, FillsWriteInPlaceWithinTheirRange) {
  Generator g(5);
  Tensor w = zeros({200, 200});
  Tensor back = nn::init::uniform_(w, -2.0, 3.0, g);
  EXPECT_TRUE(same_tensor(back, w)) << "uniform_ writes into the tensor it was given and returns it";
  const Moments m = moments(w);
  EXPECT_GE(m.min, -2.0);
  EXPECT_LT(m.max, 3.0);
  EXPECT_NEAR(m.mean, 0.5, 0.03);
  EXPECT_NEAR(m.std, 5.0 / std::sqrt(12.0), 0.02) << "U(a, b) has standard deviation (b - a) / sqrt(12)";
  // The given fills write into the same tensor too.
  const Moments n = moments(nn::init::normal_(w, 3.0, 0.5, g));
  EXPECT_NEAR(n.mean, 3.0, 0.02);
  EXPECT_NEAR(n.std, 0.5, 0.01);
  EXPECT_TRUE(same_tensor(nn::init::constant_(w, 7.0), w));
  EXPECT_THAT(w.to_vector(), ::testing::Each(7.0f));
  nn::init::zeros_(w);
  EXPECT_THAT(w.to_vector(), ::testing::Each(0.0f));
}

TEST(LayersInit, TheSameSeedGivesTheSameNumbersAndAGeneratorMovesOn) {
  Generator a(11), b(11);
  const Values first = nn::init::uniform_(zeros({50}), -1, 1, a).to_vector();
  EXPECT_EQ(first, nn::init::uniform_(zeros({50}), -1, 1, b).to_vector());
  EXPECT_NE(first, nn::init::uniform_(zeros({50}), -1, 1, a).to_vector())
      << "a second call on the same generator must continue its stream (take the Generator by reference)";
  Generator c(12), d(12);
  EXPECT_EQ(nn::init::kaiming_normal_(zeros({8, 8}), 0, FanMode::FanIn, Nonlinearity::ReLU, c).to_vector(),
            nn::init::kaiming_normal_(zeros({8, 8}), 0, FanMode::FanIn, Nonlinearity::ReLU, d).to_vector());
}

TEST(LayersInit, KaimingUniformHasTheBoundAndStdOfItsFanIn) {
  Generator g(1);
  Tensor w = nn::init::kaiming_uniform_(zeros({256, 1024}), 0, FanMode::FanIn, Nonlinearity::ReLU, g);
  const double bound = std::sqrt(6.0 / 1024), stddev = std::sqrt(2.0 / 1024);
  const Moments m = moments(w);
  EXPECT_LE(m.max, bound * (1 + 1e-6));
  EXPECT_GE(m.min, -bound * (1 + 1e-6));
  EXPECT_GT(m.max, 0.99 * bound) << "U(-b, b) with b = sqrt(3) * gain / sqrt(fan_in) = " << bound;
  EXPECT_NEAR(m.mean, 0.0, 2e-4);
  EXPECT_NEAR(m.std, stddev, 0.015 * stddev)
      << "the std of kaiming_uniform_ must be gain / sqrt(fan_in) = sqrt(2 / 1024) = " << stddev
      << " (fan_out would give " << std::sqrt(2.0 / 256) << "; forgetting sqrt(3) in the bound gives "
      << stddev / std::sqrt(3.0) << ")";
}

TEST(LayersInit, KaimingNormalForBothFanModesAndALeakySlope) {
  Generator g(2);
  EXPECT_NEAR(moments(nn::init::kaiming_normal_(zeros({256, 1024}), 0, FanMode::FanIn, Nonlinearity::ReLU, g)).std,
              std::sqrt(2.0 / 1024), 0.015 * std::sqrt(2.0 / 1024));
  EXPECT_NEAR(moments(nn::init::kaiming_normal_(zeros({256, 1024}), 0, FanMode::FanOut, Nonlinearity::ReLU, g)).std,
              std::sqrt(2.0 / 256), 0.015 * std::sqrt(2.0 / 256))
      << "FanMode::FanOut divides by fan_out = size(0) = 256";
  const double leaky = std::sqrt(2.0 / 1.04) / std::sqrt(1024.0);
  const Moments m =
      moments(nn::init::kaiming_normal_(zeros({256, 1024}), 0.2, FanMode::FanIn, Nonlinearity::LeakyReLU, g));
  EXPECT_NEAR(m.std, leaky, 0.015 * leaky) << "the gain of a leaky ReLU with slope a is sqrt(2 / (1 + a^2))";
  EXPECT_NEAR(m.mean, 0.0, 3e-4);
}

TEST(LayersInit, DefaultKaimingIsForReLU) {
  Generator a(3), b(3);
  EXPECT_EQ(nn::init::kaiming_uniform_(zeros({16, 32}), 0.0, FanMode::FanIn, Nonlinearity::LeakyReLU, a).to_vector(),
            nn::init::kaiming_uniform_(zeros({16, 32}), 0.0, FanMode::FanIn, Nonlinearity::ReLU, b).to_vector())
      << "leaky ReLU with slope 0 is ReLU: the same gain sqrt(2)";
}

TEST(LayersInit, XavierUsesBothFans) {
  Generator g(4);
  const double stddev = std::sqrt(2.0 / (1024 + 256));
  const Moments u = moments(nn::init::xavier_uniform_(zeros({256, 1024}), 1.0, g));
  EXPECT_LE(u.max, std::sqrt(3.0) * stddev * (1 + 1e-6));
  EXPECT_GT(u.max, 0.99 * std::sqrt(3.0) * stddev) << "xavier_uniform_'s bound is sqrt(6 / (fan_in + fan_out))";
  EXPECT_NEAR(u.std, stddev, 0.015 * stddev);
  const Moments n = moments(nn::init::xavier_normal_(zeros({256, 1024}), 1.0, g));
  EXPECT_NEAR(n.std, stddev, 0.015 * stddev) << "xavier_normal_'s std is sqrt(2 / (fan_in + fan_out)) = " << stddev;
  const Moments tanh_gain = moments(nn::init::xavier_normal_(zeros({256, 1024}), 5.0 / 3.0, g));
  EXPECT_NEAR(tanh_gain.std, 5.0 / 3.0 * stddev, 0.015 * 5.0 / 3.0 * stddev) << "the gain multiplies the std";
}

TEST(LayersInit, InitWritesThroughAView) {
  Tensor w = zeros({3, 4});
  nn::init::constant_(w.t(), 2.0);
  EXPECT_THAT(w.to_vector(), ::testing::Each(2.0f)) << "filling the transposed view fills the tensor it looks at";
  Generator a(9), b(9);
  nn::init::uniform_(w.t(), -1, 1, a);
  EXPECT_EQ(w.t().to_vector(), nn::init::uniform_(zeros({4, 3}), -1, 1, b).to_vector())
      << "a view is filled in its own row-major order";
}

TEST_F(LayersAutograd, InitializingAParameterIsNotRecorded) {
  nn::Linear fc(8, 4, true, 1);
  ASSERT_TRUE(fc.weight.requires_grad());
  recorded_ops.clear();
  Generator g(2);
  EXPECT_NO_THROW(nn::init::kaiming_normal_(fc.weight, 0, FanMode::FanIn, Nonlinearity::ReLU, g));
  EXPECT_NO_THROW(nn::init::xavier_uniform_(fc.weight, 1.0, g));
  EXPECT_NO_THROW(nn::init::uniform_(fc.bias, -1, 1, g));
  EXPECT_TRUE(recorded_ops.empty()) << "initialization is not a step of the graph; recorded " << ops();
  EXPECT_TRUE(fc.weight.requires_grad());
}

// ---------------------------------------------------------------------------------------
// Linear

TEST(LayersLinear, WeightIsOutByInAndBiasIsOut) {
  nn::Linear fc(3, 5, true, 1);
  EXPECT_EQ(fc.weight.shape(), (Shape{5, 3}))
      << "the weight is [out_features, in_features] (PyTorch's layout, so weights copy to and from libtorch); "
         "[in, out] is its transpose";
  EXPECT_EQ(fc.bias.shape(), (Shape{5}));
  EXPECT_EQ(fc.in_features(), 3);
  EXPECT_EQ(fc.out_features(), 5);
  EXPECT_TRUE(fc.weight.requires_grad());
  EXPECT_TRUE(fc.bias.requires_grad());
  EXPECT_THROW(nn::Linear(0, 3), std::invalid_argument);
}

TEST(LayersLinear, ForwardIsXTimesWTransposedPlusBias) {
  nn::Linear fc(3, 2, true, 1);
  fc.weight.copy_(tensor({{1, 0, 0}, {0, 1, 1}}));
  fc.bias.copy_(tensor({10, 20}));
  Tensor y;
  try {
    y = fc(tensor({{1, 2, 3}, {4, 5, 6}}));
  } catch (const ShapeError& e) {
    FAIL() << "forward threw \"" << e.what() << "\": the weight is [out, in] = [2, 3], so the product is "
           << "x.matmul(weight.t()), [N, 3] @ [3, 2]";
  }
  EXPECT_EQ(y.shape(), (Shape{2, 2}));
  EXPECT_THAT(y.to_vector(), ElementsAre(11, 25, 14, 31));
}

TEST(LayersLinear, ASquareLayerNeedsTheTransposeToo) {
  nn::Linear fc(2, 2, true, 1);
  fc.weight.copy_(tensor({{1, 2}, {3, 4}}));
  nn::init::zeros_(fc.bias);
  const Values y = fc(tensor({{1, 0}})).to_vector();
  EXPECT_THAT(y, ElementsAre(1, 3)) << "got [" << y[0] << ", " << y[1]
                                    << "]: [1, 2] would be x W, but a Linear computes x Wᵀ (row j of W belongs to "
                                       "output j)";
}

TEST(LayersLinear, BiasIsAddedToEveryExampleOfTheBatch) {
  nn::Linear fc(2, 3, true, 1);
  nn::init::zeros_(fc.weight);
  fc.bias.copy_(tensor({1, 2, 3}));
  EXPECT_THAT(fc(zeros({3, 2})).to_vector(), ElementsAre(1, 2, 3, 1, 2, 3, 1, 2, 3))
      << "each row (example) gets the whole bias [1, 2, 3]; rows [1, 1, 1], [2, 2, 2], ... mean the bias was "
         "broadcast down the columns (a bias of shape [out, 1])";
  EXPECT_THAT(fc(zeros({5, 2})).to_vector(), ElementsAre(1, 2, 3, 1, 2, 3, 1, 2, 3, 1, 2, 3, 1, 2, 3));
}

TEST(LayersLinear, ASingleExampleOfShapeIn) {
  nn::Linear fc(4, 3, true, 2);
  const Tensor x = randn({4}, 3);
  const Tensor y = fc(x);
  EXPECT_EQ(y.shape(), (Shape{3}));
  EXPECT_TRUE(allclose(y, fc(x.reshape({1, 4})).reshape({3}), 1e-6f, 1e-6f));
}

TEST(LayersLinear, WithoutBias) {
  nn::Linear fc(3, 2, /*bias=*/false, 1);
  EXPECT_FALSE(fc.bias.defined());
  EXPECT_EQ(names_of(fc.named_parameters()), (Names{"weight"})) << "no bias, no \"bias\" parameter";
  fc.weight.copy_(tensor({{1, 2, 3}, {4, 5, 6}}));
  EXPECT_THAT(fc(tensor({{1, 1, 1}})).to_vector(), ElementsAre(6, 15));
}

TEST(LayersLinear, AWrongInputShapeNamesTheShapeAndInFeatures) {
  nn::Linear fc(3, 2, true, 1);
  const Tensor wide = zeros({2, 5});
  const std::string message = error_message<ShapeError>([&] { fc(wide); });
  EXPECT_THAT(message, HasSubstr("[2, 5]"));
  EXPECT_THAT(message, HasSubstr("in_features=3"));
  const Tensor images = zeros({2, 2, 3});
  EXPECT_THAT(error_message<ShapeError>([&] { fc(images); }), HasSubstr("[2, 2, 3]"))
      << "only [N, in_features] and [in_features] fit; a 3-D input must be reshaped first";
  const Tensor scalar = scalar_tensor(1);
  EXPECT_THAT(error_message<ShapeError>([&] { fc(scalar); }), HasSubstr("[]"));
}

TEST(LayersLinear, DefaultInitIsPyTorchsUniformForWeightAndBias) {
  nn::Linear fc(1024, 512, true, 9);
  const double bound = 1.0 / 32;  // 1 / sqrt(in_features)
  const Moments w = moments(fc.weight);
  EXPECT_LE(w.max, bound * (1 + 1e-6));
  EXPECT_GE(w.min, -bound * (1 + 1e-6));
  EXPECT_GT(w.max, 0.99 * bound) << "weights from U(-1/sqrt(in), 1/sqrt(in)) = U(-" << bound << ", " << bound << ")";
  EXPECT_NEAR(w.std, bound / std::sqrt(3.0), 0.015 * bound / std::sqrt(3.0))
      << "kaiming_uniform_(w, a = sqrt(5)) has std 1/sqrt(3 in); the Kaiming/ReLU init would be sqrt(2/in)";
  EXPECT_NEAR(w.mean, 0.0, 1e-4);
  const Moments b = moments(fc.bias);
  EXPECT_LE(b.max, bound * (1 + 1e-6));
  EXPECT_GE(b.min, -bound * (1 + 1e-6));
  EXPECT_GT(b.std, 0.8 * bound / std::sqrt(3.0))
      << "PyTorch's Linear draws the bias from U(-1/sqrt(in), 1/sqrt(in)) as well, not zeros";
}

TEST(LayersLinear, TheSeedIsHonoured) {
  nn::Linear a(5, 4, true, 7), b(5, 4, true, 7), c(5, 4, true, 8);
  EXPECT_EQ(a.weight.to_vector(), b.weight.to_vector()) << "the same seed must give the same weights";
  EXPECT_EQ(a.bias.to_vector(), b.bias.to_vector());
  EXPECT_NE(a.weight.to_vector(), c.weight.to_vector()) << "another seed must give other weights";
}

TEST(LayersLinear, SeededNumbersAreTheDocumentedOnes) {
  nn::Linear fc(2, 3, true, 42);
  Generator g(42);
  const double bound = 1.0 / std::sqrt(2.0);
  auto next = [&] { return static_cast<float>(-bound) + g.uniform() * static_cast<float>(2 * bound); };
  Values weight(6), bias(3);
  for (float& w : weight) w = next();
  for (float& b : bias) b = next();
  EXPECT_THAT(fc.weight.to_vector(), Pointwise(FloatNear(1e-6f), weight))
      << "the weight is drawn first, in row-major order, from Generator(seed): low + (high - low) * u";
  EXPECT_THAT(fc.bias.to_vector(), Pointwise(FloatNear(1e-6f), bias))
      << "then the bias, from the same generator, with the same bound 1/sqrt(in_features)";
}

TEST(LayersLinear, UnseededLayersDifferAndManualSeedRepeatsThem) {
  nn::init::manual_seed(123);
  nn::Linear a(3, 3), b(3, 3);
  EXPECT_NE(a.weight.to_vector(), b.weight.to_vector()) << "unseeded layers draw from one stream: they differ";
  nn::init::manual_seed(123);
  nn::Linear c(3, 3);
  EXPECT_EQ(a.weight.to_vector(), c.weight.to_vector()) << "manual_seed restarts the default stream";
}

TEST_F(LayersAutograd, LinearForwardIsMadeOfRecordedOps) {
  nn::Linear fc(3, 2, true, 1);
  const Tensor y = fc(randn({4, 3}, 2));
  EXPECT_TRUE(recorded("matmul") && recorded("add") && !recorded("map"))
      << "forward must be built from recorded ops (matmul, t(), +), so that module 05 differentiates it; recorded "
      << ops();
  EXPECT_TRUE(y.requires_grad());
}

// ---------------------------------------------------------------------------------------
// Dropout

TEST(LayersDropout, TrainingZeroesAFractionPAndScalesTheRest) {
  nn::Dropout drop(0.3, 1);
  const Values y = drop(ones({500, 400})).to_vector();
  const float scale = 1.0f / 0.7f;
  int64_t zeroed = 0, scaled = 0, other = 0;
  for (float v : y) {
    if (v == 0.0f) {
      ++zeroed;
    } else if (std::fabs(v - scale) < 1e-6f) {
      ++scaled;
    } else {
      ++other;
    }
  }
  EXPECT_EQ(other, 0) << "every output is 0 or x / (1 - p) = " << scale
                      << "; survivors left at 1 mean the 1/(1-p) scale of inverted dropout is missing";
  EXPECT_NEAR(static_cast<double>(zeroed) / 200000, 0.3, 0.005) << "about a fraction p of the elements is zeroed";
  EXPECT_NEAR(moments(Tensor(y, {200000})).mean, 1.0, 0.01) << "inverted dropout keeps the expected value";
}

TEST(LayersDropout, EvaluationIsTheIdentity) {
  nn::Dropout drop(0.5, 1);
  drop.eval();
  const Tensor x = randn({8, 16}, 2);
  EXPECT_EQ(drop(x).to_vector(), x.to_vector()) << "dropout must not drop (or scale) in evaluation mode";
  drop.train();
  EXPECT_NE(drop(x).to_vector(), x.to_vector());
}

TEST(LayersDropout, PZeroKeepsEverythingAndPOneDropsEverythingWithoutNaN) {
  const Tensor x = randn({10, 10}, 3) * 1000.0f;
  nn::Dropout keep(0.0, 1);
  EXPECT_EQ(keep(x).to_vector(), x.to_vector());
  nn::Dropout all(1.0, 1);
  const Tensor y = all(x);
  EXPECT_TRUE(all_finite(y)) << "p = 1: 1/(1-p) is infinite, and 0 * inf is NaN; choose 0 for dropped elements";
  EXPECT_THAT(y.to_vector(), ::testing::Each(0.0f));
}

TEST(LayersDropout, AProbabilityOutsideZeroToOneIsAnError) {
  nn::Dropout fine(1.0, 1);
  EXPECT_THAT(fine(ones({2})).to_vector(), ElementsAre(0, 0));
  EXPECT_THAT(error_message<std::invalid_argument>([] { nn::Dropout(1.5); }), HasSubstr("p=1.5"));
  EXPECT_THAT(error_message<std::invalid_argument>([] { nn::Dropout(-0.1); }), HasSubstr("[0, 1]"));
  error_message<std::invalid_argument>([] { nn::Dropout(std::numeric_limits<double>::quiet_NaN()); });
}

TEST(LayersDropout, TheSeedIsHonouredAndEveryCallDrawsANewMask) {
  nn::Dropout a(0.5, 7), b(0.5, 7), c(0.5, 8);
  const Tensor x = ones({64});
  const Values first = a(x).to_vector();
  EXPECT_EQ(first, b(x).to_vector()) << "the same seed must give the same masks";
  EXPECT_NE(first, a(x).to_vector()) << "the generator advances: the next call needs a new mask";
  EXPECT_NE(first, c(x).to_vector()) << "another seed, other masks";
}

TEST(LayersDropout, TheMaskFollowsTheDocumentedRecipe) {
  nn::Dropout drop(0.5, 7);
  Generator g(7);
  Values want(16);
  for (float& v : want) v = g.uniform() < 0.5f ? 0.0f : 2.0f;
  EXPECT_EQ(drop(ones({4, 4})).to_vector(), want)
      << "one generator.uniform() u per element in row-major order, dropped when u < p, so the masks are the same "
         "on every machine";
}

TEST(LayersDropout, ATransposedInputKeepsItsValues) {
  nn::Dropout drop(0.5, 4);
  const Tensor x = randn({3, 5}, 5).t();
  const Values in = x.to_vector();
  const Values out = drop(x).to_vector();
  ASSERT_EQ(out.size(), in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    EXPECT_TRUE(out[i] == 0.0f || std::fabs(out[i] - 2.0f * in[i]) < 1e-5f) << "element " << i;
  }
}

TEST_F(LayersAutograd, DropoutIsAMultiplicationByAMask) {
  nn::Dropout drop(0.5, 1);
  const Tensor x = randn({4, 4}, 2).requires_grad_();
  const Tensor y = drop(x);
  EXPECT_TRUE(recorded("mul") && !recorded("map"))
      << "dropout must be x * mask (a recorded mul), with the mask made from a tensor that needs no gradient; "
         "recorded "
      << ops();
  EXPECT_TRUE(y.requires_grad());
}

// ---------------------------------------------------------------------------------------
// Sequential

TEST(LayersSequential, ChildrenAreNamedByTheirPosition) {
  nn::Sequential model(nn::Linear(4, 3, true, 1), nn::ReLU(), nn::Linear(3, 2, true, 2));
  EXPECT_EQ(model.size(), 3u);
  EXPECT_EQ(names_of(model.named_children()), (Names{"0", "1", "2"}));
  EXPECT_EQ(names_of(model.named_parameters()), (Names{"0.weight", "0.bias", "2.weight", "2.bias"}))
      << "the names PyTorch gives the parameters of an nn.Sequential";
}

TEST(LayersSequential, ForwardAppliesEveryModuleInOrder) {
  nn::Sequential model(nn::Linear(4, 3, true, 1), nn::ReLU(), nn::Linear(3, 2, true, 2), nn::Sigmoid());
  const Tensor x = randn({5, 4}, 3);
  auto fc1 = model.at<nn::Linear>(0), fc2 = model.at<nn::Linear>(2);
  EXPECT_TRUE(allclose(model(x), sigmoid(fc2->forward(relu(fc1->forward(x)))), 1e-6f, 1e-6f));
}

TEST(LayersSequential, PushBackSharesTheModuleItWasGiven) {
  nn::Sequential model;
  auto fc = std::make_shared<nn::Linear>(2, 2, true, 1);
  EXPECT_EQ(model.push_back(fc).get(), fc.get());
  std::shared_ptr<nn::ReLU> relu_module = model.push_back(nn::ReLU());
  EXPECT_EQ(model[1].get(), relu_module.get());
  EXPECT_EQ(model[0].get(), fc.get());
  EXPECT_TRUE(same_tensor(model.parameters()[0], fc->weight));
  EXPECT_EQ(names_of(model.named_children()), (Names{"0", "1"}));
}

TEST(LayersSequential, ConstructedFromAListOfSharedModules) {
  auto fc = std::make_shared<nn::Linear>(3, 2, true, 1);
  nn::Sequential model(std::vector<std::shared_ptr<nn::Module>>{fc, std::make_shared<nn::Tanh>()});
  EXPECT_EQ(names_of(model.named_children()), (Names{"0", "1"}));
  const Tensor x = randn({2, 3}, 4);
  EXPECT_TRUE(allclose(model(x), tanh(fc->forward(x))));
}

TEST(LayersSequential, AnEmptySequentialCannotRun) {
  nn::Sequential empty;
  const Tensor x = ones({2});
  EXPECT_THAT(error_message<std::logic_error>([&] { empty(x); }), HasSubstr("empty"));
}

TEST(LayersSequential, NestedSequentialsNameEveryLevel) {
  nn::Sequential model(nn::Sequential(nn::Linear(2, 2, true, 1), nn::ReLU()), nn::Linear(2, 1, true, 2));
  EXPECT_EQ(names_of(model.named_parameters()), (Names{"0.0.weight", "0.0.bias", "1.weight", "1.bias"}));
}

TEST(LayersSequential, AtGivesATypedModuleOrSaysWhatItIs) {
  nn::Sequential model(nn::Linear(2, 2, true, 1), nn::ReLU());
  EXPECT_EQ(model.at<nn::Linear>(0)->weight.shape(), (Shape{2, 2}));
  EXPECT_THAT(error_message<std::invalid_argument>([&] { model.at<nn::Linear>(1); }), HasSubstr("ReLU"));
  EXPECT_THAT(error_message<IndexError>([&] { (void)model[5]; }), HasSubstr("2 modules"));
}

TEST(LayersSequential, EvalOfTheModelStopsItsDropout) {
  nn::Sequential model(nn::Linear(6, 6, true, 1), nn::Dropout(0.9, 2));
  const Tensor x = randn({4, 6}, 3);
  model.eval();
  const Tensor expected = model.at<nn::Linear>(0)->forward(x);
  EXPECT_TRUE(allclose(model(x), expected)) << "in eval mode the Dropout inside the Sequential must pass x through";
  EXPECT_TRUE(allclose(model(x), expected));
}

// ---------------------------------------------------------------------------------------
// Activation modules

TEST(LayersActivations, EachModuleIsItsFunction) {
  const Tensor x = randn({3, 4}, 1) * 3.0f;
  EXPECT_EQ(nn::ReLU()(x).to_vector(), relu(x).to_vector());
  EXPECT_EQ(nn::LeakyReLU(0.2f)(x).to_vector(), leaky_relu(x, 0.2f).to_vector());
  EXPECT_EQ(nn::LeakyReLU()(x).to_vector(), leaky_relu(x).to_vector());
  EXPECT_EQ(nn::Sigmoid()(x).to_vector(), sigmoid(x).to_vector());
  EXPECT_EQ(nn::Tanh()(x).to_vector(), tanh(x).to_vector());
  EXPECT_EQ(nn::GELU()(x).to_vector(), gelu(x).to_vector());
  EXPECT_EQ(nn::Softmax(0)(x).to_vector(), softmax(x, 0).to_vector());
  EXPECT_EQ(nn::LogSoftmax(1)(x).to_vector(), log_softmax(x, 1).to_vector());
  EXPECT_TRUE(nn::Softmax(1).parameters().empty());
}

// ---------------------------------------------------------------------------------------
// Integration: modules 01-03 together, as a student uses them

TEST(LayersIntegration, MlpForwardMatchesAManualComputation) {
  nn::Sequential model(nn::Linear(784, 64, true, 1), nn::ReLU(), nn::Linear(64, 10, true, 2));
  const Tensor x = rand({32, 784}, 3);
  const Tensor w1 = parameter(model, "0.weight"), b1 = parameter(model, "0.bias");
  const Tensor w2 = parameter(model, "2.weight"), b2 = parameter(model, "2.bias");
  ASSERT_TRUE(w1.defined() && b1.defined() && w2.defined() && b2.defined());
  const Tensor manual = relu(x.matmul(w1.t()) + b1).matmul(w2.t()) + b2;
  const Tensor logits = model(x);
  EXPECT_EQ(logits.shape(), (Shape{32, 10}));
  EXPECT_TRUE(allclose(logits, manual, 1e-5f, 1e-6f));
  // One logit by the definition, in double: sum over the hidden units of relu(x w1_j + b1_j) w2_kj + b2_k.
  const Values xv = x.to_vector(), w1v = w1.to_vector(), b1v = b1.to_vector(), w2v = w2.to_vector();
  double logit = b2.to_vector()[3];
  for (int j = 0; j < 64; ++j) {
    double hidden = b1v[j];
    for (int i = 0; i < 784; ++i) hidden += double{xv[5 * 784 + i]} * w1v[j * 784 + i];
    logit += std::max(hidden, 0.0) * w2v[3 * 64 + j];
  }
  EXPECT_NEAR(logits.to_vector()[5 * 10 + 3], logit, 1e-4);
}

// Fashion-MNIST's test images from the tito data cache ($TITO_DATA_DIR, else the course's
// data/cache/), read with a few lines of IDX parsing: module 08 writes the real reader.
struct Batch {
  Tensor images;  // [n, 784], pixels in [0, 1]
  std::vector<int> labels;
  std::string source;
};

std::optional<Batch> fashion_mnist_test_batch(int64_t n) {
  namespace fs = std::filesystem;
  std::vector<fs::path> caches;
  if (const char* dir = std::getenv("TITO_DATA_DIR"); dir != nullptr && *dir != '\0') caches.emplace_back(dir);
  // The course the library was configured from (not __FILE__: tito's builds map the course
  // folder out of it, so it is a relative path).
  caches.push_back(fs::path(tinytorch::course::root()) / "data" / "cache");
  for (const fs::path& cache : caches) {
    const fs::path idx = cache / "fashion-mnist" / "idx";
    std::ifstream images(idx / "t10k-images-idx3-ubyte", std::ios::binary);
    std::ifstream labels(idx / "t10k-labels-idx1-ubyte", std::ios::binary);
    if (!images || !labels) continue;
    std::vector<unsigned char> header(16), pixels(static_cast<std::size_t>(n * 784)),
        classes(static_cast<std::size_t>(n));
    images.read(reinterpret_cast<char*>(header.data()), 16);
    const bool images_ok = header[2] == 0x08 && header[3] == 0x03;
    images.read(reinterpret_cast<char*>(pixels.data()), static_cast<std::streamsize>(pixels.size()));
    labels.read(reinterpret_cast<char*>(header.data()), 8);
    const bool labels_ok = header[2] == 0x08 && header[3] == 0x01;
    labels.read(reinterpret_cast<char*>(classes.data()), n);
    if (!images_ok || !labels_ok || !images || !labels) {
      ADD_FAILURE() << "the Fashion-MNIST files in " << idx << " are not IDX files of the expected size; run "
                    << "tito data verify fashion-mnist";
      return std::nullopt;
    }
    Values values(pixels.begin(), pixels.end());
    for (float& v : values) v /= 255.0f;
    return Batch{Tensor(values, {n, 784}), std::vector<int>(classes.begin(), classes.end()), idx.string()};
  }
  return std::nullopt;
}

TEST(LayersIntegration, MlpOnARealFashionMnistBatch) {
  nn::Sequential model(nn::Linear(784, 256, true, 1), nn::ReLU(), nn::Dropout(0.2, 2), nn::Linear(256, 128, true, 3),
                       nn::ReLU(), nn::Linear(128, 10, true, 4));
  std::optional<Batch> batch = fashion_mnist_test_batch(64);
  if (batch) {
    std::cout << "[   INFO   ] 64 real Fashion-MNIST test images from " << batch->source << "\n";
    EXPECT_EQ(batch->labels[0], 9) << "the first test image of Fashion-MNIST is an ankle boot (class 9)";
  } else {
    FAIL() << "Fashion-MNIST is not in the data cache ($TITO_DATA_DIR, else the course's data/cache/); import it with: "
              "tito data fetch fashion-mnist --from /usr/share/datasets/fashion-mnist";
  }
  const Tensor& x = batch->images;
  EXPECT_GE(-(-x).max().item(), 0.0f);
  EXPECT_LE(x.max().item(), 1.0f);

  model.eval();
  const Tensor logits = model(x);
  ASSERT_EQ(logits.shape(), (Shape{64, 10}));
  EXPECT_TRUE(all_finite(logits));
  const Tensor manual = model.at<nn::Linear>(5)->forward(
      relu(model.at<nn::Linear>(3)->forward(relu(model.at<nn::Linear>(0)->forward(x)))));
  EXPECT_TRUE(allclose(logits, manual, 1e-5f, 1e-6f)) << "in eval mode the MLP is Linear, ReLU, Linear, ReLU, Linear";
  EXPECT_TRUE(allclose(model(x), logits)) << "evaluation is deterministic";
  const Moments m = moments(logits);
  EXPECT_LT(m.std, 1.0) << "an untrained MLP with PyTorch's init gives logits of moderate size";
  EXPECT_THAT(softmax(logits, 1).sum(1).to_vector(), Pointwise(FloatNear(1e-5f), Values(64, 1.0f)));

  model.train();
  EXPECT_FALSE(allclose(model(x), logits)) << "in training mode the Dropout changes the hidden activations";
}

// BEGIN HIDDEN TESTS
TEST(LayersHidden, KaimingFanOutOfAConvolutionShapedWeight) {
  Generator g(21);
  const Moments m =
      moments(nn::init::kaiming_uniform_(zeros({64, 16, 3, 3}), 0, FanMode::FanOut, Nonlinearity::ReLU, g));
  const double bound = std::sqrt(6.0 / (64 * 9));
  EXPECT_LE(m.max, bound * (1 + 1e-6));
  EXPECT_GT(m.max, 0.99 * bound);
}

TEST(LayersHidden, XavierUniformWithAGainOnATallWeight) {
  Generator g(22);
  const double bound = 2.0 * std::sqrt(6.0 / (100 + 3000));
  const Moments m = moments(nn::init::xavier_uniform_(zeros({3000, 100}), 2.0, g));
  EXPECT_LE(m.max, bound * (1 + 1e-6));
  EXPECT_GT(m.max, 0.99 * bound);
  EXPECT_NEAR(m.std, bound / std::sqrt(3.0), 0.015 * bound / std::sqrt(3.0));
}

TEST(LayersHidden, DropoutFractionForAnotherProbabilityAndSeed) {
  nn::Dropout drop(0.15, 99);
  const Values y = drop(ones({400, 500})).to_vector();
  int64_t zeroed = 0;
  for (float v : y) {
    zeroed += v == 0.0f;
    if (v != 0.0f) EXPECT_NEAR(v, 1.0f / 0.85f, 1e-6f);
  }
  EXPECT_NEAR(static_cast<double>(zeroed) / 200000, 0.15, 0.004);
}

TEST(LayersHidden, DropoutMasksOfDifferentRowsAreIndependent) {
  nn::Dropout drop(0.5, 31);
  const Tensor y = drop(ones({64, 64}));
  const Values v = y.to_vector();
  int same_rows = 0;
  for (int r = 1; r < 64; ++r) {
    same_rows += std::equal(v.begin() + r * 64, v.begin() + (r + 1) * 64, v.begin());
  }
  EXPECT_EQ(same_rows, 0);
}

TEST(LayersHidden, NamedParametersThroughFourLevels) {
  nn::Sequential model(std::make_shared<Wrapper>(), nn::Linear(2, 2, true, 1));
  const Names names = names_of(model.named_parameters());
  ASSERT_EQ(names.size(), 9u);
  EXPECT_EQ(names[0], "0.scale");
  EXPECT_EQ(names[1], "0.block.0.weight");
  EXPECT_EQ(names[6], "0.head.fc2.bias");
  EXPECT_EQ(names[8], "1.bias");
}

// A module that counts how often its mode is set, to see that train() reaches it through the virtual call.
struct CountsModes : nn::Module {
  void train(bool on) override {
    ++calls;
    nn::Module::train(on);
  }
  int calls = 0;
};

TEST(LayersHidden, TrainCallsEachChildsOwnTrain) {
  Empty root;
  auto middle = root.register_module("middle", std::make_shared<Empty>());
  auto leaf = middle->register_module("leaf", std::make_shared<CountsModes>());
  root.register_parameter("w", ones({1}));
  root.eval();
  EXPECT_EQ(leaf->calls, 1);
  EXPECT_FALSE(leaf->is_training());
  root.train();
  EXPECT_EQ(leaf->calls, 2);
}

TEST(LayersHidden, ARefusedRegistrationChangesNothing) {
  Empty m;
  m.register_parameter("w", ones({2}));
  Tensor rejected = zeros({3});
  error_message<std::invalid_argument>([&] { m.register_parameter("w", rejected); });
  EXPECT_FALSE(rejected.requires_grad()) << "check the name before touching the tensor";
  EXPECT_EQ(m.named_parameters().size(), 1u);
}

TEST(LayersHidden, LinearSingleExampleWithoutBias) {
  nn::Linear fc(2, 3, false, 1);
  fc.weight.copy_(tensor({{1, 2}, {3, 4}, {5, 6}}));
  EXPECT_THAT(fc(tensor({1, -1})).to_vector(), ElementsAre(-1, -1, -1));
}

TEST(LayersHidden, ParameterCountOfANestedModel) { EXPECT_EQ(nn::parameter_count(Wrapper()), 20 + 4 + 23); }
// END HIDDEN TESTS

}  // namespace
