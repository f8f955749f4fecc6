#include "json_text.hpp"

#include <cstdio>

namespace watchgate::audit {

namespace {

void append_number(std::string& out, double value) {
    char text[32];
    std::snprintf(text, sizeof text, "%.3f", value);
    out += text;
}

}  // namespace

void append_ascii_json_text(std::string& out, std::string_view text) {
    out.reserve(out.size() + text.size());
    bool in_string = false;
    for (std::size_t i = 0; i < text.size();) {
        i = json::detail::copy_plain_run(out, text, i);
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
                json::detail::append_ascii_character(out, c);
            else
                // Whitespace between tokens stays whitespace, but a line break (or tab) would
                // break the record's one line for readers that split at \r: a space instead.
                out += c < 0x20 ? ' ' : static_cast<char>(c);
            ++i;
            continue;
        }
        i = json::detail::escape_utf8_character(out, text, i);
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
    // Who: only what is known (a notification no session asked for has none of it).
    if (!record.session_id.empty()) text("session_id", record.session_id);
    if (!record.transport.empty()) text("transport", record.transport);
    if (!record.client_address.empty()) text("client_address", record.client_address);
    if (!record.subject.empty()) text("subject", record.subject);
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
        // The plugin's own findings (the detection plugins: types and places, never values).
        if (!stage.metadata.empty()) {
            out += ",\"metadata\":";
            append_ascii_json_text(out, stage.metadata);
        }
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
    if (record.body_redacted) {
        field("body_redacted");
        out += "true";
    }
    out += '}';
    return out;
}

}  // namespace watchgate::audit
