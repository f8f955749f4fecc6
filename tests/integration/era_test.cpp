// Both MCP protocol eras through the real binary (docs/routing.md "Eras"): a stateless-era
// client (2026-07-28, the version in each request's _meta) in front of the session-era test
// server, and the test server speaking only the stateless era (--era stateless) behind a
// session-era client; the bridges between them (input_required <-> server -> client requests,
// subscriptions/listen <-> resources/subscribe).
#include <catch2/catch.hpp>

#include "gateway_process.hpp"
#include "test_support.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>

using namespace watchgate;
using nlohmann::json;
using test::GatewayProcess;
using test::text_of;
using namespace std::chrono_literals;

namespace {

const json stateless_meta = {{"io.modelcontextprotocol/protocolVersion", "2026-07-28"},
                             {"io.modelcontextprotocol/clientInfo", {{"name", "era-test"}, {"version", "1"}}},
                             {"io.modelcontextprotocol/clientCapabilities", {{"sampling", json::object()}}}};

// Params of a stateless request: `params` with the era's _meta (and `extra_meta` in it).
json stateless(json params = json::object(), const json& extra_meta = json::object()) {
    params["_meta"] = stateless_meta;
    params["_meta"].update(extra_meta);
    return params;
}

std::string config_for(const std::string& server_args, const std::string& upstream_extra = "") {
    return "proxy:\n  namespace: false\n  upstreams:\n    - name: test\n      command: [\"" +
           std::string(WATCHGATE_TEST_SERVER) + "\"" + server_args + "]\n" + upstream_extra;
}

// The next message with `method` from the gateway (others are skipped), or null.
json next_with_method(GatewayProcess& gateway, const std::string& method, std::chrono::milliseconds wait = 5s) {
    const auto deadline = std::chrono::steady_clock::now() + wait;
    while (std::chrono::steady_clock::now() < deadline)
        if (auto message = gateway.next_server_message(100ms); message && (*message)["method"] == method)
            return *message;
    return nullptr;
}

}  // namespace

TEST_CASE("eras: a stateless client needs no initialize and server/discover answers from the upstreams") {
    GatewayProcess gateway(test::scratch_dir("era_discover"), config_for(", \"--resources\", \"1\""));
    auto discover = gateway.request("d", "server/discover", stateless());
    REQUIRE(discover.contains("result"));
    const auto& result = discover["result"];
    CHECK(result["resultType"] == "complete");
    CHECK(result["supportedVersions"].front() == "2026-07-28");
    CHECK(std::find(result["supportedVersions"].begin(), result["supportedVersions"].end(), "2025-11-25") !=
          result["supportedVersions"].end());
    CHECK(result["capabilities"]["tools"]["listChanged"] == true);
    CHECK(result["capabilities"]["resources"]["subscribe"] == true);
    CHECK(result["instructions"] == "A server for Watchgate's tests.");
    CHECK(result["ttlMs"] == 0);
    CHECK(result["cacheScope"] == "private");
    CHECK(result["_meta"]["io.modelcontextprotocol/serverInfo"]["name"] == "watchgate");

    // A list without initialize: the cache fields the era requires, and resultType.
    auto tools = gateway.request(1, "tools/list", stateless());
    REQUIRE(tools.contains("result"));
    CHECK(tools["result"]["tools"].size() == 17);
    CHECK(tools["result"]["resultType"] == "complete");
    CHECK(tools["result"]["ttlMs"] == 0);
    CHECK(tools["result"]["cacheScope"] == "private");
    auto echo = gateway.request(2, "tools/call", stateless({{"name", "echo"}, {"arguments", {{"text", "hi"}}}}));
    CHECK(text_of(echo) == "hi");
    CHECK(echo["result"]["resultType"] == "complete");
    CHECK(echo["result"]["_meta"]["io.modelcontextprotocol/serverInfo"]["name"] == "watchgate");
}

TEST_CASE("eras: the session-era upstream gets the client's request without the stateless era's _meta keys") {
    GatewayProcess gateway(test::scratch_dir("era_strip"), config_for(""));
    auto meta = gateway.request(
        1, "tools/call", stateless({{"name", "meta"}, {"arguments", json::object()}}, {{"progressToken", "p1"}}));
    REQUIRE(meta.contains("result"));
    const json seen = json::parse(text_of(meta));
    INFO(seen.dump());
    CHECK(seen.contains("progressToken"));
    for (const auto& [key, value] : seen.items()) CHECK_FALSE(key.starts_with("io.modelcontextprotocol/"));
    // It was initialized with the client's first request's identity and capabilities.
    auto init = gateway.request(2, "tools/call", stateless({{"name", "seen"}, {"arguments", json::object()}}));
    CHECK_THAT(text_of(init), Catch::Contains("initialize 2025-11-25"));
}

TEST_CASE("eras: bad stateless requests get the era's errors and the gateway keeps serving") {
    GatewayProcess gateway(test::scratch_dir("era_errors"), config_for(""));
    auto unknown =
        gateway.request(1, "tools/list", {{"_meta", {{"io.modelcontextprotocol/protocolVersion", "1999-01-01"}}}});
    CHECK(unknown["error"]["code"] == -32022);
    CHECK(unknown["error"]["data"]["requested"] == "1999-01-01");
    CHECK(unknown["error"]["data"]["supported"].front() == "2026-07-28");
    auto not_text = gateway.request(2, "tools/list", {{"_meta", {{"io.modelcontextprotocol/protocolVersion", 7}}}});
    CHECK(not_text["error"]["code"] == -32022);
    CHECK(not_text["error"]["data"]["requested"] == "7");
    auto ping = gateway.request(3, "ping", stateless());
    CHECK(ping["error"]["code"] == -32601);
    CHECK_THAT(ping["error"]["message"].get<std::string>(), Catch::Contains("not part of MCP 2026-07-28"));
    auto level = gateway.request(4, "logging/setLevel", stateless({{"level", "debug"}}));
    CHECK(level["error"]["code"] == -32601);
    json bad_capabilities = stateless();
    bad_capabilities["_meta"]["io.modelcontextprotocol/clientCapabilities"] = "all of them";
    auto capabilities = gateway.request(5, "tools/list", bad_capabilities);
    CHECK(capabilities["error"]["code"] == -32602);
    auto listen = gateway.request(6, "subscriptions/listen", stateless({{"notifications", "everything"}}));
    CHECK(listen["error"]["code"] == -32602);
    CHECK(text_of(gateway.request(7, "tools/call",
                                  stateless({{"name", "echo"}, {"arguments", {{"text", "still"}}}}))) == "still");
    // A session-era client of the same gateway is served as before.
    CHECK(gateway.request(8, "ping")["result"] == json::object());
}

TEST_CASE("eras: a session-era upstream's request becomes input_required and the client's retry answers it") {
    GatewayProcess gateway(test::scratch_dir("era_mrtr"), config_for(""));
    auto first = gateway.request(1, "tools/call", stateless({{"name", "ask_client"}, {"arguments", json::object()}}));
    REQUIRE(first.contains("result"));
    const auto& interim = first["result"];
    CHECK(interim["resultType"] == "input_required");
    REQUIRE(interim["inputRequests"].size() == 1);
    const auto ask = interim["inputRequests"].begin();
    CHECK(ask.value()["method"] == "sampling/createMessage");
    CHECK(ask.value()["params"]["maxTokens"] == 50);
    const json state = interim["requestState"];
    REQUIRE(state.is_string());

    json sample = {{"role", "assistant"}, {"content", {{"type", "text"}, {"text", "hello back"}}}, {"model", "m"}};
    auto retry = gateway.request(2, "tools/call",
                                 stateless({{"name", "ask_client"},
                                            {"arguments", json::object()},
                                            {"inputResponses", {{ask.key(), sample}}},
                                            {"requestState", state}}));
    CHECK(text_of(retry) == "client said: hello back");
    CHECK(retry["result"]["resultType"] == "complete");
    // A requestState used up (or made up) is refused, not forwarded.
    auto again = gateway.request(3, "tools/call",
                                 stateless({{"name", "ask_client"},
                                            {"arguments", json::object()},
                                            {"inputResponses", {{ask.key(), sample}}},
                                            {"requestState", state}}));
    CHECK(again["error"]["code"] == -32602);
    // No server -> client request ever reached the stateless client.
    CHECK_FALSE(gateway.next_server_message(200ms).has_value());
}

TEST_CASE(
    "eras: a bridged request asked twice is answered over three requests and an unanswered question is asked again") {
    GatewayProcess gateway(test::scratch_dir("era_mrtr_twice"), config_for(""));
    const json call = stateless({{"name", "ask_client"}, {"arguments", {{"times", 2}}}});
    auto first = gateway.request(1, "tools/call", call);
    REQUIRE(first["result"]["resultType"] == "input_required");
    const json state = first["result"]["requestState"];
    const std::string key = first["result"]["inputRequests"].begin().key();
    // A retry that answers nothing is asked the same again.
    json bare = call;
    bare["requestState"] = state;
    auto again = gateway.request(2, "tools/call", bare);
    REQUIRE(again["result"]["resultType"] == "input_required");
    CHECK(again["result"]["inputRequests"].contains(key));
    auto answer = [&](const std::string& text, const std::string& to) {
        json retry = call;
        retry["requestState"] = state;
        retry["inputResponses"] = {
            {to, {{"role", "assistant"}, {"content", {{"type", "text"}, {"text", text}}}, {"model", "m"}}}};
        return retry;
    };
    auto second = gateway.request(3, "tools/call", answer("one", key));
    REQUIRE(second["result"]["resultType"] == "input_required");
    const std::string next_key = second["result"]["inputRequests"].begin().key();
    CHECK(next_key != key);
    auto done = gateway.request(4, "tools/call", answer("two", next_key));
    CHECK(text_of(done) == "client said: one, two");
    CHECK(done["result"]["resultType"] == "complete");
}

TEST_CASE("eras: a stateless request that did not declare sampling is not asked to sample") {
    GatewayProcess gateway(test::scratch_dir("era_mrtr_undeclared"), config_for(""));
    json params = stateless({{"name", "ask_client"}, {"arguments", json::object()}});
    params["_meta"]["io.modelcontextprotocol/clientCapabilities"] = json::object();
    auto answer = gateway.request(1, "tools/call", params);
    CHECK_THAT(text_of(answer), Catch::StartsWith("client refused:") && Catch::Contains("declared the capability"));
    CHECK(answer["result"]["resultType"] == "complete");
}

TEST_CASE("eras: subscriptions/listen is acknowledged and tags what it asked for and is cancelled without an answer") {
    GatewayProcess gateway(test::scratch_dir("era_listen"), config_for(", \"--resources\", \"1\""));
    const std::string uri = "test://test/r000";
    const json filter = {{"toolsListChanged", true}, {"resourceSubscriptions", {uri, "test://elsewhere/x"}}};
    gateway.send({{"jsonrpc", "2.0"},
                  {"id", "listen-1"},
                  {"method", "subscriptions/listen"},
                  {"params", stateless({{"notifications", filter}})}});
    auto ack = next_with_method(gateway, "notifications/subscriptions/acknowledged");
    REQUIRE(ack.is_object());
    CHECK(ack["params"]["_meta"]["io.modelcontextprotocol/subscriptionId"] == "listen-1");
    CHECK(ack["params"]["notifications"]["toolsListChanged"] == true);
    // Each URI was subscribed at the upstream (one upstream under its own names takes any URI).
    CHECK(ack["params"]["notifications"]["resourceSubscriptions"] == json({uri, "test://elsewhere/x"}));
    CHECK_THAT(text_of(gateway.request(1, "tools/call", stateless({{"name", "seen"}, {"arguments", json::object()}}))),
               Catch::Contains("resources/subscribe " + uri));

    gateway.request(2, "tools/call", stateless({{"name", "notify"}, {"arguments", json::object()}}));
    auto updated = next_with_method(gateway, "notifications/resources/updated");
    REQUIRE(updated.is_object());
    CHECK(updated["params"]["uri"] == uri);
    CHECK(updated["params"]["_meta"]["io.modelcontextprotocol/subscriptionId"] == "listen-1");
    auto changed = next_with_method(gateway, "notifications/tools/list_changed");
    REQUIRE(changed.is_object());
    CHECK(changed["params"]["_meta"]["io.modelcontextprotocol/subscriptionId"] == "listen-1");
    // The log message `notify` sends was asked for by no request (no logLevel): not sent.
    CHECK(next_with_method(gateway, "notifications/message", 300ms).is_null());

    gateway.send({{"jsonrpc", "2.0"}, {"method", "notifications/cancelled"}, {"params", {{"requestId", "listen-1"}}}});
    CHECK(gateway.response("listen-1", 500ms).is_null());
    std::string seen;
    for (int attempt = 0; attempt < 50 && seen.find("resources/unsubscribe") == std::string::npos; ++attempt) {
        std::this_thread::sleep_for(20ms);
        seen = text_of(
            gateway.request(10 + attempt, "tools/call", stateless({{"name", "seen"}, {"arguments", json::object()}})));
    }
    CHECK_THAT(seen, Catch::Contains("resources/unsubscribe " + uri));
}

TEST_CASE("eras: a listen still open when the gateway stops ends with a completion result") {
    GatewayProcess gateway(test::scratch_dir("era_listen_stop"), config_for(""));
    gateway.send({{"jsonrpc", "2.0"},
                  {"id", 5},
                  {"method", "subscriptions/listen"},
                  {"params", stateless({{"notifications", {{"toolsListChanged", true}}}})}});
    REQUIRE(next_with_method(gateway, "notifications/subscriptions/acknowledged").is_object());
    gateway.close_input();
    auto end = gateway.response(5);
    REQUIRE(end.contains("result"));
    CHECK(end["result"]["resultType"] == "complete");
    CHECK(end["result"]["_meta"]["io.modelcontextprotocol/subscriptionId"] == 5);
}

TEST_CASE("eras: a stateless-only upstream is probed and spoken to with the session-era client's _meta") {
    GatewayProcess gateway(test::scratch_dir("era_upstream"), config_for(", \"--era\", \"stateless\""));
    auto init = gateway.request(0, "initialize",
                                {{"protocolVersion", "2025-11-25"},
                                 {"capabilities", {{"sampling", json::object()}}},
                                 {"clientInfo", {{"name", "legacy-client"}, {"version", "2"}}}});
    REQUIRE(init.contains("result"));
    CHECK(init["result"]["protocolVersion"] == "2025-11-25");
    CHECK(init["result"]["capabilities"]["tools"]["listChanged"] == true);
    gateway.send({{"jsonrpc", "2.0"}, {"method", "notifications/initialized"}});
    CHECK_THAT(gateway.log_once("initialized (stateless era, 2026-07-28)"),
               Catch::Contains("initialized (stateless era, 2026-07-28)"));

    CHECK(text_of(gateway.call_tool(1, "echo", {{"text", "across"}})) == "across");
    const json meta = json::parse(text_of(gateway.call_tool(2, "meta")));
    CHECK(meta["io.modelcontextprotocol/protocolVersion"] == "2026-07-28");
    CHECK(meta["io.modelcontextprotocol/clientInfo"]["name"] == "legacy-client");
    CHECK(meta["io.modelcontextprotocol/clientCapabilities"] == json{{"sampling", json::object()}});
    // ping is the gateway's own; logging/setLevel goes along on the next requests instead.
    CHECK(gateway.request(3, "ping")["result"] == json::object());
    CHECK(gateway.request(4, "logging/setLevel", {{"level", "warning"}})["result"] == json::object());
    const json after = json::parse(text_of(gateway.call_tool(5, "meta")));
    CHECK(after["io.modelcontextprotocol/logLevel"] == "warning");
}

TEST_CASE("eras: a stateless upstream's input_required becomes a server -> client request for a session-era client") {
    GatewayProcess gateway(test::scratch_dir("era_upstream_mrtr"), config_for(", \"--era\", \"stateless\""));
    gateway.request(0, "initialize",
                    {{"protocolVersion", "2025-11-25"}, {"capabilities", {{"sampling", json::object()}}}});
    gateway.send_call(1, "ask_client");
    auto ask = next_with_method(gateway, "sampling/createMessage");
    REQUIRE(ask.is_object());
    CHECK(ask["params"]["maxTokens"] == 50);
    gateway.send(
        {{"jsonrpc", "2.0"},
         {"id", ask["id"]},
         {"result", {{"role", "assistant"}, {"content", {{"type", "text"}, {"text", "bridged"}}}, {"model", "m"}}}});
    CHECK(text_of(gateway.response(1)) == "client said: bridged");
}

TEST_CASE("eras: a session-era client that did not declare sampling gets an error naming it, not a hang") {
    GatewayProcess gateway(test::scratch_dir("era_upstream_undeclared"), config_for(", \"--era\", \"stateless\""));
    gateway.request(0, "initialize", {{"protocolVersion", "2025-11-25"}, {"capabilities", json::object()}});
    auto answer = gateway.call_tool(1, "ask_client");
    REQUIRE(answer.contains("error"));
    CHECK_THAT(answer["error"]["message"].get<std::string>(), Catch::Contains("'sampling'"));
}

TEST_CASE("eras: a stateless upstream's list changes and resource updates reach a session-era client") {
    GatewayProcess gateway(test::scratch_dir("era_upstream_listen"),
                           config_for(", \"--era\", \"stateless\", \"--resources\", \"1\""));
    gateway.initialize();
    const std::string uri = "test://test/r000";
    CHECK(gateway.request(1, "resources/subscribe", {{"uri", uri}})["result"] == json::object());
    // The gateway's listen at the upstream now names the resource too.
    std::string seen;
    for (int attempt = 0; attempt < 50 && seen.find(uri) == std::string::npos; ++attempt) {
        std::this_thread::sleep_for(20ms);
        seen = text_of(gateway.call_tool(100 + attempt, "seen"));
    }
    CHECK_THAT(seen, Catch::Contains("toolsListChanged") && Catch::Contains(uri));
    gateway.call_tool(2, "notify");
    auto updated = next_with_method(gateway, "notifications/resources/updated");
    REQUIRE(updated.is_object());
    CHECK(updated["params"]["uri"] == uri);
    CHECK_FALSE(updated["params"].contains("_meta"));  // the gateway's own subscription's tag stays with it
    CHECK(next_with_method(gateway, "notifications/tools/list_changed").is_object());
}

TEST_CASE("eras: a list merged from stateless upstreams carries the shortest ttlMs") {
    const std::string server = std::string(WATCHGATE_TEST_SERVER);
    GatewayProcess gateway(
        test::scratch_dir("era_ttl"),
        "proxy:\n  upstreams:\n    - name: slow\n      command: [\"" + server +
            "\", \"--era\", \"stateless\", \"--ttl\", \"5000\"]\n    - name: quick\n      command: [\"" + server +
            "\", \"--era\", \"stateless\", \"--ttl\", \"2000\"]\n");
    auto tools = gateway.request(1, "tools/list", stateless());
    REQUIRE(tools.contains("result"));
    CHECK(tools["result"]["tools"].size() == 2 * 17);
    CHECK(tools["result"]["ttlMs"] == 2000);
    CHECK(tools["result"]["cacheScope"] == "private");
}

TEST_CASE("eras: a stateless client through the gateway to a stateless upstream keeps its own declaration") {
    GatewayProcess gateway(test::scratch_dir("era_both_stateless"), config_for(", \"--era\", \"stateless\""));
    const json meta = json::parse(
        text_of(gateway.request(1, "tools/call", stateless({{"name", "meta"}, {"arguments", json::object()}}))));
    CHECK(meta["io.modelcontextprotocol/clientInfo"]["name"] == "era-test");
    CHECK(meta["io.modelcontextprotocol/clientCapabilities"] == json{{"sampling", json::object()}});
    // input_required passes through to a client that speaks it.
    auto first = gateway.request(2, "tools/call", stateless({{"name", "ask_client"}, {"arguments", json::object()}}));
    CHECK(first["result"]["resultType"] == "input_required");
    CHECK(first["result"]["requestState"] == "asked-once");
}

TEST_CASE("eras: era stateless for a session-era server fails its start with a clear error") {
    GatewayProcess gateway(test::scratch_dir("era_forced"),
                           config_for("", "      era: stateless\n      timeouts: {connection_timeout: 3}\n"));
    auto discover = gateway.request(1, "server/discover", stateless());
    REQUIRE(discover.contains("error"));
    CHECK_THAT(gateway.log_once("era: stateless"), Catch::Contains("configured 'era: stateless'"));
}

namespace {

// The example messages of the 2026-07-28 schema (tests/fixtures/mcp-2026-07-28/<type>/*.json).
std::vector<std::pair<std::string, json>> schema_examples(std::string_view type_suffix) {
    std::vector<std::pair<std::string, json>> out;
    const std::filesystem::path root = std::filesystem::path(WATCHGATE_SOURCE_DIR) / "tests/fixtures/mcp-2026-07-28";
    for (const auto& folder : std::filesystem::directory_iterator(root)) {
        const std::string type = folder.path().filename().string();
        if (!type.ends_with(type_suffix)) continue;
        for (const auto& file : std::filesystem::directory_iterator(folder.path()))
            out.emplace_back(type + "/" + file.path().filename().string(), json::parse(std::ifstream(file.path())));
    }
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    return out;
}

}  // namespace

TEST_CASE("eras: the schema's example client requests are taken as stateless requests, each answered once") {
    // Requests a server gets from a client; sampling, elicitation and roots requests go the other way.
    GatewayProcess gateway(test::scratch_dir("era_examples"),
                           config_for(", \"--resources\", \"1\", \"--prompts\", \"1\""));
    int checked = 0;
    for (const auto& [name, example] : schema_examples("Request")) {
        const std::string method = example["method"];
        if (method == "sampling/createMessage" || method == "elicitation/create" || method == "roots/list") continue;
        INFO(name);
        ++checked;
        gateway.send(example);
        if (method == "subscriptions/listen") {
            auto ack = next_with_method(gateway, "notifications/subscriptions/acknowledged");
            REQUIRE(ack.is_object());
            CHECK(ack["params"]["_meta"]["io.modelcontextprotocol/subscriptionId"] == example["id"]);
            gateway.send({{"jsonrpc", "2.0"},
                          {"method", "notifications/cancelled"},
                          {"params", {{"requestId", example["id"]}}}});
            continue;
        }
        const json answer = gateway.response(example["id"]);
        REQUIRE(answer.is_object());
        // Taken as what it is: never refused as a message, for its era or its _meta (the
        // upstream may still not know the tool it names).
        if (answer.contains("error")) {
            const int code = answer["error"]["code"];
            CHECK(code != -32700);
            CHECK(code != -32600);
            CHECK(code != -32022);
            CHECK(code != -32020);
            CHECK_THAT(answer["error"]["message"].get<std::string>(), !Catch::Contains("_meta"));
        } else {
            CHECK(answer["result"]["resultType"] == "complete");
        }
    }
    CHECK(checked >= 9);
    // The client's notifications of the examples change nothing and are not answered.
    for (const auto& [name, example] : schema_examples("Notification"))
        if (name.starts_with("CancelledNotification")) gateway.send(example);
    CHECK(text_of(gateway.request(99, "tools/call", stateless({{"name", "echo"}, {"arguments", {{"text", "on"}}}}))) ==
          "on");
}

TEST_CASE("eras: the schema's example results pass through the gateway whole") {
    // Each example result, sent back by the test server (`raw`) as its answer: the gateway takes
    // it as the response to its request, with every field of the era it carries.
    GatewayProcess gateway(test::scratch_dir("era_example_results"), config_for(""));
    gateway.initialize();
    int id = 1;
    for (const auto& [name, example] : schema_examples("ResultResponse")) {
        INFO(name);
        json answer = example;
        answer["id"] = "$ID";
        std::string line = answer.dump();
        line.replace(line.find("\"$ID\""), 5, "$ID");
        const json got = gateway.call_tool(id++, "raw", {{"line", line}});
        REQUIRE(got.contains("result"));
        CHECK(got["result"] == example["result"]);
    }
}
