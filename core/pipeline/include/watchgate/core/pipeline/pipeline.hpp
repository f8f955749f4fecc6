#pragma once
// The pipeline engine: runs one message through one upstream's plugins (docs/architecture.md "The flow of one
// request"). Works on in-memory messages only; transports call it.

#include <watchgate/core/base/async_signal.hpp>
#include <watchgate/core/base/metrics.hpp>
#include <watchgate/core/config/config.hpp>
#include <watchgate/core/protocol/error_codes.hpp>
#include <watchgate/core/protocol/message.hpp>
#include <watchgate/core/pipeline/client_context.hpp>
#include <watchgate/core/pipeline/plugin_instance.hpp>

#include <boost/asio/awaitable.hpp>

#include <nlohmann/json.hpp>

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace watchgate::core {

struct PipelineEntry {
    std::shared_ptr<PluginInstance> instance;
    int priority = 50;     // 0..100, lower runs first
    bool critical = true;  // an error stops the pipeline (fail closed)
    PluginReach reach;     // the messages it is given
};

// Which way a message goes: what the client sends goes to an upstream, what an upstream sends to
// the client. A request's answer goes the other way; an upstream's own requests (sampling,
// elicitation, roots) go to the client.
enum class Flow { to_upstream, to_client };

enum class Outcome { allowed = 0, modified = 1, blocked = 2, completed = 3, error = 4, skipped = 5 };
std::string_view outcome_name(Outcome outcome);

struct StageRecord {
    std::string plugin;
    Outcome outcome = Outcome::allowed;
    std::string reason;
    std::chrono::nanoseconds duration{0};
    nlohmann::json metadata;
};

struct PipelineResult {
    Outcome outcome = Outcome::allowed;
    std::vector<StageRecord> stages;
    std::string reason;  // every stage's reason, "[plugin] reason | [plugin] reason"
    // For blocked / completed / error: what goes back to the client instead (a JSON-RPC
    // response); empty for a dropped notification.
    std::optional<nlohmann::json> reply;
    int error_code = 0;
    bool content_cleared = false;  // a security plugin blocked or redacted

    bool forwards() const { return outcome == Outcome::allowed || outcome == Outcome::modified; }
};

class Pipeline;

// Per-request plugin state (docs/plugin-abi.md "Lifetimes"): one context per plugin, created when the request
// enters, ended when the scope is destroyed. Its hooks are never entered concurrently.
class RequestScope {
public:
    ~RequestScope();
    RequestScope(const RequestScope&) = delete;
    RequestScope& operator=(const RequestScope&) = delete;

    const std::string& method() const { return method_; }
    const std::string& target() const { return target_; }

private:
    friend class Pipeline;
    RequestScope() = default;

    std::shared_ptr<const Pipeline> pipeline_;
    std::vector<void*> states_;              // one per plugin: stages first, then auditors
    std::vector<std::string> begin_errors_;  // request_begin failures, reported at the stage
    AsyncMutex serial_;                      // one phase of this request at a time
    std::chrono::steady_clock::time_point start_;
    std::string method_;
    std::string target_;
    bool stateless_ = false;                       // the request's era (docs/routing.md "Eras")
    Flow flow_ = Flow::to_upstream;                // the request's way; its answer goes the other
    std::shared_ptr<const ClientContext> client_;  // may be null
};

class Pipeline : public std::enable_shared_from_this<Pipeline> {
public:
    // `stages` are security and middleware entries; they run ordered by priority, stable (so for
    // equal priorities, in the order given). `auditors` run last, in the order given.
    static std::shared_ptr<Pipeline> create(std::string upstream, std::vector<PipelineEntry> stages,
                                            std::vector<PipelineEntry> auditors);

    const std::string& upstream() const { return upstream_; }
    std::span<const PipelineEntry> stages() const { return stages_; }
    std::span<const PipelineEntry> auditors() const { return auditors_; }

    // The gateway's way: coroutines that wait for a busy plugin without holding a thread.
    // `client`: whose request it is (audit records name it); may be null.
    // `flow`: `to_client` for an upstream's request to the client.
    boost::asio::awaitable<std::unique_ptr<RequestScope>> begin_request_async(
        const Message& request, std::shared_ptr<const ClientContext> client = {}, Flow flow = Flow::to_upstream) const;
    boost::asio::awaitable<PipelineResult> process_request_async(RequestScope& scope, Message& request) const;
    // A response answering `scope`'s request; method and target are taken from the request.
    boost::asio::awaitable<PipelineResult> process_response_async(RequestScope& scope, Message& response) const;
    // `scope` is the request the notification belongs to (progress, cancellation) or nullptr;
    // `client` the session it is from or for, when no scope names it.
    boost::asio::awaitable<PipelineResult> process_notification_async(RequestScope* scope, Message& notification,
                                                                      Flow flow,
                                                                      const ClientContext* client = nullptr) const;
    // An answer the gateway made itself for `scope`'s request (timeout, cancellation, upstream
    // down): audited as the request's response, so each request has one response record.
    boost::asio::awaitable<void> audit_gateway_answer(RequestScope& scope, Message& answer) const;

    // The same on the calling thread (simulate, tests, benchmarks): block until done.
    std::unique_ptr<RequestScope> begin_request(const Message& request, Flow flow = Flow::to_upstream) const;
    PipelineResult process_request(RequestScope& scope, Message& request) const;
    PipelineResult process_response(RequestScope& scope, Message& response) const;
    PipelineResult process_notification(RequestScope* scope, Message& notification,
                                        Flow flow = Flow::to_upstream) const;

private:
    Pipeline() = default;
    boost::asio::awaitable<PipelineResult> run(RequestScope* scope, Message& message, MessageKind phase, Flow flow,
                                               const ClientContext* client = nullptr) const;
    boost::asio::awaitable<void> audit(RequestScope* scope, const Message& message, MessageKind phase, Flow flow,
                                       PipelineResult& result, const ClientContext* client = nullptr) const;
    // Whether `entry` is given `message` (its `reach`); `scope` names the tool of a progress
    // notification.
    bool reaches(const PipelineEntry& entry, const RequestScope* scope, const Message& message, Flow flow) const;
    // Each stage's verdict and time into the process's metrics (docs/operations.md).
    static void record_stage_metrics(const PipelineResult& result, MessageKind phase);

    std::string upstream_;
    std::vector<PipelineEntry> stages_;
    std::vector<PipelineEntry> auditors_;
};

}  // namespace watchgate::core
