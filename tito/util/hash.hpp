// Checksums (OpenSSL's EVP digests).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace tito {

// Lower-case hex of `length` bytes.
std::string to_hex(const unsigned char* bytes, std::size_t length);

// Lower-case hex SHA-256 of `data`.
std::string sha256_hex(std::string_view data);

}  // namespace tito
