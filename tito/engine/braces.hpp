// Brace balance of a piece of C++, skipping comments, string, character and
// raw string literals. Exported cells must balance on their own, or one
// cell's mistake would surface as a compiler error in another.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace tito {

struct BraceProblem {
  int line_index = 0;   // 0-based index into the lines given
  std::string message;  // "'{' is never closed" / "'}' has no matching '{'"
};

// The first imbalance in `lines`, or nullopt when every brace is matched.
std::optional<BraceProblem> find_unbalanced_brace(const std::vector<std::string>& lines);

}  // namespace tito
