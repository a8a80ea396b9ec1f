// tito notebook MODULE [--student] [--out FILE]
#include <CLI/CLI.hpp>

#include <iostream>

#include "cli/context.hpp"
#include "engine/notebook.hpp"
#include "engine/reset.hpp"
#include "util/fs.hpp"

namespace tito::cli {

namespace {

struct NotebookArgs {
  std::string module;
  bool student = false;
  std::string out;
};

int run_notebook(Context& ctx, const NotebookArgs& args) {
  const Course& course = ctx.course();
  const ModuleInfo& m = course.module(args.module);
  std::string text = args.student ? student_version_of(course, m) : read_file(m.dev_file());
  std::string notebook = dev_file_to_notebook(text, course.rel(m.dev_file()));
  if (args.out == "-") {
    std::cout << notebook;
    return kExitOk;
  }
  fs::path out = args.out.empty()
                     ? ctx.build_dir() / "notebooks" / (m.folder + (args.student ? "-student" : "") + ".ipynb")
                     : fs::path(args.out);
  write_file_atomic(out, notebook);
  std::cout << display_path(fs::absolute(out), fs::current_path()) << "\n";
  return kExitOk;
}

}  // namespace

void add_notebook_command(CLI::App& app, Context& ctx) {
  auto args = std::make_shared<NotebookArgs>();
  CLI::App* cmd = app.add_subcommand("notebook", "Write a module's dev file as a Jupyter notebook (xeus-cpp C++20 kernel)");
  cmd->add_option("module", args->module, "The module (name, folder or number)")->required();
  cmd->add_flag("--student", args->student, "The student version: solutions and hidden parts stripped");
  cmd->add_option("--out", args->out, "Where to write it; '-' for stdout (default: build/notebooks/NN_name.ipynb)")
      ->type_name("FILE");
  cmd->callback([&ctx, args] { ctx.run = [&ctx, args] { return run_notebook(ctx, *args); }; });
}

}  // namespace tito::cli
