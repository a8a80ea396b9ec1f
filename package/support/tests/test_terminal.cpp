// Tests of <tinytorch/terminal.hpp>: the terminal decision, the bar, the status line's redraws.
#include <gtest/gtest.h>

#include <sstream>
#include <string>

#include <tinytorch/terminal.hpp>

namespace {

using tinytorch::term::decide;
using tinytorch::term::StatusLine;
using tinytorch::term::Terminal;

TEST(TerminalDecide, ASmartTerminalIsATtyWithATermOutsideCi) {
  const Terminal t = decide(true, "xterm-256color", nullptr, nullptr, 120);
  EXPECT_TRUE(t.smart);
  EXPECT_TRUE(t.color);
  EXPECT_EQ(t.width, 120);
}

TEST(TerminalDecide, PipesDumbTerminalsAndCiGetPlainLines) {
  EXPECT_FALSE(decide(false, "xterm", nullptr, nullptr).smart) << "a pipe or a file";
  EXPECT_FALSE(decide(true, "dumb", nullptr, nullptr).smart) << "TERM=dumb (emacs shells)";
  EXPECT_FALSE(decide(true, nullptr, nullptr, nullptr).smart) << "no TERM";
  EXPECT_FALSE(decide(true, "xterm", "true", nullptr).smart) << "CI set";
  EXPECT_FALSE(decide(false, "xterm", nullptr, nullptr).color) << "no colour without a smart terminal";
}

TEST(TerminalDecide, NoColorTurnsColourOffButKeepsTheBar) {
  const Terminal t = decide(true, "xterm", nullptr, "1");
  EXPECT_TRUE(t.smart);
  EXPECT_FALSE(t.color);
  EXPECT_TRUE(decide(true, "xterm", "", "").color) << "empty variables count as unset (no-color.org)";
}

TEST(TerminalPaint, ColourOnlyWhenTheTerminalHasIt) {
  EXPECT_EQ(tinytorch::term::paint("best", tinytorch::term::Color::Green, decide(true, "xterm", nullptr, nullptr)),
            "\x1b[32mbest\x1b[0m");
  EXPECT_EQ(tinytorch::term::paint("best", tinytorch::term::Color::Green, decide(true, "xterm", nullptr, "1")), "best");
}

TEST(TerminalBar, FillsByTheFraction) {
  EXPECT_EQ(tinytorch::term::bar(0.0, 10), ">         ");
  EXPECT_EQ(tinytorch::term::bar(0.5, 10), "=====>    ");
  EXPECT_EQ(tinytorch::term::bar(1.0, 10), "==========");
  EXPECT_EQ(tinytorch::term::bar(7.0, 4), "====") << "clamped";
  EXPECT_EQ(tinytorch::term::bar(-1.0, 4), ">   ");
}

TEST(TerminalFit, CutsWithATilde) {
  EXPECT_EQ(tinytorch::term::fit("abcdef", 10), "abcdef");
  EXPECT_EQ(tinytorch::term::fit("abcdef", 4), "abc~");
}

TEST(StatusLine, RedrawsAtMostTenTimesASecond) {
  std::ostringstream out;
  double now = 0;
  {
    StatusLine status(out, decide(true, "xterm", nullptr, nullptr), [&] { return now; });
    for (int i = 0; i < 1000; ++i) {  // 1000 updates over one second
      status.update("batch " + std::to_string(i));
      now += 0.001;
    }
    EXPECT_EQ(status.redraws(), 10);
    status.update("last", /*force=*/true);
    EXPECT_EQ(status.redraws(), 11) << "force draws whatever the time";
  }
  EXPECT_EQ(out.str().substr(0, 11), "\rbatch 0\x1b[K");
  EXPECT_EQ(out.str().substr(out.str().size() - 4), "\r\x1b[K") << "the destructor clears the status";
}

TEST(StatusLine, APrintedLineReplacesTheStatus) {
  std::ostringstream out;
  double now = 0;
  StatusLine status(out, decide(true, "xterm", nullptr, nullptr, 40), [&] { return now; });
  status.update("working");
  status.print("epoch 1 done");
  status.update("working again");  // drawn at once: the status was replaced
  EXPECT_EQ(out.str(), "\rworking\x1b[K\r\x1b[Kepoch 1 done\n\rworking again\x1b[K");
  EXPECT_EQ(status.redraws(), 2);
}

TEST(StatusLine, APlainTerminalGetsOnlyPlainLines) {
  std::ostringstream out;
  {
    StatusLine status(out, decide(false, "xterm", nullptr, nullptr));
    status.update("batch 1", true);
    status.print("epoch 1 done");
    status.update("batch 2", true);
    EXPECT_EQ(status.redraws(), 0);
  }
  EXPECT_EQ(out.str(), "epoch 1 done\n") << "no \\r, no escape codes in a pipe";
}

TEST(StatusLine, AStatusIsCutToTheTerminalWidth) {
  std::ostringstream out;
  StatusLine status(out, decide(true, "xterm", nullptr, nullptr, 20));
  status.update(std::string(50, 'x'), true);
  EXPECT_EQ(out.str(), "\r" + std::string(18, 'x') + "~\x1b[K") << "one column spare, so the line never wraps";
}

}  // namespace
