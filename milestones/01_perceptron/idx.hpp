// The perceptron's own reader of Fashion-MNIST's IDX files. The perceptron
// unlocks after module 04, before students write module 08's readers, so it
// reads the tito data cache itself: <cache>/fashion-mnist/idx/, as
// `tito data fetch fashion-mnist` leaves it. This is milestone code, not the
// student's library; module 08 teaches the same format properly.
#pragma once

#include <cstdint>
#include <filesystem>
#include <stdexcept>
#include <vector>

namespace perceptron {

// One split of Fashion-MNIST: `count` images of rows x cols bytes (0 = black,
// 255 = white), row-major, and one label (0-9) per image.
struct IdxImages {
  int64_t count = 0;
  int64_t rows = 0;
  int64_t cols = 0;
  std::vector<uint8_t> pixels;  // count * rows * cols
  std::vector<uint8_t> labels;  // count
};

// A file that is missing or is not what it should be; what() names the file
// and, for a missing one, the command that fetches it.
class DataError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The training (60,000) or test (10,000) split from `cache`.
IdxImages read_fashion_mnist(const std::filesystem::path& cache, bool train);

}  // namespace perceptron
