#pragma once
// The engine shared by the built-in detection plugins (basic_pii_filter, basic_secrets_filter,
// basic_prompt_injection_defense): every enabled pattern of a plugin matched in one RE2 pass per
// string, candidates confirmed by validators, bounded decoding of encoded substrings, span merging
// for redaction, and the message handling the three share (action, metadata, block reasons).
// Like the plugins themselves it depends on the SDK, RE2 and the standard library only.

#include <watchgate/plugin.hpp>
#include <watchgate/redact.hpp>

#include <cstddef>
#include <functional>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

// JSON Schema pieces for the plugins' descriptors (string literals, so each plugin's schema is one
// constant): the options every detection plugin has, and the shape of a type-switch mapping.
#define WATCHGATE_DETECTION_COMMON_SCHEMA                                                 \
    "\"action\":{\"enum\":[\"block\",\"redact\",\"audit_only\"],\"default\":\"redact\"}," \
    "\"scan_base64\":{\"type\":\"boolean\",\"default\":false},"                           \
    "\"scan_keys\":{\"type\":\"boolean\",\"default\":false},"                             \
    "\"normalize_unicode\":{\"type\":\"boolean\",\"default\":true},"                      \
    "\"redaction_placeholder\":{\"type\":\"string\",\"default\":\"[REDACTED:{type}]\"}"
#define WATCHGATE_DETECTION_SWITCH_SCHEMA(names)                                                            \
    "{\"description\":\"type: {enabled: bool}, type: bool, or a list of the types to enable; types: " names \
    "\",\"type\":[\"object\",\"array\"]}"

namespace re2 {
class RE2;
}

namespace watchgate::detection {

// One detected span of a string, as byte offsets [begin, end). `type` names a static string.
struct Finding {
    const char* type = "";
    std::size_t begin = 0;
    std::size_t end = 0;
    const char* encoding = nullptr;  // set when found inside a decoded substring (the span is the substring)
};

// Confirms a candidate in its context and may narrow [begin, end); false drops it.
using Validator = bool (*)(std::string_view text, std::size_t& begin, std::size_t& end);

struct PatternSpec {
    const char* type;  // placeholder and metadata name, e.g. "EMAIL"
    std::string regex;
    Validator validate = nullptr;
    int capture = 0;             // the capture group that is the finding; 0 = the whole match
    bool longest_match = false;  // leftmost-longest, for alternations whose branches are prefixes of each other
};

// All patterns of a plugin. One RE2::Set pass tells which patterns occur in a string; only those
// are then searched for their spans, so a clean string costs one linear pass whatever the count.
class Scanner {
public:
    // Throws std::invalid_argument naming the pattern that does not compile.
    explicit Scanner(std::vector<PatternSpec> patterns);
    ~Scanner();
    Scanner(const Scanner&) = delete;
    Scanner& operator=(const Scanner&) = delete;

    void scan(std::string_view text, std::vector<Finding>& out) const;
    bool empty() const { return specs_.empty(); }

private:
    struct Set;
    void scan_pattern(std::size_t index, std::string_view text, std::vector<Finding>& out) const;

    std::vector<PatternSpec> specs_;
    std::vector<std::unique_ptr<re2::RE2>> regexes_;
    std::unique_ptr<Set> set_;
};

// The specs of the `patterns` that `keep` accepts, in their order (plugins list specific patterns
// before generic ones: on equal spans the first wins).
template <class Pattern, class Keep>
std::vector<PatternSpec> select_patterns(std::vector<Pattern> patterns, Keep&& keep) {
    std::vector<PatternSpec> selected;
    for (Pattern& pattern : patterns)
        if (keep(pattern)) selected.push_back(std::move(pattern.spec));
    return selected;
}

// ---- validators' building blocks ----

constexpr bool is_digit(char c) { return c >= '0' && c <= '9'; }
constexpr bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
constexpr bool is_alnum(char c) { return is_digit(c) || is_alpha(c); }
constexpr bool is_hex(char c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

// The digits of `text`, separators dropped.
std::string digits_of(std::string_view text);
bool luhn_valid(std::string_view digits);
// True when the number is glued to more digits by a separator ("1-555-..." or "...-12"), so the
// candidate is a piece of a longer number (order numbers, timestamps, serials).
bool glued_to_number(std::string_view text, std::size_t begin, std::size_t end);
// Case-insensitive: does one of `words` end within `window` bytes before `begin`?
bool preceded_by_word(std::string_view text, std::size_t begin, std::size_t window,
                      std::initializer_list<std::string_view> words);

// ---- folding for matching ----

// A string folded so that patterns see what a reader sees: invisible characters (zero-width,
// bidi controls, soft hyphens, variation selectors, tags) dropped, Unicode spaces made spaces,
// fullwidth, mathematical and enclosed letters made ASCII, and Cyrillic or Greek look-alikes in
// a word that also has Latin letters made Latin. `origin[i]` is where the character that gave
// byte i began in the input; `origin[text.size()]` is the input's size. Linear time.
struct FoldedText {
    std::string text;
    std::vector<std::uint32_t> origin;

    // The input's span for the folded span [begin, end).
    std::size_t input_begin(std::size_t begin) const { return origin[begin]; }
    std::size_t input_end(std::size_t end) const { return origin[end]; }
};
// nullopt when folding changes nothing (every pure-ASCII string).
std::optional<FoldedText> fold_for_matching(std::string_view text);

// ---- encodings ----

enum class Encoding { base64, hex, url };
const char* encoding_name(Encoding encoding);

// Calls `visit(begin, end, encoding, decoded)` for every substring of `text` that decodes, as
// base64, hex or URL-encoding, to readable text. Each byte is decoded at most once per encoding,
// so the cost stays linear in the input.
void for_each_encoded_run(std::string_view text,
                          const std::function<void(std::size_t, std::size_t, Encoding, std::string_view)>& visit);

// ---- redaction ----

// `text` with every finding replaced by `placeholder`, whose "{type}" becomes the finding's type.
// Overlapping findings merge into one span named after the one that starts first (the longest on
// a tie).
std::string redact(std::string_view text, const std::vector<Finding>& findings, std::string_view placeholder);

// ---- configuration shared by the plugins ----

enum class Action { block, redact, audit_only };

struct TypeSwitch {
    const char* name;  // config key, e.g. "email"
    bool enabled_by_default = true;
};

// Reads a type switch mapping such as `pii_types: {email: {enabled: false}, phone: false}` or a
// list of the types to enable (`pii_types: [email, phone]`). Returns the enabled names; unknown
// names and wrong shapes are reported against their JSON pointer.
std::vector<std::string> read_type_switches(Config& config, std::string_view key, std::string_view what,
                                            const std::vector<TypeSwitch>& switches);
bool contains(const std::vector<std::string>& names, std::string_view name);

// ---- the plugin ----

// A security plugin that scans every string value of requests, notifications and responses and
// blocks, redacts or records what its scanner finds. Derived plugins supply the scanner (and may
// extend `find`).
class DetectionPlugin : public Plugin {
public:
    void on_request(Message& message, RequestState* state) override;
    void on_response(Message& message, RequestState* state) override;
    void on_notification(Message& message, RequestState* state) override;

    // Every finding in one string, decoded substrings included when scan_base64 is on
    // (encoded findings come back in `encoded`, spanning the whole encoded substring).
    void find_all(std::string_view text, std::vector<Finding>& plain, std::vector<Finding>& encoded) const;

protected:
    // Reads the options every detection plugin has: action, scan_base64, redaction_placeholder,
    // scan_keys. `subject` names what is detected in block reasons ("PII", "secrets").
    DetectionPlugin(Config& config, const char* subject);

    // Plain findings in one string: the scanner's by default, in the string and (normalize_unicode)
    // in its folded form, mapped back to the string.
    virtual void find(std::string_view text, std::vector<Finding>& out) const;
    // Compiles the patterns; a pattern that does not compile is a config error at `/`.
    void set_patterns(Config& config, std::vector<PatternSpec> patterns);
    const Scanner* scanner() const { return scanner_.get(); }

private:
    void inspect(Message& message);

    const char* subject_;
    Action action_ = Action::redact;
    bool scan_base64_ = false;
    bool scan_keys_ = false;
    bool fold_ = true;  // normalize_unicode: also match the folded text (fold_for_matching)
    std::string placeholder_;
    std::unique_ptr<Scanner> scanner_;
};

}  // namespace watchgate::detection
