#pragma once
// Everything a request is handled with that a reload may replace: the config, the plugins and
// the routing table. The gateway holds the current one; each request captures it when it
// arrives and keeps it to its end, so swapping the snapshot never touches a request in flight.

#include <watchgate/core/config/config.hpp>
#include <watchgate/core/pipeline/plugin_host.hpp>

#include <cstddef>
#include <map>
#include <memory>
#include <string>

namespace watchgate::core {

struct GatewaySnapshot {
    std::shared_ptr<const GatewayConfig> config;
    std::shared_ptr<PluginHost> plugins;
    // Upstream name -> its place in config->upstreams (and in every session's upstream list).
    std::map<std::string, std::size_t, std::less<>> upstream_index;

    static std::shared_ptr<const GatewaySnapshot> make(GatewayConfig config, std::shared_ptr<PluginHost> plugins) {
        auto snapshot = std::make_shared<GatewaySnapshot>();
        snapshot->config = std::make_shared<const GatewayConfig>(std::move(config));
        snapshot->plugins = std::move(plugins);
        for (std::size_t i = 0; i < snapshot->config->upstreams.size(); ++i)
            snapshot->upstream_index.emplace(snapshot->config->upstreams[i].name, i);
        return snapshot;
    }
};

}  // namespace watchgate::core
