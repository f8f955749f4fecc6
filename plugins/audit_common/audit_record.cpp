#include "audit_record.hpp"

#include <time.h>

#include <cstdio>
#include <ctime>

namespace watchgate::audit {

std::string_view outcome_name(wg_outcome outcome) {
    switch (outcome) {
        case WG_OUTCOME_ALLOWED:
            return "allowed";
        case WG_OUTCOME_MODIFIED:
            return "modified";
        case WG_OUTCOME_BLOCKED:
            return "blocked";
        case WG_OUTCOME_COMPLETED:
            return "completed";
        case WG_OUTCOME_ERROR:
            return "error";
        case WG_OUTCOME_SKIPPED:
            return "skipped";
    }
    return "unknown";
}

namespace {

std::string_view event_type_of(wg_message_kind kind) {
    switch (kind) {
        case WG_MESSAGE_REQUEST:
            return "request";
        case WG_MESSAGE_RESPONSE:
            return "response";
        default:
            return "notification";
    }
}

// The error's message from a small error response; bodies of megabytes are not read for it.
std::string error_message_of(std::string_view body) {
    if (body.empty() || body.size() > 65536) return {};
    try {
        const json::Value message = json::parse(body);
        const json::Value* error = message.find("error");
        const json::Value* text = error ? error->find("message") : nullptr;
        return text && text->is_string() ? text->as_string() : std::string();
    } catch (const json::ParseError&) {
        return {};
    }
}

}  // namespace

AuditRecord make_record(const AuditEvent& event, const BodyPolicy& policy) {
    AuditRecord record;
    record.time_unix_us = event.time_unix_us();
    record.event_type = event_type_of(event.kind());
    record.request_id = event.request_id();
    record.upstream = event.upstream();
    record.method = event.method();
    record.tool = event.target();
    record.outcome = outcome_name(event.outcome());
    record.reason = event.reason();
    record.session_id = event.session_id();
    record.transport = event.transport();
    record.client_address = event.client_address();
    record.subject = event.subject();
    record.stages.reserve(event.stage_count());
    for (std::size_t i = 0; i < event.stage_count(); ++i) {
        const wg_audit_stage& stage = event.stage(i);
        record.stages.push_back({std::string(view(stage.plugin)), std::string(outcome_name(stage.outcome)),
                                 std::string(view(stage.reason)), static_cast<double>(stage.duration_ns) / 1e6});
    }
    if (event.kind() == WG_MESSAGE_RESPONSE) record.duration_ms = static_cast<double>(event.duration_ns()) / 1e6;
    record.error_code = event.error_code();
    record.content_cleared = event.content_cleared();
    const std::string_view body = event.body();
    if (record.error_code != 0) {
        // A cleared body is never read, not even for its error message: it may be the content hidden.
        if (!record.content_cleared) record.error_message = error_message_of(body);
        // Blocked or failed in the pipeline: the verdict's reason is the message the client got.
        if (record.error_message.empty()) record.error_message = record.reason;
    }
    const bool wanted = (event.kind() == WG_MESSAGE_REQUEST && policy.requests) ||
                        (event.kind() == WG_MESSAGE_RESPONSE && policy.responses) ||
                        (event.kind() == WG_MESSAGE_NOTIFICATION && policy.notifications);
    // After a block or a redaction the original content never reaches the trail.
    if (wanted && !record.content_cleared && !body.empty()) {
        record.body_size = body.size();
        std::size_t keep = std::min(body.size(), policy.max_size);
        while (keep < body.size() && keep > 0 && (static_cast<unsigned char>(body[keep]) & 0xC0) == 0x80) --keep;
        record.body = std::string(body.substr(0, keep));
    }
    return record;
}

std::string body_text(const AuditRecord& record) {
    if (!record.body) return {};
    if (!record.body_truncated()) return *record.body;
    return *record.body + "\u2026[truncated: " + std::to_string(record.body->size()) + " of " +
           std::to_string(record.body_size) + " bytes]";
}

std::string utc_timestamp(std::int64_t unix_us) {
    const std::time_t seconds = static_cast<std::time_t>(unix_us / 1'000'000);
    std::tm parts{};
    ::gmtime_r(&seconds, &parts);
    char text[64];
    std::snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", parts.tm_year + 1900, parts.tm_mon + 1,
                  parts.tm_mday, parts.tm_hour, parts.tm_min, parts.tm_sec, static_cast<int>(unix_us % 1'000'000));
    return text;
}

}  // namespace watchgate::audit
