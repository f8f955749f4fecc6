#pragma once
// Reads newline-delimited lines from a pipe or socket until end of stream. Waits for readability,
// then reads once: no speculative read per message that would only answer EAGAIN.

#include <watchgate/core/base/line_splitter.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <unistd.h>

#include <cerrno>
#include <functional>
#include <string>
#include <vector>

namespace watchgate::core {

// Calls on_line(std::string) per line and on_oversize(const OversizeLine&) per line over
// `max_size`; returns at end of stream, on a read error, or when keep_going() turns false.
// `before_read`, when given, is awaited before every read: flow control pauses reading there
// while what the lines feed is full, so the writer on the other side is pushed back.
template <class OnLine, class OnOversize, class KeepGoing>
boost::asio::awaitable<void> read_lines(boost::asio::posix::stream_descriptor& stream, std::size_t max_size,
                                        std::size_t chunk, OnLine on_line, OnOversize on_oversize, KeepGoing keep_going,
                                        std::function<boost::asio::awaitable<void>()> before_read = {}) {
    LineSplitter splitter(max_size);
    std::vector<char> buffer(chunk);
    while (keep_going()) {
        if (before_read) {
            co_await before_read();
            if (!keep_going()) co_return;
        }
        boost::system::error_code error;
        co_await stream.async_wait(boost::asio::posix::stream_descriptor::wait_read,
                                   boost::asio::redirect_error(boost::asio::use_awaitable, error));
        if (error) co_return;
        for (;;) {
            ssize_t n = ::read(stream.native_handle(), buffer.data(), buffer.size());
            if (n < 0 && errno == EINTR) continue;
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;  // spurious wake-up
            if (n <= 0) {                                                   // end of stream or error
                splitter.finish(on_line, on_oversize);
                co_return;
            }
            splitter.feed(std::string_view(buffer.data(), static_cast<std::size_t>(n)), on_line, on_oversize);
            // A full buffer may mean more is waiting; a short read drained the pipe.
            // With flow control, every read passes the gate first.
            if (static_cast<std::size_t>(n) < buffer.size() || !keep_going() || before_read) break;
        }
    }
}

}  // namespace watchgate::core
