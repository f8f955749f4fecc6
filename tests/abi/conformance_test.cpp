// One suite, three languages: the conformance plugin written in C99, C++ and Rust must behave the same.
#include <catch2/catch.hpp>

#include "test_support.hpp"

using namespace watchgate;

namespace {

std::string config_for(const std::string& plugin, const std::string& config) {
    return "plugins:\n"
           "  security:\n"
           "    _global:\n"
           "      - handler: " +
           plugin +
           "\n"
           "        config:\n" +
           config;
}

void check_conformance(const std::string& plugin) {
    INFO("plugin " << plugin);
    auto host = test::load_host(config_for(plugin, "          word: secret\n"));
    auto pipeline = host->pipeline("");
    REQUIRE(pipeline->stages().size() == 1);

    // Allowed: metadata counts the strings it visited (tool name + two argument strings).
    auto allowed = test::request(1, "notes", R"({"a":"hello","b":["world",3]})");
    auto scope = pipeline->begin_request(allowed);
    auto result = pipeline->process_request(*scope, allowed);
    CHECK(result.outcome == core::Outcome::allowed);
    REQUIRE(result.stages.size() == 1);
    CHECK(result.stages[0].metadata == nlohmann::json{{"strings", 3}});

    // The response phase gets the same request state back and may replace a string.
    auto answer = test::response(1, R"({"echo":"original","content":[]})");
    auto response_result = pipeline->process_response(*scope, answer);
    CHECK(response_result.outcome == core::Outcome::modified);
    CHECK(answer.json()["result"]["echo"] == plugin);

    // Blocked: code, reason and data reach the client's error, with the client's id.
    auto bad = test::request(7, "notes", R"({"text":"my secret plan"})");
    auto bad_scope = pipeline->begin_request(bad);
    auto blocked = pipeline->process_request(*bad_scope, bad);
    CHECK(blocked.outcome == core::Outcome::blocked);
    REQUIRE(blocked.reply);
    CHECK((*blocked.reply)["id"] == 7);
    CHECK((*blocked.reply)["error"]["code"] == -32042);
    CHECK((*blocked.reply)["error"]["message"] == "Request blocked: " + plugin + ": word found");
    CHECK((*blocked.reply)["error"]["data"] == nlohmann::json{{"rule", "word"}});

    // A response checked against another request's state is an error (fail closed: critical).
    auto other = test::request(8);
    auto other_scope = pipeline->begin_request(other);
    auto wrong = test::response(9);
    auto mismatch = pipeline->process_response(*other_scope, wrong);
    CHECK(mismatch.outcome == core::Outcome::error);
    CHECK_THAT(mismatch.reason, Catch::Contains("request state mismatch"));

    // Config errors come back with their pointer, mapped to the YAML line.
    std::string errors = test::load_errors(config_for(plugin, "          word: secret\n          wrd: typo\n"));
    CHECK_THAT(errors, Catch::Contains("test.yaml:8:11: plugin '" + plugin + "': config/wrd: unknown key"));
    errors = test::load_errors(config_for(plugin, "          other: 1\n"));
    CHECK_THAT(errors, Catch::Contains("missing required key 'word'"));
}

}  // namespace

TEST_CASE("conformance: a plugin in plain C99") { check_conformance("conformance_c"); }

TEST_CASE("conformance: a plugin in C++ through plugin.hpp") { check_conformance("conformance_cpp"); }

#ifdef WATCHGATE_TEST_HAVE_RUST
TEST_CASE("conformance: a plugin in Rust (extern \"C\", no crates)") { check_conformance("conformance_rust"); }
#endif
