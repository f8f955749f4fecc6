#pragma once
// One audit event, copied out of the host's borrowed event so the writer thread can format it
// later (docs/plugins/audit_jsonl.md lists the fields).
#include <watchgate/plugin.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace watchgate::audit {

// What goes into records: which bodies, and how much of each.
struct BodyPolicy {
    bool requests = false;
    bool responses = false;
    bool notifications = false;
    std::size_t max_size = 10240;  // bytes kept; longer bodies are cut and marked
    // What an `audit_only` detection plugin found is redacted in the body written (false: the
    // operator wants the original, secrets and all).
    bool redact_detections = true;
};

// Where a detection plugin found something (its stage metadata): never the text itself.
struct Detection {
    std::string type;
    std::string pointer;  // the string (or, with `key`, the member whose name it is in)
    std::size_t start = 0, end = 0;  // bytes of that string
    bool key = false;
    std::string encoding;  // found inside encoded text: the span is the encoded run
};

struct AuditStage {
    std::string plugin;
    std::string outcome;
    std::string reason;
    double duration_ms = 0;
    std::string metadata;  // the plugin's metadata as JSON text; empty when none
    // From the metadata of the built-in detection plugins: what they found, how many (the list
    // may be cut), and what they did ("block", "redact" or "audit_only").
    std::vector<Detection> detections;
    std::size_t detection_count = 0;
    std::string detection_action;
};

struct AuditRecord {
    std::int64_t time_unix_us = 0;
    std::string event_type;  // request | response | notification
    std::string request_id;  // the client's id as JSON text; empty for notifications
    std::string upstream, method, tool, outcome, reason;
    // The client: its session, transport, address and authenticated subject (empty: not known).
    std::string session_id, transport, client_address, subject;
    std::vector<AuditStage> stages;
    std::optional<double> duration_ms;  // responses: request to response
    std::int32_t error_code = 0;        // 0: none
    std::string error_message;
    bool content_cleared = false;     // a security plugin blocked or redacted: no body, ever
    std::optional<std::string> body;  // JSON text, or its first max_size bytes when truncated
    std::size_t body_size = 0;        // of the whole body
    // The body had `audit_only` detections: `body` is a redacted copy, or absent when they could
    // not all be placed (a later stage changed the message, or the list of them was cut).
    bool body_redacted = false;
    bool body_truncated() const { return body && body->size() < body_size; }
};

std::string_view outcome_name(wg_outcome outcome);

// Copies what the record needs from `event`; the body only as `policy` allows.
AuditRecord make_record(const AuditEvent& event, const BodyPolicy& policy);

// `body` (a JSON text) with every detection replaced by "[REDACTED:<type>]"; nullopt when one of
// them is not where it says (not a string there, or out of its bounds).
std::optional<std::string> redact_detections(std::string_view body, const std::vector<Detection>& detections);

// Every stage's detections in one line: "<plugin>:<type>@<pointer>" joined by ",", "(+N more)"
// when a plugin listed fewer than it found; empty when nothing was found.
std::string detections_summary(const AuditRecord& record);

// The kept body; when cut, followed by a visible marker: "…[truncated: 10240 of 51200 bytes]".
std::string body_text(const AuditRecord& record);

// "2026-11-26T01:23:45.123456Z"
std::string utc_timestamp(std::int64_t unix_us);

}  // namespace watchgate::audit
