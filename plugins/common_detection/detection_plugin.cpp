// Message handling shared by the detection plugins: scan, then block, redact or record.
#include "detection.hpp"

#include <algorithm>
#include <stdexcept>

namespace watchgate::detection {

namespace {

// At most this many detections are listed in a stage's metadata; the count is always complete.
constexpr std::size_t max_listed_detections = 100;

bool starts_member(std::string_view pointer, std::string_view member) {
    return pointer.substr(0, member.size()) == member &&
           (pointer.size() == member.size() || pointer[member.size()] == '/');
}

// Only the payload is content: the envelope (jsonrpc, id, method) is not scanned.
bool in_payload(std::string_view pointer) {
    return starts_member(pointer, "/params") || starts_member(pointer, "/result") || starts_member(pointer, "/error");
}

// A tool description in a tools/list result: what tool poisoning hides in.
bool is_tool_description(std::string_view pointer) {
    constexpr std::string_view prefix = "/result/tools/";
    constexpr std::string_view suffix = "/description";
    if (pointer.substr(0, prefix.size()) != prefix || pointer.size() <= prefix.size() + suffix.size()) return false;
    std::string_view index = pointer.substr(prefix.size(), pointer.size() - prefix.size() - suffix.size());
    return pointer.substr(pointer.size() - suffix.size()) == suffix &&
           std::all_of(index.begin(), index.end(), is_digit);
}

// Sorted by position; a finding inside a longer one (an IPv4 address inside an IPv6 one) is
// dropped, and of findings with the same span the first pattern's wins: plugins list their
// specific patterns before the generic ones (a GitHub token assigned to TOKEN= is a GitHub token).
void normalize(std::vector<Finding>& findings) {
    std::stable_sort(findings.begin(), findings.end(), [](const Finding& a, const Finding& b) {
        return a.begin != b.begin ? a.begin < b.begin : a.end > b.end;
    });
    std::vector<Finding> kept;
    std::size_t cover_end = 0;
    for (const Finding& finding : findings) {
        if (!kept.empty() && finding.end <= cover_end) continue;
        kept.push_back(finding);
        cover_end = finding.end;
    }
    findings = std::move(kept);
}

}  // namespace

std::string redact(std::string_view text, const std::vector<Finding>& findings, std::string_view placeholder) {
    std::vector<RedactionSpan> spans;
    spans.reserve(findings.size());
    for (const Finding& finding : findings) spans.push_back({finding.begin, finding.end, finding.type});
    return redact_spans(text, std::move(spans), placeholder);
}

bool contains(const std::vector<std::string>& names, std::string_view name) {
    return std::find(names.begin(), names.end(), name) != names.end();
}

std::vector<std::string> read_type_switches(Config& config, std::string_view key, std::string_view what,
                                            const std::vector<TypeSwitch>& switches) {
    std::vector<std::string> enabled;
    for (const TypeSwitch& item : switches)
        if (item.enabled_by_default) enabled.emplace_back(item.name);
    const json::Value* value = config.raw(key);
    if (!value) return enabled;

    const std::string base = Config::pointer(key);
    auto known = [&](const std::string& name, const std::string& pointer) {
        for (const TypeSwitch& item : switches)
            if (name == item.name) return true;
        std::string valid;
        for (const TypeSwitch& item : switches) valid += std::string(valid.empty() ? "" : ", ") + item.name;
        config.error(pointer, "unknown " + std::string(what) + " '" + name + "'; expected one of: " + valid);
        return false;
    };
    auto set = [&](const std::string& name, bool on) {
        enabled.erase(std::remove(enabled.begin(), enabled.end(), name), enabled.end());
        if (on) enabled.push_back(name);
    };

    if (value->is_array()) {
        // A list names exactly the types to look for.
        enabled.clear();
        std::size_t index = 0;
        for (const json::Value& item : value->as_array()) {
            const std::string pointer = base + "/" + std::to_string(index++);
            if (!item.is_string())
                config.error(pointer, "expected a type name");
            else if (known(item.as_string(), pointer))
                set(item.as_string(), true);
        }
        return enabled;
    }
    if (!value->is_object()) {
        config.error(base, "expected a mapping of types (type: {enabled: true|false}) or a list of types");
        return enabled;
    }
    for (const auto& [name, setting] : value->as_object()) {
        const std::string pointer = base + "/" + json::pointer_token(name);
        if (!known(name, pointer)) continue;
        if (setting.is_bool()) {
            set(name, setting.as_bool());
        } else if (setting.is_object()) {
            bool on = true;
            for (const auto& [option, option_value] : setting.as_object()) {
                const std::string option_pointer = pointer + "/" + json::pointer_token(option);
                if (option != "enabled")
                    config.error(option_pointer, "unknown key '" + option + "' (expected enabled)");
                else if (!option_value.is_bool())
                    config.error(option_pointer, "expected true or false");
                else
                    on = option_value.as_bool();
            }
            set(name, on);
        } else {
            config.error(pointer, "expected true, false or {enabled: true|false}");
        }
    }
    return enabled;
}

DetectionPlugin::DetectionPlugin(Config& config, const char* subject) : subject_(subject) {
    action_ = config.choice<Action>(
        "action", {{"block", Action::block}, {"redact", Action::redact}, {"audit_only", Action::audit_only}},
        Action::redact);
    scan_base64_ = config.boolean("scan_base64", false);
    scan_keys_ = config.boolean("scan_keys", false);
    fold_ = config.boolean("normalize_unicode", true);
    placeholder_ = config.string("redaction_placeholder", std::string("[REDACTED:{type}]"));
}

void DetectionPlugin::set_patterns(Config& config, std::vector<PatternSpec> patterns) {
    try {
        scanner_ = std::make_unique<Scanner>(std::move(patterns));
    } catch (const std::exception& e) {
        config.error("", e.what());
    }
}

void DetectionPlugin::find(std::string_view text, std::vector<Finding>& out) const {
    if (!scanner_) return;
    scanner_->scan(text, out);
    if (!fold_) return;
    // The same patterns over what a reader sees: an invisible character inside "ignore", a
    // Cyrillic "о" in "password", fullwidth letters. Both passes' findings are merged later.
    const auto folded = fold_for_matching(text);
    if (!folded) return;
    const std::size_t before = out.size();
    scanner_->scan(folded->text, out);
    for (std::size_t i = before; i < out.size(); ++i) {
        out[i].begin = folded->input_begin(out[i].begin);
        out[i].end = folded->input_end(out[i].end);
    }
}

void DetectionPlugin::find_all(std::string_view text, std::vector<Finding>& plain,
                               std::vector<Finding>& encoded) const {
    find(text, plain);
    normalize(plain);
    if (!scan_base64_) return;
    std::vector<Finding> inner;
    for_each_encoded_run(text, [&](std::size_t begin, std::size_t end, Encoding encoding, std::string_view decoded) {
        inner.clear();
        find(decoded, inner);
        for (const Finding& finding : inner) {
            const bool known = std::any_of(encoded.begin(), encoded.end(), [&](const Finding& e) {
                return e.begin == begin && std::string_view(e.type) == finding.type;
            });
            if (!known) encoded.push_back(Finding{finding.type, begin, end, encoding_name(encoding)});
        }
    });
}

void DetectionPlugin::on_request(Message& message, RequestState*) { inspect(message); }
void DetectionPlugin::on_response(Message& message, RequestState*) { inspect(message); }
void DetectionPlugin::on_notification(Message& message, RequestState*) { inspect(message); }

void DetectionPlugin::inspect(Message& message) {
    struct Hit {
        std::string pointer;
        bool is_key = false;
        std::string value;  // kept only when it will be redacted
        std::vector<Finding> plain;
        std::vector<Finding> encoded;
    };
    std::vector<Hit> hits;
    std::vector<Finding> plain, encoded;
    message.visit_strings(
        "",
        [&](std::string_view pointer, std::string_view value, bool is_key) {
            if (!in_payload(pointer)) return true;
            plain.clear();
            encoded.clear();
            find_all(value, plain, encoded);
            if (plain.empty() && encoded.empty()) return true;
            Hit hit{std::string(pointer), is_key, {}, plain, encoded};
            if (action_ == Action::redact) hit.value = value;
            hits.push_back(std::move(hit));
            return true;
        },
        scan_keys_);
    if (hits.empty()) return;

    std::vector<std::string_view> types;
    bool unredactable = false, in_tool_description = false;
    std::size_t count = 0;
    json::Array listed;
    for (const Hit& hit : hits) {
        unredactable = unredactable || hit.is_key || !hit.encoded.empty();
        in_tool_description = in_tool_description || is_tool_description(hit.pointer);
        for (const auto* findings : {&hit.plain, &hit.encoded}) {
            for (const Finding& finding : *findings) {
                if (std::find(types.begin(), types.end(), finding.type) == types.end()) types.push_back(finding.type);
                if (++count > max_listed_detections) continue;
                // Where and what kind, never the matched text.
                json::Object detection{{"type", finding.type},
                                       {"pointer", hit.pointer},
                                       {"start", static_cast<std::int64_t>(finding.begin)},
                                       {"end", static_cast<std::int64_t>(finding.end)}};
                if (finding.encoding) detection.emplace_back("encoding", finding.encoding);
                if (hit.is_key) detection.emplace_back("key", true);
                listed.emplace_back(std::move(detection));
            }
        }
    }

    const bool blocking = action_ == Action::block || (action_ == Action::redact && unredactable);
    const char* taken = blocking ? "block" : action_ == Action::redact ? "redact" : "audit_only";
    message.add_metadata(json::Object{
        {"detections", std::move(listed)}, {"detection_count", static_cast<std::int64_t>(count)}, {"action", taken}});

    if (blocking) {
        std::string reason = std::string(subject_) + " detected: ";
        for (std::size_t i = 0; i < types.size(); ++i) reason += std::string(i ? ", " : "") + std::string(types[i]);
        if (in_tool_description) reason += " (in a tool description)";
        if (action_ == Action::redact) reason += " (inside encoded content or a key, which cannot be redacted)";
        message.block(reason);
    } else if (action_ == Action::redact) {
        for (const Hit& hit : hits) message.replace_string(hit.pointer, redact(hit.value, hit.plain, placeholder_));
    }
}

}  // namespace watchgate::detection
