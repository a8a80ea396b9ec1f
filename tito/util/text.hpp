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

}  // namespace tito
