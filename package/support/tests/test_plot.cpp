// Tests of <tinytorch/plot.hpp>: ticks, their labels, and rendered charts.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include <tinytorch/plot.hpp>

namespace {

namespace plot = tinytorch::plot;
using plot::Rgb;

using Values = std::vector<double>;

void expect_values(const plot::Ticks& ticks, const Values& expected) {
  ASSERT_EQ(ticks.values.size(), expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) EXPECT_NEAR(ticks.values[i], expected[i], 1e-12) << "tick " << i;
}

TEST(NiceTicks, StepsOfOneTwoOrFiveTimesAPowerOfTen) {
  plot::Ticks t = plot::nice_ticks(0, 1, 6);
  EXPECT_DOUBLE_EQ(t.step, 0.2);
  expect_values(t, {0, 0.2, 0.4, 0.6, 0.8, 1.0});
  t = plot::nice_ticks(0.13, 0.87, 6);
  EXPECT_DOUBLE_EQ(t.step, 0.2);
  expect_values(t, {0.2, 0.4, 0.6, 0.8});
  t = plot::nice_ticks(-3, 47, 6);
  EXPECT_DOUBLE_EQ(t.step, 10);
  expect_values(t, {0, 10, 20, 30, 40});
  t = plot::nice_ticks(0.0012, 0.0019, 5);
  EXPECT_NEAR(t.step, 0.0002, 1e-15);
}

TEST(NiceTicks, WholeNumbersForEpochs) {
  expect_values(plot::nice_ticks(1, 20, 7, true), {5, 10, 15, 20});
  expect_values(plot::nice_ticks(1, 3, 7, true), {1, 2, 3});
  EXPECT_TRUE(plot::nice_ticks(1, 1).values.empty()) << "an empty range has no ticks";
  EXPECT_TRUE(plot::nice_ticks(2, 1).values.empty());
  EXPECT_TRUE(plot::nice_ticks(0, std::numeric_limits<double>::infinity()).values.empty());
}

TEST(NiceTicks, ZeroIsZeroNotARoundingError) {
  const plot::Ticks t = plot::nice_ticks(-0.3, 0.3, 7);
  bool zero = false;
  for (double v : t.values) zero = zero || v == 0.0;
  EXPECT_TRUE(zero);
}

TEST(FormatTick, DecimalsFromTheStep) {
  EXPECT_EQ(plot::format_tick(0.25, 0.05), "0.25");
  EXPECT_EQ(plot::format_tick(0.4, 0.2), "0.4");
  EXPECT_EQ(plot::format_tick(2.5, 2.5), "2.5");
  EXPECT_EQ(plot::format_tick(1000, 500), "1000");
  EXPECT_EQ(plot::format_tick(-1e-17, 0.1), "0") << "never -0";
  EXPECT_EQ(plot::format_tick(3e-5, 1e-5), "3e-05");
  EXPECT_EQ(plot::format_tick(2e6, 1e6), "2e+06");
}

// Pixels of `color` in the image.
int count(const plot::Image& image, Rgb color) {
  int n = 0;
  for (int y = 0; y < image.height(); ++y) {
    for (int x = 0; x < image.width(); ++x) n += image.at(x, y) == color;
  }
  return n;
}

plot::Figure two_panels() {
  plot::Figure figure{.title = "Training curves", .width = 800, .height = 320};
  plot::Axes& loss = figure.panels.emplace_back();
  loss.title = "loss";
  loss.x_label = "epoch";
  loss.integer_x = true;
  loss.series.push_back({.label = "train", .x = {1, 2, 3, 4}, .y = {1.0, 0.6, 0.4, 0.3}, .color = plot::colors::blue});
  loss.series.push_back({.label = "validation", .x = {1, 2, 3, 4}, .y = {1.1, 0.7, 0.65, 0.7},
                         .color = plot::colors::orange, .markers = true});
  loss.vertical_lines.push_back({.x = 3, .label = "early stop", .color = plot::colors::red});
  plot::Axes& accuracy = figure.panels.emplace_back();
  accuracy.title = "accuracy";
  accuracy.series.push_back({.label = "train", .x = {1, 2, 3, 4}, .y = {0.5, 0.7, 0.8, std::nan("")}});
  accuracy.points.push_back({.x = 3, .y = 0.8, .label = "best", .color = plot::colors::green});
  return figure;
}

TEST(Render, AFigureOfTheGivenSizeWithEveryElementDrawn) {
  const plot::Image image = plot::render(two_panels());
  EXPECT_EQ(image.width(), 800);
  EXPECT_EQ(image.height(), 320);
  EXPECT_EQ(image.at(0, 0), plot::colors::white);
  EXPECT_GT(count(image, plot::colors::blue), 100) << "the train lines";
  EXPECT_GT(count(image, plot::colors::orange), 50) << "the validation line and its markers";
  EXPECT_GT(count(image, plot::colors::red), 40) << "the early-stop line and its label";
  EXPECT_GT(count(image, plot::colors::green), 20) << "the marked point";
  int title = 0;  // the figure title is black text, centred near the top
  for (int y = 6; y < 28; ++y) {
    for (int x = 250; x < 550; ++x) title += image.at(x, y) == plot::colors::black;
  }
  EXPECT_GT(title, 100);
  int right_half_blue = 0;
  for (int y = 0; y < image.height(); ++y) {
    for (int x = 400; x < 800; ++x) right_half_blue += image.at(x, y) == plot::colors::blue;
  }
  EXPECT_GT(right_half_blue, 30) << "the second panel is on the right";
}

TEST(Render, NothingToDrawAndTooSmallAreErrors) {
  try {
    plot::render(plot::Figure{});
    ADD_FAILURE() << "no panels must be an error";
  } catch (const plot::ImageError& e) {
    EXPECT_NE(std::string(e.what()).find("no panels"), std::string::npos);
  }
  plot::Figure tiny = two_panels();
  tiny.width = 60;
  tiny.height = 60;
  EXPECT_THROW(plot::render(tiny), plot::ImageError);
}

TEST(Render, OnlyNaNsStillDrawAxes) {
  plot::Figure figure{.width = 300, .height = 200};
  figure.panels.push_back({.series = {{.x = {1, 2}, .y = {std::nan(""), std::nan("")}}}});
  const plot::Image image = plot::render(figure);
  EXPECT_EQ(count(image, plot::colors::blue), 0);
  EXPECT_GT(count(image, plot::colors::gray), 100) << "the frame is drawn";
}

TEST(LogTicks, PowersOfTenInsideTheRange) {
  EXPECT_EQ(plot::log_ticks(0.5, 2000), (std::vector<double>{1, 10, 100, 1000}));
  EXPECT_EQ(plot::log_ticks(1, 100), (std::vector<double>{1, 10, 100}));
  EXPECT_EQ(plot::log_ticks(3, 60), (std::vector<double>{5, 10, 20, 50})) << "one power of ten: 1, 2, 5 times them";
  EXPECT_EQ(plot::log_ticks(1.1, 1.5), (std::vector<double>{1.1, 1.5})) << "narrower than 1-2-5: the ends";
  EXPECT_TRUE(plot::log_ticks(0, 10).empty()) << "a log axis cannot reach 0";
  EXPECT_TRUE(plot::log_ticks(10, 1).empty());
}

TEST(LogTicks, LabelsArePlainNumbersOrPowers) {
  EXPECT_EQ(plot::format_log_tick(0.01), "0.01");
  EXPECT_EQ(plot::format_log_tick(1), "1");
  EXPECT_EQ(plot::format_log_tick(2000), "2000");
  EXPECT_EQ(plot::format_log_tick(1e5), "1e5");
  EXPECT_EQ(plot::format_log_tick(1e-4), "1e-4");
  EXPECT_EQ(plot::format_log_tick(250), "250");
  EXPECT_EQ(plot::format_log_tick(2e5), "2e5");
}

// The mean x of the pixels of `color`.
double centroid_x(const plot::Image& image, plot::Rgb color) {
  double sum = 0, n = 0;
  for (int y = 0; y < image.height(); ++y) {
    for (int x = 0; x < image.width(); ++x) {
      if (image.at(x, y) == color) {
        sum += x;
        ++n;
      }
    }
  }
  return n > 0 ? sum / n : -1;
}

TEST(Render, ALogAxisGivesEqualRatiosEqualRoom) {
  plot::Figure figure{.width = 600, .height = 300};
  plot::Axes& axes = figure.panels.emplace_back();
  for (double x : {1.0, 10.0, 100.0, 1000.0, 10000.0}) {
    axes.points.push_back({.x = x, .y = x, .color = plot::colors::green});
  }
  axes.points.push_back({.x = 0, .y = 5, .color = plot::colors::red});  // not on a log axis: left out
  axes.log_x = true;
  axes.log_y = true;
  const plot::Image logged = plot::render(figure);
  EXPECT_EQ(count(logged, plot::colors::red), 0) << "x = 0 has no place on a log axis";
  EXPECT_NEAR(centroid_x(logged, plot::colors::green), 300, 40) << "1 to 10^4 evenly spread: the middle is 100";
  figure.panels[0].log_x = figure.panels[0].log_y = false;
  figure.panels[0].points.pop_back();
  EXPECT_GT(std::fabs(centroid_x(plot::render(figure), plot::colors::green) - 300), 100)
      << "on linear axes the small values crowd at the left";
}

}  // namespace
