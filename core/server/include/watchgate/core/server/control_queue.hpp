#pragma once
// The control thread's work queue: plugin instances are made there and the ABI promises `reopen`
// there (docs/plugin-abi.md "Threads"), so signal handlers and listeners hand it their work.
// Shared by whoever may outlive the runtime's frame (a reader thread blocked in read()).

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>

namespace watchgate::core {

class ControlQueue {
public:
    // Asks run() to return. Any thread; the first call counts.
    void request_stop() {
        {
            std::lock_guard lock(mutex_);
            if (stopping_.exchange(true)) return;
        }
        wake_.notify_all();
    }
    bool stopping() const { return stopping_; }
    // Runs `task` on the control thread. Any thread.
    void post(std::function<void()> task) {
        {
            std::lock_guard lock(mutex_);
            tasks_.push_back(std::move(task));
        }
        wake_.notify_all();
    }
    // Runs what other threads post until a stop is requested.
    void run() {
        std::unique_lock lock(mutex_);
        for (;;) {
            wake_.wait(lock, [&] { return stopping_ || !tasks_.empty(); });
            if (stopping_) return;
            auto task = std::move(tasks_.front());
            tasks_.pop_front();
            lock.unlock();
            task();
            lock.lock();
        }
    }

private:
    std::mutex mutex_;
    std::condition_variable wake_;
    std::deque<std::function<void()>> tasks_;
    std::atomic<bool> stopping_{false};
};

}  // namespace watchgate::core
