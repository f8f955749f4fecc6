#include <watchgate/core/server/stdio_server.hpp>

#include <watchgate/core/server/runtime.hpp>
#include <watchgate/core/server/stdio_listener.hpp>

#include <spdlog/spdlog.h>

#include <algorithm>

namespace watchgate::core {

int serve_stdio(const GatewayConfig& config, std::shared_ptr<PluginHost> plugins) {
    Runtime runtime(config, std::move(plugins));
    StdioListener stdio(runtime);
    stdio.start();
    runtime.gateway().start();
    runtime.run();
    stdio.flush();
    // A gateway none of whose upstreams ever worked did not do its job: its exit says so.
    const auto upstreams = runtime.gateway().pool().all();
    if (!upstreams.empty() &&
        std::none_of(upstreams.begin(), upstreams.end(), [](const auto& upstream) { return upstream->ever_ready(); })) {
        spdlog::error("stopped; no upstream could ever be started and initialized: exit status 1");
        return 1;
    }
    spdlog::info("stopped");
    return 0;
}

}  // namespace watchgate::core
