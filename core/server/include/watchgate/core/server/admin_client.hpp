#pragma once
// Talking to a running gateway's admin endpoint (docs/operations.md): where it is, and one
// request to it (`watchgate status`, `watchgate reload`).

#include <watchgate/core/config/config.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <utility>

namespace watchgate::core {

struct AdminAddress {
    std::string host;
    std::uint16_t port = 0;
    std::string text() const { return host + ":" + std::to_string(port); }
};

// Where this machine reaches the endpoint `config` declares (a wildcard address means the
// loopback one); nullopt without `admin:` or with port 0 (chosen at start, known only to the log).
std::optional<AdminAddress> admin_address(const GatewayConfig& config);

// One request (`method` GET or POST, no body): the status and the body. Throws
// boost::system::system_error when the endpoint cannot be reached or answers no HTTP.
std::pair<unsigned, std::string> admin_request(const AdminAddress& address, const std::string& method,
                                               const std::string& target);

}  // namespace watchgate::core
