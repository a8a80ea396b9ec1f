#include "cli/fetch_printer.hpp"

#include <algorithm>
#include <cstdio>
#include <iostream>

#include "data/download.hpp"
#include "data/http.hpp"

namespace tito::cli {

std::string duration_text(double seconds) {
  long s = static_cast<long>(seconds + 0.5);
  char buf[32];
  if (s >= 3600) {
    std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
  } else {
    std::snprintf(buf, sizeof buf, "%ld:%02ld", s / 60, s % 60);
  }
  return buf;
}

std::string rate_text(double bytes_per_second) {
  return data::human_bytes(static_cast<std::uint64_t>(bytes_per_second)) + "/s";
}

FetchPrinter::FetchPrinter(Context& ctx) : ctx_(ctx), quiet_(ctx.quiet()), bar_(ctx.terminal.interactive()) {}

void FetchPrinter::stage(const std::string& what) {
  if (quiet_) return;
  clear_bar();
  ctx_.progress().step(what);
}

void FetchPrinter::transfer_started(const std::string& file, const std::string& source, std::uint64_t offset,
                                    std::uint64_t total) {
  file_ = file;
  total_ = total;
  start_offset_ = offset;
  done_ = offset;
  started_ = Clock::now();
  last_draw_ = Clock::time_point{};
  samples_.clear();
  samples_.emplace_back(started_, offset);
  next_percent_ = total > 0 ? (offset * 10 / total + 1) * 10 : 0;
  last_line_ = started_;
  if (quiet_) return;
  std::string what = (offset > 0 ? "resuming " : "downloading ") + file + " from " + data::url_host(source);
  if (offset > 0) what += " at " + data::human_bytes(offset);
  if (total > 0) what += " (" + data::human_bytes(total) + ")";
  stage(what);
}

void FetchPrinter::transfer_progress(std::uint64_t done, std::uint64_t total) {
  done_ = done;
  if (total > 0) total_ = total;
  Clock::time_point now = Clock::now();
  if (samples_.empty() || now - samples_.back().first >= std::chrono::milliseconds(200)) {
    samples_.emplace_back(now, done);
    while (samples_.size() > 2 && now - samples_.front().first > std::chrono::seconds(5)) samples_.pop_front();
  }
  if (quiet_) return;
  if (bar_) {
    if (now - last_draw_ >= std::chrono::milliseconds(100)) draw(false);
    return;
  }
  bool step_due = total_ > 0 && done * 100 >= next_percent_ * total_ && next_percent_ <= 100;
  if (step_due || now - last_line_ >= std::chrono::seconds(10)) {
    if (total_ > 0) {
      while (next_percent_ <= 100 && done * 100 >= next_percent_ * total_) next_percent_ += 10;
    }
    last_line_ = now;
    std::cerr << "             " << file_ << ": " << status_text() << "\n";
  }
}

void FetchPrinter::transfer_finished(std::uint64_t done) {
  done_ = done;
  if (quiet_) return;
  if (bar_ && drawn_) {  // an error page draws no bar
    draw(true);
    std::cerr << "\n";
    drawn_ = false;
  }
  double seconds = std::chrono::duration<double>(Clock::now() - started_).count();
  std::uint64_t got = done > start_offset_ ? done - start_offset_ : 0;
  if (!bar_ && got > 0) {
    std::cerr << "             " << file_ << ": " << data::human_bytes(got) << " in " << duration_text(seconds) << " ("
              << rate_text(seconds > 0 ? static_cast<double>(got) / seconds : 0) << ")\n";
  }
}

void FetchPrinter::notice(const std::string& message) {
  if (quiet_) return;
  clear_bar();
  std::cerr << ctx_.terminal.yellow("        note") << " " << message << "\n";
}

double FetchPrinter::rate() const {
  if (samples_.size() < 2) return 0;
  double dt = std::chrono::duration<double>(samples_.back().first - samples_.front().first).count();
  return dt > 0 ? static_cast<double>(samples_.back().second - samples_.front().second) / dt : 0;
}

std::string FetchPrinter::status_text() const {
  std::string s = data::human_bytes(done_);
  if (total_ > 0) s += " of " + data::human_bytes(total_) + " (" + std::to_string(done_ * 100 / total_) + "%)";
  double r = rate();
  if (r > 0) {
    s += ", " + rate_text(r);
    if (total_ > done_) s += ", ETA " + duration_text(static_cast<double>(total_ - done_) / r);
  }
  return s;
}

void FetchPrinter::draw(bool force) {
  Clock::time_point now = Clock::now();
  if (!force && now - last_draw_ < std::chrono::milliseconds(100)) return;
  last_draw_ = now;
  int columns = ctx_.terminal.columns();
  std::string right = data::human_bytes(done_);
  if (total_ > 0) right += "/" + data::human_bytes(total_);
  double r = rate();
  if (r > 0) right += "  " + rate_text(r);
  if (r > 0 && total_ > done_) right += "  ETA " + duration_text(static_cast<double>(total_ - done_) / r);
  std::string name = file_.size() > 28 ? file_.substr(0, 27) + "~" : file_;
  int width = columns - static_cast<int>(name.size() + right.size()) - 12;
  std::string line = "  " + name + " ";
  if (total_ > 0 && width >= 10) {
    int filled = static_cast<int>(static_cast<double>(width) * static_cast<double>(done_) / static_cast<double>(total_));
    filled = std::min(filled, width);
    std::string bar;
    for (int i = 0; i < width; ++i) bar += i < filled ? "\u2588" : "\u2591";
    line += ctx_.terminal.cyan(bar) + " " + std::to_string(done_ * 100 / total_) + "% ";
  }
  line += " " + right;
  std::cerr << "\r\033[K" << line << std::flush;
  drawn_ = true;
}

void FetchPrinter::clear_bar() {
  if (bar_ && drawn_) {
    std::cerr << "\r\033[K" << std::flush;
    drawn_ = false;
  }
}

}  // namespace tito::cli
