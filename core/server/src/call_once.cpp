#include <watchgate/core/server/call_once.hpp>

#include <watchgate/core/base/version.hpp>
#include <watchgate/core/server/runtime.hpp>

#include <spdlog/spdlog.h>

#include <condition_variable>
#include <map>
#include <mutex>

namespace watchgate::core {

using nlohmann::json;

json call_once(const GatewayConfig& config, std::shared_ptr<PluginHost> plugins, const std::string& method,
               const json& params) {
    Runtime runtime(config, std::move(plugins));
    std::mutex mutex;
    std::condition_variable arrived;
    std::map<json, json> answers;  // by id
    auto session = runtime.gateway().open_session(std::make_shared<StdioChannel>([&](std::string line) {
        auto message = json::parse(line, nullptr, false);
        if (!message.is_object()) return;
        if (message.contains("method")) {
            // A server -> client request or notification: `call` has no one to ask; say so.
            spdlog::info("upstream sent {} (not answered by `watchgate call`)", message.value("method", ""));
            return;
        }
        std::lock_guard lock(mutex);
        answers[message.value("id", json())] = message;
        arrived.notify_all();
    }));
    runtime.gateway().start();
    auto wait_for = [&](int id, std::chrono::milliseconds timeout) {
        std::unique_lock lock(mutex);
        arrived.wait_for(lock, timeout, [&] { return answers.contains(id); });
        auto it = answers.find(id);
        return it != answers.end() ? it->second : make_error_response(id, error_code::timeout, "no answer in time");
    };
    std::chrono::milliseconds connect_timeout{0}, request_timeout{0};
    for (const auto& upstream : config.upstreams) {
        connect_timeout = std::max(connect_timeout, upstream.timeouts.connection);
        request_timeout = std::max(request_timeout, upstream.timeouts.request);
    }
    session->on_client_line(dump_json({{"jsonrpc", "2.0"},
                                       {"id", 1},
                                       {"method", "initialize"},
                                       {"params",
                                        {{"protocolVersion", latest_protocol_version},
                                         {"capabilities", json::object()},
                                         {"clientInfo", {{"name", "watchgate-call"}, {"version", version_text}}}}}}));
    json answer = wait_for(1, connect_timeout + std::chrono::seconds(5));
    if (!answer.contains("error")) {
        session->on_client_line(R"({"jsonrpc":"2.0","method":"notifications/initialized"})");
        json request = {{"jsonrpc", "2.0"}, {"id", 2}, {"method", method}};
        if (!params.is_null()) request["params"] = params;
        session->on_client_line(dump_json(request));
        answer = wait_for(2, request_timeout + std::chrono::seconds(5));
    }
    runtime.shutdown();
    return answer;
}

}  // namespace watchgate::core
