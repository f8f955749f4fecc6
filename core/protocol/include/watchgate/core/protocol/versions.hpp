#pragma once
// The MCP protocol versions the gateway speaks, and the era each belongs to.

#include <array>
#include <optional>
#include <string_view>

namespace watchgate::core {

// The session era (initialize, sessions, server->client requests) and the stateless era
// (2026-07-28: no handshake, _meta on every request).
enum class ProtocolEra { session, stateless };

// Oldest first; the last is the one the gateway offers when a client asks for one it does not know.
inline constexpr std::array<std::string_view, 4> supported_protocol_versions = {"2024-11-05", "2025-03-26",
                                                                                "2025-06-18", "2025-11-25"};
inline constexpr std::string_view latest_protocol_version = supported_protocol_versions.back();

bool is_supported_protocol_version(std::string_view version);
// The era of a version the gateway knows of (supported or not), or nullopt for an unknown one.
std::optional<ProtocolEra> protocol_era(std::string_view version);

}  // namespace watchgate::core
