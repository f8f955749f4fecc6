#include <watchgate/core/pipeline/plugin_module.hpp>

#include <boost/dll/shared_library.hpp>

#include <algorithm>
#include <cstring>

namespace watchgate::core {

struct PluginModule::Library {
    boost::dll::shared_library library;
};

std::string abi_version_text(std::uint32_t major, std::uint32_t minor) {
    return std::to_string(major) + "." + std::to_string(minor);
}

namespace {

constexpr std::size_t max_name_length = 64;

bool valid_handler_name(const char* name) {
    if (!name || !(*name >= 'a' && *name <= 'z')) return false;
    // Bounded: a name without its NUL must not make us read on.
    const std::size_t length = ::strnlen(name, max_name_length + 1);
    if (length > max_name_length) return false;
    for (std::size_t i = 0; i < length; ++i) {
        const char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
    }
    return true;
}

}  // namespace

std::shared_ptr<PluginModule> PluginModule::load(const std::filesystem::path& file) {
    auto fail = [&](const std::string& why) -> PluginLoadError {
        return PluginLoadError("plugin " + file.string() + ": " + why);
    };
    std::shared_ptr<PluginModule> module(new PluginModule());
    module->file_ = file;
    module->library_ = std::make_unique<Library>();
    boost::dll::fs::error_code error;
    module->library_->library.load(file, boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local, error);
    if (error) throw fail("not a loadable shared library (" + error.message() + ")");
    // From here on the library's code runs: nothing it returns is trusted without a check.
    if (!module->library_->library.has(WG_PLUGIN_ENTRY_SYMBOL))
        throw fail("no entry function '" WG_PLUGIN_ENTRY_SYMBOL "': not a Watchgate plugin");
    auto entry = module->library_->library.get<const wg_plugin_descriptor*()>(WG_PLUGIN_ENTRY_SYMBOL);
    const wg_plugin_descriptor* descriptor = entry();
    if (!descriptor) throw fail("the entry function returned no descriptor");

    const std::string host_version = abi_version_text(WG_ABI_VERSION_MAJOR, WG_ABI_VERSION_MINOR);
    const std::string plugin_version = abi_version_text(descriptor->abi_major, descriptor->abi_minor);
    if (descriptor->abi_major != WG_ABI_VERSION_MAJOR)
        throw fail("built for plugin ABI " + plugin_version + ", but this Watchgate speaks ABI " + host_version +
                   " (the major versions differ; rebuild the plugin against this SDK)");
    if (descriptor->abi_minor > WG_ABI_VERSION_MINOR)
        throw fail("built for plugin ABI " + plugin_version + ", newer than this Watchgate's ABI " + host_version +
                   " (upgrade Watchgate or rebuild the plugin against SDK " + host_version + ")");
    constexpr std::size_t minimum_size = offsetof(wg_plugin_descriptor, instance_destroy) + sizeof(void*);
    if (descriptor->struct_size < minimum_size)
        throw fail("descriptor too small (" + std::to_string(descriptor->struct_size) + " bytes, need at least " +
                   std::to_string(minimum_size) + ")");
    std::memcpy(&module->descriptor_, descriptor,
                std::min<std::size_t>(descriptor->struct_size, sizeof(wg_plugin_descriptor)));
    const auto& d = module->descriptor_;
    if (!valid_handler_name(d.name))
        throw fail("invalid plugin name (expected [a-z][a-z0-9_]*, at most 64 characters)");
    module->name_ = d.name;
    // Optional texts: absent reads as empty, never as a NULL the host would print.
    if (!d.version) module->descriptor_.version = "";
    if (!d.description) module->descriptor_.description = "";
    if ((d.kinds & (WG_KIND_SECURITY | WG_KIND_MIDDLEWARE | WG_KIND_AUDITING)) == 0 ||
        (d.kinds & ~(WG_KIND_SECURITY | WG_KIND_MIDDLEWARE | WG_KIND_AUDITING)) != 0)
        throw fail("plugin '" + module->name_ + "' declares no valid kind (security, middleware, auditing)");
    if (!d.instance_create || !d.instance_destroy)
        throw fail("plugin '" + module->name_ + "' lacks instance_create or instance_destroy");
    if ((d.request_begin == nullptr) != (d.request_end == nullptr))
        throw fail("plugin '" + module->name_ + "' must provide request_begin and request_end together");
    if ((d.module_load == nullptr) != (d.module_unload == nullptr))
        throw fail("plugin '" + module->name_ + "' must provide module_load and module_unload together");
    if (d.module_load && d.module_load(&module->module_state_) != WG_OK) {
        module->descriptor_.module_unload = nullptr;  // nothing to unload
        throw fail("plugin '" + module->name_ + "' failed to initialise (module_load returned an error)");
    }
    return module;
}

PluginModule::~PluginModule() {
    if (descriptor_.module_unload) descriptor_.module_unload(module_state_);
}

}  // namespace watchgate::core
