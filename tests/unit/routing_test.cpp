// Namespacing and list cursors (core/routing), on in-memory messages.
#include <catch2/catch.hpp>

#include "test_support.hpp"

#include <watchgate/core/session/routing.hpp>

using namespace watchgate;
using nlohmann::json;

TEST_CASE("routing: names split at the first separator, so a tool's own name may contain it") {
    auto split = core::split_namespaced("fs__read__file");
    REQUIRE(split);
    CHECK(split->upstream == "fs");
    CHECK(split->name == "read__file");
    CHECK_FALSE(core::split_namespaced("read_file"));
    CHECK_FALSE(core::split_namespaced("__read_file"));
    CHECK(core::namespaced("fs", "file:///tmp/a") == "fs__file:///tmp/a");
}

TEST_CASE("routing: where each routed method names its target") {
    auto at = [](const std::string& method, const json& request = json::object()) {
        const auto* pointer = core::target_pointer(method, request);
        return pointer ? pointer->to_string() : std::string("-");
    };
    CHECK(at("tools/call") == "/params/name");
    CHECK(at("prompts/get") == "/params/name");
    CHECK(at("resources/read") == "/params/uri");
    CHECK(at("resources/subscribe") == "/params/uri");
    CHECK(at("resources/unsubscribe") == "/params/uri");
    CHECK(at("completion/complete", {{"params", {{"ref", {{"type", "ref/prompt"}}}}}}) == "/params/ref/name");
    CHECK(at("completion/complete", {{"params", {{"ref", {{"type", "ref/resource"}}}}}}) == "/params/ref/uri");
    CHECK(at("completion/complete", {{"params", 3}}) == "/params/ref/name");
    CHECK(at("tools/list") == "-");
    CHECK(at("logging/setLevel") == "-");
}

TEST_CASE("routing: the target plugins see is the one the request is routed by") {
    // Both read the method table; a completion reference naming both a name and a URI once gave
    // plugins the name while routing followed the URI.
    const std::string line =
        R"({"jsonrpc":"2.0","id":1,"method":"completion/complete","params":{"ref":{"type":"ref/resource",)"
        R"("name":"a__shown_to_plugins","uri":"b__file:///routed"},"argument":{"name":"x","value":""}}})";
    auto message = test::message(line);
    const auto* pointer = core::target_pointer(message.method(), message.json());
    REQUIRE(pointer);
    CHECK(message.target() == message.json().at(*pointer).get<std::string>());
    CHECK(message.target() == "b__file:///routed");
    for (const std::string method : {"tools/call", "prompts/get", "resources/read", "resources/subscribe"}) {
        auto request =
            test::message(R"({"jsonrpc":"2.0","id":2,"method":")" + method + R"(","params":{"name":"n","uri":"u"}})");
        const auto* at = core::target_pointer(method, request.json());
        REQUIRE(at);
        CHECK(request.target() == request.json().at(*at).get<std::string>());
    }
    // Lists name no target, whatever their params hold.
    CHECK(test::message(R"({"jsonrpc":"2.0","id":3,"method":"resources/list","params":{"uri":"u"}})").target().empty());
    CHECK(core::find_method("tools/list")->routing == core::MethodRouting::list);
    CHECK(core::find_method("completion/complete")->capability == "completions");
    CHECK(core::find_method("vendor/extension") == nullptr);
}

TEST_CASE("routing: error texts name the target as the client knows it, whole words only") {
    CHECK(core::namespace_mentions("unknown tool: echo", "a", "echo") == "unknown tool: a__echo");
    CHECK(core::namespace_mentions("'echo' failed; echo again", "a", "echo") == "'a__echo' failed; a__echo again");
    CHECK(core::namespace_mentions("echoes and echo_2 and a__echo", "a", "echo") == "echoes and echo_2 and a__echo");
    CHECK(core::namespace_mentions("nothing here", "a", "") == "nothing here");
}

TEST_CASE("routing: answers get prefixed resource URIs and names, untouched when nothing changes") {
    auto read = test::message(R"({"jsonrpc":"2.0","id":1,"result":{"contents":[{"uri":"file:///x","text":"t"}]}})");
    core::namespace_answer(read, "resources/read", "fs", "file:///x");
    CHECK(read.json()["result"]["contents"][0]["uri"] == "fs__file:///x");

    auto plain = test::message(R"({"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"echo"}]}})");
    core::namespace_answer(plain, "tools/call", "a", "echo");
    CHECK_FALSE(plain.modified());  // forwarded as the bytes that arrived

    auto failed = test::message(
        R"({"jsonrpc":"2.0","id":1,"result":{"isError":true,"content":[{"type":"text","text":"echo broke"},)"
        R"({"type":"resource","resource":{"uri":"mem://1","text":"x"}}]}})");
    core::namespace_answer(failed, "tools/call", "a", "echo");
    CHECK(failed.json()["result"]["content"][0]["text"] == "a__echo broke");
    CHECK(failed.json()["result"]["content"][1]["resource"]["uri"] == "a__mem://1");

    auto error = test::message(R"({"jsonrpc":"2.0","id":1,"error":{"code":-32602,"message":"no prompt p1"}})");
    core::namespace_answer(error, "prompts/get", "b", "p1");
    CHECK(error.json()["error"]["message"] == "no prompt b__p1");
}

TEST_CASE("routing: notifications from an upstream carry its prefix") {
    auto updated =
        test::message(R"({"jsonrpc":"2.0","method":"notifications/resources/updated","params":{"uri":"x://1"}})");
    core::namespace_notification(updated, "a");
    CHECK(updated.json()["params"]["uri"] == "a__x://1");
    auto log =
        test::message(R"({"jsonrpc":"2.0","method":"notifications/message","params":{"level":"info","data":1}})");
    core::namespace_notification(log, "a");
    CHECK(log.json()["params"]["logger"] == "a");
    auto named = test::message(
        R"({"jsonrpc":"2.0","method":"notifications/message","params":{"level":"info","logger":"db","data":1}})");
    core::namespace_notification(named, "a");
    CHECK(named.json()["params"]["logger"] == "a/db");
}

TEST_CASE("routing: cursors carry every upstream's own cursor and refuse anything else") {
    core::UpstreamCursors cursors = {{"a", "opaque/+=\xE2\x82\xAC"}, {"b", ""}, {"c", "{\"page\":3}"}};
    auto text = core::encode_cursor(cursors);
    CHECK(text.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.") ==
          std::string::npos);
    auto back = core::decode_cursor(text);
    REQUIRE(back);
    CHECK(*back == cursors);
    const std::vector<std::string> bad_cursors = {"",
                                                  "wg1.",
                                                  "wg1.!!!!",
                                                  "wg2." + text.substr(4),
                                                  "wg1." + std::string(40, 'A'),
                                                  text.substr(0, text.size() - 3),
                                                  "wg1.W10"};
    for (const auto& bad : bad_cursors) CHECK_FALSE(core::decode_cursor(bad));
    // Deep nesting from a hostile client is parsed without building it (no stack overflow).
    auto base64url = [](const std::string& bytes) {
        static const char digits[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        std::string out;
        std::uint32_t buffer = 0;
        int bits = 0;
        for (unsigned char byte : bytes) {
            buffer = (buffer << 8) | byte;
            for (bits += 8; bits >= 6; bits -= 6) out += digits[(buffer >> (bits - 6)) & 63];
        }
        if (bits > 0) out += digits[(buffer << (6 - bits)) & 63];
        return out;
    };
    CHECK(core::decode_cursor("wg1." + base64url("{\"a\":\"b\"}")) == core::UpstreamCursors{{"a", "b"}});
    const std::string deep = "{\"a\":" + std::string(200000, '[') + std::string(200000, ']') + "}";
    CHECK_FALSE(core::decode_cursor("wg1." + base64url(deep)));
}
