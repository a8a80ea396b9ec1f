#include "data/digest.hpp"

#include <fcntl.h>
#include <openssl/evp.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "util/error.hpp"

namespace tito::data {

struct Digest::Impl {
  EVP_MD_CTX* ctx = nullptr;
  ~Impl() { EVP_MD_CTX_free(ctx); }
};

const char* digest_name(DigestKind kind) { return kind == DigestKind::Md5 ? "md5" : "sha256"; }

Digest::Digest(DigestKind kind) : kind_(kind), impl_(std::make_unique<Impl>()) {
  impl_->ctx = EVP_MD_CTX_new();
  if (impl_->ctx == nullptr) throw Error("OpenSSL could not allocate a digest context");
  reset();
}

Digest::~Digest() = default;
Digest::Digest(Digest&&) noexcept = default;
Digest& Digest::operator=(Digest&&) noexcept = default;

void Digest::reset() {
  const EVP_MD* md = kind_ == DigestKind::Md5 ? EVP_md5() : EVP_sha256();
  if (EVP_DigestInit_ex(impl_->ctx, md, nullptr) != 1) {
    throw Error(std::string("OpenSSL could not start a ") + digest_name(kind_) + " digest");
  }
}

void Digest::update(const void* data, std::size_t size) {
  if (size > 0 && EVP_DigestUpdate(impl_->ctx, data, size) != 1) {
    throw Error(std::string("OpenSSL could not compute a ") + digest_name(kind_) + " digest");
  }
}

std::string Digest::hex() {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_DigestFinal_ex(impl_->ctx, digest, &length) != 1) {
    throw Error(std::string("OpenSSL could not finish a ") + digest_name(kind_) + " digest");
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(length * 2);
  for (unsigned int i = 0; i < length; ++i) {
    out += kHex[digest[i] >> 4];
    out += kHex[digest[i] & 0xF];
  }
  reset();
  return out;
}

void hash_file_into(const fs::path& path, std::uint64_t length, Digest& digest, const std::atomic<bool>* cancel) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw Error("cannot read " + path.string() + ": " + std::strerror(errno));
  std::vector<char> buffer(1 << 20);
  std::uint64_t left = length;
  while (left > 0) {
    if (cancel != nullptr && cancel->load()) {
      ::close(fd);
      throw Error("interrupted while checking " + path.filename().string(), kExitInterrupted);
    }
    std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(left, buffer.size()));
    ssize_t n = ::read(fd, buffer.data(), want);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      ::close(fd);
      throw Error("cannot read " + path.string() + ": " + std::strerror(err));
    }
    if (n == 0) break;
    digest.update(buffer.data(), static_cast<std::size_t>(n));
    left -= static_cast<std::uint64_t>(n);
  }
  ::close(fd);
}

std::string hash_file(const fs::path& path, DigestKind kind, const std::atomic<bool>* cancel) {
  Digest digest(kind);
  hash_file_into(path, UINT64_MAX, digest, cancel);
  return digest.hex();
}

}  // namespace tito::data
