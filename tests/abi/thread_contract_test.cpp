// The thread contract under real concurrency: 1,000 requests in flight on a thread pool, each a
// coroutine, as the gateway runs them.
#include <catch2/catch.hpp>

#include "test_support.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <atomic>
#include <latch>
#include <thread>

using namespace watchgate;
using namespace std::chrono_literals;
namespace asio = boost::asio;

namespace {

struct Tally {
    std::atomic<int> finished{0};
    std::atomic<int> failures{0};
    std::atomic<int> most_inside_safe{0};
    std::atomic<int> most_inside_serial{0};
    std::mutex mutex;
    std::vector<std::string> reasons;

    void note_most(const core::PipelineResult& result) {
        for (const auto& stage : result.stages) {
            if (!stage.metadata.is_object() || !stage.metadata.contains("most_inside")) continue;
            auto& target = stage.plugin == "test_serial" ? most_inside_serial : most_inside_safe;
            int seen = stage.metadata["most_inside"].get<int>();
            int current = target.load();
            while (seen > current && !target.compare_exchange_weak(current, seen)) {
            }
        }
    }
    void fail(const std::string& why) {
        ++failures;
        std::lock_guard lock(mutex);
        if (reasons.size() < 5) reasons.push_back(why);
    }
};

asio::awaitable<void> one_request(std::shared_ptr<const core::Pipeline> pipeline, int id, Tally& tally) {
    auto request = test::request(id, "echo", R"({"n":)" + std::to_string(id) + "}");
    auto scope = pipeline->begin_request(request);
    auto result = pipeline->process_request(*scope, request);
    if (result.outcome == core::Outcome::error) tally.fail(result.reason);
    tally.note_most(result);

    // Other requests run while this one waits "upstream".
    asio::steady_timer wait(co_await asio::this_coro::executor, std::chrono::microseconds(200 + (id * 7919) % 3000));
    co_await wait.async_wait(asio::use_awaitable);

    auto answer = test::response(id, R"({"echo":"x","content":[]})");
    auto response_result = pipeline->process_response(*scope, answer);
    if (response_result.outcome == core::Outcome::error) tally.fail(response_result.reason);
    tally.note_most(response_result);
    ++tally.finished;
}

}  // namespace

TEST_CASE(
    "thread contract: 1,000 concurrent requests keep their own request state, and serial plugins are never entered "
    "concurrently") {
    // conformance_c checks the id its request_begin kept; test_sec_a and test_serial check theirs and
    // sleep inside hooks so overlapping entries would be seen.
    auto host = test::load_host(
        "plugins:\n"
        "  security:\n"
        "    _global:\n"
        "      - handler: conformance_c\n        config: {word: never-present}\n"
        "      - handler: test_sec_a\n"
        "        config:\n"
        "          check_request_state: true\n"
        "          request: [{op: sleep_us, us: 300}]\n"
        "          response: [{op: sleep_us, us: 300}]\n"
        "      - handler: test_serial\n"
        "        config:\n"
        "          check_request_state: true\n"
        "          request: [{op: sleep_us, us: 50}]\n"
        "          response: [{op: sleep_us, us: 50}]\n");
    auto pipeline = host->pipeline("");
    REQUIRE(pipeline->stages().size() == 3);

    constexpr int request_count = 1000;
    Tally tally;
    {
        asio::thread_pool pool(4);
        for (int id = 1; id <= request_count; ++id)
            asio::co_spawn(pool, one_request(pipeline, id, tally), asio::detached);
        pool.join();
    }
    INFO("first failures: " << (tally.reasons.empty() ? std::string("none") : tally.reasons.front()));
    CHECK(tally.finished == request_count);
    CHECK(tally.failures == 0);
    // The thread-safe plugin really was entered concurrently (so the test can see overlap)...
    CHECK(tally.most_inside_safe > 1);
    // ...and the one that did not declare thread safety never was.
    CHECK(tally.most_inside_serial == 1);
}

TEST_CASE("thread contract: hooks of one request context are never entered concurrently") {
    // A progress notification tied to a request and the request's response race on two threads;
    // the scope serializes them, so the serial plugin never sees two entries for one context.
    auto host = test::load_host(
        "plugins:\n  middleware:\n    _global:\n      - handler: test_mw_a\n"
        "        config:\n"
        "          response: [{op: sleep_us, us: 2000}]\n"
        "          notification: [{op: sleep_us, us: 2000}]\n");
    auto pipeline = host->pipeline("");
    using Clock = std::chrono::steady_clock;
    auto most = [](const core::PipelineResult& r) { return r.stages.at(0).metadata["most_inside"].get<int>(); };
    // Until the two calls were seen in the pipeline at the same time (a loaded machine may run one
    // thread late): each time, the plugin must never have two entries for the context.
    bool raced = false;
    for (int attempt = 0; attempt < 200 && !raced; ++attempt) {
        auto request = test::request(1);
        auto scope = pipeline->begin_request(request);
        pipeline->process_request(*scope, request);
        core::PipelineResult notified, answered;
        Clock::time_point notify_start, notify_end, answer_start, answer_end;
        std::latch both_ready(2);  // the two calls start together
        std::thread notifier([&] {
            auto progress = test::message(
                R"({"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":1,"progress":1}})");
            both_ready.arrive_and_wait();
            notify_start = Clock::now();
            notified = pipeline->process_notification(scope.get(), progress);
            notify_end = Clock::now();
        });
        auto answer = test::response(1);
        both_ready.arrive_and_wait();
        answer_start = Clock::now();
        answered = pipeline->process_response(*scope, answer);
        answer_end = Clock::now();
        notifier.join();
        CHECK(most(notified) == 1);
        CHECK(most(answered) == 1);
        // Both were in the pipeline at once (each hook sleeps 2 ms), so one waited for the other.
        raced = std::max(notify_start, answer_start) < std::min(notify_end, answer_end);
        if (raced) CHECK(std::max(notify_end, answer_end) - std::min(notify_start, answer_start) >= 4ms);
    }
    CHECK(raced);
}
