#pragma once
// Base64 (RFC 4648): the standard alphabet with padding (MCP's `=?base64?...?=` header values)
// and the URL-safe one without (cursors the gateway gives out).

#include <optional>
#include <string>
#include <string_view>

namespace watchgate::core {

enum class Base64Alphabet { standard, url };

// Standard: padded with '='; url: no padding.
std::string base64_encode(std::string_view bytes, Base64Alphabet alphabet = Base64Alphabet::standard);
// Nullopt when `text` has a character outside the alphabet (padding aside for standard) or
// leaves bits over.
std::optional<std::string> base64_decode(std::string_view text, Base64Alphabet alphabet = Base64Alphabet::standard);

}  // namespace watchgate::core
