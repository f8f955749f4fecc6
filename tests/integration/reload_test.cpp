// Hot reload through the binary (docs/operations.md "Reload"): a new policy takes over while calls
// run, each call wholly under one policy; unchanged upstreams keep their process, changed ones
// are replaced after their calls end, added ones appear and removed ones stop; a bad file or a
// restart-only change is refused and the old configuration serves on; SIGHUP and the pid file.
#include <catch2/catch.hpp>

#include "gateway_process.hpp"
#include "http_client.hpp"
#include "run_command.hpp"
#include "test_support.hpp"

#include <signal.h>

#include <atomic>
#include <fstream>
#include <thread>

using namespace watchgate;
using nlohmann::json;
using test::GatewayProcess;
using test::HttpConnection;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;
namespace http = boost::beast::http;

namespace {

// Replaces the file at once (written beside, renamed over): a reload never reads half of it.
void write_config(const std::filesystem::path& file, const std::string& yaml) {
    const auto partial = file.string() + ".partial";
    std::ofstream(partial) << yaml;
    std::filesystem::rename(partial, file);
}

// A policy of the scripted middleware: the request phase writes `mark` into the echoed text and
// takes a while (so reloads land between the phases), the response phase writes it into the
// result. A call handled by two policies would carry two marks.
std::string policy(const std::string& mark) {
    return "  middleware:\n    _global:\n      - handler: test_mw_a\n        config:\n"
           "          request: [{op: set, pointer: /params/arguments/text, value: " +
           mark +
           "}, {op: sleep_us, us: 2000}]\n"
           "          response: [{op: set, pointer: /result/policy, value: " +
           mark + "}]\n";
}

std::string http_config(const std::filesystem::path& dir, const std::string& mark) {
    return "plugin_dirs: [\"" + test::plugin_dir().string() +
           "\"]\n"
           "admin: {port: 0}\n"
           "proxy:\n  transport: http\n  http: {port: 0, max_sessions: 400}\n  threads: 2\n"
           "  upstreams:\n    - name: notes\n      command: [\"" WATCHGATE_TEST_SERVER
           "\"]\n"
           "plugins:\n" +
           policy(mark) + "  auditing:\n    _global:\n      - handler: audit_jsonl\n        config: {output_file: '" +
           (dir / "audit.jsonl").string() + "', flush_interval_ms: 20}\n";
}

std::string call_body(int id, const std::string& tool, const json& arguments = json::object()) {
    return json{{"jsonrpc", "2.0"},
                {"id", id},
                {"method", "tools/call"},
                {"params", {{"name", tool}, {"arguments", arguments}}}}
        .dump();
}

// A stdio gateway's config with the test server under each of `upstreams` (name -> extra YAML).
std::string stdio_config(const std::vector<std::pair<std::string, std::string>>& upstreams,
                         const std::string& rest = {}) {
    std::string yaml = "proxy:\n  namespace: true\n  upstreams:\n";
    for (const auto& [name, extra] : upstreams)
        yaml += "    - name: " + name + "\n      command: [\"" WATCHGATE_TEST_SERVER "\"]\n" + extra;
    return yaml + rest;
}

// Waits until `message` (a server message's method) arrives; skips others.
bool heard(GatewayProcess& gateway, const std::string& method, std::chrono::milliseconds within = 5s) {
    const auto until = Clock::now() + within;
    while (Clock::now() < until)
        if (auto message = gateway.next_server_message(100ms); message && message->value("method", "") == method)
            return true;
    return false;
}

}  // namespace

TEST_CASE("reload: every 100 ms for 10 s under 200 HTTP clients: each call is answered once by one policy") {
    const auto dir = test::scratch_dir("reload_storm");
    GatewayProcess gateway(dir, http_config(dir, "A"));
    const auto port = test::logged_port(gateway, "listening");
    const auto admin_port = test::logged_port(gateway, "admin: listening");
    REQUIRE(port != 0);
    REQUIRE(admin_port != 0);
    const auto config = dir / "gateway.yaml";

    // Called from the clients' threads too: no Catch assertion in it (they are not thread-safe).
    auto open_session = [&](HttpConnection& connection) {
        auto answer = connection.post(test::initialize_body(), test::mcp_headers({}, {}));
        const std::string session = answer.status == 200 ? answer.header("mcp-session-id") : std::string();
        if (!session.empty())
            connection.post(R"({"jsonrpc":"2.0","method":"notifications/initialized"})", test::mcp_headers(session));
        return session;
    };
    HttpConnection probe(port);
    const std::string probe_session = open_session(probe);
    REQUIRE(!probe_session.empty());
    const std::string pid_before =
        test::text_of(probe.post(call_body(1, "pid"), test::mcp_headers(probe_session)).json());
    REQUIRE(!pid_before.empty());

    constexpr int clients = 200;
    std::atomic<bool> stop{false};
    std::atomic<int> answered{0}, under_a{0}, under_b{0}, wrong{0};
    std::mutex failures_mutex;
    std::vector<std::string> failures;
    std::vector<std::thread> threads;
    std::atomic<int> ready{0};
    for (int c = 0; c < clients; ++c)
        threads.emplace_back([&, c] {
            HttpConnection connection(port, 20s);
            const std::string session = open_session(connection);
            if (session.empty()) return;  // never ready: the test fails below
            ++ready;
            for (int id = 1; !stop; ++id) {
                const auto answer =
                    connection.post(call_body(id, "echo", {{"text", "unmarked"}}), test::mcp_headers(session));
                const json message = answer.json();
                const json result = message.is_object() ? message.value("result", json()) : json();
                const std::string text = test::text_of(message);
                const std::string mark = result.is_object() ? result.value("policy", "") : "";
                ++answered;
                if (answer.status == 200 && message.value("id", -1) == id && (text == "A" || text == "B") &&
                    mark == text) {
                    ++(text == "A" ? under_a : under_b);
                    continue;
                }
                ++wrong;
                std::lock_guard lock(failures_mutex);
                if (failures.size() < 5)
                    failures.push_back("client " + std::to_string(c) + " call " + std::to_string(id) + ": " +
                                       std::to_string(answer.status) + " " + answer.body);
            }
        });
    for (const auto deadline = Clock::now() + 60s; ready < clients && Clock::now() < deadline;)
        std::this_thread::sleep_for(10ms);
    CHECK(ready == clients);

    int reloads = 0;
    int refused = 0;
    HttpConnection admin(admin_port, 30s);
    const auto until = Clock::now() + 10s;
    for (bool b = true; Clock::now() < until; b = !b) {
        write_config(config, http_config(dir, b ? "B" : "A"));
        const auto answer = admin.request(http::verb::post, "/reload");
        ++(answer.status == 200 ? reloads : refused);
        if (answer.status != 200) INFO(answer.body);
        std::this_thread::sleep_for(100ms);
    }
    stop = true;
    for (auto& thread : threads) thread.join();

    INFO("failures: " << (failures.empty() ? std::string("none") : failures.front()));
    CHECK(wrong == 0);
    CHECK(refused == 0);
    CHECK(reloads >= 20);  // one every 100 ms plus its own time: about 90 here, fewer under a sanitizer
    CHECK(under_a > 0);
    CHECK(under_b > 0);
    CHECK(answered == under_a + under_b);
    // The upstream's settings never changed: the same process served throughout.
    CHECK(test::text_of(probe.post(call_body(2, "pid"), test::mcp_headers(probe_session)).json()) == pid_before);
    const auto metrics = admin.request(http::verb::get, "/metrics").body;
    CHECK(metrics.find("watchgate_upstream_restarts_total{upstream=\"notes\"} 0") != std::string::npos);
    CHECK(metrics.find("watchgate_reloads_total{outcome=\"ok\"} " + std::to_string(reloads)) != std::string::npos);
    // The auditor's entry never changed: one instance wrote every record, whole lines only.
    std::this_thread::sleep_for(200ms);
    std::ifstream audit(dir / "audit.jsonl");
    int records = 0;
    for (std::string line; std::getline(audit, line); ++records)
        REQUIRE(!json::parse(line, nullptr, false).is_discarded());
    CHECK(records >= answered);
    CHECK(gateway.log().find("plugin instances kept: 1, new: 1") != std::string::npos);
}

TEST_CASE("reload: a bad file or a restart-only change is refused with its place and the old policy serves on") {
    const auto dir = test::scratch_dir("reload_refused");
    const auto base = "plugin_dirs: [\"" + test::plugin_dir().string() + "\"]\nadmin: {port: 0}\n";
    GatewayProcess gateway(dir, base + stdio_config({{"test", ""}}, "plugins:\n" + policy("A")));
    REQUIRE(test::logged_port(gateway, "admin: listening") != 0);
    REQUIRE(gateway.initialize().contains("result"));
    const auto config = dir / "gateway.yaml";
    // The admin port was chosen at start (port 0), which `watchgate reload` cannot know: the
    // endpoint is asked directly here (the CLI's own test uses the pid file).
    const auto admin_port = test::logged_port(gateway, "admin: listening");
    HttpConnection admin(admin_port, 30s);

    write_config(config,
                 base + stdio_config({{"test", "      restart_on_failur: true\n"}}, "plugins:\n" + policy("B")));
    auto answer = admin.request(http::verb::post, "/reload");
    CHECK(answer.status == 422);
    CHECK(answer.body.find("gateway.yaml:8:7: unknown key 'restart_on_failur'") != std::string::npos);
    CHECK(answer.body.find("did you mean 'restart_on_failure'") != std::string::npos);
    CHECK(test::text_of(gateway.call_tool(1, "test__echo", {{"text", "x"}})) == "A");

    write_config(config, base + stdio_config({{"test", ""}}, "plugins:\n" + policy("B")) + "logging: {level: debug}\n");
    answer = admin.request(http::verb::post, "/reload");
    CHECK(answer.status == 422);
    CHECK(answer.body.find("'logging' was added: it takes effect only when the gateway restarts") != std::string::npos);
    CHECK(test::text_of(gateway.call_tool(2, "test__echo", {{"text", "x"}})) == "A");

    // A plugin's own config error is reported too, with its line.
    write_config(config, base + stdio_config({{"test", ""}},
                                             "plugins:\n  security:\n    _global:\n"
                                             "      - handler: keyword_filter\n"
                                             "        config: {keywords: 7}\n"));
    answer = admin.request(http::verb::post, "/reload");
    CHECK(answer.status == 422);
    CHECK(answer.body.find("gateway.yaml:12:") != std::string::npos);
    CHECK(answer.body.find("keyword_filter") != std::string::npos);
    CHECK(test::text_of(gateway.call_tool(3, "test__echo", {{"text", "x"}})) == "A");

    write_config(config, base + stdio_config({{"test", ""}}, "plugins:\n" + policy("B")));
    answer = admin.request(http::verb::post, "/reload");
    INFO(answer.body);
    CHECK(answer.status == 200);
    CHECK(answer.body.find("upstreams kept: test") != std::string::npos);
    CHECK(heard(gateway, "notifications/tools/list_changed"));
    CHECK(test::text_of(gateway.call_tool(4, "test__echo", {{"text", "x"}})) == "B");
    CHECK(admin.request(http::verb::get, "/reload").status == 405);
}

TEST_CASE(
    "reload: unchanged upstreams keep their process and a changed one is replaced after its call "
    "while added ones appear and removed ones stop") {
    const auto dir = test::scratch_dir("reload_upstreams");
    GatewayProcess gateway(dir, stdio_config({{"one", ""}, {"two", ""}}, "admin: {port: 0}\n"));
    const auto admin_port = test::logged_port(gateway, "admin: listening");
    REQUIRE(admin_port != 0);
    REQUIRE(gateway.initialize().contains("result"));
    const std::string one_pid = test::text_of(gateway.call_tool(1, "one__pid"));
    const std::string two_pid = test::text_of(gateway.call_tool(2, "two__pid"));
    REQUIRE(!one_pid.empty());

    // A slow call on `two` is in flight while `two` changes (an env var) and `three` is added.
    gateway.send_call(3, "two__sleep", {{"ms", 1500}});
    std::this_thread::sleep_for(200ms);
    write_config(
        dir / "gateway.yaml",
        stdio_config({{"one", ""}, {"two", "      env: {RELOADED: 'yes'}\n"}, {"three", ""}}, "admin: {port: 0}\n"));
    HttpConnection admin(admin_port, 30s);
    const auto answer = admin.request(http::verb::post, "/reload");
    INFO(answer.body);
    REQUIRE(answer.status == 200);
    CHECK(answer.body.find("upstreams kept: one; changed: two; added: three; removed: none") != std::string::npos);
    CHECK(heard(gateway, "notifications/tools/list_changed"));

    // The call in flight finished on the old `two`, which then stopped.
    CHECK(gateway.response(3, 5s).contains("result"));
    CHECK(test::text_of(gateway.call_tool(4, "one__pid")) == one_pid);
    const std::string new_two_pid = test::text_of(gateway.call_tool(5, "two__pid"));
    CHECK(!new_two_pid.empty());
    CHECK(new_two_pid != two_pid);
    CHECK(test::text_of(gateway.call_tool(6, "two__env", {{"name", "RELOADED"}})) == "yes");
    const auto tools = gateway.request(7, "tools/list");
    CHECK(tools.dump().find("three__echo") != std::string::npos);
    const std::string three_pid = test::text_of(gateway.call_tool(8, "three__pid"));
    REQUIRE(!three_pid.empty());
    auto gone = [](const std::string& pid) {
        for (auto until = Clock::now() + 5s; Clock::now() < until; std::this_thread::sleep_for(20ms))
            if (::kill(std::stoi(pid), 0) != 0) return true;
        return false;
    };
    CHECK(gone(two_pid));

    write_config(dir / "gateway.yaml",
                 stdio_config({{"one", ""}, {"two", "      env: {RELOADED: 'yes'}\n"}}, "admin: {port: 0}\n"));
    CHECK(admin.request(http::verb::post, "/reload").status == 200);
    CHECK(gone(three_pid));
    CHECK(gateway.call_tool(9, "three__echo")["error"]["code"] == -32602);
    CHECK(test::text_of(gateway.call_tool(10, "one__pid")) == one_pid);
}

TEST_CASE("reload: SIGHUP and `watchgate reload` through the pid file that goes with the gateway") {
    const auto dir = test::scratch_dir("reload_signal");
    const auto base =
        "plugin_dirs: [\"" + test::plugin_dir().string() + "\"]\npid_file: " + (dir / "watchgate.pid").string() + "\n";
    auto gateway =
        std::make_unique<GatewayProcess>(dir, base + stdio_config({{"test", ""}}, "plugins:\n" + policy("A")));
    REQUIRE(gateway->initialize().contains("result"));
    CHECK(test::read_file(dir / "watchgate.pid") == std::to_string(gateway->pid()) + "\n");

    write_config(dir / "gateway.yaml", base + stdio_config({{"test", ""}}, "plugins:\n" + policy("B")));
    const auto [status, output] =
        test::run_command(std::string(WATCHGATE_BINARY) + " reload --config " + (dir / "gateway.yaml").string());
    CHECK(status == 0);
    CHECK(output.find("sent SIGHUP to the gateway (pid " + std::to_string(gateway->pid()) + ")") != std::string::npos);
    CHECK(gateway->log_once("reloaded ").find("upstreams kept: test") != std::string::npos);
    CHECK(heard(*gateway, "notifications/tools/list_changed"));  // this reload's, taken off the queue
    CHECK(test::text_of(gateway->call_tool(1, "test__echo", {{"text", "x"}})) == "B");

    write_config(dir / "gateway.yaml", base + stdio_config({{"test", ""}}, "plugins:\n" + policy("A")));
    gateway->signal(SIGHUP);
    // The second reload is done once the log says so twice.
    auto reloads_logged = [&] {
        const std::string log = gateway->log();
        int count = 0;
        for (auto at = log.find("info reloaded "); at != std::string::npos; at = log.find("info reloaded ", at + 1))
            ++count;
        return count;
    };
    for (auto until = Clock::now() + 10s; reloads_logged() < 2 && Clock::now() < until;)
        std::this_thread::sleep_for(10ms);
    CHECK(reloads_logged() == 2);
    CHECK(heard(*gateway, "notifications/tools/list_changed"));
    CHECK(test::text_of(gateway->call_tool(2, "test__echo", {{"text", "x"}})) == "A");

    gateway->close_input();  // the client goes: the gateway exits and takes its pid file along
    CHECK(gateway->wait_exit(10s) == 0);
    CHECK(!std::filesystem::exists(dir / "watchgate.pid"));
}
