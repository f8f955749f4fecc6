// audit_jsonl: one JSON object per line per event, pure ASCII (every other character escaped), so
// each line parses on its own whatever the content. docs/plugins/audit_jsonl.md
#include "audit_plugin.hpp"
#include "json_text.hpp"

namespace {

class AuditJsonl : public watchgate::audit::AuditPlugin {
public:
    static constexpr watchgate::PluginInfo info{"audit_jsonl", "1.0.0", "Audit trail as JSON lines",
                                                watchgate::kind_auditing, watchgate::thread_safe};

    explicit AuditJsonl(watchgate::Config& config) : AuditPlugin(config) {
        start_file("audit_jsonl", config, [](const watchgate::audit::AuditRecord& record) {
            return watchgate::audit::record_json(record) + "\n";
        });
    }
};

}  // namespace

WATCHGATE_PLUGIN(AuditJsonl)
