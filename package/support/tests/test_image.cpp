// Tests of <tinytorch/image.hpp>: pixels, drawing, the font, images from numbers, PNG files.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <limits>
#include <string>
#include <vector>

#include <tinytorch/files.hpp>
#include <tinytorch/image.hpp>

namespace {

namespace fs = std::filesystem;
namespace plot = tinytorch::plot;
using plot::Image;
using plot::Rgb;

bool white(Rgb c) { return c == plot::colors::white; }

std::string image_error(auto action) {
  try {
    action();
  } catch (const plot::ImageError& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected an ImageError";
  return "";
}

fs::path temp_path(const std::string& name) {
  return fs::temp_directory_path() / ("tinytorch-image-" + std::to_string(::getpid()) + "-" + name);
}

TEST(Image, StartsFilledAndSetsPixels) {
  Image image(4, 3, {1, 2, 3});
  EXPECT_EQ(image.pixels().size(), 4u * 3u * 3u);
  EXPECT_EQ(image.at(3, 2), (Rgb{1, 2, 3}));
  image.set(2, 1, plot::colors::red);
  EXPECT_EQ(image.at(2, 1), plot::colors::red);
  EXPECT_EQ(image.pixels()[(1 * 4 + 2) * 3], 214) << "row-major, 3 bytes per pixel";
  image.set(-1, 0, plot::colors::red);  // clipped, not an error
  image.set(4, 0, plot::colors::red);
  EXPECT_THROW(image.at(4, 0), std::out_of_range);
}

TEST(Image, ASizeOutOfRangeIsAnErrorThatSaysTheSize) {
  const std::string message = image_error([] { Image(0, 5); });
  EXPECT_NE(message.find("0 x 5"), std::string::npos) << message;
}

TEST(Image, BlendMixesByAlpha) {
  Image image(1, 1, plot::colors::black);
  image.blend(0, 0, plot::colors::white, 0.5);
  EXPECT_EQ(image.at(0, 0), (Rgb{128, 128, 128}));
  image.blend(0, 0, plot::colors::white, 0.0);
  EXPECT_EQ(image.at(0, 0), (Rgb{128, 128, 128})) << "alpha 0 changes nothing";
}

TEST(Draw, ALineCoversItsRowAndFadesAtTheEdge) {
  Image image(20, 11);
  plot::draw_line(image, 2, 5, 17, 5, plot::colors::black, 1.0);
  for (int x = 2; x <= 17; ++x) EXPECT_EQ(image.at(x, 5), plot::colors::black) << "x = " << x;
  EXPECT_TRUE(white(image.at(10, 3))) << "two rows away is untouched";
  EXPECT_TRUE(white(image.at(10, 7)));
  plot::draw_line(image, 2, 2.5, 17, 2.5, plot::colors::black, 1.0);  // between two rows: half on each
  EXPECT_NEAR(image.at(10, 2).r, 128, 2) << "anti-aliased: a line between rows shades both half";
  EXPECT_NEAR(image.at(10, 3).r, 128, 2);
}

TEST(Draw, ThickDiagonalLinesAndDashes) {
  Image image(50, 50);
  plot::draw_line(image, 5, 5, 45, 45, plot::colors::blue, 4.0);
  EXPECT_EQ(image.at(25, 25), plot::colors::blue);
  EXPECT_EQ(image.at(26, 24), plot::colors::blue) << "4 pixels thick";
  EXPECT_TRUE(white(image.at(35, 15)));
  Image dashes(40, 3);
  plot::draw_dashed_line(dashes, 0, 1, 39, 1, plot::colors::black, 1.0, 6, 4);
  EXPECT_EQ(dashes.at(3, 1), plot::colors::black) << "inside the first dash";
  EXPECT_TRUE(white(dashes.at(8, 1))) << "inside the first gap (6 to 10)";
  EXPECT_EQ(dashes.at(12, 1), plot::colors::black) << "the second dash";
}

TEST(Draw, CirclesRectanglesAndBlit) {
  Image image(30, 30);
  plot::fill_circle(image, 15, 15, 5, plot::colors::green);
  EXPECT_EQ(image.at(15, 15), plot::colors::green);
  EXPECT_EQ(image.at(19, 15), plot::colors::green);
  EXPECT_TRUE(white(image.at(22, 15)));
  plot::fill_rect(image, 0, 0, 3, 2, plot::colors::red);
  EXPECT_EQ(image.at(2, 1), plot::colors::red);
  EXPECT_TRUE(white(image.at(3, 1))) << "x1 is exclusive";
  plot::draw_rect(image, 5, 5, 10, 10, plot::colors::black);
  EXPECT_EQ(image.at(9, 7), plot::colors::black);
  EXPECT_TRUE(white(image.at(7, 7)) || image.at(7, 7) == plot::colors::green);
  Image dst(5, 5);
  plot::blit(dst, Image(2, 2, plot::colors::black), 4, 4);  // clipped at the corner
  EXPECT_EQ(dst.at(4, 4), plot::colors::black);
}

TEST(Text, WidthHeightAndWhereTheInkGoes) {
  EXPECT_EQ(plot::text_width("ab"), 11);
  EXPECT_EQ(plot::text_width("ab", 2), 22);
  EXPECT_EQ(plot::text_width(""), 0);
  EXPECT_EQ(plot::text_height(2), 18);
  Image image(20, 12);
  plot::draw_text(image, 1, 1, "T", plot::colors::black);  // "#####" then the stem in column 2
  for (int x = 1; x <= 5; ++x) EXPECT_EQ(image.at(x, 1), plot::colors::black) << "the bar of T at x = " << x;
  EXPECT_EQ(image.at(3, 7), plot::colors::black) << "the stem of T";
  EXPECT_TRUE(white(image.at(1, 7)));
  Image scaled(20, 20);
  plot::draw_text(scaled, 0, 0, "T", plot::colors::black, 2);
  EXPECT_EQ(scaled.at(9, 1), plot::colors::black) << "scale 2: each font pixel is 2 x 2";
  EXPECT_TRUE(white(scaled.at(10, 1)));
}

TEST(Text, EveryPrintableCharacterHasInkAndDescendersGoBelowTheBaseline) {
  for (char c = 33; c < 127; ++c) {
    Image image(6, 9);
    plot::draw_text(image, 0, 0, std::string(1, c), plot::colors::black);
    int ink = 0;
    for (int y = 0; y < 9; ++y) {
      for (int x = 0; x < 6; ++x) ink += !white(image.at(x, y));
    }
    EXPECT_GT(ink, 0) << "the glyph of '" << c << "' is empty: the font table is out of step";
  }
  Image g(6, 9);
  plot::draw_text(g, 0, 0, "g", plot::colors::black);
  EXPECT_EQ(g.at(1, 8), plot::colors::black) << "the tail of g is in row 8, below the baseline";
  Image unknown(6, 9);
  plot::draw_text(unknown, 0, 0, "\x01", plot::colors::black);
  EXPECT_EQ(unknown.at(0, 0), plot::colors::black) << "a byte outside ASCII draws as a box";
}

TEST(Text, UpwardsTextIsTurnedAQuarterLeft) {
  Image image(12, 12);
  plot::draw_text_up(image, 1, 10, "T", plot::colors::black);
  // T's bar (row 0 of the glyph) becomes the left column x = 1, from y = 9 up to y = 5.
  for (int y = 5; y <= 9; ++y) EXPECT_EQ(image.at(1, y), plot::colors::black) << "y = " << y;
  EXPECT_EQ(image.at(7, 7), plot::colors::black) << "the stem runs to the right, at the glyph's middle column";
  EXPECT_TRUE(white(image.at(7, 9)));
}

TEST(FromNumbers, GrayMapsLoToBlackHiToWhiteAndNaNToRed) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const Image image = plot::from_gray({0.0f, 0.5f, 1.0f, 2.0f, -1.0f, nan}, 3, 2, 0.0f, 1.0f);
  EXPECT_EQ(image.at(0, 0), (Rgb{0, 0, 0}));
  EXPECT_EQ(image.at(1, 0), (Rgb{128, 128, 128}));
  EXPECT_EQ(image.at(2, 0), (Rgb{255, 255, 255}));
  EXPECT_EQ(image.at(0, 1), (Rgb{255, 255, 255})) << "clamped above";
  EXPECT_EQ(image.at(1, 1), (Rgb{0, 0, 0})) << "clamped below";
  EXPECT_EQ(image.at(2, 1), plot::colors::red) << "a NaN must not pass for a number";
  const Image own = plot::from_gray({2.0f, 4.0f}, 2, 1);
  EXPECT_EQ(own.at(0, 0), (Rgb{0, 0, 0})) << "without a range: the values' own minimum is black";
  EXPECT_EQ(own.at(1, 0), (Rgb{255, 255, 255}));
}

TEST(FromNumbers, CountsAndRangesAreChecked) {
  EXPECT_NE(image_error([] { plot::from_gray({1, 2, 3}, 2, 2, 0, 1); }).find("3 values for an image of 2 x 2"),
            std::string::npos);
  EXPECT_NE(image_error([] { plot::from_gray({1}, 1, 1, 1, 1); }).find("lo must be below hi"), std::string::npos);
}

TEST(FromNumbers, DivergingIsWhiteAtZero) {
  const Image image = plot::from_diverging({-2.0f, 0.0f, 2.0f}, 3, 1);
  EXPECT_EQ(image.at(1, 0), plot::colors::white);
  EXPECT_GT(image.at(0, 0).b, image.at(0, 0).r) << "negative is blue";
  EXPECT_GT(image.at(2, 0).r, image.at(2, 0).b) << "positive is red";
}

TEST(FromNumbers, ScaleAndGrid) {
  const Image tile = plot::from_gray({0.0f, 1.0f, 1.0f, 0.0f}, 2, 2, 0.0f, 1.0f);
  const Image big = plot::scale_nearest(tile, 3);
  EXPECT_EQ(big.width(), 6);
  EXPECT_EQ(big.at(5, 0), plot::colors::white);
  EXPECT_EQ(big.at(2, 2), plot::colors::black);
  const Image g = plot::grid({tile, tile, tile}, 2, 1, plot::colors::gray);
  EXPECT_EQ(g.width(), 2 * (2 + 1) + 1);
  EXPECT_EQ(g.height(), 2 * (2 + 1) + 1);
  EXPECT_EQ(g.at(1, 1), plot::colors::black) << "tile 0 at (1, 1)";
  EXPECT_EQ(g.at(5, 1), plot::colors::white) << "tile 1 at (4, 1): its top-right pixel";
  EXPECT_EQ(g.at(1, 4), plot::colors::black) << "tile 2 starts the second row";
  EXPECT_EQ(g.at(5, 5), plot::colors::gray) << "no fourth tile";
  const Image captioned = plot::grid({plot::scale_nearest(tile, 10)}, 1, 2, plot::colors::white, {"boot"});
  EXPECT_EQ(captioned.height(), 2 + 20 + 9 + 2 + 2) << "a caption line under each tile";
  EXPECT_NE(image_error([&] { plot::grid({tile, big}, 2); }).find("every tile must have one size"), std::string::npos);
  EXPECT_NE(image_error([&] { plot::grid({tile}, 1, 2, plot::colors::white, {"a", "b"}); }).find("2 captions for 1"),
            std::string::npos);
  EXPECT_NE(image_error([] { plot::grid({}, 1); }).find("no tiles"), std::string::npos);
}

TEST(Png, EncodedBytesAreAPngThatDecodesToTheSamePixels) {
  Image image(7, 5, plot::colors::white);
  plot::draw_line(image, 0, 0, 6, 4, plot::colors::orange, 1.5);
  const std::string bytes = plot::encode_png(image);
  ASSERT_GE(bytes.size(), 8u);
  EXPECT_EQ(bytes.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8)) << "the PNG signature";
  const Image back = plot::decode_png(bytes);
  ASSERT_EQ(back.width(), 7);
  ASSERT_EQ(back.height(), 5);
  EXPECT_EQ(back.pixels(), image.pixels()) << "PNG is lossless";
}

TEST(Png, WrittenFilesReadBackRgbAndGray) {
  const fs::path rgb = temp_path("rgb.png"), gray = temp_path("gray.png");
  Image image(3, 2, plot::colors::blue);
  image.set(2, 1, plot::colors::red);
  plot::write_png(rgb, image);
  const Image back = plot::read_png(rgb);
  EXPECT_EQ(back.at(0, 0), plot::colors::blue);
  EXPECT_EQ(back.at(2, 1), plot::colors::red);
  plot::write_gray_png(gray, {0, 100, 200, 255}, 2, 2);
  const std::string gray_bytes = tinytorch::io::read_file(gray);
  EXPECT_EQ(static_cast<unsigned char>(gray_bytes[25]), 0) << "IHDR colour type 0: a grayscale PNG";
  const Image gray_back = plot::read_png(gray);
  EXPECT_EQ(gray_back.at(1, 0), (Rgb{100, 100, 100}));
  EXPECT_EQ(gray_back.at(0, 1), (Rgb{200, 200, 200}));
  fs::remove(rgb);
  fs::remove(gray);
}

TEST(Png, NotAPngIsAnErrorNamingTheFile) {
  EXPECT_NE(image_error([] { plot::decode_png("GIF89a...", "cat.gif"); }).find("cat.gif is not a PNG"),
            std::string::npos);
  const fs::path path = temp_path("cut.png");
  const std::string whole = plot::encode_png(Image(40, 40, plot::colors::green));
  tinytorch::io::write_file_atomically(path, whole.substr(0, whole.size() / 2));
  const std::string message = image_error([&] { plot::read_png(path); });
  EXPECT_NE(message.find(path.string()), std::string::npos) << message;
  fs::remove(path);
  EXPECT_NE(image_error([] { plot::encode_gray_png({1, 2, 3}, 2, 2); }).find("3 values"), std::string::npos);
}

}  // namespace
