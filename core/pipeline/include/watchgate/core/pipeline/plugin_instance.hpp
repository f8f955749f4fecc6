#pragma once
// One plugin instance: created from one YAML plugin entry, owned by the pipelines that use it.

#include <watchgate/core/base/async_signal.hpp>
#include <watchgate/core/config/config.hpp>
#include <watchgate/core/pipeline/plugin_module.hpp>

#include <boost/asio/awaitable.hpp>

#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace watchgate::core {

// The WG_KIND_* bit of a placement.
std::uint32_t role_kind_bit(PluginRole role);

// One problem the plugin found in its config: a JSON pointer into `config:` and a message.
struct PluginConfigError {
    std::string pointer;
    std::string message;
};

struct PluginConfigRejected : std::runtime_error {
    PluginConfigRejected(const std::string& what, std::vector<PluginConfigError> found)
        : std::runtime_error(what), errors(std::move(found)) {}
    std::vector<PluginConfigError> errors;
};

class PluginInstance {
public:
    // Creates an instance from `config_json`; `config_folder` anchors the plugin's relative paths;
    // `create_flags` are WG_CREATE_* bits; `instance` is the entry's `instance:` name, if any.
    // Throws PluginConfigRejected with the plugin's errors.
    static std::shared_ptr<PluginInstance> create(std::shared_ptr<PluginModule> module, PluginRole role,
                                                  const std::string& config_json, std::string config_folder = {},
                                                  std::uint32_t create_flags = 0, const std::string& instance = {});
    ~PluginInstance();
    PluginInstance(const PluginInstance&) = delete;
    PluginInstance& operator=(const PluginInstance&) = delete;

    const std::string& name() const { return module_->name(); }
    // What logs, audit records and metrics call it: the name, or "name/instance" for an entry
    // with an `instance:` name.
    const std::string& label() const { return label_; }
    PluginRole role() const { return role_; }
    const wg_plugin_descriptor& descriptor() const { return module_->descriptor(); }
    void* handle() const { return handle_; }

    // Held around every call into the instance: serializes calls into a plugin that did not
    // declare itself thread-safe, and is empty (free) for one that did. A coroutine waits for
    // its turn without holding a thread, so other requests and other plugins go on meanwhile.
    boost::asio::awaitable<AsyncMutex::Guard> enter_async() const {
        if (!serial_) co_return AsyncMutex::Guard();
        co_return co_await serial_->lock_async();
    }
    // The same for a caller outside a coroutine: blocks the thread until its turn.
    AsyncMutex::Guard enter() const { return serial_ ? serial_->lock() : AsyncMutex::Guard(); }

private:
    PluginInstance() = default;

    std::shared_ptr<PluginModule> module_;
    std::string label_;
    PluginRole role_ = PluginRole::security;
    void* handle_ = nullptr;
    std::unique_ptr<wg_host> host_;
    std::unique_ptr<AsyncMutex> serial_;
};

}  // namespace watchgate::core
