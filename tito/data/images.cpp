#include "data/images.hpp"

#include <png.h>

#include <algorithm>
#include <array>
#include <fstream>

#include "util/error.hpp"
#include "util/fs.hpp"

namespace tito::data {

namespace {

constexpr std::size_t kCifarSide = 32;
constexpr std::size_t kCifarRecord = 1 + kCifarSide * kCifarSide * 3;

// Reads `size` bytes at `offset`; throws naming the file when it is short.
std::string read_at(const fs::path& path, std::uint64_t offset, std::size_t size) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error("cannot read " + path.string() + ": run `tito data verify` on the dataset");
  in.seekg(static_cast<std::streamoff>(offset));
  std::string out(size, '\0');
  in.read(out.data(), static_cast<std::streamsize>(size));
  if (static_cast<std::size_t>(in.gcount()) != size) {
    throw Error(path.string() + " is shorter than its header says: run `tito data verify` on the dataset");
  }
  return out;
}

std::uint64_t file_size_of(const fs::path& path) {
  std::error_code ec;
  std::uint64_t s = fs::file_size(path, ec);
  if (ec) throw Error("cannot read " + path.string() + ": " + ec.message() + "; run `tito data fetch` again");
  return s;
}

const std::vector<std::string>& split_files(const Dataset& d, const std::string& split) {
  auto it = d.splits.find(split);
  if (it == d.splits.end()) {
    std::string known;
    for (const auto& [name, files] : d.splits) known += (known.empty() ? "" : ", ") + name;
    throw Error(d.name + " has no split '" + split + "' (it has: " + (known.empty() ? "none" : known) + ")", kExitUsage);
  }
  return it->second;
}

void check_range(const Dataset& d, const std::string& split, std::size_t first, std::size_t count, std::size_t size) {
  if (first >= size || count > size - first) {
    throw Error(d.name + " " + split + " has " + std::to_string(size) + " images (0 to " + std::to_string(size - 1) +
                    "); " + std::to_string(first) + (count > 1 ? " + " + std::to_string(count) : "") +
                    " is past the end",
                kExitUsage);
  }
}

ImageSelection read_cifar(const Dataset& d, const fs::path& dir, const std::string& split, std::size_t first,
                          std::size_t count) {
  std::vector<std::pair<fs::path, std::size_t>> batches;  // file, records
  ImageSelection out;
  for (const std::string& name : split_files(d, split)) {
    fs::path p = dir / name;
    std::uint64_t size = file_size_of(p);
    if (size % kCifarRecord != 0) {
      throw Error(p.string() + " is not a CIFAR-10 binary batch (" + std::to_string(size) + " bytes is not a multiple of " +
                  std::to_string(kCifarRecord) + ")");
    }
    batches.emplace_back(p, size / kCifarRecord);
    out.split_size += size / kCifarRecord;
  }
  check_range(d, split, first, count, out.split_size);
  for (std::size_t index = first; index < first + count; ++index) {
    std::size_t local = index;
    std::size_t b = 0;
    while (local >= batches[b].second) local -= batches[b++].second;
    std::string record = read_at(batches[b].first, static_cast<std::uint64_t>(local) * kCifarRecord, kCifarRecord);
    Image img;
    img.width = img.height = static_cast<int>(kCifarSide);
    img.label = static_cast<unsigned char>(record[0]);
    img.rgb.resize(kCifarSide * kCifarSide * 3);
    const std::size_t plane = kCifarSide * kCifarSide;
    for (std::size_t i = 0; i < plane; ++i) {
      for (std::size_t c = 0; c < 3; ++c) img.rgb[i * 3 + c] = static_cast<std::uint8_t>(record[1 + c * plane + i]);
    }
    out.images.push_back(std::move(img));
    out.indices.push_back(index);
  }
  return out;
}

std::uint32_t big_endian(const std::string& s, std::size_t at) {
  auto b = [&](std::size_t i) { return static_cast<std::uint32_t>(static_cast<unsigned char>(s[at + i])); };
  return b(0) << 24 | b(1) << 16 | b(2) << 8 | b(3);
}

// The dimensions of an IDX file of unsigned bytes.
std::vector<std::uint32_t> idx_dims(const fs::path& path) {
  std::string head = read_at(path, 0, 4);
  if (head[0] != 0 || head[1] != 0 || head[2] != 0x08) {
    throw Error(path.string() + " is not an IDX file of unsigned bytes (its magic number is wrong)");
  }
  std::size_t n = static_cast<unsigned char>(head[3]);
  std::string dims = read_at(path, 4, 4 * n);
  std::vector<std::uint32_t> out;
  for (std::size_t i = 0; i < n; ++i) out.push_back(big_endian(dims, 4 * i));
  return out;
}

ImageSelection read_idx(const Dataset& d, const fs::path& dir, const std::string& split, std::size_t first,
                        std::size_t count) {
  const std::vector<std::string>& files = split_files(d, split);
  if (files.size() != 2) throw Error(d.name + ": an idx split lists two files, the images then the labels");
  fs::path images = dir / files[0];
  fs::path labels = dir / files[1];
  std::vector<std::uint32_t> idims = idx_dims(images);
  std::vector<std::uint32_t> ldims = idx_dims(labels);
  if (idims.size() != 3 || ldims.size() != 1 || idims[0] != ldims[0]) {
    throw Error(images.string() + " and " + labels.string() + " do not describe the same images");
  }
  ImageSelection out;
  out.split_size = idims[0];
  check_range(d, split, first, count, out.split_size);
  const std::size_t rows = idims[1], cols = idims[2], pixels = rows * cols;
  std::string data = read_at(images, 4 + 4 * 3 + first * pixels, count * pixels);
  std::string label_bytes = read_at(labels, 4 + 4 + first, count);
  for (std::size_t k = 0; k < count; ++k) {
    Image img;
    img.width = static_cast<int>(cols);
    img.height = static_cast<int>(rows);
    img.label = static_cast<unsigned char>(label_bytes[k]);
    img.rgb.resize(pixels * 3);
    for (std::size_t i = 0; i < pixels; ++i) {
      std::uint8_t v = static_cast<std::uint8_t>(data[k * pixels + i]);
      img.rgb[i * 3] = img.rgb[i * 3 + 1] = img.rgb[i * 3 + 2] = v;
    }
    out.images.push_back(std::move(img));
    out.indices.push_back(first + k);
  }
  return out;
}

}  // namespace

ImageSelection read_images(const Dataset& d, const fs::path& dir, const std::string& split, std::size_t first,
                           std::size_t count) {
  if (d.format == "cifar10-binary") return read_cifar(d, dir, split, first, count);
  if (d.format == "idx") return read_idx(d, dir, split, first, count);
  throw Error(d.name + " has no image \"format\" in the registry, so tito cannot show it", kExitUsage);
}

Image scale_image(const Image& image, int scale) {
  Image out;
  out.width = image.width * scale;
  out.height = image.height * scale;
  out.label = image.label;
  out.rgb.resize(static_cast<std::size_t>(out.width) * out.height * 3);
  for (int y = 0; y < out.height; ++y) {
    for (int x = 0; x < out.width; ++x) std::copy_n(image.at(x / scale, y / scale), 3, out.at(x, y));
  }
  return out;
}

Image compose_grid(const std::vector<Image>& images, int columns, int scale, int gap) {
  Image out;
  if (images.empty() || columns <= 0) return out;
  int cell_w = 0, cell_h = 0;
  for (const Image& img : images) {
    cell_w = std::max(cell_w, img.width * scale);
    cell_h = std::max(cell_h, img.height * scale);
  }
  int cols = std::min<int>(columns, static_cast<int>(images.size()));
  int rows = (static_cast<int>(images.size()) + columns - 1) / columns;
  out.width = cols * cell_w + (cols + 1) * gap;
  out.height = rows * cell_h + (rows + 1) * gap;
  out.rgb.assign(static_cast<std::size_t>(out.width) * out.height * 3, 24);
  for (std::size_t k = 0; k < images.size(); ++k) {
    Image scaled = scale_image(images[k], scale);
    int x0 = gap + static_cast<int>(k % columns) * (cell_w + gap);
    int y0 = gap + static_cast<int>(k / columns) * (cell_h + gap);
    for (int y = 0; y < scaled.height; ++y) {
      std::copy_n(scaled.at(0, y), static_cast<std::size_t>(scaled.width) * 3, out.at(x0, y0 + y));
    }
  }
  return out;
}

std::string render_half_blocks(const Image& image, bool color) {
  static constexpr std::string_view kRamp = " .:-=+*#%@";
  std::string out;
  for (int y = 0; y < image.height; y += 2) {
    for (int x = 0; x < image.width; ++x) {
      const std::uint8_t* top = image.at(x, y);
      std::array<std::uint8_t, 3> bottom{0, 0, 0};
      if (y + 1 < image.height) std::copy_n(image.at(x, y + 1), 3, bottom.begin());
      if (color) {
        out += "\033[38;2;" + std::to_string(top[0]) + ";" + std::to_string(top[1]) + ";" + std::to_string(top[2]) +
               "m\033[48;2;" + std::to_string(bottom[0]) + ";" + std::to_string(bottom[1]) + ";" +
               std::to_string(bottom[2]) + "m\u2580";
      } else {
        int grey = (top[0] + top[1] + top[2] + bottom[0] + bottom[1] + bottom[2]) / 6;
        out += kRamp[static_cast<std::size_t>(grey) * kRamp.size() / 256];
      }
    }
    out += color ? "\033[0m\n" : "\n";
  }
  return out;
}

std::string encode_png(const Image& image) {
  png_image png{};
  png.version = PNG_IMAGE_VERSION;
  png.width = static_cast<png_uint_32>(image.width);
  png.height = static_cast<png_uint_32>(image.height);
  png.format = PNG_FORMAT_RGB;
  png_alloc_size_t size = 0;
  if (!png_image_write_to_memory(&png, nullptr, &size, 0, image.rgb.data(), 0, nullptr)) {
    throw Error(std::string("libpng cannot encode the picture: ") + png.message);
  }
  std::string out(size, '\0');
  if (!png_image_write_to_memory(&png, out.data(), &size, 0, image.rgb.data(), 0, nullptr)) {
    throw Error(std::string("libpng cannot encode the picture: ") + png.message);
  }
  out.resize(size);
  png_image_free(&png);
  return out;
}

void write_png(const fs::path& path, const Image& image) { write_file_atomic(path, encode_png(image)); }

}  // namespace tito::data
