#pragma once
// Traces (docs/operations.md "Traces"): W3C trace context (`traceparent`, `tracestate`, which MCP
// carries in `_meta`), the spans the gateway records, and where they go (a Tracer: the OTLP
// exporter, or none when tracing is off).

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace watchgate::core {

using TraceId = std::array<std::uint8_t, 16>;
using SpanId = std::array<std::uint8_t, 8>;

// Where a span sits in its trace: the trace, the span itself, whether it is sampled.
struct TraceContext {
    TraceId trace_id{};
    SpanId span_id{};
    std::uint8_t flags = 1;  // 01: sampled
    std::string state;       // `tracestate`, passed on as it came

    // A new trace (random ids), sampled.
    static TraceContext start();
    // A child of this span in the same trace (a new span id).
    TraceContext child() const;
    // "00-<trace>-<span>-<flags>"
    std::string traceparent() const;
    // A valid version-00 `traceparent` (lowercase hex, ids not all zero); nullopt otherwise.
    static std::optional<TraceContext> parse(std::string_view traceparent);
};

std::string to_hex(const std::uint8_t* bytes, std::size_t size);

enum class SpanKind { internal = 1, server = 2, client = 3 };

struct Span {
    using Value = std::variant<std::string, std::int64_t, bool>;
    TraceId trace_id{};
    SpanId span_id{};
    std::optional<SpanId> parent;
    std::string name;
    SpanKind kind = SpanKind::internal;
    std::chrono::system_clock::time_point start;
    std::chrono::system_clock::time_point end;
    std::vector<std::pair<std::string, Value>> attributes;
    bool error = false;
    std::string status_message;  // why it failed, when it did

    void set(std::string key, Value value) { attributes.emplace_back(std::move(key), std::move(value)); }
};

// Takes finished spans off the request path. Any thread; never blocks.
class Tracer {
public:
    virtual ~Tracer() = default;
    virtual void record(Span span) = 0;
};

}  // namespace watchgate::core
