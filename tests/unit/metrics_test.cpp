// The metrics registry: the Prometheus text it renders, and the mistakes it refuses.
#include <catch2/catch.hpp>

#include <watchgate/core/base/metrics.hpp>

using namespace watchgate::core;

TEST_CASE("metrics: counters, gauges and histograms render in the Prometheus text format") {
    Metrics metrics;
    auto& calls = metrics.family("calls_total", "Calls made", MetricKind::counter, {"tool"});
    calls.add({"echo"}, 2);
    calls.add({"echo"}, 1);
    calls.add({"say \"hi\"\\\n"}, 1);  // quote, backslash and newline are escaped
    metrics.family("depth", "Waiting\nnow", MetricKind::gauge).set({}, -2.5);
    auto& latency = metrics.family("latency_seconds", "Time", MetricKind::histogram, {}, {0.1, 1});
    latency.observe({}, 0.05);
    latency.observe({}, 0.1);  // on a bound: counted in that bucket (le = less or equal)
    latency.observe({}, 5);
    CHECK(metrics.render() ==
          "# HELP calls_total Calls made\n"
          "# TYPE calls_total counter\n"
          "calls_total{tool=\"echo\"} 3\n"
          "calls_total{tool=\"say \\\"hi\\\"\\\\\\n\"} 1\n"
          "# HELP depth Waiting\\nnow\n"
          "# TYPE depth gauge\n"
          "depth -2.5\n"
          "# HELP latency_seconds Time\n"
          "# TYPE latency_seconds histogram\n"
          "latency_seconds_bucket{le=\"0.1\"} 2\n"
          "latency_seconds_bucket{le=\"1\"} 2\n"
          "latency_seconds_bucket{le=\"+Inf\"} 3\n"
          "latency_seconds_sum 5.15\n"
          "latency_seconds_count 3\n");
}

TEST_CASE("metrics: a family is one thing everywhere, with valid names") {
    Metrics metrics;
    auto& first = metrics.family("a_total", "A", MetricKind::counter, {"x"});
    CHECK(&metrics.family("a_total", "A", MetricKind::counter, {"x"}) == &first);  // asked again: the same
    CHECK_THROWS_AS(metrics.family("a_total", "A", MetricKind::gauge, {"x"}), std::invalid_argument);
    CHECK_THROWS_AS(metrics.family("a_total", "A", MetricKind::counter, {"y"}), std::invalid_argument);
    CHECK_THROWS_AS(metrics.family("9lives", "", MetricKind::gauge), std::invalid_argument);
    CHECK_THROWS_AS(metrics.family("ok", "", MetricKind::gauge, {"le"}), std::invalid_argument);
    CHECK_THROWS_AS(metrics.family("h", "", MetricKind::histogram, {}, {2, 1}), std::invalid_argument);
    CHECK_THROWS_AS(first.add({}, 1), std::invalid_argument);  // one value per label
}
