#pragma once
// Serving one MCP client over stdin/stdout: the runtime with the stdio listener.

#include <watchgate/core/config/config.hpp>
#include <watchgate/core/pipeline/plugin_host.hpp>

#include <memory>

namespace watchgate::core {

// Runs the gateway for the client on stdin/stdout until stdin closes or SIGTERM/SIGINT arrives,
// then shuts down gracefully. Returns the process exit code.
int serve_stdio(const GatewayConfig& config, std::shared_ptr<PluginHost> plugins);

}  // namespace watchgate::core
