// Getting one registry file intact: retries with backoff, resume, mirror
// fallback, verification. Never leaves anything under the final name but a
// verified file.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "data/digest.hpp"
#include "data/http.hpp"
#include "data/registry.hpp"

namespace tito::data {

class FetchObserver;

struct RetryPolicy {
  int attempts_per_mirror = 5;                          // attempts in a row that bring no new byte
  int max_attempts = 100;                               // all attempts on one mirror, progress or not
  std::chrono::milliseconds backoff{1000};              // the first wait; doubled after each failure
  std::chrono::milliseconds max_backoff{30000};
  std::chrono::milliseconds max_retry_after{120000};    // a longer Retry-After moves on to the next mirror
};

struct DownloadSettings {
  HttpSettings http;
  RetryPolicy retry;
  const std::atomic<bool>* cancel = nullptr;
};

// The outcome of checking a file against the registry.
struct Verdict {
  bool ok = false;
  bool by_content = false;  // the compressed bytes differ, the decompressed content matches
  std::string problem;      // "checksum mismatch: expected sha256 c4a3..., got 9f2c..."
};

// Checks `path` against `file`: size and checksum (SHA-256, else MD5). A gzip
// file whose own checksum differs is accepted when its decompressed content
// has the registry's size and SHA-256 (a recompressed copy). `known_hex` is
// the file's digest when the caller already computed it while writing.
Verdict verify_file(const RemoteFile& file, const fs::path& path, const std::string& known_hex,
                    const std::atomic<bool>* cancel);

// The digest a download is checked with: SHA-256 when the registry has one.
DigestKind preferred_digest(const RemoteFile& file);

struct Downloaded {
  std::string url;                 // where it came from
  std::uint64_t transferred = 0;   // bytes received over the network, all attempts
  int attempts = 0;
  bool resumed = false;            // started from an earlier .part
  bool by_content = false;
};

// Downloads `file` to `dest`, trying each URL in turn. The body goes to
// `dest`.part (resumed from an earlier run when present) and is renamed to
// `dest` only once verified. A mismatching download is deleted. Throws
// tito::Error listing every URL and why it failed; on Ctrl-C (exit 130) and on
// a local write failure the .part is kept for the next run.
Downloaded download_file(const RemoteFile& file, const std::vector<std::string>& urls, const fs::path& dest,
                         const DownloadSettings& settings, FetchObserver& observer);

// "170.1 MB", "4.5 kB", "12 B".
std::string human_bytes(std::uint64_t bytes);

}  // namespace tito::data
