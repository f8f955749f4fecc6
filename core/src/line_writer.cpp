#include <watchgate/core/line_writer.hpp>

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

namespace {
constexpr std::size_t max_batch = 64;  // lines per writev
}  // namespace

LineWriter::LineWriter(asio::any_io_executor executor, int fd) : stream_(executor, fd) {
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

void LineWriter::write(std::string line) {
    line += '\n';
    std::lock_guard lock(mutex_);
    if (broken_ || closed_) return;
    queue_.push_back(std::move(line));
    if (!waiting_) flush_locked();
}

void LineWriter::flush_locked() {
    while (!queue_.empty()) {
        iovec parts[max_batch];
        const std::size_t count = std::min(queue_.size(), max_batch);
        for (std::size_t i = 0; i < count; ++i) {
            const std::size_t skip = i == 0 ? offset_ : 0;
            parts[i].iov_base = queue_[i].data() + skip;
            parts[i].iov_len = queue_[i].size() - skip;
        }
        ssize_t written = ::writev(stream_.native_handle(), parts, static_cast<int>(count));
        if (written < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) break;
            spdlog::debug("write failed: {}", std::strerror(errno));
            broken_ = true;
            queue_.clear();
            break;
        }
        auto left = static_cast<std::size_t>(written);
        while (left > 0) {
            const std::size_t rest = queue_.front().size() - offset_;
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
    if (!queue_.empty()) {
        // The reader is slower than we are: wait until the stream can take more.
        waiting_ = true;
        stream_.async_wait(asio::posix::stream_descriptor::wait_write,
                           [self = shared_from_this()](boost::system::error_code error) {
                               std::lock_guard lock(self->mutex_);
                               self->waiting_ = false;
                               if (error) {
                                   self->broken_ = true;
                                   self->queue_.clear();
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
    if (close_after_) close_locked();
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
    if (queue_.empty()) close_locked();
}

void LineWriter::close_locked() {
    if (closed_) return;
    closed_ = true;
    boost::system::error_code ignored;
    stream_.close(ignored);
}

}  // namespace watchgate::core
