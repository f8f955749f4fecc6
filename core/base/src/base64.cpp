#include <watchgate/core/base/base64.hpp>

#include <cstdint>

namespace watchgate::core {

namespace {

constexpr std::string_view standard_digits = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr std::string_view url_digits = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

std::string_view digits_of(Base64Alphabet alphabet) {
    return alphabet == Base64Alphabet::standard ? standard_digits : url_digits;
}

}  // namespace

std::string base64_encode(std::string_view bytes, Base64Alphabet alphabet) {
    const auto digits = digits_of(alphabet);
    std::string out;
    out.reserve((bytes.size() + 2) / 3 * 4);
    std::uint32_t buffer = 0;
    int bits = 0;
    for (unsigned char byte : bytes) {
        buffer = (buffer << 8) | byte;
        bits += 8;
        while (bits >= 6) {
            bits -= 6;
            out += digits[(buffer >> bits) & 63];
        }
    }
    if (bits > 0) out += digits[(buffer << (6 - bits)) & 63];
    if (alphabet == Base64Alphabet::standard)
        while (out.size() % 4 != 0) out += '=';
    return out;
}

std::optional<std::string> base64_decode(std::string_view text, Base64Alphabet alphabet) {
    if (alphabet == Base64Alphabet::standard) {
        if (text.size() % 4 != 0) return std::nullopt;
        const auto end = text.find_last_not_of('=');
        const std::size_t kept = end == std::string_view::npos ? 0 : end + 1;
        if (text.size() - kept > 2) return std::nullopt;
        text = text.substr(0, kept);
    }
    const auto digits = digits_of(alphabet);
    std::string out;
    out.reserve(text.size() * 3 / 4);
    std::uint32_t buffer = 0;
    int bits = 0;
    for (char c : text) {
        const auto digit = digits.find(c);
        if (digit == std::string_view::npos) return std::nullopt;
        buffer = (buffer << 6) | static_cast<std::uint32_t>(digit);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out += static_cast<char>((buffer >> bits) & 0xFF);
        }
    }
    // What is left over must be the zero bits of the last digit, never a whole byte.
    if (bits >= 6 || (buffer & ((1u << bits) - 1)) != 0) return std::nullopt;
    return out;
}

}  // namespace watchgate::core
