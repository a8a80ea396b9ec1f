#include "cli/context.hpp"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <iostream>

#include "util/env.hpp"
#include "util/error.hpp"

namespace tito::cli {

namespace {

bool smart_terminal(int fd) {
  if (!::isatty(fd)) return false;
  std::string term = env_string("TERM");
  return !term.empty() && term != "dumb";
}

// "%*": "error: " / "warning: " before a message, nothing for info and debug.
class LevelPrefix : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&, spdlog::memory_buf_t& dest) override {
    std::string_view text;
    if (msg.level == spdlog::level::err || msg.level == spdlog::level::critical) text = "error: ";
    if (msg.level == spdlog::level::warn) text = "warning: ";
    dest.append(text.data(), text.data() + text.size());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override { return std::make_unique<LevelPrefix>(); }
};

}  // namespace

void Terminal::decide(const std::string& color_option) {
  // CI logs are files even when a pseudo-terminal is attached: no redrawn lines there.
  interactive_ = smart_terminal(STDERR_FILENO) && !in_ci();
  if (color_option == "always") {
    color_ = true;
  } else if (color_option == "never" || !env_string("NO_COLOR").empty()) {
    color_ = false;
  } else {
    color_ = smart_terminal(STDOUT_FILENO);
  }
}

int Terminal::columns() const {
  struct winsize ws {};
  if (::ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 20) return ws.ws_col;
  if (::ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 20) return ws.ws_col;
  return 80;
}

void StderrProgress::clear_status() {
  if (status_shown_) std::cerr << "\r\033[K" << std::flush;
  status_shown_ = false;
}

void StderrProgress::status(const std::string& now) {
  if (verbosity_ != 0 || !terminal_.interactive()) return;
  if (now.empty()) {
    clear_status();
    return;
  }
  auto t = std::chrono::steady_clock::now();
  if (status_shown_ && t - last_status_ < std::chrono::milliseconds(100)) return;
  last_status_ = t;
  std::string line = "             " + now;
  if (line.size() > 78) line.resize(78);
  std::cerr << "\r\033[K" << terminal_.dim(line) << std::flush;
  status_shown_ = true;
}

void StderrProgress::step(const std::string& what) {
  if (verbosity_ < 0) return;
  clear_status();
  std::string verb = what.substr(0, what.find(' '));
  std::string rest = what.size() > verb.size() ? what.substr(verb.size()) : "";
  if (!verb.empty()) verb[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(verb[0])));
  std::string padded = std::string(verb.size() < 12 ? 12 - verb.size() : 0, ' ') + verb;
  std::cerr << (terminal_.color() ? "\033[1;32m" + padded + "\033[0m" : padded) << rest << "\n";
}

void StderrProgress::warning(const Diagnostic& what) {
  clear_status();
  spdlog::warn("{}", what.format());
}

void StderrProgress::detail(const std::string& line) {
  if (verbosity_ > 0) clear_status();
  if (verbosity_ > 0) std::cerr << terminal_.dim("             " + line) << "\n";
}

void Context::start() {
  terminal.decide(options.color);
  auto sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>(
      terminal.color() ? spdlog::color_mode::always : spdlog::color_mode::never);
  auto logger = std::make_shared<spdlog::logger>("tito", sink);
  auto formatter = std::make_unique<spdlog::pattern_formatter>();
  formatter->add_flag<LevelPrefix>('*').set_pattern("%^%*%$%v");
  logger->set_formatter(std::move(formatter));
  logger->set_level(options.verbosity > 0 ? spdlog::level::debug
                    : options.verbosity < 0 ? spdlog::level::warn
                                            : spdlog::level::info);
  spdlog::set_default_logger(logger);
  progress_ = std::make_unique<StderrProgress>(terminal, options.verbosity);
}

const Course& Context::course() {
  if (!course_) {
    std::optional<fs::path> root = Course::locate_root(options.root);
    course_ = Course::open(root ? *root : Course::find_root(fs::current_path()));  // the latter throws the message
    report_diagnostics(course_->warnings(), false);
  }
  return *course_;
}

fs::path Context::build_dir() {
  if (!options.build_dir.empty()) return fs::absolute(options.build_dir);
  if (std::string env = env_string("TITO_BUILD_DIR"); !env.empty()) return fs::absolute(env);
  return course().root() / "build";
}

Progress& Context::progress() { return *progress_; }

void report_diagnostics(const std::vector<Diagnostic>& diagnostics, bool as_errors) {
  for (const Diagnostic& d : diagnostics) {
    if (as_errors) {
      spdlog::error("{}", d.format());
    } else {
      spdlog::warn("{}", d.format());
    }
  }
}

}  // namespace tito::cli
