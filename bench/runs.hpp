// The runs of one benchmark measurement. A verdict is judged on the median
// (one lucky or unlucky run does not decide it); best and worst are printed
// beside it to show the spread.
#pragma once

#include <algorithm>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <vector>

namespace tito::bench {

class Runs {
 public:
  void add(double value) { values_.push_back(value); }
  bool empty() const { return values_.empty(); }
  std::size_t size() const { return values_.size(); }
  double last() const { return values_.back(); }

  // The middle value; for an even count, the mean of the two middle ones.
  double median() const {
    std::vector<double> v = sorted();
    std::size_t n = v.size();
    return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
  }
  double best() const { return sorted().front(); }   // the smallest: runs are times
  double worst() const { return sorted().back(); }

  // "1.234 s (best 1.100, worst 1.500, 5 runs)" with `format` for each value.
  std::string describe(const char* format, const char* unit) const {
    char m[64], b[64], w[64];
    std::snprintf(m, sizeof m, format, median());
    std::snprintf(b, sizeof b, format, best());
    std::snprintf(w, sizeof w, format, worst());
    return std::string(m) + unit + " (best " + b + ", worst " + w + ", " + std::to_string(size()) +
           (size() == 1 ? " run)" : " runs)");
  }

 private:
  std::vector<double> sorted() const {
    if (values_.empty()) throw std::logic_error("a benchmark measurement without runs");
    std::vector<double> v = values_;
    std::sort(v.begin(), v.end());
    return v;
  }
  std::vector<double> values_;
};

}  // namespace tito::bench
