// Reading dataset images for `tito data show`: CIFAR-10 binary batches and
// IDX files (MNIST, Fashion-MNIST). Rendering them as 24-bit colour half
// blocks for a terminal, or as a grid picture.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "data/registry.hpp"

namespace tito::data {

namespace fs = std::filesystem;

// An 8-bit RGB picture, rows top to bottom.
struct Image {
  int width = 0;
  int height = 0;
  std::vector<std::uint8_t> rgb;  // width * height * 3
  int label = -1;                 // the class, for dataset images

  std::uint8_t* at(int x, int y) { return rgb.data() + (static_cast<std::size_t>(y) * width + x) * 3; }
  const std::uint8_t* at(int x, int y) const { return rgb.data() + (static_cast<std::size_t>(y) * width + x) * 3; }
};

struct ImageSelection {
  std::vector<Image> images;
  std::vector<std::size_t> indices;  // each image's index in the split
  std::size_t split_size = 0;        // images in the split
};

// `count` images of `split` starting at `first`, read from the dataset's
// unpacked folder `dir` as the registry's "format" says. Throws tito::Error
// for an unknown split, an index past the end, or a malformed file.
ImageSelection read_images(const Dataset& dataset, const fs::path& dir, const std::string& split, std::size_t first,
                           std::size_t count);

// A grid of `columns` images per row, each scaled by `scale`, `gap` pixels
// apart on a dark background.
Image compose_grid(const std::vector<Image>& images, int columns, int scale, int gap);

// `image` scaled up by a whole factor (nearest neighbour).
Image scale_image(const Image& image, int scale);

// The picture as terminal text: each character cell is an upper half block
// with the upper pixel as foreground and the lower as background (24-bit
// colour); without colour, a grey ramp of ASCII characters. Lines end in
// "\n"; colours are reset at the end of each line.
std::string render_half_blocks(const Image& image, bool color);

// Encodes `image` as a PNG (libpng).
std::string encode_png(const Image& image);

// Writes `image` as a PNG file, atomically.
void write_png(const fs::path& path, const Image& image);

}  // namespace tito::data
