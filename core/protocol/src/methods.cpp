#include <watchgate/core/protocol/methods.hpp>

#include <algorithm>
#include <array>

namespace watchgate::core {

namespace {

using nlohmann::json;

constexpr std::array<MethodSpec, 15> methods = {{
    {"initialize", MethodRouting::gateway},
    {"ping", MethodRouting::gateway},
    {"server/discover", MethodRouting::gateway},  // the stateless era (docs/routing.md "Eras")
    {"subscriptions/listen", MethodRouting::gateway},
    {"tools/list", MethodRouting::list, TargetField::none, "tools", "tools", "name"},
    {"prompts/list", MethodRouting::list, TargetField::none, "prompts", "prompts", "name"},
    {"resources/list", MethodRouting::list, TargetField::none, "resources", "resources", "uri"},
    {"resources/templates/list", MethodRouting::list, TargetField::none, "resources", "resourceTemplates",
     "uriTemplate"},
    {"tools/call", MethodRouting::by_target, TargetField::name, "tools"},
    {"prompts/get", MethodRouting::by_target, TargetField::name, "prompts"},
    {"resources/read", MethodRouting::by_target, TargetField::uri, "resources"},
    {"resources/subscribe", MethodRouting::by_target, TargetField::uri, "resources"},
    {"resources/unsubscribe", MethodRouting::by_target, TargetField::uri, "resources"},
    {"completion/complete", MethodRouting::by_target, TargetField::completion_ref, "completions"},
    {"logging/setLevel", MethodRouting::broadcast, TargetField::none, "logging"},
}};

// The member `key` of `value`, or null; never asserts on a non-object.
const json& member_of(const json& value, std::string_view key) {
    static const json null;
    if (!value.is_object()) return null;
    auto found = value.find(key);
    return found != value.end() ? *found : null;
}

// A completion reference names a resource by URI, anything else (a prompt) by name.
bool references_resource(const json& message) {
    return member_of(member_of(member_of(message, "params"), "ref"), "type") == "ref/resource";
}

}  // namespace

const MethodSpec* find_method(std::string_view method) {
    auto found = std::find_if(methods.begin(), methods.end(), [&](const MethodSpec& m) { return m.method == method; });
    return found != methods.end() ? &*found : nullptr;
}

const json::json_pointer* target_pointer(const MethodSpec& spec, const json& message) {
    // Parsed once: this runs for every routed request.
    static const json::json_pointer name("/params/name"), uri("/params/uri"), ref_name("/params/ref/name"),
        ref_uri("/params/ref/uri");
    switch (spec.target) {
        case TargetField::none:
            return nullptr;
        case TargetField::name:
            return &name;
        case TargetField::uri:
            return &uri;
        case TargetField::completion_ref:
            return references_resource(message) ? &ref_uri : &ref_name;
    }
    return nullptr;
}

const json::json_pointer* target_pointer(std::string_view method, const json& message) {
    const MethodSpec* spec = find_method(method);
    return spec ? target_pointer(*spec, message) : nullptr;
}

std::string target_of(std::string_view method, const json& message) {
    const MethodSpec* spec = find_method(method);
    const json& params = member_of(message, "params");
    const json* value = nullptr;
    switch (spec ? spec->target : TargetField::none) {
        case TargetField::none:
            return {};
        case TargetField::name:
            value = &member_of(params, "name");
            break;
        case TargetField::uri:
            value = &member_of(params, "uri");
            break;
        case TargetField::completion_ref:
            value = &member_of(member_of(params, "ref"), references_resource(message) ? "uri" : "name");
            break;
    }
    return value && value->is_string() ? value->get<std::string>() : std::string();
}

std::string_view client_capability_for(std::string_view method) {
    if (method == "sampling/createMessage") return "sampling";
    if (method == "elicitation/create") return "elicitation";
    if (method == "roots/list") return "roots";
    return {};
}

}  // namespace watchgate::core
