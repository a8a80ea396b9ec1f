// module.json, checked field by field.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "engine/course.hpp"
#include "invariants.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace tito;
  const std::string path = "modules/01_tiny/module.json";
  const std::string text(reinterpret_cast<const char*>(data), size);
  fuzz::expect_value_or_diagnostics(
      [&] {
        std::vector<Diagnostic> warnings;
        ModuleInfo m = parse_module_json(text, "01_tiny", path, warnings);
        for (const Diagnostic& w : warnings) fuzz::check(w, path, text, true);
        if (m.name != "tiny" || m.number != 1 || m.title.empty()) fuzz::broken("accepted a module.json that disagrees");
      },
      path, text, true);
  return 0;
}
