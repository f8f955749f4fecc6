#pragma once
// The gateway's session and upstream layers in the test's own process: a Gateway on an
// io_context thread, each client a session whose channel is a queue of lines, the upstreams
// ScriptedUpstreams behind in-memory transports. No processes, so a test sees routing, timeouts,
// failures and several sessions directly.

#include "scripted_upstream.hpp"

#include <watchgate/core/config/config.hpp>
#include <watchgate/core/pipeline/plugin_host.hpp>
#include <watchgate/core/session/gateway.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_future.hpp>

#include <nlohmann/json.hpp>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

namespace watchgate::test {

// One client: a session of the gateway and what reached it.
class InProcessClient {
public:
    using json = nlohmann::json;

    InProcessClient(boost::asio::io_context& io, core::Gateway& gateway) : io_(io) {
        auto queue = queue_;
        session_ = gateway.open_session(std::make_shared<core::StdioChannel>([queue](std::string line) {
            {
                std::lock_guard lock(queue->mutex);
                queue->lines.push_back(json::parse(line));
            }
            queue->arrived.notify_all();
        }));
    }

    const std::shared_ptr<core::ClientSession>& session() const { return session_; }

    // One line from the client, as the stdio reader hands it over.
    void send(const json& message) {
        boost::asio::post(io_, [session = session_, line = message.dump()] { session->on_client_line(line); });
    }
    void send_call(const json& id, const std::string& tool, const json& arguments = json::object(),
                   const json& progress_token = nullptr) {
        json params = {{"name", tool}, {"arguments", arguments}};
        if (!progress_token.is_null()) params["_meta"]["progressToken"] = progress_token;
        send({{"jsonrpc", "2.0"}, {"id", id}, {"method", "tools/call"}, {"params", params}});
    }
    json request(const json& id, const std::string& method, const json& params = json::object()) {
        send({{"jsonrpc", "2.0"}, {"id", id}, {"method", method}, {"params", params}});
        return answer(id);
    }
    json initialize(const json& capabilities = {{"sampling", json::object()}}) {
        auto result = request(0, "initialize",
                              {{"protocolVersion", "2025-06-18"},
                               {"capabilities", capabilities},
                               {"clientInfo", {{"name", "in-process"}, {"version", "1"}}}});
        send({{"jsonrpc", "2.0"}, {"method", "notifications/initialized"}});
        return result;
    }

    // The next message to the client that `match` accepts, taken out of the queue (null after
    // `timeout`).
    json next(const std::function<bool(const json&)>& match,
              std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
        std::unique_lock lock(queue_->mutex);
        json found;
        queue_->arrived.wait_for(lock, timeout, [&] {
            for (auto it = queue_->lines.begin(); it != queue_->lines.end(); ++it)
                if (match(*it)) {
                    found = std::move(*it);
                    queue_->lines.erase(it);
                    return true;
                }
            return false;
        });
        return found;
    }
    // The answer to the client's request `id`.
    json answer(const json& id, std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
        return next([&](const json& m) { return m.contains("id") && m["id"] == id && !m.contains("method"); }, timeout);
    }

private:
    struct Queue {
        std::mutex mutex;
        std::condition_variable arrived;
        std::deque<json> lines;
    };
    boost::asio::io_context& io_;
    std::shared_ptr<Queue> queue_ = std::make_shared<Queue>();
    std::shared_ptr<core::ClientSession> session_;
};

// What the clients share: the I/O context and the gateway. A base of InProcessGateway, so it
// is made before the first client.
struct InProcessCore {
    InProcessCore(const std::string& yaml, const std::map<std::string, ScriptedUpstream*>& servers)
        : scripted(servers) {
        auto config = core::parse_config(yaml, "/in-process/gateway.yaml");
        auto plugins = core::PluginHost::load(config);
        auto transports = [this, servers](const core::UpstreamConfig& upstream) {
            return servers.at(upstream.name)->factory(io.get_executor())(upstream);
        };
        gateway = core::Gateway::create(io.get_executor(), io.get_executor(), config, plugins, transports);
    }

    ~InProcessCore() {
        gateway.reset();
        for (auto& [name, server] : scripted) server->release_transports();
    }

    std::map<std::string, ScriptedUpstream*> scripted;
    boost::asio::io_context io;
    boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard{io.get_executor()};
    std::shared_ptr<core::Gateway> gateway;
    std::thread thread;
};

class InProcessGateway : private InProcessCore, public InProcessClient {
public:
    // `yaml` is a whole config; each upstream it names must be in `servers`. The gateway itself
    // is its first client; open_client() adds more.
    InProcessGateway(const std::string& yaml, const std::map<std::string, ScriptedUpstream*>& servers)
        : InProcessCore(yaml, servers), InProcessClient(io, *gateway) {
        thread = std::thread([this] { io.run(); });
        boost::asio::post(io, [shared = gateway] { shared->start(); });
    }

    ~InProcessGateway() {
        auto done = boost::asio::co_spawn(io, gateway->shutdown(), boost::asio::use_future);
        done.wait_for(std::chrono::seconds(10));
        guard.reset();
        io.stop();
        thread.join();
    }

    std::unique_ptr<InProcessClient> open_client() { return std::make_unique<InProcessClient>(io, *gateway); }
    core::Gateway& shared_gateway() { return *gateway; }
};

}  // namespace watchgate::test
