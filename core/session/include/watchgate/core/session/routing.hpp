#pragma once
// How many upstreams look like one server (docs/routing.md): names carry their upstream as a
// prefix, lists fan out and merge, and a list cursor carries every upstream's own cursor.

#include <watchgate/core/protocol/message.hpp>
#include <watchgate/core/protocol/methods.hpp>

#include <nlohmann/json.hpp>

#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace watchgate::core {

inline constexpr std::string_view namespace_separator = "__";

// The list methods whose items change when `notifications/<capability>/list_changed` says so.
inline constexpr std::string_view list_capabilities[] = {"tools", "prompts", "resources"};

struct NamespacedName {
    std::string upstream;
    std::string name;
};
// "fs__read_file" -> {"fs", "read_file"}; upstream names never contain the separator, so the
// first one splits (a tool's own name may contain it).
std::optional<NamespacedName> split_namespaced(std::string_view name);
std::string namespaced(std::string_view upstream, std::string_view name);

// `text` with every whole-word mention of `name` replaced by its namespaced form, so error
// messages name what the client can call.
std::string namespace_mentions(std::string_view text, std::string_view upstream, std::string_view name);

// Outbound rewrites for the client's view, each touching the message only when something changes:
// a routed answer (resource URIs in results, the target's name in errors),
void namespace_answer(Message& answer, std::string_view method, std::string_view upstream, std::string_view target);
// one upstream's list items (their identifiers),
void namespace_list_items(nlohmann::json& items, const MethodSpec& list, std::string_view upstream);
// a notification from an upstream (resources/updated URI, the log message's logger).
void namespace_notification(Message& notification, std::string_view upstream);

// A list cursor of the gateway's: the upstreams still to page through and their own cursors.
using UpstreamCursors = std::map<std::string, std::string>;
std::string encode_cursor(const UpstreamCursors& cursors);
std::optional<UpstreamCursors> decode_cursor(std::string_view cursor);

}  // namespace watchgate::core
