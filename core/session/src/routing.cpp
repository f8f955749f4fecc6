#include <watchgate/core/session/routing.hpp>

#include <watchgate/core/base/base64.hpp>

#include <array>
#include <cctype>

namespace watchgate::core {

using nlohmann::json;

namespace {

// Characters that continue a name: a mention must not be part of a longer one.
bool continues_name(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.' || c == '/' || c == ':';
}

// Content blocks naming a resource (tool results, prompt messages): the URI is the client's to read.
bool namespace_content_block(json& block, std::string_view upstream) {
    if (!block.is_object()) return false;
    const auto type = block.find("type");
    if (type == block.end() || !type->is_string()) return false;
    json* uri = nullptr;
    if (*type == "resource_link" && block.contains("uri"))
        uri = &block["uri"];
    else if (*type == "resource" && block.contains("resource") && block["resource"].is_object() &&
             block["resource"].contains("uri"))
        uri = &block["resource"]["uri"];
    if (!uri || !uri->is_string()) return false;
    *uri = namespaced(upstream, uri->get_ref<const std::string&>());
    return true;
}

bool names_resources(const json& block) {
    if (!block.is_object()) return false;
    const auto type = block.find("type");
    return type != block.end() && (*type == "resource_link" || *type == "resource");
}

constexpr std::string_view cursor_version = "wg1.";
}  // namespace

std::optional<NamespacedName> split_namespaced(std::string_view name) {
    const auto at = name.find(namespace_separator);
    if (at == std::string_view::npos || at == 0) return std::nullopt;
    return NamespacedName{std::string(name.substr(0, at)), std::string(name.substr(at + namespace_separator.size()))};
}

std::string namespaced(std::string_view upstream, std::string_view name) {
    std::string out;
    out.reserve(upstream.size() + namespace_separator.size() + name.size());
    out.append(upstream).append(namespace_separator).append(name);
    return out;
}

std::string namespace_mentions(std::string_view text, std::string_view upstream, std::string_view name) {
    if (name.empty()) return std::string(text);
    std::string out;
    std::size_t from = 0;
    for (auto at = text.find(name); at != std::string_view::npos; at = text.find(name, at + 1)) {
        const bool starts_word = at == 0 || !continues_name(text[at - 1]);
        const bool ends_word = at + name.size() == text.size() || !continues_name(text[at + name.size()]);
        if (!starts_word || !ends_word) continue;
        out.append(text.substr(from, at - from)).append(namespaced(upstream, name));
        from = at + name.size();
    }
    out.append(text.substr(from));
    return out;
}

void namespace_answer(Message& answer, std::string_view method, std::string_view upstream, std::string_view target) {
    const json& message = answer.json();
    if (const auto& error = member(message, "error"); error.is_object()) {
        const auto& text = member(error, "message");
        if (!text.is_string()) return;
        std::string renamed = namespace_mentions(text.get_ref<const std::string&>(), upstream, target);
        if (renamed != text.get_ref<const std::string&>()) answer.mutable_json()["error"]["message"] = renamed;
        return;
    }
    const auto& result = member(message, "result");
    if (!result.is_object()) return;
    if (method == "resources/read") {
        const auto& contents = member(result, "contents");
        if (!contents.is_array() || contents.empty()) return;
        for (auto& content : answer.mutable_json()["result"]["contents"])
            if (content.is_object() && content.contains("uri") && content["uri"].is_string())
                content["uri"] = namespaced(upstream, content["uri"].get_ref<const std::string&>());
        return;
    }
    if (method == "tools/call") {
        const auto& content = member(result, "content");
        if (!content.is_array()) return;
        const bool is_error = member(result, "isError") == true;
        bool changes = false;
        for (const auto& block : content) changes = changes || names_resources(block) || is_error;
        if (!changes) return;
        for (auto& block : answer.mutable_json()["result"]["content"]) {
            namespace_content_block(block, upstream);
            // A failed call's text names the tool as the upstream knows it.
            if (is_error && block.is_object() && block.value("type", "") == "text" && block.contains("text") &&
                block["text"].is_string())
                block["text"] = namespace_mentions(block["text"].get_ref<const std::string&>(), upstream, target);
        }
        return;
    }
    if (method == "prompts/get") {
        const auto& messages = member(result, "messages");
        if (!messages.is_array()) return;
        bool changes = false;
        for (const auto& prompt_message : messages)
            changes = changes || names_resources(member(prompt_message, "content"));
        if (!changes) return;
        for (auto& prompt_message : answer.mutable_json()["result"]["messages"])
            if (prompt_message.is_object() && prompt_message.contains("content"))
                namespace_content_block(prompt_message["content"], upstream);
    }
}

void namespace_list_items(json& items, const MethodSpec& list, std::string_view upstream) {
    const std::string key(list.item_key);
    for (auto& item : items)
        if (item.is_object() && item.contains(key) && item[key].is_string())
            item[key] = namespaced(upstream, item[key].get_ref<const std::string&>());
}

void namespace_notification(Message& notification, std::string_view upstream) {
    const auto& params = member(notification.json(), "params");
    if (!params.is_object()) return;
    if (notification.method() == "notifications/resources/updated") {
        if (const auto& uri = member(params, "uri"); uri.is_string())
            notification.mutable_json()["params"]["uri"] = namespaced(upstream, uri.get_ref<const std::string&>());
    } else if (notification.method() == "notifications/message") {
        const auto& logger = member(params, "logger");
        std::string tagged(upstream);
        if (logger.is_string() && !logger.get_ref<const std::string&>().empty())
            tagged += "/" + logger.get<std::string>();
        notification.mutable_json()["params"]["logger"] = tagged;
    }
}

std::string encode_cursor(const UpstreamCursors& cursors) {
    return std::string(cursor_version) + base64_encode(json(cursors).dump(), Base64Alphabet::url);
}

std::optional<UpstreamCursors> decode_cursor(std::string_view cursor) {
    if (!cursor.starts_with(cursor_version)) return std::nullopt;
    auto bytes = base64_decode(cursor.substr(cursor_version.size()), Base64Alphabet::url);
    if (!bytes) return std::nullopt;
    // A cursor comes from the client: nothing below the top level is kept, however deep it nests.
    json value = json::parse(
        *bytes, [](int depth, json::parse_event_t, json&) { return depth <= 1; }, false);
    if (!value.is_object() || value.empty()) return std::nullopt;
    UpstreamCursors cursors;
    for (auto it = value.begin(); it != value.end(); ++it) {
        if (!it.value().is_string()) return std::nullopt;
        cursors.emplace(it.key(), it.value().get<std::string>());
    }
    return cursors;
}

}  // namespace watchgate::core
