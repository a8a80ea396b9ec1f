#include "engine/braces.hpp"

#include <cctype>

namespace tito {

namespace {

enum class State { Code, LineComment, BlockComment, String, Char, RawString };

bool is_identifier_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

// Whether the quote at s[i] separates digits (1'000'000, 0xFF'FF): it sits
// inside a number, so the token it is part of starts with a digit (u8'a' does not).
bool is_digit_separator(const std::string& s, std::size_t i) {
  if (i == 0 || i + 1 >= s.size() || !std::isxdigit(static_cast<unsigned char>(s[i + 1]))) return false;
  std::size_t start = i;
  while (start > 0 && (is_identifier_char(s[start - 1]) || s[start - 1] == '\'')) --start;
  return std::isdigit(static_cast<unsigned char>(s[start]));
}

}  // namespace

std::optional<BraceProblem> find_unbalanced_brace(const std::vector<std::string>& lines) {
  std::vector<int> open;  // line index of each unclosed '{'
  State state = State::Code;
  std::string raw_end;    // ")delim\"" while in a raw string
  for (int li = 0; li < static_cast<int>(lines.size()); ++li) {
    const std::string& s = lines[li];
    if (state == State::LineComment) state = State::Code;
    for (std::size_t i = 0; i < s.size(); ++i) {
      char c = s[i];
      char next = i + 1 < s.size() ? s[i + 1] : '\0';
      switch (state) {
        case State::Code:
          if (c == '/' && next == '/') {
            state = State::LineComment;
            i = s.size();
          } else if (c == '/' && next == '*') {
            state = State::BlockComment;
            ++i;
          } else if (c == 'R' && next == '"' && (i == 0 || !is_identifier_char(s[i - 1]) ||
                                                  (i >= 1 && (s[i - 1] == 'u' || s[i - 1] == 'U' ||
                                                              s[i - 1] == 'L' || s[i - 1] == '8')))) {
            std::size_t paren = s.find('(', i + 2);
            if (paren == std::string::npos) break;  // not a raw string after all
            raw_end = ")" + s.substr(i + 2, paren - i - 2) + "\"";
            state = State::RawString;
            i = paren;
          } else if (c == '"') {
            state = State::String;
          } else if (c == '\'') {
            // A digit separator (1'000'000) is not a character literal.
            if (!is_digit_separator(s, i)) state = State::Char;
          } else if (c == '{') {
            open.push_back(li);
          } else if (c == '}') {
            if (open.empty()) return BraceProblem{li, "'}' has no matching '{'"};
            open.pop_back();
          }
          break;
        case State::BlockComment:
          if (c == '*' && next == '/') {
            state = State::Code;
            ++i;
          }
          break;
        case State::String:
        case State::Char:
          if (c == '\\') {
            ++i;
          } else if ((state == State::String && c == '"') || (state == State::Char && c == '\'')) {
            state = State::Code;
          }
          break;
        case State::RawString:
          if (s.compare(i, raw_end.size(), raw_end) == 0) {
            i += raw_end.size() - 1;
            state = State::Code;
          }
          break;
        case State::LineComment:
          break;
      }
    }
    // An unterminated ordinary literal ends with its line (the compiler will say more).
    if (state == State::String || state == State::Char) state = State::Code;
  }
  if (!open.empty()) return BraceProblem{open.back(), "'{' is never closed in this cell"};
  return std::nullopt;
}

}  // namespace tito
