// Streaming checksums (OpenSSL EVP) for files too large to hold in memory.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

namespace tito::data {

namespace fs = std::filesystem;

enum class DigestKind { Md5, Sha256 };

// "md5" / "sha256".
const char* digest_name(DigestKind kind);

// A digest fed piece by piece. In the background mode, update() copies the
// bytes to a worker thread and returns at once, so hashing a download runs
// beside the transfer instead of slowing it; reset() and hex() wait for the
// worker to catch up.
class Digest {
 public:
  enum Mode { Inline, Background };
  explicit Digest(DigestKind kind, Mode mode = Inline);
  ~Digest();
  Digest(Digest&&) noexcept;
  Digest& operator=(Digest&&) noexcept;

  DigestKind kind() const { return kind_; }
  void update(const void* data, std::size_t size);
  // Starts over, as if nothing had been fed.
  void reset();
  // Lower-case hex of everything fed since the last reset.
  std::string hex();

 private:
  DigestKind kind_;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The digest of the whole file. Stops with tito::Error (exit 130) when
// `cancel` becomes true.
std::string hash_file(const fs::path& path, DigestKind kind, const std::atomic<bool>* cancel = nullptr);

// Feeds the file's first `length` bytes (fewer when the file is shorter)
// into `digest`; stops like hash_file.
void hash_file_into(const fs::path& path, std::uint64_t length, Digest& digest, const std::atomic<bool>* cancel);

}  // namespace tito::data
