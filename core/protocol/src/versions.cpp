#include <watchgate/core/protocol/versions.hpp>

#include <algorithm>

namespace watchgate::core {

bool is_supported_protocol_version(std::string_view version) {
    return std::find(supported_protocol_versions.begin(), supported_protocol_versions.end(), version) !=
           supported_protocol_versions.end();
}

std::optional<ProtocolEra> protocol_era(std::string_view version) {
    if (version == "2026-07-28") return ProtocolEra::stateless;
    if (is_supported_protocol_version(version)) return ProtocolEra::session;
    return std::nullopt;
}

}  // namespace watchgate::core
