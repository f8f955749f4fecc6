#include <watchgate/core/pipeline/pipeline.hpp>
#include <watchgate/wg_str.hpp>

#include "host_api.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>
#include <utility>

namespace watchgate::core {

namespace asio = boost::asio;

namespace {

using Clock = std::chrono::steady_clock;

using MessageHook = wg_status (*)(void*, void*, wg_message*);

MessageHook hook_for(const wg_plugin_descriptor& d, MessageKind phase) {
    switch (phase) {
        case MessageKind::request:
            return d.on_request;
        case MessageKind::response:
            return d.on_response;
        case MessageKind::notification:
            return d.on_notification;
    }
    return nullptr;
}

void append_reason(std::string& joined, const std::string& plugin, const std::string& reason) {
    if (reason.empty()) return;
    if (!joined.empty()) joined += " | ";
    joined += "[" + plugin + "] " + reason;
}

std::int64_t unix_micros() {
    using namespace std::chrono;
    return duration_cast<microseconds>(system_clock::now().time_since_epoch()).count();
}

using watchgate::str;

std::string_view phase_name(MessageKind phase) {
    return phase == MessageKind::request ? "request" : phase == MessageKind::response ? "response" : "notification";
}

}  // namespace

std::string_view outcome_name(Outcome outcome) {
    switch (outcome) {
        case Outcome::allowed:
            return "allowed";
        case Outcome::modified:
            return "modified";
        case Outcome::blocked:
            return "blocked";
        case Outcome::completed:
            return "completed";
        case Outcome::error:
            return "error";
        case Outcome::skipped:
            return "skipped";
    }
    return "unknown";
}

RequestScope::~RequestScope() {
    if (!pipeline_) return;
    auto end = [&](const PipelineEntry& entry, void* state) {
        const auto& d = entry.instance->descriptor();
        if (!d.request_end || !state) return;
        auto lock = entry.instance->enter();
        d.request_end(entry.instance->handle(), state);
    };
    std::size_t index = 0;
    for (const auto& entry : pipeline_->stages()) end(entry, states_[index++]);
    for (const auto& entry : pipeline_->auditors()) end(entry, states_[index++]);
}

std::shared_ptr<Pipeline> Pipeline::create(std::string upstream, std::vector<PipelineEntry> stages,
                                           std::vector<PipelineEntry> auditors) {
    std::shared_ptr<Pipeline> pipeline(new Pipeline());
    pipeline->upstream_ = std::move(upstream);
    std::stable_sort(stages.begin(), stages.end(),
                     [](const PipelineEntry& a, const PipelineEntry& b) { return a.priority < b.priority; });
    pipeline->stages_ = std::move(stages);
    pipeline->auditors_ = std::move(auditors);
    return pipeline;
}

namespace {

Flow opposite(Flow flow) { return flow == Flow::to_upstream ? Flow::to_client : Flow::to_upstream; }

}  // namespace

asio::awaitable<std::unique_ptr<RequestScope>> Pipeline::begin_request_async(
    const Message& request, std::shared_ptr<const ClientContext> client, Flow flow) const {
    std::unique_ptr<RequestScope> scope(new RequestScope());
    scope->pipeline_ = shared_from_this();
    scope->client_ = std::move(client);
    scope->start_ = Clock::now();
    scope->method_ = request.method();
    scope->target_ = request.target();
    scope->stateless_ = request.stateless();
    scope->flow_ = flow;
    const std::size_t count = stages_.size() + auditors_.size();
    scope->states_.assign(count, nullptr);
    scope->begin_errors_.assign(count, {});
    for (std::size_t index = 0; index < count; ++index) {
        const auto& entry = index < stages_.size() ? stages_[index] : auditors_[index - stages_.size()];
        const auto& d = entry.instance->descriptor();
        if (!d.request_begin) continue;
        wg_message call;
        call.message = const_cast<Message*>(&request);  // read_only: every change is refused
        call.client = scope->client_.get();
        call.read_only = true;
        call.role = entry.instance->role();
        call.phase = MessageKind::request;
        wg_status status;
        {
            auto turn = co_await entry.instance->enter_async();
            status = d.request_begin(entry.instance->handle(), &call, &scope->states_[index]);
        }
        if (status != WG_OK) {
            scope->states_[index] = nullptr;
            scope->begin_errors_[index] =
                "request_begin failed: " + (call.error.empty() ? "status " + std::to_string(status) : call.error);
        }
    }
    co_return scope;
}

asio::awaitable<PipelineResult> Pipeline::process_request_async(RequestScope& scope, Message& request) const {
    auto turn = co_await scope.serial_.lock_async();
    co_return co_await run(&scope, request, MessageKind::request, scope.flow_);
}

asio::awaitable<PipelineResult> Pipeline::process_response_async(RequestScope& scope, Message& response) const {
    auto turn = co_await scope.serial_.lock_async();
    response.set_request_context(scope.method_, scope.target_, scope.stateless_);
    co_return co_await run(&scope, response, MessageKind::response, opposite(scope.flow_));
}

asio::awaitable<PipelineResult> Pipeline::process_notification_async(RequestScope* scope, Message& notification,
                                                                     Flow flow, const ClientContext* client) const {
    AsyncMutex::Guard turn;
    if (scope) {
        turn = co_await scope->serial_.lock_async();
        if (scope->stateless_) notification.set_stateless(true);  // progress of a stateless request
    }
    co_return co_await run(scope, notification, MessageKind::notification, flow, client);
}

asio::awaitable<void> Pipeline::audit_gateway_answer(RequestScope& scope, Message& answer) const {
    auto turn = co_await scope.serial_.lock_async();
    answer.set_request_context(scope.method_, scope.target_, scope.stateless_);
    PipelineResult result;
    result.outcome = Outcome::error;
    if (const auto& error = member(answer.json(), "error"); error.is_object()) {
        if (const auto& code = member(error, "code"); code.is_number_integer()) result.error_code = code.get<int>();
        if (const auto& text = member(error, "message"); text.is_string()) result.reason = text.get<std::string>();
    }
    co_await audit(&scope, answer, MessageKind::response, opposite(scope.flow_), result);
    record_stage_metrics(result, MessageKind::response);
}

namespace {

// Runs `task` to its end on the calling thread, on an event loop of its own.
template <class T>
T run_blocking(asio::awaitable<T> task) {
    // One event loop per thread, kept for the thread's life: a plugin lock handed over from another
    // thread may still be releasing its hand-over channel, which belongs to this loop, after the
    // task has ended here.
    thread_local asio::io_context context;
    context.restart();
    auto guard = asio::make_work_guard(context);  // kept until the task ends, whatever it waits on
    std::optional<T> value;
    std::exception_ptr failure;
    asio::co_spawn(context, std::move(task), [&](std::exception_ptr error, T result) {
        failure = error;
        if (!error) value.emplace(std::move(result));
        guard.reset();
    });
    context.run();
    if (failure) std::rethrow_exception(failure);
    return std::move(*value);
}

}  // namespace

std::unique_ptr<RequestScope> Pipeline::begin_request(const Message& request, Flow flow) const {
    return run_blocking(begin_request_async(request, {}, flow));
}

PipelineResult Pipeline::process_request(RequestScope& scope, Message& request) const {
    return run_blocking(process_request_async(scope, request));
}

PipelineResult Pipeline::process_response(RequestScope& scope, Message& response) const {
    return run_blocking(process_response_async(scope, response));
}

PipelineResult Pipeline::process_notification(RequestScope* scope, Message& notification, Flow flow) const {
    return run_blocking(process_notification_async(scope, notification, flow));
}

bool Pipeline::reaches(const PipelineEntry& entry, const RequestScope* scope, const Message& message, Flow flow) const {
    const PluginReach& reach = entry.reach;
    if (!(flow == Flow::to_upstream ? reach.toward_upstream : reach.toward_client)) return false;
    if (reach.include_tools.empty() && reach.exclude_tools.empty()) return true;
    // A request or an answer names its own method and tool (an answer its request's); a
    // notification those of the request it belongs to.
    const bool own = message.kind() != MessageKind::notification;
    if (!own && !scope) return true;
    if ((own ? message.method() : scope->method_) != "tools/call") return true;
    const std::string& tool = own ? message.target() : scope->target_;
    auto named = [&](const std::vector<std::string>& names) {
        return std::any_of(names.begin(), names.end(), [&](const std::string& name) {
            return name == tool || (name.size() == upstream_.size() + 2 + tool.size() && name.starts_with(upstream_) &&
                                    name.compare(upstream_.size(), 2, "__") == 0 && name.ends_with(tool));
        });
    };
    if (!reach.include_tools.empty() && !named(reach.include_tools)) return false;
    return !named(reach.exclude_tools);
}

asio::awaitable<PipelineResult> Pipeline::run(RequestScope* scope, Message& message, MessageKind phase, Flow flow,
                                              const ClientContext* client) const {
    PipelineResult result;
    result.stages.reserve(stages_.size() + auditors_.size());
    for (std::size_t index = 0; index < stages_.size(); ++index) {
        const PipelineEntry& entry = stages_[index];
        const PluginInstance& plugin = *entry.instance;
        MessageHook hook = hook_for(plugin.descriptor(), phase);
        const std::string* begin_error = scope ? &scope->begin_errors_[index] : nullptr;
        if (!hook && !(begin_error && !begin_error->empty())) continue;
        if (!reaches(entry, scope, message, flow)) continue;

        wg_message call;
        call.message = &message;
        call.client = scope && scope->client_ ? scope->client_.get() : client;
        call.role = plugin.role();
        call.phase = phase;
        const std::uint64_t revision_before = message.revision();
        const auto started = Clock::now();
        wg_status status = WG_OK;
        if (begin_error && !begin_error->empty()) {
            status = WG_ERROR;
            call.error = *begin_error;
        } else {
            auto turn = co_await plugin.enter_async();
            status = hook(plugin.handle(), scope ? scope->states_[index] : nullptr, &call);
        }
        StageRecord stage{plugin.label(), Outcome::allowed, {}, Clock::now() - started, std::move(call.metadata)};
        if (status == WG_OK && call.misuse.empty() && !call.block && message.revision() != revision_before) {
            // What a plugin leaves must still be a message of the same kind: a hostile or careless
            // plugin could otherwise have the gateway forward what no peer can read.
            if (std::string why = message.problem_after_change(); !why.empty())
                call.misuse = "left an invalid JSON-RPC message: " + why;
        }

        if (call.block && call.misuse.empty()) {
            // Block wins over any change, this stage's or an earlier one's, and over a failure
            // reported after it: a plugin that said "block" is never ignored.
            stage.outcome = Outcome::blocked;
            stage.reason = call.block->reason;
            append_reason(result.reason, stage.plugin, stage.reason);
            result.outcome = Outcome::blocked;
            result.content_cleared = true;
            result.error_code = call.block->code;
            if (phase != MessageKind::notification)
                result.reply = make_error_response(message.id(), call.block->code,
                                                   std::string(phase == MessageKind::request ? "Request" : "Response") +
                                                       " blocked: " + stage.plugin + ": " + call.block->reason,
                                                   call.block->data);
            result.stages.push_back(std::move(stage));
            break;
        }
        if (status != WG_OK || !call.misuse.empty()) {
            stage.reason = !call.misuse.empty() ? call.misuse
                           : call.error.empty() ? "failed with status " + std::to_string(status)
                                                : call.error;
            if (call.backup) message.restore(std::move(*call.backup), call.revision_before);  // undo the stage
            if (entry.critical) {
                stage.outcome = Outcome::error;
                append_reason(result.reason, stage.plugin, stage.reason);
                result.stages.push_back(std::move(stage));
                result.outcome = Outcome::error;
                result.error_code = error_code::plugin_failed;
                result.content_cleared = result.content_cleared || plugin.role() == PluginRole::security;
                if (phase != MessageKind::notification)
                    result.reply = make_error_response(message.id(), error_code::plugin_failed,
                                                       "Internal error: plugin failure: " + result.reason);
                break;
            }
            stage.outcome = Outcome::skipped;
            spdlog::warn("[{}] non-critical plugin failed, skipped: {}", stage.plugin, stage.reason);
            append_reason(result.reason, stage.plugin, stage.reason);
            result.stages.push_back(std::move(stage));
            continue;
        }
        if (call.completion) {
            stage.outcome = Outcome::completed;
            result.stages.push_back(std::move(stage));
            result.outcome = Outcome::completed;
            result.reply = std::move(call.completion);
            break;
        }
        if (message.revision() != revision_before) {
            stage.outcome = Outcome::modified;
            result.outcome = Outcome::modified;
            // A security plugin's change is a redaction: the original must not reach the audit trail.
            if (plugin.role() == PluginRole::security) result.content_cleared = true;
        }
        result.stages.push_back(std::move(stage));
    }
    if (result.error_code == 0 && message.kind() == MessageKind::response) {
        auto error = message.json().find("error");
        if (error != message.json().end() && error->is_object()) {
            auto code = error->find("code");
            if (code != error->end() && code->is_number_integer()) result.error_code = code->get<int>();
        }
    }
    co_await audit(scope, message, phase, flow, result, client);
    record_stage_metrics(result, phase);
    co_return result;
}

void Pipeline::record_stage_metrics(const PipelineResult& result, MessageKind phase) {
    // Plugin names are the configuration's: a bounded label.
    static MetricFamily& verdicts =
        process_metrics().family("watchgate_plugin_verdicts_total", "Plugin stages run, by plugin, phase and verdict",
                                 MetricKind::counter, {"plugin", "phase", "verdict"});
    static MetricFamily& durations = process_metrics().family(
        "watchgate_plugin_stage_duration_seconds", "Time a plugin's hook took, waiting for its turn included",
        MetricKind::histogram, {"plugin", "phase"}, Metrics::latency_buckets());
    const std::string_view phase_text = phase_name(phase);
    for (const auto& stage : result.stages) {
        verdicts.add({stage.plugin, phase_text, outcome_name(stage.outcome)}, 1);
        durations.observe({stage.plugin, phase_text}, std::chrono::duration<double>(stage.duration).count());
    }
}

namespace {

// At most one warning per plugin every few seconds: a failing non-critical auditor would
// otherwise log once per event.
void warn_limited(const std::string& plugin, const std::string& text) {
    static std::mutex mutex;
    static std::map<std::string, std::pair<Clock::time_point, std::uint64_t>> last;  // plugin -> when, suppressed
    std::uint64_t suppressed = 0;
    {
        std::lock_guard lock(mutex);
        auto& [when, count] = last[plugin];
        if (when != Clock::time_point() && Clock::now() - when < std::chrono::seconds(5)) {
            ++count;
            return;
        }
        when = Clock::now();
        suppressed = std::exchange(count, 0);
    }
    if (suppressed)
        spdlog::warn("[{}] {} ({} more since the last warning)", plugin, text, suppressed);
    else
        spdlog::warn("[{}] {}", plugin, text);
}

}  // namespace

asio::awaitable<void> Pipeline::audit(RequestScope* scope, const Message& message, MessageKind phase, Flow flow,
                                      PipelineResult& result, const ClientContext* client) const {
    if (std::none_of(auditors_.begin(), auditors_.end(),
                     [&](const PipelineEntry& entry) { return reaches(entry, scope, message, flow); }))
        co_return;
    std::vector<wg_audit_stage> stages;
    stages.reserve(result.stages.size());
    std::vector<std::string> metadata_text;
    metadata_text.reserve(result.stages.size());
    for (const auto& stage : result.stages) {
        metadata_text.push_back(stage.metadata.is_null() ? std::string() : dump_json(stage.metadata));
        wg_audit_stage out{};
        out.struct_size = sizeof(wg_audit_stage);
        out.plugin = str(stage.plugin);
        out.outcome = static_cast<wg_outcome>(stage.outcome);
        out.reason = str(stage.reason);
        out.duration_ns = static_cast<std::uint64_t>(stage.duration.count());
        out.metadata = str(metadata_text.back());
        stages.push_back(out);
    }
    // The body the client or upstream actually gets: the reply when the pipeline answered itself.
    const std::string body = result.content_cleared ? std::string()
                             : result.reply         ? dump_json(*result.reply)
                                                    : message.serialize();
    const std::string request_id = phase == MessageKind::notification ? std::string() : message.id_text();
    wg_audit_event event{};
    event.struct_size = sizeof(wg_audit_event);
    event.kind = static_cast<wg_message_kind>(phase);
    event.time_unix_us = unix_micros();
    event.request_id = str(request_id);
    event.upstream = str(message.upstream().empty() ? upstream_ : message.upstream());
    event.method = str(message.method());
    event.target = str(message.target());
    event.outcome = static_cast<wg_outcome>(result.outcome);
    event.reason = str(result.reason);
    event.stages = stages.data();
    event.stage_count = stages.size();
    event.duration_ns = phase == MessageKind::response && scope
                            ? static_cast<std::uint64_t>((Clock::now() - scope->start_).count())
                            : 0;
    event.error_code = result.error_code;
    event.content_cleared = result.content_cleared ? 1 : 0;
    event.body = str(body);
    if (scope && scope->client_) client = scope->client_.get();
    if (client) {
        event.session_id = str(client->session);
        event.transport = str(client->transport);
        event.client_address = str(client->address);
        event.subject = str(client->subject);
    }

    // Auditors' own records join the result after the loop: `stages` points into result.stages.
    std::vector<StageRecord> audit_stages;
    for (std::size_t index = 0; index < auditors_.size(); ++index) {
        const PipelineEntry& entry = auditors_[index];
        const PluginInstance& plugin = *entry.instance;
        const auto& d = plugin.descriptor();
        if (!d.on_audit || !reaches(entry, scope, message, flow)) continue;
        const std::size_t slot = stages_.size() + index;
        const std::string* begin_error =
            scope && !scope->begin_errors_[slot].empty() ? &scope->begin_errors_[slot] : nullptr;
        const auto started = Clock::now();
        wg_status status = WG_ERROR;
        std::string audit_error;
        if (!begin_error) {
            auto turn = co_await plugin.enter_async();
            AuditCall call(event);
            status = d.on_audit(plugin.handle(), scope ? scope->states_[slot] : nullptr, &event);
            if (status != WG_OK) audit_error = call.error();
        }
        StageRecord stage{plugin.label(), Outcome::allowed, {}, Clock::now() - started, nullptr};
        if (status != WG_OK) {
            stage.reason = begin_error ? *begin_error
                           : audit_error.empty()
                               ? "could not record the audit event (status " + std::to_string(status) + ")"
                               : audit_error;
            append_reason(result.reason, stage.plugin, stage.reason);
            if (entry.critical) {
                // Critical means critical: nothing passes that could not be recorded.
                stage.outcome = Outcome::error;
                result.outcome = Outcome::error;
                result.error_code = error_code::audit_failed;
                if (phase != MessageKind::notification)
                    result.reply =
                        make_error_response(message.id(), error_code::audit_failed, "audit failure: " + result.reason);
            } else {
                stage.outcome = Outcome::skipped;
                warn_limited(stage.plugin, stage.reason);
            }
        }
        audit_stages.push_back(std::move(stage));
    }
    std::move(audit_stages.begin(), audit_stages.end(), std::back_inserter(result.stages));
}

}  // namespace watchgate::core
