// Hand-written support for the tinytorch library (not generated): RGB images, drawing,
// a small bitmap font, and PNG files (through libpng).
//
// What the course draws with it: training curves (module 07, through plot.hpp), and from
// module 09 on images, filters and feature maps, alone or as a grid:
//
//   plot::Image tile = plot::from_gray(values, 28, 28, 0.0f, 1.0f);   // one image of floats
//   plot::write_png("digits.png", plot::grid(tiles, /*columns=*/8));   // many, as a grid
//
// Coordinates are pixels, x to the right and y down from the top-left corner. Drawing is
// clipped: what falls outside the image is not drawn, never an error.
#pragma once

#include <cstdint>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace tinytorch::plot {

// An image that cannot be made, decoded or written; what() says which and why.
class ImageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A colour: 8 bits each of red, green and blue.
struct Rgb {
  std::uint8_t r = 0, g = 0, b = 0;
  friend bool operator==(const Rgb&, const Rgb&) = default;
};

// `a` moved a fraction `t` (0 to 1) of the way to `b`.
Rgb mix(Rgb a, Rgb b, double t);

namespace colors {
inline constexpr Rgb white{255, 255, 255};
inline constexpr Rgb black{0, 0, 0};
inline constexpr Rgb dark_gray{64, 64, 64};
inline constexpr Rgb gray{128, 128, 128};
inline constexpr Rgb light_gray{225, 225, 225};
// The first colours of matplotlib's "tab10" cycle: distinct, and kind to colour-blind readers.
inline constexpr Rgb blue{31, 119, 180};
inline constexpr Rgb orange{255, 127, 14};
inline constexpr Rgb green{44, 160, 44};
inline constexpr Rgb red{214, 39, 40};
inline constexpr Rgb purple{148, 103, 189};
}  // namespace colors

// A width x height RGB image, 3 bytes per pixel, rows from the top.
class Image {
 public:
  Image() = default;
  // Every pixel `fill`. ImageError unless 1 <= width, height <= 16384.
  Image(int width, int height, Rgb fill = colors::white);

  int width() const noexcept { return width_; }
  int height() const noexcept { return height_; }
  bool empty() const noexcept { return width_ == 0; }
  bool contains(int x, int y) const noexcept { return x >= 0 && y >= 0 && x < width_ && y < height_; }
  // The pixel at (x, y); std::out_of_range outside the image.
  Rgb at(int x, int y) const;
  // Sets the pixel at (x, y); nothing outside the image.
  void set(int x, int y, Rgb color) noexcept;
  // Mixes `color` into the pixel at (x, y) with weight `alpha` (0 to 1): how anti-aliased
  // shapes draw their edges. Nothing outside the image.
  void blend(int x, int y, Rgb color, double alpha) noexcept;
  // The pixels, row-major, r g b r g b ...: width * height * 3 bytes.
  const std::vector<std::uint8_t>& pixels() const noexcept { return pixels_; }
  std::vector<std::uint8_t>& pixels() noexcept { return pixels_; }

 private:
  int width_ = 0;
  int height_ = 0;
  std::vector<std::uint8_t> pixels_;
};

// ---- drawing ----

// Fills the pixels x0 <= x < x1, y0 <= y < y1.
void fill_rect(Image& image, int x0, int y0, int x1, int y1, Rgb color);
// A one-pixel outline of the same rectangle.
void draw_rect(Image& image, int x0, int y0, int x1, int y1, Rgb color);
// An anti-aliased line from (x0, y0) to (x1, y1), `width` pixels thick, with round ends.
// Pixel centres are at whole coordinates: a line from (2, 5) to (9, 5) covers row 5.
void draw_line(Image& image, double x0, double y0, double x1, double y1, Rgb color, double width = 1.0);
// The same line as dashes of `dash` pixels with gaps of `gap`.
void draw_dashed_line(Image& image, double x0, double y0, double x1, double y1, Rgb color, double width = 1.0,
                      double dash = 6.0, double gap = 4.0);
// An anti-aliased disc.
void fill_circle(Image& image, double cx, double cy, double radius, Rgb color);
// Copies `source` into `image` with its top-left corner at (x, y).
void blit(Image& image, const Image& source, int x, int y);

// ---- text: a bitmap font of printable ASCII, `scale` image pixels per font pixel ----
//
// Each glyph is 5 x 7 pixels above the baseline (capitals and digits fill it) plus 2 rows
// below it for the descenders of g, j, p, q, y: a line of text is 9 * scale pixels tall.

// Pixels from the left of the first character to the right of the last: 6 * scale per
// character (5 of glyph, 1 of space), less the space after the last.
int text_width(std::string_view text, int scale = 1);
// 9 * scale: the cap height (7) and the descenders (2).
int text_height(int scale = 1);
// Draws `text` with its top-left corner at (x, y). A byte outside printable ASCII draws as a
// small box, so nothing is silently dropped.
void draw_text(Image& image, int x, int y, std::string_view text, Rgb color, int scale = 1);
// The same text turned a quarter left (reading upwards, as a y-axis label), with the
// bottom-left corner of its box at (x, y): it covers x .. x + text_height, y - text_width .. y.
void draw_text_up(Image& image, int x, int y, std::string_view text, Rgb color, int scale = 1);

// ---- images from numbers ----

// An image of width x height values in row-major order: `lo` black, `hi` white, clamped
// between; a NaN is drawn red so it cannot pass for a number. ImageError when the count is not
// width * height or lo >= hi.
Image from_gray(const std::vector<float>& values, int width, int height, float lo, float hi);
// The same, from the values' own minimum (black) to their maximum (white).
Image from_gray(const std::vector<float>& values, int width, int height);
// Signed values (weights, gradients): -limit blue, 0 white, +limit red, clamped; NaN black.
// limit <= 0 takes the largest |value|.
Image from_diverging(const std::vector<float>& values, int width, int height, float limit = 0.0f);
// Every pixel repeated factor x factor times: a 28 x 28 digit becomes visible at factor 4.
Image scale_nearest(const Image& image, int factor);
// Tiles of one size in rows of `columns`, `gap` pixels apart and around, on `background`.
// With captions (one per tile, or none), each is drawn under its tile, cut to the tile's width.
// ImageError for no tiles, tiles of different sizes, or a caption count that does not match.
Image grid(const std::vector<Image>& tiles, int columns, int gap = 2, Rgb background = colors::white,
           const std::vector<std::string>& captions = {});

// ---- PNG ----

// The PNG file of `image` (8-bit RGB), as bytes.
std::string encode_png(const Image& image);
// The PNG file of an 8-bit grayscale image: width * height bytes, rows from the top.
std::string encode_gray_png(const std::vector<std::uint8_t>& pixels, int width, int height);
// Writes encode_png(image) to `path`, atomically (io::write_file_atomically).
void write_png(const std::filesystem::path& path, const Image& image);
// Writes encode_gray_png(...) to `path`, atomically.
void write_gray_png(const std::filesystem::path& path, const std::vector<std::uint8_t>& pixels, int width,
                    int height);
// Any PNG (gray, palette, alpha, 16-bit) as an RGB image, composed on white. ImageError
// naming `name` when the bytes are not a PNG libpng can read.
Image decode_png(std::string_view bytes, const std::string& name = "the PNG");
// decode_png of the file's content; ImageError or io::FileError naming the file.
Image read_png(const std::filesystem::path& path);

}  // namespace tinytorch::plot
