#pragma once
// Writes whole lines to a stream, in order, never interleaved: a queue drained by one write at a
// time on a strand. Any thread may call write().

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/strand.hpp>

#include <atomic>
#include <deque>
#include <functional>
#include <memory>
#include <string>

namespace watchgate::core {

class LineWriter : public std::enable_shared_from_this<LineWriter> {
public:
    LineWriter(boost::asio::any_io_executor executor, int fd);
    ~LineWriter();

    // Queues `line` plus "\n". Dropped when the stream is broken or closed.
    void write(std::string line);
    // Calls `done` once everything queued so far is written (or the stream broke).
    void when_drained(std::function<void()> done);
    // Closes the stream once the queue is drained.
    void close_when_drained();
    bool broken() const { return broken_; }

private:
    void start_write();

    boost::asio::strand<boost::asio::any_io_executor> strand_;
    boost::asio::posix::stream_descriptor stream_;
    std::deque<std::string> queue_;
    std::vector<std::function<void()>> drained_;
    bool writing_ = false;
    bool close_after_ = false;
    std::atomic<bool> broken_{false};
};

}  // namespace watchgate::core
