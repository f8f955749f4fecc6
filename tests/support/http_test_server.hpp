#pragma once
// Our Streamable HTTP test server (tests/servers/http_test_server.cpp) as a child process on a
// port of its choosing, for the tests and benchmarks of remote upstreams.

#include "http_client.hpp"

#include <watchgate/core/upstream/child_process.hpp>

#include <signal.h>
#include <unistd.h>

#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace watchgate::test {

struct HttpTestServer {
    // `options` as the server takes them (--json, --no-get, --accept-delay MS); `at`: a port, 0 for
    // any; `binary`: another server that prints its port the same way (the benchmarks' echo upstream).
    explicit HttpTestServer(std::vector<std::string> options = {}, std::uint16_t at = 0,
                            std::string binary = WATCHGATE_HTTP_TEST_SERVER) {
        std::vector<std::string> command = {std::move(binary), "--port", std::to_string(at)};
        command.insert(command.end(), options.begin(), options.end());
        process.emplace(core::ChildProcess::spawn(command, {}, std::nullopt));
        const int out = process->take_stdout();
        std::string line;
        char c;
        while (::read(out, &c, 1) == 1 && c != '\n') line += c;
        ::close(out);
        if (!line.starts_with("listening on port ")) throw std::runtime_error("the HTTP test server did not start");
        port = static_cast<std::uint16_t>(std::stoi(line.substr(18)));
    }
    ~HttpTestServer() { stop(); }
    HttpTestServer(const HttpTestServer&) = delete;
    HttpTestServer& operator=(const HttpTestServer&) = delete;

    void stop() {
        if (!process) return;
        process->signal(SIGKILL);
        while (!process->try_wait()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
        process.reset();
    }
    std::string url() const { return "http://127.0.0.1:" + std::to_string(port) + "/mcp"; }

    // A session of its own, initialized: its id.
    std::string open_session(HttpConnection& connection) const {
        auto opened = connection.post(initialize_body(), mcp_headers({}, {}));
        return opened.header("mcp-session-id");
    }
    // A tool's answer in a session of its own (the first event's message).
    static nlohmann::json answer_of(const HttpAnswer& answer) {
        const auto at = answer.body.find("data: ");
        if (at == std::string::npos) return nlohmann::json::parse(answer.body, nullptr, false);
        const auto data = answer.body.substr(at + 6);
        return nlohmann::json::parse(data.substr(0, data.find('\n')), nullptr, false);
    }
    // What the server counted (initializes, deletes, gets, resumes), this session's initialize
    // not included.
    nlohmann::json stats() const {
        HttpConnection connection(port);
        const auto session = open_session(connection);
        auto answer = connection.post(
            R"({"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"stats","arguments":{}}})",
            mcp_headers(session, {}));
        auto stats = nlohmann::json::parse(answer_of(answer)["result"]["content"][0]["text"].get<std::string>());
        stats["initializes"] = stats["initializes"].get<int>() - 1;
        return stats;
    }

    std::optional<core::ChildProcess> process;
    std::uint16_t port = 0;
};

}  // namespace watchgate::test
