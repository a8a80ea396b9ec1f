// Hand-written support for the tinytorch library (not generated): line charts drawn into an
// image.hpp Image, for training curves and any figure a module wants to show.
//
//   plot::Figure figure{.title = "Training curves"};
//   plot::Axes& loss = figure.panels.emplace_back();
//   loss.title = "loss";
//   loss.x_label = "epoch";
//   loss.series.push_back({.label = "train", .x = epochs, .y = train_loss, .color = plot::colors::blue});
//   loss.vertical_lines.push_back({.x = 12, .label = "early stop"});
//   plot::write_png("curves.png", plot::render(figure));
//
// Panels sit side by side. Each gets axes with "nice" ticks (steps of 1, 2 or 5 times a power
// of ten), tick labels, light grid lines, a title, axis labels, and a legend in the corner where
// it hides the fewest points. A NaN or infinite y leaves a gap in its line.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <tinytorch/image.hpp>

namespace tinytorch::plot {

// A line through (x[i], y[i]), in order.
struct Series {
  std::string label;  // in the legend; empty: not listed
  std::vector<double> x;
  std::vector<double> y;
  Rgb color = colors::blue;
  double width = 2.0;    // pixels
  bool dashed = false;
  bool markers = false;  // a dot at every point
};

// A vertical line across the whole plot at x, with its label at the top.
struct VerticalLine {
  double x = 0;
  std::string label;
  Rgb color = colors::red;
  bool dashed = true;
};

// One marked point, with a label beside it.
struct Point {
  double x = 0;
  double y = 0;
  std::string label;
  Rgb color = colors::red;
};

// One chart: its data, its labels, and optionally its ranges.
struct Axes {
  std::string title;
  std::string x_label;
  std::string y_label;
  std::vector<Series> series;
  std::vector<VerticalLine> vertical_lines;
  std::vector<Point> points;
  // Without a bound, the range is the data's (x exactly; y with 5% to spare).
  std::optional<double> x_min, x_max, y_min, y_max;
  bool integer_x = false;  // x ticks at whole numbers only (epochs)
  // Logarithmic axes (a roofline, a sweep over sizes): equal ratios take equal room, ticks sit
  // at powers of ten (or 1, 2, 5 times them on a short range), and a value <= 0 is left out
  // (a gap in a line, a point not drawn). Bounds are given in data units, not exponents.
  bool log_x = false;
  bool log_y = false;
};

// Panels side by side under a title.
struct Figure {
  std::string title;
  std::vector<Axes> panels;
  int width = 1000;
  int height = 420;
};

// The figure as an image of figure.width x figure.height. ImageError for no panels or a
// size too small to hold them.
Image render(const Figure& figure);

// Tick positions for the range [lo, hi]: about `target` of them, `step` apart, where step is
// 1, 2 or 5 times a power of ten (a whole number when `integer`). Every value lies in
// [lo, hi]; an empty or reversed range has no ticks.
struct Ticks {
  std::vector<double> values;
  double step = 0;
};
Ticks nice_ticks(double lo, double hi, int target = 6, bool integer = false);

// A tick's label with as many decimals as its step needs: (0.25, 0.05) -> "0.25",
// (1000, 500) -> "1000", (0, 0.1) -> "0" (never "-0"); tiny or huge steps in exponent form
// ("1e-05").
std::string format_tick(double value, double step);

// Tick positions for a logarithmic axis over [lo, hi] (0 < lo < hi), in data units: the powers
// of ten inside it, or 1, 2 and 5 times them when fewer than two powers fit, or lo and hi
// themselves on a range narrower than that. An empty, reversed or non-positive range has none.
std::vector<double> log_ticks(double lo, double hi);

// A logarithmic tick's label: 0.01 -> "0.01", 1 -> "1", 2000 -> "2000", 1e5 -> "1e5",
// 1e-4 -> "1e-4"; other values with up to 3 significant digits ("250", "0.25").
std::string format_log_tick(double value);

}  // namespace tinytorch::plot
