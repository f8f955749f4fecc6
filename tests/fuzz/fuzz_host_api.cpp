// The plugin host API against a plugin that calls it as the input says (host_api_script_plugin.cpp),
// as a security, a middleware and an auditing stage of one pipeline. Oracle besides "no crash, no
// leak": whatever the plugins did, what leaves the pipeline is a valid JSON-RPC message of the
// right kind under the right id, and a reply the gateway makes is a valid answer to the request.
#include <watchgate/core/config/config.hpp>
#include <watchgate/core/pipeline/plugin_host.hpp>

#include <nlohmann/json.hpp>
#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>

#include <dlfcn.h>

#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <variant>

namespace {

using namespace watchgate::core;
using nlohmann::json;

[[noreturn]] void finding(const char* what, const std::string& detail) {
    std::fprintf(stderr, "oracle: %s: %s\n", what, detail.c_str());
    std::abort();
}

const std::string plugin_path = std::string(WATCHGATE_FUZZ_PLUGIN_DIR) + "/fuzz_host_api.so";

std::string config_text(bool critical) {
    const std::string entry = std::string("      - handler: fuzz_host_api\n        config: {critical: ") +
                              (critical ? "true" : "false") + ", a: [x, {b: y}], 'c/d': z}\n";
    return std::string("plugin_dirs: [\"") + WATCHGATE_FUZZ_PLUGIN_DIR + "\"]\nplugins:\n  security:\n    _global:\n" +
           entry + "  middleware:\n    _global:\n" + entry + "  auditing:\n    _global:\n" + entry;
}

std::shared_ptr<PluginHost> load_host(bool critical) {
    try {
        return PluginHost::load(parse_config(config_text(critical), "/fuzz/gateway.yaml"));
    } catch (const ConfigErrors& errors) {
        if (std::getenv("FUZZ_DEBUG")) std::fprintf(stderr, "%s\n", errors.what());
        return nullptr;  // the plugin reported a config error: a clear refusal
    }
}

using SetScript = void (*)(const std::uint8_t*, std::size_t);

SetScript script_setter() {
    // The host has loaded the plugin; this finds the same copy.
    void* handle = dlopen(plugin_path.c_str(), RTLD_NOW | RTLD_NOLOAD);
    if (!handle) finding("the plugin is not loaded", plugin_path);
    auto setter = reinterpret_cast<SetScript>(dlsym(handle, "watchgate_fuzz_set_script"));
    if (!setter) finding("no watchgate_fuzz_set_script", plugin_path);
    return setter;
}

// A reply the gateway made instead of forwarding: a JSON-RPC answer to `id`.
void check_reply(const json& reply, const json& id) {
    if (!reply.is_object() || reply.value("jsonrpc", json()) != "2.0" || !reply.contains("id") || reply["id"] != id)
        finding("a reply that is no answer to the request", reply.dump());
    if (reply.contains("result") == reply.contains("error"))
        finding("a reply without exactly one of result and error", reply.dump());
    if (reply.contains("error")) {
        const json& error = reply["error"];
        if (!error.is_object() || !error.contains("code") || !error["code"].is_number_integer() ||
            !error.contains("message") || !error["message"].is_string())
            finding("a reply with a malformed error", reply.dump());
    }
}

// What is forwarded must read back, through the gateway's own parser, as the same kind and id.
void check_forwarded(const Message& message, MessageKind kind, const json& id) {
    const std::string bytes = message.serialize();
    auto parsed = Message::parse(bytes);
    if (auto* error = std::get_if<MessageError>(&parsed)) finding(error->message.c_str(), bytes);
    const Message& again = std::get<Message>(parsed);
    if (again.kind() != kind) finding("the message changed kind", bytes);
    if (kind != MessageKind::notification && again.id() != id) finding("the message changed id", bytes);
    if (kind == MessageKind::response) check_reply(again.json(), id);
}

Message message_from(const json& value) {
    auto parsed = Message::parse(value.dump(), "up");
    if (!std::holds_alternative<Message>(parsed)) std::abort();
    return std::get<Message>(std::move(parsed));
}

void run(const PluginHost& host, const json& id) {
    auto pipeline = host.pipeline("up");
    Message request = message_from({{"jsonrpc", "2.0"},
                                    {"id", id},
                                    {"method", "tools/call"},
                                    {"params", {{"name", "t"}, {"arguments", {{"text", "hello"}, {"n", {1, 2}}}}}}});
    auto scope = pipeline->begin_request(request);
    PipelineResult result = pipeline->process_request(*scope, request);
    if (result.reply) check_reply(*result.reply, id);
    if (!result.forwards()) return;
    check_forwarded(request, MessageKind::request, id);

    Message progress = message_from({{"jsonrpc", "2.0"},
                                     {"method", "notifications/progress"},
                                     {"params", {{"progressToken", 1}, {"progress", 1}}}});
    if (pipeline->process_notification(scope.get(), progress).forwards())
        check_forwarded(progress, MessageKind::notification, nullptr);

    Message response = message_from(
        {{"jsonrpc", "2.0"},
         {"id", id},
         {"result", {{"content", {{{"type", "text"}, {"text", "AKIAIOSFODNN7EXAMPLE alice@example.com"}}}}}}});
    response.set_request_context(scope->method(), scope->target());
    result = pipeline->process_response(*scope, response);
    if (result.reply) check_reply(*result.reply, id);
    if (result.forwards()) check_forwarded(response, MessageKind::response, id);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    // Every level is logged (the plugin's log calls are fuzzed too), into a sink that drops it.
    static const bool quiet = [] {
        auto logger = std::make_shared<spdlog::logger>("fuzz", std::make_shared<spdlog::sinks::null_sink_mt>());
        logger->set_level(spdlog::level::trace);
        spdlog::set_default_logger(logger);
        return true;
    }();
    (void)quiet;
    // Loaded once and kept for the whole run: the fuzzer exits without tearing down.
    static const auto& hosts = *new std::array<std::shared_ptr<PluginHost>, 2>{load_host(true), load_host(false)};
    static const SetScript set_script = script_setter();
    if (size < 1) return 0;
    const std::uint8_t choice = data[0];
    set_script(data + 1, size - 1);
    const json id = choice & 2 ? json("r-1") : json(7);
    if (choice & 4) {
        // A host of its own: instance creation reads the script too (the configuration API).
        if (auto host = load_host(choice & 1)) run(*host, id);
    } else {
        if (!hosts[choice & 1]) finding("the shared host did not load", "");
        run(*hosts[choice & 1], id);
    }
    set_script(nullptr, 0);
    return 0;
}
