// Audit plugins: how many events per second each records (queue to disk, drained at the end) and
// what one event costs the request path (building the record and queueing it), bodies off and
// on. A gateway request makes two events (request and response): compare with twice the
// gateway's messages per second from watchgate_bench. Not a test: `--target bench` runs it.
#include <watchgate/core/config/config.hpp>
#include <watchgate/core/pipeline/plugin_host.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <thread>
#include <variant>

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using namespace watchgate;

namespace {

// A UDP port that reads and forgets: audit_syslog's far end.
struct UdpDrain {
    int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
    int port = 0;
    std::atomic<bool> running{true};
    std::thread reader;
    UdpDrain() {
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
        socklen_t size = sizeof address;
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &size);
        port = ntohs(address.sin_port);
        int buffer = 8 << 20;
        ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buffer, sizeof buffer);
        reader = std::thread([this] {
            std::vector<char> data(70000);
            while (running) ::recv(fd, data.data(), data.size(), 0);
        });
    }
    ~UdpDrain() {
        running = false;
        ::shutdown(fd, SHUT_RDWR);
        ::close(fd);
        reader.join();
    }
};

struct Result {
    double events_per_second;
    double request_path_ns;
};

Result run(const std::string& yaml, const fs::path& dir, int events) {
    auto host = core::PluginHost::load(core::parse_config(yaml, dir / "bench.yaml"));
    const std::string line =
        R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"text":")" +
        std::string(1000, 'x') + R"("}}})";
    auto parsed = core::Message::parse(line, "bench");
    const core::Message original = std::get<core::Message>(std::move(parsed));
    auto pipeline = host->pipeline("");
    const auto started = Clock::now();
    for (int i = 0; i < events; ++i) {
        core::Message message = original;
        auto scope = pipeline->begin_request(message);
        pipeline->process_request(*scope, message);
    }
    const auto queued = Clock::now();
    pipeline.reset();
    host.reset();  // the writer drains: every event is written
    const auto written = Clock::now();
    return {events / std::chrono::duration<double>(written - started).count(),
            std::chrono::duration<double, std::nano>(queued - started).count() / events};
}

}  // namespace

int main(int argc, char** argv) {
    int events = argc > 1 ? std::stoi(argv[1]) : 200000;
    const fs::path dir = fs::temp_directory_path() / ("watchgate-audit-bench-" + std::to_string(::getpid()));
    fs::create_directories(dir);
    UdpDrain drain;
    std::printf("Audit plugins: %d request events of ~1.1 KB each (bodies: the whole message)\n\n", events);
    std::printf("%-22s %8s %14s %18s\n", "plugin", "bodies", "events/s", "request path ns");
    for (const std::string plugin : {"audit_jsonl", "audit_csv", "audit_human_readable", "audit_syslog"}) {
        for (bool bodies : {false, true}) {
            fs::remove_all(dir / "out");
            std::string config = plugin == "audit_syslog"
                                     ? "{transport: udp, port: " + std::to_string(drain.port) + ", queue_size: 1000000"
                                     : "{output_file: '" + (dir / "out" / "audit").string() +
                                           "', max_file_size_mb: 0, queue_size: 1000000";
            config += std::string(", include_request_body: ") + (bodies ? "true" : "false") + "}";
            const std::string yaml =
                "logging: {level: warning}\nplugins:\n  auditing:\n    _global:\n      - handler: " + plugin +
                "\n        config: " + config + "\n";
            Result result = run(yaml, dir, events);
            std::printf("%-22s %8s %14.0f %18.0f\n", plugin.c_str(), bodies ? "on" : "off", result.events_per_second,
                        result.request_path_ns);
        }
    }
    fs::remove_all(dir);
    std::printf(
        "\nA gateway request is two events: the audit writer keeps up while events/s exceeds twice the\n"
        "gateway's msgs/s (watchgate_bench).\n");
    return 0;
}
