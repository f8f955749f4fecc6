#include "host_api.hpp"

#include <watchgate/core/base/version.hpp>

#include <spdlog/spdlog.h>
#include <watchgate/json.hpp>
#include <watchgate/wg_str.hpp>

#include <algorithm>
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
    // Explicit stack, children pushed in reverse: document order without recursion depth limits.
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

const void* get_extension(wg_host*, const char*) { return nullptr; }

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

}  // namespace

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
        return table;
    }();
    return api;
}

}  // namespace watchgate::core
