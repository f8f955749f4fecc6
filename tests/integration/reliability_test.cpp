// Fault injection through the binary: hostile bytes, stuck peers, slow plugins, broken upstreams
// and configs (docs/reliability.md). Each case reproduces a way the gateway once failed.
#include <catch2/catch.hpp>

#include "gateway_process.hpp"
#include "process_stats.hpp"
#include "test_support.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <thread>

using namespace watchgate;
using nlohmann::json;
using test::GatewayProcess;
using test::text_of;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

namespace {

std::string plugin_dirs() { return "plugin_dirs: [\"" + test::plugin_dir().string() + "\"]\n"; }

long resident_mib(pid_t pid) { return test::resident_kib(pid) / 1024; }

// Resident memory a gateway under these tests stays below; sanitizers keep freed memory (their
// quarantine) and shadow memory, so the bound is only meaningful without them.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr long resident_limit_mib = 1024;
#else
constexpr long resident_limit_mib = 48;
#endif

json raw_call(GatewayProcess& gateway, const json& id, const std::string& line, std::size_t pad = 0) {
    return gateway.call_tool(id, "raw", {{"line", line}, {"pad", pad}}, 5s);
}

}  // namespace

TEST_CASE("reliability: a NUL byte in a client line is a parse error, never a bypass of the plugins") {
    GatewayProcess gateway(test::scratch_dir("rel_nul_client"),
                           test::test_server_config("",
                                                    "plugins:\n  security:\n    _global:\n"
                                                    "      - handler: keyword_filter\n"
                                                    "        config: {keywords: [forbidden]}\n"));
    gateway.initialize();
    std::string line =
        R"({"jsonrpc":"2.0","id":"n1","method":"tools/call","params":{"name":"echo","arguments":{"text":"fine"}}})";
    line += '\0';
    line += R"({"text":"forbidden"})";
    gateway.send_line(line);
    auto answer = gateway.response("n1", 5s);
    REQUIRE(answer.contains("error"));
    CHECK(answer["error"]["code"] == -32700);
    CHECK_THAT(answer["error"]["message"].get<std::string>(), Catch::Contains("NUL byte"));
    // The upstream never saw it: only the calls below reached it.
    auto calls = gateway.call_tool("c", "calls");
    CHECK(text_of(calls).find("echo") == std::string::npos);
    CHECK(gateway.call_tool("c2", "echo", {{"text", "forbidden"}})["error"]["code"] == -32000);
}

TEST_CASE("reliability: an upstream answer with a NUL byte is refused at once and nothing of it leaks") {
    GatewayProcess gateway(test::scratch_dir("rel_nul_upstream"),
                           test::test_server_config("  timeouts: {request_timeout: 30}\n"));
    gateway.initialize();
    const auto started = Clock::now();
    std::string line = R"({"jsonrpc":"2.0","id":$ID,"result":{"content":[{"type":"text","text":"clean"}]}})";
    line += '\0';
    line += R"({"leak":"AKIAIOSFODNN7EXAMPLE alice@example.com"})";
    auto answer = raw_call(gateway, 1, line);
    CHECK(Clock::now() - started < 4s);  // not the 30 s request timeout
    REQUIRE(answer.contains("error"));
    CHECK(answer["error"]["code"] == -32004);
    CHECK(answer.dump().find("AKIA") == std::string::npos);
    CHECK(answer.dump().find("clean") == std::string::npos);
    CHECK(text_of(gateway.call_tool(2, "echo", {{"text", "alive"}})) == "alive");
}

TEST_CASE("reliability: invalid upstream answers fail their request at once, naming the problem") {
    GatewayProcess gateway(test::scratch_dir("rel_bad_answers"),
                           test::test_server_config("  max_message_size_mb: 1\n  timeouts: {request_timeout: 30}\n"));
    gateway.initialize();
    const std::vector<std::pair<std::string, std::string>> cases = {
        {R"({"jsonrpc":"2.0","id":$ID,"error":{"code":1.5,"message":"x"}})", "integer \"code\""},
        {R"({"id":$ID,"result":{}})", "jsonrpc"},
        {R"({"jsonrpc":"2.0","id":$ID.0,"result":{}})", "\"id\""},
        {R"({"jsonrpc":"2.0","id":$ID,"result":{"content":[{"type":"text","text":"$PAD"}]}})", "limit"},
        {R"({"jsonrpc":"2.0","result":{"content":[{"type":"text","text":"$PAD"}]},"id":$ID})", "limit"},
        {R"({"jsonrpc":"2.0","id":$ID,"result":{"content":[)", "not valid JSON"},
    };
    int id = 1;
    for (const auto& [line, why] : cases) {
        INFO("case " << id);
        const auto started = Clock::now();
        auto answer = raw_call(gateway, id++, line, 1100 * 1024);
        CHECK(Clock::now() - started < 4s);
        REQUIRE(answer.contains("error"));
        CHECK(answer["error"]["code"] == -32004);
        CHECK_THAT(answer["error"]["message"].get<std::string>(), Catch::Contains(why));
    }
    CHECK(text_of(gateway.call_tool(id, "echo", {{"text", "alive"}})) == "alive");
}

TEST_CASE("reliability: a slow plugin hook holds up neither reading nor other requests") {
    // test_serial is not thread-safe: its hooks run one at a time, each taking 1.5 s here. With
    // two worker threads, two calls to `slow` used to take both threads (one in the hook, one
    // waiting for it), and pings and `fast` calls waited with them.
    const std::string server = WATCHGATE_TEST_SERVER;
    GatewayProcess gateway(test::scratch_dir("rel_slow_hook"),
                           plugin_dirs() + "proxy:\n  threads: 2\n  upstreams:\n    - name: slow\n      command: [\"" +
                               server + "\"]\n    - name: fast\n      command: [\"" + server +
                               "\"]\nplugins:\n  security:\n    slow:\n      - handler: test_serial\n"
                               "        config: {request: [{op: sleep_us, us: 1500000}]}\n");
    gateway.initialize();
    for (int i = 1; i <= 3; ++i) gateway.send_call(i, "slow__echo", {{"text", "slow"}});
    std::this_thread::sleep_for(100ms);
    auto started = Clock::now();
    // Held up, they would wait at least the 1.4 s left of the first hook; the margin is for a
    // loaded machine.
    CHECK(gateway.request("p", "ping", json::object(), 5s).contains("result"));
    CHECK(Clock::now() - started < 1200ms);
    started = Clock::now();
    CHECK(text_of(gateway.call_tool("f", "fast__echo", {{"text", "quick"}}, 5s)) == "quick");
    CHECK(Clock::now() - started < 1200ms);
    // Each answers in its turn (1.5 s apart); the bound is for a machine busy with other tests.
    for (int i = 1; i <= 3; ++i) CHECK(text_of(gateway.response(i, 30s)) == "slow");
}

TEST_CASE("reliability: request_timeout covers time spent in plugins") {
    GatewayProcess gateway(test::scratch_dir("rel_plugin_timeout"),
                           plugin_dirs() + test::test_server_config("  timeouts: {request_timeout: 0.5}\n",
                                                                    "plugins:\n  security:\n    _global:\n"
                                                                    "      - handler: test_sec_a\n"
                                                                    "        config: {request: [{op: sleep_us, us: "
                                                                    "2000000}]}\n"));
    gateway.initialize();
    const auto started = Clock::now();
    auto answer = gateway.call_tool(1, "echo", {{"text", "late"}}, 5s);
    CHECK(Clock::now() - started < 1500ms);
    REQUIRE(answer.contains("error"));
    CHECK(answer["error"]["code"] == -32001);
    // Exactly one answer: the hook's late result is not sent as a second one.
    std::this_thread::sleep_for(2s);
    CHECK(gateway.response_count() == 2);  // initialize and this call
}

TEST_CASE("reliability: an upstream command that is not found does not hang the gateway") {
    GatewayProcess gateway(test::scratch_dir("rel_missing_command"),
                           "proxy:\n  upstreams:\n    - name: ghost\n      command: [\"nodee-not-installed\"]\n"
                           "      restart_on_failure: true\n      max_restart_attempts: 3\n");
    auto answer = gateway.initialize();
    CHECK(answer.contains("error"));
    std::this_thread::sleep_for(1s);  // restarts are attempted meanwhile
    CHECK(gateway.request("p", "ping", json::object(), 5s).contains("result"));
    CHECK(gateway.call_tool(1, "ghost__echo", {}, 5s)["error"]["code"] == -32002);
    gateway.close_input();
    CHECK(gateway.wait_exit(10s) == 1);  // it ends, and says that no upstream ever worked
}

TEST_CASE("reliability: an upstream that hangs in initialize is given up after connection_timeout") {
    GatewayProcess gateway(test::scratch_dir("rel_hang_init"),
                           "proxy:\n  namespace: false\n  timeouts: {connection_timeout: 0.5}\n  upstreams:\n"
                           "    - name: test\n      command: [\"" +
                               std::string(WATCHGATE_TEST_SERVER) +
                               "\", \"--hang-initialize\"]\n      max_restart_attempts: 1\n");
    const auto started = Clock::now();
    auto answer = gateway.initialize();
    CHECK(Clock::now() - started < 3s);
    CHECK(answer.contains("error"));
    std::this_thread::sleep_for(1500ms);
    const std::string log = gateway.log();
    CHECK_THAT(log, Catch::Contains("initialize failed"));
    CHECK_THAT(log, Catch::Contains("restarting in"));
}

TEST_CASE("reliability: an upstream that stops reading is pushed back on, then killed and restarted") {
    // 1 MiB queue limit, 2 s stall timeout: the upstream reads nothing for 6 s while the client
    // sends 40 MiB to it. The gateway must stay small, and every request gets one answer.
    GatewayProcess gateway(test::scratch_dir("rel_upstream_stuck"),
                           test::test_server_config("  queue_limit_mb: 1\n  stall_timeout: 2\n"
                                                    "  concurrency: {max_in_flight: 1000}\n",
                                                    "",
                                                    // Under a sanitizer the restarted server may take
                                                    // longer than the stall timeout to parse a 1 MiB line.
                                                    "      max_restart_attempts: 20\n"));
    gateway.initialize();
    gateway.send_call("stop", "stop_reading", {{"ms", 6000}});
    std::this_thread::sleep_for(200ms);
    std::atomic<int> sent{0};
    std::thread sender([&] {
        const std::string text(1 << 20, 'a');
        for (int i = 0; i < 40; ++i) {
            gateway.send_call(i, "echo", {{"text", text}});
            ++sent;
        }
    });
    std::this_thread::sleep_for(1500ms);
    // Pushed back: the gateway holds about a queue's worth, the pipes a little more.
    CHECK(sent < 8);
    CHECK(resident_mib(gateway.pid()) < resident_limit_mib);
    sender.join();
    for (int i = 0; i < 40; ++i) {
        INFO("request " << i);
        CHECK_FALSE(gateway.response(i, 20s).is_null());
    }
    CHECK_THAT(gateway.log_once("took nothing on stdin"), Catch::Contains("took nothing on stdin"));
    // Restarted: serving again once the new process is up (under a sanitizer beside other tests
    // that may take a while; until then a call is refused at once as "starting").
    std::string after;
    for (int attempt = 0; attempt < 60 && after != "alive"; ++attempt) {
        after = text_of(gateway.call_tool("after-" + std::to_string(attempt), "echo", {{"text", "alive"}}, 10s));
        if (after != "alive") std::this_thread::sleep_for(500ms);
    }
    CHECK(after == "alive");
}

TEST_CASE("reliability: a client that stops reading is pushed back on, then dropped") {
    const auto dir = test::scratch_dir("rel_client_stuck");
    std::ofstream(dir / "gateway.yaml") << test::test_server_config("  queue_limit_mb: 1\n  stall_timeout: 2\n");
    auto process = core::ChildProcess::spawn({WATCHGATE_BINARY, "run", "--config", (dir / "gateway.yaml").string()}, {},
                                             std::nullopt);
    const int in = process.take_stdin();
    const int out = process.take_stdout();
    const int err = process.take_stderr();
    ::fcntl(in, F_SETFL, ::fcntl(in, F_GETFL) | O_NONBLOCK);
    auto send = [&](const json& message) {
        const std::string line = message.dump() + "\n";
        for (std::size_t done = 0; done < line.size();) {
            ssize_t n = ::write(in, line.data() + done, line.size() - done);
            if (n < 0 && errno == EAGAIN) return false;  // pushed back: the gateway reads no more
            if (n <= 0) return false;
            done += static_cast<std::size_t>(n);
        }
        return true;
    };
    send({{"jsonrpc", "2.0"},
          {"id", 0},
          {"method", "initialize"},
          {"params",
           {{"protocolVersion", "2025-06-18"},
            {"capabilities", json::object()},
            {"clientInfo", {{"name", "t"}, {"version", "1"}}}}}});
    send({{"jsonrpc", "2.0"}, {"method", "notifications/initialized"}});
    std::this_thread::sleep_for(300ms);
    // Each answer is 1 MiB; nobody reads them. Each request carries 8 KiB, so 400 of them are far
    // more than the pipe holds: the sending stops only when the gateway stops reading.
    int sent = 0;
    const std::string pad(8192, 'p');
    for (int i = 1; i <= 400; ++i) {
        if (!send({{"jsonrpc", "2.0"},
                   {"id", i},
                   {"method", "tools/call"},
                   {"params", {{"name", "big"}, {"arguments", {{"bytes", 1 << 20}, {"pad", pad}}}}}}))
            break;
        ++sent;
        std::this_thread::sleep_for(2ms);
    }
    CHECK(sent < 400);  // the gateway stopped reading
    CHECK(resident_mib(process.pid()) < resident_limit_mib);
    // After the stall timeout the client is treated as gone: the gateway shuts down.
    std::optional<int> status;
    for (auto deadline = Clock::now() + 15s; Clock::now() < deadline && !(status = process.try_wait());)
        std::this_thread::sleep_for(10ms);
    CHECK(status.has_value());
    if (!status) process.signal(SIGKILL);
    while (!process.try_wait()) std::this_thread::sleep_for(5ms);
    ::close(in);
    ::close(out);
    ::close(err);
}

TEST_CASE("reliability: an upstream killed with 1,000 requests in flight answers each exactly once") {
    // No restart: a request still on its way when the upstream dies is answered at once as well,
    // however slowly this machine (or a sanitizer) sends them.
    GatewayProcess gateway(
        test::scratch_dir("rel_kill_inflight"),
        test::test_server_config("  concurrency: {max_in_flight: 1000}\n", "", "      restart_on_failure: false\n"));
    gateway.initialize();
    const int pid = std::stoi(text_of(gateway.call_tool("pid", "pid")));
    for (int i = 1; i <= 1000; ++i) gateway.send_call(i, "sleep", {{"ms", 20000}});
    std::this_thread::sleep_for(500ms);
    ::kill(pid, SIGKILL);
    for (int i = 1; i <= 1000; ++i) {
        auto answer = gateway.response(i, 10s);
        INFO("request " << i);
        REQUIRE(answer.contains("error"));
        CHECK(answer["error"]["code"] == -32002);
    }
    CHECK(gateway.response_count() == 1002);  // initialize, pid and the thousand
}

TEST_CASE("reliability: a flood of upstream notifications does not stop the gateway serving") {
    // 17 s alone under the thread sanitizer, over 60 s beside other builds: the gateway's request
    // timeout and the wait are generous; a gateway that stopped serving never answers.
    GatewayProcess gateway(test::scratch_dir("rel_flood"),
                           test::test_server_config("  timeouts: {request_timeout: 170}\n"));
    gateway.initialize();
    CHECK(text_of(gateway.call_tool(1, "flood", {{"count", 50000}}, 180s)) == "flooded");
    CHECK(text_of(gateway.call_tool(2, "echo", {{"text", "alive"}})) == "alive");
}

TEST_CASE("reliability: an upstream that closes stdout but lives is restarted") {
    GatewayProcess gateway(test::scratch_dir("rel_close_stdout"), test::test_server_config());
    gateway.initialize();
    auto answer = gateway.call_tool(1, "close_stdout", {}, 10s);
    CHECK(answer["error"]["code"] == -32002);
    json after;
    for (int i = 0; i < 50 && !after.contains("result"); ++i) {
        std::this_thread::sleep_for(100ms);
        after = gateway.call_tool(100 + i, "echo", {{"text", "back"}}, 5s);
    }
    CHECK(text_of(after) == "back");
}

TEST_CASE("reliability: a second SIGTERM ends the grace period at once") {
    GatewayProcess gateway(test::scratch_dir("rel_second_term"),
                           test::test_server_config("  shutdown_grace_period: 60\n"));
    gateway.initialize();
    gateway.send_call(1, "sleep", {{"ms", 30000}});
    std::this_thread::sleep_for(200ms);
    gateway.signal(SIGTERM);
    std::this_thread::sleep_for(300ms);
    const auto started = Clock::now();
    gateway.signal(SIGTERM);
    CHECK(gateway.wait_exit(8s).has_value());
    CHECK(Clock::now() - started < 8s);
    CHECK(gateway.response(1, 1s).contains("error"));
}

TEST_CASE("reliability: initialize with wrong-typed params names the field") {
    GatewayProcess gateway(test::scratch_dir("rel_init_params"), test::test_server_config());
    auto answer = gateway.request(0, "initialize", {{"protocolVersion", 20250618}, {"capabilities", json::object()}});
    REQUIRE(answer.contains("error"));
    CHECK(answer["error"]["code"] == -32602);
    CHECK_THAT(answer["error"]["message"].get<std::string>(), Catch::Contains("protocolVersion"));
    answer = gateway.request(1, "initialize", {{"protocolVersion", "2025-06-18"}, {"clientInfo", "me"}});
    CHECK(answer["error"]["code"] == -32602);
}

TEST_CASE("reliability: stdin from a regular file keeps its unterminated last line") {
    const auto dir = test::scratch_dir("rel_stdin_file");
    std::ofstream(dir / "gateway.yaml") << test::test_server_config();
    std::ofstream(dir / "input.jsonl", std::ios::binary)
        << R"({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}})"
        << "\n"
        << R"({"jsonrpc":"2.0","id":2,"method":"ping"})";
    const std::string command = std::string(WATCHGATE_BINARY) + " run --config " + (dir / "gateway.yaml").string() +
                                " < " + (dir / "input.jsonl").string() + " > " + (dir / "output.jsonl").string() +
                                " 2>/dev/null";
    CHECK(std::system(command.c_str()) == 0);
    const std::string output = test::read_file(dir / "output.jsonl");
    CHECK_THAT(output, Catch::Contains(R"({"id":2,"jsonrpc":"2.0","result":{}})"));
}

TEST_CASE("reliability: hostile config files get a clear error, never a hang or a crash") {
    const auto dir = test::scratch_dir("rel_config");
    auto validate = [&](const std::filesystem::path& file) {
        const std::string command = "timeout 20 " + std::string(WATCHGATE_BINARY) + " validate --config " +
                                    file.string() + " > " + (dir / "out.txt").string() + " 2>&1";
        const int status = std::system(command.c_str());
        return std::make_pair(WIFEXITED(status) ? WEXITSTATUS(status) : -1, test::read_file(dir / "out.txt"));
    };
    // Nine levels of nested aliases: 10^9 values if expanded.
    std::string bomb =
        "proxy:\n  upstreams:\n    - name: a\n      command: [\"x\"]\nplugins:\n  middleware:\n"
        "    _global:\n      - handler: call_trace\n        config:\n          l0: &l0 [x,x,x,x,x,x,x,x,x,x]\n";
    for (int level = 1; level <= 9; ++level)
        bomb += "          l" + std::to_string(level) + ": &l" + std::to_string(level) + " [" + [&] {
            std::string items;
            for (int i = 0; i < 10; ++i) items += (i ? ",*l" : "*l") + std::to_string(level - 1);
            return items;
        }() + "]\n";
    std::ofstream(dir / "bomb.yaml") << bomb;
    auto [bomb_status, bomb_output] = validate(dir / "bomb.yaml");
    CHECK(bomb_status == 1);
    CHECK_THAT(bomb_output, Catch::Contains("expands to more than"));

    const auto fifo = dir / "fifo.yaml";
    std::filesystem::remove(fifo);
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    auto [fifo_status, fifo_output] = validate(fifo);
    CHECK(fifo_status == 1);
    CHECK_THAT(fifo_output, Catch::Contains("regular configuration file"));

    auto [zero_status, zero_output] = validate("/dev/zero");
    CHECK(zero_status == 1);
    CHECK_THAT(zero_output, Catch::Contains("regular configuration file"));

    auto [dir_status, dir_output] = validate(dir);
    CHECK(dir_status == 1);
    CHECK_THAT(dir_output, Catch::Contains("found a folder"));

    std::ofstream(dir / "tiny.yaml") << "proxy:\n  timeouts: {request_timeout: 1e-300}\n  upstreams:\n"
                                        "    - name: a\n      command: [\"x\"]\n";
    auto [tiny_status, tiny_output] = validate(dir / "tiny.yaml");
    CHECK(tiny_status == 1);
    CHECK_THAT(tiny_output, Catch::Contains("at least 0.001"));
}
