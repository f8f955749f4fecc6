#include <watchgate/core/session/request_trace.hpp>

namespace watchgate::core {

namespace {

const nlohmann::json* meta_of(const Message& message) {
    const auto& params = member(message.json(), "params");
    if (!params.is_object()) return nullptr;
    auto meta = params.find("_meta");
    return meta != params.end() && meta->is_object() ? &*meta : nullptr;
}

std::string span_name(const std::string& method, const std::string& target) {
    return target.empty() ? method : method + " " + target;
}

// A JSON-RPC error's message and code on `span`, when `error` is one.
void mark_error(Span& span, const nlohmann::json& error) {
    if (!error.is_object()) return;
    span.error = true;
    const auto& message = member(error, "message");
    span.status_message = message.is_string() ? message.get<std::string>() : std::string("error");
    if (member(error, "code").is_number_integer())
        span.set("rpc.jsonrpc.error_code", member(error, "code").get<std::int64_t>());
}

}  // namespace

std::unique_ptr<RequestTrace> RequestTrace::begin(Tracer* tracer, const Message& request, const std::string& session) {
    if (!tracer) return nullptr;
    std::unique_ptr<RequestTrace> trace(new RequestTrace());
    trace->tracer_ = tracer;
    trace->arrived_ = Wall::now();
    trace->method_ = request.method();
    trace->target_ = request.target();
    trace->id_ = request.id_text();
    trace->session_ = session;
    std::optional<TraceContext> remote;
    if (const auto* meta = meta_of(request)) {
        const auto& parent = member(*meta, "traceparent");
        if (parent.is_string()) remote = TraceContext::parse(parent.get_ref<const std::string&>());
        const auto& state = member(*meta, "tracestate");
        if (remote && state.is_string() && state.get_ref<const std::string&>().size() <= 512)
            remote->state = state.get<std::string>();
    }
    if (remote && !(remote->flags & 1)) return nullptr;  // the caller chose not to sample it
    trace->server_ = remote ? remote->child() : TraceContext::start();
    if (remote) trace->remote_ = remote->span_id;
    return trace;
}

Span RequestTrace::make(const TraceContext& context, std::optional<SpanId> parent, std::string name, SpanKind kind,
                        Wall::time_point start, Wall::time_point end) const {
    Span span;
    span.trace_id = context.trace_id;
    span.span_id = context.span_id;
    span.parent = parent;
    span.name = std::move(name);
    span.kind = kind;
    span.start = start;
    span.end = end;
    return span;
}

void RequestTrace::pipeline(std::string_view upstream, std::string_view phase, Wall::time_point start,
                            const PipelineResult& result) const {
    if (result.stages.empty()) return;
    const auto phase_span = server_.child();
    auto at = start;
    for (const auto& stage : result.stages) {
        // Stages run one after the other: each starts where the one before ended.
        const auto end = at + std::chrono::duration_cast<Wall::duration>(stage.duration);
        auto span = make(phase_span.child(), phase_span.span_id, "watchgate.plugin " + stage.plugin, SpanKind::internal,
                         at, end);
        span.set("watchgate.plugin", stage.plugin);
        span.set("watchgate.phase", std::string(phase));
        span.set("watchgate.verdict", std::string(outcome_name(stage.outcome)));
        if (!stage.reason.empty()) span.set("watchgate.reason", stage.reason);
        if (stage.outcome == Outcome::error) {
            span.error = true;
            span.status_message = stage.reason;
        }
        tracer_->record(std::move(span));
        at = end;
    }
    auto span = make(phase_span, server_.span_id, "watchgate.pipeline " + std::string(phase), SpanKind::internal, start,
                     std::max(at, Wall::now()));
    span.set("watchgate.upstream", std::string(upstream));
    span.set("watchgate.phase", std::string(phase));
    span.set("watchgate.verdict", std::string(outcome_name(result.outcome)));
    tracer_->record(std::move(span));
}

TraceContext RequestTrace::inject(Message& request) const {
    auto call = server_.child();
    // A request without params gets them: `_meta` is allowed in every request's params.
    if (!member(request.json(), "params").is_null() && !member(request.json(), "params").is_object()) return call;
    auto& params = request.mutable_json()["params"];
    if (params.is_null()) params = nlohmann::json::object();
    auto& meta = params["_meta"];
    if (!meta.is_object()) meta = nlohmann::json::object();
    meta["traceparent"] = call.traceparent();
    if (!call.state.empty()) meta["tracestate"] = call.state;
    return call;
}

void RequestTrace::upstream_call(const TraceContext& call, std::string_view upstream, const Message& request,
                                 Wall::time_point start, const Message* response, std::string_view failure) const {
    auto span = make(call, server_.span_id, span_name(request.method(), target_), SpanKind::client, start, Wall::now());
    span.set("mcp.method.name", request.method());
    span.set("watchgate.upstream", std::string(upstream));
    if (!target_.empty() && request.method() == "tools/call") span.set("gen_ai.tool.name", target_);
    if (response) {
        mark_error(span, member(response->json(), "error"));
    } else {
        span.error = true;
        span.status_message = std::string(failure);
    }
    tracer_->record(std::move(span));
}

void RequestTrace::finish(const Message& answer, const std::string& upstream) const {
    auto span = make(server_, remote_, span_name(method_, target_), SpanKind::server, arrived_, Wall::now());
    span.set("mcp.method.name", method_);
    span.set("mcp.session.id", session_);
    span.set("jsonrpc.request.id", id_);
    span.set("watchgate.upstream", upstream);
    if (!target_.empty() && method_ == "tools/call") span.set("gen_ai.tool.name", target_);
    mark_error(span, member(answer.json(), "error"));
    tracer_->record(std::move(span));
}

}  // namespace watchgate::core
