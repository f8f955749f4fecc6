// Text folded for matching: what hides a phrase from a pattern without changing what a reader
// sees. One pass, linear; each output byte remembers where its character began in the input.
#include "detection.hpp"

#include <cstring>

namespace watchgate::detection {

namespace {

// One UTF-8 character at `at`: its code point and length; an invalid byte is itself (length 1).
struct Decoded {
    char32_t code = 0;
    std::size_t length = 1;
};

Decoded decode(std::string_view text, std::size_t at) {
    const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
    const unsigned char lead = byte(at);
    if (lead < 0x80) return {lead, 1};
    std::size_t length = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 0;
    if (length == 0 || at + length > text.size()) return {0xFFFD, 1};
    char32_t code = lead & (0x7F >> length);
    for (std::size_t i = 1; i < length; ++i) {
        if ((byte(at + i) & 0xC0) != 0x80) return {0xFFFD, 1};
        code = (code << 6) | (byte(at + i) & 0x3F);
    }
    return {code, length};
}

// Invisible in rendered text: zero-width characters, joiners, bidi controls, the soft hyphen,
// variation selectors, Unicode tags. A word split by them reads as one word.
bool invisible(char32_t c) {
    return c == 0x00AD || c == 0x034F || c == 0x061C || c == 0x115F || c == 0x1160 || c == 0x17B4 || c == 0x17B5 ||
           c == 0x180E || (c >= 0x200B && c <= 0x200F) || (c >= 0x202A && c <= 0x202E) ||
           (c >= 0x2060 && c <= 0x206F) || c == 0x3164 || (c >= 0xFE00 && c <= 0xFE0F) || c == 0xFEFF || c == 0xFFA0 ||
           (c >= 0xE0000 && c <= 0xE007F) || (c >= 0xE0100 && c <= 0xE01EF);
}

bool space(char32_t c) {
    return c == 0x00A0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F ||
           c == 0x205F || c == 0x3000;
}

// Compatibility forms that are plain letters and digits (a subset of NFKC): fullwidth ASCII and
// the mathematical alphanumeric styles (bold, italic, script, fraktur, double-struck, sans, mono).
char32_t compatibility_letter(char32_t c) {
    if (c >= 0xFF01 && c <= 0xFF5E) return c - 0xFEE0;
    if (c >= 0x1D400 && c <= 0x1D6A3) {
        const char32_t index = (c - 0x1D400) % 52;
        return index < 26 ? U'A' + index : U'a' + (index - 26);
    }
    if (c >= 0x1D7CE && c <= 0x1D7FF) return U'0' + (c - 0x1D7CE) % 10;
    // Enclosed and parenthesized letters: Ⓐ..ⓩ.
    if (c >= 0x24B6 && c <= 0x24CF) return U'A' + (c - 0x24B6);
    if (c >= 0x24D0 && c <= 0x24E9) return U'a' + (c - 0x24D0);
    return 0;
}

// Cyrillic and Greek letters drawn like Latin ones (the confusables that spoofed words use).
char32_t latin_look_alike(char32_t c) {
    switch (c) {
        case 0x0430:
            return U'a';
        case 0x0410:
            return U'A';
        case 0x0435:
            return U'e';
        case 0x0415:
            return U'E';
        case 0x043E:
            return U'o';
        case 0x041E:
            return U'O';
        case 0x0440:
            return U'p';
        case 0x0420:
            return U'P';
        case 0x0441:
            return U'c';
        case 0x0421:
            return U'C';
        case 0x0443:
            return U'y';
        case 0x0423:
            return U'Y';
        case 0x0445:
            return U'x';
        case 0x0425:
            return U'X';
        case 0x0456:
            return U'i';
        case 0x0406:
            return U'I';
        case 0x0458:
            return U'j';
        case 0x0408:
            return U'J';
        case 0x0455:
            return U's';
        case 0x0405:
            return U'S';
        case 0x0501:
            return U'd';
        case 0x04BB:
            return U'h';
        case 0x0412:
            return U'B';
        case 0x041D:
            return U'H';
        case 0x041A:
            return U'K';
        case 0x041C:
            return U'M';
        case 0x0422:
            return U'T';
        case 0x0432:
            return U'v';
        case 0x043A:
            return U'k';
        case 0x043C:
            return U'm';
        case 0x043D:
            return U'h';
        case 0x0442:
            return U't';
        case 0x03BF:
            return U'o';
        case 0x039F:
            return U'O';
        case 0x03B1:
            return U'a';
        case 0x0391:
            return U'A';
        case 0x03B5:
            return U'e';
        case 0x0395:
            return U'E';
        case 0x03B9:
            return U'i';
        case 0x0399:
            return U'I';
        case 0x03BA:
            return U'k';
        case 0x039A:
            return U'K';
        case 0x03BD:
            return U'v';
        case 0x039D:
            return U'N';
        case 0x03C1:
            return U'p';
        case 0x03A1:
            return U'P';
        case 0x03C4:
            return U't';
        case 0x03A4:
            return U'T';
        case 0x03C5:
            return U'u';
        case 0x03A5:
            return U'Y';
        case 0x03C7:
            return U'x';
        case 0x03A7:
            return U'X';
        case 0x0392:
            return U'B';
        case 0x0397:
            return U'H';
        case 0x039C:
            return U'M';
        case 0x0396:
            return U'Z';
        case 0x0261:
            return U'g';
        case 0x0251:
            return U'a';
        default:
            return 0;
    }
}

bool latin_letter(char32_t c) { return (c >= U'a' && c <= U'z') || (c >= U'A' && c <= U'Z'); }
// Letters of a word (any script), for the mixed-script rule; marks and digits join words too.
bool word_character(char32_t c) {
    return latin_letter(c) || (c >= U'0' && c <= U'9') || (c >= 0xC0 && c <= 0x24F) || (c >= 0x370 && c <= 0x52F) ||
           (c >= 0x300 && c <= 0x36F);
}

bool is_ascii(std::string_view text) {
    std::size_t at = 0;
    for (; at + 8 <= text.size(); at += 8) {
        std::uint64_t word;
        std::memcpy(&word, text.data() + at, 8);
        if (word & 0x8080808080808080ull) return false;
    }
    for (; at < text.size(); ++at)
        if (static_cast<unsigned char>(text[at]) >= 0x80) return false;
    return true;
}

}  // namespace

std::optional<FoldedText> fold_for_matching(std::string_view text) {
    // Pure ASCII has nothing to fold: most strings leave here, after a pass of 8 bytes a step.
    if (is_ascii(text) || text.size() >= UINT32_MAX) return std::nullopt;

    FoldedText folded;
    folded.text.reserve(text.size());
    folded.origin.reserve(text.size() + 1);
    bool changed = false;
    // A look-alike is folded only in a word that also has Latin letters ("pаsswоrd" with Cyrillic
    // а and о): a word all in Cyrillic or Greek is that language and stays as it is.
    struct Character {
        std::size_t at, length;
        char32_t code;
    };
    std::vector<Character> word;
    auto flush_word = [&] {
        bool has_latin = false, has_look_alike = false;
        for (const Character& c : word) {
            has_latin = has_latin || latin_letter(c.code);
            has_look_alike = has_look_alike || latin_look_alike(c.code) != 0;
        }
        const bool fold = has_latin && has_look_alike;
        for (const auto& [at, length, code] : word) {
            const char32_t latin = fold ? latin_look_alike(code) : 0;
            const std::size_t before = folded.text.size();
            if (latin) {
                folded.text += static_cast<char>(latin);
                changed = true;
            } else {
                folded.text.append(text.substr(at, length));
            }
            folded.origin.insert(folded.origin.end(), folded.text.size() - before, static_cast<std::uint32_t>(at));
        }
        word.clear();
    };
    for (std::size_t at = 0; at < text.size();) {
        const Decoded one = decode(text, at);
        char32_t code = one.code;
        if (invisible(code)) {
            changed = true;  // dropped: the word goes on across it
            at += one.length;
            continue;
        }
        if (const char32_t plain = compatibility_letter(code)) {
            code = plain;
            changed = true;
        }
        if (word_character(code) && one.code == code) {
            word.push_back({at, one.length, code});
            at += one.length;
            continue;
        }
        if (word_character(code)) {
            // A folded compatibility letter: ASCII now, part of the word.
            flush_word();
            const std::size_t before = folded.text.size();
            json::append_utf8(folded.text, code);
            folded.origin.insert(folded.origin.end(), folded.text.size() - before, static_cast<std::uint32_t>(at));
            at += one.length;
            continue;
        }
        flush_word();
        const std::size_t before = folded.text.size();
        if (space(code)) {
            folded.text += ' ';
            changed = true;
        } else if (one.code == 0xFFFD && one.length == 1) {
            folded.text += text[at];  // an invalid byte is kept as it is
        } else {
            json::append_utf8(folded.text, code);
        }
        folded.origin.insert(folded.origin.end(), folded.text.size() - before, static_cast<std::uint32_t>(at));
        at += one.length;
    }
    flush_word();
    if (!changed) return std::nullopt;
    folded.origin.push_back(static_cast<std::uint32_t>(text.size()));
    return folded;
}

}  // namespace watchgate::detection
