#pragma once
// Errors found in a configuration file, each with the place it was found.

#include <watchgate/suggest.hpp>

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

// Thrown with every error found, not only the first.
struct ConfigErrors : std::runtime_error {
    explicit ConfigErrors(std::vector<ConfigError> found);
    std::vector<ConfigError> errors;
};

// The SDK's suggestions, so the gateway and plugins suggest alike.
using watchgate::did_you_mean;
using watchgate::nearest;

}  // namespace watchgate::core
