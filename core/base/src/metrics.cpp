#include <watchgate/core/base/metrics.hpp>

#include <algorithm>
#include <cmath>
#include <charconv>
#include <stdexcept>

namespace watchgate::core {

namespace {

// Prometheus' float text: integers without a fraction, +Inf/-Inf/NaN spelled its way.
std::string number_text(double value) {
    if (std::isnan(value)) return "NaN";
    if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
    // The shortest text that reads back as the same double ("0.1", not "0.10000000000000001").
    char text[64];
    const auto end = std::to_chars(text, text + sizeof text, value).ptr;
    return std::string(text, end);
}

// A label value in quotes: backslash, quote and newline escaped.
void append_label_value(std::string& out, std::string_view value) {
    out += '"';
    for (char c : value) {
        if (c == '\\' || c == '"')
            (out += '\\') += c;
        else if (c == '\n')
            out += "\\n";
        else
            out += c;
    }
    out += '"';
}

// HELP text: backslash and newline escaped.
std::string help_text(std::string_view help) {
    std::string out;
    for (char c : help) {
        if (c == '\\')
            out += "\\\\";
        else if (c == '\n')
            out += "\\n";
        else
            out += c;
    }
    return out;
}

void add_double(std::atomic<double>& target, double amount) {
    double current = target.load(std::memory_order_relaxed);
    while (!target.compare_exchange_weak(current, current + amount, std::memory_order_relaxed)) {
    }
}

}  // namespace

bool valid_metric_name(std::string_view name, bool label) {
    if (name.empty()) return false;
    for (std::size_t i = 0; i < name.size(); ++i) {
        const char c = name[i];
        const bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (!label && c == ':');
        if (!letter && !(i > 0 && c >= '0' && c <= '9')) return false;
    }
    return !(label && name.starts_with("__"));
}

void MetricSeries::add(double amount) { add_double(value_, amount); }

void MetricSeries::set(double value) { value_.store(value, std::memory_order_relaxed); }

void MetricSeries::observe(double value, const std::vector<double>& bounds) {
    const auto at = std::lower_bound(bounds.begin(), bounds.end(), value) - bounds.begin();
    buckets_[static_cast<std::size_t>(at)].fetch_add(1, std::memory_order_relaxed);
    add_double(value_, value);
    count_.fetch_add(1, std::memory_order_relaxed);
}

MetricFamily::MetricFamily(std::string name, std::string help, MetricKind kind, std::vector<std::string> labels,
                           std::vector<double> bounds)
    : name_(std::move(name)),
      help_(std::move(help)),
      kind_(kind),
      labels_(std::move(labels)),
      bounds_(std::move(bounds)) {}

MetricSeries& MetricFamily::series(Labels values) {
    if (values.size() != labels_.size())
        throw std::invalid_argument("metric " + name_ + ": " + std::to_string(labels_.size()) +
                                    " label values expected");
    std::lock_guard lock(mutex_);
    auto found = series_.find(values);
    if (found == series_.end()) {
        // A histogram's buckets, the last one for +Inf.
        found = series_
                    .emplace(std::vector<std::string>(values.begin(), values.end()),
                             std::make_unique<MetricSeries>(kind_ == MetricKind::histogram ? bounds_.size() + 1 : 0))
                    .first;
    }
    return *found->second;
}

void MetricFamily::render(std::string& out) const {
    static constexpr const char* type_names[] = {"counter", "gauge", "histogram"};
    out += "# HELP " + name_ + " " + help_text(help_) + "\n";
    out += "# TYPE " + name_ + " " + type_names[static_cast<int>(kind_)] + "\n";
    auto labels = [&](const std::vector<std::string>& values, std::string_view extra_name = {},
                      std::string_view extra_value = {}) {
        std::string text;
        for (std::size_t i = 0; i < labels_.size(); ++i) {
            text += (text.empty() ? "" : ",") + labels_[i] + "=";
            append_label_value(text, values[i]);
        }
        if (!extra_name.empty()) {
            text += (text.empty() ? "" : ",") + std::string(extra_name) + "=";
            append_label_value(text, extra_value);
        }
        return text.empty() ? text : "{" + text + "}";
    };
    std::lock_guard lock(mutex_);
    for (const auto& [values, series] : series_) {
        if (kind_ != MetricKind::histogram) {
            out += name_ + labels(values) + " " + number_text(series->value()) + "\n";
            continue;
        }
        std::uint64_t cumulative = 0;
        for (std::size_t i = 0; i <= bounds_.size(); ++i) {
            cumulative += series->bucket(i);
            const double bound = i < bounds_.size() ? bounds_[i] : INFINITY;
            out +=
                name_ + "_bucket" + labels(values, "le", number_text(bound)) + " " + std::to_string(cumulative) + "\n";
        }
        out += name_ + "_sum" + labels(values) + " " + number_text(series->value()) + "\n";
        out += name_ + "_count" + labels(values) + " " + std::to_string(series->count()) + "\n";
    }
}

MetricFamily& Metrics::family(std::string_view name, std::string_view help, MetricKind kind,
                              std::vector<std::string> labels, std::vector<double> bounds) {
    std::lock_guard lock(mutex_);
    auto found = families_.find(name);
    if (found == families_.end()) {
        if (!valid_metric_name(name)) throw std::invalid_argument("invalid metric name '" + std::string(name) + "'");
        for (const auto& label : labels)
            if (!valid_metric_name(label, true) || label == "le")
                throw std::invalid_argument("metric " + std::string(name) + ": invalid label name '" + label + "'");
        if (kind == MetricKind::histogram && (bounds.empty() || !std::is_sorted(bounds.begin(), bounds.end())))
            throw std::invalid_argument("metric " + std::string(name) + ": a histogram needs ascending bounds");
        found = families_
                    .emplace(std::string(name),
                             std::make_unique<MetricFamily>(std::string(name), std::string(help), kind, labels, bounds))
                    .first;
        return *found->second;
    }
    MetricFamily& family = *found->second;
    if (family.kind() != kind || family.labels() != labels ||
        (kind == MetricKind::histogram && family.bounds() != bounds))
        throw std::invalid_argument("metric " + std::string(name) + " is already defined differently");
    return family;
}

std::string Metrics::render() const {
    std::string out;
    std::lock_guard lock(mutex_);
    for (const auto& [name, family] : families_) family->render(out);
    return out;
}

const std::vector<double>& Metrics::latency_buckets() {
    static const std::vector<double> bounds{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                            0.1,    0.25,    0.5,    1,     2.5,    5,     10,   30,    60};
    return bounds;
}

Metrics& process_metrics() {
    static Metrics metrics;
    return metrics;
}

}  // namespace watchgate::core
