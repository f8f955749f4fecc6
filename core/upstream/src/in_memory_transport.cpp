#include <watchgate/core/upstream/in_memory_transport.hpp>

#include <boost/asio/post.hpp>

namespace watchgate::core {

namespace asio = boost::asio;

InMemoryTransport::InMemoryTransport(asio::any_io_executor executor, std::function<void(std::string)> to_server)
    : strand_(asio::make_strand(std::move(executor))), to_server_(std::move(to_server)) {}

void InMemoryTransport::start(Handlers handlers) { handlers_ = std::move(handlers); }

UpstreamTransport::Ticket InMemoryTransport::send(std::string line) {
    if (down_) return 0;
    asio::post(strand_, [self = shared_from_this(), line = std::move(line)]() mutable {
        if (!self->down_) self->to_server_(std::move(line));
    });
    return next_ticket_++;
}

asio::awaitable<void> InMemoryTransport::wait_for_room() { co_return; }

void InMemoryTransport::deliver(std::string line) {
    if (down_) return;
    // Posted before any go_down: the strand runs it before on_down.
    asio::post(strand_, [self = shared_from_this(), line = std::move(line)]() mutable {
        if (self->handlers_.on_line) self->handlers_.on_line(std::move(line));
    });
}

void InMemoryTransport::go_down(std::string how) {
    if (down_.exchange(true)) return;
    // After every line delivered before it, as a process's exit follows its last output.
    asio::post(strand_, [self = shared_from_this(), how = std::move(how)]() mutable {
        if (self->handlers_.on_down) self->handlers_.on_down(std::move(how));
    });
}

}  // namespace watchgate::core
