#pragma once
// The client requests' metrics (docs/operations.md "Metrics"): in flight, and once per answer a
// count by upstream, method and outcome and a latency by upstream and method. Label values come
// from closed lists (known methods, outcomes) and the configured upstream names only.

#include <watchgate/core/base/metrics.hpp>
#include <watchgate/core/protocol/message.hpp>

#include <chrono>
#include <string>
#include <string_view>

namespace watchgate::core {

class RequestMetrics {
public:
    explicit RequestMetrics(Metrics& metrics);
    // The one for the process's metrics.
    static RequestMetrics& process();

    void started() { in_flight_.add(1); }
    // `upstream`: the one it went to, "_several" for a list fanned out, "_gateway" when none
    // (answered by the gateway itself).
    void answered(std::string_view method, std::string_view upstream, const Message& answer,
                  std::chrono::steady_clock::duration took);

    // The outcome label of an answer: ok, blocked, timeout, unavailable, overloaded, bad_answer,
    // audit_failed, cancelled or error.
    static std::string_view outcome_of(const Message& answer);
    // The method label: the method when the gateway knows it by name, else "other".
    static std::string_view method_label(std::string_view method);

private:
    MetricSeries& in_flight_;
    MetricFamily& requests_;
    MetricFamily& durations_;
};

}  // namespace watchgate::core
