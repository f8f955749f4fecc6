#pragma once
// The MCP protocol versions the gateway speaks, and the era each belongs to.

#include <array>
#include <optional>
#include <string_view>

namespace watchgate::core {

// The session era (initialize, sessions, server->client requests) and the stateless era
// (2026-07-28: no handshake, _meta on every request).
enum class ProtocolEra { session, stateless };

// The session era's versions, oldest first; the last is the one the gateway offers when a client
// asks initialize for one it does not know.
inline constexpr std::array<std::string_view, 4> supported_protocol_versions = {"2024-11-05", "2025-03-26",
                                                                                "2025-06-18", "2025-11-25"};
inline constexpr std::string_view latest_protocol_version = supported_protocol_versions.back();
// The stateless era's versions: declared on every request in _meta.
inline constexpr std::array<std::string_view, 1> stateless_protocol_versions = {"2026-07-28"};
inline constexpr std::string_view latest_stateless_version = stateless_protocol_versions.back();

// A session-era version the gateway speaks (initialize).
bool is_supported_protocol_version(std::string_view version);
// A stateless-era version the gateway speaks (per-request _meta).
bool is_stateless_protocol_version(std::string_view version);
// The era of a version the gateway speaks, or nullopt for one it does not.
std::optional<ProtocolEra> protocol_era(std::string_view version);
// Every version the gateway speaks, newest first (server/discover, UnsupportedProtocolVersionError).
const std::array<std::string_view, 5>& all_protocol_versions();
const char* era_name(ProtocolEra era);

}  // namespace watchgate::core
