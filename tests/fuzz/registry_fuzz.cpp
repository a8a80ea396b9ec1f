// The dataset registry (data/datasets.json).
#include <cstddef>
#include <cstdint>
#include <string>

#include "data/registry.hpp"
#include "invariants.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace tito;
  const std::string path = "data/datasets.json";
  const std::string text(reinterpret_cast<const char*>(data), size);
  fuzz::expect_value_or_diagnostics(
      [&] {
        data::Registry r = data::Registry::parse(text, path);
        for (const data::Dataset& d : r.datasets()) {
          if (d.files.empty() || d.dir.empty()) fuzz::broken("accepted a dataset without files or folder: " + d.name);
          d.fingerprint();
          r.find(d.name);
        }
      },
      path, text, true);
  return 0;
}
