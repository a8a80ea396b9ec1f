// The dev file: parse, strip (student version and solutions back), export
// and the notebook, on any bytes.
#include <cstddef>
#include <cstdint>
#include <string>

#include "engine/devfile.hpp"
#include "engine/exporter.hpp"
#include "engine/notebook.hpp"
#include "engine/stripper.hpp"
#include "invariants.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace tito;
  const std::string path = "modules/01_tiny/tiny_dev.cpp";
  const std::string text(reinterpret_cast<const char*>(data), size);
  fuzz::expect_value_or_diagnostics(
      [&] {
        DevFile dev = parse_dev_file(text, path);
        for (const Diagnostic& w : dev.warnings) fuzz::check(w, path, text, true);
        ModuleInfo module;
        module.folder = "01_tiny";
        module.number = 1;
        module.name = "tiny";
        ModuleExport exported = export_module(module, dev, {"modules/01_tiny/tests/test_tiny.cpp"});
        for (const GeneratedFile& f : exported.files) {
          std::optional<Banner> banner = read_banner(f.content);
          if (!banner || !banner->intact) fuzz::broken("generated file without an intact banner: " + f.path);
        }
        StudentVersion student = strip_dev_file(text, path);
        StudentVersion restored = strip_dev_file(text, path, {true});
        // What a release writes must parse again: students and the release
        // check build it.
        parse_dev_file(student.text, path);
        parse_dev_file(restored.text, path);
        dev_file_to_notebook(text, path);
      },
      path, text, true);
  return 0;
}
