#pragma once
// What a reload may change (docs/operations.md "Reload"): upstreams and plugins, yes; the
// settings a running gateway is built from (threads, listeners, logging, buffers), no.

#include <watchgate/core/config/config.hpp>

#include <vector>

namespace watchgate::core {

// Whether two upstream entries start the same server the same way (their YAML places aside): an
// upstream whose settings did not change keeps running across a reload.
bool same_upstream_settings(const UpstreamConfig& a, const UpstreamConfig& b);

// One error per restart-only setting `next` changes from `running`, at its place in `next`.
std::vector<ConfigError> restart_only_changes(const GatewayConfig& running, const GatewayConfig& next);

}  // namespace watchgate::core
