#pragma once
// The one table of MCP methods the gateway treats by name: how each is routed, which field names
// its target, which list it is, which server capability it needs. Message classification (the
// target plugins see) and routing (where a request goes) both read it, so they cannot disagree.

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>

namespace watchgate::core {

enum class MethodRouting {
    gateway,    // answered by the gateway itself (initialize, ping, server/discover, subscriptions/listen)
    by_target,  // sent to the upstream its target's name belongs to
    list,       // fanned out to every upstream offering the capability, results merged
    broadcast,  // sent to every upstream offering the capability (logging/setLevel)
};

// Where a request names the tool, prompt or resource it is about.
enum class TargetField {
    none,
    name,            // params.name (tools/call, prompts/get)
    uri,             // params.uri (resources/read, subscribe, unsubscribe)
    completion_ref,  // params.ref.uri for a "ref/resource" reference, else params.ref.name
};

struct MethodSpec {
    std::string_view method;
    MethodRouting routing;
    TargetField target = TargetField::none;
    std::string_view capability = {};  // the server capability it needs, empty for none
    std::string_view list_items = {};  // a list's result array ("tools")
    std::string_view item_key = {};    // each list item's identifier ("name", "uri", "uriTemplate")
};

// The method's entry, or nullptr for a method the table does not name (passed through as is).
const MethodSpec* find_method(std::string_view method);

// Where `message` (a request) carries its target, or nullptr when its method names none. The
// pointer may not exist in the message.
const nlohmann::json::json_pointer* target_pointer(std::string_view method, const nlohmann::json& message);
// The same for a method already looked up.
const nlohmann::json::json_pointer* target_pointer(const MethodSpec& spec, const nlohmann::json& message);

// The target's value when it is a string, else empty.
std::string target_of(std::string_view method, const nlohmann::json& message);

// The client capability a server -> client request needs: sampling/createMessage "sampling",
// elicitation/create "elicitation", roots/list "roots" (the ones the stateless era's inputRequests
// carry too). A client that did not declare it is not asked. Empty for any other method.
std::string_view client_capability_for(std::string_view method);

}  // namespace watchgate::core
