#pragma once
// Writes whole lines to a stream, in order, never interleaved. A line goes out at once with one
// non-blocking write when nothing is queued (no thread hop on the hot path); what the stream
// cannot take yet is queued and flushed when it becomes writable. Any thread may call write().

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>

#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace watchgate::core {

class LineWriter : public std::enable_shared_from_this<LineWriter> {
public:
    LineWriter(boost::asio::any_io_executor executor, int fd);
    ~LineWriter();

    // Writes `line` plus "\n". Dropped when the stream is broken or closed.
    void write(std::string line);
    // Calls `done` once everything queued so far is written (or the stream broke).
    void when_drained(std::function<void()> done);
    // Closes the stream once the queue is drained.
    void close_when_drained();
    bool broken() const;

private:
    void flush_locked();  // writes what the stream takes now; arms a wait for the rest
    void close_locked();

    mutable std::mutex mutex_;
    boost::asio::posix::stream_descriptor stream_;
    std::deque<std::string> queue_;
    std::size_t offset_ = 0;  // bytes of queue_.front() already written
    std::vector<std::function<void()>> drained_;
    bool waiting_ = false;  // an async wait for writability is armed
    bool close_after_ = false;
    bool closed_ = false;
    bool broken_ = false;
};

}  // namespace watchgate::core
