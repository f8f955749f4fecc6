#pragma once
// An MCP server inside the test process, behind InMemoryTransports: it answers initialize and
// tools/list itself, and tools/call as its tool says: "echo" at once, "hold" only when the test
// releases it, "crash" by going away. Each start of the upstream is an incarnation of its own
// (a restart, or one per session with `sharing: per_session`); every message received is kept
// with the incarnation it reached, and answers go back through that one.

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
    using Transport = core::InMemoryTransport;

    explicit ScriptedUpstream(std::string name) : name_(std::move(name)) {}

    // A factory for Gateway::create: one transport (incarnation) per start of the upstream.
    core::UpstreamTransportFactory factory(boost::asio::any_io_executor executor) {
        return [this, executor](const core::UpstreamConfig&) -> std::shared_ptr<core::UpstreamTransport> {
            auto self_slot = std::make_shared<std::weak_ptr<Transport>>();
            std::lock_guard lock(mutex_);
            const int incarnation = static_cast<int>(transports_.size());
            auto transport = std::make_shared<Transport>(executor, [this, self_slot, incarnation](std::string line) {
                on_line(json::parse(line), self_slot->lock(), incarnation);
            });
            *self_slot = transport;
            transports_.push_back(transport);
            return transport;
        };
    }

    // Lets go of every incarnation: their strands must not outlive the gateway's io_context.
    void release_transports() {
        std::lock_guard lock(mutex_);
        transports_.clear();
    }

    int starts() const {
        std::lock_guard lock(mutex_);
        return static_cast<int>(transports_.size());
    }
    // Whether incarnation `n` is down (closed by the gateway, crashed).
    bool down(int incarnation) const {
        std::lock_guard lock(mutex_);
        return transports_.at(static_cast<std::size_t>(incarnation))->down();
    }

    // Sends a message of the server's own (a request or notification to the client) through
    // incarnation `n` (the latest by default).
    void send(const json& message, int incarnation = -1) { transport(incarnation)->deliver(message.dump()); }
    // Answers every held call with `text`, each through the incarnation that received it.
    void release_held(const std::string& text) {
        std::vector<Held> held;
        {
            std::lock_guard lock(mutex_);
            held.swap(held_);
        }
        for (const auto& call : held)
            if (auto to = call.from.lock()) to->deliver(result_for(call.id, text).dump());
    }
    // Goes away the way a process exits.
    void crash(std::string how, int incarnation = -1) { transport(incarnation)->go_down(std::move(how)); }

    // A received message (its incarnation in "_incarnation") that satisfies `match`: waits for
    // it, null after `timeout`.
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
    // Every received message that satisfies `match`.
    std::vector<json> all(const std::function<bool(const json&)>& match) const {
        std::vector<json> out;
        std::lock_guard lock(mutex_);
        for (const auto& message : received_)
            if (match(message)) out.push_back(message);
        return out;
    }
    // Waits until `count` calls are held; false after `timeout`.
    bool wait_held(std::size_t count, std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
        std::unique_lock lock(mutex_);
        return changed_.wait_for(lock, timeout, [&] { return held_.size() >= count; });
    }

    static json result_for(const json& id, const std::string& text) {
        return {{"jsonrpc", "2.0"},
                {"id", id},
                {"result", {{"content", json::array({{{"type", "text"}, {"text", text}}})}}}};
    }

private:
    struct Held {
        json id;
        std::weak_ptr<Transport> from;
    };

    std::shared_ptr<Transport> transport(int incarnation) {
        std::lock_guard lock(mutex_);
        return incarnation < 0 ? transports_.back() : transports_.at(static_cast<std::size_t>(incarnation));
    }

    void on_line(json message, const std::shared_ptr<Transport>& from, int incarnation) {
        if (!from) return;
        {
            std::lock_guard lock(mutex_);
            json kept = message;
            kept["_incarnation"] = incarnation;
            received_.push_back(std::move(kept));
        }
        changed_.notify_all();
        const std::string method = message.value("method", "");
        if (!message.contains("id") || method.empty()) return;  // a notification or an answer
        const json& id = message["id"];
        auto reply = [&](const json& answer) { from->deliver(answer.dump()); };
        if (method == "initialize") {
            reply({{"jsonrpc", "2.0"},
                   {"id", id},
                   {"result",
                    {{"protocolVersion", message["params"]["protocolVersion"]},
                     {"capabilities", {{"tools", {{"listChanged", true}}}}},
                     {"serverInfo", {{"name", name_}, {"version", "1"}}}}}});
        } else if (method == "tools/list") {
            json tools = json::array();
            for (const char* tool : {"echo", "hold", "crash"})
                tools.push_back({{"name", tool}, {"inputSchema", {{"type", "object"}}}});
            reply({{"jsonrpc", "2.0"}, {"id", id}, {"result", {{"tools", tools}}}});
        } else if (method == "tools/call") {
            const std::string tool = message["params"].value("name", "");
            if (tool == "echo") {
                reply(result_for(id, name_ + "#" + std::to_string(incarnation) + ": " +
                                         message["params"]["arguments"].value("text", "")));
            } else if (tool == "hold") {
                {
                    std::lock_guard lock(mutex_);
                    held_.push_back({id, from});
                }
                changed_.notify_all();
            } else if (tool == "crash") {
                from->go_down("exited with status 3");
            }
        } else {
            reply({{"jsonrpc", "2.0"}, {"id", id}, {"error", {{"code", -32601}, {"message", "Method not found"}}}});
        }
    }

    std::string name_;
    mutable std::mutex mutex_;
    std::condition_variable changed_;
    std::vector<std::shared_ptr<Transport>> transports_;
    std::vector<json> received_;
    std::vector<Held> held_;
};

}  // namespace watchgate::test
