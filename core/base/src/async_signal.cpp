#include <watchgate/core/base/async_signal.hpp>

#include <boost/asio/experimental/concurrent_channel.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <future>

namespace watchgate::core {

namespace asio = boost::asio;
using Channel = asio::experimental::concurrent_channel<void(boost::system::error_code)>;

struct AsyncSignal::Waiter {
    Channel channel;
    explicit Waiter(asio::any_io_executor executor) : channel(std::move(executor), 1) {}
};

asio::awaitable<void> AsyncSignal::wait_until(std::function<bool()> ready) {
    while (!ready()) {
        // Registered before the second check: a notify between the check and the wait is kept
        // by the channel's one buffered message, so no wake-up is lost.
        auto waiter = std::make_shared<Waiter>(co_await asio::this_coro::executor);
        {
            std::lock_guard lock(mutex_);
            waiters_.push_back(waiter);
        }
        if (ready()) {
            forget(waiter);
            co_return;
        }
        co_await waiter->channel.async_receive(asio::use_awaitable);
    }
}

void AsyncSignal::forget(const std::shared_ptr<Waiter>& waiter) {
    // A waiter that stopped waiting on its own (ready at once, or its deadline) would otherwise
    // stay until the next notify: on a quiet signal, one more per wait.
    std::lock_guard lock(mutex_);
    std::erase(waiters_, waiter);
}

asio::awaitable<bool> AsyncSignal::wait_until(std::function<bool()> ready,
                                              std::chrono::steady_clock::time_point deadline) {
    const auto executor = co_await asio::this_coro::executor;
    while (!ready()) {
        if (std::chrono::steady_clock::now() >= deadline) co_return false;
        auto waiter = std::make_shared<Waiter>(executor);
        {
            std::lock_guard lock(mutex_);
            waiters_.push_back(waiter);
        }
        if (ready()) {
            forget(waiter);
            co_return true;
        }
        // The deadline wakes the waiter the way a notify would; the loop then sees the time is up.
        asio::steady_timer timer(executor, deadline);
        timer.async_wait([weak = std::weak_ptr<Waiter>(waiter)](const boost::system::error_code& error) {
            if (auto woken = weak.lock(); woken && !error) woken->channel.try_send(boost::system::error_code());
        });
        co_await waiter->channel.async_receive(asio::use_awaitable);
        timer.cancel();
        forget(waiter);  // woken by the deadline: still registered
    }
    co_return true;
}

std::size_t AsyncSignal::waiters() const {
    std::lock_guard lock(mutex_);
    return waiters_.size();
}

void AsyncSignal::notify_all() {
    std::vector<std::shared_ptr<Waiter>> woken;
    {
        std::lock_guard lock(mutex_);
        if (waiters_.empty()) return;
        woken.swap(waiters_);
    }
    for (auto& waiter : woken) waiter->channel.try_send(boost::system::error_code());
}

struct AsyncMutex::Waiter {
    std::unique_ptr<Channel> channel;            // a suspended coroutine
    std::unique_ptr<std::promise<void>> thread;  // a blocked thread
};

asio::awaitable<AsyncMutex::Guard> AsyncMutex::lock_async() {
    auto executor = co_await asio::this_coro::executor;
    std::shared_ptr<Waiter> waiter;
    {
        std::lock_guard lock(mutex_);
        if (!locked_) {
            locked_ = true;
            co_return Guard(this);
        }
        waiter = std::make_shared<Waiter>();
        waiter->channel = std::make_unique<Channel>(executor, 1);
        waiters_.push_back(waiter);
    }
    co_await waiter->channel->async_receive(asio::use_awaitable);  // handed over by unlock()
    co_return Guard(this);
}

AsyncMutex::Guard AsyncMutex::lock() {
    std::future<void> handed_over;
    {
        std::lock_guard lock(mutex_);
        if (!locked_) {
            locked_ = true;
            return Guard(this);
        }
        auto waiter = std::make_shared<Waiter>();
        waiter->thread = std::make_unique<std::promise<void>>();
        handed_over = waiter->thread->get_future();
        waiters_.push_back(std::move(waiter));
    }
    handed_over.wait();
    return Guard(this);
}

void AsyncMutex::unlock() {
    std::shared_ptr<Waiter> next;
    {
        std::lock_guard lock(mutex_);
        if (waiters_.empty()) {
            locked_ = false;
            return;
        }
        next = std::move(waiters_.front());  // stays locked: ownership passes to `next`
        waiters_.pop_front();
    }
    if (next->channel)
        next->channel->try_send(boost::system::error_code());
    else
        next->thread->set_value();
}

}  // namespace watchgate::core
