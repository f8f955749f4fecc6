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

std::size_t edit_distance(std::string_view a, std::string_view b) {
    std::vector<std::size_t> row(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
        std::size_t diagonal = row[0];
        row[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j) {
            std::size_t above = row[j];
            row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0u : 1u)});
            diagonal = above;
        }
    }
    return row[b.size()];
}

}  // namespace

std::string ConfigError::format() const {
    std::string text = where.file;
    if (where.line > 0) text += ":" + std::to_string(where.line) + ":" + std::to_string(where.column);
    return text + ": " + message;
}

ConfigErrors::ConfigErrors(std::vector<ConfigError> found)
    : std::runtime_error(join_errors(found)), errors(std::move(found)) {}

std::string nearest(std::string_view word, const std::vector<std::string>& candidates) {
    std::string best;
    // Close enough: at most a third of the word wrong (and at least one edit allowed).
    std::size_t best_distance = std::max<std::size_t>(2, word.size() / 3 + 1);
    for (const auto& candidate : candidates) {
        std::size_t distance = edit_distance(word, candidate);
        if (distance < best_distance) {
            best_distance = distance;
            best = candidate;
        }
    }
    return best;
}

std::string did_you_mean(std::string_view word, const std::vector<std::string>& candidates) {
    std::string best = nearest(word, candidates);
    return best.empty() ? std::string() : "; did you mean '" + best + "'?";
}

}  // namespace watchgate::core
