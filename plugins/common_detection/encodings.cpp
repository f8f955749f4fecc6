// Bounded decoding of base64, hex and URL-encoded substrings: each maximal run is decoded once, so
// the work is linear in the input, and only decodings that read as text are scanned.
#include "detection.hpp"

#include <array>
#include <cstdint>

namespace watchgate::detection {

namespace {

// Shorter runs are ordinary words and identifiers; 16 base64 characters carry 12 bytes.
constexpr std::size_t min_base64_run = 16;
constexpr std::size_t min_hex_run = 16;

// Character classes by table: these loops touch every byte of every string.
enum : unsigned char { base64_class = 1, hex_class = 2, token_class = 4 };
constexpr std::array<unsigned char, 256> character_classes = [] {
    std::array<unsigned char, 256> table{};
    for (int c = 0; c < 256; ++c) {
        const char ch = static_cast<char>(c);
        if (is_alnum(ch) || ch == '+' || ch == '/' || ch == '-' || ch == '_') table[c] |= base64_class;
        if (is_hex(ch)) table[c] |= hex_class;
        if (ch != ' ' && ch != '\t' && ch != '\n' && ch != '\r' && ch != '"' && ch != '\'') table[c] |= token_class;
    }
    return table;
}();

int base64_value(char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (is_digit(c)) return c - '0' + 52;
    if (c == '+' || c == '-') return 62;
    if (c == '/' || c == '_') return 63;
    return -1;
}

int hex_value(char c) {
    if (is_digit(c)) return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return c - 'A' + 10;
}

bool control_byte(unsigned char byte) {
    return (byte < 0x20 && byte != '\t' && byte != '\n' && byte != '\r') || byte == 0x7F;
}

// Valid UTF-8 without control characters other than tab and line breaks: a decoding of random
// bytes (hashes, binary data, ordinary identifiers read as base64) practically never is.
bool readable_text(std::string_view text) {
    if (text.empty()) return false;
    for (std::size_t i = 0; i < text.size();) {
        const auto byte = static_cast<unsigned char>(text[i]);
        if (byte < 0x80) {
            if (control_byte(byte)) return false;
            ++i;
            continue;
        }
        std::size_t length = byte >= 0xF0 ? 4 : byte >= 0xE0 ? 3 : byte >= 0xC2 ? 2 : 0;
        if (length == 0 || byte > 0xF4 || i + length > text.size()) return false;
        for (std::size_t k = 1; k < length; ++k)
            if ((static_cast<unsigned char>(text[i + k]) & 0xC0) != 0x80) return false;
        i += length;
    }
    return true;
}

bool decode_base64(std::string_view run, std::string& out) {
    const bool standard = run.find_first_of("+/") != std::string_view::npos;
    const bool url_safe = run.find_first_of("-_") != std::string_view::npos;
    if ((standard && url_safe) || run.size() % 4 == 1) return false;
    out.clear();
    std::uint32_t bits = 0;
    int bit_count = 0;
    for (char c : run) {
        bits = (bits << 6) | static_cast<std::uint32_t>(base64_value(c));
        bit_count += 6;
        if (bit_count >= 8) {
            bit_count -= 8;
            const auto byte = static_cast<unsigned char>((bits >> bit_count) & 0xFF);
            // Binary data shows within a few bytes: stop before decoding the rest of a long run.
            if (control_byte(byte)) return false;
            out += static_cast<char>(byte);
        }
    }
    return true;
}

bool decode_hex(std::string_view run, std::string& out) {
    out.clear();
    for (std::size_t i = 0; i + 1 < run.size(); i += 2) {
        const auto byte = static_cast<unsigned char>(hex_value(run[i]) * 16 + hex_value(run[i + 1]));
        if (control_byte(byte)) return false;
        out += static_cast<char>(byte);
    }
    return true;
}

// Percent-decodes `token`; false when it holds no valid %XX escape.
bool decode_url(std::string_view token, std::string& out) {
    out.clear();
    bool escaped = false;
    for (std::size_t i = 0; i < token.size(); ++i) {
        if (token[i] == '%' && i + 2 < token.size() && is_hex(token[i + 1]) && is_hex(token[i + 2])) {
            out += static_cast<char>(hex_value(token[i + 1]) * 16 + hex_value(token[i + 2]));
            i += 2;
            escaped = true;
        } else {
            out += token[i] == '+' ? ' ' : token[i];
        }
    }
    return escaped;
}

// Calls `visit(begin, end)` for each maximal run of bytes of `character_class`.
template <class Visit>
void for_each_run(std::string_view text, unsigned char character_class, Visit&& visit) {
    const auto in_run = [&](char c) {
        return (character_classes[static_cast<unsigned char>(c)] & character_class) != 0;
    };
    std::size_t i = 0;
    while (i < text.size()) {
        if (!in_run(text[i])) {
            ++i;
            continue;
        }
        const std::size_t begin = i;
        while (i < text.size() && in_run(text[i])) ++i;
        visit(begin, i);
    }
}

}  // namespace

const char* encoding_name(Encoding encoding) {
    switch (encoding) {
        case Encoding::base64:
            return "base64";
        case Encoding::hex:
            return "hex";
        case Encoding::url:
            return "url";
    }
    return "";
}

void for_each_encoded_run(std::string_view text,
                          const std::function<void(std::size_t, std::size_t, Encoding, std::string_view)>& visit) {
    std::string decoded;
    for_each_run(text, base64_class, [&](std::size_t begin, std::size_t end) {
        std::size_t padded_end = end;
        while (padded_end < text.size() && padded_end - end < 2 && text[padded_end] == '=') ++padded_end;
        if (end - begin < min_base64_run) return;
        if (decode_base64(text.substr(begin, end - begin), decoded) && readable_text(decoded))
            visit(begin, padded_end, Encoding::base64, decoded);
    });
    for_each_run(text, hex_class, [&](std::size_t begin, std::size_t end) {
        if (end - begin < min_hex_run || (end - begin) % 2 != 0) return;
        if (decode_hex(text.substr(begin, end - begin), decoded) && readable_text(decoded))
            visit(begin, end, Encoding::hex, decoded);
    });
    if (text.find('%') == std::string_view::npos) return;
    for_each_run(text, token_class, [&](std::size_t begin, std::size_t end) {
        if (text.substr(begin, end - begin).find('%') == std::string_view::npos) return;
        if (decode_url(text.substr(begin, end - begin), decoded) && readable_text(decoded))
            visit(begin, end, Encoding::url, decoded);
    });
}

}  // namespace watchgate::detection
