// A small, dependency-free JSON value for plugins: parse what the host hands over (config, values
// read by JSON pointer) and write JSON text back. Plugins link against the SDK alone, so this
// header cannot lean on a JSON library. Header-only, C++17.
#ifndef WATCHGATE_JSON_HPP
#define WATCHGATE_JSON_HPP

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace watchgate::json {

class Value;
using Array = std::vector<Value>;
// Members keep their document order; look-up is linear, which suits config-sized objects.
using Object = std::vector<std::pair<std::string, Value>>;

struct ParseError : std::runtime_error {
    ParseError(const std::string& what, std::size_t at) : std::runtime_error(what), offset(at) {}
    std::size_t offset;
};

class Value {
public:
    enum class Type { null, boolean, integer, number, string, array, object };

    Value() = default;
    Value(std::nullptr_t) {}
    Value(bool b) : data_(b) {}
    Value(int i) : data_(static_cast<std::int64_t>(i)) {}
    Value(std::int64_t i) : data_(i) {}
    Value(double d) : data_(d) {}
    Value(std::string s) : data_(std::move(s)) {}
    Value(std::string_view s) : data_(std::string(s)) {}
    Value(const char* s) : data_(std::string(s)) {}
    Value(Array a) : data_(std::make_shared<Array>(std::move(a))) {}
    Value(Object o) : data_(std::make_shared<Object>(std::move(o))) {}

    Type type() const { return static_cast<Type>(data_.index()); }
    bool is_null() const { return type() == Type::null; }
    bool is_bool() const { return type() == Type::boolean; }
    bool is_integer() const { return type() == Type::integer; }
    bool is_number() const { return type() == Type::integer || type() == Type::number; }
    bool is_string() const { return type() == Type::string; }
    bool is_array() const { return type() == Type::array; }
    bool is_object() const { return type() == Type::object; }

    bool as_bool() const { return std::get<bool>(data_); }
    std::int64_t as_integer() const { return std::get<std::int64_t>(data_); }
    double as_number() const { return is_integer() ? static_cast<double>(as_integer()) : std::get<double>(data_); }
    const std::string& as_string() const { return std::get<std::string>(data_); }
    const Array& as_array() const { return *std::get<std::shared_ptr<Array>>(data_); }
    const Object& as_object() const { return *std::get<std::shared_ptr<Object>>(data_); }

    // Member look-up; nullptr when this is not an object or has no such member.
    const Value* find(std::string_view key) const {
        if (!is_object()) return nullptr;
        for (const auto& [name, value] : as_object())
            if (name == key) return &value;
        return nullptr;
    }

    static const char* type_name(Type type) {
        static const char* const names[] = {"null", "boolean", "integer", "number", "string", "array", "object"};
        return names[static_cast<int>(type)];
    }

private:
    std::variant<std::nullptr_t, bool, std::int64_t, double, std::string, std::shared_ptr<Array>,
                 std::shared_ptr<Object>>
        data_{nullptr};
};

// One code point as UTF-8 (the parser's \u escapes; plugins that build text).
inline void append_utf8(std::string& out, char32_t code) {
    if (code < 0x80) {
        out += char(code);
    } else if (code < 0x800) {
        out += char(0xC0 | (code >> 6));
        out += char(0x80 | (code & 0x3F));
    } else if (code < 0x10000) {
        out += char(0xE0 | (code >> 12));
        out += char(0x80 | ((code >> 6) & 0x3F));
        out += char(0x80 | (code & 0x3F));
    } else {
        out += char(0xF0 | (code >> 18));
        out += char(0x80 | ((code >> 12) & 0x3F));
        out += char(0x80 | ((code >> 6) & 0x3F));
        out += char(0x80 | (code & 0x3F));
    }
}

namespace detail {

class Parser {
public:
    explicit Parser(std::string_view text) : text_(text) {}

    Value parse_document() {
        Value value = parse_value(0);
        skip_space();
        if (pos_ != text_.size()) fail("unexpected text after the JSON value");
        return value;
    }

private:
    static constexpr int max_depth = 512;

    [[noreturn]] void fail(const std::string& what) const {
        throw ParseError("JSON: " + what + " at offset " + std::to_string(pos_), pos_);
    }
    void skip_space() {
        while (pos_ < text_.size() &&
               (text_[pos_] == ' ' || text_[pos_] == '\t' || text_[pos_] == '\n' || text_[pos_] == '\r'))
            ++pos_;
    }
    bool consume(std::string_view word) {
        if (text_.substr(pos_, word.size()) != word) return false;
        pos_ += word.size();
        return true;
    }

    Value parse_value(int depth) {
        if (depth > max_depth) fail("nesting deeper than 512");
        skip_space();
        if (pos_ >= text_.size()) fail("unexpected end of text");
        switch (text_[pos_]) {
            case '{':
                return parse_object(depth);
            case '[':
                return parse_array(depth);
            case '"':
                return Value(parse_string());
            case 't':
                if (consume("true")) return Value(true);
                break;
            case 'f':
                if (consume("false")) return Value(false);
                break;
            case 'n':
                if (consume("null")) return Value(nullptr);
                break;
            default:
                return parse_number();
        }
        fail("invalid literal");
    }

    Value parse_object(int depth) {
        ++pos_;
        Object members;
        skip_space();
        if (pos_ < text_.size() && text_[pos_] == '}') {
            ++pos_;
            return Value(std::move(members));
        }
        for (;;) {
            skip_space();
            if (pos_ >= text_.size() || text_[pos_] != '"') fail("expected a member name");
            std::string name = parse_string();
            skip_space();
            if (pos_ >= text_.size() || text_[pos_] != ':') fail("expected ':'");
            ++pos_;
            members.emplace_back(std::move(name), parse_value(depth + 1));
            skip_space();
            if (pos_ < text_.size() && text_[pos_] == ',') {
                ++pos_;
                continue;
            }
            if (pos_ < text_.size() && text_[pos_] == '}') {
                ++pos_;
                return Value(std::move(members));
            }
            fail("expected ',' or '}'");
        }
    }

    Value parse_array(int depth) {
        ++pos_;
        Array items;
        skip_space();
        if (pos_ < text_.size() && text_[pos_] == ']') {
            ++pos_;
            return Value(std::move(items));
        }
        for (;;) {
            items.push_back(parse_value(depth + 1));
            skip_space();
            if (pos_ < text_.size() && text_[pos_] == ',') {
                ++pos_;
                continue;
            }
            if (pos_ < text_.size() && text_[pos_] == ']') {
                ++pos_;
                return Value(std::move(items));
            }
            fail("expected ',' or ']'");
        }
    }

    unsigned hex4() {
        if (pos_ + 4 > text_.size()) fail("truncated \\u escape");
        unsigned code = 0;
        for (int i = 0; i < 4; ++i) {
            char c = text_[pos_++];
            code <<= 4;
            if (c >= '0' && c <= '9')
                code |= unsigned(c - '0');
            else if (c >= 'a' && c <= 'f')
                code |= unsigned(c - 'a' + 10);
            else if (c >= 'A' && c <= 'F')
                code |= unsigned(c - 'A' + 10);
            else
                fail("invalid \\u escape");
        }
        return code;
    }

    std::string parse_string() {
        ++pos_;
        std::string out;
        while (pos_ < text_.size()) {
            char c = text_[pos_++];
            if (c == '"') return out;
            if (static_cast<unsigned char>(c) < 0x20) fail("control character in string");
            if (c != '\\') {
                out += c;
                continue;
            }
            if (pos_ >= text_.size()) break;
            switch (text_[pos_++]) {
                case '"':
                    out += '"';
                    break;
                case '\\':
                    out += '\\';
                    break;
                case '/':
                    out += '/';
                    break;
                case 'b':
                    out += '\b';
                    break;
                case 'f':
                    out += '\f';
                    break;
                case 'n':
                    out += '\n';
                    break;
                case 'r':
                    out += '\r';
                    break;
                case 't':
                    out += '\t';
                    break;
                case 'u': {
                    unsigned code = hex4();
                    if (code >= 0xD800 && code <= 0xDBFF) {
                        if (!consume("\\u")) fail("unpaired surrogate");
                        unsigned low = hex4();
                        if (low < 0xDC00 || low > 0xDFFF) fail("unpaired surrogate");
                        code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00);
                    } else if (code >= 0xDC00 && code <= 0xDFFF) {
                        fail("unpaired surrogate");
                    }
                    watchgate::json::append_utf8(out, code);
                    break;
                }
                default:
                    fail("invalid escape");
            }
        }
        fail("unterminated string");
    }

    Value parse_number() {
        std::size_t start = pos_;
        bool integral = true;
        if (text_[pos_] == '-') ++pos_;
        if (pos_ + 1 < text_.size() && text_[pos_] == '0' && text_[pos_ + 1] >= '0' && text_[pos_ + 1] <= '9')
            fail("leading zero in number");
        auto digits = [&] {
            std::size_t first = pos_;
            while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9') ++pos_;
            if (pos_ == first) fail("invalid number");
        };
        digits();
        if (pos_ < text_.size() && text_[pos_] == '.') {
            integral = false;
            ++pos_;
            digits();
        }
        if (pos_ < text_.size() && (text_[pos_] == 'e' || text_[pos_] == 'E')) {
            integral = false;
            ++pos_;
            if (pos_ < text_.size() && (text_[pos_] == '+' || text_[pos_] == '-')) ++pos_;
            digits();
        }
        const char* first = text_.data() + start;
        const char* last = text_.data() + pos_;
        if (integral) {
            std::int64_t integer = 0;
            auto [end, error] = std::from_chars(first, last, integer);
            if (error == std::errc() && end == last) return Value(integer);
            // Beyond int64: keep it as a double, like most JSON readers.
        }
        double number = 0;
        auto [end, error] = std::from_chars(first, last, number);
        if (error == std::errc::result_out_of_range) {
            // Too large becomes infinity, too small zero (locale-independent, never throws).
            const std::string_view token(first, static_cast<std::size_t>(last - first));
            const bool negative = token[0] == '-';
            const bool tiny = token.find("e-") != std::string_view::npos || token.find("E-") != std::string_view::npos;
            number = tiny ? (negative ? -0.0 : 0.0) : (negative ? -HUGE_VAL : HUGE_VAL);
        } else if (error != std::errc() || end != last) {
            fail("invalid number");
        }
        return Value(number);
    }

    std::string_view text_;
    std::size_t pos_ = 0;
};

}  // namespace detail

// Parses JSON text; throws ParseError with the byte offset on malformed input.
inline Value parse(std::string_view text) { return detail::Parser(text).parse_document(); }

// How values are written as text. `ascii`: every character outside printable ASCII becomes a
// \u escape (a surrogate pair beyond U+FFFF, U+FFFD for invalid UTF-8), so the text is one line
// of 7-bit characters for every reader (audit records). `sorted_keys`: object members in byte
// order of their names, so equal values have equal text (digests).
struct Style {
    bool ascii = false;
    bool sorted_keys = false;
};

namespace detail {

inline void append_u_escape(std::string& out, unsigned code) {
    char text[16];
    std::snprintf(text, sizeof text, "\\u%04x", code);
    out += text;
}

// The code point starting at text[i] and its length; U+FFFD and length 1 when invalid.
inline std::pair<unsigned, std::size_t> decode_utf8(std::string_view text, std::size_t i) {
    const auto byte = [&](std::size_t at) { return static_cast<unsigned char>(text[at]); };
    const unsigned first = byte(i);
    const std::size_t length = first >= 0xF0 ? 4 : first >= 0xE0 ? 3 : first >= 0xC0 ? 2 : 0;
    if (length == 0 || first > 0xF4 || i + length > text.size()) return {0xFFFD, 1};
    unsigned code = first & (0x7Fu >> length);
    for (std::size_t k = 1; k < length; ++k) {
        if ((byte(i + k) & 0xC0) != 0x80) return {0xFFFD, 1};
        code = (code << 6) | (byte(i + k) & 0x3F);
    }
    const unsigned smallest[] = {0, 0, 0x80, 0x800, 0x10000};
    if (code < smallest[length] || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) return {0xFFFD, 1};
    return {code, length};
}

// Copies the run of printable ASCII other than quote and backslash starting at text[i] (nothing to
// escape there) in one go; returns where the run ends.
inline std::size_t copy_plain_run(std::string& out, std::string_view text, std::size_t i) {
    std::size_t end = i;
    while (end < text.size()) {
        const unsigned char b = static_cast<unsigned char>(text[end]);
        if (b < 0x20 || b >= 0x7F || b == '"' || b == '\\') break;
        ++end;
    }
    out.append(text.data() + i, end - i);
    return end;
}

// Escapes the (multi-byte) UTF-8 character at text[i] as \u escapes; returns where the next
// character starts.
inline std::size_t escape_utf8_character(std::string& out, std::string_view text, std::size_t i) {
    auto [code, length] = decode_utf8(text, i);
    if (code >= 0x10000) {
        code -= 0x10000;
        append_u_escape(out, 0xD800 + (code >> 10));
        append_u_escape(out, 0xDC00 + (code & 0x3FF));
    } else {
        append_u_escape(out, code);
    }
    return i + length;
}

// One ASCII character inside a string: controls escaped (\n \r \t by name), the rest as it is.
inline void append_ascii_character(std::string& out, unsigned char c) {
    if (c == '\n')
        out += "\\n";
    else if (c == '\r')
        out += "\\r";
    else if (c == '\t')
        out += "\\t";
    else if (c < 0x20 || c == 0x7F)
        append_u_escape(out, c);
    else
        out += static_cast<char>(c);
}

// The inside of a string literal in 7-bit ASCII.
inline void append_ascii_escaped(std::string& out, std::string_view text) {
    for (std::size_t i = 0; i < text.size();) {
        i = copy_plain_run(out, text, i);
        if (i == text.size()) break;
        const unsigned char c = static_cast<unsigned char>(text[i]);
        if (c < 0x80) {
            if (c == '"' || c == '\\') out += '\\';
            append_ascii_character(out, c);
            ++i;
            continue;
        }
        i = escape_utf8_character(out, text, i);
    }
}

}  // namespace detail

// Appends `text` as a JSON string literal (quotes included), escaping what RFC 8259 requires
// plus U+2028/U+2029 so the output is also safe inside JavaScript; with `style.ascii`, every
// character outside printable ASCII.
inline void append_quoted(std::string& out, std::string_view text, Style style = {}) {
    out += '"';
    if (style.ascii) {
        detail::append_ascii_escaped(out, text);
        out += '"';
        return;
    }
    for (std::size_t i = 0; i < text.size(); ++i) {
        unsigned char c = static_cast<unsigned char>(text[i]);
        switch (c) {
            case '"':
                out += "\\\"";
                break;
            case '\\':
                out += "\\\\";
                break;
            case '\n':
                out += "\\n";
                break;
            case '\r':
                out += "\\r";
                break;
            case '\t':
                out += "\\t";
                break;
            case '\b':
                out += "\\b";
                break;
            case '\f':
                out += "\\f";
                break;
            default:
                if (c < 0x20) {
                    detail::append_u_escape(out, c);
                } else if (c == 0xE2 && i + 2 < text.size() && static_cast<unsigned char>(text[i + 1]) == 0x80 &&
                           (static_cast<unsigned char>(text[i + 2]) == 0xA8 ||
                            static_cast<unsigned char>(text[i + 2]) == 0xA9)) {
                    out += static_cast<unsigned char>(text[i + 2]) == 0xA8 ? "\\u2028" : "\\u2029";
                    i += 2;
                } else {
                    out += static_cast<char>(c);
                }
        }
    }
    out += '"';
}

inline std::string quote(std::string_view text) {
    std::string out;
    append_quoted(out, text);
    return out;
}

inline void append_dump(std::string& out, const Value& value, Style style = {}) {
    switch (value.type()) {
        case Value::Type::null:
            out += "null";
            break;
        case Value::Type::boolean:
            out += value.as_bool() ? "true" : "false";
            break;
        case Value::Type::integer:
            out += std::to_string(value.as_integer());
            break;
        case Value::Type::number: {
            double number = value.as_number();
            if (!std::isfinite(number)) {  // JSON has no infinity or NaN
                out += "null";
                break;
            }
            char buffer[32];
            auto [end, error] = std::to_chars(buffer, buffer + sizeof buffer, number);
            out.append(buffer, error == std::errc() ? end : buffer);
            break;
        }
        case Value::Type::string:
            append_quoted(out, value.as_string(), style);
            break;
        case Value::Type::array: {
            out += '[';
            bool first = true;
            for (const auto& item : value.as_array()) {
                if (!first) out += ',';
                first = false;
                append_dump(out, item, style);
            }
            out += ']';
            break;
        }
        case Value::Type::object: {
            out += '{';
            bool first = true;
            auto append_member = [&](const std::string& name, const Value& member) {
                if (!first) out += ',';
                first = false;
                append_quoted(out, name, style);
                out += ':';
                append_dump(out, member, style);
            };
            if (style.sorted_keys) {
                std::vector<const std::pair<std::string, Value>*> members;
                members.reserve(value.as_object().size());
                for (const auto& member : value.as_object()) members.push_back(&member);
                std::sort(members.begin(), members.end(), [](auto* a, auto* b) { return a->first < b->first; });
                for (const auto* member : members) append_member(member->first, member->second);
            } else {
                for (const auto& [name, member] : value.as_object()) append_member(name, member);
            }
            out += '}';
            break;
        }
    }
}

// Compact JSON text of `value`.
inline std::string dump(const Value& value, Style style = {}) {
    std::string out;
    append_dump(out, value, style);
    return out;
}

// Escapes one reference token for a JSON pointer (RFC 6901: '~' -> "~0", '/' -> "~1").
inline std::string pointer_token(std::string_view token) {
    std::string out;
    for (char c : token) {
        if (c == '~')
            out += "~0";
        else if (c == '/')
            out += "~1";
        else
            out += c;
    }
    return out;
}

}  // namespace watchgate::json

#endif  // WATCHGATE_JSON_HPP
