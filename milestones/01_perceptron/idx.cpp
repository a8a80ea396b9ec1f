#include "idx.hpp"

#include <fstream>
#include <iterator>
#include <string>

namespace perceptron {

namespace fs = std::filesystem;

namespace {

uint32_t be32(const std::vector<uint8_t>& bytes, std::size_t at) {
  return uint32_t{bytes[at]} << 24 | uint32_t{bytes[at + 1]} << 16 | uint32_t{bytes[at + 2]} << 8 |
         uint32_t{bytes[at + 3]};
}

std::vector<uint8_t> read_all(const fs::path& file, const fs::path& cache) {
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    throw DataError("Fashion-MNIST is not in the data cache " + cache.string() + ": " + file.string() +
                    " is missing. Fetch it with\n  tito data fetch fashion-mnist --from "
                    "/usr/share/datasets/fashion-mnist\n(or without --from, from the network)");
  }
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// The IDX header: magic 0x00000800 | ndim, then ndim big-endian sizes; the
// data must fill the rest of the file exactly.
std::vector<int64_t> header(const std::vector<uint8_t>& bytes, uint32_t ndim, const fs::path& file) {
  if (bytes.size() < 4 + 4 * ndim || be32(bytes, 0) != (0x800u | ndim)) {
    throw DataError(file.string() + ": not an IDX file of " + std::to_string(ndim) + " dimensions");
  }
  std::vector<int64_t> dims;
  int64_t total = 1;
  for (uint32_t d = 0; d < ndim; ++d) {
    dims.push_back(be32(bytes, 4 + 4 * d));
    total *= dims.back();
  }
  if (static_cast<int64_t>(bytes.size()) != 4 + 4 * static_cast<int64_t>(ndim) + total) {
    throw DataError(file.string() + ": " + std::to_string(bytes.size()) + " bytes, but its header promises " +
                    std::to_string(4 + 4 * ndim + total));
  }
  return dims;
}

}  // namespace

IdxImages read_fashion_mnist(const fs::path& cache, bool train) {
  const fs::path dir = cache / "fashion-mnist" / "idx";
  const fs::path images_file = dir / (train ? "train-images-idx3-ubyte" : "t10k-images-idx3-ubyte");
  const fs::path labels_file = dir / (train ? "train-labels-idx1-ubyte" : "t10k-labels-idx1-ubyte");
  std::vector<uint8_t> images = read_all(images_file, cache);
  std::vector<uint8_t> labels = read_all(labels_file, cache);
  const std::vector<int64_t> image_dims = header(images, 3, images_file);
  const std::vector<int64_t> label_dims = header(labels, 1, labels_file);
  if (image_dims[0] != label_dims[0]) {
    throw DataError(images_file.string() + " holds " + std::to_string(image_dims[0]) + " images but " +
                    labels_file.string() + " " + std::to_string(label_dims[0]) + " labels");
  }
  IdxImages out{.count = image_dims[0], .rows = image_dims[1], .cols = image_dims[2]};
  out.pixels.assign(images.begin() + 16, images.end());
  out.labels.assign(labels.begin() + 8, labels.end());
  for (std::size_t i = 0; i < out.labels.size(); ++i) {
    if (out.labels[i] > 9) {
      throw DataError(labels_file.string() + ": label " + std::to_string(out.labels[i]) + " at " + std::to_string(i) +
                      " is not a class (0-9)");
    }
  }
  return out;
}

}  // namespace perceptron
