// basic_secrets_filter: finds credentials (cloud and SaaS tokens, JWTs, private key blocks,
// password assignments, optionally any high-entropy token) in every string of a message and
// blocks, redacts or records them.
#include "detection.hpp"

#include <re2/re2.h>

#include <cmath>

using namespace watchgate;
using namespace watchgate::detection;

namespace {

bool is_token_char(char c) { return is_alnum(c) || c == '_' || c == '-'; }

// Documentation placeholders (sk_test_XXXXXXXXXXXXXXXX, ghp_000000...) repeat one character.
bool placeholder_run(std::string_view token) {
    std::size_t run = 1;
    for (std::size_t i = 1; i < token.size(); ++i) {
        run = token[i] == token[i - 1] ? run + 1 : 1;
        if (run >= 12) return true;
    }
    return false;
}

// Prefixed tokens: the match must be the whole token, not a piece of a longer word.
bool whole_token(std::string_view text, std::size_t& begin, std::size_t& end) {
    return (begin == 0 || !is_token_char(text[begin - 1])) && (end == text.size() || !is_token_char(text[end])) &&
           !placeholder_run(text.substr(begin, end - begin));
}

// The pattern matched a PEM header; the block runs over its base64 body (and Proc-Type lines) to
// the footer. Single dashes are body, five start a footer or the next header: each byte is looked
// at once, so many headers in a row stay linear.
bool extend_private_key(std::string_view text, std::size_t&, std::size_t& end) {
    std::size_t at = end;
    while (at < text.size()) {
        char c = text[at];
        if (c == '-' && text.substr(at, 5) == "-----") break;
        const bool body = is_alnum(c) || c == '+' || c == '/' || c == '=' || c == ' ' || c == '\n' || c == '\r' ||
                          c == '\t' || c == '\\' || c == ':' || c == ',' || c == '-';
        if (!body) break;
        ++at;
    }
    if (text.substr(at, 8) == "-----END") {
        const std::size_t close = text.find("-----", at + 8);
        if (close != std::string_view::npos && close - at < 64) at = close + 5;
    }
    while (at > end && (text[at - 1] == ' ' || text[at - 1] == '\n' || text[at - 1] == '\r')) --at;
    end = at;
    return true;
}

bool has_mixed_characters(std::string_view value) {
    bool lower = false, upper = false, digit = false, other = false;
    for (char c : value) {
        lower = lower || (c >= 'a' && c <= 'z');
        upper = upper || (c >= 'A' && c <= 'Z');
        digit = digit || is_digit(c);
        other = other || !is_alnum(c);
    }
    return (lower && upper) || digit || other;
}

// The value of `password = ...`-style assignments: placeholders, variable references, code and
// plain words are not secrets.
bool valid_assigned_secret(std::string_view text, std::size_t& begin, std::size_t& end) {
    std::string_view value = text.substr(begin, end - begin);
    while (!value.empty() && (value.back() == '.' || value.back() == ')' || value.back() == '}')) {
        value.remove_suffix(1);
        --end;
    }
    if (value.size() < 6) return false;
    const char first = value.front();
    // Templates, masks and paths (pwd: /home/user).
    if (first == '$' || first == '{' || first == '<' || first == '%' || first == '*' || first == '[' || first == '(' ||
        first == '/' || first == '~' || first == '.')
        return false;
    if (value.find('(') != std::string_view::npos || value.find("REDACTED") != std::string_view::npos) return false;
    if (std::all_of(value.begin(), value.end(), [&](char c) { return c == value.front(); })) return false;
    std::string lower(value);
    for (char& c : lower) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    static const char* const placeholders[] = {
        "password", "changeme",    "example", "undefined", "required", "optional",   "string", "xxxx",
        "redacted", "placeholder", "your_",   "your-",     "yourapi",  "secret",     "none",   "null",
        "true",     "false",       "hidden",  "env.",      "process.", "os.environ", "dummy",  "sample",
        "fake",     "insert",      "replace", "enter_",    "enter-",   "todo",       "tbd"};
    for (const char* word : placeholders)
        if (lower.rfind(word, 0) == 0) return false;
    // A dotted identifier (config.password, self.token) is code, not a value.
    bool identifier =
        std::all_of(value.begin(), value.end(), [](char c) { return is_alnum(c) || c == '_' || c == '.'; });
    if (identifier && value.find('.') != std::string_view::npos && !is_digit(value.back())) return false;
    return value.size() >= 12 || has_mixed_characters(value);
}

// The password of a URL's user info (scheme://user:password@host): any value but a template.
bool valid_url_password(std::string_view text, std::size_t& begin, std::size_t& end) {
    const char first = text[begin];
    std::string_view value = text.substr(begin, end - begin);
    return first != '$' && first != '{' && first != '<' && first != '%' && first != '*' && first != '[' &&
           value.find("REDACTED") == std::string_view::npos;
}

bool valid_bearer(std::string_view text, std::size_t& begin, std::size_t& end) {
    return has_mixed_characters(text.substr(begin, end - begin)) && whole_token(text, begin, end);
}

struct SecretPattern {
    const char* key;  // secret_types switch
    PatternSpec spec;
};

std::vector<SecretPattern> secret_patterns() {
    return {
        {"aws_access_keys",
         {"AWS_ACCESS_KEY_ID", R"(\b(?:AKIA|ASIA|ABIA|ACCA|A3T[A-Z0-9])[A-Z0-9]{16}\b)", whole_token}},
        {"aws_secret_keys",
         {"AWS_SECRET_ACCESS_KEY",
          R"((?i)aws_?secret_?(?:access_?)?key['"]?\s{0,3}(?:[:=]|=>)\s{0,3}['"]?([A-Za-z0-9/+]{40})(?:[^A-Za-z0-9/+=]|$))",
          nullptr, 1}},
        {"github_tokens",
         {"GITHUB_TOKEN", R"(\bgh[pousr]_[A-Za-z0-9]{36,255}\b|\bgithub_pat_[A-Za-z0-9_]{50,255})", whole_token}},
        {"gitlab_tokens",
         {"GITLAB_TOKEN",
          R"(\b(?:glpat|gldt|glrt|glptt|glsoat|glcbt|glft|glimt|glagent|gloas)-[A-Za-z0-9_-]{20,64}|\bGR1348941[A-Za-z0-9_-]{20,64})",
          whole_token}},
        {"slack_tokens",
         {"SLACK_TOKEN",
          R"(\bxox[abposre]-[A-Za-z0-9-]{10,250}|\bxapp-\d-[A-Z0-9]{8,32}-\d{6,16}-[a-z0-9]{32,80})"
          R"(|https://hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9/_-]{20,200})",
          whole_token}},
        {"stripe_keys",
         {"STRIPE_KEY", R"(\b(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,247}\b|\bwhsec_[A-Za-z0-9]{24,64}\b)",
          whole_token}},
        {"google_api_keys",
         {"GOOGLE_API_KEY", R"(\bAIza[0-9A-Za-z_-]{35}|\bGOCSPX-[A-Za-z0-9_-]{28}|\bya29\.[0-9A-Za-z_-]{20,512})",
          whole_token}},
        {"openai_api_keys",
         {"OPENAI_API_KEY",
          R"(\bsk-(?:proj|svcacct|admin)-[A-Za-z0-9_-]{20,250}|\bsk-[A-Za-z0-9]{20}T3BlbkFJ[A-Za-z0-9]{20}|\bsk-[A-Za-z0-9]{48})",
          whole_token}},
        {"anthropic_api_keys",
         {"ANTHROPIC_API_KEY", R"(\bsk-ant-(?:api|admin|oat|ort)\d{2}-[A-Za-z0-9_-]{20,250})", whole_token}},
        {"npm_tokens", {"NPM_TOKEN", R"(\bnpm_[A-Za-z0-9]{36}\b)", whole_token}},
        {"pypi_tokens", {"PYPI_TOKEN", R"(\bpypi-AgEIcHlwaS5vcmc[A-Za-z0-9_-]{50,})", whole_token}},
        {"sendgrid_keys", {"SENDGRID_KEY", R"(\bSG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43})", whole_token}},
        {"huggingface_tokens", {"HUGGINGFACE_TOKEN", R"(\bhf_[A-Za-z0-9]{34,40}\b)", whole_token}},
        {"digitalocean_tokens", {"DIGITALOCEAN_TOKEN", R"(\bdo[por]_v1_[a-f0-9]{64}\b)", whole_token}},
        {"shopify_tokens", {"SHOPIFY_TOKEN", R"(\bshp(?:at|ca|pa|ss)_[a-fA-F0-9]{32}\b)", whole_token}},
        {"jwt_tokens", {"JWT", R"(\beyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*)", whole_token}},
        {"ssh_private_keys",
         {"PRIVATE_KEY", R"(-----BEGIN (?:RSA|DSA|EC|OPENSSH|PGP|SSH2 ENCRYPTED) PRIVATE KEY(?: BLOCK)?-----)",
          extend_private_key}},
        {"private_keys", {"PRIVATE_KEY", R"(-----BEGIN (?:ENCRYPTED )?PRIVATE KEY-----)", extend_private_key}},
        // A PEM private key wrapped in base64 (Kubernetes secrets, env variables): the encodings of
        // "-----BEGIN <type> PRIVATE KEY", then the rest of the run.
        {"private_keys",
         {"PRIVATE_KEY",
          R"(\bLS0tLS1CRUdJTiB(?:SU0EgUFJJVkFURSBLRVk|EU0EgUFJJVkFURSBLRVk|FQyBQUklWQVRFIEtFWS|QUklWQVRFIEtFWS|)"
          R"(PUEVOU1NIIFBSSVZBVEUgS0VZ|FTkNSWVBURUQgUFJJVkFURSBLRVk|QR1AgUFJJVkFURSBLRVkgQkxPQ0s)[A-Za-z0-9+/]*={0,2})"}},
        {"azure_keys", {"AZURE_STORAGE_KEY", R"((?i)\bAccountKey\s{0,2}=\s{0,2}([A-Za-z0-9+/]{86}==))", nullptr, 1}},
        {"azure_keys", {"AZURE_KEY", R"((?i)\bSharedAccessKey\s{0,2}=\s{0,2}([A-Za-z0-9+/]{42,44}=))", nullptr, 1}},
        {"azure_keys", {"AZURE_KEY", R"([?&]sig=([A-Za-z0-9%+/]{40,120}))", nullptr, 1}},
        {"generic_secrets",
         {"GENERIC_SECRET",
          R"((?i)(?:password|passwd|pwd|passphrase|\bpass|_pass|secret|api[_-]?key|apikey|access[_-]?token|auth[_-]?token)"
          R"(|client[_-]?secret|private[_-]?key|secret[_-]?key|token|credentials?)(?:\\?['"])?\s{0,3}(?::=|=>|[:=]))"
          R"(\s{0,3}(?:\\?['"])?([^\s"'\\,;]{6,128}))",
          valid_assigned_secret, 1}},
        {"generic_secrets", {"GENERIC_SECRET", R"((?i)\bbearer\s{1,3}([A-Za-z0-9._~+/-]{20,}=*))", valid_bearer, 1}},
        {"generic_secrets",
         {"GENERIC_SECRET", R"(\b[a-zA-Z][a-zA-Z0-9+.-]{1,20}://[^\s:@/]{0,64}:([^\s:@/]{3,128})@)", valid_url_password,
          1}},
        {"generic_secrets",
         {"GENERIC_SECRET", R"((?i)authorization['"]?\s{0,3}[:=]\s{0,3}['"]?basic\s{1,3}([A-Za-z0-9+/]{8,}={0,2}))",
          valid_bearer, 1}},
    };
}

const std::vector<TypeSwitch> secret_switches = {
    {"aws_access_keys"}, {"aws_secret_keys"},  {"github_tokens"},      {"gitlab_tokens"},       {"slack_tokens"},
    {"stripe_keys"},     {"google_api_keys"},  {"openai_api_keys"},    {"anthropic_api_keys"},  {"npm_tokens"},
    {"pypi_tokens"},     {"sendgrid_keys"},    {"huggingface_tokens"}, {"digitalocean_tokens"}, {"shopify_tokens"},
    {"jwt_tokens"},      {"ssh_private_keys"}, {"private_keys"},       {"azure_keys"},          {"generic_secrets"}};

// Shannon entropy in bits per character.
double entropy(std::string_view token) {
    int counts[256] = {};
    for (char c : token) ++counts[static_cast<unsigned char>(c)];
    double bits = 0;
    for (int count : counts) {
        if (count == 0) continue;
        const double p = static_cast<double>(count) / static_cast<double>(token.size());
        bits -= p * std::log2(p);
    }
    return bits;
}

class BasicSecretsFilter : public DetectionPlugin {
public:
    static constexpr PluginInfo info{"basic_secrets_filter", "0.1.0",
                                     "Blocks, redacts or records credentials: cloud and SaaS tokens, JWTs, private "
                                     "keys, password assignments",
                                     kind_security, thread_safe,
                                     "{\"type\":\"object\",\"additionalProperties\":false,\"properties\":{"
                                     WATCHGATE_DETECTION_COMMON_SCHEMA ",\"secret_types\":"
                                     WATCHGATE_DETECTION_SWITCH_SCHEMA(
                                         "aws_access_keys, aws_secret_keys, github_tokens, gitlab_tokens, "
                                         "slack_tokens, stripe_keys, google_api_keys, openai_api_keys, "
                                         "anthropic_api_keys, npm_tokens, pypi_tokens, sendgrid_keys, huggingface_tokens, "
                                         "digitalocean_tokens, shopify_tokens, jwt_tokens, ssh_private_keys, private_keys, "
                                         "azure_keys, generic_secrets") ",\"entropy_detection\":{\"type\":\"object\","
                                     "\"additionalProperties\":false,\"properties\":{\"enabled\":{\"type\":"
                                     "\"boolean\",\"default\":false},\"threshold\":{\"type\":\"number\","
                                     "\"default\":5.0},\"min_length\":{\"type\":\"integer\",\"default\":20},"
                                     "\"max_length\":{\"type\":\"integer\",\"default\":200}}}}}"};

    explicit BasicSecretsFilter(Config& config) : DetectionPlugin(config, "secrets") {
        const std::vector<std::string> enabled =
            read_type_switches(config, "secret_types", "secret type", secret_switches);
        aws_secret_near_id_ = contains(enabled, "aws_secret_keys") && contains(enabled, "aws_access_keys");
        read_entropy_options(config);
        set_patterns(config, select_patterns(secret_patterns(), [&](const SecretPattern& pattern) {
                         return contains(enabled, pattern.key);
                     }));
    }

protected:
    void find(std::string_view text, std::vector<Finding>& out) const override {
        const std::size_t before = out.size();
        DetectionPlugin::find(text, out);
        if (aws_secret_near_id_) find_aws_secrets_near_ids(text, out, before);
        if (entropy_enabled_) find_high_entropy(text, out, before);
    }

private:
    void read_entropy_options(Config& config) {
        const json::Value* options = config.raw("entropy_detection");
        if (!options) return;
        const std::string base = Config::pointer("entropy_detection");
        if (!options->is_object()) {
            config.error(base, "expected a mapping: {enabled, threshold, min_length, max_length}");
            return;
        }
        for (const auto& [name, value] : options->as_object()) {
            const std::string pointer = base + "/" + json::pointer_token(name);
            if (name == "enabled" && value.is_bool()) {
                entropy_enabled_ = value.as_bool();
            } else if (name == "threshold" && value.is_number() && value.as_number() > 0 && value.as_number() <= 8) {
                entropy_threshold_ = value.as_number();
            } else if ((name == "min_length" || name == "max_length") && value.is_integer() &&
                       value.as_integer() >= 8 && value.as_integer() <= 4096) {
                (name == "min_length" ? entropy_min_length_ : entropy_max_length_) =
                    static_cast<std::size_t>(value.as_integer());
            } else if (name == "enabled" || name == "threshold" || name == "min_length" || name == "max_length") {
                config.error(pointer, name == "enabled"     ? "expected true or false"
                                      : name == "threshold" ? "expected a number of bits per character, 0 to 8"
                                                            : "expected an integer from 8 to 4096");
            } else {
                config.error(pointer,
                             "unknown key '" + name + "' (expected enabled, threshold, min_length, max_length)");
            }
        }
        if (entropy_min_length_ > entropy_max_length_)
            config.error(base + "/min_length", "min_length is larger than max_length");
    }

    // Answers "does [begin, end) overlap an earlier finding?" for spans asked in increasing order,
    // in amortized constant time (a linear scan of all findings per token would be quadratic).
    class Coverage {
    public:
        Coverage(const std::vector<Finding>& findings, std::size_t from) {
            for (std::size_t i = from; i < findings.size(); ++i)
                spans_.emplace_back(findings[i].begin, findings[i].end);
            std::sort(spans_.begin(), spans_.end());
            std::vector<std::pair<std::size_t, std::size_t>> merged;
            for (const auto& span : spans_) {
                if (!merged.empty() && span.first <= merged.back().second)
                    merged.back().second = std::max(merged.back().second, span.second);
                else
                    merged.push_back(span);
            }
            spans_ = std::move(merged);
        }
        bool overlaps(std::size_t begin, std::size_t end) {
            while (next_ < spans_.size() && spans_[next_].second <= begin) ++next_;
            return next_ < spans_.size() && spans_[next_].first < end;
        }

    private:
        std::vector<std::pair<std::size_t, std::size_t>> spans_;
        std::size_t next_ = 0;
    };

    // A 40-character secret access key is only told apart from any other base64 text by the access
    // key id next to it: look within a window around each id (windows merged, so linear).
    void find_aws_secrets_near_ids(std::string_view text, std::vector<Finding>& out, std::size_t from) const {
        constexpr std::size_t window = 256;
        std::vector<std::pair<std::size_t, std::size_t>> windows;
        for (std::size_t i = from; i < out.size(); ++i) {
            if (std::string_view(out[i].type) != "AWS_ACCESS_KEY_ID") continue;
            std::size_t begin = out[i].begin > window ? out[i].begin - window : 0;
            std::size_t end = std::min(text.size(), out[i].end + window);
            if (!windows.empty() && begin <= windows.back().second)
                windows.back().second = std::max(windows.back().second, end);
            else
                windows.emplace_back(begin, end);
        }
        Coverage coverage(out, from);
        for (const auto& [begin, end] : windows) {
            std::size_t at = begin;
            while (at < end) {
                auto secret_char = [](char c) { return is_alnum(c) || c == '/' || c == '+'; };
                if (!secret_char(text[at])) {
                    ++at;
                    continue;
                }
                std::size_t run_end = at;
                while (run_end < text.size() && secret_char(text[run_end])) ++run_end;
                std::string_view run = text.substr(at, run_end - at);
                const bool upper = std::any_of(run.begin(), run.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
                const bool lower = std::any_of(run.begin(), run.end(), [](char c) { return c >= 'a' && c <= 'z'; });
                if (run.size() == 40 && upper && lower && !coverage.overlaps(at, run_end) &&
                    (run_end == text.size() || text[run_end] != '='))
                    out.push_back(Finding{"AWS_SECRET_ACCESS_KEY", at, run_end});
                at = run_end;
            }
        }
    }

    // Tokens of base64/URL-safe characters whose character distribution is close to random.
    void find_high_entropy(std::string_view text, std::vector<Finding>& out, std::size_t from) const {
        auto token_char = [](char c) {
            return is_alnum(c) || c == '+' || c == '/' || c == '=' || c == '_' || c == '-';
        };
        Coverage coverage(out, from);
        std::size_t at = 0;
        while (at < text.size()) {
            if (!token_char(text[at])) {
                ++at;
                continue;
            }
            std::size_t end = at;
            while (end < text.size() && token_char(text[end])) ++end;
            const std::size_t length = end - at;
            if (length >= entropy_min_length_ && length <= entropy_max_length_ && !coverage.overlaps(at, end) &&
                entropy(text.substr(at, length)) >= entropy_threshold_)
                out.push_back(Finding{"HIGH_ENTROPY_STRING", at, end});
            at = end;
        }
    }

    bool aws_secret_near_id_ = false;
    bool entropy_enabled_ = false;
    double entropy_threshold_ = 5.0;
    std::size_t entropy_min_length_ = 20;
    std::size_t entropy_max_length_ = 200;
};

}  // namespace

WATCHGATE_PLUGIN(BasicSecretsFilter)
