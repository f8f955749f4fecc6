#include <watchgate/core/server/otlp_exporter.hpp>

#include <watchgate/core/base/url.hpp>
#include <watchgate/core/base/version.hpp>

#include <watchgate/core/upstream/http_client_connection.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/beast/http.hpp>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

namespace watchgate::core {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using nlohmann::json;

namespace {

std::string unix_nanos(std::chrono::system_clock::time_point at) {
    return std::to_string(std::chrono::duration_cast<std::chrono::nanoseconds>(at.time_since_epoch()).count());
}

// An OTLP AnyValue: 64-bit integers are strings in the JSON encoding.
json any_value(const Span::Value& value) {
    if (const auto* text = std::get_if<std::string>(&value)) return {{"stringValue", *text}};
    if (const auto* number = std::get_if<std::int64_t>(&value)) return {{"intValue", std::to_string(*number)}};
    return {{"boolValue", std::get<bool>(value)}};
}

}  // namespace

OtlpExporter::OtlpExporter(TracingConfig config)
    : config_(std::move(config)),
      spans_(process_metrics().family("watchgate_trace_spans_total",
                                      "Spans recorded, by outcome (exported, dropped: the queue was full, failed: "
                                      "the collector did not take them)",
                                      MetricKind::counter, {"outcome"})),
      thread_([this] { run(); }) {}

OtlpExporter::~OtlpExporter() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    thread_.join();
}

void OtlpExporter::record(Span span) {
    bool full_batch = false;
    {
        std::lock_guard lock(mutex_);
        if (queue_.size() >= config_.queue_limit) {
            spans_.add({"dropped"}, 1);
            return;
        }
        queue_.push_back(std::move(span));
        full_batch = queue_.size() == config_.batch_size;
    }
    if (full_batch) wake_.notify_one();
}

void OtlpExporter::run() {
    const auto stop_by_default = std::chrono::seconds(3);
    std::optional<std::chrono::steady_clock::time_point> give_up;  // set once stopping
    for (;;) {
        std::vector<Span> batch;
        {
            std::unique_lock lock(mutex_);
            wake_.wait_for(lock, config_.export_interval,
                           [&] { return stopping_ || queue_.size() >= config_.batch_size; });
            if (stopping_ && !give_up) give_up = std::chrono::steady_clock::now() + stop_by_default;
            if (queue_.empty() && stopping_) return;
            while (!queue_.empty() && batch.size() < config_.batch_size) {
                batch.push_back(std::move(queue_.front()));
                queue_.pop_front();
            }
        }
        if (batch.empty()) continue;
        try {
            post(encode(batch, config_.service_name));
            spans_.add({"exported"}, static_cast<double>(batch.size()));
        } catch (const std::exception& error) {
            spans_.add({"failed"}, static_cast<double>(batch.size()));
            const auto now = std::chrono::steady_clock::now();
            if (now >= quiet_until_) {
                spdlog::warn("tracing: {} spans not exported to {}: {}", batch.size(), config_.endpoint, error.what());
                quiet_until_ = now + std::chrono::seconds(10);
            }
        }
        if (give_up && std::chrono::steady_clock::now() >= *give_up) {
            std::lock_guard lock(mutex_);
            spans_.add({"failed"}, static_cast<double>(queue_.size()));
            return;
        }
    }
}

void OtlpExporter::post(const std::string& body) {
    const auto url = Url::parse(config_.endpoint);
    if (!url) throw std::runtime_error("not a URL");
    if (url->tls && !tls_) tls_ = HttpClientConnection::tls_context(config_.tls_ca_file, config_.tls_verify);
    http::request<http::string_body> request{http::verb::post, url->target, 11};
    request.set(http::field::host, url->host_header());
    request.set(http::field::content_type, "application/json");
    request.set(http::field::user_agent, std::string("watchgate/") + version_text);
    for (const auto& [name, value] : config_.headers) request.set(name, value);
    request.body() = body;
    request.prepare_payload();
    // A private event loop on this thread: the gateway's own never waits for a collector.
    asio::io_context io;
    auto exchange = [&]() -> asio::awaitable<unsigned> {
        const auto executor = io.get_executor();
        const auto endpoints = co_await HttpClientConnection::resolve(executor, *url);
        auto connection = co_await HttpClientConnection::open(executor, *url, endpoints, tls_, config_.tls_verify,
                                                              std::chrono::seconds(10));
        connection->transport_layer().expires_after(std::chrono::seconds(10));
        co_await connection->io([&](auto& stream) { return http::async_write(stream, request, asio::use_awaitable); });
        http::response_parser<http::string_body> parser;
        parser.body_limit(1 << 20);
        co_await connection->io(
            [&](auto& stream) { return http::async_read(stream, connection->buffer(), parser, asio::use_awaitable); });
        connection->close();
        co_return parser.get().result_int();
    };
    auto status = asio::co_spawn(io, exchange(), asio::use_future);
    io.run();
    const unsigned code = status.get();  // rethrows what failed on the way
    if (code < 200 || code >= 300) throw std::runtime_error("the collector answered " + std::to_string(code));
}

std::string OtlpExporter::encode(const std::vector<Span>& spans, const std::string& service_name) {
    json encoded = json::array();
    for (const auto& span : spans) {
        json attributes = json::array();
        for (const auto& [key, value] : span.attributes)
            attributes.push_back({{"key", key}, {"value", any_value(value)}});
        json item = {{"traceId", to_hex(span.trace_id.data(), span.trace_id.size())},
                     {"spanId", to_hex(span.span_id.data(), span.span_id.size())},
                     {"name", span.name},
                     {"kind", static_cast<int>(span.kind)},
                     {"startTimeUnixNano", unix_nanos(span.start)},
                     {"endTimeUnixNano", unix_nanos(span.end)},
                     {"attributes", std::move(attributes)}};
        // Left unset unless it failed, as OpenTelemetry asks of instrumentation.
        if (span.error) item["status"] = {{"code", 2}, {"message", span.status_message}};
        if (span.parent) item["parentSpanId"] = to_hex(span.parent->data(), span.parent->size());
        encoded.push_back(std::move(item));
    }
    const json body = {
        {"resourceSpans",
         {{{"resource", {{"attributes", {{{"key", "service.name"}, {"value", {{"stringValue", service_name}}}}}}}},
           {"scopeSpans", {{{"scope", {{"name", "watchgate"}, {"version", version_text}}}, {"spans", encoded}}}}}}}};
    return body.dump();
}

}  // namespace watchgate::core
