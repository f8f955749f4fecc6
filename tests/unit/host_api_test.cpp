// The host functions plugins call, exercised through a real plugin (the scripted test plugin).
#include <catch2/catch.hpp>

#include "test_support.hpp"

#include <watchgate/core/base/version.hpp>

#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>

using namespace watchgate;
using nlohmann::json;

namespace {

core::PipelineResult run_steps(const std::string& steps, core::Message& message, bool critical = true) {
    auto host = test::load_host(
        "plugins:\n  middleware:\n    _global:\n      - handler: test_mw_a\n        config:\n"
        "          critical: " +
        std::string(critical ? "true" : "false") + "\n          request: " + steps + "\n");
    auto scope = host->pipeline("")->begin_request(message);
    return host->pipeline("")->process_request(*scope, message);
}

}  // namespace

TEST_CASE("host api: set, remove and replace_string change the message, and bad pointers are errors") {
    auto message = test::request(1, "t", R"({"a":{"b":"x"},"list":[1,2],"n":5})");
    auto result = run_steps(
        "[{op: set, pointer: /params/arguments/a/c, value: {deep: true}},"
        " {op: set, pointer: /params/arguments/list/-, value: 3},"
        " {op: remove, pointer: /params/arguments/list/0},"
        " {op: replace, pointer: /params/arguments/a/b, value: \"y\\u00e9\"}]",
        message);
    CHECK(result.outcome == core::Outcome::modified);
    CHECK(message.json()["params"]["arguments"] ==
          json::parse(R"({"a":{"b":"y\u00e9","c":{"deep":true}},"list":[2,3],"n":5})"));

    auto m2 = test::request(2);
    CHECK_THAT(run_steps("[{op: set, pointer: no-slash, value: 1}]", m2).reason, Catch::Contains("status 3"));
    CHECK_THAT(run_steps("[{op: set, pointer: /params/missing/deep, value: 1}]", m2).reason,
               Catch::Contains("status 2"));
    auto with_list = test::request(5, "t", R"({"list":[1,2]})");
    CHECK_THAT(run_steps("[{op: set, pointer: /params/arguments/list/9, value: 1}]", with_list).reason,
               Catch::Contains("status 2"));
    CHECK_THAT(
        run_steps("[{op: set, pointer: /params/arguments/list/99999999999999999999999, value: 1}]", with_list).reason,
        Catch::Contains("status 2"));
    CHECK_THAT(run_steps("[{op: replace, pointer: /params/name, value: ok}, {op: replace, pointer: /id, value: x}]", m2)
                   .reason,
               Catch::Contains("status 5"));
    auto m3 = test::request(3, "t", R"({"n":5})");
    CHECK_THAT(run_steps("[{op: replace, pointer: /params/arguments/n, value: x}]", m3).reason,
               Catch::Contains("status 3"));
    CHECK(m3.json()["params"]["arguments"]["n"] == 5);  // numbers never turn into strings
}

TEST_CASE("host api: a stage that leaves no valid JSON-RPC message fails, and its change is undone") {
    // Found by fuzz_host_api: the host forwarded {"method":0,...} after a plugin set it.
    auto message = test::request(1, "t");
    auto result = run_steps("[{op: set, pointer: /method, value: 0}]", message);
    CHECK(result.outcome == core::Outcome::error);
    CHECK_THAT(result.reason,
               Catch::Contains("left an invalid JSON-RPC message") && Catch::Contains("\"method\" must be a string"));
    REQUIRE(result.reply);
    CHECK((*result.reply)["error"]["code"] == core::error_code::plugin_failed);
    CHECK(message.json()["method"] == "tools/call");

    auto params = test::request(2, "t");
    result = run_steps("[{op: set, pointer: /params, value: 5}]", params, false);
    CHECK(result.outcome == core::Outcome::allowed);
    CHECK(result.stages.at(0).outcome == core::Outcome::skipped);
    CHECK(params.json()["params"]["name"] == "t");
    CHECK(!params.modified());

    // A request made to look like a response is still refused: a message keeps its kind.
    auto kind = test::request(3, "t");
    result = run_steps(
        "[{op: remove, pointer: /method}, {op: remove, pointer: /params}, "
        "{op: set, pointer: /result, value: {}}]",
        kind);
    CHECK_THAT(result.reason, Catch::Contains("may not change its kind"));
    CHECK(kind.json()["method"] == "tools/call");

    // A response given an error next to its result.
    auto host = test::load_host(
        "plugins:\n  middleware:\n    _global:\n      - handler: test_mw_a\n        config:\n"
        "          response: [{op: set, pointer: /error, value: {code: 1, message: x}}]\n");
    auto request = test::request(4, "t");
    auto scope = host->pipeline("")->begin_request(request);
    auto response = test::response(4);
    result = host->pipeline("")->process_response(*scope, response);
    CHECK(result.outcome == core::Outcome::error);
    CHECK_THAT(result.reason, Catch::Contains("exactly one of"));
    CHECK(!response.json().contains("error"));
}

TEST_CASE("host api: complete refuses a response envelope that is not a valid answer") {
    auto message = test::request(1, "t");
    auto result = run_steps(R"([{op: complete, result: {jsonrpc: "2.0", error: {code: "x"}}}])", message);
    CHECK(result.outcome == core::Outcome::error);
    CHECK_THAT(result.reason, Catch::Contains("status 3"));
    auto both = test::request(2, "t");
    result = run_steps(R"([{op: complete, result: {jsonrpc: "2.0", result: 1, error: {code: 1, message: m}}}])", both);
    CHECK_THAT(result.reason, Catch::Contains("status 3"));
    auto fine = test::request(3, "t");
    result = run_steps(R"([{op: complete, result: {jsonrpc: "2.0", error: {code: 7, message: m}}}])", fine);
    CHECK(result.outcome == core::Outcome::completed);
    CHECK((*result.reply)["error"]["code"] == 7);
}

TEST_CASE("host api: views of method and target stay valid after a change") {
    auto message = test::request(1, "a_tool_name_longer_than_sso_buffers");
    auto result = run_steps("[{op: target_after_change}]", message);
    CHECK(result.stages.at(0).metadata["target"] == "a_tool_name_longer_than_sso_buffers");
    CHECK(message.target() == "x");
}

TEST_CASE("host api: the message cannot be changed from inside a visitor") {
    auto message = test::request(1, "t", R"({"a":"b"})");
    auto result = run_steps("[{op: modify_in_visit}]", message);
    CHECK(result.outcome == core::Outcome::error);
    CHECK_THAT(result.reason, Catch::Contains("status 5"));
    CHECK(message.json()["params"]["arguments"]["a"] == "b");
}

TEST_CASE("host api: request_begin may read the request but not set a verdict") {
    auto host = test::load_host(
        "plugins:\n  security:\n    _global:\n      - handler: test_sec_a\n"
        "        config: {block_in_begin: true}\n");
    auto message = test::request(1);
    auto scope = host->pipeline("")->begin_request(message);
    auto result = host->pipeline("")->process_request(*scope, message);
    CHECK(result.outcome == core::Outcome::error);
    CHECK_THAT(result.reason, Catch::Contains("request_begin failed: block failed (status 5)"));
}

TEST_CASE("host api: visit_strings walks strings (and keys) depth first, members by name, with escaped pointers") {
    auto message = test::request(1, "t", R"({"a/b":"x","c~d":["y",{"e":"z"}],"n":1})");
    auto result = run_steps("[{op: visit_keys, pointer: /params/arguments}]", message);
    REQUIRE(result.stages.size() == 1);
    CHECK(result.stages[0].metadata["visited"] ==
          json::parse(R"(["key /params/arguments/a~1b=a/b", "/params/arguments/a~1b=x",
                          "key /params/arguments/c~0d=c~d", "/params/arguments/c~0d/0=y",
                          "key /params/arguments/c~0d/1/e=e", "/params/arguments/c~0d/1/e=z",
                          "key /params/arguments/n=n"])"));
    CHECK(result.outcome == core::Outcome::allowed);  // reading is not a change
}

TEST_CASE("host api: visit_strings visits members in order of their names, not as written") {
    // As docs/plugin-abi.md says; a plugin must not take the order for the sender's.
    auto message = test::request(1, "t", R"({"zeta":"1","alpha":"2"})");
    auto result = run_steps("[{op: visit_keys, pointer: /params/arguments}]", message);
    REQUIRE(result.stages.size() == 1);
    CHECK(result.stages[0].metadata["visited"] ==
          json::parse(R"(["key /params/arguments/alpha=alpha", "/params/arguments/alpha=2",
                          "key /params/arguments/zeta=zeta", "/params/arguments/zeta=1"])"));
}

TEST_CASE("host api: serialize returns the message with the changes so far") {
    auto message = test::request(4, "t", R"({"v":"a"})");
    auto result = run_steps("[{op: replace, pointer: /params/arguments/v, value: b}, {op: serialize}]", message);
    auto serialized = json::parse(result.stages[0].metadata["serialized"].get<std::string>());
    CHECK(serialized["params"]["arguments"]["v"] == "b");
}

TEST_CASE("host api: plugin log lines carry the plugin's name") {
    auto sink = std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(16);
    auto logger = std::make_shared<spdlog::logger>("capture", sink);
    auto previous = spdlog::default_logger();
    spdlog::set_default_logger(logger);
    auto message = test::request(1);
    run_steps("[{op: log, text: hello from a plugin}]", message);
    spdlog::set_default_logger(previous);
    auto lines = sink->last_formatted();
    REQUIRE_FALSE(lines.empty());
    CHECK_THAT(lines.back(), Catch::Contains("[test_mw_a] hello from a plugin"));
}

TEST_CASE("host api: an exception in the plugin's constructor is a config error, not a crash") {
    std::string errors = test::load_errors(
        "plugins:\n  middleware:\n    _global:\n      - handler: test_mw_a\n"
        "        config: {throw_in_create: true}\n");
    CHECK_THAT(errors, Catch::Contains("test.yaml:6:9: plugin 'test_mw_a': config: constructor exploded"));
}

TEST_CASE("host api: the table carries its size and versions, unknown extensions are NULL, log levels are honoured") {
    auto previous = spdlog::get_level();
    spdlog::set_level(spdlog::level::info);
    auto message = test::request(1);
    auto result = run_steps("[{op: host_info, extension: watchgate.no-such-thing/1}]", message);
    spdlog::set_level(previous);
    const auto& info = result.stages.at(0).metadata;
    CHECK(info["api_size"] == sizeof(wg_host_api));
    CHECK(info["abi"] == "1.2");
    CHECK(info["host_version"] == core::version_text);
    CHECK(info["extension_found"] == false);
    CHECK(info["log_enabled"] == false);  // trace is below info
}
