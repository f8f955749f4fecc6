#include <watchgate/core/pipeline/plugin_instance.hpp>

#include "host_api.hpp"

namespace watchgate::core {

std::uint32_t role_kind_bit(PluginRole role) {
    switch (role) {
        case PluginRole::security:
            return WG_KIND_SECURITY;
        case PluginRole::middleware:
            return WG_KIND_MIDDLEWARE;
        case PluginRole::auditing:
            return WG_KIND_AUDITING;
    }
    return 0;
}

std::shared_ptr<PluginInstance> PluginInstance::create(std::shared_ptr<PluginModule> module, PluginRole role,
                                                       const std::string& config_json, std::string config_folder,
                                                       std::uint32_t create_flags, const std::string& instance_name) {
    std::shared_ptr<PluginInstance> instance(new PluginInstance());
    instance->module_ = std::move(module);
    instance->label_ = instance->module_->name() + (instance_name.empty() ? std::string() : "/" + instance_name);
    instance->role_ = role;
    instance->host_ = std::make_unique<wg_host>(wg_host{instance->label_, std::move(config_folder), create_flags, {}});
    if (!instance->module_->thread_safe()) instance->serial_ = std::make_unique<AsyncMutex>();

    wg_config config{nlohmann::json::parse(config_json, nullptr, false), {}, {}};
    void* handle = nullptr;
    wg_status status =
        instance->descriptor().instance_create(&host_api(), instance->host_.get(), instance->module_->module_state(),
                                               wg_str{config_json.data(), config_json.size()}, &config, &handle);
    if (status == WG_OK && handle == nullptr)
        config.errors.push_back({"", "the plugin reported success but returned no instance (a plugin bug)"});
    if (status != WG_OK || handle == nullptr) {
        if (handle) instance->descriptor().instance_destroy(handle);
        if (config.errors.empty())
            config.errors.push_back({"", "the plugin refused its configuration without saying why (status " +
                                             std::to_string(status) + ")"});
        throw PluginConfigRejected("plugin '" + instance->name() + "' rejected its configuration",
                                   std::move(config.errors));
    }
    instance->handle_ = handle;
    return instance;
}

PluginInstance::~PluginInstance() {
    if (handle_) descriptor().instance_destroy(handle_);
}

}  // namespace watchgate::core
