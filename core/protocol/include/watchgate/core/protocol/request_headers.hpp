#pragma once
// The stateless era's request headers over Streamable HTTP (2026-07-28): MCP-Protocol-Version,
// Mcp-Method and Mcp-Name mirror the body, so intermediaries can route without parsing it; a
// server refuses a request whose headers and body disagree (HeaderMismatch, -32020).

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace watchgate::core {

inline constexpr std::string_view method_header = "Mcp-Method";
inline constexpr std::string_view name_header = "Mcp-Name";

// The value Mcp-Name mirrors: params.name of tools/call and prompts/get, params.uri of
// resources/read; nullopt for other methods (or when the field is not a string).
std::optional<std::string> mirrored_name(const nlohmann::json& request);
// A header value as sent: plain when it is visible ASCII without surrounding spaces and does not
// look encoded, else `=?base64?...?=`.
std::string encode_header_value(std::string_view value);
// What a header value stands for: the sentinel form decoded; nullopt when it is malformed.
std::optional<std::string> decode_header_value(std::string_view value);
// Why the headers of a stateless request do not agree with its body (the message of a
// HeaderMismatch error), or empty when they do. Absent headers are given as empty.
std::string header_mismatch(std::string_view version, std::string_view method, std::string_view name,
                            const nlohmann::json& request);

}  // namespace watchgate::core
