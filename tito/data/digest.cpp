#include "data/digest.hpp"

#include <fcntl.h>
#include <openssl/evp.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#include "util/error.hpp"
#include "util/fd.hpp"
#include "util/hash.hpp"

namespace tito::data {

struct Digest::Impl {
  EVP_MD_CTX* ctx = nullptr;
  bool failed = false;

  // The background mode: blocks of bytes waiting for the worker.
  std::thread worker;
  std::mutex mutex;
  std::condition_variable wake_worker, worker_idle, room;
  std::deque<std::vector<char>> queue;
  std::vector<std::vector<char>> spare;
  std::size_t queued_bytes = 0;
  bool busy = false;
  bool stop = false;

  std::vector<char> filling;

  static constexpr std::size_t kBlock = 1 << 20;
  static constexpr std::size_t kMaxQueued = 64 << 20;

  ~Impl() {
    if (worker.joinable()) {
      {
        std::lock_guard<std::mutex> lock(mutex);
        stop = true;
      }
      wake_worker.notify_all();
      worker.join();
    }
    EVP_MD_CTX_free(ctx);
  }

  void hash(const void* data, std::size_t size) {
    if (size > 0 && EVP_DigestUpdate(ctx, data, size) != 1) failed = true;
  }

  void run() {
    std::unique_lock<std::mutex> lock(mutex);
    for (;;) {
      wake_worker.wait(lock, [&] { return stop || !queue.empty(); });
      if (queue.empty()) return;  // stop, with nothing left to hash
      std::vector<char> block = std::move(queue.front());
      queue.pop_front();
      busy = true;
      lock.unlock();
      hash(block.data(), block.size());
      lock.lock();
      busy = false;
      queued_bytes -= block.size();
      spare.push_back(std::move(block));  // at most kMaxQueued / kBlock of them
      room.notify_all();
      if (queue.empty()) worker_idle.notify_all();
    }
  }

  // Appends to the block being filled; hands it to the worker once it holds
  // a megabyte. Only the caller's thread touches `filling`.
  void enqueue(const void* data, std::size_t size) {
    const char* bytes = static_cast<const char*>(data);
    if (filling.capacity() < kBlock * 2) filling.reserve(kBlock * 2);
    filling.insert(filling.end(), bytes, bytes + size);
    if (filling.size() >= kBlock) flush();
  }

  void flush() {
    if (filling.empty()) return;
    std::unique_lock<std::mutex> lock(mutex);
    room.wait(lock, [&] { return queued_bytes < kMaxQueued; });
    queued_bytes += filling.size();
    queue.push_back(std::move(filling));
    filling.clear();
    if (!spare.empty()) {
      filling = std::move(spare.back());
      spare.pop_back();
      filling.clear();
    }
    lock.unlock();
    wake_worker.notify_one();
  }

  // Waits until the worker has hashed everything queued.
  void drain() {
    if (!worker.joinable()) return;
    flush();
    std::unique_lock<std::mutex> lock(mutex);
    worker_idle.wait(lock, [&] { return queue.empty() && !busy; });
  }
};

const char* digest_name(DigestKind kind) { return kind == DigestKind::Md5 ? "md5" : "sha256"; }

Digest::Digest(DigestKind kind, Mode mode) : kind_(kind), impl_(std::make_unique<Impl>()) {
  impl_->ctx = EVP_MD_CTX_new();
  if (impl_->ctx == nullptr) throw Error("OpenSSL could not allocate a digest context");
  reset();
  if (mode == Background) {
    Impl* impl = impl_.get();
    impl_->worker = std::thread([impl] { impl->run(); });
  }
}

Digest::~Digest() = default;
Digest::Digest(Digest&&) noexcept = default;
Digest& Digest::operator=(Digest&&) noexcept = default;

void Digest::reset() {
  impl_->drain();
  impl_->failed = false;
  const EVP_MD* md = kind_ == DigestKind::Md5 ? EVP_md5() : EVP_sha256();
  if (EVP_DigestInit_ex(impl_->ctx, md, nullptr) != 1) {
    throw Error(std::string("OpenSSL could not start a ") + digest_name(kind_) + " digest");
  }
}

void Digest::update(const void* data, std::size_t size) {
  if (size == 0) return;
  if (impl_->worker.joinable()) {
    impl_->enqueue(data, size);
    return;
  }
  impl_->hash(data, size);
  if (impl_->failed) throw Error(std::string("OpenSSL could not compute a ") + digest_name(kind_) + " digest");
}

std::string Digest::hex() {
  impl_->drain();
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (impl_->failed || EVP_DigestFinal_ex(impl_->ctx, digest, &length) != 1) {
    throw Error(std::string("OpenSSL could not finish a ") + digest_name(kind_) + " digest");
  }
  reset();
  return to_hex(digest, length);
}

void hash_file_into(const fs::path& path, std::uint64_t length, Digest& digest, const std::atomic<bool>* cancel) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) throw Error("cannot read " + path.string() + ": " + std::strerror(errno));
  std::vector<char> buffer(1 << 20);
  std::uint64_t left = length;
  while (left > 0) {
    if (cancel != nullptr && cancel->load()) {
      throw Error("interrupted while checking " + path.filename().string(), kExitInterrupted);
    }
    std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(left, buffer.size()));
    ssize_t n = ::read(fd.get(), buffer.data(), want);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw Error("cannot read " + path.string() + ": " + std::strerror(errno));
    if (n == 0) break;
    digest.update(buffer.data(), static_cast<std::size_t>(n));
    left -= static_cast<std::uint64_t>(n);
  }
}

std::string hash_file(const fs::path& path, DigestKind kind, const std::atomic<bool>* cancel) {
  Digest digest(kind);
  hash_file_into(path, UINT64_MAX, digest, cancel);
  return digest.hex();
}

}  // namespace tito::data
