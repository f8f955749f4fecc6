// Load driver: the test MCP server directly vs through `watchgate`, in one invocation, with ratios.
//
//   watchgate_bench [--requests N] [--window W] [--no-sweep]
//
// Throughput: N echo calls pipelined with W in flight. Latency: N/10 calls one at a time. A plain
// byte relay in the same position shows the floor that two extra pipe hops cost on this machine. Sweep: N concurrent
// `sleep 100` calls through the gateway with max_in_flight 1000, against the 100 ms a single call takes.
#include "stdio_peer.hpp"

#include <nlohmann/json.hpp>

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace fs = std::filesystem;
using namespace watchgate::bench;

namespace {

struct Throughput {
    double messages_per_second;
};

Throughput throughput(Peer& peer, int requests, int window, const std::string& tool = "echo") {
    const std::string payload(100, 'x');
    std::vector<std::string> lines;
    for (int i = 1; i <= requests; ++i) lines.push_back(call(i, tool, {{"text", payload}}));
    const auto started = Clock::now();
    for (int i = 1; i <= requests; ++i) {
        peer.wait_below(static_cast<std::size_t>(i - 1), static_cast<std::size_t>(window));
        peer.send(lines[static_cast<std::size_t>(i - 1)]);
    }
    for (int i = 1; i <= requests; ++i) peer.wait(i);
    const double seconds = std::chrono::duration<double>(Clock::now() - started).count();
    return {requests / seconds};
}

struct Latency {
    double p50_us, p90_us, p99_us;
};

Latency latency(Peer& peer, int requests, std::int64_t first_id, const std::string& tool = "echo") {
    std::vector<double> samples;
    for (int i = 0; i < requests; ++i) {
        const std::int64_t id = first_id + i;
        const auto sent = Clock::now();
        peer.send(call(id, tool, {{"text", "ping"}}));
        samples.push_back(std::chrono::duration<double, std::micro>(peer.wait(id) - sent).count());
    }
    std::sort(samples.begin(), samples.end());
    auto at = [&](double q) { return samples[static_cast<std::size_t>(q * static_cast<double>(samples.size() - 1))]; };
    return {at(0.5), at(0.9), at(0.99)};
}

std::string test_read(const fs::path& file) {
    std::ifstream in(file);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

// `namespaced`: the upstream's tools are `bench__*` (the default); otherwise under their own
// names, so the same request lines go direct and through the gateway.
// `audited`: with audit_jsonl recording every request and response with its body.
// `threads`: the work pool that runs requests with plugins (`proxy.threads`).
fs::path write_config(const fs::path& dir, int max_in_flight, bool namespaced = false, bool audited = false,
                      int threads = 1) {
    fs::create_directories(dir);
    fs::path file = dir / ("bench_" + std::to_string(max_in_flight) + (namespaced ? "_ns" : "") +
                           (audited ? "_audit" : "") + "_t" + std::to_string(threads) + ".yaml");
    if (audited)
        std::ofstream(dir / "audit.part")
            << "plugins:\n  auditing:\n    _global:\n      - handler: audit_jsonl\n        config: {output_file: '"
            << (dir / "audit.jsonl").string()
            << "', include_request_body: true, include_response_body: true, max_file_size_mb: 0}\n";
    std::ofstream(file) << (audited ? test_read(dir / "audit.part") : std::string()) << "proxy:\n  threads: " << threads
                        << "\n  namespace: " << (namespaced ? "true" : "false")
                        << "\n  concurrency: {max_in_flight: " << max_in_flight
                        << "}\n  upstreams:\n    - name: bench\n      command: [\"" << WATCHGATE_TEST_SERVER << "\"]\n"
                        << "logging: {level: warning}\n";
    return file;
}

// `--relay COMMAND...`: a process that only copies bytes between its stdio and COMMAND's, the
// cheapest possible process in the middle. Its added latency is the floor for any stdio gateway.
int relay(const std::vector<std::string>& command) {
    auto child = watchgate::core::ChildProcess::spawn(command, {}, std::nullopt);
    int to_child = child.take_stdin();
    int from_child = child.take_stdout();
    auto copy = [](int from, int to) {
        std::vector<char> buffer(1 << 16);
        for (;;) {
            ssize_t n = ::read(from, buffer.data(), buffer.size());
            if (n <= 0) break;
            for (ssize_t done = 0; done < n;) {
                ssize_t w = ::write(to, buffer.data() + done, static_cast<std::size_t>(n - done));
                if (w <= 0) return;
                done += w;
            }
        }
    };
    std::thread up([&] {
        copy(STDIN_FILENO, to_child);
        ::close(to_child);
    });
    copy(from_child, STDOUT_FILENO);
    up.join();
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc > 2 && std::string(argv[1]) == "--relay") return relay(std::vector<std::string>(argv + 2, argv + argc));
    int requests = 20000;
    int window = 64;
    bool sweep = true;
    for (int i = 1; i < argc; ++i) {
        std::string arg = argv[i];
        if (arg == "--requests" && i + 1 < argc)
            requests = std::stoi(argv[++i]);
        else if (arg == "--window" && i + 1 < argc)
            window = std::stoi(argv[++i]);
        else if (arg == "--no-sweep")
            sweep = false;
    }
    const fs::path dir = fs::temp_directory_path() / ("watchgate-bench-" + std::to_string(::getpid()));
    const std::vector<std::string> direct_command = {WATCHGATE_TEST_SERVER};
    const std::vector<std::string> gateway_command = {WATCHGATE_BINARY, "run", "--config",
                                                      write_config(dir, 1000).string()};

    std::printf(
        "Watchgate benchmark: %d echo calls, window %d (test server direct vs through watchgate, no plugins)\n\n",
        requests, window);
    Throughput direct_rate, gateway_rate, relay_rate, namespaced_rate, audited_rate, pooled_rate;
    Latency direct_latency, gateway_latency, relay_latency, namespaced_latency, audited_latency, pooled_latency;
    {
        Peer direct(direct_command);
        direct_rate = throughput(direct, requests, window);
        direct_latency = latency(direct, std::max(200, requests / 10), 10'000'000);
    }
    {
        Peer relayed({fs::read_symlink("/proc/self/exe").string(), "--relay", WATCHGATE_TEST_SERVER});
        relay_rate = throughput(relayed, requests, window);
        relay_latency = latency(relayed, std::max(200, requests / 10), 10'000'000);
    }
    {
        Peer gateway(gateway_command);
        gateway_rate = throughput(gateway, requests, window);
        gateway_latency = latency(gateway, std::max(200, requests / 10), 10'000'000);
    }
    {
        // The default with prefixed names: the gateway rewrites each call's name.
        Peer gateway({WATCHGATE_BINARY, "run", "--config", write_config(dir, 1000, true).string()});
        namespaced_rate = throughput(gateway, requests, window, "bench__echo");
        namespaced_latency = latency(gateway, std::max(200, requests / 10), 10'000'000, "bench__echo");
    }
    {
        // Every request and response recorded by audit_jsonl, bodies included.
        Peer gateway({WATCHGATE_BINARY, "run", "--config", write_config(dir, 1000, false, true).string()});
        audited_rate = throughput(gateway, requests, window);
        audited_latency = latency(gateway, std::max(200, requests / 10), 10'000'000);
    }
    {
        // The same with two work threads: requests with plugins run in parallel.
        Peer gateway({WATCHGATE_BINARY, "run", "--config", write_config(dir, 1000, false, true, 2).string()});
        pooled_rate = throughput(gateway, requests, window);
        pooled_latency = latency(gateway, std::max(200, requests / 10), 10'000'000);
    }
    std::printf("%-10s %14s %10s %10s %10s\n", "", "msgs/s", "p50 us", "p90 us", "p99 us");
    std::printf("%-10s %14.0f %10.1f %10.1f %10.1f\n", "direct", direct_rate.messages_per_second, direct_latency.p50_us,
                direct_latency.p90_us, direct_latency.p99_us);
    std::printf("%-10s %14.0f %10.1f %10.1f %10.1f\n", "byte relay", relay_rate.messages_per_second,
                relay_latency.p50_us, relay_latency.p90_us, relay_latency.p99_us);
    std::printf("%-10s %14.0f %10.1f %10.1f %10.1f\n", "watchgate", gateway_rate.messages_per_second,
                gateway_latency.p50_us, gateway_latency.p90_us, gateway_latency.p99_us);
    std::printf("%-10s %14.0f %10.1f %10.1f %10.1f   (namespace: true, bench__echo)\n", "prefixed",
                namespaced_rate.messages_per_second, namespaced_latency.p50_us, namespaced_latency.p90_us,
                namespaced_latency.p99_us);
    std::printf("%-10s %14.0f %10.1f %10.1f %10.1f   (audit_jsonl, bodies on)\n", "audited",
                audited_rate.messages_per_second, audited_latency.p50_us, audited_latency.p90_us,
                audited_latency.p99_us);
    std::printf("%-10s %14.0f %10.1f %10.1f %10.1f   (audit_jsonl, bodies on, threads: 2)\n", "2 threads",
                pooled_rate.messages_per_second, pooled_latency.p50_us, pooled_latency.p90_us, pooled_latency.p99_us);
    std::printf("\nthroughput ratio (watchgate / direct): %.2f   (target >= 0.40); prefixed names: %.2f\n",
                gateway_rate.messages_per_second / direct_rate.messages_per_second,
                namespaced_rate.messages_per_second / direct_rate.messages_per_second);
    std::printf("audit_jsonl with bodies keeps %.2f of the gateway's throughput (the writer is off the request path)\n",
                audited_rate.messages_per_second / gateway_rate.messages_per_second);
    std::printf("with two work threads (threads: 2) it keeps %.2f of one thread's throughput\n",
                pooled_rate.messages_per_second / audited_rate.messages_per_second);
    std::printf(
        "added p50 latency: %.1f us   (target <= 30 us); a byte relay adds %.1f us (the floor for any\n"
        "  process in the middle: two more pipe hops), so watchgate's own work adds %.1f us\n",
        gateway_latency.p50_us - direct_latency.p50_us, relay_latency.p50_us - direct_latency.p50_us,
        gateway_latency.p50_us - relay_latency.p50_us);
    std::printf("added p50 latency with prefixed names (namespace: true): %.1f us\n",
                namespaced_latency.p50_us - direct_latency.p50_us);

    if (sweep) {
        std::printf("\nConcurrency sweep: N concurrent `sleep 100` calls (gateway: max_in_flight 1000)\n");
        std::printf("%6s %14s %14s %14s\n", "N", "direct ms", "watchgate ms", "watchgate x");
        Peer direct(direct_command);
        Peer gateway(gateway_command);
        std::int64_t id = 1;
        auto run = [&](Peer& peer, int n) {
            const auto started = Clock::now();
            const std::int64_t first = id;
            for (int i = 0; i < n; ++i) peer.send(call(id++, "sleep", {{"ms", 100}}));
            for (std::int64_t i = first; i < id; ++i) peer.wait(i);
            return std::chrono::duration<double, std::milli>(Clock::now() - started).count();
        };
        for (int n : {1, 10, 100, 1000}) {
            const double direct_ms = run(direct, n);
            const double gateway_ms = run(gateway, n);
            std::printf("%6d %14.1f %14.1f %14.2f%s\n", n, direct_ms, gateway_ms, gateway_ms / 100.0,
                        n == 1000 ? "   (target <= 1.30)" : "");
        }
    }
    fs::remove_all(dir);
    return 0;
}
