// A plugin driven by its config, built several times under different names and kinds, so tests can
// arrange any pipeline. Written with plugin.hpp, so it also exercises the C++ layer.
//
// config: {"request": [step...], "response": [step...], "notification": [step...],
//          "audit_file": "path", "fail_audit": bool, "fail_audit_of_responses": bool,
//          "check_request_state": bool}
// step:   {"op": "tag"}                        append this plugin's name to /params/trace (or /result/trace)
//         {"op": "block", "reason": "...", "code": n}
//         {"op": "set", "pointer": "...", "value": any}
//         {"op": "remove", "pointer": "..."}
//         {"op": "replace", "pointer": "...", "value": "..."}
//         {"op": "complete", "result": any}
//         {"op": "fail", "message": "..."}     return an error
//         {"op": "throw", "message": "..."}    throw from the hook
//         {"op": "sleep_us", "us": n}
//         {"op": "metadata", "value": any}
//         {"op": "log", "text": "..."}         log a warning through the host
//         {"op": "serialize"} / {"op": "visit_keys", "pointer": "..."}   results go into metadata
#include <watchgate/plugin.hpp>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <thread>

#ifndef PLUGIN_NAME
#error "PLUGIN_NAME must be defined"
#endif

namespace {

using watchgate::json::Value;

struct State : watchgate::RequestState {
    std::string request_id;
};

class Scripted : public watchgate::Plugin {
public:
    static constexpr watchgate::PluginInfo info{PLUGIN_NAME,  "1.0.0",      "Scripted test plugin",
                                                PLUGIN_KINDS, PLUGIN_FLAGS, R"({"type":"object"})"};

    explicit Scripted(watchgate::Config& config) {
        for (const char* phase : {"request", "response", "notification"}) {
            const Value* steps = config.raw(phase);
            if (steps && !steps->is_array())
                config.error(watchgate::Config::pointer(phase), "expected a list of steps");
            scripts_.push_back(steps && steps->is_array() ? steps->as_array() : watchgate::json::Array{});
        }
        if (config.boolean("throw_in_create", false)) throw std::runtime_error("constructor exploded");
        block_in_begin_ = config.boolean("block_in_begin", false);
        host().log(watchgate::LogLevel::debug, "constructed");
        created_on_ = std::this_thread::get_id();  // the host is there in constructors too
        audit_file_ = config.string("audit_file", "");
        fail_audit_ = config.boolean("fail_audit", false);
        fail_response_audit_ = config.boolean("fail_audit_of_responses", false);
        check_state_ = config.boolean("check_request_state", false);
        if (!audit_file_.empty()) {
            audit_out_ = std::fopen(audit_file_.c_str(), "a");
            if (!audit_out_) config.error("/audit_file", "cannot open " + audit_file_);
        }
    }
    ~Scripted() override {
        if (audit_out_) std::fclose(audit_out_);
    }

    // The ABI promises reopen on the control thread: the one that created the instance.
    void reopen() override {
        host().log(watchgate::LogLevel::warn, std::string("reopen on the thread that created the instance: ") +
                                                  (std::this_thread::get_id() == created_on_ ? "yes" : "no"));
    }

    std::unique_ptr<watchgate::RequestState> begin_request(watchgate::Message& request) override {
        enter();
        auto state = std::make_unique<State>();
        state->request_id = std::string(request.id());
        leave();
        if (block_in_begin_) request.block("too early");
        return state;
    }

    void on_request(watchgate::Message& m, watchgate::RequestState* s) override { run(0, m, s); }
    void on_response(watchgate::Message& m, watchgate::RequestState* s) override { run(1, m, s); }
    void on_notification(watchgate::Message& m, watchgate::RequestState* s) override { run(2, m, s); }

    void on_audit(const watchgate::AuditEvent& event, watchgate::RequestState*) override {
        if (fail_audit_ || (fail_response_audit_ && event.kind() == WG_MESSAGE_RESPONSE))
            throw std::runtime_error("audit sink unavailable");
        if (!audit_out_) return;
        watchgate::json::Array stages;
        for (std::size_t i = 0; i < event.stage_count(); ++i) {
            const auto& stage = event.stage(i);
            stages.push_back(watchgate::json::Object{{"plugin", std::string(watchgate::view(stage.plugin))},
                                                     {"outcome", static_cast<std::int64_t>(stage.outcome)},
                                                     {"reason", std::string(watchgate::view(stage.reason))},
                                                     {"metadata", std::string(watchgate::view(stage.metadata))}});
        }
        Value record = watchgate::json::Object{{"kind", static_cast<std::int64_t>(event.kind())},
                                               {"id", std::string(event.request_id())},
                                               {"upstream", std::string(event.upstream())},
                                               {"method", std::string(event.method())},
                                               {"target", std::string(event.target())},
                                               {"outcome", static_cast<std::int64_t>(event.outcome())},
                                               {"reason", std::string(event.reason())},
                                               {"error_code", static_cast<std::int64_t>(event.error_code())},
                                               {"content_cleared", event.content_cleared()},
                                               {"body", std::string(event.body())},
                                               {"stages", std::move(stages)}};
        std::lock_guard lock(audit_mutex_);
        std::fprintf(audit_out_, "%s\n", watchgate::json::dump(record).c_str());
        std::fflush(audit_out_);
    }

private:
    std::thread::id created_on_;
    // Counts threads inside the plugin; the most seen goes into metadata so tests can check the
    // host's thread contract.
    void enter() {
        int now = ++inside_;
        int seen = most_inside_.load();
        while (now > seen && !most_inside_.compare_exchange_weak(seen, now)) {
        }
    }
    void leave() { --inside_; }

    void run(std::size_t phase, watchgate::Message& message, watchgate::RequestState* raw_state) {
        enter();
        struct Leave {
            Scripted* self;
            ~Leave() { self->leave(); }
        } guard{this};
        if (check_state_ && phase < 2) {
            auto* state = dynamic_cast<State*>(raw_state);
            if (!state) throw std::runtime_error("no request state");
            if (state->request_id != message.id())
                throw std::runtime_error("request state mismatch: " + state->request_id + " vs " +
                                         std::string(message.id()));
        }
        for (const auto& step : scripts_[phase]) {
            const Value* op = step.find("op");
            if (!op || !op->is_string()) continue;
            const std::string& name = op->as_string();
            auto text = [&](const char* key) {
                const Value* v = step.find(key);
                return v && v->is_string() ? v->as_string() : std::string();
            };
            if (name == "tag") {
                std::string root = message.is_response() ? "/result" : "/params";
                if (!message.get(root + "/trace")) message.set_json(root + "/trace", "[]");
                message.set(root + "/trace/-", PLUGIN_NAME);
            } else if (name == "block") {
                const Value* code = step.find("code");
                message.block(text("reason"),
                              code && code->is_integer() ? static_cast<std::int32_t>(code->as_integer()) : 0,
                              step.find("data") ? watchgate::json::dump(*step.find("data")) : std::string());
            } else if (name == "set") {
                message.set(text("pointer"), *step.find("value"));
            } else if (name == "remove") {
                message.remove(text("pointer"));
            } else if (name == "replace") {
                message.replace_string(text("pointer"), text("value"));
            } else if (name == "complete") {
                message.complete(*step.find("result"));
            } else if (name == "fail") {
                throw watchgate::HostError(text("message"), WG_ERROR);
            } else if (name == "throw") {
                throw std::logic_error(text("message"));
            } else if (name == "sleep_us") {
                std::this_thread::sleep_for(std::chrono::microseconds(step.find("us")->as_integer()));
            } else if (name == "log") {
                host().log(watchgate::LogLevel::warn, text("text"));
            } else if (name == "serialize") {
                message.add_metadata(watchgate::json::Object{{"serialized", std::string(message.serialize())}});
            } else if (name == "visit_keys") {
                watchgate::json::Array seen;
                message.visit_strings(
                    text("pointer"),
                    [&](std::string_view pointer, std::string_view value, bool is_key) {
                        seen.push_back(std::string(is_key ? "key " : "") + std::string(pointer) + "=" +
                                       std::string(value));
                        return true;
                    },
                    true);
                message.add_metadata(watchgate::json::Object{{"visited", std::move(seen)}});
            } else if (name == "host_info") {
                const wg_host_api* api = host().api();
                message.add_metadata(watchgate::json::Object{
                    {"api_size", static_cast<std::int64_t>(api->struct_size)},
                    {"abi", std::to_string(api->abi_major) + "." + std::to_string(api->abi_minor)},
                    {"host_version", std::string(watchgate::view(api->host_version))},
                    {"extension_found", host().extension(text("extension").c_str()) != nullptr},
                    {"log_enabled", host().log_enabled(watchgate::LogLevel::trace)}});
            } else if (name == "target_after_change") {
                std::string_view target = message.target();
                message.replace_string("/params/name", "x");
                message.add_metadata(watchgate::json::Object{{"target", std::string(target)}});
            } else if (name == "modify_in_visit") {
                message.visit_strings("/params", [&](std::string_view pointer, std::string_view, bool) {
                    message.replace_string(pointer, "changed");
                    return true;
                });
            } else if (name == "metadata") {
                message.add_metadata(*step.find("value"));
            }
        }
        message.add_metadata(watchgate::json::Object{{"most_inside", static_cast<std::int64_t>(most_inside_.load())}});
    }

    std::vector<watchgate::json::Array> scripts_;
    std::string audit_file_;
    std::FILE* audit_out_ = nullptr;
    std::mutex audit_mutex_;
    bool fail_audit_ = false;
    bool fail_response_audit_ = false;
    bool check_state_ = false;
    bool block_in_begin_ = false;
    std::atomic<int> inside_{0};
    std::atomic<int> most_inside_{0};
};

}  // namespace

WATCHGATE_PLUGIN(Scripted)
