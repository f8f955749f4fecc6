#pragma once
// `watchgate status`: what a running gateway's admin endpoint says (docs/operations.md), as a
// table a person reads.

#include <cstdint>
#include <string>

namespace watchgate::core {

// Asks http://host:port/readyz and /metrics and formats them. Throws std::runtime_error naming
// the address and why when the endpoint cannot be reached or answers something else.
std::string admin_status(const std::string& host, std::uint16_t port);

// The table alone, from a /metrics text and a /readyz answer (for tests).
std::string format_status(const std::string& metrics, unsigned ready_status, const std::string& ready_body);

}  // namespace watchgate::core
