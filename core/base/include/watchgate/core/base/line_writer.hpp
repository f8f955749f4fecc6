#pragma once
// Writes whole lines to a stream, in order, never interleaved. A line goes out at once with one
// non-blocking write when nothing is queued (no thread hop on the hot path); what the stream
// cannot take yet is queued and flushed when it becomes writable. Any thread may call write().
//
// Flow control: the queue is bounded by its feeders, not by refusing lines. Whoever feeds the
// stream waits for has_room() before reading more input, so a reader that stops reading pushes
// back to the producer instead of growing the gateway. A stream that takes no byte for
// `stall_timeout` while lines wait is treated as failed: it breaks, and on_stalled is called.

#include <watchgate/core/base/async_signal.hpp>
#include <watchgate/core/base/stream_limits.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace watchgate::core {

class LineWriter : public std::enable_shared_from_this<LineWriter> {
public:
    // Identifies a written line while it waits in the queue; 0 for a line that was dropped.
    using Ticket = std::uint64_t;

    LineWriter(boost::asio::any_io_executor executor, int fd, StreamLimits limits = {},
               std::function<void()> on_stalled = {});
    ~LineWriter();

    // Writes `line` plus "\n". Dropped when the stream is broken or closed.
    Ticket write(std::string line);
    // Takes back a line no byte of which was written yet (its request timed out or was cancelled).
    bool withdraw(Ticket ticket);
    // Whether feeders may go on: fewer than max_queued bytes wait (or the stream is gone and
    // nothing will ever wait again).
    bool has_room() const;
    // Returns once has_room() holds.
    boost::asio::awaitable<void> wait_for_room();
    std::size_t queued_bytes() const;
    // Calls `done` once everything queued so far is written (or the stream broke).
    void when_drained(std::function<void()> done);
    // Closes the stream once the queue is drained.
    void close_when_drained();
    bool broken() const;

private:
    struct Line {
        Ticket ticket;
        std::string bytes;
    };
    void flush_locked();  // writes what the stream takes now; arms a wait for the rest
    void close_locked();
    void arm_stall_timer_locked(std::chrono::steady_clock::duration after);
    void on_stall_timer();
    void drop_queue_locked();
    void notify_room_later();

    mutable std::mutex mutex_;
    boost::asio::posix::stream_descriptor stream_;
    boost::asio::steady_timer stall_timer_;
    StreamLimits limits_;
    std::function<void()> on_stalled_;
    std::deque<Line> queue_;
    std::size_t queued_bytes_ = 0;
    std::size_t offset_ = 0;  // bytes of queue_.front() already written
    Ticket next_ticket_ = 1;
    std::chrono::steady_clock::time_point last_progress_;
    std::vector<std::function<void()>> drained_;
    AsyncSignal room_;
    bool waiting_ = false;  // an async wait for writability is armed
    bool stall_armed_ = false;
    bool close_after_ = false;
    bool closed_ = false;
    bool broken_ = false;
};

}  // namespace watchgate::core
