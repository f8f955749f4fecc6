// Remote upstreams through the real binary: the gateway (stdio in front) reaches our HTTP test
// server (tests/servers/http_test_server.cpp) and other gateways over Streamable HTTP and the old
// HTTP+SSE transport, with the faults a remote server has.

#include "gateway_process.hpp"
#include "http_client.hpp"
#include "http_test_server.hpp"
#include "test_support.hpp"

#include <watchgate/core/protocol/versions.hpp>

#include <catch2/catch.hpp>

#include <boost/asio/ip/tcp.hpp>

#include <cstdlib>
#include <fstream>

using namespace watchgate;
using namespace watchgate::test;
using namespace std::chrono_literals;

namespace {

std::string remote_config(const std::string& url, const std::string& extra = {}) {
    return "proxy:\n  namespace: false\n  upstreams:\n    - name: remote\n      url: " + url + "\n" + extra;
}

json progress_call(GatewayProcess& gateway, int id, int steps) {
    gateway.send(
        {{"jsonrpc", "2.0"},
         {"id", id},
         {"method", "tools/call"},
         {"params", {{"name", "progress"}, {"arguments", {{"steps", steps}}}, {"_meta", {{"progressToken", "p"}}}}}});
    return gateway.response(id);
}

std::uint16_t free_port() {
    boost::asio::io_context io;
    boost::asio::ip::tcp::acceptor acceptor(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
    return acceptor.local_endpoint().port();
}

}  // namespace

TEST_CASE(
    "A remote Streamable HTTP upstream serves tools with progress on the answer stream and 2 MiB results and gets its "
    "session and headers") {
    HttpTestServer server;
    ::setenv("WG_REMOTE_TOKEN", "remote-secret-0123456789", 1);
    GatewayProcess gateway(scratch_dir("remote-basic"),
                           remote_config(server.url(),
                                         "      headers:\n        Authorization: Bearer ${WG_REMOTE_TOKEN}\n"
                                         "        X-Team: tests\n"));
    REQUIRE(gateway.initialize().contains("result"));
    auto tools = gateway.request(1, "tools/list");
    REQUIRE(tools["result"]["tools"].size() == 11);
    CHECK(text_of(gateway.call_tool(2, "echo", {{"text", "over HTTP"}})) == "over HTTP");

    auto done = progress_call(gateway, 3, 3);
    CHECK(text_of(done) == "done");
    std::vector<int> steps;
    while (auto message = gateway.next_server_message(1s))
        if ((*message)["method"] == "notifications/progress") steps.push_back((*message)["params"]["progress"]);
    CHECK(steps == std::vector<int>{1, 2, 3});

    CHECK(text_of(gateway.call_tool(4, "big", {{"bytes", 2 << 20}}, 20s)).size() == std::size_t(2 << 20));

    auto headers = gateway.call_tool(5, "headers")["result"]["structuredContent"];
    CHECK(headers["Authorization"] == "Bearer remote-secret-0123456789");
    CHECK(headers["X-Team"] == "tests");
    CHECK(headers["MCP-Protocol-Version"] == std::string(core::latest_protocol_version));
    CHECK(!headers.value("Mcp-Session-Id", "").empty());
    CHECK(headers["Accept"] == "application/json, text/event-stream");
    // Secrets in headers are never logged.
    CHECK(gateway.log().find("remote-secret") == std::string::npos);
}

TEST_CASE("A remote upstream answering JSON bodies and offering no GET stream") {
    HttpTestServer server({"--json", "--no-get"});
    GatewayProcess gateway(scratch_dir("remote-json"), remote_config(server.url()));
    REQUIRE(gateway.initialize().contains("result"));
    CHECK(text_of(gateway.call_tool(1, "echo", {{"text", "plain JSON"}})) == "plain JSON");
    CHECK(text_of(gateway.call_tool(2, "push", {{"text", "x"}})) == "no GET stream");
    CHECK(gateway.log().find("error") == std::string::npos);
}

TEST_CASE("A kept connection the server closed meanwhile is replaced without failing the call") {
    HttpTestServer server({"--one-request", "--no-get"});
    GatewayProcess gateway(scratch_dir("remote-stale"), remote_config(server.url()));
    REQUIRE(gateway.initialize().contains("result"));
    for (int i = 1; i <= 5; ++i) {
        std::this_thread::sleep_for(20ms);  // the server's close arrives before the next call
        CHECK(text_of(gateway.call_tool(i, "echo", {{"text", "call " + std::to_string(i)}})) ==
              "call " + std::to_string(i));
    }
}

TEST_CASE("The session's GET stream brings what the server sends on its own") {
    HttpTestServer server;
    GatewayProcess gateway(scratch_dir("remote-get"), remote_config(server.url()));
    REQUIRE(gateway.initialize().contains("result"));
    // The stream opens after the handshake: wait until the server has it.
    json pushed;
    for (int attempt = 0; attempt < 100 && text_of(pushed) != "pushed"; ++attempt) {
        pushed = gateway.call_tool(100 + attempt, "push", {{"text", "from the server"}});
        if (text_of(pushed) != "pushed") std::this_thread::sleep_for(50ms);
    }
    REQUIRE(text_of(pushed) == "pushed");
    std::optional<json> message;
    while ((message = gateway.next_server_message(5s)) && (*message)["method"] != "notifications/message") {
    }
    REQUIRE(message);
    CHECK((*message)["params"]["data"] == "from the server");
}

TEST_CASE("An answer stream that drops is resumed with Last-Event-ID and one without an event id fails its call only") {
    HttpTestServer server;
    GatewayProcess gateway(scratch_dir("remote-drop"), remote_config(server.url()));
    REQUIRE(gateway.initialize().contains("result"));
    CHECK(text_of(gateway.call_tool(1, "drop")) == "resumed");
    CHECK(server.stats()["resumes"] == 1);

    auto cut = gateway.call_tool(2, "cut");
    REQUIRE(cut.contains("error"));
    CHECK(cut["error"]["code"] == -32002);
    CHECK(cut["error"]["message"].get<std::string>().find("no event id") != std::string::npos);
    CHECK(text_of(gateway.call_tool(3, "echo", {{"text", "still here"}})) == "still here");
}

TEST_CASE("An answer over max_message_size fails its call at once whether a JSON body or an event") {
    for (const bool json_body : {true, false}) {
        HttpTestServer server(json_body ? std::vector<std::string>{"--json"} : std::vector<std::string>{});
        GatewayProcess gateway(scratch_dir("remote-oversize"),
                               "proxy:\n  max_message_size_mb: 1\n" + remote_config(server.url()).substr(7));
        REQUIRE(gateway.initialize().contains("result"));
        auto big = gateway.call_tool(1, "big", {{"bytes", 3 << 20}});
        INFO(big.dump());
        REQUIRE(big.contains("error"));
        CHECK(big["error"]["message"].get<std::string>().find("byte limit") != std::string::npos);
        CHECK(text_of(gateway.call_tool(2, "echo", {{"text", "small"}})) == "small");
    }
}

TEST_CASE("HTTP 500 answers the call with an error naming the status and the upstream serves on") {
    HttpTestServer server;
    GatewayProcess gateway(scratch_dir("remote-500"), remote_config(server.url()));
    REQUIRE(gateway.initialize().contains("result"));
    auto failed = gateway.call_tool(1, "fail");
    REQUIRE(failed.contains("error"));
    INFO(failed.dump());
    CHECK(failed["error"]["message"].get<std::string>().find("HTTP 500") != std::string::npos);
    CHECK(failed["error"]["message"].get<std::string>().find("boom") != std::string::npos);
    CHECK(text_of(gateway.call_tool(2, "echo", {{"text", "after 500"}})) == "after 500");
}

TEST_CASE("A server that forgets the session (404) gets a new one and the client hears the lists changed") {
    HttpTestServer server;
    GatewayProcess gateway(scratch_dir("remote-404"), remote_config(server.url()));
    REQUIRE(gateway.initialize().contains("result"));
    CHECK(text_of(gateway.call_tool(1, "forget")) == "forgotten");
    auto after = gateway.call_tool(2, "echo", {{"text", "x"}});
    REQUIRE(after.contains("error"));  // the 404 itself: the request cannot be answered
    CHECK(after["error"]["message"].get<std::string>().find("404") != std::string::npos);
    std::optional<json> message;
    while ((message = gateway.next_server_message(10s)) && (*message)["method"] != "notifications/tools/list_changed") {
    }
    CHECK(message);
    CHECK(text_of(gateway.call_tool(3, "echo", {{"text", "new session"}})) == "new session");
    CHECK(server.stats()["initializes"] == 2);
}

TEST_CASE("The gateway ends its HTTP session with DELETE when it stops") {
    HttpTestServer server;
    {
        GatewayProcess gateway(scratch_dir("remote-delete"), remote_config(server.url()));
        REQUIRE(gateway.initialize().contains("result"));
        CHECK(text_of(gateway.call_tool(1, "echo", {{"text", "x"}})) == "x");
        gateway.close_input();
        CHECK(gateway.wait_exit(10s) == 0);
    }
    CHECK(server.stats()["deletes"] == 1);
}

TEST_CASE("An unreachable server gives calls a clear error and the gateway connects once it is up") {
    const auto port = free_port();
    const std::string url = "http://127.0.0.1:" + std::to_string(port) + "/mcp";
    // A local upstream too: a gateway none of whose upstreams can be initialized refuses to start.
    GatewayProcess gateway(scratch_dir("remote-down"),
                           "proxy:\n  upstreams:\n    - name: local\n      command: [\"" WATCHGATE_TEST_SERVER
                           "\"]\n    - name: remote\n      url: " +
                               url + "\n      reconnect: {backoff: 0.1, max_backoff: 0.2, max_attempts: 200}\n");
    REQUIRE(gateway.initialize().contains("result"));
    auto refused = gateway.call_tool(1, "remote__echo", {{"text", "x"}});
    REQUIRE(refused.contains("error"));
    CHECK(gateway.log_once("could not be reached").find("could not be reached at " + url) != std::string::npos);
    HttpTestServer server({}, port);
    const auto log = gateway.log_once("[remote] initialized (", 20s);
    INFO(log);
    CHECK(log.find("[remote] initialized (") != std::string::npos);
    std::optional<json> message;
    while ((message = gateway.next_server_message(10s)) && (*message)["method"] != "notifications/tools/list_changed") {
    }
    CHECK(message);
    CHECK(text_of(gateway.call_tool(2, "remote__echo", {{"text", "up now"}})) == "up now");
}

TEST_CASE("One stdio and one HTTP upstream in one gateway where a slow remote call holds up no other call") {
    HttpTestServer server({"--accept-delay", "300"});
    GatewayProcess gateway(scratch_dir("remote-mix"),
                           "proxy:\n  upstreams:\n    - name: local\n      command: [\"" WATCHGATE_TEST_SERVER
                           "\"]\n    - name: remote\n      url: " +
                               server.url() + "\n");
    REQUIRE(gateway.initialize().contains("result"));
    auto tools = gateway.request(1, "tools/list")["result"]["tools"];
    int local = 0, remote = 0;
    for (const auto& tool : tools) {
        const std::string name = tool["name"];
        local += name.starts_with("local__");
        remote += name.starts_with("remote__");
    }
    CHECK(local > 0);
    CHECK(remote == 11);
    // A slow remote call, then a fast remote one and a local one: both come back first.
    gateway.send_call(2, "remote__sleep", {{"ms", 3000}});
    std::this_thread::sleep_for(100ms);
    gateway.send_call(3, "remote__echo", {{"text", "fast"}});
    gateway.send_call(4, "local__echo", {{"text", "local"}});
    CHECK(text_of(gateway.response(4)) == "local");
    CHECK(text_of(gateway.response(3)) == "fast");
    CHECK(gateway.response_count() == 4);  // initialize's and tools/list's, 3's, 4's: 2 still waits
    CHECK(text_of(gateway.response(2)) == "slept");
}

TEST_CASE("A chain of watchgate over stdio in front of watchgate over Streamable HTTP with sampling through both") {
    auto dir = scratch_dir("remote-chain-front");
    GatewayProcess back(dir,
                        "proxy:\n  transport: http\n  http: {port: 0}\n  namespace: false\n  upstreams:\n"
                        "    - name: test\n      command: [\"" WATCHGATE_TEST_SERVER "\"]\n");
    const auto port = listening_port(back.log_once("listening on http://", 10s));
    REQUIRE(port != 0);
    // The front gateway speaks to the back one in the stateless era (it answers server/discover
    // over HTTP, each request a POST of its own, the sampling request bridged to input_required
    // and back), or, told `era: session`, in the session era (Mcp-Session-Id, a GET stream).
    for (const std::string transport : {"streamable_http", "auto"})
        for (const std::string era : {"auto", "session"}) {
            DYNAMIC_SECTION(transport << " era " << era) {
                GatewayProcess front(scratch_dir("remote-chain-" + transport + "-" + era),
                                     remote_config("http://127.0.0.1:" + std::to_string(port) + "/mcp",
                                                   "      transport: " + transport + "\n      era: " + era + "\n"));
                REQUIRE(front.initialize().contains("result"));
                CHECK_THAT(
                    front.log_once("initialized ("),
                    Catch::Contains(era == "auto" ? "(stateless era, 2026-07-28)" : "(session era, 2025-11-25)"));
                CHECK(text_of(front.call_tool(1, "echo", {{"text", "two gateways"}})) == "two gateways");
                // The server asks the client to sample: the request crosses both gateways and the
                // client's answer comes back the same way.
                front.send_call(2, "ask_client");
                auto ask = front.next_server_message(10s);
                REQUIRE(ask);
                REQUIRE((*ask)["method"] == "sampling/createMessage");
                front.send(
                    {{"jsonrpc", "2.0"},
                     {"id", (*ask)["id"]},
                     {"result",
                      {{"role", "assistant"}, {"content", {{"type", "text"}, {"text", "sampled"}}}, {"model", "m"}}}});
                CHECK(text_of(front.response(2)).find("sampled") != std::string::npos);
            }
        }
}

TEST_CASE("The old HTTP+SSE transport (sse and auto falling back to it) through a gateway /sse endpoint") {
    GatewayProcess back(scratch_dir("remote-sse-back"),
                        "proxy:\n  transport: http\n  http: {port: 0}\n  namespace: false\n  upstreams:\n"
                        "    - name: test\n      command: [\"" WATCHGATE_TEST_SERVER "\"]\n");
    const auto port = listening_port(back.log_once("listening on http://", 10s));
    REQUIRE(port != 0);
    for (const std::string transport : {"sse", "auto"}) {
        DYNAMIC_SECTION(transport) {
            GatewayProcess front(scratch_dir("remote-sse-" + transport),
                                 remote_config("http://127.0.0.1:" + std::to_string(port) + "/sse",
                                               "      transport: " + transport + "\n"));
            REQUIRE(front.initialize().contains("result"));
            CHECK(text_of(front.call_tool(1, "echo", {{"text", "old transport"}})) == "old transport");
            front.send(
                {{"jsonrpc", "2.0"},
                 {"id", 2},
                 {"method", "tools/call"},
                 {"params", {{"name", "progress"}, {"arguments", {{"steps", 2}}}, {"_meta", {{"progressToken", 9}}}}}});
            CHECK(text_of(front.response(2)) == "done in 2 steps");
            CHECK(front.log().find("HTTP+SSE") != std::string::npos);
        }
    }
}

TEST_CASE("https upstreams have their certificate checked against tls.ca_file and verify false is logged") {
    auto dir = scratch_dir("remote-tls");
    const auto cert = dir / "cert.pem", key = dir / "key.pem";
    const std::string make = "openssl req -x509 -newkey rsa:2048 -nodes -keyout " + key.string() + " -out " +
                             cert.string() +
                             " -days 2 -subj /CN=localhost -addext subjectAltName=IP:127.0.0.1 2>/dev/null";
    REQUIRE(std::system(make.c_str()) == 0);
    GatewayProcess back(dir, "proxy:\n  transport: http\n  http: {port: 0, tls: {cert_file: " + cert.string() +
                                 ", key_file: " + key.string() +
                                 "}}\n  namespace: false\n  upstreams:\n"
                                 "    - name: test\n      command: [\"" WATCHGATE_TEST_SERVER "\"]\n");
    const auto port = listening_port(back.log_once("listening on https://", 10s));
    REQUIRE(port != 0);
    const std::string url = "https://127.0.0.1:" + std::to_string(port) + "/mcp";
    SECTION("trusted through ca_file") {
        GatewayProcess front(scratch_dir("remote-tls-ca"),
                             remote_config(url, "      tls: {ca_file: " + cert.string() + "}\n"));
        REQUIRE(front.initialize().contains("result"));
        CHECK(text_of(front.call_tool(1, "echo", {{"text", "over TLS"}})) == "over TLS");
    }
    SECTION("untrusted: refused, with the reason in the log") {
        GatewayProcess front(scratch_dir("remote-tls-untrusted"),
                             remote_config(url, "      reconnect: {max_attempts: 0}\n"));
        front.initialize();
        CHECK(front.call_tool(1, "echo", {{"text", "x"}}).contains("error"));
        CHECK(front.log_once("certificate verify failed").find("certificate verify failed") != std::string::npos);
    }
    SECTION("verify: false") {
        GatewayProcess front(scratch_dir("remote-tls-noverify"), remote_config(url, "      tls: {verify: false}\n"));
        REQUIRE(front.initialize().contains("result"));
        CHECK(text_of(front.call_tool(1, "echo", {{"text", "unchecked"}})) == "unchecked");
        CHECK(front.log().find("tls.verify is false") != std::string::npos);
    }
}
