#include "audit_record.hpp"

#include <time.h>

#include <watchgate/redact.hpp>

#include <cstdio>
#include <ctime>
#include <map>

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

// A plugin's metadata is written as it came, up to this size; a larger one is replaced by a note.
constexpr std::size_t max_metadata_size = 65536;

// The detection plugins' metadata: {"detections": [{"type", "pointer", "start", "end", "encoding"?,
// "key"?}], "detection_count": N, "action": "..."}. Anything else is left as plain metadata.
void read_detections(AuditStage& stage) {
    if (stage.metadata.find("\"detections\"") == std::string::npos) return;
    json::Value value;
    try {
        value = json::parse(stage.metadata);
    } catch (const json::ParseError&) {
        return;
    }
    const json::Value* list = value.find("detections");
    if (!list || !list->is_array()) return;
    auto text = [](const json::Value& object, std::string_view name) {
        const json::Value* member = object.find(name);
        return member && member->is_string() ? member->as_string() : std::string();
    };
    auto offset = [](const json::Value& object, std::string_view name) -> std::optional<std::size_t> {
        const json::Value* member = object.find(name);
        if (!member || !member->is_integer() || member->as_integer() < 0) return std::nullopt;
        return static_cast<std::size_t>(member->as_integer());
    };
    for (const json::Value& item : list->as_array()) {
        const auto start = offset(item, "start"), end = offset(item, "end");
        const json::Value* pointer = item.find("pointer");
        if (!start || !end || !pointer || !pointer->is_string()) continue;
        const json::Value* key = item.find("key");
        stage.detections.push_back(
            {text(item, "type"), pointer->as_string(), *start, *end, key && key->is_bool() && key->as_bool(),
             text(item, "encoding")});
    }
    const auto count = offset(value, "detection_count");
    stage.detection_count = count ? *count : stage.detections.size();
    stage.detection_action = text(value, "action");
}

// Copies a document with the detections' spans redacted, counting what it placed.
class DetectionRedactor {
public:
    explicit DetectionRedactor(const std::vector<Detection>& detections) : expected_(detections.size()) {
        for (const Detection& detection : detections)
            (detection.key ? in_keys_ : in_values_)[detection.pointer].push_back(&detection);
    }

    std::optional<json::Value> redact(const json::Value& document) {
        std::string pointer;
        json::Value copy = copy_of(document, pointer);
        if (misplaced_ || placed_ != expected_) return std::nullopt;
        return copy;
    }

private:
    using ByPointer = std::map<std::string, std::vector<const Detection*>, std::less<>>;

    std::string redacted(std::string_view text, const std::vector<const Detection*>& found) {
        std::vector<RedactionSpan> spans;
        for (const Detection* detection : found) {
            if (detection->start > detection->end || detection->end > text.size())
                misplaced_ = true;
            else
                spans.push_back({detection->start, detection->end, detection->type});
        }
        placed_ += found.size();
        return redact_spans(text, std::move(spans), "[REDACTED:{type}]");
    }

    json::Value copy_of(const json::Value& value, std::string& pointer) {
        const std::size_t mark = pointer.size();
        if (value.is_string()) {
            const auto found = in_values_.find(pointer);
            return found == in_values_.end() ? value : json::Value(redacted(value.as_string(), found->second));
        }
        if (value.is_array()) {
            json::Array out;
            out.reserve(value.as_array().size());
            for (std::size_t i = 0; i < value.as_array().size(); ++i) {
                pointer += '/';
                pointer += std::to_string(i);
                out.push_back(copy_of(value.as_array()[i], pointer));
                pointer.resize(mark);
            }
            return out;
        }
        if (value.is_object()) {
            json::Object out;
            out.reserve(value.as_object().size());
            for (const auto& [name, member] : value.as_object()) {
                pointer += '/';
                pointer += json::pointer_token(name);
                const auto found = in_keys_.find(pointer);
                out.emplace_back(found == in_keys_.end() ? name : redacted(name, found->second),
                                 copy_of(member, pointer));
                pointer.resize(mark);
            }
            return out;
        }
        return value;
    }

    ByPointer in_values_, in_keys_;
    const std::size_t expected_;
    std::size_t placed_ = 0;
    bool misplaced_ = false;
};

// What `audit_only` stages found and left in the message; nullopt when it cannot be placed for
// sure: a list cut short, or a later stage changed the message the offsets were taken in.
std::optional<std::vector<Detection>> left_in_message(const std::vector<AuditStage>& stages) {
    std::vector<Detection> left;
    bool exact = true;
    for (std::size_t i = 0; i < stages.size(); ++i) {
        const AuditStage& stage = stages[i];
        if (stage.detection_action != "audit_only" || stage.detection_count == 0) continue;
        exact = exact && stage.detection_count == stage.detections.size();
        for (std::size_t later = i + 1; later < stages.size(); ++later)
            exact = exact && stages[later].outcome != "modified";
        left.insert(left.end(), stage.detections.begin(), stage.detections.end());
    }
    if (!exact) return std::nullopt;
    return left;
}

}  // namespace

std::optional<std::string> redact_detections(std::string_view body, const std::vector<Detection>& detections) {
    try {
        auto copy = DetectionRedactor(detections).redact(json::parse(body));
        if (!copy) return std::nullopt;
        return json::dump(*copy);
    } catch (const json::ParseError&) {
        return std::nullopt;
    }
}

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
        AuditStage& copy = record.stages.emplace_back();
        copy.plugin = view(stage.plugin);
        copy.outcome = outcome_name(stage.outcome);
        copy.reason = view(stage.reason);
        copy.duration_ms = static_cast<double>(stage.duration_ns) / 1e6;
        const std::string_view metadata = view(stage.metadata);
        if (metadata.size() <= max_metadata_size) {
            copy.metadata = metadata;
            read_detections(copy);
        } else {
            copy.metadata = "{\"omitted\":\"" + std::to_string(metadata.size()) + " bytes of metadata\"}";
        }
    }
    if (event.kind() == WG_MESSAGE_RESPONSE) record.duration_ms = static_cast<double>(event.duration_ns()) / 1e6;
    record.error_code = event.error_code();
    record.content_cleared = event.content_cleared();
    const std::string_view body = event.body();
    const bool wanted = (event.kind() == WG_MESSAGE_REQUEST && policy.requests) ||
                        (event.kind() == WG_MESSAGE_RESPONSE && policy.responses) ||
                        (event.kind() == WG_MESSAGE_NOTIFICATION && policy.notifications);
    // After a block or a redaction the original content never reaches the trail: a cleared body is
    // never read, not even for its error message. What `audit_only` plugins found passed unchanged;
    // the trail shows it redacted, or not at all.
    std::optional<std::string_view> shown;
    std::optional<std::string> redacted;
    if (!record.content_cleared && !body.empty() && (wanted || record.error_code != 0)) {
        shown = body;
        const auto left = policy.redact_detections ? left_in_message(record.stages) : std::vector<Detection>();
        if (!left || !left->empty()) {
            record.body_redacted = wanted;
            if (left) redacted = redact_detections(body, *left);
            shown = redacted ? std::optional<std::string_view>(*redacted) : std::nullopt;
        }
    }
    if (record.error_code != 0) {
        if (shown) record.error_message = error_message_of(*shown);
        // Blocked or failed in the pipeline: the verdict's reason is the message the client got.
        if (record.error_message.empty()) record.error_message = record.reason;
    }
    if (!wanted || !shown) return record;
    const std::string_view kept = *shown;
    record.body_size = kept.size();
    std::size_t keep = std::min(kept.size(), policy.max_size);
    while (keep < kept.size() && keep > 0 && (static_cast<unsigned char>(kept[keep]) & 0xC0) == 0x80) --keep;
    record.body = std::string(kept.substr(0, keep));
    return record;
}

std::string detections_summary(const AuditRecord& record) {
    std::string summary;
    for (const AuditStage& stage : record.stages) {
        for (const Detection& detection : stage.detections)
            summary += (summary.empty() ? "" : ",") + stage.plugin + ":" + detection.type + "@" + detection.pointer;
        if (stage.detection_count > stage.detections.size())
            summary += "(+" + std::to_string(stage.detection_count - stage.detections.size()) + " more)";
    }
    return summary;
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
