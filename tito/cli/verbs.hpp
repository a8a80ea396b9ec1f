// What the command line must name: a verb tito knows, and a sub-verb its
// verb knows. CLI11 alone would call `tito foo` "a subcommand is required"
// and print the main help for `tito foo --help`.
#pragma once

#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace tito::cli {

// Why `args` (the command line without the program name) does not name a
// verb `app` knows, or a sub-verb its verb knows, as a usage message that
// names the word, the nearest verb and every verb there is; "" when it does
// (options and the verb's own arguments are CLI11's to check).
std::string unknown_verb(const CLI::App& app, const std::vector<std::string>& args);

}  // namespace tito::cli
