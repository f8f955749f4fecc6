#pragma once
// Lets coroutines wait, without holding a thread, for a condition that other threads make true.
// Whoever changes what a condition reads calls notify_all(); waiters re-check and go on or wait
// again. Used for flow control: readers pause while the queues they feed are full.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

namespace watchgate::core {

class AsyncSignal {
public:
    // Returns once `ready()` holds. `ready` is called on the waiter's thread and must be cheap.
    boost::asio::awaitable<void> wait_until(std::function<bool()> ready);
    // The same, giving up at `deadline`: true once `ready()` holds, false when the time ran out.
    boost::asio::awaitable<bool> wait_until(std::function<bool()> ready,
                                            std::chrono::steady_clock::time_point deadline);
    // Wakes every waiter to re-check its condition.
    void notify_all();
    // How many waiters are registered (each a coroutine waiting now).
    std::size_t waiters() const;

private:
    struct Waiter;
    void forget(const std::shared_ptr<Waiter>& waiter);
    mutable std::mutex mutex_;
    std::vector<std::shared_ptr<Waiter>> waiters_;
};

// A mutex for coroutines: a coroutine that finds it taken suspends (its thread serves others)
// and is handed the lock in turn. A thread outside any coroutine may take it by blocking.
class AsyncMutex {
public:
    class Guard {
    public:
        Guard() = default;
        explicit Guard(AsyncMutex* owner) : owner_(owner) {}
        Guard(Guard&& other) noexcept : owner_(std::exchange(other.owner_, nullptr)) {}
        Guard& operator=(Guard&& other) noexcept {
            if (this != &other) {
                release();
                owner_ = std::exchange(other.owner_, nullptr);
            }
            return *this;
        }
        ~Guard() { release(); }

    private:
        void release() {
            if (owner_) std::exchange(owner_, nullptr)->unlock();
        }
        AsyncMutex* owner_ = nullptr;
    };

    boost::asio::awaitable<Guard> lock_async();
    Guard lock();  // blocks the calling thread

private:
    struct Waiter;
    void unlock();

    std::mutex mutex_;
    bool locked_ = false;
    std::deque<std::shared_ptr<Waiter>> waiters_;  // in arrival order
};

}  // namespace watchgate::core
