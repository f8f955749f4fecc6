#pragma once
// An MCP server process (a test server, a relay or the gateway) driven over its stdin/stdout by
// the benchmarks: requests written as lines, answers stamped with the time they arrived.

#include <watchgate/core/base/line_splitter.hpp>
#include <watchgate/core/upstream/child_process.hpp>

#include <nlohmann/json.hpp>

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace watchgate::bench {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

// One MCP server process (direct or the gateway) driven over its stdin/stdout.
class Peer {
public:
    explicit Peer(const std::vector<std::string>& command)
        : process_(watchgate::core::ChildProcess::spawn(command, {}, std::nullopt)) {
        in_ = process_.take_stdin();
        out_ = process_.take_stdout();
        err_ = process_.take_stderr();
        reader_ = std::thread([this] { read(); });
        drain_ = std::thread([this] {
            char buffer[4096];
            while (::read(err_, buffer, sizeof buffer) > 0) {
            }
        });
        send(
            R"({"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{}}})");
        wait(0);
        send(R"({"jsonrpc":"2.0","method":"notifications/initialized"})");
    }
    ~Peer() {
        ::close(in_);
        process_.signal(SIGTERM);
        if (reader_.joinable()) reader_.join();
        if (drain_.joinable()) drain_.join();
        while (!process_.try_wait()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }

    void send(const std::string& line) {
        std::string data = line + "\n";
        for (std::size_t done = 0; done < data.size();) {
            ssize_t n = ::write(in_, data.data() + done, data.size() - done);
            if (n <= 0) return;
            done += static_cast<std::size_t>(n);
        }
    }
    // Waits for the response to `id`; returns when it arrived.
    Clock::time_point wait(std::int64_t id) {
        std::unique_lock lock(mutex_);
        arrived_.wait(lock, [&] { return received_.contains(id); });
        auto at = received_[id];
        received_.erase(id);
        return at;
    }
    void wait_below(std::size_t sent, std::size_t window) {
        std::unique_lock lock(mutex_);
        arrived_.wait(lock, [&] { return sent - answered_ < window; });
    }

private:
    void read() {
        watchgate::core::LineSplitter splitter(256u << 20);
        std::vector<char> buffer(1 << 16);
        for (;;) {
            ssize_t n = ::read(out_, buffer.data(), buffer.size());
            if (n <= 0) break;
            const auto now = Clock::now();
            splitter.feed(
                std::string_view(buffer.data(), static_cast<std::size_t>(n)),
                [&](std::string line) {
                    auto message = json::parse(line, nullptr, false);
                    if (!message.is_object() || !message.contains("id") || !message["id"].is_number_integer()) return;
                    std::lock_guard lock(mutex_);
                    const auto id = message["id"].get<std::int64_t>();
                    received_[id] = now;
                    if (id > 0) ++answered_;  // the initialize answer (id 0) is not part of a run
                    arrived_.notify_all();
                },
                [](const watchgate::core::OversizeLine&) {});
        }
    }

    watchgate::core::ChildProcess process_;
    int in_ = -1, out_ = -1, err_ = -1;
    std::thread reader_, drain_;
    std::mutex mutex_;
    std::condition_variable arrived_;
    std::map<std::int64_t, Clock::time_point> received_;
    std::size_t answered_ = 0;
};

inline std::string call(std::int64_t id, const std::string& tool, const json& arguments) {
    return json{{"jsonrpc", "2.0"},
                {"id", id},
                {"method", "tools/call"},
                {"params", {{"name", tool}, {"arguments", arguments}}}}
        .dump();
}

}  // namespace watchgate::bench
