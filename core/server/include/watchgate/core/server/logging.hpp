#pragma once
// The gateway's log: spdlog set up from `logging:` (stderr and/or a rotating file).

#include <watchgate/core/config/config.hpp>

namespace watchgate::core {

// Verbosity > 0 lowers the level (1: debug, 2: trace).
void configure_logging(const LoggingConfig& logging, int verbosity);

}  // namespace watchgate::core
