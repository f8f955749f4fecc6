// HTTP front benchmark: calls/s and p50 latency over Streamable HTTP (keep-alive, one connection
// per session) with 1, 16 and 64 concurrent sessions, against the same calls over stdio through
// the gateway in the same run, in front of the same test server. Each call carries 1 KB. With
// --supergateway, the npm package supergateway (stateful Streamable HTTP) in front of the same
// test server is measured the same way, for comparison (docs/performance.md says how to install it).
//
//   watchgate_http_bench [--calls N] [--supergateway <its dist/index.js>]   (N per level, default 20000)
#include "http_client.hpp"
#include "bench_stats.hpp"
#include "stdio_peer.hpp"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <regex>
#include <thread>

namespace fs = std::filesystem;
using namespace watchgate::test;
using namespace watchgate::bench;

namespace {

const std::string payload(1000, 'x');

std::string echo_call(std::int64_t id) { return call(id, "echo", {{"text", payload}}); }

fs::path write_config(const fs::path& dir, bool http) {
    fs::create_directories(dir);
    auto file = dir / (http ? "http.yaml" : "stdio.yaml");
    std::ofstream(file) << "proxy:\n"
                        << (http ? "  transport: http\n  http: {port: 0, max_sessions: 1000}\n" : "")
                        << "  concurrency: {max_in_flight: 1000}\n"
                           "  upstreams:\n    - name: bench\n      command: [\"" WATCHGATE_TEST_SERVER "\"]\n"
                        << "logging: {level: " << (http ? "info" : "warning") << "}\n";  // its port is logged at info
    return file;
}

// `calls` echo calls with `window` in flight over stdio; latency from each send to its answer.
Result over_stdio(const fs::path& config, int calls, int window) {
    Peer gateway({WATCHGATE_BINARY, "run", "--config", config.string()});
    std::vector<Clock::time_point> sent(static_cast<std::size_t>(calls) + 1);
    std::vector<std::string> lines;
    for (int i = 1; i <= calls; ++i) lines.push_back(echo_call(i));
    const auto started = Clock::now();
    for (int i = 1; i <= calls; ++i) {
        gateway.wait_below(static_cast<std::size_t>(i - 1), static_cast<std::size_t>(window));
        sent[static_cast<std::size_t>(i)] = Clock::now();
        gateway.send(lines[static_cast<std::size_t>(i - 1)]);
    }
    std::vector<double> latencies;
    for (int i = 1; i <= calls; ++i)
        latencies.push_back(
            std::chrono::duration<double, std::micro>(gateway.wait(i) - sent[static_cast<std::size_t>(i)]).count());
    const double seconds = std::chrono::duration<double>(Clock::now() - started).count();
    return {calls / seconds, median(latencies)};
}

// The HTTP gateway, started once; its port read from its log.
class HttpGateway {
public:
    explicit HttpGateway(const fs::path& config)
        : process_(watchgate::core::ChildProcess::spawn({WATCHGATE_BINARY, "run", "--config", config.string()}, {},
                                                        std::nullopt)) {
        err_ = process_.take_stderr();
        std::string log;
        char buffer[4096];
        while (port_ == 0) {
            const ssize_t n = ::read(err_, buffer, sizeof buffer);
            if (n <= 0) throw std::runtime_error("the gateway ended before listening: " + log);
            log.append(buffer, static_cast<std::size_t>(n));
            port_ = listening_port(log);
        }
        drain_ = std::thread([this] {
            char rest[4096];
            while (::read(err_, rest, sizeof rest) > 0) {
            }
        });
    }
    ~HttpGateway() {
        process_.signal(SIGTERM);
        while (!process_.try_wait()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
        if (drain_.joinable()) drain_.join();
    }
    std::uint16_t port() const { return port_; }

private:
    watchgate::core::ChildProcess process_;
    int err_ = -1;
    std::uint16_t port_ = 0;
    std::thread drain_;
};

// supergateway in front of the test server: one child per session (--stateful), on a free port.
class Supergateway {
public:
    explicit Supergateway(const std::string& script) {
        {
            boost::asio::io_context io;
            boost::asio::ip::tcp::acceptor probe(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
            port_ = probe.local_endpoint().port();
        }
        process_.emplace(watchgate::core::ChildProcess::spawn(
            {"node", script, "--stdio", WATCHGATE_TEST_SERVER, "--outputTransport", "streamableHttp", "--stateful",
             "--port", std::to_string(port_), "--healthEndpoint", "/healthz", "--logLevel", "none"},
            {}, std::nullopt));
        for (int attempt = 0; attempt < 300; ++attempt) {
            try {
                HttpConnection probe(port_);
                if (probe.request(boost::beast::http::verb::get, "/healthz").status == 200) return;
            } catch (const std::exception&) {
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        throw std::runtime_error("supergateway did not answer /healthz within 15 s");
    }
    ~Supergateway() {
        process_->signal(SIGTERM);
        while (!process_->try_wait()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    std::uint16_t port() const { return port_; }

private:
    std::uint16_t port_ = 0;
    std::optional<watchgate::core::ChildProcess> process_;
};

// `sessions` clients at once, each with its own session and connection, calling one at a time.
Result over_http(std::uint16_t port, int calls, int sessions) {
    const int per_session = calls / sessions;
    std::vector<std::vector<double>> latencies(static_cast<std::size_t>(sessions));
    std::atomic<int> ready{0};
    std::atomic<bool> go{false};
    std::vector<std::thread> clients;
    for (int s = 0; s < sessions; ++s)
        clients.emplace_back([&, s] {
            HttpConnection connection(port);
            auto opened = connection.post(initialize_body(), mcp_headers({}, {}));
            const std::string session = opened.header("mcp-session-id");
            connection.post(R"({"jsonrpc":"2.0","method":"notifications/initialized"})", mcp_headers(session));
            const auto headers = mcp_headers(session);
            std::vector<std::string> bodies;
            for (int i = 1; i <= per_session; ++i) bodies.push_back(echo_call(i));
            ++ready;
            while (!go) std::this_thread::yield();
            auto& mine = latencies[static_cast<std::size_t>(s)];
            for (const auto& body : bodies) {
                const auto started = Clock::now();
                auto answer = connection.post(body, headers);
                if (answer.status != 200) std::fprintf(stderr, "unexpected status %d\n", answer.status);
                mine.push_back(std::chrono::duration<double, std::micro>(Clock::now() - started).count());
            }
        });
    while (ready < sessions) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    const auto started = Clock::now();
    go = true;
    for (auto& client : clients) client.join();
    const double seconds = std::chrono::duration<double>(Clock::now() - started).count();
    std::vector<double> all;
    for (auto& mine : latencies) all.insert(all.end(), mine.begin(), mine.end());
    return {per_session * sessions / seconds, median(all)};
}

}  // namespace

int main(int argc, char** argv) {
    int calls = 20000;
    std::string supergateway;
    for (int i = 1; i + 1 < argc; ++i) {
        if (std::string(argv[i]) == "--calls") calls = std::stoi(argv[i + 1]);
        if (std::string(argv[i]) == "--supergateway") supergateway = argv[i + 1];
    }
    const auto dir = fs::temp_directory_path() / ("watchgate-http-bench-" + std::to_string(::getpid()));
    const auto stdio_config = write_config(dir, false);
    const auto http_config = write_config(dir, true);
    std::printf("1 KB echo calls, %d per level; stdio: one client pipelining as many calls as HTTP has sessions\n\n",
                calls);
    std::printf("%-10s %14s %10s %14s %10s %12s %14s\n", "sessions", "stdio calls/s", "stdio p50", "http calls/s",
                "http p50", "http/stdio", "p50 added");
    std::vector<Result> ours;
    {
        HttpGateway gateway(http_config);
        for (int sessions : {1, 16, 64}) {
            const Result stdio = over_stdio(stdio_config, calls, sessions);
            const Result http = over_http(gateway.port(), calls, sessions);
            ours.push_back(http);
            std::printf("%-10d %14.0f %8.0f us %14.0f %8.0f us %11.2fx %11.0f us\n", sessions, stdio.calls_per_second,
                        stdio.p50_us, http.calls_per_second, http.p50_us,
                        http.calls_per_second / stdio.calls_per_second, http.p50_us - stdio.p50_us);
            std::fflush(stdout);
        }
    }
    if (!supergateway.empty()) {
        // A tenth of the calls: it is that much slower.
        std::printf("\nsupergateway (stateful Streamable HTTP), %d calls per level\n\n", calls / 10);
        std::printf("%-10s %18s %14s %18s %16s\n", "sessions", "its calls/s", "its p50", "watchgate / it",
                    "its p50 / ours");
        Supergateway peer(supergateway);
        int level = 0;
        for (int sessions : {1, 16, 64}) {
            const Result theirs = over_http(peer.port(), calls / 10, sessions);
            const Result& mine = ours[static_cast<std::size_t>(level++)];
            std::printf("%-10d %18.0f %11.0f us %17.1fx %15.1fx\n", sessions, theirs.calls_per_second, theirs.p50_us,
                        mine.calls_per_second / theirs.calls_per_second, theirs.p50_us / mine.p50_us);
            std::fflush(stdout);
        }
    }
    fs::remove_all(dir);
    return 0;
}
