#pragma once
// The host side of the C ABI: the structs behind the opaque handles and the function table.

#include <watchgate/core/base/metrics.hpp>
#include <watchgate/core/protocol/message.hpp>
#include <watchgate/core/pipeline/client_context.hpp>
#include <watchgate/core/pipeline/plugin_instance.hpp>
#include <watchgate/plugin.h>

#include <nlohmann/json.hpp>

#include <deque>
#include <optional>
#include <string>
#include <vector>

// One per plugin instance: what the host knows of whom it serves.
struct wg_host {
    struct Metric {
        watchgate::core::MetricSeries* series;
        wg_metric_kind kind;
        const std::vector<double>* bounds;  // histograms: the family's
    };
    std::string plugin_name;
    std::string config_folder;
    std::uint32_t create_flags = 0;  // WG_CREATE_* bits
    // The metrics the instance defined (watchgate.metrics/1), id - 1 as index. Appended during
    // instance_create only; read-only afterwards, so hooks on any thread may use it.
    std::vector<Metric> metrics;
};

struct wg_config {
    nlohmann::json value;
    std::deque<std::string> arena;
    std::vector<watchgate::core::PluginConfigError> errors;
};

// One message during one hook call, with everything the stage produced.
struct wg_message {
    struct Block {
        std::string reason;
        int code = WG_DEFAULT_BLOCK_CODE;
        nlohmann::json data;
    };

    watchgate::core::Message* message = nullptr;
    // Whose message it is, for the context extension; may be null.
    const watchgate::core::ClientContext* client = nullptr;
    watchgate::core::PluginRole role = watchgate::core::PluginRole::security;
    watchgate::core::MessageKind phase = watchgate::core::MessageKind::request;
    // Strings handed to the plugin; a deque so earlier views stay valid as it grows.
    std::deque<std::string> arena;
    // The message before this stage's first change, to undo a failed non-critical stage.
    std::optional<nlohmann::json> backup;
    std::optional<Block> block;
    std::optional<nlohmann::json> completion;
    nlohmann::json metadata;
    std::string error;   // set_error text
    std::string misuse;  // a verdict the plugin's role does not allow
    // The revision before this stage's first change, restored with the backup.
    std::uint64_t revision_before = 0;
    // request_begin sees the request but may not change it or set a verdict.
    bool read_only = false;
    // Set while visit_strings runs: changing the message then would pull the tree from under it.
    bool visiting = false;
};

namespace watchgate::core {

const wg_host_api& host_api();

// Called by the host's `audit_error`: keeps the reason for the AuditCall of `event`.
void record_audit_error(const wg_audit_event* event, std::string text);

// Marks the on_audit call running on this thread, so that `audit_error` for its event lands in
// `error`; the previous mark is restored at the end (a plugin never audits inside an audit, but a
// mark must not outlive its call).
class AuditCall {
public:
    explicit AuditCall(const wg_audit_event& event);
    ~AuditCall();
    AuditCall(const AuditCall&) = delete;
    AuditCall& operator=(const AuditCall&) = delete;

    const std::string& error() const { return error_; }

private:
    friend void record_audit_error(const wg_audit_event* event, std::string text);
    const wg_audit_event* event_;
    std::string error_;
    AuditCall* previous_;
};

}  // namespace watchgate::core
