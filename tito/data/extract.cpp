#include "data/extract.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <locale.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <string_view>
#include <vector>

#include "data/digest.hpp"
#include "util/error.hpp"
#include "util/fd.hpp"

namespace tito::data {

namespace {

// The C.UTF-8 locale for this thread while it lives. libarchive converts
// names to the current locale's character set; tito runs in the C locale,
// where a zip's UTF-8 names ("naïve.txt") cannot be converted and come back
// as nothing. Names on Linux are bytes, and UTF-8 ones are kept as they are.
class Utf8Names {
 public:
  Utf8Names() : utf8_(::newlocale(LC_CTYPE_MASK, "C.UTF-8", locale_t{})) {
    if (utf8_ != locale_t{}) previous_ = ::uselocale(utf8_);
  }
  ~Utf8Names() {
    if (utf8_ == locale_t{}) return;
    ::uselocale(previous_);
    ::freelocale(utf8_);
  }
  Utf8Names(const Utf8Names&) = delete;
  Utf8Names& operator=(const Utf8Names&) = delete;

 private:
  locale_t utf8_;
  locale_t previous_ = LC_GLOBAL_LOCALE;
};

// A libarchive reader that frees itself.
class ArchiveReader {
 public:
  ArchiveReader() : a_(archive_read_new()) {
    if (a_ == nullptr) throw Error("libarchive could not create a reader (out of memory?)");
  }
  ~ArchiveReader() { archive_read_free(a_); }
  ArchiveReader(const ArchiveReader&) = delete;
  ArchiveReader& operator=(const ArchiveReader&) = delete;
  archive* get() const { return a_; }
  std::string error() const {
    const char* e = archive_error_string(a_);
    return e != nullptr ? e : "unknown libarchive error";
  }

 private:
  archive* a_;
};

[[noreturn]] void refuse(const fs::path& archive, const std::string& entry, const std::string& why) {
  throw Error("refusing to extract " + archive.filename().string() + ": entry '" + entry + "' " + why +
              "; an archive from the registry never does this, so it is damaged or malicious");
}

[[noreturn]] void damaged(const fs::path& archive, const std::string& detail) {
  throw Error("cannot extract " + archive.filename().string() + ": " + detail +
              " (the archive is damaged or truncated)");
}

[[noreturn]] void write_failed(const fs::path& path, int err) {
  std::string hint = err == ENOSPC ? " (the disk is full: free some space and run again)" : "";
  throw Error("cannot write " + path.string() + ": " + std::strerror(err) + hint);
}

void check_cancel(const std::atomic<bool>* cancel, const fs::path& archive) {
  if (cancel != nullptr && cancel->load()) {
    throw Error("interrupted while extracting " + archive.filename().string(), kExitInterrupted);
  }
}

// The entry's path made relative and clean ("./a//b" -> "a/b"; "./" -> ""),
// or a refusal when it is absolute or climbs with "..".
std::string inner_path(const fs::path& archive, const std::string& entry, const std::string& raw, const char* what) {
  if (!raw.empty() && raw.front() == '/') refuse(archive, entry, std::string("has an absolute ") + what);
  std::string out;
  std::size_t start = 0;
  while (start <= raw.size()) {
    std::size_t end = raw.find('/', start);
    if (end == std::string::npos) end = raw.size();
    std::string part = raw.substr(start, end - start);
    if (part == "..")
      refuse(archive, entry, std::string("has '..' in its ") + what + " and would land outside the folder");
    if (!part.empty() && part != ".") out += (out.empty() ? "" : "/") + part;
    start = end + 1;
  }
  return out;
}

void remove_non_directory(const fs::path& path) {
  struct stat st;
  if (::lstat(path.c_str(), &st) == 0 && !S_ISDIR(st.st_mode)) ::unlink(path.c_str());
}

void make_parent(const fs::path& path) {
  std::error_code ec;
  fs::create_directories(path.parent_path(), ec);
  if (ec) throw Error("cannot create folder " + path.parent_path().string() + ": " + ec.message());
}

std::uint64_t write_entry_data(archive* a, const fs::path& archive_path, const fs::path& path, mode_t perm,
                               const std::atomic<bool>* cancel) {
  remove_non_directory(path);
  Fd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, (perm & 0111) ? 0755 : 0644));
  if (fd.get() < 0) write_failed(path, errno);
  std::uint64_t end = 0;
  for (;;) {
    check_cancel(cancel, archive_path);
    const void* buffer = nullptr;
    std::size_t size = 0;
    la_int64_t offset = 0;
    int rc = archive_read_data_block(a, &buffer, &size, &offset);
    if (rc == ARCHIVE_EOF) break;
    if (rc < ARCHIVE_WARN) {
      const char* e = archive_error_string(a);
      damaged(archive_path, e != nullptr ? e : "cannot read an entry's data");
    }
    std::string_view data(static_cast<const char*>(buffer), size);
    if (int err = pwrite_all(fd.get(), data, static_cast<off_t>(offset))) write_failed(path, err);
    end = std::max<std::uint64_t>(end, static_cast<std::uint64_t>(offset) + size);
  }
  if (int err = fd.close()) write_failed(path, err);
  return end;
}

}  // namespace

ExtractStats extract_archive(const fs::path& archive_path, const fs::path& dest, const std::atomic<bool>* cancel) {
  Utf8Names utf8;
  ArchiveReader reader;
  archive* a = reader.get();
  if (archive_read_support_filter_all(a) != ARCHIVE_OK || archive_read_support_format_all(a) != ARCHIVE_OK) {
    throw Error("libarchive cannot read archives here: " + reader.error());
  }
  if (archive_read_open_filename(a, archive_path.c_str(), 1 << 20) != ARCHIVE_OK) {
    damaged(archive_path, reader.error());
  }
  ExtractStats stats;
  for (;;) {
    check_cancel(cancel, archive_path);
    archive_entry* entry = nullptr;
    int rc = archive_read_next_header(a, &entry);
    if (rc == ARCHIVE_EOF) break;
    if (rc < ARCHIVE_WARN) damaged(archive_path, reader.error());
    const char* raw_name = archive_entry_pathname(entry);
    std::string raw = raw_name != nullptr ? raw_name : "";
    std::string rel = inner_path(archive_path, raw, raw, "path");
    ++stats.entries;
    if (rel.empty()) continue;  // "./" itself
    fs::path target = dest / rel;
    mode_t type = archive_entry_filetype(entry);

    if (const char* hardlink = archive_entry_hardlink(entry)) {
      std::string source = inner_path(archive_path, raw, hardlink, "link target");
      if (source.empty()) refuse(archive_path, raw, "is a hard link to the folder itself");
      make_parent(target);
      remove_non_directory(target);
      if (::link((dest / source).c_str(), target.c_str()) != 0) {
        damaged(archive_path, "cannot link " + rel + " to " + source + ": " + std::strerror(errno));
      }
      continue;
    }
    switch (type) {
      case AE_IFDIR: {
        std::error_code ec;
        fs::create_directories(target, ec);
        if (ec) throw Error("cannot create folder " + target.string() + ": " + ec.message());
        break;
      }
      case AE_IFREG:
        make_parent(target);
        stats.bytes += write_entry_data(a, archive_path, target, archive_entry_perm(entry), cancel);
        break;
      case AE_IFLNK: {
        const char* link = archive_entry_symlink(entry);
        std::string to = link != nullptr ? link : "";
        if (to.empty()) refuse(archive_path, raw, "is a symbolic link to nothing");
        if (to.front() == '/') refuse(archive_path, raw, "is a symbolic link to the absolute path " + to);
        for (const fs::path& part : fs::path(to)) {
          if (part == "..")
            refuse(archive_path, raw, "is a symbolic link with '..' (" + to + ") that can leave the folder");
        }
        make_parent(target);
        remove_non_directory(target);
        if (::symlink(to.c_str(), target.c_str()) != 0) write_failed(target, errno);
        break;
      }
      case AE_IFCHR:
      case AE_IFBLK:
        refuse(archive_path, raw, "is a device file");
      case AE_IFIFO:
        refuse(archive_path, raw, "is a FIFO");
      case AE_IFSOCK:
        refuse(archive_path, raw, "is a socket");
      default:
        refuse(archive_path, raw, "has an unknown file type");
    }
  }
  return stats;
}

Gunzipped gunzip_file(const fs::path& gz, const fs::path& out, const std::atomic<bool>* cancel) {
  ArchiveReader reader;
  archive* a = reader.get();
  if (archive_read_support_filter_gzip(a) != ARCHIVE_OK || archive_read_support_format_raw(a) != ARCHIVE_OK) {
    throw Error("libarchive cannot read gzip files here: " + reader.error());
  }
  if (archive_read_open_filename(a, gz.c_str(), 1 << 20) != ARCHIVE_OK) damaged(gz, reader.error());
  archive_entry* entry = nullptr;
  if (archive_read_next_header(a, &entry) < ARCHIVE_WARN) damaged(gz, reader.error());
  if (archive_filter_count(a) < 2 || archive_filter_code(a, 0) != ARCHIVE_FILTER_GZIP) {
    throw Error("cannot decompress " + gz.filename().string() + ": it is not a gzip file");
  }
  std::optional<Fd> fd;
  if (!out.empty()) {
    fd.emplace(::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644));
    if (fd->get() < 0) write_failed(out, errno);
  }
  Digest digest(DigestKind::Sha256);
  Gunzipped result;
  std::vector<char> buffer(1 << 20);
  for (;;) {
    check_cancel(cancel, gz);
    la_ssize_t n = archive_read_data(a, buffer.data(), buffer.size());
    if (n == 0) break;
    if (n < 0) damaged(gz, reader.error());
    digest.update(buffer.data(), static_cast<std::size_t>(n));
    result.size += static_cast<std::uint64_t>(n);
    if (fd) {
      if (int err = write_all(fd->get(), std::string_view(buffer.data(), static_cast<std::size_t>(n)))) {
        write_failed(out, err);
      }
    }
  }
  if (fd) {
    if (int err = fd->close()) write_failed(out, err);
  }
  result.sha256 = digest.hex();
  return result;
}

}  // namespace tito::data
