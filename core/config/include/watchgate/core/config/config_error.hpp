#pragma once
// Errors found in a configuration file, each with the place it was found.

#include <watchgate/suggest.hpp>

#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace watchgate::core {

struct SourceLocation {
    std::string file;
    int line = 0;    // 1-based; 0 when unknown
    int column = 0;  // 1-based
};

struct ConfigError {
    SourceLocation where;
    std::string message;
    // "file:line:column: message"
    std::string format() const;
};

struct GatewayConfig;

// Thrown with every error found, not only the first.
struct ConfigErrors : std::runtime_error {
    explicit ConfigErrors(std::vector<ConfigError> found, std::shared_ptr<const GatewayConfig> read_so_far = nullptr);
    std::vector<ConfigError> errors;
    // What could be read despite the errors (null when the file could not be read as YAML), so
    // plugin configs can be checked too and every error reported at once.
    std::shared_ptr<const GatewayConfig> partial;
};

// The SDK's suggestions, so the gateway and plugins suggest alike.
using watchgate::did_you_mean;
using watchgate::nearest;

}  // namespace watchgate::core
