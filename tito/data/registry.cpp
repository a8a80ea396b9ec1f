#include "data/registry.hpp"

#include <cstdlib>
#include <nlohmann/json.hpp>
#include <set>

#include "util/env.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"
#include "util/hash.hpp"
#include "util/json_document.hpp"
#include "util/text.hpp"

namespace tito::data {

namespace {

using json = nlohmann::ordered_json;  // datasets listed in the file's order

bool is_hex(const std::string& s, std::size_t length) {
  if (s.size() != length) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

// A relative path that stays below its folder: no "..", not absolute, not empty.
bool is_inner_path(const std::string& p) {
  if (p.empty() || p.front() == '/') return false;
  for (const fs::path& part : fs::path(p)) {
    if (part == "..") return false;
  }
  return true;
}

// The registry's problems are diagnostics at its file and the line of the
// field (searched from the dataset's own key, so that a "size" is the
// dataset's, not an earlier one's).
class DatasetReader {
 public:
  DatasetReader(std::string_view text, const std::string& origin, const std::string& name, std::size_t dataset_at)
      : text_(text), origin_(origin), name_(printable(name, 60)), dataset_at_(dataset_at) {}

  [[noreturn]] void fail(const std::string& what, const char* key = nullptr) const {
    std::size_t at = key == nullptr ? std::string_view::npos : find_json_key(text_, key, dataset_at_);
    if (at == std::string_view::npos) at = dataset_at_;
    int line = at == std::string_view::npos ? 1 : line_at(text_, at);
    throw DiagnosticError({Diagnostic{origin_, line, "dataset '" + name_ + "': " + what, ""}}, "");
  }

  std::string text(const json& j, const char* key, bool required) const {
    if (!j.contains(key)) {
      if (required) fail("missing \"" + std::string(key) + "\"");
      return "";
    }
    if (!j[key].is_string()) fail("\"" + std::string(key) + "\" must be a string", key);
    return j[key].get<std::string>();
  }

  std::uint64_t size(const json& j, const char* key) const {
    if (!j.contains(key)) return 0;
    if (!j[key].is_number_unsigned()) fail("\"" + std::string(key) + "\" must be a whole number of bytes", key);
    return j[key].get<std::uint64_t>();
  }

  std::string digest(const json& j, const char* key, std::size_t hex_length) const {
    std::string d = text(j, key, false);
    if (!d.empty() && !is_hex(d, hex_length)) {
      fail("\"" + std::string(key) + "\" must be " + std::to_string(hex_length) + " lower-case hex digits, not '" +
               printable(d, 80) + "'",
           key);
    }
    return d;
  }

  std::vector<std::string> strings(const json& j, const char* key) const {
    std::vector<std::string> out;
    if (!j.contains(key)) return out;
    if (!j[key].is_array()) fail("\"" + std::string(key) + "\" must be a list of strings", key);
    for (const json& s : j[key]) {
      if (!s.is_string()) fail("\"" + std::string(key) + "\" must be a list of strings", key);
      out.push_back(s.get<std::string>());
    }
    return out;
  }

  ContentFile content(const json& j) const {
    if (!j.is_object()) fail("each content file must be an object with \"path\"");
    ContentFile c;
    c.path = j.contains("name") ? text(j, "name", true) : text(j, "path", true);
    if (!is_inner_path(c.path)) {
      fail("content path '" + printable(c.path, 80) + "' must be relative and stay inside the folder", "path");
    }
    c.size = size(j, "size");
    c.sha256 = digest(j, "sha256", 64);
    return c;
  }

  RemoteFile file(const json& j) const {
    if (!j.is_object()) fail("each entry of \"files\" must be an object");
    RemoteFile f;
    f.name = text(j, "name", true);
    if (f.name.empty() || f.name.find('/') != std::string::npos || f.name == "..") {
      fail("file name '" + printable(f.name, 80) + "' must be a plain file name", "name");
    }
    f.size = size(j, "size");
    f.md5 = digest(j, "md5", 32);
    f.sha256 = digest(j, "sha256", 64);
    std::string unpack = text(j, "unpack", false);
    if (unpack.empty() || unpack == "none") {
      f.unpack = Unpack::None;
    } else if (unpack == "archive") {
      f.unpack = Unpack::Archive;
    } else if (unpack == "gzip") {
      f.unpack = Unpack::Gzip;
    } else {
      fail("file '" + printable(f.name, 80) + "': \"unpack\" must be none, archive or gzip, not '" + printable(unpack, 40) + "'",
           "unpack");
    }
    if (j.contains("content")) {
      if (f.unpack != Unpack::Gzip) fail("file '" + printable(f.name, 80) + "': \"content\" needs \"unpack\": \"gzip\"", "content");
      f.content = content(j["content"]);
    } else if (f.unpack == Unpack::Gzip) {
      fail("file '" + printable(f.name, 80) + "': a gzip file needs \"content\" (the decompressed file's name, size, sha256)",
           "unpack");
    }
    if (!f.has_digest() && f.size == 0) {
      fail("file '" + printable(f.name, 80) + "' needs a checksum (sha256 or md5) or a size", "name");
    }
    return f;
  }

 private:
  std::string_view text_;
  std::string origin_;
  std::string name_;
  std::size_t dataset_at_;
};

Dataset read_dataset(const DatasetReader& r, const std::string& name, const json& j) {
  if (!j.is_object()) r.fail("must be an object");
  Dataset d;
  d.name = name;
  d.title = r.text(j, "title", true);
  d.homepage = r.text(j, "homepage", false);
  d.license = r.text(j, "license", false);
  d.mirrors = r.strings(j, "mirrors");
  for (std::string& m : d.mirrors) {
    if (m.rfind("http://", 0) != 0 && m.rfind("https://", 0) != 0) {
      r.fail("mirror '" + printable(m, 80) + "' must be an http(s) URL", "mirrors");
    }
    if (m.back() != '/') m += '/';
  }
  if (!j.contains("files") || !j["files"].is_array() || j["files"].empty()) {
    r.fail("\"files\" must list what to download", "files");
  }
  for (const json& f : j["files"]) d.files.push_back(r.file(f));
  d.dir = r.text(j, "dir", true);
  if (!is_inner_path(d.dir) || d.dir == "." || d.dir.find('/') != std::string::npos) {
    r.fail("\"dir\" must be a plain folder name, not '" + printable(d.dir, 80) + "'", "dir");
  }
  if (j.contains("contents")) {
    if (!j["contents"].is_array()) r.fail("\"contents\" must be a list", "contents");
    for (const json& c : j["contents"]) d.contents.push_back(r.content(c));
  }
  d.format = r.text(j, "format", false);
  if (!d.format.empty() && d.format != "cifar10-binary" && d.format != "idx") {
    r.fail("\"format\" must be cifar10-binary or idx, not '" + printable(d.format, 40) + "'", "format");
  }
  d.classes = r.strings(j, "classes");
  if (j.contains("splits")) {
    if (!j["splits"].is_object()) r.fail("\"splits\" must map a split name to its files", "splits");
    for (const auto& [split, files] : j["splits"].items()) d.splits[split] = r.strings(j["splits"], split.c_str());
  }
  std::set<std::string> names;
  for (const RemoteFile& f : d.files) {
    if (!names.insert(f.name).second) r.fail("file '" + printable(f.name, 80) + "' is listed twice", "files");
  }
  return d;
}

}  // namespace

std::uint64_t Dataset::download_size() const {
  std::uint64_t total = 0;
  for (const RemoteFile& f : files) total += f.size;
  return total;
}

std::vector<ContentFile> Dataset::expected_contents() const {
  std::vector<ContentFile> out = contents;
  for (const RemoteFile& f : files) {
    if (f.content) out.push_back(*f.content);
  }
  return out;
}

std::string Dataset::fingerprint() const {
  json j;
  j["dir"] = dir;
  for (const RemoteFile& f : files) {
    json c = f.content ? json{{"path", f.content->path}, {"size", f.content->size}, {"sha256", f.content->sha256}}
                       : json(nullptr);
    j["files"].push_back({{"name", f.name},
                          {"size", f.size},
                          {"md5", f.md5},
                          {"sha256", f.sha256},
                          {"unpack", static_cast<int>(f.unpack)},
                          {"content", c}});
  }
  for (const ContentFile& c : contents) j["contents"].push_back({{"path", c.path}, {"size", c.size}, {"sha256", c.sha256}});
  return sha256_hex(j.dump()).substr(0, 16);
}

Registry Registry::parse(const std::string& text, const std::string& origin) {
  json j = parse_json_document(text, origin);
  if (!j.is_object() || !j.contains("datasets") || !j["datasets"].is_object()) {
    throw DiagnosticError(
        {Diagnostic{origin, 1, "a dataset registry is a JSON object with \"datasets\": {name: {...}}", ""}}, "");
  }
  Registry r;
  r.origin_ = origin;
  std::size_t datasets_at = find_json_key(text, "datasets");
  for (const auto& [name, entry] : j["datasets"].items()) {
    std::size_t at = find_json_key(text, name, datasets_at);
    // A name written with escapes ("\u0041") is not found as it reads: the
    // line of "datasets" then stands for it.
    if (at == std::string::npos) at = datasets_at == std::string::npos ? 0 : datasets_at;
    DatasetReader reader(text, origin, name, at);
    bool ok = !name.empty() && name != "." && name != ".." && name.find('/') == std::string::npos &&
              name.front() != '.' && name.find('\0') == std::string::npos;
    if (!ok) reader.fail("not a usable dataset name (it names a cache folder)");
    r.datasets_.push_back(read_dataset(reader, name, entry));
  }
  return r;
}

Registry Registry::load(const fs::path& path) {
  std::optional<std::string> text = read_file_if_exists(path, kMaxRegistryBytes);
  if (!text) {
    throw Error("no dataset registry at " + path.string() +
                ": pass --registry FILE or set TITO_REGISTRY (the course ships data/datasets.json)");
  }
  return parse(*text, path.string());
}

const Dataset& Registry::find(const std::string& name) const {
  std::vector<std::string> known;
  for (const Dataset& d : datasets_) {
    if (d.name == name) return d;
    known.push_back(d.name);
  }
  std::string guess = nearest(name, known);
  throw Error("no dataset called '" + name + "' in " + origin_ + " (" +
                  (guess.empty() ? "" : "did you mean '" + guess + "'? ") + "known: " + (known.empty() ? "none" : join(known)) +
                  ")",
              kExitUsage);
}

DataLocations resolve_locations(const std::optional<fs::path>& course_root, const std::string& registry_option,
                                const std::string& cache_option) {
  DataLocations out;
  std::string registry = !registry_option.empty() ? registry_option : env_string("TITO_REGISTRY");
  std::string cache = !cache_option.empty() ? cache_option : env_string("TITO_DATA_DIR");
  if (!registry.empty()) {
    out.registry = fs::absolute(registry);
  } else if (course_root) {
    out.registry = *course_root / "data" / "datasets.json";
  } else {
    throw Error(
        "not inside a TinyTorch course, so there is no dataset registry: run this in the course folder (or pass "
        "--root DIR), or pass --registry FILE (or set TITO_REGISTRY)",
        kExitUsage);
  }
  if (!cache.empty()) {
    out.cache = fs::absolute(cache);
  } else if (course_root) {
    out.cache = *course_root / "data" / "cache";
  } else {
    throw Error(
        "not inside a TinyTorch course, so there is no default dataset cache: run this in the course folder (or "
        "pass --root DIR), or pass --cache DIR (or set TITO_DATA_DIR)",
        kExitUsage);
  }
  return out;
}

}  // namespace tito::data
