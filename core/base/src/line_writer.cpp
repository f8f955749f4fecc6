#include <watchgate/core/base/line_writer.hpp>

#include <boost/asio/post.hpp>

#include <spdlog/spdlog.h>

#include <fcntl.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace watchgate::core {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

namespace {
constexpr std::size_t max_batch = 64;  // lines per writev
}  // namespace

LineWriter::LineWriter(asio::any_io_executor executor, int fd, StreamLimits limits, std::function<void()> on_stalled)
    : stream_(executor, fd), stall_timer_(executor), limits_(limits), on_stalled_(std::move(on_stalled)) {
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
}

LineWriter::~LineWriter() {
    std::lock_guard lock(mutex_);
    close_locked();
}

bool LineWriter::broken() const {
    std::lock_guard lock(mutex_);
    return broken_;
}

bool LineWriter::has_room() const {
    std::lock_guard lock(mutex_);
    return queued_bytes_ < limits_.max_queued || broken_ || closed_;
}

std::size_t LineWriter::queued_bytes() const {
    std::lock_guard lock(mutex_);
    return queued_bytes_;
}

asio::awaitable<void> LineWriter::wait_for_room() {
    co_await room_.wait_until([this] { return has_room(); });
}

LineWriter::Ticket LineWriter::write(std::string line) {
    line += '\n';
    std::lock_guard lock(mutex_);
    if (broken_ || closed_) return 0;
    const Ticket ticket = next_ticket_++;
    queued_bytes_ += line.size();
    queue_.push_back({ticket, std::move(line)});
    if (!waiting_) flush_locked();
    return ticket;
}

bool LineWriter::withdraw(Ticket ticket) {
    bool room_again = false;
    {
        std::lock_guard lock(mutex_);
        auto it = std::lower_bound(queue_.begin(), queue_.end(), ticket,
                                   [](const Line& line, Ticket t) { return line.ticket < t; });
        if (it == queue_.end() || it->ticket != ticket) return false;
        if (it == queue_.begin() && offset_ > 0) return false;  // partly written: it must go out whole
        const bool was_full = queued_bytes_ >= limits_.max_queued;
        queued_bytes_ -= it->bytes.size();
        queue_.erase(it);
        room_again = was_full && queued_bytes_ < limits_.max_queued;
    }
    if (room_again) room_.notify_all();
    return true;
}

void LineWriter::drop_queue_locked() {
    queue_.clear();
    queued_bytes_ = 0;
    offset_ = 0;
}

void LineWriter::flush_locked() {
    const bool was_full = queued_bytes_ >= limits_.max_queued;
    while (!queue_.empty()) {
        iovec parts[max_batch];
        const std::size_t count = std::min(queue_.size(), max_batch);
        for (std::size_t i = 0; i < count; ++i) {
            const std::size_t skip = i == 0 ? offset_ : 0;
            parts[i].iov_base = queue_[i].bytes.data() + skip;
            parts[i].iov_len = queue_[i].bytes.size() - skip;
        }
        ssize_t written = ::writev(stream_.native_handle(), parts, static_cast<int>(count));
        if (written < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) break;
            spdlog::debug("write failed: {}", std::strerror(errno));
            broken_ = true;
            drop_queue_locked();
            break;
        }
        last_progress_ = Clock::now();
        auto left = static_cast<std::size_t>(written);
        queued_bytes_ -= left;
        while (left > 0) {
            const std::size_t rest = queue_.front().bytes.size() - offset_;
            if (left < rest) {
                offset_ += left;
                left = 0;
            } else {
                left -= rest;
                offset_ = 0;
                queue_.pop_front();
            }
        }
    }
    if (was_full && (queued_bytes_ < limits_.max_queued || broken_)) notify_room_later();
    if (!queue_.empty()) {
        // The reader is slower than we are: wait until the stream can take more.
        waiting_ = true;
        if (!stall_armed_) {
            last_progress_ = std::max(last_progress_, Clock::now() - std::chrono::milliseconds(1));
            arm_stall_timer_locked(limits_.stall_timeout);
        }
        stream_.async_wait(asio::posix::stream_descriptor::wait_write,
                           [self = shared_from_this()](boost::system::error_code error) {
                               std::lock_guard lock(self->mutex_);
                               self->waiting_ = false;
                               if (self->closed_ || self->broken_) return;
                               if (error) {
                                   self->broken_ = true;
                                   self->drop_queue_locked();
                               }
                               self->flush_locked();
                           });
        return;
    }
    if (!drained_.empty()) {
        // Run after the caller releases the lock: a callback may write again.
        auto callbacks = std::exchange(drained_, {});
        boost::asio::post(stream_.get_executor(), [callbacks = std::move(callbacks)] {
            for (const auto& done : callbacks) done();
        });
    }
    if (close_after_) {
        close_locked();
        notify_room_later();
    }
}

void LineWriter::notify_room_later() {
    // Feeders are woken after the caller releases the lock: they take it to check.
    asio::post(stream_.get_executor(), [self = shared_from_this()] { self->room_.notify_all(); });
}

void LineWriter::arm_stall_timer_locked(Clock::duration after) {
    stall_armed_ = true;
    stall_timer_.expires_after(after);
    stall_timer_.async_wait([weak = weak_from_this()](boost::system::error_code error) {
        if (error) return;
        if (auto self = weak.lock()) self->on_stall_timer();
    });
}

void LineWriter::on_stall_timer() {
    std::function<void()> stalled;
    std::vector<std::function<void()>> drained;
    {
        std::lock_guard lock(mutex_);
        stall_armed_ = false;
        if (!waiting_ || closed_ || broken_ || queue_.empty()) return;
        const auto quiet = Clock::now() - last_progress_;
        if (quiet < limits_.stall_timeout) {
            arm_stall_timer_locked(limits_.stall_timeout - quiet);
            return;
        }
        spdlog::debug("stream took no byte for {} ms with {} bytes waiting: failed", limits_.stall_timeout.count(),
                      queued_bytes_);
        broken_ = true;
        drop_queue_locked();
        boost::system::error_code ignored;
        stream_.cancel(ignored);
        stalled = on_stalled_;
        drained = std::exchange(drained_, {});
    }
    room_.notify_all();
    for (const auto& done : drained) done();
    if (stalled) stalled();
}

void LineWriter::when_drained(std::function<void()> done) {
    std::unique_lock lock(mutex_);
    if (queue_.empty() || broken_) {
        lock.unlock();
        done();
        return;
    }
    drained_.push_back(std::move(done));
}

void LineWriter::close_when_drained() {
    std::lock_guard lock(mutex_);
    close_after_ = true;
    if (queue_.empty()) {
        close_locked();
        notify_room_later();
    }
}

void LineWriter::close_locked() {
    if (closed_) return;
    closed_ = true;
    boost::system::error_code ignored;
    stall_timer_.cancel();
    stream_.close(ignored);
}

}  // namespace watchgate::core
