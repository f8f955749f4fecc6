#pragma once
// Sends finished spans to an OpenTelemetry collector (`tracing:` in the configuration,
// docs/operations.md "Traces"): OTLP/HTTP with the JSON encoding (over TLS for https), in
// batches, from a thread of its own. The queue is bounded: when the collector is slow or gone, spans beyond it are
// dropped and counted, and requests never wait.

#include <watchgate/core/base/metrics.hpp>
#include <watchgate/core/base/trace.hpp>
#include <watchgate/core/config/config.hpp>

#include <boost/asio/ssl/context.hpp>

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

namespace watchgate::core {

class OtlpExporter : public Tracer {
public:
    explicit OtlpExporter(TracingConfig config);
    // Sends what is queued (for up to a few seconds), then stops the thread.
    ~OtlpExporter() override;
    OtlpExporter(const OtlpExporter&) = delete;
    OtlpExporter& operator=(const OtlpExporter&) = delete;

    void record(Span span) override;

    // One export request's body for `spans` (public for the tests).
    static std::string encode(const std::vector<Span>& spans, const std::string& service_name);

private:
    void run();
    // POSTs `body`; throws std::runtime_error naming what failed.
    void post(const std::string& body);

    TracingConfig config_;
    std::shared_ptr<boost::asio::ssl::context> tls_;  // made on the first export to an https endpoint
    MetricFamily& spans_;                             // watchgate_trace_spans_total{outcome}
    std::mutex mutex_;
    std::condition_variable wake_;
    std::deque<Span> queue_;
    bool stopping_ = false;
    std::chrono::steady_clock::time_point quiet_until_;  // failures logged at most every few seconds
    std::thread thread_;
};

}  // namespace watchgate::core
