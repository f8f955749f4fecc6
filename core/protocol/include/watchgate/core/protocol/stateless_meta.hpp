#pragma once
// The stateless era's (2026-07-28) per-message fields: what a request declares in params._meta
// (protocol version, client info, capabilities, log level), what a result carries (resultType,
// ttlMs/cacheScope, serverInfo), and the errors of the era. docs/routing.md ("Eras") says how the
// gateway bridges them to the session era.

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>

namespace watchgate::core {

namespace meta_key {
inline constexpr std::string_view protocol_version = "io.modelcontextprotocol/protocolVersion";
inline constexpr std::string_view client_info = "io.modelcontextprotocol/clientInfo";
inline constexpr std::string_view client_capabilities = "io.modelcontextprotocol/clientCapabilities";
inline constexpr std::string_view log_level = "io.modelcontextprotocol/logLevel";
inline constexpr std::string_view server_info = "io.modelcontextprotocol/serverInfo";
inline constexpr std::string_view subscription_id = "io.modelcontextprotocol/subscriptionId";
}  // namespace meta_key

namespace error_code {
inline constexpr int header_mismatch = -32020;
inline constexpr int missing_client_capability = -32021;
inline constexpr int unsupported_protocol_version = -32022;
}  // namespace error_code

// The protocol version a request declares in params._meta (a stateless-era request), or null
// when it declares none (a session-era request). Not necessarily a string: the caller checks.
const nlohmann::json& declared_protocol_version(const nlohmann::json& request);
// A member of the request's params._meta, or null.
const nlohmann::json& request_meta(const nlohmann::json& request, std::string_view key);

// Removes the stateless era's request keys from params._meta (for a session-era upstream), and
// _meta itself when nothing else was in it.
void remove_stateless_request_meta(nlohmann::json& request);
// Sets them (for a stateless upstream). Null `client_info` or `log_level` leave those out.
void set_stateless_request_meta(nlohmann::json& request, std::string_view version, const nlohmann::json& client_info,
                                const nlohmann::json& capabilities, const nlohmann::json& log_level);

// Whether `method`'s result is cacheable in the stateless era (ttlMs and cacheScope required).
bool has_cacheable_result(std::string_view method);
// Makes a result (of `method`) one of the stateless era: resultType "complete" unless it has one,
// ttlMs/cacheScope on cacheable results that lack them (0 ms, "private": the gateway's lists
// change with its plugins and upstreams), and the gateway's serverInfo in _meta.
void complete_stateless_result(nlohmann::json& response, std::string_view method);

// UnsupportedProtocolVersionError: the versions the gateway speaks and the one asked for.
nlohmann::json unsupported_version_error(const nlohmann::json& id, const nlohmann::json& requested);

}  // namespace watchgate::core
