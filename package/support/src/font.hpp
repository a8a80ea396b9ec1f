// The bitmap font behind plot::draw_text (private to the support library).
#pragma once

namespace tinytorch::plot::font {

inline constexpr int kColumns = 5;
inline constexpr int kRows = 9;     // 7 on and above the baseline, 2 of descenders
inline constexpr int kAdvance = 6;  // columns from one character to the next

// Up to kRows rows of kColumns characters, '#' for ink; missing rows are blank.
struct Glyph {
  const char* rows[kRows];
};

// The glyph of `c`: printable ASCII, or a box for any other byte.
const Glyph& glyph(char c);
// Whether the glyph has ink at (column, row); false outside it.
bool ink(const Glyph& glyph, int column, int row);

}  // namespace tinytorch::plot::font
