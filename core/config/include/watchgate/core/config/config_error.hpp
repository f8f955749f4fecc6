#pragma once
// Errors found in a configuration file, each with the place it was found.

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

// The candidate closest to `word` by edit distance, or empty when none is close enough.
std::string nearest(std::string_view word, const std::vector<std::string>& candidates);
// "; did you mean 'x'?" or empty.
std::string did_you_mean(std::string_view word, const std::vector<std::string>& candidates);

}  // namespace watchgate::core
