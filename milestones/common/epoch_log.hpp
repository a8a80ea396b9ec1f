// A per-epoch log for the milestones that come before module 07's Trainer
// (the perceptron after module 04, XOR after module 05): one row of named
// numbers per epoch, written as CSV and drawn as training curves with the
// support library's charts (package/support, linked by every module).
//
//   milestone::EpochLog log({"train_loss", "test_loss", "train_accuracy", "test_accuracy"});
//   log.add({0.41, 0.39, 0.93, 0.94});                       // epoch 1
//   log.write_csv(run.out() / "log.csv");
//   log.write_curves(run.out() / "curves.png", "Perceptron",
//                    {{"loss", "binary cross-entropy", {"train_loss", "test_loss"}},
//                     {"accuracy", "fraction correct", {"train_accuracy", "test_accuracy"}}});
//
// Header-only: the harness library (milestone.cpp) does not link the student's
// library or its support; a milestone program that includes this does.
#pragma once

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <tinytorch/files.hpp>
#include <tinytorch/plot.hpp>

namespace milestone {

// One chart of the curves: its title, its y-axis label and the columns drawn in it.
struct CurvePanel {
  std::string title;
  std::string y_label;
  std::vector<std::string> columns;
  std::optional<double> y_min, y_max;  // without them, the data's range
};

class EpochLog {
 public:
  // The columns after "epoch", which the log numbers from 1.
  explicit EpochLog(std::vector<std::string> columns) : columns_(std::move(columns)) {}

  // The next epoch's row: one value per column.
  void add(std::vector<double> row) {
    if (row.size() != columns_.size()) {
      throw std::invalid_argument("EpochLog::add: " + std::to_string(row.size()) + " values for " +
                                  std::to_string(columns_.size()) + " columns");
    }
    rows_.push_back(std::move(row));
  }

  std::size_t epochs() const { return rows_.size(); }

  // The header and a row per epoch; nine significant digits, an empty field for NaN.
  std::string csv() const {
    std::string text = "epoch";
    for (const std::string& c : columns_) text += "," + c;
    text += "\n";
    for (std::size_t i = 0; i < rows_.size(); ++i) {
      text += std::to_string(i + 1);
      for (double v : rows_[i]) text += "," + number(v);
      text += "\n";
    }
    return text;
  }

  void write_csv(const std::filesystem::path& path) const { tinytorch::io::write_file_atomically(path, csv()); }

  // The curves as a PNG: the panels side by side, each column a line against the epoch.
  void write_curves(const std::filesystem::path& path, const std::string& title,
                    const std::vector<CurvePanel>& panels) const {
    static const tinytorch::plot::Rgb palette[] = {tinytorch::plot::colors::blue, tinytorch::plot::colors::orange,
                                                   tinytorch::plot::colors::green, tinytorch::plot::colors::red,
                                                   tinytorch::plot::colors::purple};
    std::vector<double> epoch;
    for (std::size_t i = 0; i < rows_.size(); ++i) epoch.push_back(static_cast<double>(i + 1));
    tinytorch::plot::Figure figure{.title = title};
    for (const CurvePanel& p : panels) {
      tinytorch::plot::Axes axes{.title = p.title, .x_label = "epoch", .y_label = p.y_label, .integer_x = true};
      axes.y_min = p.y_min;
      axes.y_max = p.y_max;
      if (!epoch.empty()) {
        axes.x_min = epoch.front() - 0.5;
        axes.x_max = epoch.back() + 0.5;
      }
      for (std::size_t k = 0; k < p.columns.size(); ++k) {
        axes.series.push_back({.label = p.columns[k],
                               .x = epoch,
                               .y = column(p.columns[k]),
                               .color = palette[k % std::size(palette)],
                               .markers = epoch.size() <= 30});
      }
      figure.panels.push_back(std::move(axes));
    }
    tinytorch::plot::write_png(path, tinytorch::plot::render(figure));
  }

  // Every epoch's value of `name`.
  std::vector<double> column(const std::string& name) const {
    for (std::size_t c = 0; c < columns_.size(); ++c) {
      if (columns_[c] != name) continue;
      std::vector<double> values;
      for (const std::vector<double>& row : rows_) values.push_back(row[c]);
      return values;
    }
    throw std::invalid_argument("EpochLog: no column '" + name + "'");
  }

 private:
  static std::string number(double v) {
    if (std::isnan(v)) return "";
    char text[32];
    std::snprintf(text, sizeof text, "%.9g", v);
    return text;
  }

  std::vector<std::string> columns_;
  std::vector<std::vector<double>> rows_;
};

}  // namespace milestone
