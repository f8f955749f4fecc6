#pragma once
// How much may wait to be written to one stream, and how long it may take nothing.

#include <chrono>
#include <cstddef>

namespace watchgate::core {

struct StreamLimits {
    std::size_t max_queued = 16u << 20;               // bytes waiting; above it feeders pause
    std::chrono::milliseconds stall_timeout{30'000};  // no byte taken while lines wait: failed
};

}  // namespace watchgate::core
