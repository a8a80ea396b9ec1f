// Writing zip archives with libarchive: the Gradescope autograder bundle.
#pragma once

#include <string>
#include <vector>

namespace tito::data {

struct ZipEntry {
  std::string path;  // inside the archive, with '/' between folders
  std::string content;
  bool executable = false;  // mode 0755 rather than 0644
};

// A deflated zip archive of `entries`, in their order, as bytes. Every entry
// gets the same fixed time, so the same entries always make the same bytes.
// Throws tito::Error when libarchive fails.
std::string make_zip(const std::vector<ZipEntry>& entries);

}  // namespace tito::data
