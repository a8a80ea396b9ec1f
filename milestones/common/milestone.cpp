#include "milestone.hpp"

#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>

namespace milestone {

namespace fs = std::filesystem;

namespace {

// "0.8812", "1e-07", "nan": the shortest text that reads back as `value`.
std::string number(double value) {
  if (std::isnan(value)) return "nan";
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  char buffer[64];
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);
  return ec == std::errc() ? std::string(buffer, end) : std::to_string(value);
}

// `value` for people: four significant digits.
std::string shown(double value) {
  if (!std::isfinite(value)) return number(value);
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.4g", value);
  return buffer;
}

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buffer[8];
          std::snprintf(buffer, sizeof buffer, "\\u%04x", static_cast<unsigned char>(c));
          out += buffer;
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

// JSON has no NaN or infinity: those are null.
std::string json_number(double value) { return std::isfinite(value) ? number(value) : "null"; }

std::string json_strings(const std::vector<std::string>& items) {
  std::string out = "[";
  for (std::size_t i = 0; i < items.size(); ++i) out += (i ? ", " : "") + json_string(items[i]);
  return out + "]";
}

bool smart_terminal() {
  if (!::isatty(STDERR_FILENO)) return false;
  const char* term = std::getenv("TERM");
  if (term == nullptr || std::strcmp(term, "dumb") == 0) return false;
  const char* ci = std::getenv("CI");
  return ci == nullptr || *ci == '\0' || std::strcmp(ci, "false") == 0;
}

// Writes `content` to a temporary file next to `path`, then renames it over
// `path`: a reader sees the old file or the new one, never half of one.
void write_atomic(const fs::path& path, const std::string& content) {
  fs::path temp = path.parent_path() / ("." + path.filename().string() + ".tmp-" + std::to_string(::getpid()));
  {
    std::ofstream out(temp, std::ios::binary | std::ios::trunc);
    out << content;
    out.flush();
    if (!out) {
      std::error_code ec;
      fs::remove(temp, ec);
      throw std::runtime_error("cannot write " + path.string() + ": " + std::strerror(errno));
    }
  }
  std::error_code ec;
  fs::rename(temp, path, ec);
  if (ec) {
    fs::remove(temp, ec);
    throw std::runtime_error("cannot write " + path.string() + ": " + ec.message());
  }
}

int parse_count(const std::string& flag, const std::string& text) {
  int value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < 1 || value > 100000) {
    throw UsageError(flag + " needs a whole number of epochs from 1 to 100000, not '" + text + "'");
  }
  return value;
}

std::uint64_t parse_seed(const std::string& text) {
  std::uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty()) {
    throw UsageError("--seed needs a whole number (0 or more), not '" + text + "'");
  }
  return value;
}

}  // namespace

Options parse_arguments(const std::vector<std::string>& args) {
  Options o;
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string arg = args[i];
    std::string value;
    bool inline_value = false;
    if (arg.starts_with("--") && arg.find('=') != std::string::npos) {
      value = arg.substr(arg.find('=') + 1);
      arg = arg.substr(0, arg.find('='));
      inline_value = true;
    }
    auto take_value = [&]() {
      if (inline_value) return value;
      if (i + 1 >= args.size()) throw UsageError(arg + " needs a value");
      return args[++i];
    };
    if (arg == "--quick" && !inline_value) {
      o.quick = true;
    } else if ((arg == "--help" || arg == "-h") && !inline_value) {
      o.help = true;
    } else if (arg == "--epochs") {
      o.epochs = parse_count(arg, take_value());
    } else if (arg == "--seed") {
      o.seed = parse_seed(take_value());
    } else if (arg == "--out") {
      std::string dir = take_value();
      if (dir.empty()) throw UsageError("--out needs a folder");
      o.out = dir;
    } else if (arg.starts_with("-")) {
      throw UsageError("unknown option '" + args[i] + "'");
    } else {
      throw UsageError("unexpected argument '" + args[i] + "' (a milestone takes options only)");
    }
  }
  return o;
}

std::string usage(const Info& info, const Defaults& defaults) {
  std::ostringstream s;
  s << "milestone " << info.folder << ": " << info.title << "\n"
    << "target: " << info.target << "\n\n"
    << "usage: milestone_" << info.name << " [--quick] [--epochs N] [--out DIR] [--seed S]\n\n"
    << "  --quick       validate: " << defaults.quick_epochs << " short epochs of at most " << defaults.quick_batches
    << " batches on the real data;\n"
    << "                passes when every loss and gradient stays finite and the loss goes down\n"
    << "  --epochs N    epochs to train (default " << defaults.epochs << ")\n"
    << "  --out DIR     where results.json and the artifacts go (default " << info.default_out << ")\n"
    << "  --seed S      the random seed (default " << defaults.seed << ")\n"
    << "  --help        this text\n\n"
    << "The data cache is TITO_DATA_DIR (default " << info.default_data << ").\n"
    << "Exit status: 0 target met (or quick validation passed), 1 missed (or failed), 2 usage error.\n"
    << "Usually run through tito: `tito milestone run " << info.name << "`.\n";
  return s.str();
}

std::optional<std::string> first_non_finite(const std::vector<Batch>& batches) {
  for (const Batch& b : batches) {
    std::string where =
        (b.part.empty() ? "" : b.part + " ") + "epoch " + std::to_string(b.epoch) + ", batch " + std::to_string(b.index);
    if (!std::isfinite(b.loss)) return "the loss of " + where + " is " + number(b.loss);
    if (b.grad_norm && !std::isfinite(*b.grad_norm))
      return "a gradient norm of " + where + " is " + number(*b.grad_norm);
  }
  return std::nullopt;
}

QuickVerdict judge_quick(const std::vector<Batch>& batches, double min_drop) {
  QuickVerdict v;
  if (batches.size() < 2) {
    v.reason = "only " + std::to_string(batches.size()) +
               " loss recorded; a quick run needs the loss of every batch (Run::loss) to see it go down";
    return v;
  }
  if (std::optional<std::string> bad = first_non_finite(batches)) {
    v.reason = *bad;
    return v;
  }
  std::size_t k = std::max<std::size_t>(1, batches.size() / 4);
  for (std::size_t i = 0; i < k; ++i) {
    v.start += batches[i].loss / static_cast<double>(k);
    v.end += batches[batches.size() - k + i].loss / static_cast<double>(k);
  }
  std::string figures = shown(v.start) + " → " + shown(v.end) + " (mean of the first and last " + std::to_string(k) +
                        " of " + std::to_string(batches.size()) + " batches)";
  double needed = min_drop * std::abs(v.start);
  if (v.start - v.end > needed) {
    v.passed = true;
    v.reason = "the loss went down: " + figures;
  } else if (v.end < v.start) {
    v.reason = "the loss fell too little: " + figures + "; a quick run needs a fall of " + shown(100 * min_drop) + "%";
  } else {
    v.reason = "the loss did not go down: " + figures;
  }
  return v;
}

Options Run::command_line(const Info& info, int argc, char** argv, const Defaults& defaults) {
  std::vector<std::string> args;
  for (int i = 1; i < argc; ++i) args.emplace_back(argv[i]);
  try {
    Options o = parse_arguments(args);
    if (o.help) {
      std::cout << usage(info, defaults);
      std::exit(0);
    }
    return o;
  } catch (const UsageError& e) {
    std::cerr << "milestone_" << info.name << ": " << e.what() << "\n\n" << usage(info, defaults);
    std::exit(2);
  }
}

Run::Run(Info info, Options options, Defaults defaults)
    : Run(std::move(info), std::move(options), defaults, std::cout) {}

Run::Run(Info info, Options options, Defaults defaults, std::ostream& log)
    : info_(std::move(info)), options_(std::move(options)), defaults_(defaults), log_(log) {
  epochs_ = options_.epochs.value_or(options_.quick ? defaults_.quick_epochs : defaults_.epochs);
  seed_ = options_.seed.value_or(defaults_.seed);
  out_ = options_.out.empty() ? fs::path(info_.default_out) : options_.out;
  fs::create_directories(out_);  // throws filesystem_error naming the folder
  redraw_ = &log_ == &std::cout && smart_terminal();
  started_ = epoch_started_ = std::chrono::steady_clock::now();
  log_ << "milestone " << info_.folder << " (" << (quick() ? "quick" : "full") << " run: " << epochs_ << " epoch"
       << (epochs_ == 1 ? "" : "s");
  if (quick()) log_ << " of at most " << defaults_.quick_batches << " batches";
  log_ << ", seed " << seed_ << ")\n";
  if (!quick()) log_ << "target: " << info_.target << "\n";
  log_.flush();
}

fs::path Run::data_dir() const {
  const char* env = std::getenv("TITO_DATA_DIR");
  return env != nullptr && *env != '\0' ? fs::path(env) : fs::path(info_.default_data);
}

std::size_t Run::batches(std::size_t available) {
  planned_ = quick() ? std::min(available, static_cast<std::size_t>(std::max(1, defaults_.quick_batches))) : available;
  return planned_;
}

void Run::loss(double value) {
  int index = 1;
  if (!batches_.empty() && batches_.back().epoch == epoch_ && batches_.back().part == part_) {
    index = batches_.back().index + 1;
  }
  batches_.push_back(Batch{epoch_, index, value, std::nullopt, part_});
  draw_progress();
}

void Run::grad_norm(double value) {
  if (batches_.empty() || batches_.back().epoch != epoch_ || batches_.back().part != part_) {
    throw std::logic_error("milestone::Run::grad_norm before the batch's loss: call run.loss(...) first");
  }
  std::optional<double>& g = batches_.back().grad_norm;
  if (g && !std::isfinite(*g)) return;  // the first non-finite norm stays
  if (!g || !std::isfinite(value) || value > *g) g = value;
}

void Run::draw_progress() {
  if (!redraw_) return;
  auto now = std::chrono::steady_clock::now();
  if (progress_shown_ && now - last_draw_ < std::chrono::milliseconds(100)) return;
  last_draw_ = now;
  const Batch& b = batches_.back();
  std::string line = "  " + (part_.empty() ? "" : part_ + " ") + "epoch " + std::to_string(epoch_) + "/" + std::to_string(epochs_) + "  batch " +
                     std::to_string(b.index) + (planned_ > 0 ? "/" + std::to_string(planned_) : "") + "  loss " +
                     shown(b.loss);
  std::cerr << "\r\033[K" << line << std::flush;
  progress_shown_ = true;
}

void Run::clear_progress() {
  if (progress_shown_) std::cerr << "\r\033[K" << std::flush;
  progress_shown_ = false;
}

void Run::end_epoch() {
  clear_progress();
  auto now = std::chrono::steady_clock::now();
  double seconds = std::chrono::duration<double>(now - epoch_started_).count();
  epoch_seconds_.push_back(seconds);
  epoch_started_ = now;
  double sum = 0;
  int n = 0;
  for (const Batch& b : batches_) {
    if (b.epoch == epoch_ && b.part == part_) {
      sum += b.loss;
      ++n;
    }
  }
  log_ << (part_.empty() ? "" : part_ + " ") << "epoch " << epoch_ << "/" << epochs_ << ": ";
  if (n > 0) {
    log_ << "mean loss " << shown(sum / n) << " over " << n << " batch" << (n == 1 ? "" : "es");
  } else {
    log_ << "no losses recorded";
  }
  char time[32];
  std::snprintf(time, sizeof time, "%.2f s", seconds);
  log_ << ", " << time << "\n" << std::flush;
  ++epochs_done_;
  ++epoch_;
  planned_ = 0;
}

int Run::begin_part(const std::string& name, int full_epochs) {
  if (name.empty()) throw std::logic_error("milestone::Run::begin_part: a part needs a name");
  if (std::find(parts_.begin(), parts_.end(), name) != parts_.end()) {
    throw std::logic_error("milestone::Run::begin_part: part '" + name + "' was begun before");
  }
  if (parts_.empty() && !batches_.empty()) {
    throw std::logic_error("milestone::Run::begin_part('" + name +
                           "') after batches recorded outside a part: begin every part, the first one too");
  }
  if (full_epochs < 1) throw std::logic_error("milestone::Run::begin_part: a part needs at least one epoch");
  clear_progress();
  parts_.push_back(name);
  part_ = name;
  epoch_ = 1;
  planned_ = 0;
  epochs_ = options_.epochs.value_or(quick() ? defaults_.quick_epochs : full_epochs);
  epoch_started_ = std::chrono::steady_clock::now();
  log_ << "part " << name << ": " << epochs_ << " epoch" << (epochs_ == 1 ? "" : "s") << "\n" << std::flush;
  return epochs_;
}

void Run::metric(const std::string& name, double value) {
  for (auto& [n, v] : metrics_) {
    if (n == name) {
      v = value;
      return;
    }
  }
  metrics_.emplace_back(name, value);
}

void Run::artifact(const std::string& file) {
  if (std::find(artifacts_.begin(), artifacts_.end(), file) == artifacts_.end()) artifacts_.push_back(file);
}

void Run::note(const std::string& text) { notes_.push_back(text); }

int Run::finish(bool target_met) {
  if (finished_) throw std::logic_error("milestone::Run::finish called twice");
  finished_ = true;
  clear_progress();
  Results r;
  r.milestone = info_.name;
  r.quick = quick();
  r.target = info_.target;
  r.epochs = epochs_done_;
  r.batches = static_cast<int>(batches_.size());
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
  r.seed = seed_;
  r.losses = r.batches;
  for (const Batch& b : batches_) r.grad_norms += b.grad_norm.has_value();
  std::optional<std::string> bad = first_non_finite(batches_);
  r.finite = !bad;
  r.notes = notes_;
  if (quick() && !parts_.empty()) {
    // Each part is judged on its own losses; the run passes when every part does.
    r.met = true;
    std::string reasons;
    for (const std::string& name : parts_) {
      std::vector<Batch> own;
      for (const Batch& b : batches_) {
        if (b.part == name) own.push_back(b);
      }
      QuickVerdict v = judge_quick(own, defaults_.quick_min_drop);
      r.met = r.met && v.passed;
      if (name == parts_.front() && own.size() >= 2 && r.finite) {
        r.loss_start = v.start;
        r.loss_end = v.end;
      }
      reasons += (reasons.empty() ? "" : "; ") + name + ": " + v.reason;
    }
    r.verdict = std::string(r.met ? "quick validation passed: " : "quick validation failed: ") + reasons;
    if (r.met && r.grad_norms == 0) r.notes.push_back("no gradient norms were reported (Run::grad_norm)");
  } else if (quick()) {
    QuickVerdict v = judge_quick(batches_, defaults_.quick_min_drop);
    r.met = v.passed;
    if (batches_.size() >= 2 && r.finite) {
      r.loss_start = v.start;
      r.loss_end = v.end;
    }
    r.verdict = std::string(v.passed ? "quick validation passed: " : "quick validation failed: ") + v.reason;
    if (v.passed && r.grad_norms == 0) r.notes.push_back("no gradient norms were reported (Run::grad_norm)");
  } else if (bad) {
    r.met = false;
    r.verdict = "target missed: " + *bad;
  } else {
    r.met = target_met;
    r.verdict = target_met ? "target met" : "target missed";
  }
  r.metrics = metrics_;
  bool timed =
      std::any_of(metrics_.begin(), metrics_.end(), [](const auto& m) { return m.first == "seconds_per_epoch"; });
  if (!timed && !epoch_seconds_.empty()) {
    double sum = 0;
    for (double s : epoch_seconds_) sum += s;
    r.metrics.emplace_back("seconds_per_epoch", sum / static_cast<double>(epoch_seconds_.size()));
  }
  if (!batches_.empty()) {
    const bool parted = !parts_.empty();
    std::string csv = parted ? "part,epoch,batch,loss,grad_norm\n" : "epoch,batch,loss,grad_norm\n";
    for (const Batch& b : batches_) {
      if (parted) csv += b.part + ",";
      csv += std::to_string(b.epoch) + "," + std::to_string(b.index) + "," + number(b.loss) + "," +
             (b.grad_norm ? number(*b.grad_norm) : "") + "\n";
    }
    write_atomic(out_ / "losses.csv", csv);
    artifact("losses.csv");
  }
  r.artifacts = artifacts_;
  write_atomic(out_ / "results.json", to_json(r));

  log_ << r.verdict << "\nresults: " << (out_ / "results.json").string() << "\n" << std::flush;
  return r.met ? 0 : 1;
}

std::string to_json(const Results& r) {
  std::string out = "{\n";
  out += "  \"format\": \"tinytorch-milestone-results\",\n";
  out += "  \"version\": 1,\n";
  out += "  \"milestone\": " + json_string(r.milestone) + ",\n";
  out += "  \"mode\": " + json_string(r.quick ? "quick" : "full") + ",\n";
  out += "  \"met\": " + std::string(r.met ? "true" : "false") + ",\n";
  out += "  \"target\": " + json_string(r.target) + ",\n";
  out += "  \"verdict\": " + json_string(r.verdict) + ",\n";
  out += "  \"metrics\": {";
  for (std::size_t i = 0; i < r.metrics.size(); ++i) {
    out += (i ? ", " : "") + json_string(r.metrics[i].first) + ": " + json_number(r.metrics[i].second);
  }
  out += "},\n";
  out += "  \"epochs\": " + std::to_string(r.epochs) + ",\n";
  out += "  \"batches\": " + std::to_string(r.batches) + ",\n";
  out += "  \"seconds\": " + json_number(r.seconds) + ",\n";
  out += "  \"seed\": " + std::to_string(r.seed) + ",\n";
  out += "  \"checks\": {\"losses\": " + std::to_string(r.losses) +
         ", \"grad_norms\": " + std::to_string(r.grad_norms) + ", \"finite\": " + (r.finite ? "true" : "false") +
         ", \"loss_start\": " + (r.loss_start ? json_number(*r.loss_start) : "null") +
         ", \"loss_end\": " + (r.loss_end ? json_number(*r.loss_end) : "null") + "},\n";
  out += "  \"artifacts\": " + json_strings(r.artifacts) + ",\n";
  out += "  \"notes\": " + json_strings(r.notes) + "\n";
  out += "}\n";
  return out;
}

}  // namespace milestone
