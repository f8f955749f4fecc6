#pragma once
// What the HTTP benchmarks report per level: calls per second and the median latency.

#include <algorithm>
#include <vector>

namespace watchgate::bench {

struct Result {
    double calls_per_second = 0;
    double p50_us = 0;
};

inline double median(std::vector<double> values) {
    std::sort(values.begin(), values.end());
    return values.empty() ? 0 : values[values.size() / 2];
}

}  // namespace watchgate::bench
