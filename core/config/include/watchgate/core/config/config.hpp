#pragma once
// The gateway's YAML configuration (docs/configuration.md), Gatekit-compatible: `proxy:`
// (transport, upstreams, timeouts, concurrency), `plugins:`, `plugin_dirs:`, `logging:`.

#include <watchgate/core/config/config_error.hpp>
#include <watchgate/core/base/stream_limits.hpp>

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace watchgate::core {

inline constexpr char global_scope[] = "_global";

// Where a plugin entry is placed: its section under `plugins:`.
enum class PluginRole { security, middleware, auditing };
std::string_view role_name(PluginRole role);

struct PluginEntryConfig {
    PluginRole role = PluginRole::security;
    std::string scope;                          // "_global" or an upstream name
    std::string handler;                        // `handler:`, or empty when `path:` is used
    std::optional<std::filesystem::path> path;  // `path:`, resolved against the config's folder
    bool enabled = true;
    int priority = 50;
    bool critical = true;
    nlohmann::json config = nlohmann::json::object();  // `config:` without enabled/priority/critical
    std::map<std::string, SourceLocation> locations;   // JSON pointer in `config` -> YAML place
    SourceLocation where;                              // the entry itself
    SourceLocation config_where;                       // its `config:` mapping (or the entry)

    // Where an error at `pointer` (from the plugin) belongs: the nearest mapped place.
    SourceLocation locate(const std::string& pointer) const;
};

struct TimeoutConfig {
    std::chrono::milliseconds connection{60'000};  // start + initialize of an upstream
    std::chrono::milliseconds request{60'000};     // one request, queueing included
};

enum class OverflowPolicy { queue, reject };

struct ConcurrencyConfig {
    int max_in_flight = 100;
    OverflowPolicy overflow = OverflowPolicy::queue;
};

// Whether client sessions share one server (one process for all) or each session gets its own,
// started on its first use: for stateful servers that must not mix clients.
enum class UpstreamSharing { shared, per_session };

struct UpstreamConfig {
    std::string name;
    SourceLocation where;
    std::vector<std::string> command;          // program and arguments; no shell
    std::map<std::string, std::string> env;    // merged over the gateway's environment
    std::optional<std::filesystem::path> cwd;  // resolved against the config's folder
    bool restart_on_failure = true;
    int max_restart_attempts = 3;
    UpstreamSharing sharing = UpstreamSharing::shared;
    TimeoutConfig timeouts;
    ConcurrencyConfig concurrency;
};

struct LoggingConfig {
    std::string level = "info";  // trace | debug | info | warning | error | critical
    bool to_stderr = true;
    std::optional<std::filesystem::path> file_path;
    int max_file_size_mb = 10;
    int backup_count = 5;
};

struct GatewayConfig {
    std::filesystem::path file;
    std::string transport = "stdio";
    std::size_t max_message_size = 64u << 20;  // bytes per line, both directions
    std::chrono::milliseconds shutdown_grace{5'000};
    // Threads running the event loop. One keeps latency lowest (no wake-ups between threads);
    // more help when plugins do heavy work on large messages.
    int threads = 1;
    // Requests from the client in flight at once; at the limit the gateway stops reading the
    // client until one is answered (backpressure, not an error).
    std::size_t max_client_requests = 1024;
    // Bytes that may wait to be written to one stream (the client's, each upstream's) before its
    // feeders pause, and how long a stream may take nothing before it is treated as failed.
    StreamLimits streams;
    TimeoutConfig timeouts;
    ConcurrencyConfig concurrency;
    std::vector<std::filesystem::path> plugin_dirs;
    bool allow_insecure_plugin_paths = false;
    // Tools and prompts as `<upstream>__<name>`, resources as `<upstream>__<uri>`. `namespace:
    // auto` (the default) turns it on for two or more upstreams only; off is allowed with a
    // single upstream only.
    bool namespace_names = true;
    // Lists say in `_meta` which upstreams were left out; off by default (strict clients).
    bool debug_metadata = false;
    std::vector<UpstreamConfig> upstreams;
    std::vector<PluginEntryConfig> plugins;
    LoggingConfig logging;
};

// Reads and checks `file`. Throws ConfigErrors listing every problem found.
GatewayConfig load_config(const std::filesystem::path& file);
// The same from text; `file` names it in errors and anchors relative paths.
GatewayConfig parse_config(const std::string& text, const std::filesystem::path& file);

}  // namespace watchgate::core
