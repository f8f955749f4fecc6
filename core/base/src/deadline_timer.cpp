#include <watchgate/core/base/deadline_timer.hpp>

namespace watchgate::core {

std::shared_ptr<DeadlineTimer> DeadlineTimer::create(boost::asio::any_io_executor executor, Expire expire) {
    return std::shared_ptr<DeadlineTimer>(new DeadlineTimer(std::move(executor), std::move(expire)));
}

DeadlineTimer::DeadlineTimer(boost::asio::any_io_executor executor, Expire expire)
    : timer_(std::move(executor)), expire_(std::move(expire)) {}

void DeadlineTimer::watch(Clock::time_point deadline) {
    std::lock_guard lock(mutex_);
    if (armed_ && *armed_ <= deadline) return;
    arm_locked(deadline);
}

void DeadlineTimer::stop() {
    std::lock_guard lock(mutex_);
    armed_.reset();
    ++generation_;
    timer_.cancel();
}

void DeadlineTimer::arm_locked(Clock::time_point deadline) {
    armed_ = deadline;
    const auto generation = ++generation_;
    timer_.expires_at(deadline);  // cancels a wait already armed: its handler sees a stale generation
    timer_.async_wait([weak = weak_from_this(), generation](const boost::system::error_code&) {
        if (auto self = weak.lock()) self->on_fire(generation);
    });
}

void DeadlineTimer::on_fire(std::uint64_t generation) {
    {
        std::lock_guard lock(mutex_);
        if (generation != generation_) return;
        armed_.reset();
    }
    if (auto next = expire_(Clock::now())) watch(*next);
}

}  // namespace watchgate::core
