// "Did you mean ...?" for configuration errors: the known word nearest to a misspelt one. The
// gateway's config reader and the C++ plugin layer both use it, so both suggest alike.
#ifndef WATCHGATE_SUGGEST_HPP
#define WATCHGATE_SUGGEST_HPP

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

namespace watchgate {

// Edit distance counting insertions, deletions, substitutions and swaps of two neighbouring
// letters ("prot" is one edit from "port"): the typos people make.
inline std::size_t edit_distance(std::string_view a, std::string_view b) {
    std::vector<std::size_t> before(b.size() + 1), previous(b.size() + 1), row(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
        before.swap(previous);
        previous.swap(row);
        row[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j) {
            row[j] = std::min({previous[j] + 1, row[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0u : 1u)});
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                row[j] = std::min(row[j], before[j - 2] + 1);
        }
    }
    return row[b.size()];
}

// The candidate nearest to `word` when it is close enough (at most a third of the word wrong, and
// at least one edit allowed); the first on a tie; empty when none is.
inline std::string nearest(std::string_view word, const std::vector<std::string>& candidates) {
    std::string best;
    std::size_t best_distance = std::max<std::size_t>(2, word.size() / 3 + 1);
    for (const auto& candidate : candidates) {
        const std::size_t distance = edit_distance(word, candidate);
        if (distance < best_distance) {
            best_distance = distance;
            best = candidate;
        }
    }
    return best;
}

// "; did you mean 'x'?" for the nearest candidate, or empty.
inline std::string did_you_mean(std::string_view word, const std::vector<std::string>& candidates) {
    const std::string best = nearest(word, candidates);
    return best.empty() ? std::string() : "; did you mean '" + best + "'?";
}

}  // namespace watchgate

#endif  // WATCHGATE_SUGGEST_HPP
