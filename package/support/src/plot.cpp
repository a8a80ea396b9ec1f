#include <tinytorch/plot.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <limits>

namespace tinytorch::plot {

namespace {

constexpr int kTitleScale = 2;
constexpr int kTextScale = 1;
constexpr Rgb kInk = colors::dark_gray;
constexpr Rgb kGrid{236, 236, 236};

bool finite(double v) { return std::isfinite(v); }

struct Range {
  double lo = std::numeric_limits<double>::infinity();
  double hi = -std::numeric_limits<double>::infinity();
  void add(double v) {
    if (!finite(v)) return;
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  bool empty() const { return !(lo <= hi); }
};

// The x and y ranges a panel shows, and where its ticks go (in exponents on a log axis).
struct Frame {
  double x_lo, x_hi, y_lo, y_hi;
  Ticks x_ticks, y_ticks;
  bool log_x = false, log_y = false;
};

double log_or_nan(double v) { return v > 0 && finite(v) ? std::log10(v) : std::numeric_limits<double>::quiet_NaN(); }

// The axes with every x (y) replaced by its log10 when that axis is logarithmic, so that the
// rest of the drawing stays linear.
Axes to_log_space(const Axes& axes) {
  Axes out = axes;
  auto convert = [](std::vector<double>& values) {
    for (double& v : values) v = log_or_nan(v);
  };
  auto bound = [](std::optional<double>& b) {
    if (b) b = *b > 0 ? std::optional<double>(std::log10(*b)) : std::nullopt;
  };
  if (axes.log_x) {
    for (Series& s : out.series) convert(s.x);
    for (VerticalLine& v : out.vertical_lines) v.x = log_or_nan(v.x);
    for (Point& p : out.points) p.x = log_or_nan(p.x);
    bound(out.x_min);
    bound(out.x_max);
  }
  if (axes.log_y) {
    for (Series& s : out.series) convert(s.y);
    for (Point& p : out.points) p.y = log_or_nan(p.y);
    bound(out.y_min);
    bound(out.y_max);
  }
  return out;
}

// Ticks of a log axis, as exponents, from the range in exponents.
Ticks log_space_ticks(double lo, double hi) {
  Ticks ticks;
  for (double v : log_ticks(std::pow(10.0, lo), std::pow(10.0, hi))) ticks.values.push_back(std::log10(v));
  ticks.step = 1.0;
  return ticks;
}

std::string tick_label(double v, const Ticks& ticks, bool log) {
  return log ? format_log_tick(std::pow(10.0, v)) : format_tick(v, ticks.step);
}

Frame frame_of(const Axes& axes) {
  Range xs, ys;
  for (const Series& s : axes.series) {
    const std::size_t n = std::min(s.x.size(), s.y.size());
    for (std::size_t i = 0; i < n; ++i) {
      if (finite(s.x[i]) && finite(s.y[i])) {
        xs.add(s.x[i]);
        ys.add(s.y[i]);
      }
    }
  }
  for (const VerticalLine& v : axes.vertical_lines) xs.add(v.x);
  for (const Point& p : axes.points) {
    xs.add(p.x);
    ys.add(p.y);
  }
  if (xs.empty()) xs = {0, 1};
  if (ys.empty()) ys = {0, 1};
  Frame f{};
  f.x_lo = axes.x_min.value_or(xs.lo);
  f.x_hi = axes.x_max.value_or(xs.hi);
  if (!(f.x_lo < f.x_hi)) {  // one x value: centre it
    const double pad = axes.integer_x ? 1.0 : std::max(std::fabs(f.x_lo) * 0.1, 0.5);
    f.x_lo -= pad;
    f.x_hi += pad;
  }
  double y_lo = axes.y_min.value_or(ys.lo), y_hi = axes.y_max.value_or(ys.hi);
  if (!(y_lo < y_hi)) {
    const double pad = std::max(std::fabs(y_lo) * 0.1, 0.05);
    y_lo -= pad;
    y_hi += pad;
  }
  const double pad = (y_hi - y_lo) * 0.05;  // so no line runs along the frame
  if (!axes.y_min) y_lo -= pad;
  if (!axes.y_max) y_hi += pad;
  f.y_lo = y_lo;
  f.y_hi = y_hi;
  f.x_ticks = axes.log_x ? log_space_ticks(f.x_lo, f.x_hi) : nice_ticks(f.x_lo, f.x_hi, 7, axes.integer_x);
  f.y_ticks = axes.log_y ? log_space_ticks(f.y_lo, f.y_hi) : nice_ticks(f.y_lo, f.y_hi, 6);
  f.log_x = axes.log_x;
  f.log_y = axes.log_y;
  return f;
}

// Maps data coordinates to pixels of the plot area (w x h, origin at its top-left).
struct Mapping {
  Frame f;
  int w, h;
  double x(double v) const { return (v - f.x_lo) / (f.x_hi - f.x_lo) * (w - 1); }
  double y(double v) const { return (h - 1) - (v - f.y_lo) / (f.y_hi - f.y_lo) * (h - 1); }
};

void draw_series(Image& area, const Mapping& m, const Series& s) {
  const std::size_t n = std::min(s.x.size(), s.y.size());
  bool have_previous = false;
  double px = 0, py = 0;
  for (std::size_t i = 0; i < n; ++i) {
    if (!finite(s.x[i]) || !finite(s.y[i])) {
      have_previous = false;  // a gap
      continue;
    }
    const double x = m.x(s.x[i]), y = m.y(s.y[i]);
    if (have_previous) {
      if (s.dashed) {
        draw_dashed_line(area, px, py, x, y, s.color, s.width);
      } else {
        draw_line(area, px, py, x, y, s.color, s.width);
      }
    }
    px = x;
    py = y;
    have_previous = true;
  }
  if (!s.markers) return;
  for (std::size_t i = 0; i < n; ++i) {
    if (finite(s.x[i]) && finite(s.y[i])) fill_circle(area, m.x(s.x[i]), m.y(s.y[i]), s.width + 1.5, s.color);
  }
}

// A rectangle of the plot area that a label occupies.
struct Box {
  int x0, y0, x1, y1;
  bool overlaps(const Box& o) const { return x0 < o.x1 && o.x0 < x1 && y0 < o.y1 && o.y0 < y1; }
};

// Where the label of a vertical line goes: right of the line at the top, or left of it
// when it would not fit.
Box vertical_label_box(const Mapping& m, const VerticalLine& v) {
  const int x = static_cast<int>(std::lround(m.x(v.x)));
  const int tw = text_width(v.label, kTextScale);
  const int tx = x + 5 + tw < m.w ? x + 5 : x - 5 - tw;
  return {tx, 4, tx + tw, 4 + text_height(kTextScale)};
}

// How much of the lines runs through `box` (the lines sampled every few pixels).
int lines_in(const Mapping& m, const Axes& axes, const Box& box) {
  int count = 0;
  for (const Series& s : axes.series) {
    const std::size_t n = std::min(s.x.size(), s.y.size());
    for (std::size_t i = 0; i + 1 < n; ++i) {
      const double x0 = m.x(s.x[i]), y0 = m.y(s.y[i]), x1 = m.x(s.x[i + 1]), y1 = m.y(s.y[i + 1]);
      if (!finite(x0) || !finite(y0) || !finite(x1) || !finite(y1)) continue;
      const int samples = 1 + static_cast<int>(std::hypot(x1 - x0, y1 - y0) / 3);
      for (int k = 0; k <= samples; ++k) {
        const double x = x0 + (x1 - x0) * k / samples, y = y0 + (y1 - y0) * k / samples;
        count += x >= box.x0 - 3 && x <= box.x1 + 3 && y >= box.y0 - 3 && y <= box.y1 + 3;
      }
    }
    if (n == 1 && finite(s.x[0]) && finite(s.y[0])) {
      const double x = m.x(s.x[0]), y = m.y(s.y[0]);
      count += x >= box.x0 && x <= box.x1 && y >= box.y0 && y <= box.y1;
    }
  }
  return count;
}

// Where the label of a point goes: beside it, on the side (above or below, right or left)
// that crosses the fewest lines.
Box point_label_box(const Mapping& m, const Axes& axes, const Point& p) {
  const int x = static_cast<int>(std::lround(m.x(p.x))), y = static_cast<int>(std::lround(m.y(p.y)));
  const int tw = text_width(p.label, kTextScale), th = text_height(kTextScale);
  Box best{};
  int fewest = std::numeric_limits<int>::max();
  for (const int ty : {y - 8 - th, y + 8}) {
    for (const int tx : {x + 6, x - 6 - tw}) {
      const Box box{tx, ty, tx + tw, ty + th};
      int cost = lines_in(m, axes, box);
      if (box.x0 < 0 || box.y0 < 0 || box.x1 >= m.w || box.y1 >= m.h) cost += 100000;  // outside: last resort
      if (cost < fewest) {
        fewest = cost;
        best = box;
      }
    }
  }
  return best;
}

// Draws the legend in the corner of the plot area where it covers the fewest data points
// (and no label).
void draw_legend(Image& area, const Mapping& m, const Axes& axes) {
  std::vector<const Series*> listed;
  int text = 0;
  for (const Series& s : axes.series) {
    if (s.label.empty()) continue;
    listed.push_back(&s);
    text = std::max(text, text_width(s.label, kTextScale));
  }
  if (listed.empty()) return;
  const int line = 14, sample = 22, pad = 6;
  const int w = pad + sample + 6 + text + pad, h = pad + static_cast<int>(listed.size()) * line + pad - 4;
  const int margin = 8;
  const std::array<std::pair<int, int>, 4> corners = {{{area.width() - w - margin, margin},
                                                       {margin, margin},
                                                       {area.width() - w - margin, area.height() - h - margin},
                                                       {margin, area.height() - h - margin}}};
  auto covered = [&](int x0, int y0) {
    const Box legend{x0, y0, x0 + w, y0 + h};
    int count = lines_in(m, axes, legend);
    for (const VerticalLine& v : axes.vertical_lines) {
      if (!v.label.empty() && legend.overlaps(vertical_label_box(m, v))) count += 1000;
    }
    for (const Point& p : axes.points) {
      if (!p.label.empty() && legend.overlaps(point_label_box(m, axes, p))) count += 1000;
    }
    return count;
  };
  auto best = corners[0];
  int fewest = std::numeric_limits<int>::max();
  for (const auto& corner : corners) {
    const int c = covered(corner.first, corner.second);
    if (c < fewest) {
      fewest = c;
      best = corner;
    }
  }
  const auto [x0, y0] = best;
  fill_rect(area, x0, y0, x0 + w, y0 + h, colors::white);
  draw_rect(area, x0, y0, x0 + w, y0 + h, colors::light_gray);
  for (std::size_t i = 0; i < listed.size(); ++i) {
    const Series& s = *listed[i];
    const int cy = y0 + pad + static_cast<int>(i) * line + 3;
    if (s.dashed) {
      draw_dashed_line(area, x0 + pad, cy, x0 + pad + sample, cy, s.color, s.width, 5, 3);
    } else {
      draw_line(area, x0 + pad, cy, x0 + pad + sample, cy, s.color, s.width);
    }
    if (s.markers) fill_circle(area, x0 + pad + sample / 2.0, cy, s.width + 1.5, s.color);
    draw_text(area, x0 + pad + sample + 6, cy - 3, s.label, kInk, kTextScale);
  }
}

void draw_panel(Image& image, const Axes& data_axes, int left, int top, int width, int height) {
  const Axes logged = data_axes.log_x || data_axes.log_y ? to_log_space(data_axes) : Axes{};
  const Axes& axes = data_axes.log_x || data_axes.log_y ? logged : data_axes;
  const Frame f = frame_of(axes);
  std::vector<std::string> y_labels;
  int y_label_width = 0;
  for (double v : f.y_ticks.values) {
    y_labels.push_back(tick_label(v, f.y_ticks, f.log_y));
    y_label_width = std::max(y_label_width, text_width(y_labels.back(), kTextScale));
  }
  const int title_h = axes.title.empty() ? 4 : text_height(kTitleScale) + 10;
  const int axis_label = text_height(kTextScale) + 8;
  const int area_left = left + (axes.y_label.empty() ? 6 : axis_label) + y_label_width + 8;
  const int area_top = top + title_h;
  const int area_right = left + width - 14;
  const int area_bottom = top + height - (text_height(kTextScale) + 8) - (axes.x_label.empty() ? 4 : axis_label);
  if (area_right - area_left < 20 || area_bottom - area_top < 20) {
    throw ImageError("plot: a panel of " + std::to_string(width) + " x " + std::to_string(height) +
                     " pixels is too small for its axes; make the figure larger");
  }
  Image area(area_right - area_left, area_bottom - area_top, colors::white);
  const Mapping m{f, area.width(), area.height()};

  for (double v : f.y_ticks.values) fill_rect(area, 0, static_cast<int>(std::lround(m.y(v))), area.width(),
                                              static_cast<int>(std::lround(m.y(v))) + 1, kGrid);
  for (double v : f.x_ticks.values) fill_rect(area, static_cast<int>(std::lround(m.x(v))), 0,
                                              static_cast<int>(std::lround(m.x(v))) + 1, area.height(), kGrid);
  for (const VerticalLine& v : axes.vertical_lines) {
    const double x = m.x(v.x);
    if (v.dashed) {
      draw_dashed_line(area, x, 0, x, area.height() - 1, v.color, 1.5, 6, 4);
    } else {
      draw_line(area, x, 0, x, area.height() - 1, v.color, 1.5);
    }
  }
  for (const Series& s : axes.series) draw_series(area, m, s);
  for (const Point& p : axes.points) {
    fill_circle(area, m.x(p.x), m.y(p.y), 5.5, colors::white);
    fill_circle(area, m.x(p.x), m.y(p.y), 4.0, p.color);
  }
  draw_legend(area, m, axes);
  // Labels of vertical lines and points last, on top of everything in the area.
  for (const VerticalLine& v : axes.vertical_lines) {
    if (v.label.empty()) continue;
    const Box b = vertical_label_box(m, v);
    fill_rect(area, b.x0 - 2, b.y0 - 1, b.x1 + 2, b.y1, colors::white);
    draw_text(area, b.x0, b.y0, v.label, v.color, kTextScale);
  }
  for (const Point& p : axes.points) {
    if (p.label.empty()) continue;
    const Box b = point_label_box(m, axes, p);
    draw_text(area, b.x0, b.y0, p.label, p.color, kTextScale);
  }
  blit(image, area, area_left, area_top);
  draw_rect(image, area_left - 1, area_top - 1, area_right + 1, area_bottom + 1, colors::gray);

  // Ticks and their labels outside the area.
  for (std::size_t i = 0; i < f.y_ticks.values.size(); ++i) {
    const int y = area_top + static_cast<int>(std::lround(m.y(f.y_ticks.values[i])));
    fill_rect(image, area_left - 5, y, area_left - 1, y + 1, colors::gray);
    draw_text(image, area_left - 8 - text_width(y_labels[i], kTextScale), y - 3, y_labels[i], kInk, kTextScale);
  }
  for (double v : f.x_ticks.values) {
    const int x = area_left + static_cast<int>(std::lround(m.x(v)));
    const std::string label = tick_label(v, f.x_ticks, f.log_x);
    fill_rect(image, x, area_bottom + 1, x + 1, area_bottom + 5, colors::gray);
    draw_text(image, x - text_width(label, kTextScale) / 2, area_bottom + 8, label, kInk, kTextScale);
  }
  if (!axes.title.empty()) {
    draw_text(image, area_left + (area.width() - text_width(axes.title, kTitleScale)) / 2, top + 2, axes.title, kInk,
              kTitleScale);
  }
  if (!axes.x_label.empty()) {
    draw_text(image, area_left + (area.width() - text_width(axes.x_label, kTextScale)) / 2,
              area_bottom + 10 + text_height(kTextScale), axes.x_label, kInk, kTextScale);
  }
  if (!axes.y_label.empty()) {
    draw_text_up(image, left + 2, area_top + (area.height() + text_width(axes.y_label, kTextScale)) / 2, axes.y_label,
                 kInk, kTextScale);
  }
}

}  // namespace

Ticks nice_ticks(double lo, double hi, int target, bool integer) {
  Ticks ticks;
  if (!finite(lo) || !finite(hi) || !(lo < hi)) return ticks;
  const double raw = (hi - lo) / std::max(target - 1, 1);
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  double step = 10 * magnitude;
  for (double nice : {1.0, 2.0, 5.0, 10.0}) {
    if (nice * magnitude >= raw * (1 - 1e-9)) {
      step = nice * magnitude;
      break;
    }
  }
  if (integer) step = std::max(1.0, std::round(step));
  ticks.step = step;
  const double tolerance = step * 1e-9;
  for (double k = std::ceil(lo / step - 1e-9);; ++k) {
    double v = k * step;
    if (v > hi + tolerance) break;
    if (std::fabs(v) < tolerance) v = 0.0;  // no "-0", no 1e-17
    ticks.values.push_back(v);
    if (ticks.values.size() > 1000) break;  // a guard; never reached for sane targets
  }
  return ticks;
}

std::string format_tick(double value, double step) {
  char text[32];
  if (!finite(value)) return value > 0 ? "inf" : (value < 0 ? "-inf" : "nan");
  if (std::fabs(value) < std::fabs(step) * 1e-6) value = 0.0;
  const double size = std::max(std::fabs(value), std::fabs(step));
  if (step > 0 && (step < 1e-4 || size >= 1e6)) {
    std::snprintf(text, sizeof text, "%.0e", value);
    if (value == 0.0) return "0";
    return text;
  }
  int decimals = 0;
  if (step > 0 && step < 1) decimals = static_cast<int>(std::ceil(-std::log10(step) - 1e-9));
  // A step of 2.5 or 0.25 needs one digit more than its power of ten.
  const double scaled = step * std::pow(10.0, decimals);
  if (std::fabs(scaled - std::round(scaled)) > 1e-6) ++decimals;
  std::snprintf(text, sizeof text, "%.*f", decimals, value);
  std::string out = text;
  if (out.find_first_not_of("-0.") == std::string::npos) return "0";
  return out;
}

std::vector<double> log_ticks(double lo, double hi) {
  std::vector<double> ticks;
  if (!finite(lo) || !finite(hi) || !(lo > 0) || !(lo < hi)) return ticks;
  const double tolerance = 1e-9;
  const int first = static_cast<int>(std::floor(std::log10(lo))), last = static_cast<int>(std::ceil(std::log10(hi)));
  for (const std::vector<double>& mantissas : {std::vector<double>{1}, std::vector<double>{1, 2, 5}}) {
    ticks.clear();
    for (int e = first; e <= last; ++e) {
      for (double m : mantissas) {
        const double v = m * std::pow(10.0, e);
        if (v >= lo * (1 - tolerance) && v <= hi * (1 + tolerance)) ticks.push_back(v);
      }
    }
    if (ticks.size() >= 2) return ticks;
  }
  return {lo, hi};
}

std::string format_log_tick(double value) {
  if (!finite(value) || value <= 0) return format_tick(value, 1.0);
  const double exponent = std::log10(value);
  const double rounded = std::round(exponent);
  char text[32];
  if (std::fabs(exponent - rounded) < 1e-9 && (rounded >= 5 || rounded <= -4)) {
    std::snprintf(text, sizeof text, "1e%d", static_cast<int>(rounded));
    return text;
  }
  if (value >= 1e-4 && value < 1e5) {  // three significant digits, no exponent, no trailing zeros
    const int decimals = std::max(0, 2 - static_cast<int>(std::floor(exponent + 1e-9)));
    std::snprintf(text, sizeof text, "%.*f", decimals, value);
    std::string out = text;
    if (out.find('.') != std::string::npos) {
      out.erase(out.find_last_not_of('0') + 1);
      if (out.back() == '.') out.pop_back();
    }
    return out;
  }
  std::snprintf(text, sizeof text, "%.3g", value);
  std::string out = text;
  if (out.find('e') != std::string::npos) {  // %g's "2e+05" -> "2e5"
    const std::size_t e = out.find('e');
    const int power = std::stoi(out.substr(e + 1));
    out = out.substr(0, e) + "e" + std::to_string(power);
  }
  return out;
}

Image render(const Figure& figure) {
  if (figure.panels.empty()) throw ImageError("plot::render: the figure has no panels");
  Image image(figure.width, figure.height, colors::white);
  const int title_h = figure.title.empty() ? 6 : text_height(kTitleScale) + 16;
  if (!figure.title.empty()) {
    draw_text(image, (figure.width - text_width(figure.title, kTitleScale)) / 2, 8, figure.title, colors::black,
              kTitleScale);
  }
  const int count = static_cast<int>(figure.panels.size());
  const int panel_w = figure.width / count;
  for (int i = 0; i < count; ++i) {
    draw_panel(image, figure.panels[static_cast<std::size_t>(i)], i * panel_w + 6, title_h, panel_w - 12,
               figure.height - title_h - 6);
  }
  return image;
}

}  // namespace tinytorch::plot
