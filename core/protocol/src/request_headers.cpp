#include <watchgate/core/protocol/request_headers.hpp>

#include <watchgate/core/base/base64.hpp>
#include <watchgate/core/protocol/message.hpp>
#include <watchgate/core/protocol/stateless_meta.hpp>

#include <algorithm>

namespace watchgate::core {

using nlohmann::json;

namespace {

constexpr std::string_view sentinel_start = "=?base64?";
constexpr std::string_view sentinel_end = "?=";

bool looks_encoded(std::string_view value) {
    return value.size() >= sentinel_start.size() + sentinel_end.size() && value.starts_with(sentinel_start) &&
           value.ends_with(sentinel_end);
}

}  // namespace

std::optional<std::string> mirrored_name(const json& request) {
    const auto& method = member(request, "method");
    const char* field = method == "tools/call" || method == "prompts/get" ? "name"
                        : method == "resources/read"                      ? "uri"
                                                                          : nullptr;
    if (!field) return std::nullopt;
    const auto& value = member(member(request, "params"), field);
    if (!value.is_string()) return std::nullopt;
    return value.get<std::string>();
}

std::string encode_header_value(std::string_view value) {
    const bool plain =
        !value.empty() && value.front() != ' ' && value.back() != ' ' && !looks_encoded(value) &&
        std::all_of(value.begin(), value.end(), [](char c) { return c == ' ' || (c >= 0x21 && c <= 0x7E); });
    if (plain) return std::string(value);
    return std::string(sentinel_start) + base64_encode(value) + std::string(sentinel_end);
}

std::optional<std::string> decode_header_value(std::string_view value) {
    if (!looks_encoded(value)) return std::string(value);
    return base64_decode(
        value.substr(sentinel_start.size(), value.size() - sentinel_start.size() - sentinel_end.size()));
}

std::string header_mismatch(std::string_view version, std::string_view method, std::string_view name,
                            const json& request) {
    const auto& declared = declared_protocol_version(request);
    if (version.empty()) return "Header mismatch: the MCP-Protocol-Version header is missing";
    if (!declared.is_string() || declared.get_ref<const std::string&>() != version)
        return "Header mismatch: MCP-Protocol-Version header value '" + std::string(version) +
               "' does not match body value " + dump_json(declared);
    const auto& body_method = member(request, "method");
    if (method.empty()) return "Header mismatch: the Mcp-Method header is missing";
    if (body_method != method)
        return "Header mismatch: Mcp-Method header value '" + std::string(method) + "' does not match body value " +
               dump_json(body_method);
    if (auto expected = mirrored_name(request)) {
        if (name.empty()) return "Header mismatch: the Mcp-Name header is missing (" + std::string(method) + ")";
        auto decoded = decode_header_value(name);
        if (!decoded) return "Header mismatch: the Mcp-Name header's =?base64?...?= value is not valid Base64";
        if (*decoded != *expected)
            return "Header mismatch: Mcp-Name header value '" + std::string(name) + "' does not match body value " +
                   dump_json(*expected);
    }
    return {};
}

}  // namespace watchgate::core
