// JSON that people write (module.json, data/datasets.json), read so that
// every problem is a diagnostic at its file and line: never a crash on deep
// nesting, never an exception from a number too large, never a document
// that quietly ends at a NUL byte.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace tito {

// Deeper than any file tito reads needs, shallow enough that nothing that
// walks a document recursively can run out of stack.
inline constexpr int kMaxJsonDepth = 32;

// The whole of `text` (the content of `path`, as shown to the user) as one
// JSON value, keys in the file's order. Throws DiagnosticError (outcome
// empty) for a syntax error, text after the value, a NUL byte, nesting
// deeper than kMaxJsonDepth and a number too large for a double.
nlohmann::ordered_json parse_json_document(std::string_view text, const std::string& path);

// `j` as text, with bytes that are not UTF-8 (a test's output, a server's
// header, a Latin-1 comment) replaced by U+FFFD instead of throwing.
template <typename Json>
std::string dump_json(const Json& j, int indent = -1) {
  return j.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

// The byte offset of the key `"key":` in `text` at or after `from`, or npos:
// for the line of a field in messages about its value.
std::size_t find_json_key(std::string_view text, std::string_view key, std::size_t from = 0);

}  // namespace tito
