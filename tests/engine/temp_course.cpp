#include "engine/temp_course.hpp"

#include <functional>

namespace tito::testing {

TempCourse::TempCourse() {
  fs::create_directories(root() / "modules");
  write("package/CMakeLists.txt", "# the package\n");
}

void TempCourse::write(const std::string& rel, std::string_view content) const {
  write_file_atomic(root() / rel, content);
}

std::string TempCourse::read(const std::string& rel) const { return read_file(root() / rel); }

bool TempCourse::exists(const std::string& rel) const { return fs::exists(root() / rel); }

void TempCourse::remove(const std::string& rel) const { fs::remove_all(root() / rel); }

void TempCourse::add_module(const std::string& folder, const std::vector<std::string>& requires_,
                            const std::string& dev) const {
  write("modules/" + folder + "/module.json", module_json(folder, requires_));
  if (!dev.empty()) write("modules/" + folder + "/" + folder.substr(3) + "_dev.cpp", dev);
}

std::map<std::string, std::string> TempCourse::snapshot(const std::string& rel) const {
  std::map<std::string, std::string> files;
  fs::path start = root() / rel;
  if (!fs::exists(start)) return files;
  for (const fs::directory_entry& e : fs::recursive_directory_iterator(start)) {
    if (e.is_regular_file()) files[display_path(e.path(), root())] = read_file(e.path());
  }
  return files;
}

std::string module_json(const std::string& folder, const std::vector<std::string>& requires_) {
  std::string name = folder.substr(3);
  std::string list;
  for (const std::string& r : requires_) list += (list.empty() ? "\"" : ", \"") + r + "\"";
  return "{\n"
         "  \"name\": \"" +
         name +
         "\",\n"
         "  \"number\": " +
         std::to_string(std::stoi(folder.substr(0, 2))) +
         ",\n"
         "  \"title\": \"Title of " +
         name +
         "\",\n"
         "  \"difficulty\": \"easy\",\n"
         "  \"requires\": [" +
         list +
         "]\n"
         "}\n";
}

std::string diagnostics_of(const std::function<void()>& action) {
  try {
    action();
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

}  // namespace tito::testing
