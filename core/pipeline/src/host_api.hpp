#pragma once
// The host side of the C ABI: the structs behind the opaque handles and the function table.

#include <watchgate/core/protocol/message.hpp>
#include <watchgate/core/pipeline/plugin_instance.hpp>
#include <watchgate/plugin.h>

#include <nlohmann/json.hpp>

#include <deque>
#include <optional>
#include <string>
#include <vector>

// One per plugin instance: what the host knows of whom it serves.
struct wg_host {
    std::string plugin_name;
    std::string config_folder;
};

struct wg_config {
    nlohmann::json value;
    std::deque<std::string> arena;
    std::vector<watchgate::core::PluginConfigError> errors;
};

// One message during one hook call, with everything the stage produced.
struct wg_message {
    struct Block {
        std::string reason;
        int code = WG_DEFAULT_BLOCK_CODE;
        nlohmann::json data;
    };

    watchgate::core::Message* message = nullptr;
    watchgate::core::PluginRole role = watchgate::core::PluginRole::security;
    watchgate::core::MessageKind phase = watchgate::core::MessageKind::request;
    // Strings handed to the plugin; a deque so earlier views stay valid as it grows.
    std::deque<std::string> arena;
    // The message before this stage's first change, to undo a failed non-critical stage.
    std::optional<nlohmann::json> backup;
    std::optional<Block> block;
    std::optional<nlohmann::json> completion;
    nlohmann::json metadata;
    std::string error;   // set_error text
    std::string misuse;  // a verdict the plugin's role does not allow
    // The revision before this stage's first change, restored with the backup.
    std::uint64_t revision_before = 0;
    // request_begin sees the request but may not change it or set a verdict.
    bool read_only = false;
    // Set while visit_strings runs: changing the message then would pull the tree from under it.
    bool visiting = false;
};

namespace watchgate::core {

const wg_host_api& host_api();

}  // namespace watchgate::core
