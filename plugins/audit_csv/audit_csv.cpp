// audit_csv: RFC 4180 CSV, a header at the start of every file (also after rotation), formula
// injection neutralised. docs/plugins/audit_csv.md
#include "audit_plugin.hpp"
#include "json_text.hpp"

#include <cstdio>

namespace {

using watchgate::audit::AuditRecord;

enum class Quoting { minimal, all };

constexpr const char* columns[] = {"timestamp", "event_type",     "request_id",     "upstream",   "method",
                                   "tool",      "outcome",        "duration_ms",    "error_code", "error_message",
                                   "reason",    "stages",         "body_truncated", "body",       "session_id",
                                   "transport", "client_address", "subject",        "detections", "body_redacted"};

class CsvFormat {
public:
    CsvFormat(char delimiter, Quoting quoting, bool formula_guard)
        : delimiter_(delimiter), quoting_(quoting), formula_guard_(formula_guard) {}

    std::string header() const {
        std::string line;
        for (const char* column : columns) field(line, column, false);
        return end(line);
    }

    std::string row(const AuditRecord& record) const {
        std::string line;
        field(line, watchgate::audit::utc_timestamp(record.time_unix_us), false);
        field(line, record.event_type, true);
        field(line, record.request_id, true);
        field(line, record.upstream, true);
        field(line, record.method, true);
        field(line, record.tool, true);
        field(line, record.outcome, true);
        field(line, record.duration_ms ? number(*record.duration_ms) : std::string(), false);
        field(line, record.error_code ? std::to_string(record.error_code) : std::string(), false);
        field(line, record.error_message, true);
        field(line, record.reason, true);
        std::string stages;
        for (const auto& stage : record.stages)
            stages += (stages.empty() ? "" : "; ") + stage.plugin + ":" + stage.outcome + ":" +
                      number(stage.duration_ms) + (stage.reason.empty() ? "" : ":" + stage.reason);
        field(line, stages, true);
        field(line, record.body ? (record.body_truncated() ? "true" : "false") : "", false);
        field(line, watchgate::audit::body_text(record), true);
        field(line, record.session_id, true);
        field(line, record.transport, true);
        field(line, record.client_address, true);
        field(line, record.subject, true);
        field(line, watchgate::audit::detections_summary(record), true);
        field(line, record.body_redacted ? "true" : "", false);
        return end(line);
    }

private:
    static std::string number(double value) {
        char text[32];
        std::snprintf(text, sizeof text, "%.3f", value);
        return text;
    }

    // One field, quoted when it must be (or always), text fields guarded against spreadsheet
    // formulas: a leading = + - @ (or tab, CR) gets a ' in front.
    void field(std::string& line, std::string_view value, bool text) const {
        if (!line.empty()) line += delimiter_;
        std::string guarded;
        if (text && formula_guard_ && !value.empty() &&
            std::string_view("=+-@\t\r").find(value[0]) != std::string_view::npos) {
            guarded = "'" + std::string(value);
            value = guarded;
        }
        const bool quote = quoting_ == Quoting::all ||
                           value.find_first_of(std::string{delimiter_, '"', '\n', '\r'}) != std::string_view::npos;
        if (!quote) {
            line += value;
            return;
        }
        line += '"';
        for (char c : value) {
            if (c == '"') line += '"';
            line += c;
        }
        line += '"';
    }
    static std::string end(std::string& line) { return line + "\r\n"; }

    char delimiter_;
    Quoting quoting_;
    bool formula_guard_;
};

class AuditCsv : public watchgate::audit::AuditPlugin {
public:
    static constexpr watchgate::PluginInfo info{"audit_csv", "1.0.0", "Audit trail as CSV (RFC 4180)",
                                                watchgate::kind_auditing, watchgate::thread_safe};

    explicit AuditCsv(watchgate::Config& config) : AuditPlugin(config) {
        const std::string delimiter = config.string("delimiter", ",");
        if (delimiter.size() != 1 || delimiter == "\"" || delimiter == "\n" || delimiter == "\r")
            config.error("/delimiter", "expected one character other than a quote or a line break");
        const auto quoting =
            config.choice("quote_style", {{"minimal", Quoting::minimal}, {"all", Quoting::all}}, Quoting::minimal);
        CsvFormat format(delimiter.size() == 1 ? delimiter[0] : ',', quoting, config.boolean("formula_guard", true));
        start_file(
            "audit_csv", config, [format](const AuditRecord& record) { return format.row(record); }, format.header());
    }
};

}  // namespace

WATCHGATE_PLUGIN(AuditCsv)
