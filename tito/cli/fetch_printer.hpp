// How `tito data` shows a fetch: a redrawn bar (bytes, rate, ETA) on a smart
// terminal, a plain line every ~10% or 10 s in a log, nothing with -q.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <string>
#include <utility>

#include "cli/context.hpp"
#include "data/observer.hpp"

namespace tito::cli {

// "1:05", "2:03:04".
std::string duration_text(double seconds);

// "12.3 MB/s".
std::string rate_text(double bytes_per_second);

class FetchPrinter : public data::FetchObserver {
 public:
  explicit FetchPrinter(Context& ctx);

  void stage(const std::string& what) override;
  void transfer_started(const std::string& file, const std::string& source, std::uint64_t offset,
                        std::uint64_t total) override;
  void transfer_progress(std::uint64_t done, std::uint64_t total) override;
  void transfer_finished(std::uint64_t done) override;
  void notice(const std::string& message) override;

 private:
  using Clock = std::chrono::steady_clock;
  double rate() const;
  std::string status_text() const;
  void draw(bool force);
  void clear_bar();

  Context& ctx_;
  bool quiet_;
  bool bar_;
  bool drawn_ = false;
  std::string file_;
  std::uint64_t total_ = 0, done_ = 0, start_offset_ = 0, next_percent_ = 0;
  Clock::time_point started_, last_draw_, last_line_;
  std::deque<std::pair<Clock::time_point, std::uint64_t>> samples_;
};

}  // namespace tito::cli
