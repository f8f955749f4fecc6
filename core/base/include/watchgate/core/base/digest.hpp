#pragma once
// Hashing and comparing secrets: bearer tokens are kept and compared only as SHA-256 digests, in
// time that does not depend on where they differ.

#include <string>
#include <string_view>

namespace watchgate::core {

// The SHA-256 of `data` as 64 lowercase hex digits.
std::string sha256_hex(std::string_view data);
// Whether `a` and `b` are equal, in time that depends only on their lengths.
bool equal_in_constant_time(std::string_view a, std::string_view b);
// `bytes` random bytes from the kernel's CSPRNG, as lowercase hex (session ids).
std::string random_hex(std::size_t bytes);

}  // namespace watchgate::core
