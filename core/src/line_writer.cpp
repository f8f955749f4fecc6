#include <watchgate/core/line_writer.hpp>

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>

#include <spdlog/spdlog.h>

namespace watchgate::core {

namespace asio = boost::asio;

namespace {
// Lines written per system call at most; batching keeps small messages cheap under load.
constexpr std::size_t max_batch = 64;
}  // namespace

LineWriter::LineWriter(asio::any_io_executor executor, int fd)
    : strand_(asio::make_strand(executor)), stream_(strand_, fd) {}

LineWriter::~LineWriter() {
    boost::system::error_code ignored;
    stream_.close(ignored);
}

void LineWriter::write(std::string line) {
    if (broken_) return;
    line += '\n';
    asio::post(strand_, [self = shared_from_this(), line = std::move(line)]() mutable {
        if (self->broken_) return;
        self->queue_.push_back(std::move(line));
        if (!self->writing_) self->start_write();
    });
}

void LineWriter::when_drained(std::function<void()> done) {
    asio::post(strand_, [self = shared_from_this(), done = std::move(done)]() mutable {
        if (!self->writing_ || self->broken_) done();
        else self->drained_.push_back(std::move(done));
    });
}

void LineWriter::close_when_drained() {
    asio::post(strand_, [self = shared_from_this()] {
        self->close_after_ = true;
        if (!self->writing_) {
            boost::system::error_code ignored;
            self->stream_.close(ignored);
        }
    });
}

void LineWriter::start_write() {
    writing_ = true;
    const std::size_t count = std::min(queue_.size(), max_batch);
    std::vector<asio::const_buffer> buffers;
    buffers.reserve(count);
    for (std::size_t i = 0; i < count; ++i) buffers.push_back(asio::buffer(queue_[i]));
    asio::async_write(stream_, buffers,
                      asio::bind_executor(strand_, [self = shared_from_this(), count](boost::system::error_code error,
                                                                                      std::size_t) {
                          if (error) {
                              if (!self->broken_) spdlog::debug("write failed: {}", error.message());
                              self->broken_ = true;
                              self->queue_.clear();
                          } else {
                              self->queue_.erase(self->queue_.begin(),
                                                 self->queue_.begin() + static_cast<std::ptrdiff_t>(count));
                          }
                          if (!self->queue_.empty()) return self->start_write();
                          self->writing_ = false;
                          for (auto& done : std::exchange(self->drained_, {})) done();
                          if (self->close_after_) {
                              boost::system::error_code ignored;
                              self->stream_.close(ignored);
                          }
                      }));
}

}  // namespace watchgate::core
