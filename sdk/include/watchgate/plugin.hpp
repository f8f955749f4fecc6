// Header-only C++ layer over plugin.h. Derive from watchgate::Plugin, override the hooks you need,
// export with WATCHGATE_PLUGIN(YourClass). Exceptions never cross the C boundary: the adapter
// catches them and reports an error value. C++17 or newer.
//
//     class Deny : public watchgate::Plugin {
//     public:
//         static constexpr watchgate::PluginInfo info{"deny", "1.0.0", "Blocks one tool",
//                                                     watchgate::kind_security, watchgate::thread_safe};
//         explicit Deny(watchgate::Config& config) : tool_(config.string("tool")) {}
//         void on_request(watchgate::Message& message, watchgate::RequestState*) override {
//             if (message.target() == tool_) message.block("tool " + tool_ + " is not allowed");
//         }
//     private:
//         std::string tool_;
//     };
//     WATCHGATE_PLUGIN(Deny)
#ifndef WATCHGATE_PLUGIN_HPP
#define WATCHGATE_PLUGIN_HPP

#include <watchgate/json.hpp>
#include <watchgate/plugin.h>
#include <watchgate/suggest.hpp>
#include <watchgate/wg_str.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <initializer_list>
#include <memory>
#include <new>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace watchgate {

inline constexpr std::uint32_t kind_security = WG_KIND_SECURITY;
inline constexpr std::uint32_t kind_middleware = WG_KIND_MIDDLEWARE;
inline constexpr std::uint32_t kind_auditing = WG_KIND_AUDITING;
inline constexpr std::uint32_t thread_safe = WG_PLUGIN_THREAD_SAFE;
inline constexpr std::uint32_t not_thread_safe = 0;
inline constexpr std::uint32_t upstream_only = WG_PLUGIN_UPSTREAM_ONLY;

// What a plugin says about itself; becomes the C descriptor.
struct PluginInfo {
    const char* name;
    const char* version;
    const char* description;
    std::uint32_t kinds;
    std::uint32_t flags;
    const char* config_schema = nullptr;
};

// Thrown from on_audit when an event cannot be recorded and the plugin has already logged why (its
// own, rate-limited log): the host fails the request when the auditor is critical, logging nothing
// more per event; what() is the reason the client reads (ABI 1.2 audit_error).
struct AuditNotRecorded : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// Thrown by the SDK when a host call fails; also fine for plugins to throw. Any exception leaving
// a hook becomes a WG_ERROR with its what() as the message.
struct HostError : std::runtime_error {
    HostError(const std::string& what, wg_status code) : std::runtime_error(what), status(code) {}
    wg_status status;
};

enum class LogLevel : std::int32_t { trace = WG_LOG_TRACE, debug, info, warn, error };

// Host services for one instance.
class Host {
public:
    Host(const wg_host_api* api, wg_host* host) : api_(api), host_(host) {}
    void log(LogLevel level, std::string_view text) const {
        api_->log(host_, static_cast<wg_log_level>(level), str(text));
    }
    bool log_enabled(LogLevel level) const { return api_->log_enabled(host_, static_cast<wg_log_level>(level)) != 0; }
    const void* extension(const char* id) const { return api_->get_extension(host_, id); }
    // The configuration file's folder; empty from a host older than ABI 1.1.
    std::string_view config_folder() const {
        const bool has = api_->struct_size >= offsetof(wg_host_api, config_folder) + sizeof(void*);
        return has && api_->config_folder ? view(api_->config_folder(host_)) : std::string_view();
    }
    // `path` with a leading `~/` expanded and, when relative, resolved against config_folder().
    std::string resolve_path(std::string_view path) const {
        std::string out(path);
        if (out.rfind("~/", 0) == 0)
            if (const char* home = std::getenv("HOME")) out = std::string(home) + out.substr(1);
        if (!out.empty() && out[0] != '/' && !config_folder().empty()) out = std::string(config_folder()) + "/" + out;
        return out;
    }
    // Whether the instance is created only to check its configuration (`watchgate validate`,
    // WG_CREATE_VALIDATE_ONLY, ABI 1.2): then open no file, connect nowhere, start no thread.
    bool validate_only() const {
        const bool has = api_->struct_size >= offsetof(wg_host_api, create_flags) + sizeof(void*);
        return has && api_->create_flags && (api_->create_flags(host_) & WG_CREATE_VALIDATE_ONLY) != 0;
    }
    const wg_host_api* api() const { return api_; }

private:
    const wg_host_api* api_;
    wg_host* host_;
};

// Who a message is from or for (the "watchgate.context/1" extension); every field is empty when
// the host has no such extension or does not know.
struct MessageContext {
    std::string_view session_id;
    std::string_view transport;
    std::string_view era;
    std::string_view client_address;
    std::string_view subject;
    std::string_view upstream;
};

// One message during one hook call. Views it returns are valid until the hook returns.
class Message {
public:
    Message(const wg_host_api* api, wg_message* message, const wg_ext_context_1* context = nullptr)
        : api_(api), message_(message), context_(context) {}

    wg_message_kind kind() const { return api_->message_kind(message_); }
    bool is_request() const { return kind() == WG_MESSAGE_REQUEST; }
    bool is_response() const { return kind() == WG_MESSAGE_RESPONSE; }
    bool is_notification() const { return kind() == WG_MESSAGE_NOTIFICATION; }
    std::string_view method() const { return view(api_->message_method(message_)); }
    std::string_view id() const { return view(api_->message_id(message_)); }
    std::string_view upstream() const { return view(api_->message_upstream(message_)); }
    std::string_view target() const { return view(api_->message_target(message_)); }

    // JSON text at `pointer`, or nullopt when nothing is there.
    std::optional<std::string_view> get(std::string_view pointer) const {
        wg_str out{};
        wg_status status = api_->get(message_, str(pointer), &out);
        if (status == WG_ERR_NOT_FOUND) return std::nullopt;
        check(status, "get", pointer);
        return view(out);
    }
    // The parsed value at `pointer`, or nullopt.
    std::optional<json::Value> value(std::string_view pointer) const {
        auto text = get(pointer);
        if (!text) return std::nullopt;
        return json::parse(*text);
    }
    // Stores `value` (or JSON text, with set_json) at `pointer`.
    void set(std::string_view pointer, const json::Value& value) { set_json(pointer, json::dump(value)); }
    void set_json(std::string_view pointer, std::string_view json_text) {
        check(api_->set(message_, str(pointer), str(json_text)), "set", pointer);
    }
    bool remove(std::string_view pointer) {
        wg_status status = api_->remove(message_, str(pointer));
        if (status == WG_ERR_NOT_FOUND) return false;
        check(status, "remove", pointer);
        return true;
    }
    void replace_string(std::string_view pointer, std::string_view value) {
        check(api_->replace_string(message_, str(pointer), str(value)), "replace_string", pointer);
    }
    // Calls visitor(pointer, value, is_key) for every string below `pointer`; the visitor returns
    // false to stop. Returns false when stopped early.
    template <class Visitor>
    bool visit_strings(std::string_view pointer, Visitor&& visitor, bool include_keys = false) {
        // The visitor runs inside a host call: its exceptions are parked here and rethrown once the
        // host has returned, so none crosses the C boundary.
        struct Context {
            std::remove_reference_t<Visitor>* visitor;
            std::exception_ptr error;
        } context{&visitor, nullptr};
        struct Trampoline {
            static int call(void* user, wg_str p, wg_str v, int is_key) noexcept {
                auto* c = static_cast<Context*>(user);
                try {
                    return (*c->visitor)(view(p), view(v), is_key != 0) ? 0 : 1;
                } catch (...) {
                    c->error = std::current_exception();
                    return 1;
                }
            }
        };
        wg_status status =
            api_->visit_strings(message_, str(pointer), include_keys ? WG_VISIT_KEYS : 0u, &Trampoline::call, &context);
        if (context.error) std::rethrow_exception(context.error);
        if (status == WG_ERR_STOPPED) return false;
        check(status, "visit_strings", pointer);
        return true;
    }
    std::string_view serialize() const {
        wg_str out{};
        check(api_->serialize(message_, &out), "serialize", "");
        return view(out);
    }

    void block(std::string_view reason, std::int32_t code = 0, std::string_view data_json = {}) {
        check(api_->block(message_, str(reason), code, str(data_json)), "block", "");
    }
    // Answers the request with `response`: a JSON-RPC response or a bare result.
    void complete(const json::Value& response) { complete_json(json::dump(response)); }
    void complete_json(std::string_view response_json) {
        check(api_->complete(message_, str(response_json)), "complete", "");
    }
    void add_metadata(const json::Value& value) { add_metadata_json(json::dump(value)); }
    void add_metadata_json(std::string_view json_text) {
        check(api_->add_metadata(message_, str(json_text)), "add_metadata", "");
    }

    MessageContext context() const {
        wg_context out{};
        out.struct_size = sizeof out;
        if (!context_ || context_->message_context(message_, &out) != WG_OK) return {};
        return {view(out.session_id),     view(out.transport), view(out.era),
                view(out.client_address), view(out.subject),   view(out.upstream)};
    }

    wg_message* handle() const { return message_; }

private:
    static void check(wg_status status, const char* what, std::string_view pointer) {
        if (status == WG_OK) return;
        std::string text = std::string(what) + " failed (status " + std::to_string(status) + ")";
        if (!pointer.empty()) text += " at '" + std::string(pointer) + "'";
        throw HostError(text, status);
    }

    const wg_host_api* api_;
    wg_message* message_;
    const wg_ext_context_1* context_;
};

// Read-only view of an audit event.
class AuditEvent {
public:
    explicit AuditEvent(const wg_audit_event& event) : event_(event) {}
    wg_message_kind kind() const { return event_.kind; }
    std::int64_t time_unix_us() const { return event_.time_unix_us; }
    std::string_view request_id() const { return view(event_.request_id); }
    std::string_view upstream() const { return view(event_.upstream); }
    std::string_view method() const { return view(event_.method); }
    std::string_view target() const { return view(event_.target); }
    wg_outcome outcome() const { return event_.outcome; }
    std::string_view reason() const { return view(event_.reason); }
    std::size_t stage_count() const { return event_.stage_count; }
    const wg_audit_stage& stage(std::size_t index) const { return event_.stages[index]; }
    std::uint64_t duration_ns() const { return event_.duration_ns; }
    std::int32_t error_code() const { return event_.error_code; }
    bool content_cleared() const { return event_.content_cleared != 0; }
    std::string_view body() const { return view(event_.body); }
    // Since ABI 1.2; empty from an older host.
    std::string_view session_id() const { return since_1_2(&wg_audit_event::session_id); }
    std::string_view transport() const { return since_1_2(&wg_audit_event::transport); }
    std::string_view client_address() const { return since_1_2(&wg_audit_event::client_address); }
    std::string_view subject() const { return since_1_2(&wg_audit_event::subject); }
    const wg_audit_event& raw() const { return event_; }

private:
    // A field added in 1.2, when the host's struct is that long.
    std::string_view since_1_2(wg_str wg_audit_event::*field) const {
        const auto end = reinterpret_cast<const char*>(&(event_.*field)) + sizeof(wg_str);
        return end <= reinterpret_cast<const char*>(&event_) + event_.struct_size ? view(event_.*field)
                                                                                  : std::string_view();
    }
    const wg_audit_event& event_;
};

// One metric of the instance (the "watchgate.metrics/1" extension): served by the host as
// watchgate_plugin_<name>{plugin="<handler>"}. Made by Config::metric; does nothing when the host
// has no such extension. Thread: any, for the instance's life.
class Metric {
public:
    Metric() = default;
    Metric(const wg_ext_metrics_1* extension, wg_host* host, std::uint32_t id)
        : extension_(extension), host_(host), id_(id) {}
    // Counters: adds (>= 0); gauges: adds; histograms: observes.
    void add(double amount = 1) const {
        if (id_) extension_->add(host_, id_, amount);
    }
    void set(double value) const {
        if (id_) extension_->set(host_, id_, value);
    }

private:
    const wg_ext_metrics_1* extension_ = nullptr;
    wg_host* host_ = nullptr;
    std::uint32_t id_ = 0;
};

enum class MetricKind { counter = WG_METRIC_COUNTER, gauge = WG_METRIC_GAUGE, histogram = WG_METRIC_HISTOGRAM };

// Typed access to the plugin's `config:` mapping. Every problem is reported to the host as a
// JSON pointer + message (the host maps it to the YAML line); after the constructor, keys nobody
// asked for are reported as unknown.
class Config {
public:
    Config(const wg_host_api* api, wg_host* host, wg_config* errors, std::string_view json_text)
        : api_(api), host_(host), errors_(errors) {
        try {
            root_ = json::parse(json_text.empty() ? std::string_view("{}") : json_text);
        } catch (const json::ParseError& e) {
            error("", e.what());
        }
        if (!root_.is_object()) {
            error("", "expected a mapping");
            root_ = json::Object{};
        }
    }

    Host host() const { return Host(api_, host_); }
    const json::Value& root() const { return root_; }
    bool has(std::string_view key) const { return root_.find(key) != nullptr; }

    // The raw value of `key`, marking it known; nullptr when absent.
    const json::Value* raw(std::string_view key) {
        known_.emplace_back(key);
        return root_.find(key);
    }

    std::string string(std::string_view key, std::optional<std::string> fallback = std::nullopt) {
        const json::Value* value = typed(key, json::Value::Type::string, fallback.has_value());
        return value ? value->as_string() : fallback.value_or(std::string());
    }
    bool boolean(std::string_view key, bool fallback) {
        const json::Value* value = typed(key, json::Value::Type::boolean, true);
        return value ? value->as_bool() : fallback;
    }
    std::int64_t integer(std::string_view key, std::int64_t fallback, std::int64_t min = INT64_MIN,
                         std::int64_t max = INT64_MAX) {
        const json::Value* value = typed(key, json::Value::Type::integer, true);
        if (!value) return fallback;
        if (value->as_integer() < min || value->as_integer() > max) {
            error(pointer(key), "expected an integer from " + std::to_string(min) + " to " + std::to_string(max));
            return fallback;
        }
        return value->as_integer();
    }
    double number(std::string_view key, double fallback) {
        const json::Value* value = raw(key);
        if (!value) return fallback;
        if (!value->is_number()) {
            error(pointer(key), std::string("expected a number, got ") + json::Value::type_name(value->type()));
            return fallback;
        }
        return value->as_number();
    }
    std::vector<std::string> strings(std::string_view key, std::vector<std::string> fallback = {}) {
        const json::Value* value = typed(key, json::Value::Type::array, true);
        if (!value) return fallback;
        std::vector<std::string> out;
        std::size_t index = 0;
        for (const auto& item : value->as_array()) {
            if (item.is_string())
                out.push_back(item.as_string());
            else
                error(pointer(key) + "/" + std::to_string(index), "expected a string");
            ++index;
        }
        return out;
    }
    // One of the listed words; anything else is reported with the valid choices.
    template <class Enum>
    Enum choice(std::string_view key, std::initializer_list<std::pair<const char*, Enum>> choices, Enum fallback) {
        const json::Value* value = typed(key, json::Value::Type::string, true);
        if (!value) return fallback;
        std::string valid;
        for (const auto& [word, result] : choices) {
            if (value->as_string() == word) return result;
            valid += valid.empty() ? "" : ", ";
            valid += word;
        }
        error(pointer(key), "expected one of: " + valid);
        return fallback;
    }

    // Defines a metric of the instance (see Metric); a bad definition is a config error.
    Metric metric(MetricKind kind, std::string_view name, std::string_view help, std::vector<double> bounds = {}) {
        const auto* extension = static_cast<const wg_ext_metrics_1*>(api_->get_extension(host_, WG_EXT_METRICS_1));
        if (!extension) return {};
        const std::uint32_t id = extension->define(host_, errors_, static_cast<wg_metric_kind>(kind), str(name),
                                                   str(help), bounds.data(), bounds.size());
        if (id == 0) ++error_count_;
        return Metric(extension, host_, id);
    }

    void error(std::string_view json_pointer, std::string_view message) {
        ++error_count_;
        api_->config_error(errors_, str(json_pointer), str(message));
    }
    std::size_t error_count() const { return error_count_; }

    // Reports members of the mapping that no accessor asked for.
    void reject_unknown_keys() {
        for (const auto& [name, value] : root_.as_object()) {
            bool known = false;
            for (const auto& key : known_) known = known || key == name;
            if (!known) error(pointer(name), "unknown key '" + name + "'" + suggestion(name));
        }
    }

    static std::string pointer(std::string_view key) { return "/" + json::pointer_token(key); }

private:
    const json::Value* typed(std::string_view key, json::Value::Type type, bool optional) {
        const json::Value* value = raw(key);
        if (!value) {
            if (!optional) error("", "missing required key '" + std::string(key) + "'");
            return nullptr;
        }
        if (value->type() != type) {
            error(pointer(key), std::string("expected ") + (type == json::Value::Type::integer ? "an " : "a ") +
                                    json::Value::type_name(type) + ", got " + json::Value::type_name(value->type()));
            return nullptr;
        }
        return value;
    }

    std::string suggestion(const std::string& name) const { return did_you_mean(name, known_); }

    const wg_host_api* api_;
    wg_host* host_;
    wg_config* errors_;
    json::Value root_;
    std::vector<std::string> known_;
    std::size_t error_count_ = 0;
};

// Per-request state: derive, return it from begin_request, read it back in later hooks.
struct RequestState {
    virtual ~RequestState() = default;
};

template <class>
struct Adapter;

namespace detail {
// The host of the instance being constructed, so Plugin::host() works in constructors too.
// Instances are created on the control thread only (plugin.h), so a plain variable suffices; a
// thread_local would also outlive the module in the TLS of threads after the plugin is unloaded.
inline std::optional<Host> constructing_host;
}  // namespace detail

class Plugin {
public:
    Plugin() : host_(detail::constructing_host) {}
    virtual ~Plugin() = default;

    virtual std::unique_ptr<RequestState> begin_request(Message& /*request*/) { return nullptr; }
    virtual void on_request(Message& /*message*/, RequestState* /*state*/) {}
    virtual void on_response(Message& /*message*/, RequestState* /*state*/) {}
    virtual void on_notification(Message& /*message*/, RequestState* /*state*/) {}
    virtual void on_audit(const AuditEvent& /*event*/, RequestState* /*state*/) {}
    // SIGHUP: reopen files and connections (logrotate). Runs concurrently with hooks; return at once.
    virtual void reopen() {}

    const Host& host() const { return *host_; }

private:
    template <class>
    friend struct Adapter;
    std::optional<Host> host_;
};

// Turns a Plugin subclass into the C descriptor. Used by WATCHGATE_PLUGIN.
template <class Derived>
struct Adapter {
    struct Instance {
        const wg_host_api* api;
        std::unique_ptr<Derived> plugin;
        const wg_ext_context_1* context;
    };

    template <class Body>
    static wg_status guarded(const wg_host_api* api, wg_message* message, Body&& body) noexcept {
        try {
            body();
            return WG_OK;
        } catch (const std::exception& e) {
            if (message) api->set_error(message, str(e.what()));
        } catch (...) {
            if (message) api->set_error(message, str("unknown exception"));
        }
        return WG_ERROR;
    }

    static wg_status create(const wg_host_api* api, wg_host* host, void*, wg_str config_json, wg_config* errors,
                            void** out) noexcept {
        try {
            Config config(api, host, errors, view(config_json));
            struct Constructing {
                Constructing(const wg_host_api* a, wg_host* h) { detail::constructing_host.emplace(a, h); }
                ~Constructing() { detail::constructing_host.reset(); }
            } constructing(api, host);
            std::unique_ptr<Derived> plugin;
            if constexpr (std::is_constructible_v<Derived, Config&>)
                plugin = std::make_unique<Derived>(config);
            else
                plugin = std::make_unique<Derived>();
            config.reject_unknown_keys();
            if (config.error_count() > 0) return WG_ERROR;
            const auto* context = static_cast<const wg_ext_context_1*>(api->get_extension(host, WG_EXT_CONTEXT_1));
            *out = new Instance{api, std::move(plugin), context};
            return WG_OK;
        } catch (const std::exception& e) {
            api->config_error(errors, str(""), str(e.what()));
        } catch (...) {
            api->config_error(errors, str(""), str("unknown exception while creating the plugin"));
        }
        return WG_ERROR;
    }
    static void destroy(void* instance) noexcept { delete static_cast<Instance*>(instance); }

    static wg_status begin(void* instance, wg_message* request, void** state) noexcept {
        auto* self = static_cast<Instance*>(instance);
        return guarded(self->api, request, [&] {
            Message message(self->api, request, self->context);
            *state = self->plugin->begin_request(message).release();
        });
    }
    static void end(void*, void* state) noexcept { delete static_cast<RequestState*>(state); }

    using Hook = void (Plugin::*)(Message&, RequestState*);
    template <Hook hook>
    static wg_status on_message(void* instance, void* state, wg_message* handle) noexcept {
        auto* self = static_cast<Instance*>(instance);
        return guarded(self->api, handle, [&] {
            Message message(self->api, handle, self->context);
            (static_cast<Plugin&>(*self->plugin).*hook)(message, static_cast<RequestState*>(state));
        });
    }
    static wg_status audit(void* instance, void* state, const wg_audit_event* event) noexcept {
        auto* self = static_cast<Instance*>(instance);
        try {
            self->plugin->on_audit(AuditEvent(*event), static_cast<RequestState*>(state));
            return WG_OK;
        } catch (const AuditNotRecorded& e) {
            audit_error(self->api, event, e.what());
        } catch (const std::exception& e) {
            self->plugin->host().log(LogLevel::error, std::string("audit failed: ") + e.what());
            audit_error(self->api, event, e.what());
        } catch (...) {
            self->plugin->host().log(LogLevel::error, "audit failed: unknown exception");
            audit_error(self->api, event, "unknown exception");
        }
        return WG_ERROR;
    }

    // Gives the host the reason an event was not recorded (ABI 1.2; an older host has no slot).
    static void audit_error(const wg_host_api* api, const wg_audit_event* event, const char* reason) noexcept {
        if (api->struct_size >= offsetof(wg_host_api, audit_error) + sizeof(void*) && api->audit_error)
            api->audit_error(event, str(reason));
    }

    static void reopen(void* instance) noexcept {
        auto* self = static_cast<Instance*>(instance);
        try {
            self->plugin->reopen();
        } catch (const std::exception& e) {
            self->plugin->host().log(LogLevel::error, std::string("reopen failed: ") + e.what());
        } catch (...) {
            self->plugin->host().log(LogLevel::error, "reopen failed: unknown exception");
        }
    }

    static const wg_plugin_descriptor* descriptor() noexcept {
        static const wg_plugin_descriptor d = [] {
            wg_plugin_descriptor out{};
            out.abi_major = WG_ABI_VERSION_MAJOR;
            out.abi_minor = WG_ABI_VERSION_MINOR;
            out.struct_size = sizeof(wg_plugin_descriptor);
            out.kinds = Derived::info.kinds;
            out.flags = Derived::info.flags;
            out.name = Derived::info.name;
            out.version = Derived::info.version;
            out.description = Derived::info.description;
            out.config_schema = Derived::info.config_schema;
            out.instance_create = &create;
            out.instance_destroy = &destroy;
            out.request_begin = &begin;
            out.request_end = &end;
            out.on_request = &on_message<&Plugin::on_request>;
            out.on_response = &on_message<&Plugin::on_response>;
            out.on_notification = &on_message<&Plugin::on_notification>;
            out.on_audit = &audit;
            out.reopen = &reopen;
            return out;
        }();
        return &d;
    }
};

}  // namespace watchgate

// Exports `Class` (a watchgate::Plugin with a static constexpr PluginInfo `info`) as the plugin.
#define WATCHGATE_PLUGIN(Class) \
    WG_PLUGIN_ENTRY { return ::watchgate::Adapter<Class>::descriptor(); }

#endif  // WATCHGATE_PLUGIN_HPP
