#pragma once
// The gateway's YAML configuration (DESIGN.md "Configuration"). This part reads what the plugin
// host needs: plugin folders, the plugin lists and the upstream names they refer to.

#include <watchgate/core/config_error.hpp>
#include <watchgate/core/plugin_instance.hpp>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace watchgate::core {

inline constexpr char global_scope[] = "_global";

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

struct UpstreamConfig {
    std::string name;
    SourceLocation where;
};

struct GatewayConfig {
    std::filesystem::path file;
    std::vector<std::filesystem::path> plugin_dirs;
    bool allow_insecure_plugin_paths = false;
    std::vector<UpstreamConfig> upstreams;
    std::vector<PluginEntryConfig> plugins;
};

// Reads and checks `file`. Throws ConfigErrors listing every problem found.
GatewayConfig load_config(const std::filesystem::path& file);
// The same from text; `file` names it in errors and anchors relative paths.
GatewayConfig parse_config(const std::string& text, const std::filesystem::path& file);

}  // namespace watchgate::core
