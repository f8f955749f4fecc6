#pragma once
// One client request's spans (docs/operations.md "Traces"): the server span from its arrival to
// its answer, under the client's `_meta.traceparent` when it sent one; for each upstream it went
// to, its request and response pipelines (a span per plugin stage under each) and the call to
// the upstream, whose context the upstream gets in `_meta.traceparent`.

#include <watchgate/core/base/trace.hpp>
#include <watchgate/core/pipeline/pipeline.hpp>
#include <watchgate/core/protocol/message.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <string>

namespace watchgate::core {

class RequestTrace {
public:
    using Wall = std::chrono::system_clock;

    // Null when tracing is off, or the client's context says not sampled (its `traceparent` then
    // passes through untouched).
    static std::unique_ptr<RequestTrace> begin(Tracer* tracer, const Message& request, const std::string& session);

    // A pipeline phase ("request", "response") that started at `start`: its span and one per stage.
    void pipeline(std::string_view upstream, std::string_view phase, Wall::time_point start,
                  const PipelineResult& result) const;
    // The span of a call to `upstream` that is about to go out: its context goes into `request`'s
    // `_meta` (traceparent, and the client's tracestate). Returned, for upstream_call().
    TraceContext inject(Message& request) const;
    void upstream_call(const TraceContext& call, std::string_view upstream, const Message& request,
                       Wall::time_point start, const Message* response, std::string_view failure) const;
    // The server span, once the request is answered with `answer` (`upstream`: where it went).
    void finish(const Message& answer, const std::string& upstream) const;

private:
    RequestTrace() = default;
    Span make(const TraceContext& context, std::optional<SpanId> parent, std::string name, SpanKind kind,
              Wall::time_point start, Wall::time_point end) const;

    Tracer* tracer_ = nullptr;
    TraceContext server_;           // the request's own span
    std::optional<SpanId> remote_;  // the client's span, when it sent one
    Wall::time_point arrived_;
    std::string method_, target_, id_, session_;
};

}  // namespace watchgate::core
