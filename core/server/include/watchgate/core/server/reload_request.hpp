#pragma once
// `watchgate reload`: asks the running gateway to read its configuration again
// (docs/operations.md "Reload"), through its admin endpoint when it has one (the answer says what
// changed, or the errors that kept the old configuration), else by SIGHUP to the pid in its
// pid_file (the outcome is in its log).

#include <watchgate/core/config/config.hpp>

#include <filesystem>
#include <optional>
#include <ostream>

namespace watchgate::core {

// Returns the exit status: 0 reloaded (or signalled), 1 refused or unreachable, 2 no way to
// reach the gateway. `pid_file` overrides the configuration's.
int request_reload(const GatewayConfig& config, const std::optional<std::filesystem::path>& pid_file, std::ostream& out,
                   std::ostream& err);

}  // namespace watchgate::core
