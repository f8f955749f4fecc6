#include <watchgate/core/config/config.hpp>

#include <watchgate/core/base/digest.hpp>
#include <watchgate/core/base/url.hpp>

#include <sys/stat.h>

#include <cstring>

#include <watchgate/json.hpp>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <functional>
#include <optional>
#include <regex>
#include <set>
#include <sstream>

namespace watchgate::core {

std::string_view transport_name(UpstreamTransportKind kind) {
    switch (kind) {
        case UpstreamTransportKind::stdio:
            return "stdio";
        case UpstreamTransportKind::streamable_http:
            return "streamable_http";
        case UpstreamTransportKind::sse:
            return "sse";
        case UpstreamTransportKind::auto_detect:
            return "auto";
    }
    return "unknown";
}

std::string_view role_name(PluginRole role) {
    switch (role) {
        case PluginRole::security:
            return "security";
        case PluginRole::middleware:
            return "middleware";
        case PluginRole::auditing:
            return "auditing";
    }
    return "unknown";
}

namespace {

using nlohmann::json;

// Limits on what a configuration may ask of the loader (docs/reliability.md).
constexpr std::size_t max_config_file_size = 4u << 20;
constexpr std::size_t max_expanded_nodes = 100'000;
constexpr int max_config_depth = 64;

const std::vector<std::string> top_level_keys = {"proxy",   "plugins", "plugin_dirs", "allow_insecure_plugin_paths",
                                                 "logging", "admin",   "pid_file",    "tracing"};
// What a running gateway has built from and cannot rebuild on a reload: its threads, its
// listeners, its logging, its buffers.
const std::vector<std::string> restart_only_proxy_keys = {
    "transport",           "http",           "max_message_size_mb", "threads",
    "max_client_requests", "queue_limit_mb", "stall_timeout",       "shutdown_grace_period"};
const std::vector<std::string> plugin_kinds = {"security", "middleware", "auditing"};
const std::vector<std::string> entry_keys = {"handler", "path", "instance", "config"};

class Reader {
public:
    explicit Reader(std::filesystem::path file) : file_(std::move(file)) {}

    SourceLocation at(const YAML::Node& node) const {
        const YAML::Mark mark = node.Mark();
        return SourceLocation{file_.string(), mark.line >= 0 ? mark.line + 1 : 0,
                              mark.column >= 0 ? mark.column + 1 : 0};
    }
    void error(const YAML::Node& node, std::string message) { errors_.push_back({at(node), std::move(message)}); }
    void error(SourceLocation where, std::string message) { errors_.push_back({std::move(where), std::move(message)}); }
    std::vector<ConfigError>& errors() { return errors_; }
    const std::filesystem::path& file() const { return file_; }

    // Reports keys of `map` not in `known`, with the nearest valid one, and repeated keys.
    // `hint`, when given, may name a better suggestion for an unknown key than the nearest
    // spelling (where the key belongs, the key that is missing); empty: the nearest spelling.
    void check_keys(const YAML::Node& map, const std::vector<std::string>& known, std::string_view where,
                    const std::function<std::string(const std::string& key)>& hint = {}) {
        check_duplicates(map);
        for (const auto& member : map) {
            const auto key = member.first.Scalar();
            if (std::find(known.begin(), known.end(), key) != known.end()) continue;
            std::string better = hint ? hint(key) : std::string();
            error(member.first, "unknown key '" + key + "' in " + std::string(where) +
                                    (better.empty() ? did_you_mean(key, known) : better));
        }
    }

    // YAML forbids a key twice in one mapping; yaml-cpp silently keeps one of them.
    void check_duplicates(const YAML::Node& map) {
        std::map<std::string, int> first_line;
        for (const auto& member : map) {
            const auto key = member.first.Scalar();
            auto [previous, inserted] = first_line.emplace(key, at(member.first).line);
            if (!inserted)
                error(member.first,
                      "duplicate key '" + key + "' (first at line " + std::to_string(previous->second) + ")");
        }
    }

    bool expect(const YAML::Node& node, YAML::NodeType::value type, std::string_view what) {
        if (node.Type() == type) return true;
        error(node, "expected " + std::string(what));
        return false;
    }

    // `expected` names what else the key takes besides true and false ("auto, true or false").
    std::optional<bool> boolean(const YAML::Node& node, std::string_view expected = "true or false") {
        if (node.IsScalar() && node.Tag() != "!") {
            const auto& s = node.Scalar();
            if (s == "true" || s == "True" || s == "TRUE") return true;
            if (s == "false" || s == "False" || s == "FALSE") return false;
        }
        error(node, "expected " + std::string(expected));
        return std::nullopt;
    }

    std::optional<long long> integer(const YAML::Node& node, long long min, long long max) {
        if (node.IsScalar() && node.Tag() != "!") {
            const auto& s = node.Scalar();
            char* end = nullptr;
            errno = 0;
            long long value = std::strtoll(s.c_str(), &end, 10);
            if (!s.empty() && end && *end == '\0' && errno == 0 && value >= min && value <= max) return value;
        }
        error(node, "expected an integer from " + std::to_string(min) + " to " + std::to_string(max));
        return std::nullopt;
    }

    // Which of two words the node is: 0 or 1, or an error naming both (and the nearer one).
    std::optional<int> either(const YAML::Node& node, const std::string& first, const std::string& second) {
        const std::string word = node.IsScalar() ? node.Scalar() : std::string();
        if (word == first) return 0;
        if (word == second) return 1;
        error(node, "expected " + first + " or " + second + did_you_mean(word, {first, second}));
        return std::nullopt;
    }

    std::optional<std::string> string(const YAML::Node& node, std::string_view what) {
        if (node.IsScalar() && !node.Scalar().empty()) return node.Scalar();
        error(node, "expected " + std::string(what));
        return std::nullopt;
    }

    // `~`, `$VAR`/`${VAR}` and config-relative paths.
    std::filesystem::path resolve_path(const std::string& text) {
        std::string expanded;
        for (std::size_t i = 0; i < text.size(); ++i) {
            if (text[i] == '~' && i == 0 && (text.size() == 1 || text[1] == '/')) {
                const char* home = std::getenv("HOME");
                expanded += home ? home : "~";
            } else if (text[i] == '$' && i + 1 < text.size()) {
                bool braced = text[i + 1] == '{';
                std::size_t start = i + (braced ? 2 : 1), end = start;
                while (end < text.size() && (std::isalnum(static_cast<unsigned char>(text[end])) || text[end] == '_'))
                    ++end;
                if (braced && (end >= text.size() || text[end] != '}')) {
                    expanded += text[i];
                    continue;
                }
                const char* value = std::getenv(text.substr(start, end - start).c_str());
                expanded += value ? value : "";
                i = braced ? end : end - 1;
            } else {
                expanded += text[i];
            }
        }
        std::filesystem::path path(expanded);
        if (path.is_relative()) path = file_.parent_path() / path;
        return path.lexically_normal();
    }

    // YAML -> JSON, recording where each JSON pointer came from.
    json to_json(const YAML::Node& node, const std::string& pointer, std::map<std::string, SourceLocation>& places,
                 int depth = 0) {
        // Once a limit is reached the value is refused: stop at once rather than walk the rest
        // (an alias inside its own anchor is infinitely deep, and wide at every level).
        if (too_deep_reported_ || expanded_nodes_ > max_expanded_nodes) return nullptr;
        // Converting recurses: a deeply nested value (found by fuzz_config) would overflow the stack.
        if (depth > max_config_depth) {
            if (!too_deep_reported_)
                error(node, "values nested deeper than " + std::to_string(max_config_depth) + " levels: refused");
            too_deep_reported_ = true;
            return nullptr;
        }
        // YAML aliases share a node; expanding them into JSON copies it. Nested anchors would
        // multiply the copies (a few hundred bytes can ask for gigabytes), so expansion is capped.
        if (++expanded_nodes_ > max_expanded_nodes) {
            if (expanded_nodes_ == max_expanded_nodes + 1)
                error(node, "the configuration expands to more than " + std::to_string(max_expanded_nodes) +
                                " values (aliases of aliases?): refused");
            return nullptr;
        }
        places[pointer] = at(node);
        switch (node.Type()) {
            case YAML::NodeType::Map: {
                check_duplicates(node);
                json object = json::object();
                for (const auto& member : node) {
                    const std::string key = member.first.Scalar();
                    const std::string child = pointer + "/" + watchgate::json::pointer_token(key);
                    places[child] = at(member.first);
                    object[key] = to_json(member.second, child, places, depth + 1);
                    places[child] = at(member.first);
                }
                return object;
            }
            case YAML::NodeType::Sequence: {
                json array = json::array();
                for (std::size_t i = 0; i < node.size(); ++i)
                    array.push_back(to_json(node[i], pointer + "/" + std::to_string(i), places, depth + 1));
                return array;
            }
            case YAML::NodeType::Scalar:
                return scalar(node);
            default:
                return nullptr;
        }
    }

private:
    std::size_t expanded_nodes_ = 0;
    bool too_deep_reported_ = false;

    // YAML 1.2 core schema for plain scalars; quoted scalars are always strings.
    static json scalar(const YAML::Node& node) {
        const std::string& s = node.Scalar();
        if (node.Tag() == "!") return s;
        if (s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL") return nullptr;
        if (s == "true" || s == "True" || s == "TRUE") return true;
        if (s == "false" || s == "False" || s == "FALSE") return false;
        static const std::regex integer_pattern("[-+]?[0-9]+");
        static const std::regex float_pattern(R"([-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?)");
        if (std::regex_match(s, integer_pattern)) {
            errno = 0;
            long long value = std::strtoll(s.c_str(), nullptr, 10);
            if (errno == 0) return value;
        }
        if (std::regex_match(s, float_pattern)) return std::strtod(s.c_str(), nullptr);
        return s;
    }

    std::filesystem::path file_;
    std::vector<ConfigError> errors_;
};

std::vector<std::string> read_string_list(Reader& reader, const YAML::Node& node, std::string_view what);

// `directions: [request, response]`: at least one, each once.
void read_directions(Reader& reader, const YAML::Node& node, PluginReach& reach) {
    if (!reader.expect(node, YAML::NodeType::Sequence, "a list of directions: [request, response]")) return;
    reach.toward_upstream = reach.toward_client = false;
    for (const auto& item : node) {
        const auto name = reader.string(item, "a direction (request or response)");
        if (!name) continue;
        bool& direction = *name == "request" ? reach.toward_upstream : reach.toward_client;
        if (*name != "request" && *name != "response")
            reader.error(item, "unknown direction '" + *name + "' (expected request or response)");
        else if (direction)
            reader.error(item, "direction '" + *name + "' is listed twice");
        else
            direction = true;
    }
    if (!reach.toward_upstream && !reach.toward_client && node.size() == 0)
        reader.error(node, "an empty list of directions would give the plugin nothing (leave directions out for both)");
}

void read_entry(Reader& reader, const YAML::Node& node, PluginRole role, const std::string& scope,
                GatewayConfig& config) {
    if (!reader.expect(node, YAML::NodeType::Map, "a plugin entry (a mapping with 'handler:' or 'path:')")) return;
    reader.check_keys(node, entry_keys, "a plugin entry");
    PluginEntryConfig entry;
    entry.role = role;
    entry.scope = scope;
    entry.where = reader.at(node);
    entry.config_where = entry.where;
    const auto handler = node["handler"];
    const auto path = node["path"];
    if (handler && path)
        reader.error(node, "a plugin entry takes 'handler:' or 'path:', not both");
    else if (!handler && !path)
        reader.error(node, "a plugin entry needs 'handler:' (a plugin name) or 'path:' (a file)");
    if (handler) {
        if (auto name = reader.string(handler, "a plugin name")) {
            static const std::regex valid("[a-z][a-z0-9_]*");
            if (std::regex_match(*name, valid))
                entry.handler = *name;
            else
                reader.error(handler, "invalid plugin name '" + *name + "' (expected [a-z][a-z0-9_]*)");
        }
    }
    if (path) {
        if (auto text = reader.string(path, "a plugin file path")) entry.path = reader.resolve_path(*text);
    }
    if (const auto instance = node["instance"]) {
        if (auto name = reader.string(instance, "an instance name")) {
            static const std::regex valid("[a-z][a-z0-9_]*");
            if (std::regex_match(*name, valid))
                entry.instance = *name;
            else
                reader.error(instance, "invalid instance name '" + *name + "' (expected [a-z][a-z0-9_]*)");
        }
    }
    for (const auto& member : node)
        if (member.first.Scalar() == "config") entry.config_where = reader.at(member.first);
    if (const auto plugin_config = node["config"]) {
        if (plugin_config.IsMap()) {
            reader.check_duplicates(plugin_config);
            for (const auto& member : plugin_config) {
                const std::string key = member.first.Scalar();
                if (key == "enabled") {
                    if (auto value = reader.boolean(member.second)) entry.enabled = *value;
                } else if (key == "priority") {
                    if (auto value = reader.integer(member.second, 0, 100)) entry.priority = static_cast<int>(*value);
                } else if (key == "critical") {
                    if (auto value = reader.boolean(member.second)) entry.critical = *value;
                } else if (key == "directions") {
                    read_directions(reader, member.second, entry.reach);
                } else if (key == "include_tools") {
                    entry.reach.include_tools = read_string_list(reader, member.second, "tool names");
                } else if (key == "exclude_tools") {
                    entry.reach.exclude_tools = read_string_list(reader, member.second, "tool names");
                } else {
                    const std::string pointer = "/" + watchgate::json::pointer_token(key);
                    entry.config[key] = reader.to_json(member.second, pointer, entry.locations);
                    entry.locations[pointer] = reader.at(member.first);
                }
            }
        } else if (!plugin_config.IsNull()) {
            reader.error(plugin_config, "expected a mapping of plugin settings under 'config:'");
        }
    }
    config.plugins.push_back(std::move(entry));
}

// One list names a plugin once: two entries of one handler would be one pipeline stage, of which
// only the last would run.
void check_listed_once(Reader& reader, const GatewayConfig& config, std::size_t first, const std::string& list_name) {
    std::map<std::string, int> line_of;
    for (std::size_t index = first; index < config.plugins.size(); ++index) {
        const PluginEntryConfig& entry = config.plugins[index];
        std::string key = !entry.handler.empty() ? "plugin '" + entry.handler + "'"
                          : entry.path           ? "plugin file " + entry.path->string()
                                                 : std::string();
        if (key.empty()) continue;
        if (!entry.instance.empty()) key += " instance '" + entry.instance + "'";
        auto [seen, inserted] = line_of.emplace(key, entry.where.line);
        if (!inserted)
            reader.error(
                entry.where,
                key + " is already listed under " + list_name + " (line " + std::to_string(seen->second) +
                    "): a list runs each plugin once; merge the two entries, or give each its own instance: name");
    }
}

void read_plugins(Reader& reader, const YAML::Node& plugins, GatewayConfig& config) {
    if (!reader.expect(plugins, YAML::NodeType::Map, "a mapping with security:, middleware: and auditing:")) return;
    reader.check_keys(plugins, plugin_kinds, "plugins");
    std::vector<std::string> scopes{global_scope};
    for (const auto& upstream : config.upstreams) scopes.push_back(upstream.name);
    for (std::size_t k = 0; k < plugin_kinds.size(); ++k) {
        const auto section = plugins[plugin_kinds[k]];
        if (!section || section.IsNull()) continue;
        if (!reader.expect(section, YAML::NodeType::Map, "a mapping of '_global' or upstream names to plugin lists"))
            continue;
        for (const auto& member : section) {
            const std::string scope = member.first.Scalar();
            if (std::find(scopes.begin(), scopes.end(), scope) == scopes.end()) {
                std::string known;
                for (const auto& s : scopes) known += (known.empty() ? "" : ", ") + s;
                reader.error(member.first, "unknown upstream '" + scope + "' under plugins." + plugin_kinds[k] +
                                               " (expected one of: " + known + ")" + did_you_mean(scope, scopes));
                continue;
            }
            if (member.second.IsNull()) continue;
            if (!reader.expect(member.second, YAML::NodeType::Sequence, "a list of plugin entries")) continue;
            const std::size_t first = config.plugins.size();
            for (const auto& entry : member.second)
                read_entry(reader, entry, static_cast<PluginRole>(k), scope, config);
            check_listed_once(reader, config, first, "plugins." + plugin_kinds[k] + "." + scope);
        }
    }
}

std::optional<std::chrono::milliseconds> read_seconds(Reader& reader, const YAML::Node& node) {
    if (node.IsScalar() && node.Tag() != "!") {
        char* end = nullptr;
        const double seconds = std::strtod(node.Scalar().c_str(), &end);
        // Whole milliseconds are what the gateway keeps: 1e-300 would round to "no time at all".
        if (end && *end == '\0' && !node.Scalar().empty() && seconds >= 0.001 && seconds <= 86400)
            return std::chrono::milliseconds(static_cast<long long>(seconds * 1000 + 0.5));
    }
    reader.error(node, "expected a number of seconds, at least 0.001 and at most 86400");
    return std::nullopt;
}

void read_timeouts(Reader& reader, const YAML::Node& node, TimeoutConfig& timeouts) {
    if (!reader.expect(node, YAML::NodeType::Map, "a mapping with connection_timeout and request_timeout")) return;
    reader.check_keys(node, {"connection_timeout", "request_timeout"}, "timeouts");
    if (const auto n = node["connection_timeout"])
        if (auto value = read_seconds(reader, n)) timeouts.connection = *value;
    if (const auto n = node["request_timeout"])
        if (auto value = read_seconds(reader, n)) timeouts.request = *value;
}

void read_concurrency(Reader& reader, const YAML::Node& node, ConcurrencyConfig& concurrency) {
    if (!reader.expect(node, YAML::NodeType::Map, "a mapping with max_in_flight and overflow")) return;
    reader.check_keys(node, {"max_in_flight", "overflow"}, "concurrency");
    if (const auto n = node["max_in_flight"])
        if (auto value = reader.integer(n, 1, 100000)) concurrency.max_in_flight = static_cast<int>(*value);
    if (const auto n = node["overflow"])
        if (auto which = reader.either(n, "queue", "reject"))
            concurrency.overflow = *which == 0 ? OverflowPolicy::queue : OverflowPolicy::reject;
}

// Whether `key` could be a shortening of `word`: its letters appear in `word` in order, the first
// one first ("cmd", "comand" for "command").
bool abbreviates(std::string_view key, std::string_view word) {
    if (key.empty() || key.front() != word.front()) return false;
    std::size_t at = 0;
    for (char c : key) {
        at = word.find(c, at);
        if (at == std::string_view::npos) return false;
        ++at;
    }
    return true;
}

// The first line (1-based) whose indentation holds a tab, if any.
std::optional<int> first_tab_indented_line(std::string_view text) {
    int line = 1;
    bool indent = true;
    for (char c : text) {
        if (c == '\n') {
            ++line;
            indent = true;
        } else if (indent && c == '\t') {
            return line;
        } else if (c != ' ') {
            indent = false;
        }
    }
    return std::nullopt;
}

const std::vector<std::string> proxy_keys = {"http",
                                             "transport",
                                             "upstreams",
                                             "timeouts",
                                             "concurrency",
                                             "max_message_size_mb",
                                             "shutdown_grace_period",
                                             "threads",
                                             "namespace",
                                             "debug_metadata",
                                             "max_client_requests",
                                             "queue_limit_mb",
                                             "stall_timeout"};
const std::vector<std::string> upstream_keys = {"name",
                                                "command",
                                                "env",
                                                "cwd",
                                                "restart_on_failure",
                                                "max_restart_attempts",
                                                "timeouts",
                                                "concurrency",
                                                "transport",
                                                "sharing",
                                                "era",
                                                "url",
                                                "headers",
                                                "tls",
                                                "reconnect"};

// `${VAR}` in a header value: the variable's value. An unset one is an error (a token that is not
// there would be sent as an empty header and fail far from its cause). The value is a secret:
// errors name the variable, never what it holds.
std::optional<std::string> expand_header_value(Reader& reader, const YAML::Node& node, const std::string& text) {
    std::string out;
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '$' && i + 1 < text.size() && text[i + 1] == '{') {
            const auto close = text.find('}', i + 2);
            if (close == std::string::npos) {
                reader.error(node, "'${' without its '}' (write ${NAME} to use an environment variable)");
                return std::nullopt;
            }
            const std::string name = text.substr(i + 2, close - i - 2);
            const char* value = std::getenv(name.c_str());
            if (!value) {
                reader.error(node, "the environment variable " + name + " is not set");
                return std::nullopt;
            }
            out += value;
            i = close;
        } else {
            out += text[i];
        }
    }
    for (unsigned char c : out)
        if (c < 0x20 && c != '\t') {
            reader.error(node, "a header value cannot hold a line break or a control character");
            return std::nullopt;
        }
    return out;
}

// HTTP headers the gateway sends (an upstream's, the trace exporter's), values with ${VAR} expanded.
void read_headers(Reader& reader, const YAML::Node& node, std::vector<std::pair<std::string, std::string>>& out) {
    if (!reader.expect(node, YAML::NodeType::Map, "a mapping of header names to values")) return;
    reader.check_duplicates(node);
    static const std::regex token("[!#$%&'*+.^_`|~0-9A-Za-z-]+");
    // Set by the gateway itself: a configured one would contradict it.
    static const std::set<std::string> reserved = {"host",
                                                   "content-length",
                                                   "content-type",
                                                   "accept",
                                                   "mcp-session-id",
                                                   "mcp-protocol-version",
                                                   "last-event-id",
                                                   "connection",
                                                   "transfer-encoding",
                                                   "expect",
                                                   "te",
                                                   "upgrade",
                                                   "keep-alive",
                                                   "trailer",
                                                   "proxy-connection"};
    for (const auto& member : node) {
        const std::string name = member.first.Scalar();
        std::string lower = name;
        std::transform(lower.begin(), lower.end(), lower.begin(),
                       [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
        if (!std::regex_match(name, token)) {
            reader.error(member.first, "'" + name + "' is not a valid HTTP header name");
        } else if (reserved.count(lower)) {
            reader.error(member.first, "the gateway sets " + name + " itself");
        } else if (!member.second.IsScalar()) {
            reader.error(member.second, "expected a string value");
        } else if (auto value = expand_header_value(reader, member.second, member.second.Scalar())) {
            out.emplace_back(name, std::move(*value));
        }
    }
}

// `tls: {ca_file, verify}` of a connection the gateway makes (an upstream's, the trace exporter's).
void read_client_tls(Reader& reader, const YAML::Node& node, std::string_view owner,
                     std::optional<std::filesystem::path>& ca_file, bool& verify) {
    if (!reader.expect(node, YAML::NodeType::Map, "a mapping with ca_file and verify")) return;
    reader.check_keys(node, {"ca_file", "verify"}, owner);
    if (const auto n = node["verify"])
        if (auto value = reader.boolean(n)) verify = *value;
    if (const auto n = node["ca_file"]) {
        if (auto text = reader.string(n, "a PEM file path")) {
            auto path = reader.resolve_path(*text);
            std::error_code error;
            if (!std::filesystem::is_regular_file(path, error))
                reader.error(n, "no such file: " + path.string());
            else
                ca_file = std::move(path);
        }
    }
}

void read_reconnect(Reader& reader, const YAML::Node& node, UpstreamConfig& upstream) {
    if (!reader.expect(node, YAML::NodeType::Map, "a mapping with max_attempts, backoff and max_backoff")) return;
    reader.check_keys(node, {"max_attempts", "backoff", "max_backoff"}, "reconnect");
    if (const auto n = node["max_attempts"])
        if (auto value = reader.integer(n, 0, 1000)) upstream.max_restart_attempts = static_cast<int>(*value);
    if (const auto n = node["backoff"])
        if (auto value = read_seconds(reader, n)) upstream.restart_backoff = *value;
    if (const auto n = node["max_backoff"])
        if (auto value = read_seconds(reader, n)) upstream.max_restart_backoff = *value;
    if (upstream.max_restart_backoff < upstream.restart_backoff)
        reader.error(node, "max_backoff is shorter than backoff");
}

void read_upstream(Reader& reader, const YAML::Node& node, GatewayConfig& config, std::set<std::string>& seen) {
    if (!reader.expect(node, YAML::NodeType::Map, "an upstream (a mapping with 'name:' and 'command:' or 'url:')"))
        return;
    // A required key that is missing is the likelier meaning of an unknown one that could
    // abbreviate it (`cmd:` is 'command', not 'cwd').
    reader.check_keys(node, upstream_keys, "an upstream", [&node](const std::string& key) -> std::string {
        if (!node["command"] && !node["url"] && abbreviates(key, "command")) return "; did you mean 'command'?";
        return {};
    });
    UpstreamConfig upstream;
    upstream.where = reader.at(node);
    upstream.timeouts = config.timeouts;
    upstream.concurrency = config.concurrency;
    static const std::regex valid("[a-z][a-z0-9_-]*");
    const auto name_node = node["name"];
    if (!name_node) {
        reader.error(node, "an upstream needs 'name:'");
        return;
    }
    auto name = reader.string(name_node, "an upstream name");
    if (!name) return;
    if (!std::regex_match(*name, valid) || name->find("__") != std::string::npos) {
        reader.error(name_node, "invalid upstream name '" + *name + "' (expected ^[a-z][a-z0-9_-]*$ without '__')");
        return;
    }
    if (!seen.insert(*name).second) {
        reader.error(name_node, "duplicate upstream name '" + *name + "'");
        return;
    }
    upstream.name = *name;
    upstream.where = reader.at(name_node);
    const auto command = node["command"];
    const auto url = node["url"];
    if (command && url) {
        reader.error(url, "upstream '" + *name + "' has both 'command:' and 'url:': it is one or the other");
    } else if (!command && !url) {
        reader.error(node, "upstream '" + *name +
                               "' needs 'command:' (a list: program, then arguments) or 'url:' (a remote server)");
    } else if (url) {
        upstream.transport = UpstreamTransportKind::streamable_http;
        if (auto text = reader.string(url, "the server's URL (http:// or https://)")) {
            std::string why;
            if (!Url::parse(*text, &why))
                reader.error(url, why);
            else
                upstream.url = *text;
        }
    } else if (command.IsSequence() && command.size() > 0) {
        for (const auto& part : command)
            if (auto text = reader.string(part, "a program or argument (a non-empty string)"))
                upstream.command.push_back(*text);
        // The program: `~`, `$VAR` and a path with a '/' resolve like other paths; a bare name is
        // looked up in PATH when the upstream starts.
        if (!upstream.command.empty()) {
            const std::string& program = upstream.command.front();
            if (program.find('/') != std::string::npos || program.starts_with('~') || program.starts_with('$'))
                upstream.command.front() = reader.resolve_path(program).string();
        }
    } else {
        reader.error(command, "expected a non-empty list: program, then arguments (no shell is used)");
    }
    if (const auto transport = node["transport"]) {
        static const std::vector<std::string> names = {"stdio", "streamable_http", "sse", "auto"};
        const std::string word = transport.IsScalar() ? transport.Scalar() : std::string();
        const auto it = std::find(names.begin(), names.end(), word);
        if (it == names.end()) {
            reader.error(transport, "expected stdio, streamable_http, sse or auto" + did_you_mean(word, names));
        } else if ((it == names.begin()) != !url) {
            reader.error(transport,
                         url ? "a 'url:' upstream speaks streamable_http, sse or auto, not stdio"
                             : "'transport: " + word + "' needs 'url:' (a 'command:' upstream speaks stdio)");
        } else {
            upstream.transport = static_cast<UpstreamTransportKind>(it - names.begin());
        }
    }
    // What only a remote or only a local server can use.
    for (const char* key : {"headers", "tls", "reconnect"})
        if (node[key] && !url) reader.error(node[key], std::string("'") + key + ":' is for a 'url:' upstream");
    for (const char* key : {"env", "cwd"})
        if (node[key] && url) reader.error(node[key], std::string("'") + key + ":' is for a 'command:' upstream");
    if (const auto n = node["headers"]) read_headers(reader, n, upstream.headers);
    if (const auto n = node["tls"])
        read_client_tls(reader, n, "an upstream's tls", upstream.tls_ca_file, upstream.tls_verify);
    if (const auto env = node["env"]) {
        if (reader.expect(env, YAML::NodeType::Map, "a mapping of environment variables")) {
            reader.check_duplicates(env);
            for (const auto& member : env) {
                if (member.second.IsScalar())
                    upstream.env[member.first.Scalar()] = member.second.Scalar();
                else
                    reader.error(member.second, "expected a string value");
            }
        }
    }
    if (const auto cwd = node["cwd"])
        if (auto text = reader.string(cwd, "a folder path")) upstream.cwd = reader.resolve_path(*text);
    if (const auto n = node["restart_on_failure"])
        if (auto value = reader.boolean(n)) upstream.restart_on_failure = *value;
    if (const auto n = node["max_restart_attempts"])
        if (auto value = reader.integer(n, 0, 1000)) upstream.max_restart_attempts = static_cast<int>(*value);
    if (const auto n = node["sharing"])
        if (auto which = reader.either(n, "shared", "per_session"))
            upstream.sharing = *which == 0 ? UpstreamSharing::shared : UpstreamSharing::per_session;
    if (const auto n = node["era"]) {
        static const std::vector<std::string> names = {"auto", "session", "stateless"};
        const std::string word = n.IsScalar() ? n.Scalar() : std::string();
        if (const auto it = std::find(names.begin(), names.end(), word); it != names.end())
            upstream.era = static_cast<UpstreamEraChoice>(it - names.begin());
        else
            reader.error(n, "expected auto, session or stateless" + did_you_mean(word, names));
    }
    if (const auto n = node["timeouts"]) read_timeouts(reader, n, upstream.timeouts);
    if (const auto n = node["concurrency"]) read_concurrency(reader, n, upstream.concurrency);
    if (const auto n = node["reconnect"]) read_reconnect(reader, n, upstream);
    config.upstreams.push_back(std::move(upstream));
}

std::vector<std::string> read_string_list(Reader& reader, const YAML::Node& node, std::string_view what) {
    std::vector<std::string> out;
    if (!reader.expect(node, YAML::NodeType::Sequence, "a list of " + std::string(what))) return out;
    for (const auto& item : node)
        if (auto text = reader.string(item, std::string(what).substr(0, what.size() - 1) + " (a non-empty string)"))
            out.push_back(*text);
    return out;
}

// A configuration's side file (a token, a key set) of at most 64 KiB. A folder, a FIFO or a
// device is refused, not read (a FIFO would block, a folder's read fails).
std::optional<std::string> read_small_file(Reader& reader, const YAML::Node& node, const std::filesystem::path& path,
                                           std::string_view what, std::string_view expected) {
    constexpr std::uintmax_t max_size = 64 * 1024;
    const std::string name = "the " + std::string(what) + " " + path.string();
    std::error_code fs_error;
    if (!std::filesystem::is_regular_file(path, fs_error)) {
        reader.error(node, name + " is missing or not a regular file");
        return std::nullopt;
    }
    if (std::filesystem::file_size(path, fs_error) > max_size || fs_error) {
        reader.error(node, name + " is over 64 KiB: expected " + std::string(expected));
        return std::nullopt;
    }
    std::ifstream in(path, std::ios::binary);
    if (!in.is_open()) {
        reader.error(node, "cannot open " + name + " (" + std::strerror(errno) + ")");
        return std::nullopt;
    }
    std::string content(max_size, '\0');
    in.read(content.data(), static_cast<std::streamsize>(content.size()));  // sets badbit, never throws
    content.resize(static_cast<std::size_t>(std::max<std::streamsize>(in.gcount(), 0)));
    if (in.bad()) {
        reader.error(node, "cannot read " + name);
        return std::nullopt;
    }
    return content;
}

// One entry of `auth.tokens`: the token's SHA-256 (`sha256:`), or the token itself from an
// environment variable (`env:`) or a file (`file:`), hashed as it is read.
void read_bearer_token(Reader& reader, const YAML::Node& node, HttpConfig& http) {
    if (!reader.expect(node, YAML::NodeType::Map, "a token: a mapping with one of sha256, env or file, and subject"))
        return;
    reader.check_keys(node, {"sha256", "env", "file", "subject", "scopes"}, "a bearer token");
    BearerToken token;
    token.subject = "token " + std::to_string(http.bearer_tokens.size() + 1);
    if (const auto n = node["subject"])
        if (auto text = reader.string(n, "a subject name")) token.subject = *text;
    if (const auto n = node["scopes"]) token.scopes = read_string_list(reader, n, "scopes");
    const int sources = (node["sha256"] ? 1 : 0) + (node["env"] ? 1 : 0) + (node["file"] ? 1 : 0);
    if (sources != 1) {
        reader.error(node, "a bearer token needs exactly one of 'sha256:', 'env:' or 'file:'");
        return;
    }
    std::optional<std::string> secret;
    if (const auto hash = node["sha256"]) {
        static const std::regex hex("[0-9a-fA-F]{64}");
        auto text = reader.string(hash, "64 hex digits (the SHA-256 of the token)");
        if (!text) return;
        if (!std::regex_match(*text, hex)) {
            reader.error(hash, "expected 64 hex digits (the SHA-256 of the token: printf %s TOKEN | sha256sum)");
            return;
        }
        token.sha256 = *text;
        std::transform(token.sha256.begin(), token.sha256.end(), token.sha256.begin(),
                       [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    } else if (const auto env = node["env"]) {
        auto name = reader.string(env, "an environment variable name");
        if (!name) return;
        const char* value = std::getenv(name->c_str());
        if (!value || !*value) {
            reader.error(env, "the environment variable " + *name + " is not set (it should hold the token)");
            return;
        }
        secret = value;
    } else if (const auto file = node["file"]) {
        auto text = reader.string(file, "a file path");
        if (!text) return;
        auto content = read_small_file(reader, file, reader.resolve_path(*text), "token file", "one token");
        if (!content) return;
        while (!content->empty() && (content->back() == '\n' || content->back() == '\r' || content->back() == ' '))
            content->pop_back();
        if (content->empty()) {
            reader.error(file, "the token file " + reader.resolve_path(*text).string() + " is empty");
            return;
        }
        secret = std::move(content);
    }
    if (secret) {
        if (secret->size() < 16) {
            reader.error(node, "a bearer token needs at least 16 characters (use a random one: openssl rand -hex 32)");
            return;
        }
        token.sha256 = sha256_hex(*secret);
    }
    http.bearer_tokens.push_back(std::move(token));
}

// `type: jwt`: the issuer's rules and its public keys, read now so a bad key set stops the start
// (and a reload) with the file named.
void read_jwt_auth(Reader& reader, const YAML::Node& node, HttpConfig& http) {
    JwtAuthConfig jwt;
    if (const auto n = node["issuer"]) {
        if (auto text = reader.string(n, "the issuer's URL (the tokens' iss)")) jwt.rules.issuer = *text;
    } else {
        reader.error(node, "'type: jwt' needs 'issuer:' (the tokens' iss, e.g. https://auth.example.com/)");
    }
    if (const auto n = node["audience"]) {
        if (n.IsSequence())
            jwt.rules.audiences = read_string_list(reader, n, "audiences");
        else if (auto text = reader.string(n, "the audience the tokens name (aud), or a list of them"))
            jwt.rules.audiences = {*text};
    } else {
        reader.error(
            node,
            "'type: jwt' needs 'audience:' (the tokens' aud: this gateway's URL, e.g. https://mcp.example.com/mcp)");
    }
    if (const auto n = node["algorithms"]) {
        jwt.rules.algorithms.clear();
        for (const auto& name : read_string_list(reader, n, "algorithms")) {
            if (auto algorithm = jwt_algorithm(name))
                jwt.rules.algorithms.push_back(*algorithm);
            else
                reader.error(n, "unknown algorithm '" + name + "': expected RS256, ES256 or EdDSA" +
                                    did_you_mean(name, {"RS256", "ES256", "EdDSA"}));
        }
    }
    if (node["audience"] && jwt.rules.audiences.empty())
        reader.error(node["audience"], "expected at least one audience (the tokens' aud)");
    if (node["algorithms"] && jwt.rules.algorithms.empty())
        reader.error(node["algorithms"], "expected at least one of RS256, ES256 and EdDSA");
    if (const auto n = node["leeway"])
        if (auto value = reader.integer(n, 0, 3600)) jwt.rules.leeway = std::chrono::seconds(*value);
    if (const auto n = node["authorization_servers"])
        jwt.authorization_servers = read_string_list(reader, n, "authorization server URLs");
    else if (!jwt.rules.issuer.empty())
        jwt.authorization_servers = {jwt.rules.issuer};
    bool any_keys = false;
    auto load_keys = [&](const char* key, auto parse) {
        const auto n = node[key];
        if (!n) return;
        auto text = reader.string(n, "a file path");
        if (!text) return;
        const auto path = reader.resolve_path(*text);
        auto content = read_small_file(reader, n, path, "key file", "a key set");
        if (!content) return;
        try {
            jwt.keys.add(parse(*content));
            any_keys = true;
        } catch (const std::invalid_argument& error) {
            reader.error(n, path.string() + ": " + error.what());
        }
    };
    const auto errors_before = reader.errors().size();
    load_keys("jwks_file", [](const std::string& text) { return JwtKeySet::from_jwks(text); });
    load_keys("public_key_file", [](const std::string& text) { return JwtKeySet::from_pem(text); });
    if (!any_keys && reader.errors().size() == errors_before)
        reader.error(node, "'type: jwt' needs 'jwks_file:' (a JWKS document) or 'public_key_file:' (PEM public keys)");
    http.jwt = std::move(jwt);
}

void read_http_auth(Reader& reader, const YAML::Node& node, HttpConfig& http) {
    if (!reader.expect(node, YAML::NodeType::Map, "a mapping with 'type:' (none, bearer or jwt)")) return;
    reader.check_keys(node,
                      {"type", "tokens", "resource", "issuer", "audience", "jwks_file", "public_key_file", "algorithms",
                       "leeway", "authorization_servers", "required_scopes", "tool_scopes"},
                      "http.auth");
    if (const auto n = node["type"]) {
        static const std::vector<std::string> names = {"none", "bearer", "jwt"};
        const std::string word = n.IsScalar() ? n.Scalar() : std::string();
        if (const auto it = std::find(names.begin(), names.end(), word); it != names.end())
            http.auth = static_cast<HttpConfig::Auth>(it - names.begin());
        else
            reader.error(n, "expected none, bearer or jwt" + did_you_mean(word, names));
    }
    if (const auto n = node["resource"])
        if (auto text = reader.string(n, "the resource URL (https://host/mcp)")) http.resource = *text;
    if (const auto tokens = node["tokens"]) {
        if (http.auth != HttpConfig::Auth::bearer)
            reader.error(tokens, "'tokens:' is read only with 'type: bearer'");
        else if (reader.expect(tokens, YAML::NodeType::Sequence, "a list of tokens"))
            for (const auto& token : tokens) read_bearer_token(reader, token, http);
    }
    if (http.auth == HttpConfig::Auth::bearer && http.bearer_tokens.empty() && reader.errors().empty())
        reader.error(node, "'type: bearer' needs 'tokens:', a list of the tokens it accepts");
    static const std::vector<std::string> jwt_keys = {
        "issuer", "audience", "jwks_file", "public_key_file", "algorithms", "leeway", "authorization_servers"};
    if (http.auth == HttpConfig::Auth::jwt)
        read_jwt_auth(reader, node, http);
    else
        for (const auto& key : jwt_keys)
            if (const auto n = node[key]) reader.error(n, "'" + key + ":' is read only with 'type: jwt'");
    if (const auto n = node["required_scopes"]) http.required_scopes = read_string_list(reader, n, "scopes");
    if (const auto n = node["tool_scopes"]) {
        http.tool_scopes_where = reader.at(n);
        if (reader.expect(n, YAML::NodeType::Map, "a mapping of tool names to the scopes a call needs")) {
            reader.check_duplicates(n);
            for (const auto& member : n)
                http.tool_scopes[member.first.Scalar()] = read_string_list(reader, member.second, "scopes");
        }
    }
    if (http.auth == HttpConfig::Auth::none && (node["required_scopes"] || node["tool_scopes"]))
        reader.error(node, "scopes need authentication: 'type: bearer' (scopes per token) or 'type: jwt'");
}

// `tls: {cert_file, key_file}`: both PEM files must exist (whether they hold a usable certificate
// and key is checked when the gateway starts listening).
void read_http_tls(Reader& reader, const YAML::Node& tls, HttpConfig& http) {
    if (!reader.expect(tls, YAML::NodeType::Map, "a mapping with cert_file and key_file")) return;
    reader.check_keys(tls, {"cert_file", "key_file"}, "http.tls");
    auto file = [&](const char* key) -> std::optional<std::filesystem::path> {
        const auto node = tls[key];
        if (!node) {
            reader.error(tls, std::string("'tls:' needs '") + key + ":' (a PEM file)");
            return std::nullopt;
        }
        auto text = reader.string(node, "a PEM file path");
        if (!text) return std::nullopt;
        auto path = reader.resolve_path(*text);
        std::error_code error;
        if (!std::filesystem::is_regular_file(path, error)) {
            reader.error(node, "no such file: " + path.string());
            return std::nullopt;
        }
        return path;
    };
    auto cert = file("cert_file");
    auto key = file("key_file");
    if (cert && key) {
        http.tls_cert_file = std::move(cert);
        http.tls_key_file = std::move(key);
    }
}

std::string read_url_path(Reader& reader, const YAML::Node& node) {
    auto text = reader.string(node, "a URL path starting with '/'");
    if (!text) return {};
    if (text->front() != '/' || text->find_first_of("?# ") != std::string::npos) {
        reader.error(node, "expected a URL path starting with '/' (no query, no spaces)");
        return {};
    }
    return *text;
}

void read_http(Reader& reader, const YAML::Node& node, GatewayConfig& config) {
    auto& http = config.http;
    http.where = reader.at(node);
    if (!reader.expect(node, YAML::NodeType::Map, "a mapping with host, port, path and the HTTP front's limits"))
        return;
    reader.check_keys(node,
                      {"host", "port", "path", "legacy_sse_path", "allowed_origins", "allowed_hosts", "max_sessions",
                       "session_idle_timeout", "max_request_body_mb", "max_header_size_kb", "max_headers",
                       "replay_events", "auth", "tls"},
                      "http");
    if (const auto n = node["host"])
        if (auto text = reader.string(n, "an address to listen on (127.0.0.1, ::1, 0.0.0.0)")) http.host = *text;
    if (const auto n = node["port"])
        if (auto value = reader.integer(n, 0, 65535)) http.port = static_cast<std::uint16_t>(*value);
    if (const auto n = node["path"])
        if (auto text = read_url_path(reader, n); !text.empty()) http.path = text;
    if (const auto n = node["legacy_sse_path"]) {
        if (n.IsScalar() && (n.Scalar() == "false" || n.Scalar() == "off"))
            http.legacy_sse_path.clear();
        else if (auto text = read_url_path(reader, n); !text.empty())
            http.legacy_sse_path = text;
    }
    if (!http.legacy_sse_path.empty() && http.legacy_sse_path == http.path)
        reader.error(node, "'legacy_sse_path' must differ from 'path'");
    if (const auto n = node["allowed_origins"]) http.allowed_origins = read_string_list(reader, n, "origins");
    if (const auto n = node["allowed_hosts"]) http.allowed_hosts = read_string_list(reader, n, "hosts");
    if (const auto n = node["max_sessions"])
        if (auto value = reader.integer(n, 1, 1'000'000)) http.max_sessions = static_cast<std::size_t>(*value);
    if (const auto n = node["session_idle_timeout"])
        if (auto value = read_seconds(reader, n)) http.session_idle_timeout = *value;
    if (const auto n = node["max_request_body_mb"])
        if (auto value = reader.integer(n, 1, 4096)) http.max_request_body = static_cast<std::size_t>(*value) << 20;
    if (const auto n = node["max_header_size_kb"])
        if (auto value = reader.integer(n, 1, 1024)) http.max_header_size = static_cast<std::size_t>(*value) << 10;
    if (const auto n = node["max_headers"])
        if (auto value = reader.integer(n, 1, 10000)) http.max_headers = static_cast<std::size_t>(*value);
    if (const auto n = node["replay_events"])
        if (auto value = reader.integer(n, 0, 100000)) http.replay_events = static_cast<std::size_t>(*value);
    if (const auto n = node["auth"]) read_http_auth(reader, n, http);
    if (const auto tls = node["tls"]) read_http_tls(reader, tls, http);
}

void read_proxy(Reader& reader, const YAML::Node& proxy, GatewayConfig& config) {
    if (!reader.expect(proxy, YAML::NodeType::Map, "a mapping under 'proxy:'")) return;
    reader.check_keys(proxy, proxy_keys, "proxy");
    if (const auto transport = proxy["transport"])
        if (auto which = reader.either(transport, "stdio", "http")) config.transport = *which == 0 ? "stdio" : "http";
    if (const auto http = proxy["http"]) {
        read_http(reader, http, config);
        if (config.transport != "http")
            reader.error(http, "'http:' is read only with 'transport: http' (the client side is stdio now)");
    }
    if (const auto n = proxy["max_message_size_mb"])
        if (auto value = reader.integer(n, 1, 4096)) config.max_message_size = static_cast<std::size_t>(*value) << 20;
    if (const auto n = proxy["threads"])
        if (auto value = reader.integer(n, 1, 64)) config.threads = static_cast<int>(*value);
    if (const auto n = proxy["shutdown_grace_period"])
        if (auto value = read_seconds(reader, n)) config.shutdown_grace = *value;
    if (const auto n = proxy["max_client_requests"])
        if (auto value = reader.integer(n, 1, 1'000'000)) config.max_client_requests = static_cast<std::size_t>(*value);
    if (const auto n = proxy["queue_limit_mb"])
        if (auto value = reader.integer(n, 1, 4096)) config.streams.max_queued = static_cast<std::size_t>(*value) << 20;
    if (const auto n = proxy["stall_timeout"])
        if (auto value = read_seconds(reader, n)) config.streams.stall_timeout = *value;
    // Proxy-wide settings first: upstreams start from them.
    if (const auto n = proxy["timeouts"]) read_timeouts(reader, n, config.timeouts);
    if (const auto n = proxy["concurrency"]) read_concurrency(reader, n, config.concurrency);
    const auto upstreams = proxy["upstreams"];
    if (!upstreams) {
        reader.error(proxy, "'proxy:' needs 'upstreams:', a list of MCP servers to start");
        return;
    }
    if (!reader.expect(upstreams, YAML::NodeType::Sequence, "a list of upstreams")) return;
    if (upstreams.size() == 0)
        reader.error(upstreams, "expected at least one upstream: a gateway with none has nothing to serve");
    std::set<std::string> seen;
    for (const auto& upstream : upstreams) read_upstream(reader, upstream, config, seen);
    // auto (the default): one upstream keeps its names, two or more are prefixed.
    config.namespace_names = config.upstreams.size() > 1;
    if (const auto n = proxy["namespace"]; n && !(n.IsScalar() && n.Scalar() == "auto")) {
        if (auto value = reader.boolean(n, "auto, true or false")) {
            config.namespace_names = *value;
            // Without prefixes two upstreams' names could collide and calls could not be routed.
            if (!*value && config.upstreams.size() > 1)
                reader.error(n, "'namespace: false' needs exactly one upstream (names of several could collide)");
        }
    }
    if (const auto n = proxy["debug_metadata"])
        if (auto value = reader.boolean(n)) config.debug_metadata = *value;
    // A tool_scopes name the client never calls would protect nothing, silently.
    if (config.namespace_names)
        for (const auto& entry : config.http.tool_scopes) {
            const std::string& tool = entry.first;  // not a structured binding: lambdas capture it (clang 14)
            const auto cut = tool.find("__");
            const bool named = cut != std::string::npos &&
                               std::any_of(config.upstreams.begin(), config.upstreams.end(),
                                           [&](const UpstreamConfig& u) { return u.name == tool.substr(0, cut); });
            if (!named)
                reader.error(config.http.tool_scopes_where,
                             "tool_scopes: '" + tool +
                                 "' names no upstream: tools are namespaced, so clients call them "
                                 "'<upstream>__<tool>' (e.g. '" +
                                 (config.upstreams.empty() ? std::string("files") : config.upstreams.front().name) +
                                 "__" + tool + "')");
        }
}

void read_logging(Reader& reader, const YAML::Node& logging, GatewayConfig& config) {
    if (!reader.expect(logging, YAML::NodeType::Map, "a mapping under 'logging:'")) return;
    reader.check_keys(logging,
                      {"level", "handlers", "file_path", "max_file_size_mb", "backup_count", "format", "date_format"},
                      "logging");
    auto& out = config.logging;
    if (const auto n = logging["level"]) {
        static const std::vector<std::string> levels = {"trace", "debug", "info", "warning", "error", "critical"};
        std::string word = n.IsScalar() ? n.Scalar() : std::string();
        std::transform(word.begin(), word.end(), word.begin(), [](unsigned char c) { return std::tolower(c); });
        if (word == "warn") word = "warning";
        if (std::find(levels.begin(), levels.end(), word) != levels.end())
            out.level = word;
        else
            reader.error(n,
                         "expected one of: trace, debug, info, warning, error, critical" + did_you_mean(word, levels));
    }
    if (const auto handlers = logging["handlers"]) {
        if (reader.expect(handlers, YAML::NodeType::Sequence, "a list of handlers (stderr, file)")) {
            out.to_stderr = false;
            bool to_file = false;
            for (const auto& handler : handlers) {
                if (auto which = reader.either(handler, "stderr", "file"))
                    (*which == 0 ? out.to_stderr : to_file) = true;
            }
            if (to_file) {
                const auto path = logging["file_path"];
                if (!path)
                    reader.error(handlers, "the file handler needs 'file_path:'");
                else if (auto text = reader.string(path, "a file path"))
                    out.file_path = reader.resolve_path(*text);
            }
        }
    }
    if (const auto n = logging["max_file_size_mb"])
        if (auto value = reader.integer(n, 1, 100000)) out.max_file_size_mb = static_cast<int>(*value);
    if (const auto n = logging["backup_count"])
        if (auto value = reader.integer(n, 0, 1000)) out.backup_count = static_cast<int>(*value);
}

void read_admin(Reader& reader, const YAML::Node& node, GatewayConfig& config) {
    if (!reader.expect(node, YAML::NodeType::Map, "a mapping with host and port under 'admin:'")) return;
    reader.check_keys(node, {"host", "port"}, "admin");
    AdminConfig admin;
    admin.where = reader.at(node);
    if (const auto n = node["host"])
        if (auto text = reader.string(n, "an address to listen on (127.0.0.1, ::1, 0.0.0.0)")) admin.host = *text;
    if (const auto n = node["port"])
        if (auto value = reader.integer(n, 0, 65535)) admin.port = static_cast<std::uint16_t>(*value);
    config.admin = std::move(admin);
}

void read_tracing(Reader& reader, const YAML::Node& node, GatewayConfig& config) {
    if (!reader.expect(node, YAML::NodeType::Map, "a mapping with endpoint under 'tracing:'")) return;
    reader.check_keys(node,
                      {"endpoint", "service_name", "headers", "tls", "queue_limit", "batch_size", "export_interval"},
                      "tracing");
    TracingConfig tracing;
    tracing.where = reader.at(node);
    if (const auto n = node["endpoint"]) {
        if (auto text = reader.string(n, "an OTLP/HTTP traces URL (http://127.0.0.1:4318/v1/traces)")) {
            std::string why;
            const auto url = Url::parse(*text, &why);
            if (!url)
                reader.error(n, why);
            else
                tracing.endpoint = *text;
        }
    } else {
        reader.error(node, "'tracing:' needs 'endpoint:', the collector's OTLP/HTTP traces URL");
    }
    if (const auto n = node["service_name"])
        if (auto text = reader.string(n, "a service name")) tracing.service_name = *text;
    if (const auto n = node["headers"]) read_headers(reader, n, tracing.headers);
    if (const auto n = node["tls"]) read_client_tls(reader, n, "tracing.tls", tracing.tls_ca_file, tracing.tls_verify);
    if (const auto n = node["queue_limit"])
        if (auto value = reader.integer(n, 1, 1'000'000)) tracing.queue_limit = static_cast<std::size_t>(*value);
    if (const auto n = node["batch_size"])
        if (auto value = reader.integer(n, 1, 100'000)) tracing.batch_size = static_cast<std::size_t>(*value);
    if (const auto n = node["export_interval"])
        if (auto value = read_seconds(reader, n)) tracing.export_interval = *value;
    config.tracing = std::move(tracing);
}

}  // namespace

SourceLocation PluginEntryConfig::locate(const std::string& pointer) const {
    std::string probe = pointer;
    for (;;) {
        auto found = locations.find(probe);
        if (found != locations.end()) return found->second;
        auto slash = probe.rfind('/');
        if (slash == std::string::npos || probe.empty()) return config_where;
        probe.erase(slash);
        if (probe.empty()) return config_where;
    }
}

GatewayConfig parse_config(const std::string& text, const std::filesystem::path& file) {
    Reader reader(file);
    GatewayConfig config;
    config.file = file;
    YAML::Node root;
    try {
        root = YAML::Load(text);
    } catch (const YAML::Exception& e) {
        std::string why = "invalid YAML: " + e.msg;
        if (auto line = first_tab_indented_line(text))
            why += " (line " + std::to_string(*line) + " is indented with a tab: YAML allows only spaces)";
        throw ConfigErrors({{SourceLocation{file.string(), e.mark.line + 1, e.mark.column + 1}, why}});
    }
    if (!root.IsMap())
        throw ConfigErrors({{SourceLocation{file.string(), 1, 1}, "expected a mapping at the top level"}});
    reader.check_keys(root, top_level_keys, "the top level", [](const std::string& key) -> std::string {
        if (std::find(proxy_keys.begin(), proxy_keys.end(), key) != proxy_keys.end())
            return ": it belongs under 'proxy:'";
        if (std::find(upstream_keys.begin(), upstream_keys.end(), key) != upstream_keys.end())
            return ": it belongs to an upstream, under 'proxy: upstreams:'";
        return {};
    });
    if (const auto proxy = root["proxy"]) read_proxy(reader, proxy, config);
    if (const auto dirs = root["plugin_dirs"]) {
        if (reader.expect(dirs, YAML::NodeType::Sequence, "a list of folders"))
            for (const auto& dir : dirs)
                if (auto text_dir = reader.string(dir, "a folder path"))
                    config.plugin_dirs.push_back(reader.resolve_path(*text_dir));
    }
    if (const auto insecure = root["allow_insecure_plugin_paths"]) {
        if (auto value = reader.boolean(insecure)) config.allow_insecure_plugin_paths = *value;
    }
    if (const auto plugins = root["plugins"]) read_plugins(reader, plugins, config);
    if (const auto logging = root["logging"]) read_logging(reader, logging, config);
    if (const auto admin = root["admin"]) read_admin(reader, admin, config);
    if (const auto tracing = root["tracing"]) read_tracing(reader, tracing, config);
    if (const auto pid_file = root["pid_file"])
        if (auto path = reader.string(pid_file, "a file path")) config.pid_file = reader.resolve_path(*path);
    auto keep_restart_only = [&](const std::string& name, const YAML::Node& node) {
        if (node) config.restart_only[name] = {YAML::Dump(node), reader.at(node)};
    };
    if (const auto proxy = root["proxy"]; proxy && proxy.IsMap())
        for (const auto& key : restart_only_proxy_keys) keep_restart_only("proxy." + key, proxy[key]);
    for (const char* key : {"logging", "admin", "pid_file", "tracing"}) keep_restart_only(key, root[key]);
    if (!reader.errors().empty())
        throw ConfigErrors(std::move(reader.errors()), std::make_shared<const GatewayConfig>(std::move(config)));
    return config;
}

GatewayConfig load_config(const std::filesystem::path& file) {
    auto refuse = [&](std::string why) { throw ConfigErrors({{SourceLocation{file.string(), 0, 0}, std::move(why)}}); };
    // Checked before opening: a FIFO would block the open, /dev/zero would never end.
    struct stat info {};
    if (::stat(file.c_str(), &info) != 0)
        refuse(std::string("cannot read the configuration file: ") + std::strerror(errno));
    if (S_ISDIR(info.st_mode)) refuse("expected a configuration file, found a folder");
    if (!S_ISREG(info.st_mode)) refuse("expected a regular configuration file (not a pipe, device or socket)");
    if (static_cast<std::size_t>(info.st_size) > max_config_file_size)
        refuse("the configuration file has " + std::to_string(info.st_size) + " bytes; at most " +
               std::to_string(max_config_file_size) + " are read");
    std::ifstream in(file, std::ios::binary);
    if (!in) refuse(std::string("cannot read the configuration file: ") + std::strerror(errno));
    std::ostringstream text;
    text << in.rdbuf();
    return parse_config(text.str(), std::filesystem::absolute(file));
}

}  // namespace watchgate::core
