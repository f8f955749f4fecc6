#include <watchgate/core/server/stdio_server.hpp>

#include <watchgate/core/server/runtime.hpp>
#include <watchgate/core/server/stdio_listener.hpp>

namespace watchgate::core {

int serve_stdio(const GatewayConfig& config, std::shared_ptr<PluginHost> plugins) {
    Runtime runtime(config, std::move(plugins));
    StdioListener stdio(runtime);
    stdio.start();
    runtime.gateway().start();
    runtime.run();
    stdio.flush();
    return runtime.exit_status();
}

}  // namespace watchgate::core
