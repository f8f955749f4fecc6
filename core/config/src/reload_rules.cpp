#include <watchgate/core/config/reload_rules.hpp>

#include <set>
#include <tuple>

namespace watchgate::core {

namespace {

auto settings_of(const UpstreamConfig& u) {
    return std::tie(u.name, u.transport, u.url, u.headers, u.tls_ca_file, u.tls_verify, u.restart_backoff,
                    u.max_restart_backoff, u.command, u.env, u.cwd, u.restart_on_failure, u.max_restart_attempts,
                    u.sharing, u.era, u.timeouts.connection, u.timeouts.request, u.concurrency.max_in_flight,
                    u.concurrency.overflow);
}

}  // namespace

bool same_upstream_settings(const UpstreamConfig& a, const UpstreamConfig& b) {
    return settings_of(a) == settings_of(b);
}

std::vector<ConfigError> restart_only_changes(const GatewayConfig& running, const GatewayConfig& next) {
    std::set<std::string> names;
    for (const auto& [name, setting] : running.restart_only) names.insert(name);
    for (const auto& [name, setting] : next.restart_only) names.insert(name);
    std::vector<ConfigError> errors;
    for (const auto& name : names) {
        const auto was = running.restart_only.find(name);
        const auto now = next.restart_only.find(name);
        const bool had = was != running.restart_only.end();
        const bool has = now != next.restart_only.end();
        if (had && has && was->second.yaml == now->second.yaml) continue;
        const SourceLocation where = has ? now->second.where : SourceLocation{next.file.string(), 0, 0};
        const char* how = !had ? "was added" : !has ? "was removed" : "changed";
        errors.push_back({where, "'" + name + "' " + how +
                                     ": it takes effect only when the gateway restarts (a reload changes upstreams "
                                     "and plugins)"});
    }
    return errors;
}

}  // namespace watchgate::core
