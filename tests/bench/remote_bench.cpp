// Remote upstream benchmark: the gateway (stdio in front) in front of the baseline Streamable HTTP
// upstream (http_echo_upstream.cpp: one event loop, no JSON library), against a plain HTTP client
// straight to the same server, in the same run: 1 KB echo calls one at a time and 16 in flight,
// 1 MiB results; then head-of-line blocking: 1,000 calls of 100 ms at once through the gateway,
// whose wall time the target puts at 1.3 x 100 ms.
//
//   watchgate_remote_bench [--calls N]   (default 5000)
#include "http_client.hpp"
#include "http_test_server.hpp"
#include "bench_stats.hpp"
#include "stdio_peer.hpp"

#include <algorithm>
#include <atomic>
#include <memory>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>

namespace fs = std::filesystem;
using namespace watchgate::test;
using namespace watchgate::bench;

namespace {

// One client straight to the server: `window` connections, each calling one at a time.
Result direct(const HttpTestServer& server, const std::string& tool, const json& arguments, int calls, int window) {
    std::vector<std::vector<double>> latencies(static_cast<std::size_t>(window));
    std::vector<std::thread> clients;
    const int each = calls / window;
    const auto started = Clock::now();
    for (int c = 0; c < window; ++c)
        clients.emplace_back([&, c] {
            HttpConnection connection(server.port);
            const auto session = server.open_session(connection);
            const auto headers = mcp_headers(session, "2025-11-25");
            for (int i = 1; i <= each; ++i) {
                const auto sent = Clock::now();
                auto answer = connection.post(call(i, tool, arguments), headers);
                if (answer.status != 200) std::fprintf(stderr, "unexpected status %d\n", answer.status);
                latencies[static_cast<std::size_t>(c)].push_back(
                    std::chrono::duration<double, std::micro>(Clock::now() - sent).count());
            }
        });
    for (auto& client : clients) client.join();
    const double seconds = std::chrono::duration<double>(Clock::now() - started).count();
    std::vector<double> all;
    for (auto& mine : latencies) all.insert(all.end(), mine.begin(), mine.end());
    return {each * window / seconds, median(all)};
}

// The same calls through the gateway over stdio, `window` in flight.
Result through(Peer& gateway, std::int64_t& next_id, const std::string& tool, const json& arguments, int calls,
               int window) {
    std::vector<Clock::time_point> sent(static_cast<std::size_t>(calls));
    const std::int64_t first = next_id;
    const auto started = Clock::now();
    for (int i = 0; i < calls; ++i) {
        gateway.wait_below(static_cast<std::size_t>(next_id - 1), static_cast<std::size_t>(window));
        sent[static_cast<std::size_t>(i)] = Clock::now();
        gateway.send(call(next_id++, tool, arguments));
    }
    std::vector<double> latencies;
    for (int i = 0; i < calls; ++i)
        latencies.push_back(
            std::chrono::duration<double, std::micro>(gateway.wait(first + i) - sent[static_cast<std::size_t>(i)])
                .count());
    const double seconds = std::chrono::duration<double>(Clock::now() - started).count();
    return {calls / seconds, median(latencies)};
}

}  // namespace

int main(int argc, char** argv) {
    int calls = 5000, threads = 1;
    for (int i = 1; i + 1 < argc; ++i) {
        if (std::string(argv[i]) == "--calls") calls = std::stoi(argv[i + 1]);
        if (std::string(argv[i]) == "--threads") threads = std::stoi(argv[i + 1]);
    }
    HttpTestServer server({}, 0, WATCHGATE_HTTP_ECHO_UPSTREAM);
    const auto dir = fs::temp_directory_path() / ("watchgate-remote-bench-" + std::to_string(::getpid()));
    fs::create_directories(dir);
    const auto config = dir / "gateway.yaml";
    std::ofstream(config) << "proxy:\n  threads: " << threads
                          << "\n  concurrency: {max_in_flight: 1000}\n  upstreams:\n    - name: remote\n"
                             "      url: "
                          << server.url() << "\nlogging: {level: warning}\n";
    Peer gateway({WATCHGATE_BINARY, "run", "--config", config.string()});
    std::int64_t next_id = 1;

    const json small = {{"text", std::string(1000, 'x')}};
    const json big = {{"bytes", 1 << 20}};
    std::printf("the baseline HTTP upstream, straight (HTTP client) and through watchgate (stdio in front)\n\n");
    std::printf("%-26s %14s %10s %14s %10s %10s %12s\n", "calls", "direct/s", "direct p50", "watchgate/s", "wg p50",
                "wg/direct", "p50 added");
    struct Level {
        const char* name;
        const char* tool;
        json arguments;
        int calls;
        int window;
    };
    for (const Level& level : {Level{"1 KB echo, 1 at a time", "echo", small, calls, 1},
                               Level{"1 KB echo, 16 in flight", "echo", small, calls, 16},
                               Level{"1 MiB result, 1 at a time", "big", big, std::max(calls / 50, 20), 1}}) {
        through(gateway, next_id, level.tool, level.arguments, std::max(level.calls / 10, 10), level.window);  // warm
        const Result theirs = direct(server, level.tool, level.arguments, level.calls, level.window);
        const Result ours = through(gateway, next_id, level.tool, level.arguments, level.calls, level.window);
        std::printf("%-26s %14.0f %7.0f us %14.0f %7.0f us %9.2fx %9.0f us\n", level.name, theirs.calls_per_second,
                    theirs.p50_us, ours.calls_per_second, ours.p50_us, ours.calls_per_second / theirs.calls_per_second,
                    ours.p50_us - theirs.p50_us);
        std::fflush(stdout);
    }

    // Head-of-line blocking: 1,000 calls of 100 ms at once, each on a connection of its own;
    // first straight to the server (the client's 1,000 threads and the accepts are the floor), then
    // through the gateway.
    const int concurrent = 1000;
    {
        std::vector<std::unique_ptr<HttpConnection>> connections;
        std::vector<std::string> sessions;
        for (int i = 0; i < concurrent; ++i) {
            connections.push_back(std::make_unique<HttpConnection>(server.port));
            sessions.push_back(server.open_session(*connections.back()));
        }
        std::atomic<int> ready{0};
        std::atomic<bool> go{false};
        std::vector<std::thread> clients;
        for (int i = 0; i < concurrent; ++i)
            clients.emplace_back([&, i] {
                ++ready;
                while (!go) std::this_thread::yield();
                connections[static_cast<std::size_t>(i)]->post(call(1, "sleep", {{"ms", 100}}),
                                                               mcp_headers(sessions[static_cast<std::size_t>(i)]));
            });
        while (ready < concurrent) std::this_thread::sleep_for(std::chrono::milliseconds(1));
        const auto started = Clock::now();
        go = true;
        for (auto& client : clients) client.join();
        const double ms = std::chrono::duration<double, std::milli>(Clock::now() - started).count();
        std::printf("\n%d concurrent 100 ms calls straight to the server: %.0f ms, %.2f x 100 ms", concurrent, ms,
                    ms / 100);
    }
    for (int round = 0; round < 2; ++round) {  // the first opens the connections
        const auto started = Clock::now();
        const std::int64_t first = next_id;
        for (int i = 0; i < concurrent; ++i) gateway.send(call(next_id++, "sleep", {{"ms", 100}}));
        for (int i = 0; i < concurrent; ++i) gateway.wait(first + i);
        const double ms = std::chrono::duration<double, std::milli>(Clock::now() - started).count();
        std::printf("\n%d concurrent 100 ms calls (%s): %.0f ms, %.2f x 100 ms (target <= 1.3)", concurrent,
                    round == 0 ? "connections opened" : "connections kept", ms, ms / 100);
    }
    std::printf("\n");
    fs::remove_all(dir);
    return 0;
}
