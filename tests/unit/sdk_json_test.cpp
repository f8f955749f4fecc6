// The SDK's own JSON reader/writer, which plugins use to read config and values.
#include <catch2/catch.hpp>

#include <watchgate/json.hpp>
#include <watchgate/plugin.hpp>

#include <nlohmann/json.hpp>

#include <cstddef>

using namespace watchgate;

TEST_CASE("sdk json: parses every kind of value and round-trips through nlohmann") {
    const std::string text = R"({"s":"a\"b\\c\n\u00e9\ud83d\ude00","i":-42,"big":123456789012345678901234,"f":1.5e3,)"
                             R"("t":true,"n":null,"a":[1,[2,{}]],"o":{"k":"v"}})";
    auto value = json::parse(text);
    CHECK(value.find("s")->as_string() == "a\"b\\c\n\xc3\xa9\xf0\x9f\x98\x80");
    CHECK(value.find("i")->as_integer() == -42);
    CHECK(value.find("big")->is_number());
    CHECK(value.find("f")->as_number() == 1500.0);
    CHECK(value.find("t")->as_bool());
    CHECK(value.find("n")->is_null());
    CHECK(value.find("a")->as_array().size() == 2);
    CHECK(nlohmann::json::parse(json::dump(value)) == nlohmann::json::parse(text));
}

TEST_CASE("sdk json: malformed input throws with an offset, and deep nesting is bounded") {
    for (const char* bad : {"", "{", "[1,]", "{\"a\" 1}", "\"\\x\"", "\"\\ud800\"", "01x", "tru", "\"a\nb\""})
        CHECK_THROWS_AS(json::parse(bad), json::ParseError);
    CHECK_THROWS_AS(json::parse(std::string(100000, '[')), json::ParseError);
}

TEST_CASE("sdk json: numbers out of double range never throw anything but ParseError") {
    CHECK(json::parse("5e-324").as_number() > 0.0);
    CHECK(json::parse("1e-400").as_number() == 0.0);
    CHECK(json::parse("-1e400").as_number() < -1e308);
    CHECK(json::dump(json::parse("1e400")) == "null");
    CHECK(json::dump(json::parse("0.1")) == "0.1");
    CHECK(json::parse("-9223372036854775808").as_integer() == INT64_MIN);
}

TEST_CASE("sdk json: quoting escapes control characters and line separators") {
    CHECK(json::quote("a\x01\xe2\x80\xa8z") == "\"a\\u0001\\u2028z\"");
    CHECK(json::pointer_token("a/b~c") == "a~1b~0c");
}

TEST_CASE("sdk: an audit event's client fields are read only when the host's struct has them") {
    wg_audit_event event{};
    event.struct_size = sizeof(wg_audit_event);
    event.session_id = wg_str{"7", 1};
    event.transport = wg_str{"http", 4};
    event.client_address = wg_str{"127.0.0.1:9", 11};
    event.subject = wg_str{"ci", 2};
    const AuditEvent full(event);
    CHECK(full.session_id() == "7");
    CHECK(full.transport() == "http");
    CHECK(full.client_address() == "127.0.0.1:9");
    CHECK(full.subject() == "ci");
    // A 1.1 host's event ends before them: whatever lies beyond is not read.
    event.struct_size = static_cast<std::uint32_t>(offsetof(wg_audit_event, session_id));
    const AuditEvent older(event);
    CHECK(older.session_id().empty());
    CHECK(older.subject().empty());
}
