#pragma once
// The gateway's metrics (docs/operations.md "Metrics"): counters, gauges and histograms in
// families with fixed label names, rendered in the Prometheus text format. Recording is a
// look-up of the series (one lock per family, taken briefly) and an atomic add; a caller on a hot
// path keeps the Series it got and adds to it without any look-up.
//
// Cardinality is the caller's to bound: label values come from the configuration (upstream and
// plugin names) or from short closed lists (methods, outcomes), never from what a client or an
// upstream sends.

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace watchgate::core {

enum class MetricKind { counter, gauge, histogram };

// One series: a family's value for one set of label values.
class MetricSeries {
public:
    explicit MetricSeries(std::size_t bucket_count) : buckets_(bucket_count) {}
    // Counters: `amount` >= 0. Gauges: any sign.
    void add(double amount);
    void set(double value);
    // Histograms: counts `value` in its bucket, the sum and the count.
    void observe(double value, const std::vector<double>& bounds);

    double value() const { return value_.load(std::memory_order_relaxed); }
    std::uint64_t bucket(std::size_t index) const { return buckets_[index].load(std::memory_order_relaxed); }
    std::uint64_t count() const { return count_.load(std::memory_order_relaxed); }

private:
    std::atomic<double> value_{0};  // counter/gauge value; a histogram's sum
    std::atomic<std::uint64_t> count_{0};
    std::vector<std::atomic<std::uint64_t>> buckets_;  // per bucket, not cumulative
};

class MetricFamily {
public:
    MetricFamily(std::string name, std::string help, MetricKind kind, std::vector<std::string> labels,
                 std::vector<double> bounds);

    using Labels = std::initializer_list<std::string_view>;
    // The series for `values` (one per label, in order), made on first use. Finding an existing
    // one allocates nothing.
    MetricSeries& series(Labels values);
    void add(Labels values, double amount) { series(values).add(amount); }
    void set(Labels values, double value) { series(values).set(value); }
    void observe(Labels values, double value) { series(values).observe(value, bounds_); }
    const std::vector<double>& bounds() const { return bounds_; }

    MetricKind kind() const { return kind_; }
    const std::string& name() const { return name_; }
    const std::vector<std::string>& labels() const { return labels_; }
    void render(std::string& out) const;

private:
    const std::string name_;
    const std::string help_;
    const MetricKind kind_;
    const std::vector<std::string> labels_;
    const std::vector<double> bounds_;  // histograms: upper bounds, ascending (+Inf implied)
    // Orders label lists of strings and of views alike, so a look-up needs no copy.
    struct LabelsLess {
        using is_transparent = void;
        template <class A, class B>
        bool operator()(const A& a, const B& b) const {
            return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end(),
                                                [](std::string_view x, std::string_view y) { return x < y; });
        }
    };
    mutable std::mutex mutex_;
    std::map<std::vector<std::string>, std::unique_ptr<MetricSeries>, LabelsLess> series_;
};

class Metrics {
public:
    // The family `name`, made on first use. Asking again with another kind, labels or bounds
    // throws std::invalid_argument (two parts of the program disagree about one metric).
    MetricFamily& family(std::string_view name, std::string_view help, MetricKind kind,
                         std::vector<std::string> labels = {}, std::vector<double> bounds = {});
    // Everything, in the Prometheus text exposition format 0.0.4, families by name.
    std::string render() const;

    // Seconds buckets for request and stage latencies: 100 µs to 60 s.
    static const std::vector<double>& latency_buckets();

private:
    mutable std::mutex mutex_;
    std::map<std::string, std::unique_ptr<MetricFamily>, std::less<>> families_;
};

// The process's metrics: what the admin endpoint serves.
Metrics& process_metrics();

// Whether `name` is a valid metric or label name ([a-zA-Z_:][a-zA-Z0-9_:]*, no ':' in labels).
bool valid_metric_name(std::string_view name, bool label = false);

}  // namespace watchgate::core
