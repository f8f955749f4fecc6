#pragma once
// JSON-RPC over one upstream's transport: upstream-local ids, the requests waiting for their
// answers, their deadlines (one DeadlineTimer for all), cancellation, and failing every waiting
// request at once when the transport goes away. Knows nothing of the handshake, restarts or
// admission limits (Upstream).

#include <watchgate/core/base/deadline_timer.hpp>
#include <watchgate/core/base/metrics.hpp>
#include <watchgate/core/protocol/message.hpp>
#include <watchgate/core/upstream/upstream_transport.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/experimental/concurrent_channel.hpp>

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

namespace watchgate::core {

// The bytes of JSON-RPC lines an upstream was sent or sent back (`direction`: "sent", "received"),
// watchgate_upstream_bytes_total on the admin endpoint.
MetricSeries& upstream_bytes_metric(const std::string& upstream, const char* direction);

// What a call yields: the upstream's response, or an error the gateway made.
struct UpstreamReply {
    std::optional<Message> response;
    // How many of its own messages (notifications, requests) the upstream had sent before this
    // answer: what came before it reaches the client before it (Gateway::wait_for_messages).
    std::uint64_t messages_before = 0;
    int error_code = 0;
    std::string error_message;
};

// Lets the gateway cancel a request in flight (client notifications/cancelled, shutdown).
class CallHandle {
public:
    // Cancels the call: the upstream is told (notifications/cancelled) and the waiter answered.
    void cancel(std::string reason);
    std::optional<std::int64_t> upstream_id() const;

private:
    friend class RpcChannel;
    mutable std::mutex mutex_;
    std::weak_ptr<class RpcChannel> channel_;
    std::optional<std::int64_t> upstream_id_;
    std::optional<std::string> cancelled_;  // cancelled before it was sent
};

class RpcChannel : public std::enable_shared_from_this<RpcChannel> {
public:
    using Clock = std::chrono::steady_clock;

    static std::shared_ptr<RpcChannel> create(boost::asio::any_io_executor executor, std::string upstream_name);

    // Where requests go from now on; null while no server runs (calls then fail at once).
    void attach(std::shared_ptr<UpstreamTransport> transport);

    // Sends `request` under a fresh upstream id (set on it) and waits for its answer, `deadline`
    // (`timeout` names it in the error), a cancellation through `handle`, or fail_all(). Yields
    // nullopt at once when no transport is attached.
    boost::asio::awaitable<std::optional<UpstreamReply>> call(Message& request, std::shared_ptr<CallHandle> handle,
                                                              Clock::time_point deadline,
                                                              std::chrono::milliseconds timeout);
    // A notification or an answer to a server -> client request; dropped while no server runs.
    void send(std::string line);
    // A response from the upstream: to the request waiting for it (a late one is dropped).
    void deliver(Message response, std::uint64_t messages_before = 0);
    // An answer the gateway could not use: its request (when its id could be read) fails at once.
    void refuse_answer(const nlohmann::json& id, const std::string& why);
    // Every waiting request fails with `code` and `message`; returns how many.
    std::size_t fail_all(int code, const std::string& message);
    // Answers the request `id` with an error; false when it no longer waits.
    bool fail(std::int64_t id, int code, const std::string& message);
    bool awaiting(std::int64_t id) const;
    // Requests that timed out so far.
    std::uint64_t timeouts() const;

private:
    using ReplyChannel = boost::asio::experimental::concurrent_channel<void(boost::system::error_code, UpstreamReply)>;
    friend class CallHandle;

    struct Pending {
        std::shared_ptr<ReplyChannel> reply;
        Clock::time_point deadline;
        std::chrono::milliseconds timeout;
        std::weak_ptr<UpstreamTransport> transport;  // where the request waits to be written
        UpstreamTransport::Ticket ticket = 0;
    };

    RpcChannel(boost::asio::any_io_executor executor, std::string upstream_name);
    bool cancel(std::int64_t upstream_id, const std::string& reason);
    // The request's line is taken back when the upstream has not seen a byte of it yet; else
    // the upstream is told that it is cancelled.
    void abandon(std::int64_t upstream_id, const Pending& pending, const std::string& reason);
    std::optional<Clock::time_point> expire(Clock::time_point now);

    boost::asio::any_io_executor executor_;
    std::string name_;
    MetricSeries& bytes_sent_;
    std::shared_ptr<DeadlineTimer> deadlines_;

    mutable std::mutex mutex_;  // guards everything below
    std::shared_ptr<UpstreamTransport> transport_;
    std::map<std::int64_t, Pending> pending_;
    std::int64_t next_id_ = 1;
    std::uint64_t timeouts_ = 0;
};

}  // namespace watchgate::core
