#include <watchgate/core/session/request_metrics.hpp>

#include <watchgate/core/protocol/error_codes.hpp>
#include <watchgate/core/protocol/methods.hpp>

namespace watchgate::core {

RequestMetrics::RequestMetrics(Metrics& metrics)
    : in_flight_(metrics
                     .family("watchgate_requests_in_flight", "Client requests received and not yet answered",
                             MetricKind::gauge)
                     .series({})),
      requests_(metrics.family("watchgate_requests_total", "Client requests answered, by upstream, method and outcome",
                               MetricKind::counter, {"upstream", "method", "outcome"})),
      durations_(metrics.family("watchgate_request_duration_seconds",
                                "Time from a client request's arrival to its answer, plugins and queues included",
                                MetricKind::histogram, {"upstream", "method"}, Metrics::latency_buckets())) {}

RequestMetrics& RequestMetrics::process() {
    static RequestMetrics metrics(process_metrics());
    return metrics;
}

void RequestMetrics::answered(std::string_view method, std::string_view upstream, const Message& answer,
                              std::chrono::steady_clock::duration took) {
    in_flight_.add(-1);
    const std::string_view method_text = method_label(method);
    requests_.add({upstream, method_text, outcome_of(answer)}, 1);
    durations_.observe({upstream, method_text}, std::chrono::duration<double>(took).count());
}

std::string_view RequestMetrics::outcome_of(const Message& answer) {
    const auto& body = answer.json();
    const auto error = body.find("error");
    if (error == body.end()) return "ok";
    const auto code = error->is_object() ? error->find("code") : error->end();
    if (code == error->end() || !code->is_number_integer()) return "error";
    switch (code->get<int>()) {
        case error_code::blocked:
            return "blocked";
        case error_code::timeout:
            return "timeout";
        case error_code::unavailable:
            return "unavailable";
        case error_code::overloaded:
            return "overloaded";
        case error_code::bad_answer:
            return "bad_answer";
        case error_code::audit_failed:
            return "audit_failed";
        case error_code::cancelled:
            return "cancelled";
        default:
            return "error";
    }
}

std::string_view RequestMetrics::method_label(std::string_view method) {
    const MethodSpec* spec = find_method(method);
    return spec ? spec->method : std::string_view("other");
}

}  // namespace watchgate::core
