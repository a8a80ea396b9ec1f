// Small string helpers shared by the engine.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace tito {

// Lines without their '\n' (and without a trailing '\r'). A final newline
// does not make an extra empty line.
std::vector<std::string> split_lines(std::string_view text);

// `s` without leading and trailing spaces and tabs.
std::string_view trim(std::string_view s);

// The leading spaces and tabs of `s`.
std::string_view indentation(std::string_view s);

// True for "snake_case": [a-z][a-z0-9]* joined by single underscores.
bool is_snake_case(std::string_view s);

// `s` in double quotes with '"' and '\\' escaped: a C++ string literal, a
// CMake argument or a JSON string (for text without control characters).
std::string double_quoted(std::string_view s);

// Lines joined with '\n', each line followed by one.
std::string join_lines(const std::vector<std::string>& lines);

// Each line of `text` with `pad` in front of it, every line ending in '\n'.
std::string indent(std::string_view text, std::string_view pad);

// The items with `separator` between them: the "known: a, b, c" of messages.
std::string join(const std::vector<std::string>& items, std::string_view separator = ", ");

// The number of single-character edits (insert, delete, replace, swap two
// neighbours) that turn `a` into `b`.
int edit_distance(std::string_view a, std::string_view b);

// The candidate closest to `word`, when at most `max_distance` edits away
// and no more than one edit per two letters of `word` (ties go to the
// first); "" when none is.
std::string nearest(std::string_view word, const std::vector<std::string>& candidates, int max_distance = 2);

// `s` made safe to print in a message: control bytes and DEL as \xNN (a
// file's escape sequences never reach the terminal raw), and cut to
// `max_chars` characters with "…" (a 1 MB line is never echoed whole).
std::string printable(std::string_view s, std::size_t max_chars = 200);

// The 1-based line of byte `offset` in `text`.
int line_at(std::string_view text, std::size_t offset);

}  // namespace tito
