// Hand-written support for the tinytorch library (not generated): deciding once what the
// terminal can do, and a status line that redraws itself only where that works.
//
// A *smart* terminal (a tty, TERM set and not "dumb", CI not set) gets a status line that is
// redrawn in place ("\r", the text, clear to the end of the line), at most ten times a second
// however often it is updated; colour, unless NO_COLOR is set. Anything else (a pipe, a file,
// CI's log) gets plain lines and no escape codes at all. Callers never branch: on a plain
// terminal StatusLine::update does nothing and print() just prints. The same rules as ninja's
// line printer and tito's.
#pragma once

#include <functional>
#include <ostream>
#include <string>
#include <string_view>

namespace tinytorch::term {

// What a stream can be given.
struct Terminal {
  bool smart = false;  // redraw lines in place
  bool color = false;  // ANSI colours
  int width = 80;      // columns; status lines are cut to fit
};

// The decision, from the facts (pure, for tests): smart when is_tty, TERM is set and not
// "dumb", and CI is unset or empty; colour when smart and NO_COLOR is unset or empty
// (no-color.org). A null pointer is an unset variable. `width` below 20 counts as 80.
Terminal decide(bool is_tty, const char* term, const char* ci, const char* no_color, int width = 80);

// The decision for file descriptor `fd` (1: standard output) from isatty, its window width and
// the environment.
Terminal detect(int fd = 1);

enum class Color { Red, Green, Yellow, Blue, Magenta, Cyan, Gray, Bold };

// `text` in `color` when the terminal has colour; `text` unchanged otherwise.
std::string paint(std::string_view text, Color color, const Terminal& terminal);

// A text progress bar of `width` characters for a fraction from 0 to 1 (clamped):
// bar(0.5, 10) == "=====>    " ... "==========" when done. ASCII, so any locale shows it.
std::string bar(double fraction, int width);

// `text` cut to at most `width` characters, its last one "~" when it was cut.
std::string fit(std::string_view text, int width);

// One status line at the bottom of the output, and lines printed above it.
class StatusLine {
 public:
  // Seconds on a steady clock; a test passes its own.
  using Clock = std::function<double()>;
  // The redraw limit: at most one redraw per this many seconds.
  static constexpr double kMinInterval = 0.1;

  StatusLine(std::ostream& out, Terminal terminal, Clock clock = {});
  // Clears the status, so the shell prompt does not land on it.
  ~StatusLine();
  StatusLine(const StatusLine&) = delete;
  StatusLine& operator=(const StatusLine&) = delete;

  // Shows `text` as the status on a smart terminal (cut to its width); nothing elsewhere.
  // Redraws only when kMinInterval has passed since the last redraw, unless `force`.
  void update(std::string_view text, bool force = false);
  // Prints `line` and a newline. On a smart terminal it replaces the status, which is drawn
  // again by the next update.
  void print(std::string_view line);
  // Removes the status from the screen (smart terminals).
  void clear();

  const Terminal& terminal() const noexcept { return terminal_; }
  // How many times the status was drawn (for tests of the redraw limit).
  int redraws() const noexcept { return redraws_; }

 private:
  std::ostream& out_;
  Terminal terminal_;
  Clock clock_;
  double last_draw_ = -1e300;
  bool shown_ = false;  // a status is on the screen
  int redraws_ = 0;
};

}  // namespace tinytorch::term
