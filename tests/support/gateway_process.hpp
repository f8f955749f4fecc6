#pragma once
// Drives the real `watchgate` binary over pipes, as an MCP client would.

#include <catch2/catch.hpp>
#include <watchgate/core/upstream/child_process.hpp>
#include <watchgate/core/base/line_splitter.hpp>
#include <watchgate/core/protocol/message.hpp>

#include <nlohmann/json.hpp>

#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <fstream>
#include <csignal>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <regex>
#include <vector>
#include <atomic>

namespace watchgate::test {

using nlohmann::json;
using namespace std::chrono_literals;

class GatewayProcess {
public:
    // Starts `watchgate run --config <file>` with `yaml` written to <dir>/gateway.yaml.
    GatewayProcess(const std::filesystem::path& dir, const std::string& yaml, std::vector<std::string> extra = {})
        : config_(dir / "gateway.yaml") {
        // A gateway that exits on purpose (a start error answered, then exit 1) closes its stdin:
        // a write after that must fail with EPIPE (send_line stops), not kill the test process.
        std::signal(SIGPIPE, SIG_IGN);
        std::ofstream(config_) << yaml;
        std::vector<std::string> command = {WATCHGATE_BINARY, "run", "--config", config_.string()};
        command.insert(command.end(), extra.begin(), extra.end());
        process_.emplace(core::ChildProcess::spawn(command, {}, std::nullopt));
        in_ = process_->take_stdin();
        out_ = process_->take_stdout();
        err_ = process_->take_stderr();
        reader_ = std::thread([this] { read_stdout(); });
        stderr_reader_ = std::thread([this] { read_stderr(); });
    }
    ~GatewayProcess() {
        close_input();
        if (process_) {
            process_->signal(SIGKILL);
            while (!process_->try_wait()) std::this_thread::sleep_for(1ms);
        }
        if (reader_.joinable()) reader_.join();
        if (stderr_reader_.joinable()) stderr_reader_.join();
        if (out_ >= 0) ::close(out_);
        if (err_ >= 0) ::close(err_);
        // Every request gets exactly one answer: never more answers under an id than requests sent
        // with it (an id may be used again once answered). Fewer is left to each test: a test may
        // end before, or kill the gateway on purpose.
        std::string repeated;
        for (const auto& [id, count] : answers_per_id_)
            if (count > requests_per_id_[id])
                repeated += " " + id + " (" + std::to_string(count) + " answers to " +
                            std::to_string(requests_per_id_[id]) + " requests)";
        INFO("answered more often than asked:" << repeated);
        CHECK(repeated.empty());
    }

    void send_line(const std::string& line) {
        count_request(line);
        std::string data = line + "\n";
        std::lock_guard lock(write_mutex_);
        bytes_written_ += data.size();
        for (std::size_t done = 0; done < data.size();) {
            ssize_t n = ::write(in_, data.data() + done, data.size() - done);
            if (n <= 0) return;
            done += static_cast<std::size_t>(n);
        }
    }
    void send(const json& message) { send_line(message.dump()); }
    // Sends a tools/call without waiting for its answer.
    void send_call(const json& id, const std::string& tool, const json& arguments = json::object()) {
        send({{"jsonrpc", "2.0"},
              {"id", id},
              {"method", "tools/call"},
              {"params", {{"name", tool}, {"arguments", arguments}}}});
    }
    void close_input() {
        std::lock_guard lock(write_mutex_);
        if (in_ >= 0) ::close(in_);
        in_ = -1;
    }

    // The response with `id`, waiting up to `timeout`; null when none came.
    json response(const json& id, std::chrono::milliseconds timeout = 10s) {
        std::unique_lock lock(mutex_);
        arrived_.wait_for(lock, timeout, [&] { return responses_.contains(id.dump()); });
        auto it = responses_.find(id.dump());
        return it == responses_.end() ? json() : it->second;
    }
    json request(const json& id, const std::string& method, const json& params = json::object(),
                 std::chrono::milliseconds timeout = 10s) {
        send({{"jsonrpc", "2.0"}, {"id", id}, {"method", method}, {"params", params}});
        return response(id, timeout);
    }
    json call_tool(const json& id, const std::string& tool, const json& arguments = json::object(),
                   std::chrono::milliseconds timeout = 10s) {
        return request(id, "tools/call", {{"name", tool}, {"arguments", arguments}}, timeout);
    }
    json initialize() {
        json answer = request(0, "initialize",
                              {{"protocolVersion", "2025-06-18"},
                               {"capabilities", {{"sampling", json::object()}}},
                               {"clientInfo", {{"name", "watchgate-tests"}, {"version", "1"}}}});
        send({{"jsonrpc", "2.0"}, {"method", "notifications/initialized"}});
        return answer;
    }

    // Messages with a method (server -> client requests and notifications), in arrival order.
    std::optional<json> next_server_message(std::chrono::milliseconds timeout = 10s) {
        std::unique_lock lock(mutex_);
        arrived_.wait_for(lock, timeout, [&] { return !server_messages_.empty(); });
        if (server_messages_.empty()) return std::nullopt;
        json message = server_messages_.front();
        server_messages_.pop_front();
        return message;
    }
    std::size_t response_count() const {
        std::lock_guard lock(mutex_);
        return responses_.size();
    }
    // Responses whose id is null (answers to lines that had no readable id).
    std::vector<json> null_id_responses() const {
        std::lock_guard lock(mutex_);
        return null_responses_;
    }
    // The exit status once the gateway exits, or nullopt after `timeout`.
    std::optional<int> wait_exit(std::chrono::milliseconds timeout) {
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        while (std::chrono::steady_clock::now() < deadline) {
            if (auto status = process_->try_wait()) return WIFEXITED(*status) ? WEXITSTATUS(*status) : -1;
            std::this_thread::sleep_for(5ms);
        }
        return std::nullopt;
    }
    std::string log() const {
        std::lock_guard lock(mutex_);
        return log_;
    }
    // The log once it holds `text`, or as it is after `timeout`: stderr is read by a thread of its
    // own, so a line the gateway wrote may not have been read yet.
    std::string log_once(std::string_view text, std::chrono::milliseconds timeout = 5s) const {
        std::unique_lock lock(mutex_);
        arrived_.wait_for(lock, timeout, [&] { return log_.find(text) != std::string::npos; });
        return log_;
    }
    // Bytes written to the gateway's stdin and read from its stdout so far.
    std::size_t bytes_written() const { return bytes_written_; }
    std::size_t bytes_read() const { return bytes_read_; }
    void signal(int number) { process_->signal(number); }
    pid_t pid() const { return process_->pid(); }

private:
    // A request, or a line the gateway will answer as one when it can read its id.
    void count_request(const std::string& line) {
        const json message = json::parse(line, nullptr, false);
        json id;
        if (message.is_object() && message.contains("method"))
            id = message.value("id", json());
        else if (message.is_discarded() && line.find("\"method\"") != std::string::npos)
            id = core::recover_id(line);
        if (id.is_null()) return;
        std::lock_guard lock(mutex_);
        ++requests_per_id_[id.dump()];
    }
    void read_stdout() {
        core::LineSplitter splitter(256u << 20);
        std::vector<char> buffer(1 << 16);
        for (;;) {
            ssize_t n = ::read(out_, buffer.data(), buffer.size());
            if (n <= 0) break;
            bytes_read_ += static_cast<std::size_t>(n);
            splitter.feed(
                std::string_view(buffer.data(), static_cast<std::size_t>(n)),
                [&](std::string line) {
                    json message = json::parse(line, nullptr, false);
                    std::lock_guard lock(mutex_);
                    if (message.is_discarded()) {
                        log_ += "STDOUT NOT JSON: " + line + "\n";
                    } else if (message.contains("method")) {
                        server_messages_.push_back(message);
                    } else if (message.value("id", json()).is_null()) {
                        null_responses_.push_back(message);
                    } else {
                        responses_[message["id"].dump()] = message;
                        ++answers_per_id_[message["id"].dump()];
                    }
                    arrived_.notify_all();
                },
                [](const core::OversizeLine&) {});
        }
    }
    void read_stderr() {
        std::vector<char> buffer(1 << 14);
        for (;;) {
            ssize_t n = ::read(err_, buffer.data(), buffer.size());
            if (n <= 0) break;
            std::lock_guard lock(mutex_);
            log_.append(buffer.data(), static_cast<std::size_t>(n));
            arrived_.notify_all();
        }
    }

    std::filesystem::path config_;
    std::optional<core::ChildProcess> process_;
    int in_ = -1, out_ = -1, err_ = -1;
    std::thread reader_, stderr_reader_;
    std::mutex write_mutex_;
    mutable std::mutex mutex_;
    mutable std::condition_variable arrived_;
    std::map<std::string, json> responses_;  // the latest answer under each id
    std::map<std::string, int> answers_per_id_, requests_per_id_;
    std::vector<json> null_responses_;
    std::deque<json> server_messages_;
    std::string log_;
    std::atomic<std::size_t> bytes_written_{0}, bytes_read_{0};
};

// The text of a tool result's first content block, or the whole answer when it is an error.
inline std::string text_of(const json& response) {
    if (!response.contains("result")) return "<error: " + response.dump() + ">";
    return response["result"]["content"][0].value("text", "");
}

// The port of the gateway's log line "<what> on http://host:port/": "listening" names the MCP
// listener, "admin: listening" the admin endpoint (waits up to 10 s for the line; 0: none).
inline std::uint16_t logged_port(const GatewayProcess& gateway, const std::string& what) {
    const std::regex pattern("info " + what + " on https?://[^ ]+:([0-9]+)/");
    const std::string log = gateway.log_once("info " + what + " on http", 10s);
    std::smatch found;
    return std::regex_search(log, found, pattern) ? static_cast<std::uint16_t>(std::stoi(found[1])) : 0;
}

// A gateway.yaml with the test server as its one upstream `test`, under its own names.
inline std::string test_server_config(const std::string& proxy_extra = "", const std::string& rest = "",
                                      const std::string& upstream_extra = "") {
    return "proxy:\n  namespace: false\n" + proxy_extra + "  upstreams:\n    - name: test\n      command: [\"" +
           std::string(WATCHGATE_TEST_SERVER) + "\"]\n" + upstream_extra + rest;
}

}  // namespace watchgate::test
