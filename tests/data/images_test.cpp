// Reading CIFAR-10 and IDX images, drawing them, writing PNGs.
#include "data/images.hpp"

#include <gtest/gtest.h>
#include <png.h>

#include "support.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"

namespace tito::data {
namespace {

Dataset cifar_like() {
  Dataset d;
  d.name = "cifar10";
  d.format = "cifar10-binary";
  d.classes = {"airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"};
  d.splits["train"] = {"data_batch_1.bin", "data_batch_2.bin"};
  d.splits["test"] = {"test_batch.bin"};
  return d;
}

TEST(ReadImages, ReadsCifarRecordsAcrossBatches) {
  TempDir tmp("tito-images-test");
  testing::write_bytes(tmp.path() / "data_batch_1.bin", testing::cifar_batch(20, 1));
  testing::write_bytes(tmp.path() / "data_batch_2.bin", testing::cifar_batch(20, 2));
  ImageSelection s = read_images(cifar_like(), tmp.path(), "train", 18, 4);
  EXPECT_EQ(s.split_size, 40u);
  EXPECT_EQ(s.indices, (std::vector<std::size_t>{18, 19, 20, 21}));
  ASSERT_EQ(s.images.size(), 4u);
  EXPECT_EQ(s.images[0].label, (18 + 1) % 10);
  EXPECT_EQ(s.images[3].label, (1 + 2) % 10);  // record 1 of the second batch
  const Image& img = s.images[3];
  EXPECT_EQ(img.width, 32);
  EXPECT_EQ(img.height, 32);
  const std::uint8_t* px = img.at(3, 4);  // red = x * 8, green = y * 8, blue = record * 40
  EXPECT_EQ(px[0], 24);
  EXPECT_EQ(px[1], 32);
  EXPECT_EQ(px[2], 40);
}

TEST(ReadImages, SaysHowManyImagesASplitHas) {
  TempDir tmp("tito-images-test");
  testing::write_bytes(tmp.path() / "test_batch.bin", testing::cifar_batch(5, 0));
  try {
    read_images(cifar_like(), tmp.path(), "test", 5, 1);
    FAIL() << "read past the end";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "cifar10 test has 5 images (0 to 4); 5 is past the end");
    EXPECT_EQ(e.exit_code(), kExitUsage);
  }
  try {
    read_images(cifar_like(), tmp.path(), "validation", 0, 1);
    FAIL() << "unknown split";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "cifar10 has no split 'validation' (it has: test, train)");
  }
}

std::string idx(std::uint8_t dims, const std::vector<std::uint32_t>& sizes, const std::string& data) {
  std::string out{0, 0, 0x08, static_cast<char>(dims)};
  for (std::uint32_t s : sizes) {
    for (int shift = 24; shift >= 0; shift -= 8) out += static_cast<char>((s >> shift) & 0xFF);
  }
  return out + data;
}

TEST(ReadImages, ReadsIdxImagesAndLabels) {
  TempDir tmp("tito-images-test");
  std::string pixels;
  for (int i = 0; i < 3 * 2 * 2; ++i) pixels += static_cast<char>(i * 10);
  testing::write_bytes(tmp.path() / "img", idx(3, {3, 2, 2}, pixels));
  testing::write_bytes(tmp.path() / "lbl", idx(1, {3}, std::string{7, 8, 9}));
  Dataset d;
  d.name = "mnist";
  d.format = "idx";
  d.splits["train"] = {"img", "lbl"};
  ImageSelection s = read_images(d, tmp.path(), "train", 1, 2);
  ASSERT_EQ(s.images.size(), 2u);
  EXPECT_EQ(s.split_size, 3u);
  EXPECT_EQ(s.images[0].label, 8);
  EXPECT_EQ(s.images[1].label, 9);
  EXPECT_EQ(s.images[0].width, 2);
  EXPECT_EQ(s.images[0].at(1, 1)[0], 70);  // pixel 4 + 3 of image 1
  EXPECT_EQ(s.images[0].at(1, 1)[2], 70);  // grey: the same in every channel
}

TEST(ReadImages, RefusesAFileThatIsNotIdx) {
  TempDir tmp("tito-images-test");
  testing::write_bytes(tmp.path() / "img", "not an idx file at all");
  testing::write_bytes(tmp.path() / "lbl", idx(1, {1}, "x"));
  Dataset d;
  d.name = "mnist";
  d.format = "idx";
  d.splits["train"] = {"img", "lbl"};
  try {
    read_images(d, tmp.path(), "train", 0, 1);
    FAIL() << "accepted";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()),
              (tmp.path() / "img").string() + " is not an IDX file of unsigned bytes (its magic number is wrong)");
  }
}

Image two_pixels() {
  Image img;
  img.width = 1;
  img.height = 2;
  img.rgb = {255, 0, 0, 0, 0, 255};
  return img;
}

TEST(RenderHalfBlocks, DrawsTwoPixelsPerCharacter) {
  EXPECT_EQ(render_half_blocks(two_pixels(), true), "\033[38;2;255;0;0m\033[48;2;0;0;255m\u2580\033[0m\n");
  EXPECT_EQ(render_half_blocks(two_pixels(), false), "-\n");  // grey (255 + 255) / 6 = 85 of 255
}

TEST(ComposeGrid, LaysImagesOutWithGapsAndScale) {
  std::vector<Image> images(3, two_pixels());
  Image grid = compose_grid(images, 2, 2, 1);
  EXPECT_EQ(grid.width, 2 * 2 + 3);
  EXPECT_EQ(grid.height, 2 * (4 + 1) + 1);
  EXPECT_EQ(grid.at(1, 1)[0], 255);  // first image, top-left, scaled
  EXPECT_EQ(grid.at(2, 2)[0], 255);
  EXPECT_EQ(grid.at(1, 3)[2], 255);  // its lower pixel
  EXPECT_EQ(grid.at(0, 0)[0], 24);   // background
}

TEST(EncodePng, RoundTripsThroughLibpng) {
  Image img;
  img.width = 3;
  img.height = 2;
  for (int i = 0; i < 18; ++i) img.rgb.push_back(static_cast<std::uint8_t>(i * 13));
  std::string png = encode_png(img);
  ASSERT_EQ(png.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
  png_image read{};
  read.version = PNG_IMAGE_VERSION;
  ASSERT_TRUE(png_image_begin_read_from_memory(&read, png.data(), png.size()));
  read.format = PNG_FORMAT_RGB;
  std::vector<std::uint8_t> pixels(PNG_IMAGE_SIZE(read));
  ASSERT_TRUE(png_image_finish_read(&read, nullptr, pixels.data(), 0, nullptr));
  EXPECT_EQ(read.width, 3u);
  EXPECT_EQ(read.height, 2u);
  EXPECT_EQ(pixels, img.rgb);
}

}  // namespace
}  // namespace tito::data
