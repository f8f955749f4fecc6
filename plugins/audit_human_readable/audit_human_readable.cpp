// audit_human_readable: one line per event for people reading a terminal or a log viewer. The
// grammar is in docs/plugins/audit_human_readable.md; every value is on the line (control
// characters escaped), so grep and tail work.
#include "audit_plugin.hpp"
#include "json_text.hpp"

#include <cctype>
#include <cstdio>

namespace {

using watchgate::audit::AuditRecord;

std::string upper(std::string text) {
    for (char& c : text) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return text;
}

// A value as is when it is one plain word, else as an ASCII JSON string (quoted, escaped).
std::string value(std::string_view text) {
    bool plain = !text.empty();
    for (char c : text)
        plain = plain && static_cast<unsigned char>(c) > 0x20 && static_cast<unsigned char>(c) < 0x7F && c != '"' &&
                c != '\\';
    if (plain) return std::string(text);
    std::string out;
    watchgate::audit::append_ascii_json_string(out, text);
    return out;
}

std::string milliseconds(double ms) {
    char text[32];
    std::snprintf(text, sizeof text, "%.3fms", ms);
    return text;
}

std::string line_of(const AuditRecord& record) {
    std::string line = watchgate::audit::utc_timestamp(record.time_unix_us) + " " + upper(record.event_type);
    if (!record.request_id.empty()) line += " id=" + value(record.request_id);
    if (!record.session_id.empty()) line += " session=" + value(record.transport + ":" + record.session_id);
    if (!record.client_address.empty()) line += " client=" + value(record.client_address);
    if (!record.subject.empty()) line += " subject=" + value(record.subject);
    if (!record.upstream.empty()) line += " upstream=" + value(record.upstream);
    if (!record.method.empty()) line += " method=" + value(record.method);
    if (!record.tool.empty()) line += " tool=" + value(record.tool);
    line += " outcome=" + record.outcome;
    if (record.duration_ms) line += " duration=" + milliseconds(*record.duration_ms);
    if (record.error_code) line += " error=" + std::to_string(record.error_code) + " " + value(record.error_message);
    if (!record.reason.empty()) line += " reason=" + value(record.reason);
    if (!record.stages.empty()) {
        std::string stages;
        for (const auto& stage : record.stages)
            stages += (stages.empty() ? "" : ",") + stage.plugin + ":" + stage.outcome + ":" +
                      milliseconds(stage.duration_ms);
        line += " stages=" + stages;
    }
    if (const std::string found = watchgate::audit::detections_summary(record); !found.empty())
        line += " detections=" + value(found);
    if (record.body_redacted) line += " body_redacted=true";
    if (record.body) {
        std::string body;
        if (record.body_truncated())
            watchgate::audit::append_ascii_json_string(body, watchgate::audit::body_text(record));
        else
            watchgate::audit::append_ascii_json_text(body, *record.body);
        line += " body=" + body;
    }
    return line + "\n";
}

class AuditHumanReadable : public watchgate::audit::AuditPlugin {
public:
    static constexpr watchgate::PluginInfo info{"audit_human_readable", "1.0.0", "Audit trail, one line per event",
                                                watchgate::kind_auditing, watchgate::thread_safe};

    explicit AuditHumanReadable(watchgate::Config& config) : AuditPlugin(config) {
        start_file("audit_human_readable", config, &line_of);
    }
};

}  // namespace

WATCHGATE_PLUGIN(AuditHumanReadable)
