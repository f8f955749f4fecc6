// The waiting primitives that replace polling: DeadlineTimer and AsyncSignal's timed wait.

#include <watchgate/core/base/async_signal.hpp>
#include <watchgate/core/base/deadline_timer.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include <catch2/catch.hpp>

#include <atomic>
#include <thread>

using namespace std::chrono_literals;
using watchgate::core::AsyncSignal;
using watchgate::core::DeadlineTimer;
using Clock = std::chrono::steady_clock;

namespace {

struct Loop {
    boost::asio::io_context io;
    boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard{io.get_executor()};
    std::thread thread{[this] { io.run(); }};
    ~Loop() {
        guard.reset();
        io.stop();
        thread.join();
    }
};

}  // namespace

TEST_CASE("deadline timer: wakes only when a deadline passes, at the earliest one it was given") {
    Loop loop;
    std::atomic<int> calls{0};
    std::mutex mutex;
    std::vector<Clock::time_point> waiting;  // the owner's deadlines
    std::vector<Clock::duration> lateness;
    auto timer = DeadlineTimer::create(loop.io.get_executor(), [&](Clock::time_point now) {
        ++calls;
        std::lock_guard lock(mutex);
        std::optional<Clock::time_point> next;
        std::vector<Clock::time_point> left;
        for (auto deadline : waiting) {
            if (deadline <= now)
                lateness.push_back(now - deadline);
            else
                left.push_back(deadline), next = next ? std::min(*next, deadline) : deadline;
        }
        waiting = left;
        return next;
    });
    const auto start = Clock::now();
    auto add = [&](Clock::duration after) {
        std::lock_guard lock(mutex);
        waiting.push_back(start + after);
        timer->watch(start + after);
    };
    add(600ms);
    add(900ms);
    add(300ms);  // earlier than the one armed: re-arms
    std::this_thread::sleep_for(200ms);
    CHECK(calls == 0);  // a poller would have looked many times by now
    std::this_thread::sleep_for(900ms);
    std::lock_guard lock(mutex);
    CHECK(lateness.size() == 3);  // each deadline handled once
    CHECK(waiting.empty());
    CHECK(calls == 3);  // one wake-up per deadline, none in between
}

TEST_CASE("deadline timer: stop disarms it") {
    Loop loop;
    std::atomic<int> calls{0};
    auto timer = DeadlineTimer::create(loop.io.get_executor(), [&](Clock::time_point) {
        ++calls;
        return std::optional<Clock::time_point>();
    });
    timer->watch(Clock::now() + 100ms);
    timer->stop();
    std::this_thread::sleep_for(300ms);
    CHECK(calls == 0);
    timer->watch(Clock::now() + 10ms);
    std::this_thread::sleep_for(200ms);
    CHECK(calls == 1);
}

TEST_CASE("async signal: a timed wait returns true when notified and false when its time runs out") {
    Loop loop;
    AsyncSignal signal;
    std::atomic<bool> flag{false};
    auto timed_out = boost::asio::co_spawn(
        loop.io, signal.wait_until([&] { return flag.load(); }, Clock::now() + 150ms), boost::asio::use_future);
    CHECK(timed_out.get() == false);

    auto notified = boost::asio::co_spawn(loop.io, signal.wait_until([&] { return flag.load(); }, Clock::now() + 10s),
                                          boost::asio::use_future);
    std::this_thread::sleep_for(50ms);
    flag = true;
    signal.notify_all();
    REQUIRE(notified.wait_for(2s) == std::future_status::ready);
    CHECK(notified.get() == true);
}

TEST_CASE("async signal: waits that end on their own leave no waiter behind") {
    // A stream that is quiet for hours waits again and again until its keep-alive deadline.
    Loop loop;
    AsyncSignal signal;
    for (int i = 0; i < 20; ++i) {
        auto timed_out = boost::asio::co_spawn(loop.io, signal.wait_until([] { return false; }, Clock::now() + 1ms),
                                               boost::asio::use_future);
        CHECK(timed_out.get() == false);
    }
    CHECK(signal.waiters() == 0);
    auto at_once = boost::asio::co_spawn(loop.io, signal.wait_until([] { return true; }, Clock::now() + 1s),
                                         boost::asio::use_future);
    CHECK(at_once.get() == true);
    CHECK(signal.waiters() == 0);
}
