// The session and upstream layers in one process: a Gateway with ScriptedUpstreams behind
// in-memory transports (no processes). Routing, fan-out, timeouts, cancellation, an upstream
// going away with requests in flight, and server -> client requests.

#include "in_process_gateway.hpp"

#include <catch2/catch.hpp>

#include <set>

using namespace std::chrono_literals;
using nlohmann::json;
using watchgate::test::InProcessGateway;
using watchgate::test::ScriptedUpstream;

namespace {

std::string two_upstreams(const std::string& proxy_extra = "") {
    return "proxy:\n" + proxy_extra +
           "  upstreams:\n"
           "    - name: alpha\n      command: [unused]\n"
           "    - name: beta\n      command: [unused]\n";
}

std::string text_of(const json& answer) {
    if (!answer.contains("result")) return "error: " + answer.dump();
    return answer["result"]["content"][0]["text"].get<std::string>();
}

bool is_call_of(const json& message, const std::string& tool) {
    return message.value("method", "") == "tools/call" && message["params"].value("name", "") == tool;
}

}  // namespace

TEST_CASE("session: requests go to their upstream by name, lists fan out, answers carry the client's id") {
    ScriptedUpstream alpha("alpha"), beta("beta");
    InProcessGateway gateway(two_upstreams(), {{"alpha", &alpha}, {"beta", &beta}});
    auto init = gateway.initialize();
    REQUIRE(init.contains("result"));
    CHECK(init["result"]["capabilities"].contains("tools"));

    auto list = gateway.request(1, "tools/list");
    std::set<std::string> names;
    for (const auto& tool : list["result"]["tools"]) names.insert(tool["name"].get<std::string>());
    CHECK(names == std::set<std::string>{"alpha__echo", "alpha__hold", "alpha__crash", "beta__echo", "beta__hold",
                                         "beta__crash"});

    // The same id as a number and as a string are two requests; each answer finds its own.
    gateway.send_call(7, "alpha__echo", {{"text", "to alpha"}});
    gateway.send_call("7", "beta__echo", {{"text", "to beta"}});
    CHECK(text_of(gateway.answer(7)) == "alpha#0: to alpha");
    CHECK(text_of(gateway.answer("7")) == "beta#0: to beta");

    // The upstream saw its own tool name and an id of the gateway's, not the client's.
    auto seen = alpha.wait_for([](const json& m) { return is_call_of(m, "echo"); });
    REQUIRE(seen.is_object());
    CHECK(seen["id"].is_number_integer());
    CHECK(beta.wait_for(
                  [](const json& m) {
                      return m.contains("params") && m["params"].contains("arguments") &&
                             m["params"]["arguments"].value("text", "") == "to alpha";
                  },
                  100ms)
              .is_null());
}

TEST_CASE("session: a request past its timeout is answered and cancelled at the upstream") {
    ScriptedUpstream alpha("alpha"), beta("beta");
    InProcessGateway gateway(two_upstreams("  timeouts: {request_timeout: 0.3}\n"),
                             {{"alpha", &alpha}, {"beta", &beta}});
    gateway.initialize();
    gateway.send_call("slow", "alpha__hold");
    auto answer = gateway.answer("slow");
    REQUIRE(answer.contains("error"));
    CHECK(answer["error"]["code"] == -32001);
    auto held = alpha.wait_for([](const json& m) { return is_call_of(m, "hold"); });
    auto cancelled = alpha.wait_for_method("notifications/cancelled");
    REQUIRE(cancelled.is_object());
    CHECK(cancelled["params"]["requestId"] == held["id"]);
    // Exactly one answer: a late result from the upstream is dropped.
    alpha.release_held("too late");
    CHECK(gateway.answer("slow", 300ms).is_null());
}

TEST_CASE("session: the client's cancellation reaches the upstream under the upstream's id") {
    ScriptedUpstream alpha("alpha"), beta("beta");
    InProcessGateway gateway(two_upstreams(), {{"alpha", &alpha}, {"beta", &beta}});
    gateway.initialize();
    gateway.send_call(11, "beta__hold");
    REQUIRE(beta.wait_held(1));
    gateway.send({{"jsonrpc", "2.0"},
                  {"method", "notifications/cancelled"},
                  {"params", {{"requestId", 11}, {"reason", "changed my mind"}}}});
    auto answer = gateway.answer(11);
    CHECK(answer["error"]["code"] == -32800);
    auto held = beta.wait_for([](const json& m) { return is_call_of(m, "hold"); });
    auto cancelled = beta.wait_for_method("notifications/cancelled");
    REQUIRE(cancelled.is_object());
    CHECK(cancelled["params"]["requestId"] == held["id"]);
    CHECK(cancelled["params"]["reason"] == "changed my mind");
    CHECK(alpha.wait_for_method("notifications/cancelled", 100ms).is_null());
}

TEST_CASE("session: an upstream that goes away answers what it had in flight, restarts and serves again") {
    ScriptedUpstream alpha("alpha"), beta("beta");
    InProcessGateway gateway(two_upstreams(), {{"alpha", &alpha}, {"beta", &beta}});
    gateway.initialize();
    for (int id = 1; id <= 3; ++id) gateway.send_call(id, "alpha__hold");
    gateway.send_call(4, "beta__hold");
    REQUIRE(alpha.wait_held(3));
    REQUIRE(beta.wait_held(1));
    alpha.crash("exited with status 3");
    for (int id = 1; id <= 3; ++id) {
        auto answer = gateway.answer(id);
        REQUIRE(answer.contains("error"));
        CHECK(answer["error"]["code"] == -32002);
        CHECK_THAT(answer["error"]["message"].get<std::string>(), Catch::Contains("alpha' exited with status 3"));
    }
    // The other upstream's request is untouched by it.
    CHECK(gateway.answer(4, 100ms).is_null());
    beta.release_held("still here");
    CHECK(text_of(gateway.answer(4)) == "still here");

    // Restarted after its backoff (a fresh transport) and initialized again.
    json answer;
    for (int attempt = 0; attempt < 50 && !answer.contains("result"); ++attempt) {
        gateway.send_call(100 + attempt, "alpha__echo", {{"text", "back"}});
        answer = gateway.answer(100 + attempt);
        if (!answer.contains("result")) std::this_thread::sleep_for(100ms);
    }
    CHECK(text_of(answer) == "alpha#1: back");
    CHECK(alpha.starts() == 2);
}

TEST_CASE(
    "session: a server's request reaches the client under a gateway id and its answer returns under the server's") {
    ScriptedUpstream alpha("alpha"), beta("beta");
    InProcessGateway gateway(two_upstreams(), {{"alpha", &alpha}, {"beta", &beta}});
    gateway.initialize();
    alpha.send({{"jsonrpc", "2.0"},
                {"id", "alpha-asks-1"},
                {"method", "sampling/createMessage"},
                {"params", {{"messages", json::array()}, {"maxTokens", 10}}}});
    auto asked = gateway.next([](const json& m) { return m.value("method", "") == "sampling/createMessage"; });
    REQUIRE(asked.is_object());
    REQUIRE(asked.contains("id"));
    CHECK(asked["id"] != "alpha-asks-1");
    gateway.send({{"jsonrpc", "2.0"}, {"id", asked["id"]}, {"result", {{"role", "assistant"}}}});
    auto answered = alpha.wait_for([](const json& m) { return m.contains("result") && m["id"] == "alpha-asks-1"; });
    REQUIRE(answered.is_object());
    CHECK(answered["result"]["role"] == "assistant");
    CHECK(beta.wait_for([](const json& m) { return m.contains("result"); }, 100ms).is_null());
}
