#pragma once
// Serving one MCP client over stdin/stdout, and the one-shot `watchgate call`.

#include <watchgate/core/config/config.hpp>
#include <watchgate/core/pipeline/plugin_host.hpp>

#include <nlohmann/json.hpp>

#include <memory>
#include <string>

namespace watchgate::core {

// Runs the gateway for the client on stdin/stdout until stdin closes or SIGTERM/SIGINT arrives,
// then shuts down gracefully. Returns the process exit code.
int serve_stdio(const GatewayConfig& config, std::shared_ptr<PluginHost> plugins);

// When the gateway cannot start and stdin is not a terminal: reads the client's first line and
// answers it with a JSON-RPC error carrying `message` (MCP clients show it to the user).
void answer_startup_failure(const std::string& message);

// Runs one request through the whole gateway (upstreams started and initialized, pipeline,
// audit) and returns the response.
nlohmann::json call_once(const GatewayConfig& config, std::shared_ptr<PluginHost> plugins, const std::string& method,
                         const nlohmann::json& params);

// Sets up spdlog from `logging:` (stderr and/or a rotating file); verbosity > 0 lowers the level.
void configure_logging(const LoggingConfig& logging, int verbosity);

}  // namespace watchgate::core
