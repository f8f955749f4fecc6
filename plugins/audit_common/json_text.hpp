#pragma once
// JSON text that is pure ASCII: every character outside printable ASCII is a \u escape (pairs
// for characters beyond U+FFFF), invalid UTF-8 becomes U+FFFD. So a record is valid JSON on one
// line for every reader, including those that split lines at U+2028 or NEL.
#include "audit_record.hpp"

#include <string>
#include <string_view>

namespace watchgate::audit {

// The SDK's writer in its ASCII style.
inline constexpr json::Style ascii_style{true, false};
inline void append_ascii_json_string(std::string& out, std::string_view text) {
    json::append_quoted(out, text, ascii_style);
}
inline void append_ascii_json(std::string& out, const json::Value& value) {
    json::append_dump(out, value, ascii_style);
}
// Valid JSON text made pure ASCII in one pass, without parsing it: non-ASCII characters inside
// strings become \u escapes (stray control characters too). Structure and numbers are copied.
void append_ascii_json_text(std::string& out, std::string_view json_text);
// The record as one JSON object (no newline). Field names: docs/plugins/audit_jsonl.md.
std::string record_json(const AuditRecord& record);

}  // namespace watchgate::audit
