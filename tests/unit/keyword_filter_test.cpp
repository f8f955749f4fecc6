// The built-in keyword_filter plugin (plain C99) through the real pipeline.
#include <catch2/catch.hpp>

#include "test_support.hpp"

using namespace watchgate;

namespace {

std::shared_ptr<core::PluginHost> filter(const std::string& config) {
    return test::load_host(
        "plugins:\n  security:\n    _global:\n      - handler: keyword_filter\n        config: " + config + "\n");
}

core::PipelineResult run(const std::shared_ptr<core::PluginHost>& host, core::Message& message) {
    auto scope = host->pipeline("")->begin_request(message);
    return host->pipeline("")->process_request(*scope, message);
}

}  // namespace

TEST_CASE("keyword_filter: blocks without echoing the keyword") {
    auto host = filter("{keywords: [hunter2]}");
    auto message = test::request(1, "t", R"({"p":"my hunter2 password"})");
    auto result = run(host, message);
    CHECK(result.outcome == core::Outcome::blocked);
    CHECK(result.reason.find("hunter2") == std::string::npos);
}

TEST_CASE("keyword_filter: redacts every occurrence, leaves numbers alone") {
    auto host = filter("{keywords: [cat, dog], action: redact}");
    auto message = test::request(1, "t", R"({"s":"cat and dog and cat","n":7,"l":["hotdog"]})");
    auto result = run(host, message);
    CHECK(result.outcome == core::Outcome::modified);
    CHECK(message.json()["params"]["arguments"] ==
          nlohmann::json::parse(R"({"s":"[REDACTED] and [REDACTED] and [REDACTED]","n":7,"l":["hot[REDACTED]"]})"));
}

TEST_CASE("keyword_filter: redacts the right value when keys contain NUL characters") {
    auto host = filter("{keywords: [SECRET], action: redact}");
    auto message = test::request(1, "t", R"({"q":"ok","q\u0000":"my SECRET"})");
    run(host, message);
    CHECK(message.json()["params"]["arguments"]["q"] == "ok");
    CHECK(message.json()["params"]["arguments"][std::string("q\0", 2)] == "my [REDACTED]");
}

TEST_CASE("keyword_filter: config errors point at the YAML place") {
    std::string errors = test::load_errors(
        "plugins:\n  security:\n    _global:\n      - handler: keyword_filter\n        config:\n"
        "          keywords: [secret, 1234, true]\n          action: shout\n          extra: 1\n");
    CHECK_THAT(errors,
               Catch::Contains("test.yaml:7:30: plugin 'keyword_filter': config/keywords/1: expected a string"));
    CHECK_THAT(errors,
               Catch::Contains("test.yaml:7:36: plugin 'keyword_filter': config/keywords/2: expected a string"));
    CHECK_THAT(errors, Catch::Contains(
                           "test.yaml:8:11: plugin 'keyword_filter': config/action: expected one of: block, redact"));
    CHECK_THAT(errors, Catch::Contains("test.yaml:9:11: plugin 'keyword_filter': config/extra: unknown key"));
    CHECK_THAT(test::load_errors("plugins:\n  security:\n    _global:\n      - handler: keyword_filter\n"
                                 "        config: {keywords: foo}\n"),
               Catch::Contains("config/keywords: expected a list, got string"));
}
