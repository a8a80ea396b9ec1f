#include "cli/verbs.hpp"

#include <CLI/CLI.hpp>

#include "util/text.hpp"

namespace tito::cli {

namespace {

std::vector<std::string> verbs_of(const CLI::App& app) {
  std::vector<std::string> names;
  for (const CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; })) names.push_back(sub->get_name());
  return names;
}

// The option `word` names in `app` or, as options fall through, its parents.
const CLI::Option* find_option(const CLI::App& app, const std::string& word) {
  std::string name = word.substr(0, word.find('='));
  if (!name.starts_with("--")) name = name.substr(0, 2);  // "-j2" is -j with 2
  for (const CLI::App* a = &app; a != nullptr; a = a->get_parent()) {
    if (const CLI::Option* o = a->get_option_no_throw(name)) return o;
  }
  return nullptr;
}

// True when the option's value is the next word ("--root DIR", "-j 2").
bool takes_next_word(const CLI::Option& option, const std::string& word) {
  if (option.get_items_expected_max() == 0) return false;  // a flag
  if (word.find('=') != std::string::npos) return false;
  return word.starts_with("--") || word.size() == 2;
}

// "tito data" -> "data command"; "tito" -> "command".
std::string kind(const std::string& path) {
  std::size_t space = path.find(' ');
  return space == std::string::npos ? "command" : path.substr(space + 1) + " command";
}

std::string unknown(const std::string& path, const std::string& word, const std::vector<std::string>& verbs) {
  std::string guess = nearest(word, verbs);
  return "unknown " + kind(path) + " '" + printable(word, 60) + "'" +
         (guess.empty() ? "" : " (did you mean '" + guess + "'?)") + "; " + kind(path) + "s: " + join(verbs) +
         "\nrun `" + path + " --help` for usage";
}

}  // namespace

std::string unknown_verb(const CLI::App& app, const std::vector<std::string>& args) {
  const CLI::App* current = &app;
  std::string path = app.get_name();
  bool help = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& word = args[i];
    if (word == "--") break;
    if (word.size() > 1 && word.front() == '-') {
      help = help || word == "-h" || word == "--help" || word == "--version";
      const CLI::Option* option = find_option(*current, word);
      if (option != nullptr && takes_next_word(*option, word)) ++i;
      continue;  // an unknown option is CLI11's to report
    }
    std::vector<std::string> verbs = verbs_of(*current);
    if (verbs.empty()) return "";  // the verb's own arguments
    const CLI::App* next = nullptr;
    for (const CLI::App* sub : current->get_subcommands([](const CLI::App*) { return true; })) {
      if (sub->check_name(word)) next = sub;
    }
    if (next == nullptr) return unknown(path, word, verbs);
    current = next;
    path += " " + next->get_name();
  }
  if (help || verbs_of(*current).empty() || current->get_require_subcommand_min() == 0) return "";
  return "`" + path + "` needs a " + kind(path) + ": " + join(verbs_of(*current)) + "\nrun `" + path +
         " --help` for usage";
}

}  // namespace tito::cli
