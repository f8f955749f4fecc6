#include "host_api.hpp"

#include <watchgate/core/base/version.hpp>

#include <spdlog/spdlog.h>
#include <watchgate/json.hpp>
#include <watchgate/suggest.hpp>
#include <watchgate/wg_str.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstring>
#include <iterator>
#include <string_view>
#include <utility>

namespace watchgate::core {

namespace {

using nlohmann::json;

using watchgate::str;
using watchgate::view;
wg_str keep(wg_message* m, std::string s) {
    m->arena.push_back(std::move(s));
    return str(m->arena.back());
}

bool valid_utf8(std::string_view text) {
    std::size_t i = 0;
    while (i < text.size()) {
        auto c = static_cast<unsigned char>(text[i]);
        std::size_t length = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
        if (length == 0 || i + length > text.size()) return false;
        std::uint32_t code = length == 1 ? c : c & (0xFF >> (length + 1));
        for (std::size_t k = 1; k < length; ++k) {
            auto next = static_cast<unsigned char>(text[i + k]);
            if ((next & 0xC0) != 0x80) return false;
            code = (code << 6) | (next & 0x3F);
        }
        static constexpr std::uint32_t smallest[] = {0, 0, 0x80, 0x800, 0x10000};
        if (code < smallest[length] || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) return false;
        i += length;
    }
    return true;
}

std::optional<json::json_pointer> pointer_of(wg_str text) {
    try {
        return json::json_pointer(std::string(view(text)));
    } catch (const json::exception&) {
        return std::nullopt;
    }
}

// Parses JSON text from a plugin: discarded when invalid or nested too deep.
json parse_plugin_json(wg_str text) {
    if (!within_depth_limit(view(text))) return json(json::value_t::discarded);
    return json::parse(view(text), nullptr, false);
}

// Valid UTF-8 as is; otherwise each invalid byte becomes U+FFFD, so reasons stay valid text.
std::string utf8_text(wg_str text) {
    std::string_view input = view(text);
    if (valid_utf8(input)) return std::string(input);
    std::string out;
    for (std::size_t i = 0; i < input.size();) {
        std::size_t length = 1;
        while (length <= 4 && i + length <= input.size() && !valid_utf8(input.substr(i, length))) ++length;
        if (length <= 4 && i + length <= input.size()) {
            out.append(input.substr(i, length));
            i += length;
        } else {
            out += "\xEF\xBF\xBD";
            ++i;
        }
    }
    return out;
}

// An array index token that names an existing element of `array`.
bool existing_index(const json& array, const std::string& token) {
    if (token.empty() || token.size() > 19 || token.find_first_not_of("0123456789") != std::string::npos ||
        (token.size() > 1 && token[0] == '0'))
        return false;
    return std::stoull(token) < array.size();
}

// The value at `pointer`, or nullptr. Never throws.
const json* find(const json& root, const json::json_pointer& pointer) {
    try {
        return root.contains(pointer) ? &root.at(pointer) : nullptr;
    } catch (const json::exception&) {
        return nullptr;
    }
}

// The envelope fields that tie a message to its request stay the host's.
bool protected_pointer(const json::json_pointer& pointer) {
    if (pointer.empty()) return true;
    if (pointer.parent_pointer().empty()) return pointer.back() == "jsonrpc" || pointer.back() == "id";
    return false;
}

// Whether the plugin may change the message now; records why not.
bool may_change(wg_message* m) { return !m->read_only && !m->visiting; }

// Call before changing the message: keeps the pre-stage copy for an undo.
json& begin_change(wg_message* m) {
    if (!m->backup) {
        m->backup = m->message->json();
        m->revision_before = m->message->revision();
    }
    return m->message->mutable_json();
}

void after_change(wg_message* m) { m->message->refresh_request_fields(); }

void log(wg_host* host, wg_log_level level, wg_str text) {
    static constexpr spdlog::level::level_enum levels[] = {
        spdlog::level::trace, spdlog::level::debug, spdlog::level::info, spdlog::level::warn, spdlog::level::err};
    auto lvl = levels[level < WG_LOG_TRACE ? 0 : level > WG_LOG_ERROR ? 4 : level];
    spdlog::log(lvl, "[{}] {}", host->plugin_name, view(text));
}

int log_enabled(wg_host*, wg_log_level level) {
    return level >= WG_LOG_TRACE && level <= WG_LOG_ERROR &&
           spdlog::should_log(static_cast<spdlog::level::level_enum>(level));
}

wg_message_kind message_kind(wg_message* m) { return static_cast<wg_message_kind>(m->message->kind()); }
// Copied: a later change re-reads method and target, which must not move what the plugin holds.
wg_str message_method(wg_message* m) { return keep(m, m->message->method()); }
wg_str message_id(wg_message* m) { return str(m->message->id_text()); }
wg_str message_upstream(wg_message* m) { return str(m->message->upstream()); }
wg_str message_target(wg_message* m) { return keep(m, m->message->target()); }

wg_status get(wg_message* m, wg_str pointer_text, wg_str* out) {
    auto pointer = pointer_of(pointer_text);
    if (!pointer || !out) return WG_ERR_INVALID_ARGUMENT;
    const json* value = find(m->message->json(), *pointer);
    if (!value) return WG_ERR_NOT_FOUND;
    *out = keep(m, dump_json(*value));
    return WG_OK;
}

wg_status set(wg_message* m, wg_str pointer_text, wg_str json_text) {
    auto pointer = pointer_of(pointer_text);
    if (!pointer) return WG_ERR_INVALID_ARGUMENT;
    if (protected_pointer(*pointer) || !may_change(m)) return WG_ERR_NOT_PERMITTED;
    json value = parse_plugin_json(json_text);
    if (value.is_discarded()) return WG_ERR_INVALID_JSON;
    const json* parent = find(m->message->json(), pointer->parent_pointer());
    if (!parent) return WG_ERR_NOT_FOUND;
    const std::string& last = pointer->back();
    if (parent->is_array() && last != "-") {
        // Only an existing index or "-" (append) may be written.
        if (!existing_index(*parent, last)) return WG_ERR_NOT_FOUND;
    } else if (!parent->is_object() && !parent->is_array()) {
        return WG_ERR_INVALID_ARGUMENT;
    }
    begin_change(m)[*pointer] = std::move(value);
    after_change(m);
    return WG_OK;
}

wg_status remove(wg_message* m, wg_str pointer_text) {
    auto pointer = pointer_of(pointer_text);
    if (!pointer) return WG_ERR_INVALID_ARGUMENT;
    if (protected_pointer(*pointer) || !may_change(m)) return WG_ERR_NOT_PERMITTED;
    if (!find(m->message->json(), *pointer)) return WG_ERR_NOT_FOUND;
    json& parent = begin_change(m).at(pointer->parent_pointer());
    if (parent.is_object())
        parent.erase(pointer->back());
    else
        parent.erase(std::stoull(pointer->back()));
    after_change(m);
    return WG_OK;
}

wg_status visit_json_strings(const json& document, wg_str pointer_text, std::uint32_t flags, wg_string_visitor visitor,
                             void* user) {
    auto pointer = pointer_of(pointer_text);
    if (!pointer || !visitor) return WG_ERR_INVALID_ARGUMENT;
    const json* root = find(document, *pointer);
    if (!root) return WG_ERR_NOT_FOUND;
    // Explicit stack, children pushed in reverse: members by name, elements by index, depth first,
    // without recursion depth limits (docs/plugin-abi.md "Hooks and verdicts").
    struct Item {
        const json* value;
        std::string pointer;
        const std::string* key;  // the member name, for members of an object
    };
    std::vector<Item> stack{{root, std::string(view(pointer_text)), nullptr}};
    const bool keys = (flags & WG_VISIT_KEYS) != 0;
    while (!stack.empty()) {
        Item item = std::move(stack.back());
        stack.pop_back();
        if (keys && item.key && visitor(user, str(item.pointer), str(*item.key), 1) != 0) return WG_ERR_STOPPED;
        const json& value = *item.value;
        if (value.is_string()) {
            const auto& text = value.get_ref<const std::string&>();
            if (visitor(user, str(item.pointer), str(text), 0) != 0) return WG_ERR_STOPPED;
        } else if (value.is_object()) {
            const std::size_t first = stack.size();
            for (auto it = value.begin(); it != value.end(); ++it)
                stack.push_back(
                    {&it.value(), item.pointer + "/" + watchgate::json::pointer_token(it.key()), &it.key()});
            std::reverse(stack.begin() + static_cast<std::ptrdiff_t>(first), stack.end());
        } else if (value.is_array()) {
            for (std::size_t i = value.size(); i-- > 0;)
                stack.push_back({&value[i], item.pointer + "/" + std::to_string(i), nullptr});
        }
    }
    return WG_OK;
}

wg_status visit_strings(wg_message* m, wg_str pointer, std::uint32_t flags, wg_string_visitor visitor, void* user) {
    if (m->visiting) return WG_ERR_NOT_PERMITTED;
    m->visiting = true;
    struct Reset {
        wg_message* m;
        ~Reset() { m->visiting = false; }
    } reset{m};
    return visit_json_strings(m->message->json(), pointer, flags, visitor, user);
}

wg_status replace_string(wg_message* m, wg_str pointer_text, wg_str value) {
    auto pointer = pointer_of(pointer_text);
    if (!pointer) return WG_ERR_INVALID_ARGUMENT;
    if (protected_pointer(*pointer) || !may_change(m)) return WG_ERR_NOT_PERMITTED;
    const json* current = find(m->message->json(), *pointer);
    if (!current) return WG_ERR_NOT_FOUND;
    if (!current->is_string() || !valid_utf8(view(value))) return WG_ERR_INVALID_ARGUMENT;
    begin_change(m).at(*pointer) = std::string(view(value));
    after_change(m);
    return WG_OK;
}

wg_status serialize(wg_message* m, wg_str* out) {
    if (!out) return WG_ERR_INVALID_ARGUMENT;
    *out = keep(m, m->message->serialize());
    return WG_OK;
}

wg_status block(wg_message* m, wg_str reason, std::int32_t code, wg_str data_json) {
    if (m->read_only) return WG_ERR_NOT_PERMITTED;
    if (m->role != PluginRole::security) {
        m->misuse = std::string(role_name(m->role)) + " plugins may not block";
        return WG_ERR_NOT_PERMITTED;
    }
    json data = nullptr;
    if (data_json.size) {
        data = parse_plugin_json(data_json);
        if (data.is_discarded()) return WG_ERR_INVALID_JSON;
    }
    std::string text = utf8_text(reason);
    m->block = wg_message::Block{text.empty() ? "blocked by policy" : text, code ? code : WG_DEFAULT_BLOCK_CODE,
                                 std::move(data)};
    return WG_OK;
}

wg_status complete(wg_message* m, wg_str response_json) {
    if (m->read_only) return WG_ERR_NOT_PERMITTED;
    if (m->role != PluginRole::middleware || m->phase != MessageKind::request) {
        m->misuse = m->role != PluginRole::middleware
                        ? std::string(role_name(m->role)) + " plugins may not complete requests"
                        : "only requests can be completed";
        return WG_ERR_NOT_PERMITTED;
    }
    json response = parse_plugin_json(response_json);
    if (response.is_discarded()) return WG_ERR_INVALID_JSON;
    bool is_envelope = response.is_object() && response.contains("jsonrpc") &&
                       (response.contains("result") || response.contains("error"));
    if (!is_envelope) response = json{{"jsonrpc", "2.0"}, {"result", std::move(response)}};
    response["id"] = m->message->id();
    if (!envelope_problem(response).empty() || response.contains("method")) return WG_ERR_INVALID_ARGUMENT;
    m->completion = std::move(response);
    return WG_OK;
}

wg_status add_metadata(wg_message* m, wg_str json_text) {
    json value = parse_plugin_json(json_text);
    if (value.is_discarded()) return WG_ERR_INVALID_JSON;
    if (m->metadata.is_null())
        m->metadata = std::move(value);
    else if (m->metadata.is_object() && value.is_object())
        m->metadata.update(value);
    else {
        if (!m->metadata.is_array()) m->metadata = json::array({std::move(m->metadata)});
        m->metadata.push_back(std::move(value));
    }
    return WG_OK;
}

void set_error(wg_message* m, wg_str text) { m->error = utf8_text(text); }

wg_status message_context(wg_message* m, wg_context* out) {
    if (!out || out->struct_size < offsetof(wg_context, session_id) + sizeof(wg_str)) return WG_ERR_INVALID_ARGUMENT;
    const ClientContext* client = m->client;
    const std::string_view era = m->message->stateless() ? "stateless" : "session";
    // Every field the caller's struct covers, and no byte past it (an older plugin's is smaller).
    auto fill = [&](std::size_t offset, std::string_view value) {
        if (offset + sizeof(wg_str) > out->struct_size) return;
        const wg_str field{value.data(), value.size()};
        std::memcpy(reinterpret_cast<char*>(out) + offset, &field, sizeof field);
    };
    fill(offsetof(wg_context, session_id), client ? std::string_view(client->session) : std::string_view());
    fill(offsetof(wg_context, transport), client ? std::string_view(client->transport) : std::string_view());
    fill(offsetof(wg_context, era), client ? era : std::string_view());
    fill(offsetof(wg_context, client_address), client ? std::string_view(client->address) : std::string_view());
    fill(offsetof(wg_context, subject), client ? std::string_view(client->subject) : std::string_view());
    fill(offsetof(wg_context, upstream), m->message->upstream());
    return WG_OK;
}

const void* get_extension(wg_host*, const char* id);

wg_str config_folder(wg_host* host) { return wg_str{host->config_folder.data(), host->config_folder.size()}; }

wg_status config_get(wg_config* config, wg_str pointer_text, wg_str* out) {
    auto pointer = pointer_of(pointer_text);
    if (!pointer || !out) return WG_ERR_INVALID_ARGUMENT;
    const json* value = find(config->value, *pointer);
    if (!value) return WG_ERR_NOT_FOUND;
    config->arena.push_back(dump_json(*value));
    *out = str(config->arena.back());
    return WG_OK;
}

wg_status config_visit_strings(wg_config* config, wg_str pointer, std::uint32_t flags, wg_string_visitor visitor,
                               void* user) {
    return visit_json_strings(config->value, pointer, flags, visitor, user);
}

void config_error(wg_config* config, wg_str pointer, wg_str text) {
    config->errors.push_back({utf8_text(pointer), utf8_text(text)});
}

// The typed readers (docs/plugin-abi.md "Reading the config in C") word their errors as the C++
// layer does: "expected a string, got integer".
std::string type_word(const json& value) {
    if (value.is_number_integer()) return "integer";
    if (value.is_number()) return "number";
    if (value.is_array()) return "list";
    if (value.is_object()) return "mapping";
    return value.type_name();  // null, boolean, string
}

void report(wg_config* config, wg_str pointer, std::string text) {
    config->errors.push_back({utf8_text(pointer), std::move(text)});
}

// The value at `pointer`, or nullptr (absent or a malformed pointer, which is reported).
const json* config_value(wg_config* config, wg_str pointer_text) {
    auto pointer = pointer_of(pointer_text);
    if (!pointer) {
        report(config, wg_str{}, "the plugin asked for a malformed JSON pointer '" + utf8_text(pointer_text) + "'");
        return nullptr;
    }
    return find(config->value, *pointer);
}

// Reads the value at `pointer` with `accept`, which returns false for a wrong type.
template <class T, class Accept>
wg_status config_read(wg_config* config, wg_str pointer, T fallback, T* out, const char* expected, Accept accept,
                      std::string_view hint = {}) {
    if (!out) return WG_ERR_INVALID_ARGUMENT;
    *out = fallback;
    const json* value = config_value(config, pointer);
    if (!value) return WG_ERR_NOT_FOUND;
    if (!accept(*value, *out)) {
        *out = fallback;
        report(config, pointer, std::string("expected ") + expected + ", got " + type_word(*value) + std::string(hint));
        return WG_ERR_INVALID_ARGUMENT;
    }
    return WG_OK;
}

wg_status config_string(wg_config* config, wg_str pointer, wg_str fallback, wg_str* out) {
    const auto parsed = pointer_of(pointer);  // a malformed one is reported by config_read
    const json* value = parsed ? find(config->value, *parsed) : nullptr;
    // YAML reads 1234, yes and true as a number or a boolean: say how to keep them text.
    const bool unquoted = value && (value->is_number() || value->is_boolean());
    return config_read(
        config, pointer, fallback, out, "a string",
        [&](const json& found, wg_str& result) {
            if (!found.is_string()) return false;
            result = str(found.get_ref<const std::string&>());
            return true;
        },
        unquoted ? " (quote it in YAML)" : "");
}

wg_status config_boolean(wg_config* config, wg_str pointer, int fallback, int* out) {
    return config_read(config, pointer, fallback, out, "true or false", [](const json& value, int& result) {
        if (!value.is_boolean()) return false;
        result = value.get<bool>() ? 1 : 0;
        return true;
    });
}

wg_status config_number(wg_config* config, wg_str pointer, double fallback, double* out) {
    return config_read(config, pointer, fallback, out, "a number", [](const json& value, double& result) {
        if (!value.is_number()) return false;
        result = value.get<double>();
        return true;
    });
}

wg_status config_integer(wg_config* config, wg_str pointer, std::int64_t fallback, std::int64_t min, std::int64_t max,
                         std::int64_t* out) {
    wg_status status =
        config_read(config, pointer, fallback, out, "an integer", [](const json& value, std::int64_t& result) {
            if (value.is_number_unsigned()) {
                result = value.get<std::uint64_t>() > static_cast<std::uint64_t>(INT64_MAX) ? INT64_MAX
                                                                                            : value.get<std::int64_t>();
                return true;
            }
            if (!value.is_number_integer()) return false;
            result = value.get<std::int64_t>();
            return true;
        });
    if (status == WG_OK && (*out < min || *out > max)) {
        *out = fallback;
        report(config, pointer, "expected an integer from " + std::to_string(min) + " to " + std::to_string(max));
        return WG_ERR_INVALID_ARGUMENT;
    }
    return status;
}

wg_status config_choice(wg_config* config, wg_str pointer, const wg_str* words, std::size_t count, std::size_t fallback,
                        std::size_t* out) {
    if (!out || (count && !words)) return WG_ERR_INVALID_ARGUMENT;
    *out = fallback;
    const json* value = config_value(config, pointer);
    if (!value) return WG_ERR_NOT_FOUND;
    std::vector<std::string> valid;
    for (std::size_t i = 0; i < count; ++i) {
        valid.push_back(utf8_text(words[i]));
        if (value->is_string() && value->get_ref<const std::string&>() == valid.back()) {
            *out = i;
            return WG_OK;
        }
    }
    std::string expected = "expected one of: ";
    for (std::size_t i = 0; i < valid.size(); ++i) expected += (i ? ", " : "") + valid[i];
    report(config, pointer,
           value->is_string() ? expected + did_you_mean(value->get_ref<const std::string&>(), valid)
                              : expected + ", got " + type_word(*value));
    return WG_ERR_INVALID_ARGUMENT;
}

wg_status config_list_size(wg_config* config, wg_str pointer, std::size_t* out) {
    return config_read(config, pointer, std::size_t{0}, out, "a list", [](const json& value, std::size_t& result) {
        if (!value.is_array()) return false;
        result = value.size();
        return true;
    });
}

wg_status config_member_name(wg_config* config, wg_str pointer, std::size_t index, wg_str* out) {
    const json* mapping = nullptr;
    wg_status status = config_read(config, pointer, wg_str{}, out, "a mapping", [&](const json& value, wg_str&) {
        mapping = &value;
        return value.is_object();
    });
    if (status != WG_OK) return status;
    if (index >= mapping->size()) return WG_ERR_NOT_FOUND;
    *out = str(std::next(mapping->items().begin(), static_cast<std::ptrdiff_t>(index)).key());
    return WG_OK;
}

const json* config_mapping(wg_config* config, wg_str pointer) {
    const json* mapping = config_value(config, pointer);
    if (mapping && !mapping->is_object()) {
        report(config, pointer, "expected a mapping, got " + type_word(*mapping));
        return nullptr;
    }
    return mapping;
}

wg_status config_require(wg_config* config, wg_str pointer, wg_str name) {
    const json* mapping = config_mapping(config, pointer);
    if (mapping && mapping->contains(view(name))) return WG_OK;
    if (!mapping && config_value(config, pointer)) return WG_ERR_INVALID_ARGUMENT;  // reported: not a mapping
    report(config, pointer, "missing required key '" + utf8_text(name) + "'");
    return WG_ERR_NOT_FOUND;
}

wg_status config_check_keys(wg_config* config, wg_str pointer, const wg_str* known, std::size_t count) {
    if (count && !known) return WG_ERR_INVALID_ARGUMENT;
    const json* mapping = config_mapping(config, pointer);
    if (!mapping) return config_value(config, pointer) ? WG_ERR_INVALID_ARGUMENT : WG_OK;
    std::vector<std::string> names;
    for (std::size_t i = 0; i < count; ++i) names.push_back(utf8_text(known[i]));
    wg_status status = WG_OK;
    for (const auto& [name, value] : mapping->items()) {
        if (std::find(names.begin(), names.end(), name) != names.end()) continue;
        const std::string member = std::string(view(pointer)) + "/" + watchgate::json::pointer_token(name);
        report(config, str(member), "unknown key '" + name + "'" + did_you_mean(name, names));
        status = WG_ERR_INVALID_ARGUMENT;
    }
    return status;
}

std::size_t config_error_count(wg_config* config) { return config->errors.size(); }

std::uint32_t create_flags(wg_host* host) { return host->create_flags; }

// Exceptions must not cross into plugin code: every entry is wrapped.
template <auto function>
struct Guard;
template <class Result, class... Args, Result (*function)(Args...)>
struct Guard<function> {
    static Result call(Args... args) noexcept {
        try {
            return function(args...);
        } catch (const std::exception& e) {
            spdlog::error("host function failed: {}", e.what());
        } catch (...) {
            spdlog::error("host function failed");
        }
        if constexpr (std::is_same_v<Result, wg_status>)
            return WG_ERROR;
        else if constexpr (!std::is_void_v<Result>)
            return Result{};
    }
};

constexpr std::size_t max_metrics_per_instance = 64;
constexpr std::size_t max_metric_name = 100;

std::uint32_t define_metric(wg_host* host, wg_config* config, wg_metric_kind kind, wg_str name_text, wg_str help,
                            const double* bounds, std::size_t bound_count) {
    const std::string name = utf8_text(name_text);
    const wg_str where = str("");
    auto refuse = [&](const std::string& why) {
        report(config, where, "metric '" + name + "': " + why);
        return 0u;
    };
    if (!config) return 0;
    if (kind != WG_METRIC_COUNTER && kind != WG_METRIC_GAUGE && kind != WG_METRIC_HISTOGRAM)
        return refuse("unknown kind " + std::to_string(kind));
    if (name.empty() || name.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_") != std::string::npos ||
        (name[0] >= '0' && name[0] <= '9'))
        return refuse("a metric name is [a-z_][a-z0-9_]*");
    // Every family is served on each scrape for the life of the process: a plugin gets a few.
    if (name.size() > max_metric_name) return refuse("a metric name has at most 100 characters");
    if (host->metrics.size() >= max_metrics_per_instance) return refuse("an instance defines at most 64 metrics");
    std::vector<double> buckets;
    if (kind == WG_METRIC_HISTOGRAM) {
        if (!bounds || bound_count == 0 || bound_count > 64) return refuse("a histogram needs 1 to 64 bucket bounds");
        buckets.assign(bounds, bounds + bound_count);
        for (std::size_t i = 1; i < buckets.size(); ++i)
            if (!(buckets[i - 1] < buckets[i])) return refuse("bucket bounds must ascend");
    }
    static constexpr MetricKind kinds[] = {MetricKind::counter, MetricKind::gauge, MetricKind::histogram};
    try {
        std::string help_text = utf8_text(help).substr(0, 1000);
        MetricFamily& family = process_metrics().family("watchgate_plugin_" + name, help_text, kinds[kind - 1],
                                                        {"plugin"}, std::move(buckets));
        host->metrics.push_back({&family.series({host->plugin_name}), kind, &family.bounds()});
    } catch (const std::invalid_argument&) {
        return refuse("another plugin defines it with another kind, labels or buckets");
    }
    return static_cast<std::uint32_t>(host->metrics.size());
}

void add_to_metric(wg_host* host, std::uint32_t id, double amount) {
    if (id == 0 || id > host->metrics.size() || std::isnan(amount)) return;
    const auto& metric = host->metrics[id - 1];
    if (metric.kind == WG_METRIC_HISTOGRAM)
        metric.series->observe(amount, *metric.bounds);
    else if (metric.kind == WG_METRIC_GAUGE || amount >= 0)
        metric.series->add(amount);
}

void set_metric(wg_host* host, std::uint32_t id, double value) {
    if (id == 0 || id > host->metrics.size() || std::isnan(value)) return;
    if (const auto& metric = host->metrics[id - 1]; metric.kind == WG_METRIC_GAUGE) metric.series->set(value);
}

const wg_ext_context_1 context_extension{sizeof(wg_ext_context_1), &Guard<&message_context>::call};
const wg_ext_metrics_1 metrics_extension{sizeof(wg_ext_metrics_1), &Guard<&define_metric>::call,
                                         &Guard<&add_to_metric>::call, &Guard<&set_metric>::call};

const void* get_extension(wg_host*, const char* id) {
    if (!id) return nullptr;
    if (std::string_view(id) == WG_EXT_CONTEXT_1) return &context_extension;
    if (std::string_view(id) == WG_EXT_METRICS_1) return &metrics_extension;
    return nullptr;
}

thread_local AuditCall* current_audit_call = nullptr;

void audit_error(const wg_audit_event* event, wg_str text) { record_audit_error(event, utf8_text(text)); }

}  // namespace

AuditCall::AuditCall(const wg_audit_event& event) : event_(&event), previous_(current_audit_call) {
    current_audit_call = this;
}

AuditCall::~AuditCall() { current_audit_call = previous_; }

// Only for the event of the call running on this thread: a stray pointer changes nothing.
void record_audit_error(const wg_audit_event* event, std::string text) {
    if (current_audit_call && current_audit_call->event_ == event) current_audit_call->error_ = std::move(text);
}

const wg_host_api& host_api() {
    static const wg_host_api api = [] {
        wg_host_api table{};
        table.struct_size = sizeof(wg_host_api);
        table.abi_major = WG_ABI_VERSION_MAJOR;
        table.abi_minor = WG_ABI_VERSION_MINOR;
        table.host_version = wg_str{version_text, sizeof(version_text) - 1};
        table.log = &Guard<&log>::call;
        table.log_enabled = &Guard<&log_enabled>::call;
        table.message_kind = &Guard<&message_kind>::call;
        table.message_method = &Guard<&message_method>::call;
        table.message_id = &Guard<&message_id>::call;
        table.message_upstream = &Guard<&message_upstream>::call;
        table.message_target = &Guard<&message_target>::call;
        table.get = &Guard<&get>::call;
        table.set = &Guard<&set>::call;
        table.remove = &Guard<&remove>::call;
        table.visit_strings = &Guard<&visit_strings>::call;
        table.replace_string = &Guard<&replace_string>::call;
        table.serialize = &Guard<&serialize>::call;
        table.block = &Guard<&block>::call;
        table.complete = &Guard<&complete>::call;
        table.add_metadata = &Guard<&add_metadata>::call;
        table.set_error = &Guard<&set_error>::call;
        table.get_extension = &Guard<&get_extension>::call;
        table.config_get = &Guard<&config_get>::call;
        table.config_visit_strings = &Guard<&config_visit_strings>::call;
        table.config_error = &Guard<&config_error>::call;
        table.config_folder = &Guard<&config_folder>::call;
        table.config_string = &Guard<&config_string>::call;
        table.config_boolean = &Guard<&config_boolean>::call;
        table.config_integer = &Guard<&config_integer>::call;
        table.config_number = &Guard<&config_number>::call;
        table.config_choice = &Guard<&config_choice>::call;
        table.config_list_size = &Guard<&config_list_size>::call;
        table.config_member_name = &Guard<&config_member_name>::call;
        table.config_require = &Guard<&config_require>::call;
        table.config_check_keys = &Guard<&config_check_keys>::call;
        table.config_error_count = &Guard<&config_error_count>::call;
        table.create_flags = &Guard<&create_flags>::call;
        table.audit_error = &Guard<&audit_error>::call;
        return table;
    }();
    return api;
}

}  // namespace watchgate::core
