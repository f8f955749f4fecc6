#pragma once
// An MCP server inside the test process, behind an InMemoryTransport: it answers initialize and
// tools/list itself, and tools/call as its tool says: "echo" at once, "hold" only when the test
// releases it, "crash" by going away. Every line it received is kept for the test to inspect.

#include <watchgate/core/upstream/in_memory_transport.hpp>

#include <nlohmann/json.hpp>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace watchgate::test {

class ScriptedUpstream {
public:
    using json = nlohmann::json;

    explicit ScriptedUpstream(std::string name) : name_(std::move(name)) {}

    // A factory for Gateway::create: one transport per start of the upstream.
    core::UpstreamTransportFactory factory(boost::asio::any_io_executor executor) {
        return [this, executor](const core::UpstreamConfig&) -> std::shared_ptr<core::UpstreamTransport> {
            auto transport = std::make_shared<core::InMemoryTransport>(
                executor, [this](std::string line) { on_line(json::parse(line)); });
            std::lock_guard lock(mutex_);
            transport_ = transport;
            ++starts_;
            return transport;
        };
    }

    int starts() const {
        std::lock_guard lock(mutex_);
        return starts_;
    }

    // Sends a message of the server's own (a request or notification to the client).
    void send(const json& message) { current()->deliver(message.dump()); }
    // Answers every held call with `text`.
    void release_held(const std::string& text) {
        std::vector<json> held;
        {
            std::lock_guard lock(mutex_);
            held.swap(held_);
        }
        for (const auto& id : held) send(result_for(id, text));
    }
    // Goes away the way a process exits.
    void crash(std::string how) { current()->go_down(std::move(how)); }

    // Waits until a received message satisfies `match`; returns it (null after `timeout`).
    json wait_for(const std::function<bool(const json&)>& match,
                  std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
        std::unique_lock lock(mutex_);
        json found;
        changed_.wait_for(lock, timeout, [&] {
            for (const auto& message : received_)
                if (match(message)) return found = message, true;
            return false;
        });
        return found;
    }
    json wait_for_method(const std::string& method, std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
        return wait_for([&](const json& m) { return m.value("method", "") == method; }, timeout);
    }
    // Waits until `count` calls are held; false after `timeout`.
    bool wait_held(std::size_t count, std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
        std::unique_lock lock(mutex_);
        return changed_.wait_for(lock, timeout, [&] { return held_.size() >= count; });
    }
    std::vector<json> received() const {
        std::lock_guard lock(mutex_);
        return received_;
    }

    static json result_for(const json& id, const std::string& text) {
        return {{"jsonrpc", "2.0"},
                {"id", id},
                {"result", {{"content", json::array({{{"type", "text"}, {"text", text}}})}}}};
    }

private:
    std::shared_ptr<core::InMemoryTransport> current() {
        std::lock_guard lock(mutex_);
        return transport_;
    }

    void on_line(json message) {
        {
            std::lock_guard lock(mutex_);
            received_.push_back(message);
        }
        changed_.notify_all();
        const std::string method = message.value("method", "");
        if (!message.contains("id") || method.empty()) return;  // a notification or an answer
        const json& id = message["id"];
        if (method == "initialize") {
            send({{"jsonrpc", "2.0"},
                  {"id", id},
                  {"result",
                   {{"protocolVersion", message["params"]["protocolVersion"]},
                    {"capabilities", {{"tools", json::object()}}},
                    {"serverInfo", {{"name", name_}, {"version", "1"}}}}}});
        } else if (method == "tools/list") {
            json tools = json::array();
            for (const char* tool : {"echo", "hold", "crash"})
                tools.push_back({{"name", tool}, {"inputSchema", {{"type", "object"}}}});
            send({{"jsonrpc", "2.0"}, {"id", id}, {"result", {{"tools", tools}}}});
        } else if (method == "tools/call") {
            const std::string tool = message["params"].value("name", "");
            if (tool == "echo") {
                send(result_for(id, name_ + ": " + message["params"]["arguments"].value("text", "")));
            } else if (tool == "hold") {
                {
                    std::lock_guard lock(mutex_);
                    held_.push_back(id);
                }
                changed_.notify_all();
            } else if (tool == "crash") {
                crash("exited with status 3");
            }
        } else {
            send({{"jsonrpc", "2.0"}, {"id", id}, {"error", {{"code", -32601}, {"message", "Method not found"}}}});
        }
    }

    std::string name_;
    mutable std::mutex mutex_;
    std::condition_variable changed_;
    std::shared_ptr<core::InMemoryTransport> transport_;
    int starts_ = 0;
    std::vector<json> received_;
    std::vector<json> held_;
};

}  // namespace watchgate::test
