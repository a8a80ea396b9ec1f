#include "util/json_document.hpp"

#include "util/error.hpp"
#include "util/text.hpp"

namespace tito {

namespace {

[[noreturn]] void fail(const std::string& path, int line, const std::string& message) {
  throw DiagnosticError({Diagnostic{path, line, message, ""}}, "");
}

// The first place the document nests deeper than the limit, outside strings.
std::size_t too_deep_at(std::string_view text) {
  int depth = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > kMaxJsonDepth) return i;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return std::string_view::npos;
}

}  // namespace

nlohmann::ordered_json parse_json_document(std::string_view text, const std::string& path) {
  if (std::size_t nul = text.find('\0'); nul != std::string_view::npos) {
    // nlohmann's parser stops at a NUL as if the text ended there.
    fail(path, line_at(text, nul), "a NUL byte: a JSON file is text; is this the right file?");
  }
  if (std::size_t deep = too_deep_at(text); deep != std::string_view::npos) {
    fail(path, line_at(text, deep),
         "nested more than " + std::to_string(kMaxJsonDepth) + " levels deep; this file needs a few at most");
  }
  try {
    return nlohmann::ordered_json::parse(text.begin(), text.end());
  } catch (const nlohmann::json::parse_error& e) {
    std::size_t byte = e.byte == 0 ? 0 : e.byte - 1;
    std::string what = e.what();
    std::size_t at = what.find("syntax error");
    fail(path, line_at(text, byte), "invalid JSON: " + printable(at == std::string::npos ? what : what.substr(at), 300));
  } catch (const nlohmann::json::out_of_range& e) {
    // "number overflow parsing '1e400'": the number is in the message, not its place.
    std::string what = e.what();
    std::size_t open = what.find('\''), close = what.rfind('\'');
    std::string number = open != std::string::npos && close > open ? what.substr(open + 1, close - open - 1) : "";
    std::size_t where = number.empty() ? std::string_view::npos : text.find(number);
    fail(path, where == std::string_view::npos ? 0 : line_at(text, where),
         "the number " + printable(number, 40) + " is too large (no field here needs more than a few digits)");
  }
}

std::size_t find_json_key(std::string_view text, std::string_view key, std::size_t from) {
  std::string quoted = "\"" + std::string(key) + "\"";
  for (std::size_t at = text.find(quoted, from); at != std::string_view::npos; at = text.find(quoted, at + 1)) {
    std::size_t next = text.find_first_not_of(" \t\r\n", at + quoted.size());
    if (next != std::string_view::npos && text[next] == ':') return at;
  }
  return std::string_view::npos;
}

}  // namespace tito
