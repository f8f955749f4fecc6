#include <watchgate/core/protocol/versions.hpp>

#include <algorithm>

namespace watchgate::core {

bool is_supported_protocol_version(std::string_view version) {
    return std::find(supported_protocol_versions.begin(), supported_protocol_versions.end(), version) !=
           supported_protocol_versions.end();
}

bool is_stateless_protocol_version(std::string_view version) {
    return std::find(stateless_protocol_versions.begin(), stateless_protocol_versions.end(), version) !=
           stateless_protocol_versions.end();
}

std::optional<ProtocolEra> protocol_era(std::string_view version) {
    if (is_stateless_protocol_version(version)) return ProtocolEra::stateless;
    if (is_supported_protocol_version(version)) return ProtocolEra::session;
    return std::nullopt;
}

const std::array<std::string_view, 5>& all_protocol_versions() {
    static const std::array<std::string_view, 5> all = [] {
        std::array<std::string_view, 5> out{};
        auto end = std::copy(stateless_protocol_versions.rbegin(), stateless_protocol_versions.rend(), out.begin());
        std::copy(supported_protocol_versions.rbegin(), supported_protocol_versions.rend(), end);
        return out;
    }();
    return all;
}

const char* era_name(ProtocolEra era) { return era == ProtocolEra::stateless ? "stateless" : "session"; }

}  // namespace watchgate::core
