// One RE2 pass per string over all patterns, then a span search for the patterns that occurred.
#include "detection.hpp"

#include <re2/re2.h>
#include <re2/set.h>

#include <algorithm>
#include <array>
#include <stdexcept>

namespace watchgate::detection {

namespace {

// Large enough that the DFA of a plugin's whole pattern set stays cached for big inputs; when it
// does run out, Scanner::scan falls back to searching every pattern on its own (still linear).
constexpr int64_t set_memory_budget = 64 << 20;
constexpr int64_t pattern_memory_budget = 16 << 20;
constexpr int max_capture = 3;

RE2::Options pattern_options(bool longest_match) {
    RE2::Options options;
    options.set_log_errors(false);
    options.set_max_mem(pattern_memory_budget);
    options.set_longest_match(longest_match);
    return options;
}

}  // namespace

struct Scanner::Set {
    Set() : set(options(), RE2::UNANCHORED) {}
    static RE2::Options options() {
        RE2::Options options;
        options.set_log_errors(false);
        options.set_max_mem(set_memory_budget);
        return options;
    }
    RE2::Set set;
};

Scanner::Scanner(std::vector<PatternSpec> patterns) : specs_(std::move(patterns)), set_(std::make_unique<Set>()) {
    for (const PatternSpec& spec : specs_) {
        auto regex = std::make_unique<RE2>(spec.regex, pattern_options(spec.longest_match));
        if (!regex->ok()) throw std::invalid_argument(std::string("pattern for ") + spec.type + ": " + regex->error());
        if (spec.capture < 0 || spec.capture > max_capture || spec.capture > regex->NumberOfCapturingGroups())
            throw std::invalid_argument(std::string("pattern for ") + spec.type + ": no such capture group");
        std::string error;
        if (set_->set.Add(spec.regex, &error) < 0)
            throw std::invalid_argument(std::string("pattern for ") + spec.type + ": " + error);
        regexes_.push_back(std::move(regex));
    }
    if (!set_->set.Compile()) throw std::invalid_argument("the pattern set does not compile (too large)");
}

Scanner::~Scanner() = default;

void Scanner::scan(std::string_view text, std::vector<Finding>& out) const {
    if (text.empty() || specs_.empty()) return;
    std::vector<int> present;
    RE2::Set::ErrorInfo error{};
    if (!set_->set.Match(re2::StringPiece(text.data(), text.size()), &present, &error)) {
        if (error.kind == RE2::Set::kNoError) return;
        // The set's DFA gave up (memory budget): never let that pass as clean.
        present.clear();
        for (std::size_t i = 0; i < specs_.size(); ++i) present.push_back(static_cast<int>(i));
    }
    std::sort(present.begin(), present.end());
    for (int index : present) scan_pattern(static_cast<std::size_t>(index), text, out);
}

void Scanner::scan_pattern(std::size_t index, std::string_view text, std::vector<Finding>& out) const {
    const PatternSpec& spec = specs_[index];
    const RE2& regex = *regexes_[index];
    const re2::StringPiece input(text.data(), text.size());
    std::array<re2::StringPiece, max_capture + 1> groups;
    const int group_count = spec.capture + 1;
    std::size_t position = 0;
    while (position < text.size() &&
           regex.Match(input, position, text.size(), RE2::UNANCHORED, groups.data(), group_count)) {
        const std::size_t match_begin = static_cast<std::size_t>(groups[0].data() - text.data());
        const std::size_t match_end = match_begin + groups[0].size();
        const re2::StringPiece& wanted = groups[static_cast<std::size_t>(spec.capture)];
        if (wanted.data() != nullptr) {
            std::size_t begin = static_cast<std::size_t>(wanted.data() - text.data());
            std::size_t end = begin + wanted.size();
            if ((!spec.validate || spec.validate(text, begin, end)) && end > begin)
                out.push_back(Finding{spec.type, begin, end});
        }
        // Matches of one pattern never overlap, so each byte is searched once per pattern.
        position = std::max(match_end, match_begin + 1);
    }
}

// ---- validators' building blocks ----

std::string digits_of(std::string_view text) {
    std::string digits;
    for (char c : text)
        if (is_digit(c)) digits += c;
    return digits;
}

bool luhn_valid(std::string_view digits) {
    int sum = 0;
    bool doubled = false;
    for (auto it = digits.rbegin(); it != digits.rend(); ++it) {
        int digit = *it - '0';
        if (doubled) digit = digit * 2 > 9 ? digit * 2 - 9 : digit * 2;
        sum += digit;
        doubled = !doubled;
    }
    return !digits.empty() && sum % 10 == 0;
}

bool glued_to_number(std::string_view text, std::size_t begin, std::size_t end) {
    // A label before a value ("card:4111...", "SSN:078-05-1120") is not glue; a code is ("ORD-555-...").
    auto joiner = [](char c) { return c == '-' || c == '.' || c == '/'; };
    if (begin > 0 && is_alnum(text[begin - 1])) return true;
    if (begin >= 2 && joiner(text[begin - 1]) && is_alnum(text[begin - 2])) return true;
    if (end < text.size() && is_alnum(text[end])) return true;
    if (end + 1 < text.size() && (joiner(text[end]) || text[end] == ':') && is_digit(text[end + 1])) return true;
    return false;
}

bool preceded_by_word(std::string_view text, std::size_t begin, std::size_t window,
                      std::initializer_list<std::string_view> words) {
    const std::size_t from = begin > window ? begin - window : 0;
    std::string before(text.substr(from, begin - from));
    for (char& c : before) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    for (std::string_view word : words) {
        const std::size_t at = before.rfind(word);
        if (at == std::string::npos) continue;
        // A whole word only: "id" must not match inside "valid".
        if (at > 0 && is_alnum(before[at - 1])) continue;
        // And the last word before the value, give or take "number"/"no": in "order 12, call
        // 555-..." the number belongs to "call", not to "order".
        std::string between = before.substr(at + word.size());
        for (std::string_view filler : {"number", "num", "no", "nr", "id"}) {
            for (std::size_t f = between.find(filler); f != std::string::npos; f = between.find(filler))
                between.erase(f, filler.size());
        }
        if (std::none_of(between.begin(), between.end(), is_alpha)) return true;
    }
    return false;
}

}  // namespace watchgate::detection
