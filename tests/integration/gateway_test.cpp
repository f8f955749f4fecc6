// The gateway engine end to end: the real `watchgate` binary over pipes in front of the test server.
#include <catch2/catch.hpp>

#include "gateway_process.hpp"
#include "test_support.hpp"

#include <random>

using namespace watchgate;
using nlohmann::json;
using test::GatewayProcess;
using test::text_of;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

namespace {

std::vector<json> json_list(const json& response) { return json::parse(text_of(response)).get<std::vector<json>>(); }

}  // namespace

TEST_CASE("gateway: initialize is answered by the gateway, ping locally, tools pass through") {
    GatewayProcess gateway(test::scratch_dir("gw_basic"), test::test_server_config());
    json init = gateway.initialize();
    REQUIRE(init.contains("result"));
    CHECK(init["result"]["serverInfo"]["name"] == "watchgate");
    CHECK(init["result"]["protocolVersion"] == "2025-06-18");
    CHECK(init["result"]["capabilities"]["tools"]["listChanged"] == true);
    CHECK(init["result"]["instructions"] == "A server for Watchgate's tests.");
    CHECK(gateway.request(1, "ping")["result"] == json::object());
    auto tools = gateway.request(2, "tools/list");
    CHECK(tools["result"]["tools"].size() == 17);
    CHECK(text_of(gateway.call_tool("three", "echo", {{"text", "héllo"}})) == "héllo");
}

TEST_CASE("gateway: an unknown protocol version is answered with the newest the gateway speaks") {
    GatewayProcess gateway(test::scratch_dir("gw_version"), test::test_server_config());
    auto init = gateway.request(0, "initialize", {{"protocolVersion", "1999-01-01"}, {"capabilities", json::object()}});
    CHECK(init["result"]["protocolVersion"] == "2025-11-25");
}

TEST_CASE("gateway: concurrent requests complete in about one upstream delay") {
    GatewayProcess gateway(test::scratch_dir("gw_concurrent"), test::test_server_config());
    gateway.initialize();
    constexpr int delay_ms = 300;
    int next_id = 100;
    for (int count : {10, 50, 100}) {
        const auto started = Clock::now();
        std::vector<int> ids;
        for (int i = 0; i < count; ++i) {
            ids.push_back(next_id);
            gateway.send_call(next_id++, "sleep", {{"ms", delay_ms}});
        }
        for (int id : ids) CHECK(text_of(gateway.response(id)) == "slept 300 ms");
        const auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started).count();
        INFO(count << " requests took " << elapsed << " ms");
        CHECK(elapsed < 3 * delay_ms);  // sequential would be count x 300 ms
    }
}

TEST_CASE("gateway: responses are correlated under random delays") {
    GatewayProcess gateway(test::scratch_dir("gw_correlate"), test::test_server_config());
    gateway.initialize();
    std::mt19937 random(7);
    for (int id = 1; id <= 200; ++id) {
        if (id % 2)
            gateway.send_call(id, "echo", {{"text", "n" + std::to_string(id)}});
        else
            gateway.send_call("s" + std::to_string(id), "sleep", {{"ms", random() % 50}});
    }
    for (int id = 1; id <= 200; ++id) {
        if (id % 2)
            CHECK(text_of(gateway.response(id)) == "n" + std::to_string(id));
        else
            CHECK(gateway.response("s" + std::to_string(id)).contains("result"));
    }
}

TEST_CASE("gateway: bad client lines get the right error and the gateway keeps serving") {
    GatewayProcess gateway(test::scratch_dir("gw_bad_lines"), test::test_server_config("  max_message_size_mb: 1\n"));
    gateway.initialize();
    gateway.send_line("{this is not json");
    gateway.send_line(R"({"id":5,"method":"ping"})");
    gateway.send_line(std::string(2 << 20, 'x'));  // 2 MiB: over the 1 MiB limit
    CHECK(gateway.response(5)["error"]["code"] == -32600);
    CHECK(text_of(gateway.call_tool(6, "echo", {{"text", "still here"}})) == "still here");
    auto nulls = gateway.null_id_responses();
    REQUIRE(nulls.size() == 2);
    CHECK(nulls[0]["error"]["code"] == -32700);
    CHECK(nulls[1]["error"]["code"] == -32600);
    CHECK_THAT(nulls[1]["error"]["message"].get<std::string>(), Catch::Contains("longer than the 1048576 byte limit"));
}

TEST_CASE("gateway: a request reusing the id of one in flight is rejected, and the first gets its answer") {
    GatewayProcess gateway(test::scratch_dir("gw_dup_id"), test::test_server_config());
    gateway.initialize();
    gateway.send_call(9, "sleep", {{"ms", 300}});
    std::this_thread::sleep_for(50ms);
    gateway.send({{"jsonrpc", "2.0"}, {"id", 9}, {"method", "ping"}});
    auto first = gateway.response(9);  // the rejection arrives first
    CHECK(first["error"]["code"] == -32600);
    CHECK_THAT(first["error"]["message"].get<std::string>(), Catch::Contains("already used by a request in flight"));
    std::this_thread::sleep_for(400ms);
    CHECK(text_of(gateway.response(9)) == "slept 300 ms");
}

TEST_CASE("gateway: a timeout answers the client and reaches the upstream as notifications/cancelled") {
    GatewayProcess gateway(test::scratch_dir("gw_timeout"),
                           test::test_server_config("  timeouts: {request_timeout: 0.3}\n"));
    gateway.initialize();
    auto started = Clock::now();
    auto answer = gateway.call_tool("client-1", "sleep", {{"ms", 3000}});
    CHECK(answer["error"]["code"] == -32001);
    CHECK(Clock::now() - started < 2s);
    auto cancelled = json_list(gateway.call_tool(2, "cancelled"));
    REQUIRE(cancelled.size() == 1);
    CHECK(cancelled[0].is_number_integer());  // the id the upstream was sent, not the client's
}

TEST_CASE("gateway: the client can cancel a request in flight") {
    GatewayProcess gateway(test::scratch_dir("gw_cancel"), test::test_server_config());
    gateway.initialize();
    gateway.send_call("c7", "sleep", {{"ms", 5000}});
    std::this_thread::sleep_for(100ms);
    gateway.send({{"jsonrpc", "2.0"},
                  {"method", "notifications/cancelled"},
                  {"params", {{"requestId", "c7"}, {"reason", "user"}}}});
    auto answer = gateway.response("c7", 2s);
    CHECK(answer["error"]["code"] == -32800);
    auto cancelled = json_list(gateway.call_tool(8, "cancelled"));
    REQUIRE(cancelled.size() == 1);
    CHECK(cancelled[0].is_number_integer());  // the id the upstream was sent, not the client's
}

TEST_CASE("gateway: max_in_flight with overflow reject answers at once, naming the limit") {
    GatewayProcess gateway(test::scratch_dir("gw_reject"),
                           test::test_server_config("  concurrency: {max_in_flight: 2, overflow: reject}\n"));
    gateway.initialize();
    for (int id = 1; id <= 5; ++id) gateway.send_call(id, "sleep", {{"ms", 300}});
    int rejected = 0, passed = 0;
    for (int id = 1; id <= 5; ++id) {
        auto answer = gateway.response(id);
        if (answer.contains("error")) {
            ++rejected;
            CHECK(answer["error"]["code"] == -32003);
            CHECK_THAT(answer["error"]["message"].get<std::string>(), Catch::Contains("2 requests in flight"));
        } else {
            ++passed;
        }
    }
    CHECK(rejected == 3);
    CHECK(passed == 2);
}

TEST_CASE("gateway: max_in_flight with overflow queue lets every request through in turn") {
    GatewayProcess gateway(test::scratch_dir("gw_queue"),
                           test::test_server_config("  concurrency: {max_in_flight: 2, overflow: queue}\n"));
    gateway.initialize();
    auto started = Clock::now();
    for (int id = 1; id <= 6; ++id) gateway.send_call(id, "sleep", {{"ms", 200}});
    for (int id = 1; id <= 6; ++id) CHECK(text_of(gateway.response(id)) == "slept 200 ms");
    CHECK(Clock::now() - started >= 550ms);  // three rounds of two
}

TEST_CASE("gateway: an upstream that dies answers everything in flight at once, then comes back") {
    GatewayProcess gateway(test::scratch_dir("gw_crash"),
                           test::test_server_config("  concurrency: {max_in_flight: 1000}\n"));
    gateway.initialize();
    for (int id = 1; id <= 500; ++id) gateway.send_call(id, "sleep", {{"ms", 20000}});
    std::this_thread::sleep_for(300ms);
    const auto crashed = Clock::now();
    gateway.call_tool("crash", "crash", json::object(), 5s);
    for (int id = 1; id <= 500; ++id) {
        auto answer = gateway.response(id, 5s);
        REQUIRE(answer.contains("error"));
        CHECK(answer["error"]["code"] == -32002);
        CHECK_THAT(answer["error"]["message"].get<std::string>(),
                   Catch::Contains("upstream 'test' exited with status 3"));
    }
    CHECK(Clock::now() - crashed < 5s);  // answered at once, not after the 60 s timeout
    // Restarted with backoff and initialized again.
    json answer;
    for (int attempt = 0; attempt < 50; ++attempt) {
        answer = gateway.call_tool("after" + std::to_string(attempt), "echo", {{"text", "back"}});
        if (answer.contains("result")) break;
        std::this_thread::sleep_for(100ms);
    }
    CHECK(text_of(answer) == "back");
}

TEST_CASE("gateway: an upstream killed with SIGKILL under load answers all 500 at once, then recovers") {
    GatewayProcess gateway(test::scratch_dir("gw_sigkill"),
                           test::test_server_config("  concurrency: {max_in_flight: 1000}\n"));
    gateway.initialize();
    const int pid = std::stoi(text_of(gateway.call_tool("pid", "pid")));
    for (int id = 1; id <= 500; ++id) gateway.send_call(id, "sleep", {{"ms", 20000}});
    std::this_thread::sleep_for(300ms);
    ::kill(pid, SIGKILL);
    const auto killed = Clock::now();
    for (int id = 1; id <= 500; ++id) {
        auto answer = gateway.response(id, 5s);
        REQUIRE(answer.contains("error"));
        CHECK_THAT(answer["error"]["message"].get<std::string>(), Catch::Contains("killed by signal 9 (SIGKILL)"));
    }
    CHECK(Clock::now() - killed < 5s);
    json answer;
    for (int attempt = 0; attempt < 50 && !answer.contains("result"); ++attempt) {
        answer = gateway.call_tool("after" + std::to_string(attempt), "echo", {{"text", "back"}});
        if (!answer.contains("result")) std::this_thread::sleep_for(100ms);
    }
    CHECK(text_of(answer) == "back");
}

TEST_CASE("gateway: plugin state stays per request under concurrency, and nothing is left pending") {
    // conformance_c keeps each request's id in request_begin and fails the response if another
    // request's state came back; 200 overlapping calls with random delays must all pass.
    GatewayProcess gateway(test::scratch_dir("gw_isolation"),
                           "plugin_dirs: [\"" + test::plugin_dir().string() + "\"]\n" +
                               test::test_server_config("",
                                                        "plugins:\n  security:\n    _global:\n"
                                                        "      - handler: conformance_c\n"
                                                        "        config: {word: never-sent}\n"));
    gateway.initialize();
    std::mt19937 random(11);
    for (int id = 1; id <= 200; ++id) gateway.send_call(id, "sleep", {{"ms", random() % 100}});
    for (int id = 1; id <= 200; ++id) CHECK(gateway.response(id).contains("result"));
    gateway.close_input();
    CHECK(gateway.wait_exit(10s) == 0);
    // 200 calls, initialize, and the server/discover probe before it.
    CHECK_THAT(gateway.log_once("[test] requests: 202 total, 0 in flight"),
               Catch::Contains("[test] requests: 202 total, 0 in flight"));
}

TEST_CASE("gateway: a 16 MiB result passes") {
    GatewayProcess gateway(test::scratch_dir("gw_big"), test::test_server_config());
    gateway.initialize();
    auto answer = gateway.call_tool(1, "big", {{"bytes", 16 << 20}}, 30s);
    CHECK(text_of(answer).size() == std::size_t(16) << 20);
}

TEST_CASE("gateway: a garbage line from the upstream is skipped and the connection lives on") {
    GatewayProcess gateway(test::scratch_dir("gw_garbage"), test::test_server_config());
    gateway.initialize();
    CHECK(text_of(gateway.call_tool(1, "garbage")) == "ok");
    CHECK(text_of(gateway.call_tool(2, "echo", {{"text", "fine"}})) == "fine");
    CHECK_THAT(gateway.log_once("[test] dropped an answer that is not valid JSON-RPC"),
               Catch::Contains("[test] dropped an answer that is not valid JSON-RPC"));
}

TEST_CASE("gateway: server-to-client requests round-trip with gateway ids") {
    GatewayProcess gateway(test::scratch_dir("gw_sampling"), test::test_server_config());
    gateway.initialize();
    gateway.send({{"jsonrpc", "2.0"}, {"id", 1}, {"method", "tools/call"}, {"params", {{"name", "ask_client"}}}});
    auto request = gateway.next_server_message();
    REQUIRE(request);
    CHECK((*request)["method"] == "sampling/createMessage");
    CHECK((*request)["id"].is_number_integer());  // the gateway's id, not the server's "server-1"
    json content = {{"type", "text"}, {"text", "hello!"}};
    json result = {{"role", "assistant"}, {"content", content}, {"model", "m"}};
    gateway.send({{"jsonrpc", "2.0"}, {"id", (*request)["id"]}, {"result", result}});
    CHECK(text_of(gateway.response(1)) == "client said: hello!");
}

TEST_CASE("gateway: progress notifications reach the client with their token") {
    GatewayProcess gateway(test::scratch_dir("gw_progress"), test::test_server_config());
    gateway.initialize();
    json params = {{"name", "progress"}, {"arguments", {{"steps", 3}}}, {"_meta", {{"progressToken", "tok"}}}};
    gateway.send({{"jsonrpc", "2.0"}, {"id", 1}, {"method", "tools/call"}, {"params", params}});
    CHECK(gateway.response(1).contains("result"));
    for (int step = 1; step <= 3; ++step) {
        auto note = gateway.next_server_message(2s);
        REQUIRE(note);
        CHECK((*note)["method"] == "notifications/progress");
        CHECK((*note)["params"]["progressToken"] == "tok");
        CHECK((*note)["params"]["progress"] == step);
    }
}

TEST_CASE("gateway: a blocked request gets the plugin's code and reason and never reaches the upstream") {
    GatewayProcess gateway(test::scratch_dir("gw_blocked"),
                           test::test_server_config("",
                                                    "plugins:\n  security:\n    _global:\n"
                                                    "      - handler: keyword_filter\n"
                                                    "        config: {keywords: [forbidden]}\n"));
    gateway.initialize();
    auto answer = gateway.call_tool(1, "echo", {{"text", "a forbidden word"}});
    CHECK(answer["error"]["code"] == -32000);
    CHECK(answer["error"]["message"] == "Request blocked: keyword_filter: a configured keyword was found");
    CHECK(json_list(gateway.call_tool(2, "calls")) == std::vector<json>{"calls"});  // echo never arrived
}

TEST_CASE("gateway: client EOF lets requests in flight finish, then exits 0") {
    GatewayProcess gateway(test::scratch_dir("gw_eof"), test::test_server_config());
    gateway.initialize();
    gateway.send_call(1, "sleep", {{"ms", 300}});
    std::this_thread::sleep_for(50ms);
    gateway.close_input();
    CHECK(text_of(gateway.response(1)) == "slept 300 ms");
    CHECK(gateway.wait_exit(10s) == 0);
}

TEST_CASE("gateway: SIGTERM shuts down gracefully with exit 0") {
    GatewayProcess gateway(test::scratch_dir("gw_sigterm"), test::test_server_config());
    gateway.initialize();
    gateway.send_call(1, "sleep", {{"ms", 200}});
    std::this_thread::sleep_for(50ms);
    gateway.signal(SIGTERM);
    CHECK(text_of(gateway.response(1)) == "slept 200 ms");
    CHECK(gateway.wait_exit(10s) == 0);
}

TEST_CASE("gateway: on SIGTERM requests finish within shutdown_grace_period, longer ones are answered at its end") {
    GatewayProcess gateway(test::scratch_dir("gw_grace"), test::test_server_config("  shutdown_grace_period: 1\n"));
    gateway.initialize();
    gateway.send_call(1, "sleep", {{"ms", 300}});
    gateway.send_call(2, "sleep", {{"ms", 20000}});
    std::this_thread::sleep_for(100ms);
    const auto signalled = Clock::now();
    gateway.signal(SIGTERM);
    CHECK(text_of(gateway.response(1)) == "slept 300 ms");  // within the grace period
    auto cut = gateway.response(2, 15s);
    const auto waited = Clock::now() - signalled;
    REQUIRE(cut.contains("error"));
    CHECK_THAT(cut["error"]["message"].get<std::string>(), Catch::Contains("shutting down"));
    CHECK(waited >= 900ms);  // the whole grace period was given
    CHECK(waited < 8s);      // and not the 20 s the call would take
    CHECK(gateway.wait_exit(10s) == 0);
}

TEST_CASE("gateway: an upstream runs with its configured env and cwd") {
    const auto dir = test::scratch_dir("gw_env_cwd");
    std::filesystem::create_directories(dir / "work");
    GatewayProcess gateway(dir, test::test_server_config("", "",
                                                         "      env: {WG_TEST_GREETING: hello}\n"
                                                         "      cwd: work\n"));
    gateway.initialize();
    CHECK(text_of(gateway.call_tool(1, "env", {{"name", "WG_TEST_GREETING"}})) == "hello");
    CHECK(text_of(gateway.call_tool(2, "env", {{"name", "PATH"}})) != "(unset)");  // merged over the gateway's
    CHECK(std::filesystem::path(text_of(gateway.call_tool(3, "cwd"))) == std::filesystem::canonical(dir / "work"));
}

TEST_CASE("gateway: an upstream answering a protocol version the gateway does not speak is left out, named") {
    const std::string server = WATCHGATE_TEST_SERVER;
    GatewayProcess gateway(test::scratch_dir("gw_old_version"),
                           "proxy:\n  upstreams:\n"
                           "    - name: good\n      command: [\"" +
                               server +
                               "\"]\n"
                               "    - name: old\n      command: [\"" +
                               server +
                               "\", --protocol-version, 1999-01-01]\n"
                               "      restart_on_failure: false\n");
    auto init = gateway.initialize();
    REQUIRE(init.contains("result"));  // the other upstream serves
    CHECK_THAT(gateway.log_once("which the gateway does not speak"), Catch::Contains("\"1999-01-01\""));
    CHECK(text_of(gateway.call_tool(1, "good__echo", {{"text", "hi"}})) == "hi");
    auto refused = gateway.call_tool(2, "old__echo", {{"text", "hi"}});
    REQUIRE(refused.contains("error"));
    CHECK(refused["error"]["code"] == -32002);
}

TEST_CASE("gateway: the log goes to the configured file") {
    const auto dir = test::scratch_dir("gw_log_file");
    GatewayProcess gateway(dir,
                           test::test_server_config("", "logging: {handlers: [file], file_path: logs/gateway.log}\n"));
    gateway.initialize();
    gateway.close_input();
    CHECK(gateway.wait_exit(10s) == 0);
    const std::string log = test::read_file(dir / "logs/gateway.log");
    CHECK_THAT(log, Catch::Contains("[test] started (pid"));
    CHECK_THAT(log, Catch::Contains("[test] initialized (session era, 2025-11-25) in"));
    CHECK_THAT(log, Catch::Contains("stopped"));
    CHECK(gateway.log().find("[test] started") == std::string::npos);  // not on stderr
}

TEST_CASE("gateway: with several work threads and a plugin, 300 overlapping calls are each answered right") {
    GatewayProcess gateway(test::scratch_dir("gw_threads"),
                           "plugin_dirs: [\"" + test::plugin_dir().string() + "\"]\n" +
                               test::test_server_config("  threads: 4\n  concurrency: {max_in_flight: 1000}\n",
                                                        "plugins:\n  security:\n    _global:\n"
                                                        "      - handler: conformance_c\n"
                                                        "        config: {word: never-sent}\n"));
    gateway.initialize();
    for (int id = 1; id <= 300; ++id) gateway.send_call(id, "echo", {{"text", "call " + std::to_string(id)}});
    for (int id = 1; id <= 300; ++id) CHECK(text_of(gateway.response(id)) == "call " + std::to_string(id));
}

TEST_CASE("gateway: a startup failure answers the client's first line with the reason, then exits 1") {
    GatewayProcess gateway(test::scratch_dir("gw_startup"),
                           "proxy:\n  upstreams:\n    - name: test\n      comand: [x]\n");
    gateway.send({{"jsonrpc", "2.0"}, {"id", 42}, {"method", "initialize"}, {"params", json::object()}});
    auto answer = gateway.response(42);
    REQUIRE(answer.contains("error"));
    CHECK_THAT(answer["error"]["message"].get<std::string>(),
               Catch::Contains("Watchgate failed to start") && Catch::Contains("did you mean 'command'?"));
    CHECK(gateway.wait_exit(5s) == 1);
}

TEST_CASE("gateway: an upstream that cannot be started is reported to the client") {
    GatewayProcess gateway(test::scratch_dir("gw_no_program"),
                           "proxy:\n  upstreams:\n    - name: test\n      command: [/nonexistent/server]\n"
                           "      restart_on_failure: false\n");
    auto init = gateway.initialize();
    REQUIRE(init.contains("error"));
    CHECK_THAT(init["error"]["message"].get<std::string>(),
               Catch::Contains("cannot start '/nonexistent/server': not found"));
    gateway.close_input();
    CHECK(gateway.wait_exit(10s) == 1);  // no upstream ever worked: not a success
}

TEST_CASE("gateway: hostile client lines never crash it and every request gets one answer") {
    GatewayProcess gateway(test::scratch_dir("gw_hostile"), test::test_server_config());
    gateway.initialize();
    const std::vector<std::string> lines = {
        "null",
        "[]",
        "\"\"",
        "42",
        "{}",
        R"({"jsonrpc":"2.0"})",
        R"({"jsonrpc":"2.0","method":"notifications/cancelled"})",
        R"({"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":{"a":[]}}})",
        R"({"jsonrpc":"2.0","method":"notifications/progress","params":7})",
        R"({"jsonrpc":"2.0","id":"r1","result":{}})",
        R"({"jsonrpc":"2.0","id":1.5,"method":"ping"})",
        R"({"jsonrpc":"2.0","id":"h3","method":"tools/call","params":{"_meta":7}})",
        R"({"jsonrpc":"2.0","id":"h4","method":"tools/call","params":[1,2]})",
        R"({"jsonrpc":"2.0","id":"h5","method":"tools/call"})",
        R"({"jsonrpc":"2.0","id":"h6","method":"tools/call","params":{"name":{"x":1},"arguments":"no"}})",
        R"({"jsonrpc":"2.0","id":"h7","method":"tools/call","params":{"name":"echo","arguments":{"text":1e400}}})",
        R"({"jsonrpc":"2.0","id":"h8","method":"tools/call","params":{"name":"echo","_meta":{"progressToken":[]}}})",
        R"({"jsonrpc":"2.0","id":"h9","method":"no/such/method"})",
        "{\"jsonrpc\":\"2.0\",\"id\":\"h10\",\"method\":\"tools/"
        "call\",\"params\":{\"name\":\"echo\",\"arguments\":{\"text\":\"\xff\xfe\"}}}",
        R"({"jsonrpc":"2.0","id":"h11","method":"ping","params":{"a":)" + std::string(5000, '[') +
            std::string(5000, ']') + "}}",
    };
    for (const auto& line : lines) gateway.send_line(line);
    for (const char* id : {"h3", "h4", "h5", "h6", "h8", "h9"}) {
        INFO("request " << id);
        CHECK_FALSE(gateway.response(id, 5s).is_null());
    }
    CHECK(text_of(gateway.call_tool("after", "echo", {{"text", "alive"}})) == "alive");
    // Lines the JSON reader refuses still have their request's id read where it can be (a number
    // out of range, invalid UTF-8): they are answered under it, so the request is not lost.
    for (const char* id : {"h7", "h10"}) {
        INFO("request " << id);
        CHECK(gateway.response(id, 5s)["error"]["code"] == -32700);
    }
    // Lines whose id cannot be read (not JSON, not an object, a bad id, nesting too deep, invalid
    // params) are answered with id null: nine of them.
    auto nulls = gateway.null_id_responses();
    CHECK(nulls.size() == 9);
    for (const auto& answer : nulls) CHECK((answer["error"]["code"] == -32600 || answer["error"]["code"] == -32700));
}
