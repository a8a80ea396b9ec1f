#include "data/zip.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <sys/stat.h>

#include <memory>

#include "util/error.hpp"

namespace tito::data {

namespace {

// libarchive's write callback: appends to the std::string it is given.
la_ssize_t append(struct archive*, void* out, const void* buffer, std::size_t length) {
  static_cast<std::string*>(out)->append(static_cast<const char*>(buffer), length);
  return static_cast<la_ssize_t>(length);
}

// 2026-01-01 00:00 UTC: a zip's times are local "DOS" times, so any fixed
// value will do as long as it is the same for every entry and every run.
constexpr time_t kEntryTime = 1767225600;

}  // namespace

std::string make_zip(const std::vector<ZipEntry>& entries) {
  std::unique_ptr<struct archive, decltype(&archive_write_free)> a(archive_write_new(), archive_write_free);
  if (!a) throw Error("libarchive could not create a writer (out of memory?)");
  auto check = [&](int status, const std::string& what) {
    if (status < ARCHIVE_OK) {
      const char* e = archive_error_string(a.get());
      throw Error("cannot write the zip archive: " + what + ": " + (e != nullptr ? e : "unknown libarchive error"));
    }
  };
  std::string out;
  check(archive_write_set_format_zip(a.get()), "zip format");
  check(archive_write_set_options(a.get(), "zip:compression=deflate"), "deflate");
  // Names are UTF-8, flagged as such, whatever the locale (in the C locale
  // libarchive would leave the flag off and readers would take cp437).
  check(archive_write_set_options(a.get(), "zip:hdrcharset=UTF-8"), "UTF-8 names");
  // Whole blocks are padded out for tapes; a file wants only its bytes.
  check(archive_write_set_bytes_in_last_block(a.get(), 1), "block size");
  check(archive_write_open2(a.get(), &out, nullptr, append, nullptr, nullptr), "open");
  std::unique_ptr<struct archive_entry, decltype(&archive_entry_free)> entry(archive_entry_new(), archive_entry_free);
  for (const ZipEntry& e : entries) {
    archive_entry_clear(entry.get());
    archive_entry_set_pathname_utf8(entry.get(), e.path.c_str());
    archive_entry_set_filetype(entry.get(), AE_IFREG);
    archive_entry_set_perm(entry.get(), e.executable ? 0755 : 0644);
    archive_entry_set_size(entry.get(), static_cast<la_int64_t>(e.content.size()));
    archive_entry_set_mtime(entry.get(), kEntryTime, 0);
    check(archive_write_header(a.get(), entry.get()), e.path);
    if (!e.content.empty() &&
        archive_write_data(a.get(), e.content.data(), e.content.size()) != static_cast<la_ssize_t>(e.content.size())) {
      check(ARCHIVE_FATAL, e.path);
    }
  }
  check(archive_write_close(a.get()), "close");
  return out;
}

}  // namespace tito::data
