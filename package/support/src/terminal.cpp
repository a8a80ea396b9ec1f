#include <tinytorch/terminal.hpp>

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>

namespace tinytorch::term {

namespace {

bool set(const char* value) { return value != nullptr && value[0] != '\0'; }

double steady_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

}  // namespace

Terminal decide(bool is_tty, const char* term, const char* ci, const char* no_color, int width) {
  Terminal t;
  t.smart = is_tty && set(term) && std::strcmp(term, "dumb") != 0 && !set(ci);
  t.color = t.smart && !set(no_color);
  t.width = width >= 20 ? width : 80;
  return t;
}

Terminal detect(int fd) {
  const bool tty = ::isatty(fd) == 1;
  int width = 80;
  if (tty) {
    winsize size{};
    if (::ioctl(fd, TIOCGWINSZ, &size) == 0 && size.ws_col > 0) width = size.ws_col;
  }
  return decide(tty, std::getenv("TERM"), std::getenv("CI"), std::getenv("NO_COLOR"), width);
}

std::string paint(std::string_view text, Color color, const Terminal& terminal) {
  if (!terminal.color) return std::string(text);
  const char* code = "1";
  switch (color) {
    case Color::Red: code = "31"; break;
    case Color::Green: code = "32"; break;
    case Color::Yellow: code = "33"; break;
    case Color::Blue: code = "34"; break;
    case Color::Magenta: code = "35"; break;
    case Color::Cyan: code = "36"; break;
    case Color::Gray: code = "90"; break;
    case Color::Bold: code = "1"; break;
  }
  return std::string("\x1b[") + code + "m" + std::string(text) + "\x1b[0m";
}

std::string bar(double fraction, int width) {
  width = std::max(width, 1);
  if (!(fraction >= 0)) fraction = 0;  // NaN too
  fraction = std::min(fraction, 1.0);
  const int full = static_cast<int>(std::floor(fraction * width));
  std::string out(static_cast<std::size_t>(full), '=');
  if (full < width) {
    out += '>';
    out.append(static_cast<std::size_t>(width - full - 1), ' ');
  }
  return out;
}

std::string fit(std::string_view text, int width) {
  if (width < 1) return "";
  if (static_cast<int>(text.size()) <= width) return std::string(text);
  return std::string(text.substr(0, static_cast<std::size_t>(width - 1))) + "~";
}

StatusLine::StatusLine(std::ostream& out, Terminal terminal, Clock clock)
    : out_(out), terminal_(terminal), clock_(clock ? std::move(clock) : Clock(steady_seconds)) {}

StatusLine::~StatusLine() { clear(); }

void StatusLine::update(std::string_view text, bool force) {
  if (!terminal_.smart) return;
  const double now = clock_();
  if (!force && now - last_draw_ < kMinInterval) return;
  last_draw_ = now;
  // One column spare: a line that fills the last column wraps on some terminals.
  out_ << '\r' << fit(text, terminal_.width - 1) << "\x1b[K" << std::flush;
  shown_ = true;
  ++redraws_;
}

void StatusLine::print(std::string_view line) {
  if (shown_) out_ << "\r\x1b[K";
  shown_ = false;
  out_ << line << '\n' << std::flush;
  last_draw_ = -1e300;  // the next update draws the status again at once
}

void StatusLine::clear() {
  if (!shown_) return;
  out_ << "\r\x1b[K" << std::flush;
  shown_ = false;
}

}  // namespace tinytorch::term
