// Several client sessions in one gateway (in process, upstreams behind in-memory transports):
// shared upstreams with colliding client ids and progress tokens, per_session upstreams, and where
// a shared upstream's own requests and notifications go.

#include "in_process_gateway.hpp"

#include <catch2/catch.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_future.hpp>

#include <set>

using namespace std::chrono_literals;
using nlohmann::json;
using watchgate::test::InProcessClient;
using watchgate::test::InProcessGateway;
using watchgate::test::ScriptedUpstream;

namespace {

std::string config(const std::string& alpha_extra = "") {
    return "proxy:\n"
           "  upstreams:\n"
           "    - name: alpha\n      command: [unused]\n" +
           alpha_extra + "    - name: beta\n      command: [unused]\n";
}

std::string text_of(const json& answer) {
    if (!answer.contains("result")) return "error: " + answer.dump();
    return answer["result"]["content"][0]["text"].get<std::string>();
}

bool is_call_of(const json& message, const std::string& tool) {
    return message.value("method", "") == "tools/call" && message["params"].value("name", "") == tool;
}

auto method_is(const std::string& method) {
    return [method](const json& m) { return m.value("method", "") == method; };
}

}  // namespace

TEST_CASE("sessions: two clients using the same ids at a shared upstream each get their own answers") {
    ScriptedUpstream alpha("alpha"), beta("beta");
    InProcessGateway a(config(), {{"alpha", &alpha}, {"beta", &beta}});
    auto b = a.open_client();
    REQUIRE(a.initialize().contains("result"));
    REQUIRE(b->initialize().contains("result"));

    a.send_call(1, "alpha__hold");
    b->send_call(1, "alpha__hold");
    REQUIRE(alpha.wait_held(2));
    auto calls = alpha.all([](const json& m) { return is_call_of(m, "hold"); });
    REQUIRE(calls.size() == 2);
    CHECK(calls[0]["id"] != calls[1]["id"]);  // upstream ids: the clients' 1 and 1 do not collide
    alpha.release_held("done");
    CHECK(text_of(a.answer(1)) == "done");
    CHECK(text_of(b->answer(1)) == "done");

    a.send_call(2, "alpha__echo", {{"text", "from a"}});
    b->send_call(2, "alpha__echo", {{"text", "from b"}});
    CHECK(text_of(a.answer(2)) == "alpha#0: from a");
    CHECK(text_of(b->answer(2)) == "alpha#0: from b");
    CHECK(alpha.starts() == 1);  // shared: one server for both
}

TEST_CASE("sessions: a per_session upstream is a server of each session's own, stopped when the session ends") {
    ScriptedUpstream alpha("alpha"), beta("beta");
    InProcessGateway a(config("      sharing: per_session\n"), {{"alpha", &alpha}, {"beta", &beta}});
    auto b = a.open_client();
    REQUIRE(a.initialize().contains("result"));
    CHECK(alpha.starts() == 1);  // started at its session's initialize, not before
    REQUIRE(b->initialize().contains("result"));
    CHECK(alpha.starts() == 2);
    CHECK(beta.starts() == 1);  // shared

    a.send_call(1, "alpha__echo", {{"text", "x"}});
    b->send_call(1, "alpha__echo", {{"text", "y"}});
    CHECK(text_of(a.answer(1)) == "alpha#0: x");
    CHECK(text_of(b->answer(1)) == "alpha#1: y");
    // b's own server speaks to b only, on a lane of its own.
    alpha.send({{"jsonrpc", "2.0"}, {"method", "notifications/tools/list_changed"}}, 1);
    CHECK(b->next(method_is("notifications/tools/list_changed")).is_object());
    CHECK(a.next(method_is("notifications/tools/list_changed"), 200ms).is_null());
    const auto lanes = a.shared_gateway().upstream_lanes();

    auto closed = boost::asio::co_spawn(a.shared_gateway().io(), a.shared_gateway().close_session(b->session()),
                                        boost::asio::use_future);
    REQUIRE(closed.wait_for(10s) == std::future_status::ready);
    CHECK(alpha.down(1));
    CHECK_FALSE(alpha.down(0));
    CHECK(a.shared_gateway().upstream_lanes() == lanes - 1);  // its lane went with it
    a.send_call(2, "alpha__echo", {{"text", "still"}});
    CHECK(text_of(a.answer(2)) == "alpha#0: still");
}

TEST_CASE("sessions: a shared upstream's request goes to the session with a request waiting there") {
    ScriptedUpstream alpha("alpha"), beta("beta");
    InProcessGateway a(config(), {{"alpha", &alpha}, {"beta", &beta}});
    auto b = a.open_client();
    a.initialize();
    b->initialize();
    b->send_call(1, "alpha__hold");
    REQUIRE(alpha.wait_held(1));
    alpha.send({{"jsonrpc", "2.0"},
                {"id", "s1"},
                {"method", "sampling/createMessage"},
                {"params", {{"messages", json::array()}, {"maxTokens", 5}}}});
    auto asked = b->next(method_is("sampling/createMessage"));
    REQUIRE(asked.is_object());
    CHECK(a.next(method_is("sampling/createMessage"), 200ms).is_null());
    b->send({{"jsonrpc", "2.0"}, {"id", asked["id"]}, {"result", {{"role", "assistant"}}}});
    auto answered = alpha.wait_for([](const json& m) { return m.contains("result") && m["id"] == "s1"; });
    CHECK(answered["result"]["role"] == "assistant");
}

TEST_CASE("sessions: a shared upstream's request needing a capability goes to a client that declared it") {
    ScriptedUpstream alpha("alpha"), beta("beta");
    InProcessGateway a(config(), {{"alpha", &alpha}, {"beta", &beta}});
    auto b = a.open_client();
    a.initialize({{"sampling", json::object()}});
    b->initialize(json::object());   // no sampling
    b->send_call(1, "alpha__hold");  // b waits at alpha, but cannot sample
    REQUIRE(alpha.wait_held(1));
    alpha.send({{"jsonrpc", "2.0"}, {"id", 9}, {"method", "sampling/createMessage"}, {"params", json::object()}});
    CHECK(a.next(method_is("sampling/createMessage")).is_object());
    CHECK(b->next(method_is("sampling/createMessage"), 200ms).is_null());
}

TEST_CASE("sessions: progress tokens of two sessions never mix at a shared upstream") {
    ScriptedUpstream alpha("alpha"), beta("beta");
    InProcessGateway a(config(), {{"alpha", &alpha}, {"beta", &beta}});
    auto b = a.open_client();
    a.initialize();
    b->initialize();
    a.send_call(1, "alpha__hold", json::object(), 5);
    b->send_call(1, "alpha__hold", json::object(), 5);
    REQUIRE(alpha.wait_held(2));
    auto calls = alpha.all([](const json& m) { return is_call_of(m, "hold"); });
    REQUIRE(calls.size() == 2);
    std::set<json> tokens;
    for (const auto& call : calls) tokens.insert(call["params"]["_meta"]["progressToken"]);
    CHECK(tokens.size() == 2);  // the same client token, two tokens upstream
    int value = 0;
    for (const auto& token : tokens)
        alpha.send({{"jsonrpc", "2.0"},
                    {"method", "notifications/progress"},
                    {"params", {{"progressToken", token}, {"progress", ++value}}}});
    // A token the gateway never gave reaches nobody.
    alpha.send({{"jsonrpc", "2.0"},
                {"method", "notifications/progress"},
                {"params", {{"progressToken", "99/5"}, {"progress", 50}}}});
    auto to_a = a.next(method_is("notifications/progress"));
    auto to_b = b->next(method_is("notifications/progress"));
    REQUIRE(to_a.is_object());
    REQUIRE(to_b.is_object());
    CHECK(to_a["params"]["progressToken"] == 5);
    CHECK(to_b["params"]["progressToken"] == 5);
    CHECK(to_a["params"]["progress"] != to_b["params"]["progress"]);
    CHECK(a.next(method_is("notifications/progress"), 200ms).is_null());
    CHECK(b->next(method_is("notifications/progress"), 100ms).is_null());
    alpha.release_held("done");
}

TEST_CASE("sessions: a shared upstream's list change reaches every session") {
    ScriptedUpstream alpha("alpha"), beta("beta");
    InProcessGateway a(config(), {{"alpha", &alpha}, {"beta", &beta}});
    auto b = a.open_client();
    a.initialize();
    b->initialize();
    alpha.send({{"jsonrpc", "2.0"}, {"method", "notifications/tools/list_changed"}});
    CHECK(a.next(method_is("notifications/tools/list_changed")).is_object());
    CHECK(b->next(method_is("notifications/tools/list_changed")).is_object());
}

TEST_CASE("sessions: list changes from several upstreams at once reach a client once, a later one again") {
    ScriptedUpstream alpha("alpha"), beta("beta");
    InProcessGateway a(config(), {{"alpha", &alpha}, {"beta", &beta}});
    a.initialize();
    alpha.send({{"jsonrpc", "2.0"}, {"method", "notifications/tools/list_changed"}});
    beta.send({{"jsonrpc", "2.0"}, {"method", "notifications/tools/list_changed"}});
    CHECK(a.next(method_is("notifications/tools/list_changed")).is_object());
    CHECK(a.next(method_is("notifications/tools/list_changed"), 300ms).is_null());  // merged into one
    alpha.send({{"jsonrpc", "2.0"}, {"method", "notifications/tools/list_changed"}});
    CHECK(a.next(method_is("notifications/tools/list_changed")).is_object());  // a new change is told
}
