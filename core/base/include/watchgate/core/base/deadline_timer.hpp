#pragma once
// One timer for any number of deadlines: it fires when the earliest deadline it was told about
// passes, and the owner's `expire` handles what is due and names the next deadline. Armed only
// while something waits, so neither a timer per request nor a polling loop.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>

namespace watchgate::core {

class DeadlineTimer : public std::enable_shared_from_this<DeadlineTimer> {
public:
    using Clock = std::chrono::steady_clock;
    // Handles what is due at `now`; returns the earliest deadline still waiting, if any. Called
    // on the timer's executor without the timer's lock held, so it may call watch().
    using Expire = std::function<std::optional<Clock::time_point>(Clock::time_point now)>;

    static std::shared_ptr<DeadlineTimer> create(boost::asio::any_io_executor executor, Expire expire);

    // Makes sure the timer fires no later than `deadline`. Any thread; cheap when an earlier or
    // equal deadline is already armed (the usual case: requests with one timeout arrive in order).
    void watch(Clock::time_point deadline);
    // Disarms the timer; `expire` is not called again until the next watch().
    void stop();

private:
    DeadlineTimer(boost::asio::any_io_executor executor, Expire expire);
    void arm_locked(Clock::time_point deadline);
    void on_fire(std::uint64_t generation);

    std::mutex mutex_;
    boost::asio::steady_timer timer_;
    Expire expire_;
    std::optional<Clock::time_point> armed_;
    std::uint64_t generation_ = 0;  // a wait from before the last re-arm is stale
};

}  // namespace watchgate::core
