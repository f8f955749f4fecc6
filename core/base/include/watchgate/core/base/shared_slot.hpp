#pragma once
// A shared_ptr that one thread replaces while others read it (the gateway's snapshot, a session's
// view). A short mutex rather than std::atomic<std::shared_ptr>: libstdc++ 12 builds that on a
// lock bit inside the pointer, which the thread sanitizer cannot see and reports as a race.

#include <memory>
#include <mutex>
#include <utility>

namespace watchgate::core {

template <class T>
class SharedSlot {
public:
    SharedSlot() = default;
    explicit SharedSlot(std::shared_ptr<T> value) : value_(std::move(value)) {}

    std::shared_ptr<T> load() const {
        std::lock_guard lock(mutex_);
        return value_;
    }
    void store(std::shared_ptr<T> value) { exchange(std::move(value)); }
    // Puts `value` in place; returns what was there (released by the caller, outside the lock).
    std::shared_ptr<T> exchange(std::shared_ptr<T> value) {
        std::lock_guard lock(mutex_);
        std::swap(value_, value);
        return value;
    }

private:
    mutable std::mutex mutex_;
    std::shared_ptr<T> value_;
};

}  // namespace watchgate::core
