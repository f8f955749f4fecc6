#pragma once
// The gateway's YAML configuration (docs/configuration.md), Gatekit-compatible: `proxy:`
// (transport, upstreams, timeouts, concurrency), `plugins:`, `plugin_dirs:`, `logging:`.

#include <watchgate/core/config/config_error.hpp>
#include <watchgate/core/base/jwt.hpp>
#include <watchgate/core/base/stream_limits.hpp>

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace watchgate::core {

inline constexpr char global_scope[] = "_global";

// Where a plugin entry is placed: its section under `plugins:`.
enum class PluginRole { security, middleware, auditing };
std::string_view role_name(PluginRole role);

// Which messages an entry's plugin is given (host keys `directions`, `include_tools`,
// `exclude_tools`; docs/configuration.md "Which messages a plugin sees").
struct PluginReach {
    bool toward_upstream = true;  // `request`: what the client sends (requests, notifications, answers)
    bool toward_client = true;    // `response`: what the upstream sends
    // tools/call traffic (the call, its answer, its progress) of these tools only / not of these;
    // names as the upstream knows them, or `<upstream>__<name>`. Other methods are not affected.
    std::vector<std::string> include_tools;
    std::vector<std::string> exclude_tools;
};

struct PluginEntryConfig {
    PluginRole role = PluginRole::security;
    std::string scope;                          // "_global" or an upstream name
    std::string handler;                        // `handler:`, or empty when `path:` is used
    std::string instance;                       // `instance:`, to list one plugin more than once
    std::optional<std::filesystem::path> path;  // `path:`, resolved against the config's folder
    bool enabled = true;
    int priority = 50;
    bool critical = true;
    PluginReach reach;
    nlohmann::json config = nlohmann::json::object();  // `config:` without the host keys
    std::map<std::string, SourceLocation> locations;   // JSON pointer in `config` -> YAML place
    SourceLocation where;                              // the entry itself
    SourceLocation config_where;                       // its `config:` mapping (or the entry)

    // Where an error at `pointer` (from the plugin) belongs: the nearest mapped place.
    SourceLocation locate(const std::string& pointer) const;
};

struct TimeoutConfig {
    std::chrono::milliseconds connection{60'000};  // start + initialize of an upstream
    std::chrono::milliseconds request{60'000};     // one request, queueing included
};

enum class OverflowPolicy { queue, reject };

struct ConcurrencyConfig {
    int max_in_flight = 100;
    OverflowPolicy overflow = OverflowPolicy::queue;
};

// Whether client sessions share one server (one process for all) or each session gets its own,
// started on its first use: for stateful servers that must not mix clients.
enum class UpstreamSharing { shared, per_session };

// How the gateway reaches an upstream: a child process it starts, or a server at a URL
// (docs/routing.md "Remote upstreams").
enum class UpstreamTransportKind {
    stdio,            // `command:`
    streamable_http,  // `url:`, the default for one
    sse,              // `url:` of the old HTTP+SSE transport's event stream
    auto_detect,      // `transport: auto`: Streamable HTTP, the old transport when it is refused
};
std::string_view transport_name(UpstreamTransportKind kind);

// Which MCP era the gateway speaks to an upstream (docs/routing.md "Eras"): `auto` probes with
// server/discover and falls back to initialize; the others skip the probe.
enum class UpstreamEraChoice { auto_detect, session, stateless };

struct UpstreamConfig {
    std::string name;
    SourceLocation where;
    UpstreamTransportKind transport = UpstreamTransportKind::stdio;
    std::string url;  // the server's endpoint when it is remote
    // Sent with every HTTP request; values had ${VAR} replaced and may be secrets: never logged.
    std::vector<std::pair<std::string, std::string>> headers;
    std::optional<std::filesystem::path> tls_ca_file;  // trusted besides the system's CAs
    bool tls_verify = true;                            // certificate and host name checked
    // Restarts (reconnects for a remote one): the first delay, doubled each time up to the last.
    std::chrono::milliseconds restart_backoff{250};
    std::chrono::milliseconds max_restart_backoff{32'000};
    std::vector<std::string> command;          // program and arguments; no shell
    std::map<std::string, std::string> env;    // merged over the gateway's environment
    std::optional<std::filesystem::path> cwd;  // resolved against the config's folder
    bool restart_on_failure = true;
    int max_restart_attempts = 3;
    UpstreamSharing sharing = UpstreamSharing::shared;
    UpstreamEraChoice era = UpstreamEraChoice::auto_detect;
    TimeoutConfig timeouts;
    ConcurrencyConfig concurrency;
};

struct LoggingConfig {
    std::string level = "info";  // trace | debug | info | warning | error | critical
    bool to_stderr = true;
    std::optional<std::filesystem::path> file_path;
    int max_file_size_mb = 10;
    int backup_count = 5;
};

// A bearer token the HTTP front accepts: only its SHA-256 is kept (docs/http.md).
struct BearerToken {
    std::string sha256;               // 64 lowercase hex digits
    std::string subject;              // who presents it, for audit records and logs
    std::vector<std::string> scopes;  // what it may do (required_scopes, tool_scopes)
};

// `auth: {type: jwt}`: tokens an authorization server signed (docs/http.md "JWT").
struct JwtAuthConfig {
    JwtRules rules;
    JwtKeySet keys;  // from jwks_file and public_key_file, read when the config is loaded
    // For the protected-resource metadata (RFC 9728): where clients get tokens; default the issuer.
    std::vector<std::string> authorization_servers;
};

// `proxy.http:`, the Streamable HTTP front (docs/http.md).
struct HttpConfig {
    std::string host = "127.0.0.1";
    std::uint16_t port = 8080;
    std::string path = "/mcp";
    // The old HTTP+SSE transport (2024-11-05): its event stream here, its POSTs under
    // `<legacy_sse_path>/messages`; empty turns it off.
    std::string legacy_sse_path = "/sse";
    // DNS-rebinding protection: a request whose Origin or Host is not listed gets 403. Empty
    // lists allow the loopback names (localhost, 127.0.0.1, [::1]) on any port.
    std::vector<std::string> allowed_origins;
    std::vector<std::string> allowed_hosts;
    std::size_t max_sessions = 1000;
    std::chrono::milliseconds session_idle_timeout{30 * 60'000};
    std::optional<std::size_t> max_request_body;  // bytes; unset: max_message_size
    std::size_t max_header_size = 16 * 1024;      // all of a request's header lines together
    std::size_t max_headers = 100;
    std::size_t replay_events = 256;  // per SSE stream, for Last-Event-ID
    enum class Auth { none, bearer, jwt } auth = Auth::none;
    std::vector<BearerToken> bearer_tokens;
    std::optional<JwtAuthConfig> jwt;
    // Scopes every request needs, and those a tools/call of a tool needs besides (the name the
    // client calls it by): without them 403 insufficient_scope.
    std::vector<std::string> required_scopes;
    std::map<std::string, std::vector<std::string>> tool_scopes;
    SourceLocation tool_scopes_where;
    std::string resource;  // the protected resource's URL for the RFC 9728 metadata; empty: derived
    // TLS (both or neither): PEM files, resolved against the config's folder.
    std::optional<std::filesystem::path> tls_cert_file;
    std::optional<std::filesystem::path> tls_key_file;
    SourceLocation where;  // `http:` itself, for messages about the whole section
};

// The admin listener (docs/operations.md): /metrics, /healthz, /readyz. Off unless configured.
struct AdminConfig {
    std::string host = "127.0.0.1";
    std::uint16_t port = 9464;  // 0: any free port (the log names it)
    SourceLocation where;
};

// OpenTelemetry traces (docs/operations.md "Traces"): spans exported as OTLP/HTTP with the JSON
// encoding. Off unless configured.
struct TracingConfig {
    std::string endpoint;  // http(s)://host:port/v1/traces
    std::string service_name = "watchgate";
    std::vector<std::pair<std::string, std::string>> headers;  // sent with every export; may be secrets
    std::optional<std::filesystem::path> tls_ca_file;          // trusted besides the system's CAs (https)
    bool tls_verify = true;
    std::size_t queue_limit = 4096;  // spans waiting; beyond, dropped and counted
    std::size_t batch_size = 512;    // spans per export at most
    std::chrono::milliseconds export_interval{1000};
    SourceLocation where;
};

// A setting a reload cannot change (docs/operations.md "Reload"): its YAML as read, and where.
struct RestartOnlySetting {
    std::string yaml;
    SourceLocation where;
};

struct GatewayConfig {
    std::filesystem::path file;
    std::string transport = "stdio";  // the client side: stdio | http
    HttpConfig http;
    std::size_t max_message_size = 64u << 20;  // bytes per line, both directions
    std::chrono::milliseconds shutdown_grace{5'000};
    // Threads running the event loop. One keeps latency lowest (no wake-ups between threads);
    // more help when plugins do heavy work on large messages.
    int threads = 1;
    // Requests from the client in flight at once; at the limit the gateway stops reading the
    // client until one is answered (backpressure, not an error).
    std::size_t max_client_requests = 1024;
    // Bytes that may wait to be written to one stream (the client's, each upstream's) before its
    // feeders pause, and how long a stream may take nothing before it is treated as failed.
    StreamLimits streams;
    TimeoutConfig timeouts;
    ConcurrencyConfig concurrency;
    std::vector<std::filesystem::path> plugin_dirs;
    bool allow_insecure_plugin_paths = false;
    // Tools and prompts as `<upstream>__<name>`, resources as `<upstream>__<uri>`. `namespace:
    // auto` (the default) turns it on for two or more upstreams only; off is allowed with a
    // single upstream only.
    bool namespace_names = true;
    // Lists say in `_meta` which upstreams were left out; off by default (strict clients).
    bool debug_metadata = false;
    std::vector<UpstreamConfig> upstreams;
    std::vector<PluginEntryConfig> plugins;
    LoggingConfig logging;
    std::optional<AdminConfig> admin;
    std::optional<TracingConfig> tracing;
    // `pid_file:`: written at start, removed at exit; `watchgate reload` signals the pid in it.
    std::optional<std::filesystem::path> pid_file;
    // The settings only a restart applies, by their YAML path ("proxy.threads", "admin").
    std::map<std::string, RestartOnlySetting> restart_only;
};

// Reads and checks `file`. Throws ConfigErrors listing every problem found.
GatewayConfig load_config(const std::filesystem::path& file);
// The same from text; `file` names it in errors and anchors relative paths.
GatewayConfig parse_config(const std::string& text, const std::filesystem::path& file);

}  // namespace watchgate::core
