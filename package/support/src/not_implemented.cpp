#include <tinytorch/not_implemented.hpp>

namespace tinytorch {

namespace detail {

std::string short_function_name(std::string_view pretty) {
  // Cut the parameter list: the first '(' that is not part of "operator()".
  std::size_t depth_cut = std::string_view::npos;
  for (std::size_t i = 0; i < pretty.size(); ++i) {
    if (pretty[i] != '(') continue;
    if (i >= 8 && pretty.substr(i - 8, 8) == "operator" && pretty.substr(i, 2) == "()") {
      ++i;
      continue;
    }
    depth_cut = i;
    break;
  }
  std::string_view head = pretty.substr(0, depth_cut);
  // Drop the return type: the name starts after the last space outside <...>.
  int angle = 0;
  std::size_t start = 0;
  for (std::size_t i = 0; i < head.size(); ++i) {
    char c = head[i];
    if (c == '<') ++angle;
    if (c == '>' && angle > 0) --angle;
    if (c == ' ' && angle == 0 && !(i >= 8 && head.substr(i - 8, 8) == "operator")) start = i + 1;
  }
  std::string name(head.substr(start));
  constexpr std::string_view ns = "tinytorch::";
  if (name.rfind(ns, 0) == 0) name.erase(0, ns.size());
  return name.empty() ? std::string(pretty) : name;
}

std::string course_relative_path(std::string_view path) {
  std::size_t at = path.rfind("/modules/");
  if (at != std::string_view::npos) return std::string(path.substr(at + 1));
  return std::string(path);
}

}  // namespace detail

NotImplemented::NotImplemented(std::source_location where)
    : NotImplemented(detail::short_function_name(where.function_name()),
                     detail::course_relative_path(where.file_name()) + ":" + std::to_string(where.line())) {}

NotImplemented::NotImplemented(std::string function, std::string location)
    : std::logic_error(std::string(kPrefix) + function + " (" + location + ")"),
      function_(std::move(function)),
      location_(std::move(location)) {}

}  // namespace tinytorch
