#pragma once
// `watchgate call`: one request through the whole gateway (upstreams started and initialized,
// pipeline, audit), without a client.

#include <watchgate/core/config/config.hpp>
#include <watchgate/core/pipeline/plugin_host.hpp>

#include <nlohmann/json.hpp>

#include <memory>
#include <string>

namespace watchgate::core {

// Returns the response (or the gateway's error answer).
nlohmann::json call_once(const GatewayConfig& config, std::shared_ptr<PluginHost> plugins, const std::string& method,
                         const nlohmann::json& params);

}  // namespace watchgate::core
