// Several upstreams as one server, end to end: the real `watchgate` binary in front of two or three
// test servers, each under its own prefix.
#include <catch2/catch.hpp>

#include "gateway_process.hpp"
#include "test_support.hpp"

#include <algorithm>
#include <map>
#include <set>

using namespace watchgate;
using nlohmann::json;
using test::GatewayProcess;
using test::text_of;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

namespace {

// One `- name:` entry running the test server with `args` (after --name <name>).
std::string upstream(const std::string& name, const std::vector<std::string>& args = {},
                     const std::string& extra = "") {
    std::string command = "[\"" + std::string(WATCHGATE_TEST_SERVER) + "\", \"--name\", \"" + name + "\"";
    for (const auto& arg : args) command += ", \"" + arg + "\"";
    return "    - name: " + name + "\n      command: " + command + "]\n" + extra;
}

std::string config(const std::vector<std::string>& upstreams, const std::string& proxy_extra = "") {
    std::string yaml =
        "proxy:\n" + proxy_extra + "  timeouts: {connection_timeout: 30, request_timeout: 10}\n  upstreams:\n";
    for (const auto& entry : upstreams) yaml += entry;
    return yaml;
}

std::vector<std::string> strings_in(const json& response) {
    return json::parse(text_of(response)).get<std::vector<std::string>>();
}

// Every item of `method` across pages, checking each page is sorted by `key`.
std::vector<std::string> all_pages(GatewayProcess& gateway, int& next_id, const std::string& method,
                                   const std::string& items, const std::string& key, int* pages = nullptr) {
    std::vector<std::string> names;
    json params = json::object();
    for (int page = 0; page < 100; ++page) {
        json answer = gateway.request(next_id++, method, params);
        REQUIRE(answer.contains("result"));
        std::vector<std::string> page_names;
        for (const auto& item : answer["result"][items]) page_names.push_back(item[key]);
        CHECK(std::is_sorted(page_names.begin(), page_names.end()));
        names.insert(names.end(), page_names.begin(), page_names.end());
        if (pages) *pages = page + 1;
        if (!answer["result"].contains("nextCursor")) break;
        params["cursor"] = answer["result"]["nextCursor"];
    }
    return names;
}

// Server -> client messages with `method` arriving within `window`.
std::vector<json> collect(GatewayProcess& gateway, const std::string& method, std::chrono::milliseconds window) {
    std::vector<json> out;
    const auto deadline = Clock::now() + window;
    while (Clock::now() < deadline) {
        auto message = gateway.next_server_message(std::chrono::duration_cast<std::chrono::milliseconds>(
            std::max(Clock::duration(1ms), deadline - Clock::now())));
        if (message && message->value("method", "") == method) out.push_back(*message);
    }
    return out;
}

}  // namespace

TEST_CASE("aggregation: three upstreams x 267 tools with page size 50 are namespaced, sorted and complete") {
    const std::vector<std::string> paging = {"--tools", "250", "--page-size", "50"};
    GatewayProcess gateway(test::scratch_dir("agg_pages"),
                           config({upstream("a", paging), upstream("b", paging), upstream("c", paging)}));
    REQUIRE(gateway.initialize().contains("result"));
    int next_id = 1, pages = 0;
    auto names = all_pages(gateway, next_id, "tools/list", "tools", "name", &pages);
    CHECK(pages == 6);  // each upstream: 267 tools in pages of 50
    CHECK(names.size() == 3 * 267);
    std::set<std::string> unique(names.begin(), names.end());
    CHECK(unique.size() == names.size());
    for (const char* prefix : {"a__", "b__", "c__"}) {
        CHECK(unique.contains(std::string(prefix) + "echo"));
        CHECK(unique.contains(std::string(prefix) + "t000"));
        CHECK(unique.contains(std::string(prefix) + "t249"));
    }
    // The first page of a fan-out holds each upstream's first page, merged in order.
    json first = gateway.request(next_id++, "tools/list");
    CHECK(first["result"]["tools"].size() == 150);
    CHECK(first["result"]["tools"][0]["name"] == "a__ask_client");
    // Only the standard keys: strict clients reject others.
    for (auto it = first["result"].begin(); it != first["result"].end(); ++it)
        CHECK((it.key() == "tools" || it.key() == "nextCursor"));
    auto bad = gateway.request(next_id++, "tools/list", {{"cursor", "not-ours"}});
    CHECK(bad["error"]["code"] == -32602);
}

TEST_CASE("aggregation: initialize unites capabilities and instructions, each upstream negotiates its version") {
    GatewayProcess gateway(test::scratch_dir("agg_init"),
                           config({upstream("a", {"--prompts", "2"}), upstream("b", {"--resources", "2"})}));
    json init = gateway.initialize();  // the client asks for 2025-06-18
    REQUIRE(init.contains("result"));
    CHECK(init["result"]["protocolVersion"] == "2025-06-18");
    const json& capabilities = init["result"]["capabilities"];
    CHECK(capabilities["tools"]["listChanged"] == true);
    CHECK(capabilities["prompts"]["listChanged"] == true);
    CHECK(capabilities["resources"]["subscribe"] == true);
    CHECK(capabilities.contains("logging"));
    CHECK(capabilities.contains("completions"));
    const std::string instructions = init["result"]["instructions"];
    CHECK(instructions.find("[a__*] A server for Watchgate's tests.") != std::string::npos);
    CHECK(instructions.find("[b__*] A server for Watchgate's tests.") != std::string::npos);
    // Each upstream was offered the newest version the gateway speaks.
    for (const char* name : {"a__seen", "b__seen"}) {
        auto seen = strings_in(gateway.call_tool(name, name));
        REQUIRE(!seen.empty());
        CHECK(seen.front() == "initialize 2025-11-25");
    }
}

TEST_CASE("aggregation: every routed method reaches its upstream under the upstream's own name") {
    const std::vector<std::string> items = {"--prompts", "3", "--resources", "3"};
    GatewayProcess gateway(test::scratch_dir("agg_routes"), config({upstream("a", items), upstream("b", items)}));
    REQUIRE(gateway.initialize().contains("result"));
    int id = 1;
    CHECK(text_of(gateway.call_tool(id++, "a__echo", {{"text", "to a"}})) == "to a");
    CHECK(text_of(gateway.call_tool(id++, "b__echo", {{"text", "to b"}})) == "to b");

    auto prompts = gateway.request(id++, "prompts/list");
    REQUIRE(prompts["result"]["prompts"].size() == 6);
    CHECK(prompts["result"]["prompts"][0]["name"] == "a__p000");
    auto prompt = gateway.request(id++, "prompts/get", {{"name", "b__p001"}});
    CHECK(prompt["result"]["messages"][0]["content"]["text"] == "prompt p001 of b");
    CHECK(prompt["result"]["messages"][1]["content"]["uri"] == "b__test://b/r000");

    auto resources = gateway.request(id++, "resources/list");
    REQUIRE(resources["result"]["resources"].size() == 6);
    CHECK(resources["result"]["resources"][3]["uri"] == "b__test://b/r000");
    CHECK(resources["result"]["resources"][3]["name"] == "r000");  // only identifiers carry the prefix
    auto templates = gateway.request(id++, "resources/templates/list");
    REQUIRE(templates["result"]["resourceTemplates"].size() == 2);
    CHECK(templates["result"]["resourceTemplates"][0]["uriTemplate"] == "a__test://a/items/{id}");

    auto read = gateway.request(id++, "resources/read", {{"uri", "a__test://a/r002"}});
    CHECK(read["result"]["contents"][0]["uri"] == "a__test://a/r002");
    CHECK(read["result"]["contents"][0]["text"] == "contents of test://a/r002");
    CHECK(gateway.request(id++, "resources/subscribe", {{"uri", "b__test://b/r001"}})["result"] == json::object());
    CHECK(gateway.request(id++, "resources/unsubscribe", {{"uri", "b__test://b/r001"}})["result"] == json::object());
    auto complete = gateway.request(
        id++, "completion/complete",
        {{"ref", {{"type", "ref/prompt"}, {"name", "b__p000"}}}, {"argument", {{"name", "x"}, {"value", ""}}}});
    CHECK(complete["result"]["completion"]["values"][0] == "b:p000");
    auto complete_resource = gateway.request(id++, "completion/complete",
                                             {{"ref", {{"type", "ref/resource"}, {"uri", "a__test://a/items/{id}"}}},
                                              {"argument", {{"name", "id"}, {"value", ""}}}});
    CHECK(complete_resource["result"]["completion"]["values"][0] == "a:test://a/items/{id}");
    CHECK(gateway.request(id++, "logging/setLevel", {{"level", "debug"}})["result"] == json::object());
    auto link = gateway.call_tool(id++, "a__link");
    CHECK(link["result"]["content"][0]["uri"] == "a__test://a/r000");

    auto seen_a = strings_in(gateway.call_tool(id++, "a__seen"));
    auto seen_b = strings_in(gateway.call_tool(id++, "b__seen"));
    const std::vector<std::string> expect_a = {"initialize 2025-11-25", "resources/read test://a/r002",
                                               "completion/complete test://a/items/{id}", "logging/setLevel debug"};
    const std::vector<std::string> expect_b = {"initialize 2025-11-25",
                                               "prompts/get p001",
                                               "resources/subscribe test://b/r001",
                                               "resources/unsubscribe test://b/r001",
                                               "completion/complete p000",
                                               "logging/setLevel debug"};
    CHECK(seen_a == expect_a);
    CHECK(seen_b == expect_b);
    CHECK(gateway.request(id++, "ping")["result"] == json::object());
}

TEST_CASE("aggregation: a missing or unknown prefix is refused without reaching an upstream") {
    GatewayProcess gateway(test::scratch_dir("agg_refused"), config({upstream("a"), upstream("b")}));
    REQUIRE(gateway.initialize().contains("result"));
    auto bare = gateway.call_tool(1, "echo", {{"text", "x"}});
    CHECK(bare["error"]["code"] == -32602);
    CHECK(bare["error"]["message"].get<std::string>().find("a, b") != std::string::npos);
    auto unknown = gateway.call_tool(2, "zz__echo", {{"text", "x"}});
    CHECK(unknown["error"]["code"] == -32602);
    CHECK(gateway.request(3, "no/such/method")["error"]["code"] == -32601);
    CHECK(gateway.request(4, "resources/read", {{"uri", 7}})["error"]["code"] == -32602);
    // The upstream's own error names the tool as the client knows it.
    auto nope = gateway.call_tool(5, "a__nope");
    CHECK(nope["error"]["message"] == "unknown tool: a__nope");
    CHECK(strings_in(gateway.call_tool(6, "a__calls")) == std::vector<std::string>{"nope", "calls"});
    CHECK(strings_in(gateway.call_tool(7, "b__calls")) == std::vector<std::string>{"calls"});
}

TEST_CASE("aggregation: notifications from each upstream reach the client prefixed, list_changed once") {
    GatewayProcess gateway(test::scratch_dir("agg_notify"),
                           config({upstream("a", {"--resources", "1"}), upstream("b", {"--resources", "1"})}));
    REQUIRE(gateway.initialize().contains("result"));
    gateway.send_call(1, "a__notify");
    gateway.send_call(2, "b__notify");
    CHECK(text_of(gateway.response(1)) == "notified");
    CHECK(text_of(gateway.response(2)) == "notified");
    std::vector<json> messages;
    const auto deadline = Clock::now() + 1s;
    while (Clock::now() < deadline)
        if (auto message = gateway.next_server_message(100ms)) messages.push_back(*message);
    std::multiset<std::string> updated, loggers;
    int list_changed = 0;
    for (const auto& message : messages) {
        const std::string method = message["method"];
        if (method == "notifications/resources/updated") updated.insert(message["params"]["uri"].get<std::string>());
        if (method == "notifications/message") loggers.insert(message["params"]["logger"].get<std::string>());
        if (method == "notifications/tools/list_changed") ++list_changed;
    }
    CHECK(updated == std::multiset<std::string>{"a__test://a/r000", "b__test://b/r000"});
    CHECK(loggers == std::multiset<std::string>{"a/tests", "b/tests"});
    // Two upstreams changing within moments of each other: the client hears it once or, when
    // they are far enough apart, twice; never more.
    CHECK(list_changed >= 1);
    CHECK(list_changed <= 2);
}

TEST_CASE("aggregation: after an upstream restarts the client is told its lists changed") {
    GatewayProcess gateway(test::scratch_dir("agg_restart"), config({upstream("a"), upstream("b")}));
    REQUIRE(gateway.initialize().contains("result"));
    auto crashed = gateway.call_tool(1, "a__crash");
    CHECK(crashed["error"]["code"] == -32002);
    auto changed = collect(gateway, "notifications/tools/list_changed", 3s);
    CHECK(changed.size() == 1);
    CHECK(text_of(gateway.call_tool(2, "a__echo", {{"text", "back"}})) == "back");
    CHECK(text_of(gateway.call_tool(3, "b__echo", {{"text", "never left"}})) == "never left");
}

TEST_CASE("aggregation: an upstream down at start does not delay the others and joins when it recovers") {
    auto dir = test::scratch_dir("agg_degraded");
    const std::string state = (dir / "starts").string();
    GatewayProcess gateway(dir, config({upstream("a"), upstream("b", {"--fail-starts", "2", "--state-file", state})},
                                       "  debug_metadata: true\n"));
    const auto started = Clock::now();
    json init = gateway.initialize();
    REQUIRE(init.contains("result"));
    CHECK(Clock::now() - started < 5s);  // the connection timeout is 30 s
    auto early = gateway.request(1, "tools/list");
    REQUIRE(early.contains("result"));
    std::set<std::string> prefixes;
    for (const auto& tool : early["result"]["tools"]) prefixes.insert(tool["name"].get<std::string>().substr(0, 3));
    CHECK(prefixes == std::set<std::string>{"a__"});
    CHECK(early["result"]["_meta"]["watchgate/omitted"].contains("b"));
    CHECK(gateway.call_tool(2, "b__echo", {{"text", "x"}})["error"]["code"] == -32002);
    // Two failed starts (backoff 250 ms, then 500 ms), then b comes up.
    auto changed = collect(gateway, "notifications/tools/list_changed", 4s);
    CHECK(changed.size() == 1);
    auto later = gateway.request(3, "tools/list");
    CHECK(later["result"]["tools"].size() == 2 * 17);
    CHECK(!later["result"].contains("_meta"));
    CHECK(text_of(gateway.call_tool(4, "b__echo", {{"text", "joined"}})) == "joined");
}

TEST_CASE("aggregation: sampling asked by the second upstream goes to the client and back") {
    GatewayProcess gateway(test::scratch_dir("agg_sampling"), config({upstream("a"), upstream("b")}));
    REQUIRE(gateway.initialize().contains("result"));
    gateway.send_call(1, "b__ask_client");
    auto ask = gateway.next_server_message();
    REQUIRE(ask);
    CHECK((*ask)["method"] == "sampling/createMessage");
    gateway.send(
        {{"jsonrpc", "2.0"},
         {"id", (*ask)["id"]},
         {"result", {{"role", "assistant"}, {"content", {{"type", "text"}, {"text", "hello b"}}}, {"model", "m"}}}});
    CHECK(text_of(gateway.response(1)) == "client said: hello b");
}

TEST_CASE("aggregation: without namespacing a single upstream keeps its names") {
    GatewayProcess gateway(test::scratch_dir("agg_plain"),
                           config({upstream("only", {"--tools", "5", "--page-size", "4"})}, "  namespace: false\n"));
    REQUIRE(gateway.initialize().contains("result"));
    int id = 1;
    auto names = all_pages(gateway, id, "tools/list", "tools", "name");
    CHECK(names.size() == 22);
    CHECK(std::find(names.begin(), names.end(), "echo") != names.end());
    CHECK(text_of(gateway.call_tool(id++, "echo", {{"text", "plain"}})) == "plain");
}

TEST_CASE("aggregation: each upstream's part of a list runs through that upstream's plugins") {
    GatewayProcess gateway(test::scratch_dir("agg_plugins"),
                           config({upstream("a"), upstream("b")}) +
                               "plugins:\n  security:\n    b:\n      - handler: keyword_filter\n"
                               "        config: {keywords: [Returns], action: redact}\n");
    REQUIRE(gateway.initialize().contains("result"));
    auto tools = gateway.request(1, "tools/list");
    std::map<std::string, std::string> descriptions;
    for (const auto& tool : tools["result"]["tools"]) descriptions[tool["name"]] = tool["description"];
    CHECK(descriptions["a__echo"] == "Returns the text it is given");
    CHECK(descriptions["b__echo"] == "[REDACTED] the text it is given");
    // Calls too: the same keyword reaches a, not b.
    CHECK(text_of(gateway.call_tool(2, "a__echo", {{"text", "Returns"}})) == "Returns");
    CHECK(text_of(gateway.call_tool(3, "b__echo", {{"text", "Returns"}})) == "[REDACTED]");
}

TEST_CASE("aggregation: an upstream that times out or cannot start is left out and the rest answer") {
    GatewayProcess gateway(
        test::scratch_dir("agg_slow"),
        config({upstream("slow", {"--list-delay", "1500"}, "      timeouts: {request_timeout: 0.5}\n"),
                upstream("b", {"--resources", "1", "--no-templates"}),
                "    - name: ghost\n      command: [\"/nonexistent/mcp-server\"]\n      max_restart_attempts: 1\n"}));
    const auto started = Clock::now();
    REQUIRE(gateway.initialize().contains("result"));
    auto tools = gateway.request(1, "tools/list");
    CHECK(Clock::now() - started < 1400ms);
    REQUIRE(tools.contains("result"));
    CHECK(tools["result"]["tools"].size() == 17);
    CHECK(tools["result"]["tools"][0]["name"] == "b__ask_client");
    CHECK(!tools["result"].contains("_meta"));  // debug_metadata is off
    CHECK(gateway.call_tool(2, "ghost__echo")["error"]["code"] == -32002);
    // An upstream without templates has none: an empty list, not a failure.
    auto templates = gateway.request(4, "resources/templates/list");
    REQUIRE(templates.contains("result"));
    CHECK(templates["result"]["resourceTemplates"].empty());
    std::this_thread::sleep_for(1500ms);  // the slow server answers one line at a time
    CHECK(text_of(gateway.call_tool(3, "slow__echo", {{"text", "still here"}}, 5s)) == "still here");
    const std::string log = gateway.log();
    CHECK(log.find("[slow] left out of tools/list") != std::string::npos);
    CHECK(log.find("[ghost] could not be started") != std::string::npos);
    CHECK(log.find("[b] left out") == std::string::npos);
}
