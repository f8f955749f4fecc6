#pragma once
// The gateway's session and upstream layers in the test's own process: a Gateway on an
// io_context thread, its client side a queue of lines, its upstreams ScriptedUpstreams behind
// in-memory transports. No processes, so a test sees routing, timeouts and failures directly.

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
#include <mutex>
#include <string>
#include <thread>

namespace watchgate::test {

class InProcessGateway {
public:
    using json = nlohmann::json;

    // `yaml` is a whole config; each upstream it names must be in `servers`.
    InProcessGateway(const std::string& yaml, std::map<std::string, ScriptedUpstream*> servers)
        : guard_(io_.get_executor()) {
        auto config = core::parse_config(yaml, "/in-process/gateway.yaml");
        auto plugins = core::PluginHost::load(config);
        auto transports = [this, servers](const core::UpstreamConfig& upstream) {
            return servers.at(upstream.name)->factory(io_.get_executor())(upstream);
        };
        gateway_ = core::Gateway::create(
            io_.get_executor(), io_.get_executor(), config, plugins,
            [this](std::string line) {
                {
                    std::lock_guard lock(mutex_);
                    out_.push_back(json::parse(line));
                }
                arrived_.notify_all();
            },
            nullptr, transports);
        thread_ = std::thread([this] { io_.run(); });
        boost::asio::post(io_, [gateway = gateway_] { gateway->start(); });
    }

    ~InProcessGateway() {
        auto done = boost::asio::co_spawn(io_, gateway_->shutdown(), boost::asio::use_future);
        done.wait_for(std::chrono::seconds(10));
        guard_.reset();
        io_.stop();
        thread_.join();
    }

    // One line from the client, as the stdio reader hands it over.
    void send(const json& message) {
        boost::asio::post(io_, [gateway = gateway_, line = message.dump()] { gateway->on_client_line(line); });
    }
    void send_call(const json& id, const std::string& tool, const json& arguments = json::object()) {
        send({{"jsonrpc", "2.0"},
              {"id", id},
              {"method", "tools/call"},
              {"params", {{"name", tool}, {"arguments", arguments}}}});
    }
    json request(const json& id, const std::string& method, const json& params = json::object()) {
        send({{"jsonrpc", "2.0"}, {"id", id}, {"method", method}, {"params", params}});
        return answer(id);
    }
    json initialize() {
        auto result = request(0, "initialize",
                              {{"protocolVersion", "2025-06-18"},
                               {"capabilities", {{"sampling", json::object()}}},
                               {"clientInfo", {{"name", "in-process"}, {"version", "1"}}}});
        send({{"jsonrpc", "2.0"}, {"method", "notifications/initialized"}});
        return result;
    }

    // The next message to the client that `match` accepts, taken out of the queue (null after
    // `timeout`).
    json next(const std::function<bool(const json&)>& match,
              std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
        std::unique_lock lock(mutex_);
        json found;
        arrived_.wait_for(lock, timeout, [&] {
            for (auto it = out_.begin(); it != out_.end(); ++it)
                if (match(*it)) {
                    found = std::move(*it);
                    out_.erase(it);
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
    // Every message the client got that is still in the queue.
    std::deque<json> pending() {
        std::lock_guard lock(mutex_);
        return out_;
    }

private:
    boost::asio::io_context io_;
    boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard_;
    std::shared_ptr<core::Gateway> gateway_;
    std::thread thread_;
    std::mutex mutex_;
    std::condition_variable arrived_;
    std::deque<json> out_;
};

}  // namespace watchgate::test
