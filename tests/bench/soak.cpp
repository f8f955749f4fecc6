// Soak: the gateway under mixed load for a long time, with every security plugin and audit_jsonl
// on. Not a test (minutes long); run by hand (docs/reliability.md):
//
//   watchgate_soak [--seconds S] [--window W]      (default 600 s, 32 in flight)
//
// Every minute (and at the end) it prints calls per second, the gateway's resident memory and
// open file descriptors. At the end it checks that every call had exactly one answer and the audit
// file exactly one request and one response record per call. Exit 1 when a check fails.
#include <watchgate/core/upstream/child_process.hpp>
#include <watchgate/core/base/line_splitter.hpp>

#include "process_stats.hpp"

#include <nlohmann/json.hpp>

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

using nlohmann::json;
using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

namespace {

// The calls of the mix: prose (some with PII or a secret, which get redacted), a 64 KiB result,
// a slow call, a list, a ping.
json request(std::int64_t id, std::mt19937& random) {
    static const std::string prose =
        "The quarterly report covers revenue, churn and the roadmap for the next two quarters. "
        "Each section lists the owner, the open risks and what was decided in the last review. ";
    const int pick = static_cast<int>(random() % 20);
    auto call = [&](const std::string& tool, json arguments) {
        return json{{"jsonrpc", "2.0"},
                    {"id", id},
                    {"method", "tools/call"},
                    {"params", {{"name", tool}, {"arguments", std::move(arguments)}}}};
    };
    if (pick < 10) {
        std::string text;
        while (text.size() < 1000) text += prose;
        return call("echo", {{"text", text}});
    }
    if (pick < 12) return call("echo", {{"text", prose + " Mail bob@example.com, card 4111 1111 1111 1111."}});
    if (pick < 13) return call("echo", {{"text", "key AKIAIOSFODNN7EXAMPLE in the log"}});
    if (pick < 15) return call("big", {{"bytes", 64 * 1024}});
    if (pick < 17) return call("sleep", {{"ms", 20}});
    if (pick < 19) return json{{"jsonrpc", "2.0"}, {"id", id}, {"method", "tools/list"}};
    return json{{"jsonrpc", "2.0"}, {"id", id}, {"method", "ping"}};
}

}  // namespace

int main(int argc, char** argv) {
    int seconds = 600, window = 32;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string flag = argv[i];
        if (flag == "--seconds") seconds = std::stoi(argv[i + 1]);
        if (flag == "--window") window = std::stoi(argv[i + 1]);
    }
    ::signal(SIGPIPE, SIG_IGN);
    const fs::path dir = fs::temp_directory_path() / ("watchgate_soak_" + std::to_string(::getpid()));
    fs::create_directories(dir);
    const fs::path audit = dir / "audit.jsonl";
    // One audit file for the whole run (no rotation), so every record of a call is in it.
    std::ofstream(dir / "gateway.yaml")
        << "proxy:\n  namespace: false\n  upstreams:\n    - name: soak\n      command: [\"" << WATCHGATE_TEST_SERVER
        << "\"]\nplugins:\n  security:\n    _global:\n      - handler: basic_pii_filter\n"
           "      - handler: basic_secrets_filter\n      - handler: basic_prompt_injection_defense\n"
           "  auditing:\n    _global:\n      - handler: audit_jsonl\n        config: {max_file_size_mb: 0, "
           "output_file: "
        << audit.string() << "}\n";
    auto gateway = watchgate::core::ChildProcess::spawn(
        {WATCHGATE_BINARY, "run", "--config", (dir / "gateway.yaml").string()}, {}, std::nullopt);
    const int in = gateway.take_stdin(), out = gateway.take_stdout(), err = gateway.take_stderr();
    std::thread([err] {
        char buffer[4096];
        while (::read(err, buffer, sizeof buffer) > 0) {
        }
    }).detach();

    std::mutex mutex;
    std::condition_variable arrived;
    std::map<std::int64_t, int> answers;  // id -> how many answers
    std::size_t answered = 0;
    std::thread reader([&] {
        watchgate::core::LineSplitter splitter(256u << 20);
        std::vector<char> buffer(1 << 16);
        for (;;) {
            ssize_t n = ::read(out, buffer.data(), buffer.size());
            if (n <= 0) break;
            splitter.feed(
                std::string_view(buffer.data(), static_cast<std::size_t>(n)),
                [&](std::string line) {
                    auto message = json::parse(line, nullptr, false);
                    if (!message.is_object() || !message.contains("id") || !message["id"].is_number_integer()) return;
                    std::lock_guard lock(mutex);
                    ++answers[message["id"].get<std::int64_t>()];
                    ++answered;
                    arrived.notify_all();
                },
                [](const watchgate::core::OversizeLine&) {});
        }
    });
    auto send = [&](const json& message) {
        const std::string line = message.dump() + "\n";
        for (std::size_t done = 0; done < line.size();) {
            ssize_t n = ::write(in, line.data() + done, line.size() - done);
            if (n <= 0) return;
            done += static_cast<std::size_t>(n);
        }
    };
    send({{"jsonrpc", "2.0"},
          {"id", 0},
          {"method", "initialize"},
          {"params",
           {{"protocolVersion", "2025-06-18"},
            {"capabilities", json::object()},
            {"clientInfo", {{"name", "soak"}, {"version", "1"}}}}}});
    {
        std::unique_lock lock(mutex);
        arrived.wait(lock, [&] { return answers.contains(0); });
    }
    send({{"jsonrpc", "2.0"}, {"method", "notifications/initialized"}});

    std::printf("%-8s %12s %12s %8s\n", "minute", "calls/s", "RSS MiB", "fds");
    std::mt19937 random(7);
    std::int64_t sent = 0;
    std::size_t answered_at_mark = 0;
    const auto started = Clock::now();
    auto mark = started;
    auto report = [&](const char* label) {
        const auto now = Clock::now();
        std::size_t done;
        {
            std::lock_guard lock(mutex);
            done = answered;
        }
        const double rate = (done - answered_at_mark) / std::chrono::duration<double>(now - mark).count();
        std::printf("%-8s %12.0f %12.1f %8zu\n", label, rate, watchgate::test::resident_kib(gateway.pid()) / 1024.0,
                    watchgate::test::open_fds(gateway.pid()));
        std::fflush(stdout);
        answered_at_mark = done;
        mark = now;
    };
    int minute = 0;
    while (Clock::now() - started < std::chrono::seconds(seconds)) {
        {
            std::unique_lock lock(mutex);
            arrived.wait(lock, [&] {
                return static_cast<std::size_t>(sent) - (answered - 1) < static_cast<std::size_t>(window);
            });
        }
        send(request(++sent, random));
        if (Clock::now() - mark >= std::chrono::minutes(1)) report(std::to_string(++minute).c_str());
    }
    {
        std::unique_lock lock(mutex);
        arrived.wait_for(lock, std::chrono::seconds(30),
                         [&] { return answered - 1 == static_cast<std::size_t>(sent); });
    }
    report("end");
    ::close(in);
    reader.join();
    while (!gateway.try_wait()) std::this_thread::sleep_for(std::chrono::milliseconds(5));

    bool ok = true;
    std::size_t missing = 0, repeated = 0;
    for (std::int64_t id = 1; id <= sent; ++id) {
        const auto it = answers.find(id);
        if (it == answers.end())
            ++missing;
        else if (it->second != 1)
            ++repeated;
    }
    std::printf("calls: %lld, without an answer: %zu, answered more than once: %zu\n", static_cast<long long>(sent),
                missing, repeated);
    ok = ok && missing == 0 && repeated == 0;

    // Pings are answered by the gateway itself and tools/list fans out: neither is audited as a
    // call, so the audit is checked for the tools/call requests.
    std::map<std::string, std::pair<int, int>> records;  // request id -> (requests, responses)
    std::map<std::string, std::string> outcomes;         // request id -> "request:allowed response:error ..."
    std::ifstream lines(audit);
    for (std::string line; std::getline(lines, line);) {
        auto record = json::parse(line, nullptr, false);
        if (!record.is_object() || record.value("method", "") != "tools/call") continue;
        const std::string id = record["request_id"].dump();
        auto& [requests, responses] = records[id];
        (record["event_type"] == "request" ? requests : responses) += 1;
        outcomes[id] += record.value("event_type", "") + ":" + record.value("outcome", "") + " ";
    }
    std::size_t bad_records = 0;
    for (const auto& [id, counts] : records)
        if (counts.first != 1 || counts.second != 1) {
            if (++bad_records <= 3) std::printf("  call %s has records: %s\n", id.c_str(), outcomes[id].c_str());
        }
    std::printf("audited calls: %zu, with other than one request and one response record: %zu\n", records.size(),
                bad_records);
    ok = ok && bad_records == 0 && !records.empty();
    fs::remove_all(dir);
    std::printf("%s\n", ok ? "soak: ok" : "soak: FAILED");
    return ok ? 0 : 1;
}
