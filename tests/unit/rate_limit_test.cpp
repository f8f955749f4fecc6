// rate_limit through the real pipeline: the configured rate held under concurrent load, buckets
// per key, the answer a limited request gets, and its config errors.
#include <catch2/catch.hpp>

#include "test_support.hpp"

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

using namespace watchgate;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

std::shared_ptr<core::PluginHost> limiter(const std::string& config) {
    return test::load_host(
        "proxy:\n  upstreams:\n    - {name: fs, command: [x]}\nplugins:\n  middleware:\n    fs:\n"
        "      - handler: rate_limit\n        config: " +
        config + "\n");
}

// Runs a tools/call of `tool` through fs's request pipeline.
core::PipelineResult call(const std::shared_ptr<core::PluginHost>& host, const std::string& tool = "t", int id = 1) {
    auto pipeline = host->pipeline("fs");
    auto request = test::request(id, tool, "{}", "fs");
    auto scope = pipeline->begin_request(request);
    return pipeline->process_request(*scope, request);
}

}  // namespace

TEST_CASE("rate_limit: the configured rate holds within 5 % under concurrent load") {
    constexpr double rate = 200, burst = 10;
    auto host = limiter("{per_second: 200, burst: 10, key: global}");
    std::atomic<long> allowed{0}, limited{0};
    std::atomic<bool> stop{false};
    const auto started = Clock::now();
    std::vector<std::thread> clients;
    for (int t = 0; t < 4; ++t)
        clients.emplace_back([&] {
            for (int id = 0; !stop; ++id) (call(host, "t", id).forwards() ? allowed : limited)++;
        });
    std::this_thread::sleep_for(std::chrono::seconds(2));
    stop = true;
    for (auto& client : clients) client.join();
    const double seconds = std::chrono::duration<double>(Clock::now() - started).count();
    const double expected = burst + rate * seconds;
    INFO("allowed " << allowed << " of " << allowed + limited << " in " << seconds << " s; expected " << expected);
    CHECK(limited > allowed);  // the load was well above the rate
    CHECK(std::abs(static_cast<double>(allowed) - expected) / expected < 0.05);
}

TEST_CASE("rate_limit: a limited request is answered -32029 with the time to wait, and never forwarded") {
    auto host = limiter("{per_second: 0.5, burst: 2, key: tool}");
    CHECK(call(host, "a").forwards());
    CHECK(call(host, "a").forwards());
    const auto refused = call(host, "a");
    REQUIRE(refused.reply);
    CHECK_FALSE(refused.forwards());
    const json& error = (*refused.reply)["error"];
    CHECK(error["code"] == -32029);
    CHECK_THAT(error["message"].get<std::string>(),
               Catch::StartsWith("rate limit exceeded (0.5 per second, burst 2, per tool): retry in "));
    CHECK(error["data"]["retryAfterMs"].get<int>() > 1000);  // about 2 s for a token at 0.5 per second
    CHECK(error["data"]["retryAfterMs"].get<int>() <= 2000);
    // Another key has its own bucket.
    CHECK(call(host, "b").forwards());
}

TEST_CASE("rate_limit: only the listed methods count") {
    auto host = limiter("{per_second: 0.1, burst: 1, key: global, methods: [tools/list]}");
    for (int id = 1; id <= 5; ++id) CHECK(call(host, "t", id).forwards());  // tools/call is not limited
}

TEST_CASE("rate_limit: config errors name the key") {
    auto errors = [](const std::string& config) {
        return test::load_errors(
            "proxy:\n  upstreams:\n    - {name: fs, command: [x]}\nplugins:\n  middleware:\n"
            "    fs:\n      - handler: rate_limit\n        config: " +
            config + "\n");
    };
    CHECK_THAT(errors("{burst: 3}"), Catch::Contains("plugin 'rate_limit': config: missing required key 'per_second'"));
    CHECK_THAT(errors("{per_second: 0}"),
               Catch::Contains("config/per_second: expected a number of requests per second above 0"));
    CHECK_THAT(errors("{per_second: 1, burst: 0.5}"),
               Catch::Contains("config/burst: expected a number of requests of at least 1"));
    CHECK_THAT(errors("{per_second: 1, key: user}"),
               Catch::Contains("config/key: expected one of: session, subject, upstream, tool, global"));
    CHECK_THAT(errors("{per_second: 1, per_secnd: 2}"),
               Catch::Contains("unknown key 'per_secnd'; did you mean 'per_second'?"));
}

TEST_CASE("rate_limit: two named instances in one list hold two limits, each named in the audit trail") {
    auto host = test::load_host(
        "proxy:\n  upstreams:\n    - {name: fs, command: [x]}\nplugins:\n  middleware:\n    fs:\n"
        "      - handler: rate_limit\n        instance: per_tool\n        config: {per_second: 0.1, burst: 2, key: "
        "tool}\n"
        "      - handler: rate_limit\n        instance: overall\n        config: {per_second: 0.1, burst: 3, key: "
        "global}\n");
    CHECK(call(host, "a").forwards());
    CHECK(call(host, "a").forwards());
    const auto per_tool = call(host, "a");  // a's bucket is empty; the global one has 1 left
    REQUIRE_FALSE(per_tool.forwards());
    CHECK(per_tool.stages.back().plugin == "rate_limit/per_tool");
    CHECK_THAT((*per_tool.reply)["error"]["message"].get<std::string>(), Catch::Contains("per tool"));
    CHECK(call(host, "b").forwards());  // b's own bucket; the global one's last token
    const auto overall = call(host, "c");
    REQUIRE_FALSE(overall.forwards());
    CHECK(overall.stages.back().plugin == "rate_limit/overall");
    CHECK_THAT((*overall.reply)["error"]["message"].get<std::string>(), Catch::Contains("for all requests"));
}
