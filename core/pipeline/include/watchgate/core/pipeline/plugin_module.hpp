#pragma once
// One loaded plugin file: the shared library, its checked descriptor and its module state.
// Loaded once per file and shared by every instance created from it.

#include <watchgate/plugin.h>

#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>

namespace watchgate::core {

// A plugin file that cannot be used; what() names the file and the reason.
struct PluginLoadError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

class PluginModule {
public:
    // Loads `file`, checks the entry function and descriptor (ABI version, size, name, kinds) and
    // runs module_load. Throws PluginLoadError.
    static std::shared_ptr<PluginModule> load(const std::filesystem::path& file);
    ~PluginModule();
    PluginModule(const PluginModule&) = delete;
    PluginModule& operator=(const PluginModule&) = delete;

    const std::filesystem::path& file() const { return file_; }
    const wg_plugin_descriptor& descriptor() const { return descriptor_; }
    const std::string& name() const { return name_; }
    void* module_state() const { return module_state_; }
    bool thread_safe() const { return (descriptor_.flags & WG_PLUGIN_THREAD_SAFE) != 0; }

private:
    PluginModule() = default;
    struct Library;

    std::filesystem::path file_;
    std::unique_ptr<Library> library_;
    // The plugin's descriptor, copied into a full-size struct with unknown trailing fields zeroed,
    // so an older plugin's smaller descriptor reads as "hook absent".
    wg_plugin_descriptor descriptor_{};
    std::string name_;
    void* module_state_ = nullptr;
};

// "1.2" for the ABI version pair.
std::string abi_version_text(std::uint32_t major, std::uint32_t minor);

}  // namespace watchgate::core
