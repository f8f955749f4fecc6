#pragma once
// Serving MCP clients over Streamable HTTP (docs/http.md): the runtime with the HTTP front.

#include <watchgate/core/config/config.hpp>
#include <watchgate/core/pipeline/plugin_host.hpp>

#include <memory>

namespace watchgate::core {

// Listens on proxy.http and serves every client that connects until SIGTERM/SIGINT, then shuts
// down gracefully. Returns the process exit code (1 when the address cannot be used).
int serve_http(const GatewayConfig& config, std::shared_ptr<PluginHost> plugins);

}  // namespace watchgate::core
