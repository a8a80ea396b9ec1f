// tito data fetch|list|verify|clean|path|show
#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/context.hpp"
#include "cli/fetch_printer.hpp"
#include "cli/interrupt.hpp"
#include "data/cache.hpp"
#include "data/images.hpp"
#include "data/registry.hpp"
#include "engine/course.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"

#ifndef TITO_VERSION
#define TITO_VERSION "0.0.0"
#endif

namespace tito::cli {

namespace {

using Clock = std::chrono::steady_clock;

struct DataArgs {
  std::string registry;
  std::string cache;
};

struct Setup {
  data::DataLocations where;
  data::Registry registry;
  std::optional<fs::path> root;

  // The path as the user would type it: relative to the course root when inside it.
  std::string show(const fs::path& p) const { return root ? display_path(p, *root) : p.string(); }

  // The datasets named, in order; an unknown name is an error naming the known ones.
  std::vector<const data::Dataset*> find_all(const std::vector<std::string>& names) const {
    std::vector<const data::Dataset*> out;
    for (const std::string& name : names) out.push_back(&registry.find(name));
    return out;
  }
};

Setup setup(Context& ctx, const DataArgs& args) {
  std::optional<fs::path> root = Course::locate_root(ctx.options.root);  // none: fine with --registry and --cache
  data::DataLocations where = data::resolve_locations(root, args.registry, args.cache);
  return {where, data::Registry::load(where.registry), root};
}

data::FetchOptions engine_options() {
  data::FetchOptions o = data::FetchOptions::from_environment();
  o.download.http.user_agent = "tito/" TITO_VERSION " (TinyTorch course toolchain)";
  o.download.cancel = &InterruptGuard::flag();
  return o;
}

// ---- fetch -----------------------------------------------------------------

struct FetchArgs {
  std::vector<std::string> names;
  std::vector<std::string> mirrors;
  std::string from;
  bool force = false;
};

int run_fetch(Context& ctx, const DataArgs& data_args, const FetchArgs& args) {
  Setup s = setup(ctx, data_args);
  std::vector<const data::Dataset*> datasets = s.find_all(args.names);
  data::FetchOptions options = engine_options();
  options.mirrors = args.mirrors;
  options.force = args.force;
  if (!args.from.empty()) {
    options.from = fs::absolute(args.from);
    if (!fs::exists(*options.from)) throw Error("--from " + args.from + ": no such file or folder", kExitUsage);
  }
  InterruptGuard guard;
  FetchPrinter printer(ctx);
  for (const data::Dataset* d : datasets) {
    if (!ctx.quiet()) {
      ctx.progress().step("fetching " + d->name + " (" + d->title +
                          (d->download_size() > 0 ? ", " + data::human_bytes(d->download_size()) : "") + ")");
    }
    Clock::time_point start = Clock::now();
    data::FetchReport report = data::fetch_dataset(*d, s.where.cache, options, printer);
    double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    if (ctx.quiet()) continue;
    for (const std::string& line : report.files) spdlog::debug("{}", line);
    if (report.already_cached) {
      ctx.progress().step("ready " + d->name + " (already in the cache): " + s.show(report.path));
    } else {
      std::string how = report.transferred > 0
                            ? data::human_bytes(report.transferred) + " downloaded in " + duration_text(seconds)
                            : "verified in " + duration_text(seconds);
      ctx.progress().step("ready " + d->name + " (" + how + "): " + s.show(report.path));
    }
  }
  return kExitOk;
}

// ---- list, verify, clean, path ---------------------------------------------

int run_list(Context& ctx, const DataArgs& data_args, bool as_json) {
  Setup s = setup(ctx, data_args);
  if (as_json) {
    nlohmann::json out = nlohmann::json::array();
    for (const data::Dataset& d : s.registry.datasets()) {
      data::DatasetStatus st = data::dataset_status(d, s.where.cache);
      out.push_back({{"name", d.name},
                     {"title", d.title},
                     {"download_size", d.download_size()},
                     {"state", data::describe(st.state)},
                     {"verified_at", st.verified_at},
                     {"bytes_on_disk", st.bytes_on_disk},
                     {"detail", st.detail},
                     {"path", (s.where.cache / d.name / d.dir).string()}});
    }
    std::cout << out.dump(2) << "\n";
    return kExitOk;
  }
  const Terminal& t = ctx.terminal;
  std::size_t name_w = 4, title_w = 5;
  for (const data::Dataset& d : s.registry.datasets()) {
    name_w = std::max(name_w, d.name.size());
    title_w = std::max(title_w, d.title.size());
  }
  auto pad = [](std::string s, std::size_t w) { return s.size() < w ? s + std::string(w - s.size(), ' ') : s; };
  std::cout << t.bold(pad("NAME", name_w) + "  " + pad("TITLE", title_w) + "  " + pad("DOWNLOAD", 9) + "  CACHE") << "\n";
  for (const data::Dataset& d : s.registry.datasets()) {
    data::DatasetStatus st = data::dataset_status(d, s.where.cache);
    std::string state = data::describe(st.state);
    if (st.state == data::CacheState::Ready) {
      state = t.green("ready") + ", verified " + st.verified_at;
    } else if (st.state == data::CacheState::Damaged) {
      state = t.red("damaged") + ": " + st.detail + " (run `tito data fetch " + d.name + "`)";
    } else if (st.state != data::CacheState::Missing) {
      state = t.yellow(state) + ": " + st.detail;
    } else {
      state = t.dim(state);
    }
    std::cout << pad(d.name, name_w) << "  " << pad(d.title, title_w) << "  "
              << pad(data::human_bytes(d.download_size()), 9) << "  " << state << "\n";
  }
  if (!ctx.quiet()) std::cout << t.dim("cache: " + s.show(s.where.cache)) << "\n";
  return kExitOk;
}

int run_verify(Context& ctx, const DataArgs& data_args, const std::vector<std::string>& names) {
  Setup s = setup(ctx, data_args);
  std::vector<const data::Dataset*> datasets = s.find_all(names);
  InterruptGuard guard;
  FetchPrinter printer(ctx);
  data::FetchOptions options = engine_options();
  bool all_ok = true;
  for (const data::Dataset* d : datasets) {
    data::VerifyReport report = data::verify_dataset(*d, s.where.cache, options, printer);
    for (const data::FileCheck& c : report.checks) {
      if (c.ok) {
        if (!ctx.quiet()) std::cout << ctx.terminal.green("ok") << "      " << d->name << "/" << c.path << "\n";
      } else {
        std::cout << ctx.terminal.red("FAILED") << "  " << d->name << "/" << c.path << ": " << c.problem << "\n";
      }
    }
    if (report.ok) {
      if (!ctx.quiet()) std::cout << d->name << ": every file matches the registry\n";
    } else {
      spdlog::error("{} does not match the registry; run `tito data fetch {}` to repair it", d->name, d->name);
      all_ok = false;
    }
  }
  return all_ok ? kExitOk : kExitFailure;
}

int run_clean(Context& ctx, const DataArgs& data_args, const std::vector<std::string>& names) {
  Setup s = setup(ctx, data_args);
  std::vector<const data::Dataset*> datasets = s.find_all(names);
  InterruptGuard guard;
  FetchPrinter printer(ctx);
  data::FetchOptions options = engine_options();
  for (const data::Dataset* d : datasets) {
    std::uint64_t freed = data::clean_dataset(*d, s.where.cache, options, printer);
    if (ctx.quiet()) continue;
    if (freed == 0) {
      std::cout << d->name << ": nothing in the cache\n";
    } else {
      std::cout << "removed " << s.show(s.where.cache / d->name) << " (" << data::human_bytes(freed) << ")\n";
    }
  }
  return kExitOk;
}

int run_path(Context& ctx, const DataArgs& data_args, const std::string& name) {
  Setup s = setup(ctx, data_args);
  std::cout << data::dataset_path(s.registry.find(name), s.where.cache).string() << "\n";
  return kExitOk;
}

// ---- show ------------------------------------------------------------------

struct ShowArgs {
  std::string name;
  std::size_t index = 0;
  std::size_t grid = 0;
  std::string png;
  std::string split = "train";
};

std::string class_name(const data::Dataset& d, int label) {
  if (label >= 0 && static_cast<std::size_t>(label) < d.classes.size()) return d.classes[static_cast<std::size_t>(label)];
  return "class " + std::to_string(label);
}

std::string fit(std::string s, std::size_t width) {
  if (s.size() > width) s = s.substr(0, width);
  return s + std::string(width - s.size(), ' ');
}

int run_show(Context& ctx, const DataArgs& data_args, const ShowArgs& args) {
  Setup s = setup(ctx, data_args);
  const data::Dataset& d = s.registry.find(args.name);
  fs::path dir = data::dataset_path(d, s.where.cache);
  std::size_t count = args.grid > 0 ? args.grid * args.grid : 1;
  std::size_t first = args.grid > 0 ? 0 : args.index;
  data::ImageSelection sel = data::read_images(d, dir, args.split, first, count);
  const bool color = ctx.terminal.color();

  if (!args.png.empty()) {
    int columns = args.grid > 0 ? static_cast<int>(args.grid) : 1;
    int scale = std::max(1, 64 / std::max(1, sel.images.front().width));
    data::write_png(fs::absolute(args.png), data::compose_grid(sel.images, columns, scale, 2));
    std::cout << "wrote " << args.png << ": " << sel.images.size() << " image" << (sel.images.size() == 1 ? "" : "s")
              << " of " << d.name << " " << args.split << " (#" << sel.indices.front() << " to #" << sel.indices.back()
              << " of " << sel.split_size << ")\n";
    for (std::size_t row = 0; row * columns < sel.images.size(); ++row) {
      std::cout << "  row " << row + 1 << ":";
      for (std::size_t k = row * columns; k < std::min(sel.images.size(), (row + 1) * columns); ++k) {
        std::cout << (k == row * columns ? " " : ", ") << class_name(d, sel.images[k].label);
      }
      std::cout << "\n";
    }
    return kExitOk;
  }

  if (args.grid == 0) {
    const data::Image& img = sel.images.front();
    std::cout << data::render_half_blocks(data::scale_image(img, 2), color);
    std::cout << d.name << " " << args.split << " #" << sel.indices.front() << " of " << sel.split_size << ": "
              << ctx.terminal.bold(class_name(d, img.label)) << " (label " << img.label << ")\n";
    return kExitOk;
  }
  const int gap = 2;
  int cell = sel.images.front().width + gap;
  std::size_t per_row = std::max<std::size_t>(1, std::min<std::size_t>(args.grid, static_cast<std::size_t>(
                                                                                       (ctx.terminal.columns() - gap) / cell)));
  for (std::size_t start = 0; start < sel.images.size(); start += per_row) {
    std::vector<data::Image> row(sel.images.begin() + static_cast<long>(start),
                                 sel.images.begin() + static_cast<long>(std::min(sel.images.size(), start + per_row)));
    std::cout << data::render_half_blocks(data::compose_grid(row, static_cast<int>(row.size()), 1, gap), color);
    std::string captions(gap, ' ');
    for (const data::Image& img : row) captions += fit(class_name(d, img.label), static_cast<std::size_t>(cell));
    std::cout << captions << "\n";
  }
  std::cout << d.name << " " << args.split << " #" << sel.indices.front() << " to #" << sel.indices.back() << " of "
            << sel.split_size << "\n";
  return kExitOk;
}

}  // namespace

void add_data_command(CLI::App& app, Context& ctx) {
  auto data_args = std::make_shared<DataArgs>();
  CLI::App* data = app.add_subcommand("data", "Fetch, check and look at the course's datasets (CIFAR-10, MNIST, ...)");
  data->require_subcommand(1);
  data->fallthrough();
  data->add_option("--registry", data_args->registry,
                   "The dataset registry (default: TITO_REGISTRY or <course>/data/datasets.json)")
      ->type_name("FILE");
  data->add_option("--cache", data_args->cache, "The dataset cache (default: TITO_DATA_DIR or <course>/data/cache)")
      ->type_name("DIR");
  data->footer(
      "TITO_OFFLINE=1 never touches the network. Downloads resume after an interruption; a file is kept only once its "
      "checksum matches the registry.");

  auto fetch = std::make_shared<FetchArgs>();
  CLI::App* f = data->add_subcommand("fetch", "Download, verify and unpack datasets into the cache");
  f->add_option("names", fetch->names, "Datasets to fetch (see `tito data list`)")->required()->type_name("NAME");
  f->add_option("--mirror", fetch->mirrors, "A base URL to try before the registry's mirrors (repeatable)")
      ->type_name("URL");
  f->add_option("--from", fetch->from, "Import files already downloaded (a file, or a folder holding them)")
      ->type_name("FILE|DIR");
  f->add_flag("--force", fetch->force, "Fetch and unpack again even when the cache is ready");
  f->callback([&ctx, data_args, fetch] { ctx.run = [&ctx, data_args, fetch] { return run_fetch(ctx, *data_args, *fetch); }; });

  auto list_json = std::make_shared<bool>(false);
  CLI::App* l = data->add_subcommand("list", "List the datasets of the registry and what the cache holds");
  l->add_flag("--json", *list_json, "Print JSON");
  l->callback([&ctx, data_args, list_json] {
    ctx.run = [&ctx, data_args, list_json] { return run_list(ctx, *data_args, *list_json); };
  });

  auto verify_names = std::make_shared<std::vector<std::string>>();
  CLI::App* v = data->add_subcommand("verify", "Re-hash a cached dataset against the registry");
  v->add_option("names", *verify_names, "Datasets to verify")->required()->type_name("NAME");
  v->callback([&ctx, data_args, verify_names] {
    ctx.run = [&ctx, data_args, verify_names] { return run_verify(ctx, *data_args, *verify_names); };
  });

  auto clean_names = std::make_shared<std::vector<std::string>>();
  CLI::App* c = data->add_subcommand("clean", "Remove a dataset from the cache");
  c->add_option("names", *clean_names, "Datasets to remove")->required()->type_name("NAME");
  c->callback([&ctx, data_args, clean_names] {
    ctx.run = [&ctx, data_args, clean_names] { return run_clean(ctx, *data_args, *clean_names); };
  });

  auto path_name = std::make_shared<std::string>();
  CLI::App* p = data->add_subcommand("path", "Print the folder of a fetched dataset (for scripts)");
  p->add_option("name", *path_name, "The dataset")->required()->type_name("NAME");
  p->callback([&ctx, data_args, path_name] {
    ctx.run = [&ctx, data_args, path_name] { return run_path(ctx, *data_args, *path_name); };
  });

  auto show = std::make_shared<ShowArgs>();
  CLI::App* sh = data->add_subcommand("show", "Show images of a fetched dataset with their class names");
  sh->add_option("name", show->name, "The dataset")->required()->type_name("NAME");
  CLI::Option* index = sh->add_option("--index", show->index, "Show image I (default 0)")->type_name("I");
  CLI::Option* grid = sh->add_option("--grid", show->grid, "Show the first N x N images")->type_name("N")
                          ->check(CLI::Range(1, 32));
  index->excludes(grid);
  sh->add_option("--png", show->png, "Write the picture to a PNG file instead")->type_name("FILE");
  sh->add_option("--split", show->split, "The split: train or test")->capture_default_str();
  sh->callback([&ctx, data_args, show] { ctx.run = [&ctx, data_args, show] { return run_show(ctx, *data_args, *show); }; });
}

}  // namespace tito::cli
