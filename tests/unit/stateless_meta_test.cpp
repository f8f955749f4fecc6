// The stateless era's per-message fields and HTTP headers (core/protocol), and Base64.
#include <catch2/catch.hpp>

#include <watchgate/core/base/base64.hpp>
#include <watchgate/core/protocol/message.hpp>
#include <watchgate/core/protocol/request_headers.hpp>
#include <watchgate/core/protocol/stateless_meta.hpp>

using namespace watchgate::core;
using nlohmann::json;

namespace {

json request(const std::string& method, json params) {
    params["_meta"] = {{"io.modelcontextprotocol/protocolVersion", "2026-07-28"},
                       {"io.modelcontextprotocol/clientCapabilities", json::object()},
                       {"progressToken", 7}};
    return {{"jsonrpc", "2.0"}, {"id", 1}, {"method", method}, {"params", std::move(params)}};
}

}  // namespace

TEST_CASE("base64: both alphabets round-trip and bad text is refused") {
    for (std::string bytes : {std::string(), std::string("f"), std::string("fo"), std::string("foo"),
                              std::string("Hello, \xe4\xb8\x96\xe7\x95\x8c"), std::string("\0\xff\x10", 3)}) {
        CHECK(base64_decode(base64_encode(bytes)) == bytes);
        CHECK(base64_decode(base64_encode(bytes, Base64Alphabet::url), Base64Alphabet::url) == bytes);
    }
    CHECK(base64_encode("Hello, \xe4\xb8\x96\xe7\x95\x8c") == "SGVsbG8sIOS4lueVjA==");
    CHECK(base64_encode("\xfb\xff", Base64Alphabet::url) == "-_8");
    CHECK_FALSE(base64_decode("SGVsbG8").has_value());   // not padded to 4
    CHECK_FALSE(base64_decode("SGV*bG8=").has_value());  // not of the alphabet
    CHECK_FALSE(base64_decode("SGVsbG9=").has_value());  // bits left over
    CHECK_FALSE(base64_decode("-_8").has_value());       // the other alphabet
}

TEST_CASE("stateless headers: values are encoded when not plain and the body is the truth") {
    CHECK(encode_header_value("get_weather") == "get_weather");
    CHECK(encode_header_value("Hello, \xe4\xb8\x96\xe7\x95\x8c") == "=?base64?SGVsbG8sIOS4lueVjA==?=");
    CHECK(encode_header_value(" padded ") == "=?base64?IHBhZGRlZCA=?=");
    CHECK(encode_header_value("line1\nline2") == "=?base64?bGluZTEKbGluZTI=?=");
    CHECK(encode_header_value("=?base64?literal?=") == "=?base64?PT9iYXNlNjQ/bGl0ZXJhbD89?=");
    CHECK(decode_header_value("=?base64?PT9iYXNlNjQ/bGl0ZXJhbD89?=") == "=?base64?literal?=");
    CHECK_FALSE(decode_header_value("=?base64?%%%?=").has_value());

    const json call = request("tools/call", {{"name", "get weather"}, {"arguments", json::object()}});
    CHECK(mirrored_name(call) == "get weather");
    CHECK(header_mismatch("2026-07-28", "tools/call", "get weather", call).empty());
    CHECK(header_mismatch("2026-07-28", "tools/call", encode_header_value("get weather"), call).empty());
    CHECK_THAT(header_mismatch("", "tools/call", "get weather", call), Catch::Contains("MCP-Protocol-Version"));
    CHECK_THAT(header_mismatch("2025-11-25", "tools/call", "get weather", call), Catch::Contains("does not match"));
    CHECK_THAT(header_mismatch("2026-07-28", "tools/list", "get weather", call), Catch::Contains("Mcp-Method"));
    CHECK_THAT(header_mismatch("2026-07-28", "tools/call", "", call), Catch::Contains("Mcp-Name header is missing"));
    CHECK_THAT(header_mismatch("2026-07-28", "tools/call", "other", call), Catch::Contains("Mcp-Name"));
    const json read = request("resources/read", {{"uri", "file:///a b"}});
    CHECK(mirrored_name(read) == "file:///a b");
    CHECK(header_mismatch("2026-07-28", "resources/read", "file:///a b", read).empty());
    CHECK_FALSE(mirrored_name(request("tools/list", json::object())).has_value());
    CHECK(header_mismatch("2026-07-28", "tools/list", "", request("tools/list", json::object())).empty());
}

TEST_CASE("stateless meta: a request's era and _meta keys, and a result made one of the era") {
    json call = request("tools/call", {{"name", "x"}});
    auto parsed = Message::parse(call.dump());
    REQUIRE(std::holds_alternative<Message>(parsed));
    CHECK(std::get<Message>(parsed).stateless());
    auto session =
        Message::parse(R"({"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"_meta":{"progressToken":1}}})");
    CHECK_FALSE(std::get<Message>(session).stateless());

    remove_stateless_request_meta(call);
    CHECK(call["params"]["_meta"] == json{{"progressToken", 7}});  // the rest of _meta stays
    json bare = {{"jsonrpc", "2.0"},
                 {"id", 1},
                 {"method", "tools/list"},
                 {"params", {{"_meta", {{"io.modelcontextprotocol/protocolVersion", "2026-07-28"}}}}}};
    remove_stateless_request_meta(bare);
    CHECK_FALSE(bare["params"].contains("_meta"));
    set_stateless_request_meta(bare, "2026-07-28", {{"name", "c"}, {"version", "1"}}, nullptr, "info");
    CHECK(declared_protocol_version(bare) == "2026-07-28");
    CHECK(request_meta(bare, meta_key::client_capabilities) == json::object());
    CHECK(request_meta(bare, meta_key::log_level) == "info");

    json list = {{"jsonrpc", "2.0"}, {"id", 1}, {"result", {{"tools", json::array()}, {"ttlMs", 5000}}}};
    complete_stateless_result(list, "tools/list");
    CHECK(list["result"]["resultType"] == "complete");
    CHECK(list["result"]["ttlMs"] == 5000);  // the upstream's own hint stays
    CHECK(list["result"]["cacheScope"] == "private");
    CHECK(list["result"]["_meta"]["io.modelcontextprotocol/serverInfo"]["name"] == "watchgate");
    json asked = {{"jsonrpc", "2.0"}, {"id", 1}, {"result", {{"resultType", "input_required"}, {"requestState", "s"}}}};
    complete_stateless_result(asked, "tools/list");
    CHECK(asked["result"]["resultType"] == "input_required");
    CHECK_FALSE(asked["result"].contains("ttlMs"));  // only complete results are cached
    const json refused = unsupported_version_error(3, "1999-01-01");
    CHECK(refused["error"]["code"] == -32022);
    CHECK(refused["error"]["data"]["requested"] == "1999-01-01");
    CHECK(refused["error"]["data"]["supported"].size() == 5);
}
