#include "support.hpp"

#include <archive.h>
#include <archive_entry.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <fstream>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "data/digest.hpp"
#include "util/hash.hpp"

namespace tito::testing {

namespace {

struct Writer {
  archive* a = archive_write_new();
  ~Writer() { archive_write_free(a); }
  void check(int rc, const char* what) {
    if (rc != ARCHIVE_OK) throw std::runtime_error(std::string(what) + ": " + archive_error_string(a));
  }
};

struct Entry {
  archive_entry* e = archive_entry_new();
  ~Entry() { archive_entry_free(e); }
};

std::string write_to_memory(const std::function<void(Writer&)>& fill, bool raw, std::size_t content_bytes) {
  Writer w;
  w.check(archive_write_add_filter_gzip(w.a), "gzip filter");
  w.check(raw ? archive_write_set_format_raw(w.a) : archive_write_set_format_pax_restricted(w.a), "format");
  w.check(archive_write_set_bytes_in_last_block(w.a, 1), "block padding");
  std::size_t capacity = content_bytes + content_bytes / 8 + (1 << 20);
  std::string buffer(capacity, '\0');
  std::size_t used = 0;
  w.check(archive_write_open_memory(w.a, buffer.data(), capacity, &used), "open");
  fill(w);
  w.check(archive_write_close(w.a), "close");
  buffer.resize(used);
  return buffer;
}

}  // namespace

std::string make_tar_gz(const std::vector<TarEntry>& entries) {
  std::size_t total = 0;
  for (const TarEntry& t : entries) total += t.content.size() + 1024;
  return write_to_memory(
      [&](Writer& w) {
        for (const TarEntry& t : entries) {
          Entry e;
          archive_entry_set_pathname(e.e, t.path.c_str());
          archive_entry_set_perm(e.e, t.kind == TarEntry::Dir ? 0755 : 0644);
          archive_entry_set_mtime(e.e, 1600000000, 0);
          switch (t.kind) {
            case TarEntry::File:
              archive_entry_set_filetype(e.e, AE_IFREG);
              archive_entry_set_size(e.e, static_cast<la_int64_t>(t.content.size()));
              break;
            case TarEntry::Dir:
              archive_entry_set_filetype(e.e, AE_IFDIR);
              break;
            case TarEntry::Symlink:
              archive_entry_set_filetype(e.e, AE_IFLNK);
              archive_entry_set_symlink(e.e, t.target.c_str());
              break;
            case TarEntry::Hardlink:
              archive_entry_set_filetype(e.e, AE_IFREG);
              archive_entry_set_hardlink(e.e, t.target.c_str());
              break;
            case TarEntry::CharDevice:
              archive_entry_set_filetype(e.e, AE_IFCHR);
              archive_entry_set_rdev(e.e, makedev(1, 3));
              break;
            case TarEntry::BlockDevice:
              archive_entry_set_filetype(e.e, AE_IFBLK);
              archive_entry_set_rdev(e.e, makedev(8, 0));
              break;
            case TarEntry::Fifo:
              archive_entry_set_filetype(e.e, AE_IFIFO);
              break;
          }
          w.check(archive_write_header(w.a, e.e), "header");
          if (t.kind == TarEntry::File && !t.content.empty()) {
            la_ssize_t n = archive_write_data(w.a, t.content.data(), t.content.size());
            if (n != static_cast<la_ssize_t>(t.content.size())) throw std::runtime_error("archive_write_data");
          }
        }
      },
      false, total);
}

std::string make_gzip(const std::string& content) {
  return write_to_memory(
      [&](Writer& w) {
        Entry e;
        archive_entry_set_pathname(e.e, "data");
        archive_entry_set_filetype(e.e, AE_IFREG);
        archive_entry_set_size(e.e, static_cast<la_int64_t>(content.size()));
        w.check(archive_write_header(w.a, e.e), "header");
        if (archive_write_data(w.a, content.data(), content.size()) != static_cast<la_ssize_t>(content.size())) {
          throw std::runtime_error("archive_write_data");
        }
      },
      true, content.size());
}

std::string cifar_batch(std::size_t records, int seed) {
  std::string out;
  out.reserve(records * 3073);
  for (std::size_t i = 0; i < records; ++i) {
    out += static_cast<char>((i + static_cast<std::size_t>(seed)) % 10);
    for (int channel = 0; channel < 3; ++channel) {
      for (int p = 0; p < 1024; ++p) {
        int x = p % 32, y = p / 32;
        out += static_cast<char>((channel == 0 ? x * 8 : channel == 1 ? y * 8 : static_cast<int>(i) * 40) & 0xFF);
      }
    }
  }
  return out;
}

std::string cifar_archive(std::size_t records_per_batch) {
  std::vector<TarEntry> entries{{TarEntry::Dir, "cifar-10-batches-bin/", "", ""}};
  for (int b = 1; b <= 5; ++b) {
    entries.push_back({TarEntry::File, "cifar-10-batches-bin/data_batch_" + std::to_string(b) + ".bin",
                       cifar_batch(records_per_batch, b), ""});
  }
  entries.push_back({TarEntry::File, "cifar-10-batches-bin/test_batch.bin", cifar_batch(records_per_batch, 0), ""});
  entries.push_back({TarEntry::File, "cifar-10-batches-bin/batches.meta.txt",
                     "airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n\n", ""});
  entries.push_back({TarEntry::File, "cifar-10-batches-bin/readme.html", "<p>test data</p>\n", ""});
  return make_tar_gz(entries);
}

std::string cifar_registry(const std::vector<std::string>& mirrors, const std::string& archive,
                           std::size_t records_per_batch) {
  using json = nlohmann::json;
  json contents = json::array();
  for (int b = 1; b <= 5; ++b) {
    contents.push_back({{"path", "data_batch_" + std::to_string(b) + ".bin"}, {"size", records_per_batch * 3073}});
  }
  contents.push_back({{"path", "test_batch.bin"}, {"size", records_per_batch * 3073}});
  contents.push_back({{"path", "batches.meta.txt"}});
  json d{{"title", "CIFAR-10 (test copy)"},
         {"mirrors", mirrors},
         {"files",
          {{{"name", "cifar-10-binary.tar.gz"},
            {"size", archive.size()},
            {"md5", md5_hex(archive)},
            {"sha256", sha256_hex(archive)},
            {"unpack", "archive"}}}},
         {"dir", "cifar-10-batches-bin"},
         {"contents", contents},
         {"format", "cifar10-binary"},
         {"classes", {"airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"}},
         {"splits",
          {{"train", {"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin", "data_batch_5.bin"}},
           {"test", {"test_batch.bin"}}}}};
  return json{{"version", 1}, {"datasets", {{"cifar10", d}}}}.dump(2);
}

std::string md5_hex(const std::string& data) {
  data::Digest d(data::DigestKind::Md5);
  d.update(data.data(), data.size());
  return d.hex();
}

void write_bytes(const fs::path& path, const std::string& content) {
  fs::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary);
  out.write(content.data(), static_cast<std::streamsize>(content.size()));
  if (!out) throw std::runtime_error("cannot write " + path.string());
}

void RecordingObserver::stage(const std::string& what) {
  std::lock_guard<std::mutex> lock(mutex_);
  stages_.push_back(what);
}

void RecordingObserver::transfer_started(const std::string&, const std::string&, std::uint64_t offset, std::uint64_t) {
  std::lock_guard<std::mutex> lock(mutex_);
  offsets_.push_back(offset);
}

void RecordingObserver::transfer_progress(std::uint64_t done, std::uint64_t) {
  last_done_ = done;
  if (cancel != nullptr && done >= cancel_after) cancel->store(true);
}

void RecordingObserver::notice(const std::string& message) {
  std::lock_guard<std::mutex> lock(mutex_);
  notices_.push_back(message);
}

std::vector<std::string> RecordingObserver::stages() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return stages_;
}

std::vector<std::string> RecordingObserver::notices() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return notices_;
}

std::vector<std::uint64_t> RecordingObserver::start_offsets() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return offsets_;
}

std::string RecordingObserver::notices_text() const {
  std::string out;
  for (const std::string& n : notices()) out += n + "\n";
  return out;
}

int unused_loopback_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

}  // namespace tito::testing
