#pragma once
// The plugin host: finds and loads plugin files (one load per file), creates one instance per
// YAML entry, and builds each upstream's pipeline from `_global` merged with its own list.

#include <watchgate/core/config/config.hpp>
#include <watchgate/core/pipeline/pipeline.hpp>
#include <watchgate/core/pipeline/plugin_module.hpp>

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace watchgate::core {

// Where `handler:` names are looked up, in order: the config's plugin_dirs, then
// WATCHGATE_PLUGIN_PATH (':'-separated), then the built-in plugin folder.
std::vector<std::filesystem::path> plugin_search_path(const GatewayConfig& config);
// <folder of the running executable>/../lib/watchgate/plugins: the same in build and install trees.
std::filesystem::path builtin_plugin_dir();
// The file name a handler is stored under ("name.so" on Linux).
std::string plugin_file_name(std::string_view handler);
// The names tried for a handler in each folder, in order: "name.so", then "libname.so".
std::vector<std::string> plugin_file_names(std::string_view handler);
// Every plugin file found in `folders` (handler name -> file), earlier folders winning.
std::map<std::string, std::filesystem::path> discover_plugins(const std::vector<std::filesystem::path>& folders);

// Why plugins are loaded: to serve, or only to check the configuration (the instances are told,
// WG_CREATE_VALIDATE_ONLY, and skip their side effects: no files, no connections).
enum class LoadPurpose { serve, validate };

class PluginHost {
public:
    // Loads everything `config` names. Throws ConfigErrors listing every problem, each with the
    // YAML place it comes from. On a reload, `previous` (the running host) lends its files and
    // every instance whose entry did not change (same plugin, place, instance name and config):
    // each file is loaded once per process, and an unchanged plugin keeps its state and files.
    static std::shared_ptr<PluginHost> load(const GatewayConfig& config, LoadPurpose purpose = LoadPurpose::serve,
                                            const PluginHost* previous = nullptr);
    // The configuration file and every plugin it names. Throws ConfigErrors with the errors of
    // both at once: a plugin's own config is checked even when another key of the file is wrong.
    static std::pair<GatewayConfig, std::shared_ptr<PluginHost>> load_all(const std::filesystem::path& file,
                                                                          LoadPurpose purpose = LoadPurpose::serve,
                                                                          const PluginHost* previous = nullptr);

    // The pipeline for `upstream` (empty: `_global` only).
    std::shared_ptr<const Pipeline> pipeline(std::string_view upstream) const;
    const std::map<std::filesystem::path, std::shared_ptr<PluginModule>>& modules() const { return modules_; }
    // SIGHUP: asks every instance that can (descriptor `reopen`, ABI 1.1) to reopen its files.
    void reopen() const;
    // Every instance, one per enabled entry.
    std::vector<std::shared_ptr<PluginInstance>> instances() const;
    // How many instances a reload took over from the previous host unchanged.
    std::size_t reused() const { return reused_; }

private:
    PluginHost() = default;

    std::map<std::filesystem::path, std::shared_ptr<PluginModule>> modules_;
    // Each instance with what identifies its entry across reloads (PluginHost::load).
    std::vector<std::pair<std::string, std::shared_ptr<PluginInstance>>> instances_;
    std::size_t reused_ = 0;
    std::shared_ptr<const Pipeline> global_;
    std::map<std::string, std::shared_ptr<const Pipeline>, std::less<>> pipelines_;
};

}  // namespace watchgate::core
