#include <catch2/catch.hpp>

#include "test_support.hpp"

using namespace watchgate;

namespace {

core::MessageError parse_error(const std::string& line) {
    auto parsed = core::Message::parse(line);
    REQUIRE(std::holds_alternative<core::MessageError>(parsed));
    return std::get<core::MessageError>(parsed);
}

}  // namespace

TEST_CASE("message: requests, notifications and responses are classified") {
    auto request = test::message(R"({"jsonrpc":"2.0","id":"a1","method":"tools/call","params":{"name":"read_file"}})");
    CHECK(request.kind() == core::MessageKind::request);
    CHECK(request.method() == "tools/call");
    CHECK(request.target() == "read_file");
    CHECK(request.id_text() == "\"a1\"");

    auto resource = test::message(R"({"jsonrpc":"2.0","id":2,"method":"resources/read","params":{"uri":"file:///x"}})");
    CHECK(resource.target() == "file:///x");
    auto prompt = test::message(R"({"jsonrpc":"2.0","id":3,"method":"prompts/get","params":{"name":"greet"}})");
    CHECK(prompt.target() == "greet");

    auto notification = test::message(R"({"jsonrpc":"2.0","method":"notifications/initialized"})");
    CHECK(notification.kind() == core::MessageKind::notification);
    CHECK(notification.id_text().empty());

    auto response = test::message(R"({"jsonrpc":"2.0","id":5,"error":{"code":-32601,"message":"nope"}})");
    CHECK(response.kind() == core::MessageKind::response);
}

TEST_CASE("message: an unchanged message is forwarded as the bytes that arrived") {
    const std::string line = R"({ "jsonrpc" : "2.0", "id":1, "method":"ping", "z":1, "a":2 })";
    auto message = test::message(line);
    CHECK(message.serialize() == line);
    message.mutable_json()["a"] = 3;
    CHECK(message.modified());
    CHECK(message.serialize() == R"({"a":3,"id":1,"jsonrpc":"2.0","method":"ping","z":1})");
}

TEST_CASE("message: bad lines get the right JSON-RPC error code and id") {
    CHECK(parse_error("{not json").code == -32700);
    CHECK(parse_error("[1,2]").code == -32600);
    auto no_version = parse_error(R"({"id":4,"method":"ping"})");
    CHECK(no_version.code == -32600);
    CHECK(no_version.id == 4);
    CHECK(parse_error(R"({"jsonrpc":"2.0","id":{"x":1},"method":"ping"})").code == -32600);
    CHECK(parse_error(R"({"jsonrpc":"2.0","id":1,"method":7})").code == -32600);
    CHECK(parse_error(R"({"jsonrpc":"2.0","id":1,"method":"a","params":"x"})").code == -32600);
    CHECK(parse_error(R"({"jsonrpc":"2.0","id":1,"result":{},"error":{"code":1,"message":"m"}})").code == -32600);
    CHECK(parse_error(R"({"jsonrpc":"2.0","id":1,"error":{"code":"x","message":"m"}})").code == -32600);
    CHECK(parse_error("\"\xff\"").code == -32700);  // invalid UTF-8
}

TEST_CASE("message: nesting deeper than the limit is refused before parsing") {
    auto nested = [](int depth) {
        return R"({"jsonrpc":"2.0","id":1,"method":"x","params":{"a":)" + std::string(depth, '[') +
               std::string(depth, ']') + "}}";
    };
    // The envelope and params take two levels.
    CHECK(std::holds_alternative<core::Message>(core::Message::parse(nested(core::max_json_depth - 2))));
    CHECK(parse_error(nested(core::max_json_depth - 1)).code == -32600);
    CHECK(parse_error(nested(200000)).code == -32600);
    // Brackets inside strings do not count.
    CHECK(std::holds_alternative<core::Message>(core::Message::parse(
        R"({"jsonrpc":"2.0","id":1,"method":"x","params":{"a":")" + std::string(1000, '[') + R"(\"[["}})")));
}

TEST_CASE("message: error responses are well formed") {
    auto error = core::make_error_response(9, -32600, "bad", {{"why", "x"}});
    CHECK(error == nlohmann::json::parse(
                       R"({"jsonrpc":"2.0","id":9,"error":{"code":-32600,"message":"bad","data":{"why":"x"}}})"));
}

TEST_CASE("message: set_id replaces only the top-level id's bytes") {
    struct Case {
        std::string line;
        nlohmann::json id;
        std::string expected;
    };
    const std::vector<Case> cases = {
        {R"({"jsonrpc":"2.0","id":1,"method":"ping"})", 42, R"({"jsonrpc":"2.0","id":42,"method":"ping"})"},
        {R"({"id" : "a\"b" , "jsonrpc":"2.0","result":{"id":7}})", 3,
         R"({"id" : 3 , "jsonrpc":"2.0","result":{"id":7}})"},
        {R"({"jsonrpc":"2.0","params":{"id":1,"x":["id"]},"method":"m","id":5})", "s",
         R"({"jsonrpc":"2.0","params":{"id":1,"x":["id"]},"method":"m","id":"s"})"},
        {R"({"jsonrpc":"2.0","method":"m","params":{"k":"\"id\":1"},"id":-9})", 0,
         R"({"jsonrpc":"2.0","method":"m","params":{"k":"\"id\":1"},"id":0})"},
    };
    for (const auto& c : cases) {
        auto message = test::message(c.line);
        message.set_id(c.id);
        CHECK(message.serialize() == c.expected);
        CHECK(message.id() == c.id);
        CHECK_FALSE(message.modified());
    }
}

TEST_CASE("message: set_id never splices ambiguous bytes (a repeated or escaped id key)") {
    for (const std::string line :
         {R"({"jsonrpc":"2.0","id":7,"method":"m","id":3})", R"({"jsonrpc":"2.0","\u0069d":7,"method":"m"})"}) {
        auto message = test::message(line);
        message.set_id(42);
        auto sent = nlohmann::json::parse(message.serialize());
        CHECK(sent["id"] == 42);
        // The bytes, not only the parsed value (where the last key wins): one id, the new one.
        const std::string bytes = message.serialize();
        CHECK(bytes.find("\"id\":3") == std::string::npos);
        CHECK(bytes.find("\"id\":7") == std::string::npos);
        CHECK(bytes.find("\"id\"") == bytes.rfind("\"id\""));
        CHECK(message.serialize().find("\\u0069d") == std::string::npos);
    }
}
