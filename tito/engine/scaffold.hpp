// `tito module new`: render templates/module/ into the next NN_name folder.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "engine/course.hpp"

namespace tito {

struct NewModule {
  std::string name;        // snake_case
  std::string title;       // empty: from the name ("data_loader" -> "Data Loader")
  std::string difficulty = "medium";
  std::vector<std::string> required;
};

struct Scaffolded {
  std::string folder;              // "02_autograd"
  std::vector<std::string> files;  // created, relative to the course root
};

// Why `name` cannot name a new module, or an empty string when it can.
std::string check_module_name(const Course& course, const std::string& name);

// Replaces every {{key}} in `text`; an unknown key is an error at `where`:line.
std::string render_template(const std::string& text, const std::map<std::string, std::string>& values,
                            const std::string& where);

// Creates the module folder. Refuses bad or taken names; writes into a hidden
// temporary folder and renames it into place, so it never overwrites anything
// and never leaves half a module behind.
Scaffolded scaffold_module(const Course& course, const NewModule& request);

}  // namespace tito
