#include <tinytorch/image.hpp>

#include <png.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <string>

#include <tinytorch/files.hpp>

#include "font.hpp"

namespace tinytorch::plot {

namespace {

constexpr int kMaxSide = 16384;

std::uint8_t channel(double value) {
  return static_cast<std::uint8_t>(std::clamp(std::lround(value), 0L, 255L));
}

std::string size_str(int width, int height) { return std::to_string(width) + " x " + std::to_string(height); }

void check_size(int width, int height, const char* what) {
  if (width < 1 || height < 1 || width > kMaxSide || height > kMaxSide) {
    throw ImageError(std::string(what) + ": an image of " + size_str(width, height) +
                     " pixels; each side must be 1 to " + std::to_string(kMaxSide));
  }
}

void check_count(std::size_t count, int width, int height, const char* what) {
  check_size(width, height, what);
  if (count != static_cast<std::size_t>(width) * static_cast<std::size_t>(height)) {
    throw ImageError(std::string(what) + ": " + std::to_string(count) + " values for an image of " +
                     size_str(width, height) + " (" + std::to_string(width * height) + " pixels)");
  }
}

// Distance from (px, py) to the segment (x0, y0)-(x1, y1).
double distance_to_segment(double px, double py, double x0, double y0, double x1, double y1) {
  const double dx = x1 - x0, dy = y1 - y0;
  const double length2 = dx * dx + dy * dy;
  double t = length2 > 0 ? ((px - x0) * dx + (py - y0) * dy) / length2 : 0.0;
  t = std::clamp(t, 0.0, 1.0);
  const double cx = x0 + t * dx - px, cy = y0 + t * dy - py;
  return std::sqrt(cx * cx + cy * cy);
}

// Frees what a png_image holds when it goes out of scope.
struct PngImage {
  png_image png{};
  PngImage() { png.version = PNG_IMAGE_VERSION; }
  ~PngImage() { png_image_free(&png); }
  PngImage(const PngImage&) = delete;
  PngImage& operator=(const PngImage&) = delete;
};

std::string encode(const std::uint8_t* pixels, int width, int height, png_uint_32 format, const char* what) {
  check_size(width, height, what);
  PngImage image;
  image.png.width = static_cast<png_uint_32>(width);
  image.png.height = static_cast<png_uint_32>(height);
  image.png.format = format;
  png_alloc_size_t size = 0;
  if (!png_image_write_to_memory(&image.png, nullptr, &size, 0, pixels, 0, nullptr)) {
    throw ImageError(std::string(what) + ": libpng cannot encode the image: " + image.png.message);
  }
  std::string bytes(size, '\0');
  if (!png_image_write_to_memory(&image.png, bytes.data(), &size, 0, pixels, 0, nullptr)) {
    throw ImageError(std::string(what) + ": libpng cannot encode the image: " + image.png.message);
  }
  bytes.resize(size);
  return bytes;
}

}  // namespace

Rgb mix(Rgb a, Rgb b, double t) {
  t = std::clamp(t, 0.0, 1.0);
  return {channel(a.r + (b.r - a.r) * t), channel(a.g + (b.g - a.g) * t), channel(a.b + (b.b - a.b) * t)};
}

Image::Image(int width, int height, Rgb fill) : width_(width), height_(height) {
  check_size(width, height, "Image");
  pixels_.resize(static_cast<std::size_t>(width) * static_cast<std::size_t>(height) * 3);
  for (std::size_t i = 0; i < pixels_.size(); i += 3) {
    pixels_[i] = fill.r;
    pixels_[i + 1] = fill.g;
    pixels_[i + 2] = fill.b;
  }
}

Rgb Image::at(int x, int y) const {
  if (!contains(x, y)) {
    throw std::out_of_range("Image::at(" + std::to_string(x) + ", " + std::to_string(y) + "): outside the image of " +
                            size_str(width_, height_));
  }
  const std::size_t i = (static_cast<std::size_t>(y) * static_cast<std::size_t>(width_) + static_cast<std::size_t>(x)) * 3;
  return {pixels_[i], pixels_[i + 1], pixels_[i + 2]};
}

void Image::set(int x, int y, Rgb color) noexcept {
  if (!contains(x, y)) return;
  const std::size_t i = (static_cast<std::size_t>(y) * static_cast<std::size_t>(width_) + static_cast<std::size_t>(x)) * 3;
  pixels_[i] = color.r;
  pixels_[i + 1] = color.g;
  pixels_[i + 2] = color.b;
}

void Image::blend(int x, int y, Rgb color, double alpha) noexcept {
  if (!contains(x, y) || !(alpha > 0.0)) return;
  set(x, y, alpha >= 1.0 ? color : mix(at(x, y), color, alpha));
}

// ---- drawing ----

void fill_rect(Image& image, int x0, int y0, int x1, int y1, Rgb color) {
  x0 = std::max(x0, 0);
  y0 = std::max(y0, 0);
  x1 = std::min(x1, image.width());
  y1 = std::min(y1, image.height());
  for (int y = y0; y < y1; ++y) {
    for (int x = x0; x < x1; ++x) image.set(x, y, color);
  }
}

void draw_rect(Image& image, int x0, int y0, int x1, int y1, Rgb color) {
  if (x1 <= x0 || y1 <= y0) return;
  fill_rect(image, x0, y0, x1, y0 + 1, color);
  fill_rect(image, x0, y1 - 1, x1, y1, color);
  fill_rect(image, x0, y0, x0 + 1, y1, color);
  fill_rect(image, x1 - 1, y0, x1, y1, color);
}

void draw_line(Image& image, double x0, double y0, double x1, double y1, Rgb color, double width) {
  if (!std::isfinite(x0) || !std::isfinite(y0) || !std::isfinite(x1) || !std::isfinite(y1) || !(width > 0)) return;
  // Coverage of each pixel near the line: 1 inside, fading to 0 over one pixel at the edge.
  const double half = width / 2.0;
  const double reach = half + 1.0;
  const int left = std::max(0, static_cast<int>(std::floor(std::min(x0, x1) - reach)));
  const int right = std::min(image.width() - 1, static_cast<int>(std::ceil(std::max(x0, x1) + reach)));
  const int top = std::max(0, static_cast<int>(std::floor(std::min(y0, y1) - reach)));
  const int bottom = std::min(image.height() - 1, static_cast<int>(std::ceil(std::max(y0, y1) + reach)));
  for (int y = top; y <= bottom; ++y) {
    for (int x = left; x <= right; ++x) {
      const double coverage = half + 0.5 - distance_to_segment(x, y, x0, y0, x1, y1);
      image.blend(x, y, color, std::min(coverage, 1.0));
    }
  }
}

void draw_dashed_line(Image& image, double x0, double y0, double x1, double y1, Rgb color, double width, double dash,
                      double gap) {
  const double length = std::hypot(x1 - x0, y1 - y0);
  if (!(length > 0) || !(dash > 0) || !(gap >= 0)) {
    draw_line(image, x0, y0, x1, y1, color, width);
    return;
  }
  const double ux = (x1 - x0) / length, uy = (y1 - y0) / length;
  for (double start = 0; start < length; start += dash + gap) {
    const double end = std::min(start + dash, length);
    draw_line(image, x0 + ux * start, y0 + uy * start, x0 + ux * end, y0 + uy * end, color, width);
  }
}

void fill_circle(Image& image, double cx, double cy, double radius, Rgb color) {
  if (!std::isfinite(cx) || !std::isfinite(cy) || !(radius > 0)) return;
  const int left = static_cast<int>(std::floor(cx - radius - 1)), right = static_cast<int>(std::ceil(cx + radius + 1));
  const int top = static_cast<int>(std::floor(cy - radius - 1)), bottom = static_cast<int>(std::ceil(cy + radius + 1));
  for (int y = top; y <= bottom; ++y) {
    for (int x = left; x <= right; ++x) {
      const double coverage = radius + 0.5 - std::hypot(x - cx, y - cy);
      image.blend(x, y, color, std::min(coverage, 1.0));
    }
  }
}

void blit(Image& image, const Image& source, int x, int y) {
  for (int sy = 0; sy < source.height(); ++sy) {
    for (int sx = 0; sx < source.width(); ++sx) image.set(x + sx, y + sy, source.at(sx, sy));
  }
}

// ---- text ----

int text_width(std::string_view text, int scale) {
  if (text.empty()) return 0;
  return (static_cast<int>(text.size()) * font::kAdvance - 1) * scale;
}

int text_height(int scale) { return font::kRows * scale; }

void draw_text(Image& image, int x, int y, std::string_view text, Rgb color, int scale) {
  scale = std::max(scale, 1);
  for (std::size_t i = 0; i < text.size(); ++i) {
    const font::Glyph& glyph = font::glyph(text[i]);
    const int left = x + static_cast<int>(i) * font::kAdvance * scale;
    for (int row = 0; row < font::kRows; ++row) {
      for (int column = 0; column < font::kColumns; ++column) {
        if (!font::ink(glyph, column, row)) continue;
        fill_rect(image, left + column * scale, y + row * scale, left + (column + 1) * scale, y + (row + 1) * scale,
                  color);
      }
    }
  }
}

void draw_text_up(Image& image, int x, int y, std::string_view text, Rgb color, int scale) {
  scale = std::max(scale, 1);
  // Font pixel (column, row) of character i lands at x + row, y - (i * advance + column): the
  // top of the glyph faces left, and the text reads from the bottom up.
  for (std::size_t i = 0; i < text.size(); ++i) {
    const font::Glyph& glyph = font::glyph(text[i]);
    const int along = static_cast<int>(i) * font::kAdvance;
    for (int row = 0; row < font::kRows; ++row) {
      for (int column = 0; column < font::kColumns; ++column) {
        if (!font::ink(glyph, column, row)) continue;
        const int px = x + row * scale;
        const int py = y - (along + column + 1) * scale;
        fill_rect(image, px, py, px + scale, py + scale, color);
      }
    }
  }
}

// ---- images from numbers ----

Image from_gray(const std::vector<float>& values, int width, int height, float lo, float hi) {
  check_count(values.size(), width, height, "from_gray");
  if (!(lo < hi)) {
    throw ImageError("from_gray: the range [" + std::to_string(lo) + ", " + std::to_string(hi) +
                     "] is empty; lo must be below hi");
  }
  Image image(width, height);
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      const float v = values[static_cast<std::size_t>(y) * static_cast<std::size_t>(width) + static_cast<std::size_t>(x)];
      if (std::isnan(v)) {
        image.set(x, y, colors::red);
        continue;
      }
      const std::uint8_t level = channel(255.0 * (static_cast<double>(v) - lo) / (static_cast<double>(hi) - lo));
      image.set(x, y, {level, level, level});
    }
  }
  return image;
}

Image from_gray(const std::vector<float>& values, int width, int height) {
  check_count(values.size(), width, height, "from_gray");
  float lo = std::numeric_limits<float>::infinity(), hi = -lo;
  for (float v : values) {
    if (std::isfinite(v)) {
      lo = std::min(lo, v);
      hi = std::max(hi, v);
    }
  }
  if (!(lo < hi)) {  // constant (or no finite values): draw it mid-gray
    lo = std::isfinite(lo) ? lo - 1.0f : -1.0f;
    hi = lo + 2.0f;
  }
  return from_gray(values, width, height, lo, hi);
}

Image from_diverging(const std::vector<float>& values, int width, int height, float limit) {
  check_count(values.size(), width, height, "from_diverging");
  if (!(limit > 0)) {
    limit = 0;
    for (float v : values) {
      if (std::isfinite(v)) limit = std::max(limit, std::fabs(v));
    }
    if (!(limit > 0)) limit = 1;
  }
  constexpr Rgb negative{33, 102, 172}, positive{178, 24, 43};
  Image image(width, height);
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      const float v = values[static_cast<std::size_t>(y) * static_cast<std::size_t>(width) + static_cast<std::size_t>(x)];
      if (std::isnan(v)) {
        image.set(x, y, colors::black);
        continue;
      }
      const double t = std::clamp(static_cast<double>(v) / limit, -1.0, 1.0);
      image.set(x, y, t < 0 ? mix(colors::white, negative, -t) : mix(colors::white, positive, t));
    }
  }
  return image;
}

Image scale_nearest(const Image& image, int factor) {
  if (factor < 1) throw ImageError("scale_nearest: the factor must be at least 1, got " + std::to_string(factor));
  Image out(image.width() * factor, image.height() * factor);
  for (int y = 0; y < out.height(); ++y) {
    for (int x = 0; x < out.width(); ++x) out.set(x, y, image.at(x / factor, y / factor));
  }
  return out;
}

Image grid(const std::vector<Image>& tiles, int columns, int gap, Rgb background,
           const std::vector<std::string>& captions) {
  if (tiles.empty()) throw ImageError("grid: no tiles");
  if (columns < 1) throw ImageError("grid: columns must be at least 1, got " + std::to_string(columns));
  if (!captions.empty() && captions.size() != tiles.size()) {
    throw ImageError("grid: " + std::to_string(captions.size()) + " captions for " + std::to_string(tiles.size()) +
                     " tiles; give one per tile, or none");
  }
  const int w = tiles[0].width(), h = tiles[0].height();
  for (std::size_t i = 0; i < tiles.size(); ++i) {
    if (tiles[i].width() != w || tiles[i].height() != h) {
      throw ImageError("grid: tile " + std::to_string(i) + " is " + size_str(tiles[i].width(), tiles[i].height()) +
                       ", tile 0 is " + size_str(w, h) + "; every tile must have one size");
    }
  }
  gap = std::max(gap, 0);
  const int caption = captions.empty() ? 0 : text_height(1) + 2;
  const int count = static_cast<int>(tiles.size());
  columns = std::min(columns, count);
  const int rows = (count + columns - 1) / columns;
  Image out(columns * (w + gap) + gap, rows * (h + caption + gap) + gap, background);
  const Rgb ink = (background.r + background.g + background.b) / 3 > 127 ? colors::black : colors::white;
  const std::size_t fits = static_cast<std::size_t>(std::max(1, (w + 1) / font::kAdvance));
  for (int i = 0; i < count; ++i) {
    const int x = gap + (i % columns) * (w + gap), y = gap + (i / columns) * (h + caption + gap);
    blit(out, tiles[static_cast<std::size_t>(i)], x, y);
    if (caption > 0) draw_text(out, x, y + h + 2, std::string_view(captions[static_cast<std::size_t>(i)]).substr(0, fits), ink);
  }
  return out;
}

// ---- PNG ----

std::string encode_png(const Image& image) {
  if (image.empty()) throw ImageError("encode_png: the image is empty");
  return encode(image.pixels().data(), image.width(), image.height(), PNG_FORMAT_RGB, "encode_png");
}

std::string encode_gray_png(const std::vector<std::uint8_t>& pixels, int width, int height) {
  check_count(pixels.size(), width, height, "encode_gray_png");
  return encode(pixels.data(), width, height, PNG_FORMAT_GRAY, "encode_gray_png");
}

void write_png(const std::filesystem::path& path, const Image& image) {
  io::write_file_atomically(path, encode_png(image));
}

void write_gray_png(const std::filesystem::path& path, const std::vector<std::uint8_t>& pixels, int width,
                    int height) {
  io::write_file_atomically(path, encode_gray_png(pixels, width, height));
}

Image decode_png(std::string_view bytes, const std::string& name) {
  PngImage image;
  if (!png_image_begin_read_from_memory(&image.png, bytes.data(), bytes.size())) {
    throw ImageError(name + " is not a PNG that libpng can read: " + image.png.message);
  }
  const int width = static_cast<int>(image.png.width), height = static_cast<int>(image.png.height);
  if (width < 1 || height < 1 || width > kMaxSide || height > kMaxSide) {
    throw ImageError(name + " is a PNG of " + size_str(width, height) + " pixels; this reader takes sides up to " +
                     std::to_string(kMaxSide));
  }
  image.png.format = PNG_FORMAT_RGB;
  Image out(width, height);
  png_color white{255, 255, 255};
  if (!png_image_finish_read(&image.png, &white, out.pixels().data(), 0, nullptr)) {
    throw ImageError(name + " is a damaged PNG: " + image.png.message);
  }
  return out;
}

Image read_png(const std::filesystem::path& path) { return decode_png(io::read_file(path), path.string()); }

}  // namespace tinytorch::plot
