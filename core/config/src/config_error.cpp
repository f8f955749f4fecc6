#include <watchgate/core/config/config_error.hpp>

#include <algorithm>

namespace watchgate::core {

namespace {

std::string join_errors(const std::vector<ConfigError>& errors) {
    std::string text;
    for (const auto& error : errors) {
        if (!text.empty()) text += '\n';
        text += error.format();
    }
    return text;
}

}  // namespace

std::string ConfigError::format() const {
    std::string text = where.file;
    if (where.line > 0) text += ":" + std::to_string(where.line) + ":" + std::to_string(where.column);
    return text + ": " + message;
}

ConfigErrors::ConfigErrors(std::vector<ConfigError> found, std::shared_ptr<const GatewayConfig> read_so_far)
    : std::runtime_error(join_errors(found)), errors(std::move(found)), partial(std::move(read_so_far)) {}

}  // namespace watchgate::core
