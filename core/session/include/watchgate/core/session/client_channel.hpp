#pragma once
// How answers, notifications and server -> client requests reach one client: a line on stdout
// now, a response stream or the listen stream of Streamable HTTP next.

#include <watchgate/core/base/line_writer.hpp>

#include <boost/asio/awaitable.hpp>

#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace watchgate::core {

// What an outgoing message is to the client's requests, so a transport with a stream per request
// (Streamable HTTP) sends it on that request's stream and the rest on the session's own.
struct Delivery {
    std::string_view request;  // the client request's id as JSON text; empty: related to none
    bool answer = false;       // the one answer to `request`: nothing more follows for it

    static Delivery unrelated() { return {}; }
    static Delivery related_to(std::string_view request) { return {request, false}; }
    static Delivery answer_to(std::string_view request) { return {request, true}; }
};

class ClientChannel {
public:
    virtual ~ClientChannel() = default;
    // One whole message (JSON text, no newline). Any thread.
    virtual void send(std::string message, Delivery delivery) = 0;
    // Whether what waits to reach the client is below its limit, and a wait until it is: an
    // upstream that feeds only this client pauses meanwhile (a shared one does not wait for one
    // client: Gateway::wait_for_upstream_input_room).
    virtual bool has_room() const = 0;
    virtual boost::asio::awaitable<void> wait_for_room() = 0;
    // The same wait, ended early once `or_when` holds (looked at again on each wake()).
    virtual boost::asio::awaitable<void> wait_for_room_or(std::function<bool()> or_when) {
        (void)or_when;  // a channel that is never woken ends its wait on room alone
        return wait_for_room();
    }
    virtual void wake() {}
};

// A client that takes lines: stdio, `watchgate call`, tests. `writer`, when the sink writes
// through one, gives flow control; without it the channel always has room.
class StdioChannel : public ClientChannel {
public:
    explicit StdioChannel(std::function<void(std::string)> sink, std::shared_ptr<LineWriter> writer = nullptr)
        : sink_(std::move(sink)), writer_(std::move(writer)) {}

    void send(std::string message, Delivery) override { sink_(std::move(message)); }
    bool has_room() const override { return !writer_ || writer_->has_room(); }
    boost::asio::awaitable<void> wait_for_room() override {
        if (writer_) co_await writer_->wait_for_room();
    }

private:
    std::function<void(std::string)> sink_;
    std::shared_ptr<LineWriter> writer_;
};

}  // namespace watchgate::core
