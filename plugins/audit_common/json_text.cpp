#include "json_text.hpp"

#include <cstdio>

namespace watchgate::audit {

namespace {

void append_escape(std::string& out, unsigned code) {
    char text[16];
    std::snprintf(text, sizeof text, "\\u%04x", code);
    out += text;
}

// The code point starting at text[i] and its length; U+FFFD and length 1 when invalid.
std::pair<unsigned, std::size_t> decode_utf8(std::string_view text, std::size_t i) {
    const auto byte = [&](std::size_t at) { return static_cast<unsigned char>(text[at]); };
    const unsigned first = byte(i);
    std::size_t length = first >= 0xF0 ? 4 : first >= 0xE0 ? 3 : first >= 0xC0 ? 2 : 0;
    if (length == 0 || first > 0xF4 || i + length > text.size()) return {0xFFFD, 1};
    unsigned code = first & (0x7F >> length);
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
std::size_t copy_plain_run(std::string& out, std::string_view text, std::size_t i) {
    std::size_t end = i;
    while (end < text.size()) {
        const unsigned char b = static_cast<unsigned char>(text[end]);
        if (b < 0x20 || b >= 0x7F || b == '"' || b == '\\') break;
        ++end;
    }
    out.append(text.data() + i, end - i);
    return end;
}

// Escapes the (multi-byte) UTF-8 character at text[i], as a surrogate pair beyond U+FFFF;
// returns where the next character starts.
std::size_t escape_utf8_character(std::string& out, std::string_view text, std::size_t i) {
    auto [code, length] = decode_utf8(text, i);
    if (code >= 0x10000) {
        code -= 0x10000;
        append_escape(out, 0xD800 + (code >> 10));
        append_escape(out, 0xDC00 + (code & 0x3FF));
    } else {
        append_escape(out, code);
    }
    return i + length;
}

// One ASCII character: controls escaped (\n \r \t by name), the rest as it is.
void append_ascii_character(std::string& out, unsigned char c) {
    if (c == '\n')
        out += "\\n";
    else if (c == '\r')
        out += "\\r";
    else if (c == '\t')
        out += "\\t";
    else if (c < 0x20 || c == 0x7F)
        append_escape(out, c);
    else
        out += static_cast<char>(c);
}

void append_number(std::string& out, double value) {
    char text[32];
    std::snprintf(text, sizeof text, "%.3f", value);
    out += text;
}

}  // namespace

void append_ascii_json_string(std::string& out, std::string_view text) {
    out += '"';
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
    out += '"';
}

void append_ascii_json_text(std::string& out, std::string_view text) {
    out.reserve(out.size() + text.size());
    bool in_string = false;
    for (std::size_t i = 0; i < text.size();) {
        i = copy_plain_run(out, text, i);
        if (i == text.size()) break;
        const unsigned char c = static_cast<unsigned char>(text[i]);
        if (c < 0x80) {
            if (in_string && c == '\\' && i + 1 < text.size()) {
                out.append(text.substr(i, 2));  // an escape stays as it is
                i += 2;
                continue;
            }
            if (c == '"') in_string = !in_string;
            if (in_string)
                append_ascii_character(out, c);
            else
                // Whitespace between tokens stays whitespace, but a line break (or tab) would
                // break the record's one line for readers that split at \r: a space instead.
                out += c < 0x20 ? ' ' : static_cast<char>(c);
            ++i;
            continue;
        }
        i = escape_utf8_character(out, text, i);
    }
}

void append_ascii_json(std::string& out, const json::Value& value) {
    switch (value.type()) {
        case json::Value::Type::string:
            append_ascii_json_string(out, value.as_string());
            return;
        case json::Value::Type::array: {
            out += '[';
            bool first = true;
            for (const auto& item : value.as_array()) {
                if (!first) out += ',';
                first = false;
                append_ascii_json(out, item);
            }
            out += ']';
            return;
        }
        case json::Value::Type::object: {
            out += '{';
            bool first = true;
            for (const auto& [key, member] : value.as_object()) {
                if (!first) out += ',';
                first = false;
                append_ascii_json_string(out, key);
                out += ':';
                append_ascii_json(out, member);
            }
            out += '}';
            return;
        }
        default:
            json::append_dump(out, value);  // null, booleans, numbers: ASCII already
    }
}

std::string record_json(const AuditRecord& record) {
    std::string out;
    out.reserve(256 + (record.body ? record.body->size() : 0));
    auto field = [&](const char* name) {
        out += out.empty() ? "{\"" : ",\"";
        out += name;
        out += "\":";
    };
    auto text = [&](const char* name, std::string_view value) {
        field(name);
        append_ascii_json_string(out, value);
    };
    text("timestamp", utc_timestamp(record.time_unix_us));
    text("event_type", record.event_type);
    field("request_id");
    if (record.request_id.empty()) {
        out += "null";
    } else {
        try {
            append_ascii_json(out, json::parse(record.request_id));
        } catch (const json::ParseError&) {
            append_ascii_json_string(out, record.request_id);
        }
    }
    text("upstream", record.upstream);
    text("method", record.method);
    text("tool", record.tool);
    text("outcome", record.outcome);
    text("reason", record.reason);
    field("stages");
    out += '[';
    for (std::size_t i = 0; i < record.stages.size(); ++i) {
        const auto& stage = record.stages[i];
        out += i ? ",{\"plugin\":" : "{\"plugin\":";
        append_ascii_json_string(out, stage.plugin);
        out += ",\"outcome\":";
        append_ascii_json_string(out, stage.outcome);
        out += ",\"reason\":";
        append_ascii_json_string(out, stage.reason);
        out += ",\"duration_ms\":";
        append_number(out, stage.duration_ms);
        out += '}';
    }
    out += ']';
    field("duration_ms");
    if (record.duration_ms)
        append_number(out, *record.duration_ms);
    else
        out += "null";
    field("error_code");
    out += record.error_code ? std::to_string(record.error_code) : "null";
    field("error_message");
    if (record.error_code)
        append_ascii_json_string(out, record.error_message);
    else
        out += "null";
    field("content_cleared");
    out += record.content_cleared ? "true" : "false";
    if (record.body) {
        field("body");
        // The host's body is valid JSON: embedded as it is, made ASCII; a cut one is a string.
        if (record.body_truncated())
            append_ascii_json_string(out, body_text(record));
        else
            append_ascii_json_text(out, *record.body);
        field("body_truncated");
        out += record.body_truncated() ? "true" : "false";
        if (record.body_truncated()) {
            field("body_size");
            out += std::to_string(record.body_size);
        }
    }
    out += '}';
    return out;
}

}  // namespace watchgate::audit
