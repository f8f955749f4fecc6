#pragma once
// One upstream MCP server as a client of it: its transport (made afresh at every start), the
// handshake, admission limits (max_in_flight), restarts, and send_and_receive over its RpcChannel
// (upstream-local ids, requests in flight, timeouts, cancellation; docs/architecture.md
// "Concurrency"). The caller restores the client's id.

#include <watchgate/core/base/async_signal.hpp>
#include <watchgate/core/base/deadline_timer.hpp>
#include <watchgate/core/config/config.hpp>
#include <watchgate/core/upstream/rpc_channel.hpp>
#include <watchgate/core/upstream/upstream_transport.hpp>
#include <watchgate/core/protocol/error_codes.hpp>
#include <watchgate/core/protocol/message.hpp>
#include <watchgate/core/protocol/versions.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/experimental/concurrent_channel.hpp>

#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace watchgate::core {

struct UpstreamCounters {
    std::uint64_t in_flight = 0;
    std::uint64_t most_in_flight = 0;
    std::uint64_t total = 0;
    std::uint64_t timeouts = 0;
    std::uint64_t rejections = 0;
    std::uint64_t failures = 0;  // answered with an error because the upstream exited
    std::uint64_t restarts = 0;
};

class Upstream : public std::enable_shared_from_this<Upstream> {
public:
    enum class State { stopped, starting, ready, restarting, failed, stopping };

    // Requests and notifications the server sends (server -> client traffic).
    using MessageHandler = std::function<void(Upstream&, Message)>;
    // Called after every successful (re)initialize.
    using ReadyHandler = std::function<void(Upstream&)>;
    // Awaited before every read of the upstream's stdout: pauses reading while what it feeds is full.
    using ReadGate = std::function<boost::asio::awaitable<void>()>;

    // `executor` runs the upstream's timers and handlers, never plugin code; `transports` makes
    // the transport for each start (a child process unless a test gives an in-memory one).
    Upstream(boost::asio::any_io_executor executor, UpstreamConfig config, std::size_t max_message_size,
             UpstreamTransportFactory transports, MessageHandler on_message, ReadyHandler on_ready = {},
             ReadGate before_read = {});
    ~Upstream();

    const std::string& name() const { return config_.name; }
    const UpstreamConfig& config() const { return config_; }
    State state() const { return state_; }
    // Whether it was ever initialized (ready) since the gateway started.
    bool ever_ready() const { return ever_ready_; }
    UpstreamCounters counters() const;
    // The upstream's initialize result (capabilities, serverInfo, ...), null before. For a
    // stateless-era upstream, its server/discover result in the same shape.
    nlohmann::json initialize_result() const;
    // The protocol version agreed at its initialize (or discover); empty before.
    std::string protocol_version() const;
    // The era it speaks, learned at connect: probed with server/discover, else initialize.
    ProtocolEra era() const { return era_; }
    // A stateless upstream sends list changes and resource updates only on a subscriptions/listen
    // request: the gateway keeps one open, for the lists it offers and the resources subscribed
    // through it (counted: as many unsubscribes end one). Returns why it cannot, empty when done.
    std::string subscribe_resource(const std::string& uri, bool subscribe);
    // Whether it offered `capability` when it initialized; true before it has (unknown yet).
    bool may_offer(std::string_view capability) const;

    // Starts the server (if not running) and initializes it with `initialize_params`, kept for
    // restarts. Returns an error text, empty on success.
    boost::asio::awaitable<std::string> connect(nlohmann::json initialize_params);
    // Starts the server only, the first time (a process's stderr reaches the log from the start).
    void spawn();

    // Sends `request` (its id replaced by an upstream-local one) and waits for the response, the
    // request timeout, a cancellation through `handle`, or the upstream's exit.
    // `deadline`, when given, replaces the one the request timeout would set (the gateway counts
    // a request's time from its arrival).
    boost::asio::awaitable<UpstreamReply> send_and_receive(
        Message& request, std::shared_ptr<CallHandle> handle = {},
        std::optional<std::chrono::steady_clock::time_point> deadline = std::nullopt);
    // Forwards a notification, or an answer to a server -> client request.
    void send(const Message& message);
    void send_json(const nlohmann::json& message);

    // Returns once the upstream's input queue has room (at once when no server runs).
    boost::asio::awaitable<void> wait_for_room();
    bool has_room() const;

    // Stops the server: input closed, then SIGTERM, then SIGKILL, each after `grace`.
    boost::asio::awaitable<void> stop(std::chrono::milliseconds grace);

private:
    using SlotChannel = boost::asio::experimental::concurrent_channel<void(boost::system::error_code)>;

    struct SlotWaiter {
        std::shared_ptr<SlotChannel> channel;
        std::chrono::steady_clock::time_point deadline;
    };

    // Caller holds mutex_. Returns the backoff when the start failed and a restart is planned:
    // the caller schedules it after releasing the lock.
    std::optional<std::chrono::steady_clock::duration> start_transport_locked();
    void schedule_restart(std::chrono::steady_clock::duration backoff);
    // Caller holds mutex_. After an exit or a failed start: restarting (returns the backoff) or
    // failed, by the restart budget.
    std::optional<std::chrono::steady_clock::duration> plan_restart_locked();
    boost::asio::awaitable<void> restart_after(std::shared_ptr<Upstream> self,
                                               std::chrono::steady_clock::duration backoff);
    void on_line(std::string line);
    void on_oversize(const OversizeLine& line);
    // The transport `down` went away: requests there fail, and the restart policy decides.
    void on_down(const std::shared_ptr<UpstreamTransport>& down, const std::string& how);
    boost::asio::awaitable<std::string> initialize();
    // Replaces the open subscriptions/listen (stateless era) with one for what is wanted now.
    void listen_again();
    static boost::asio::awaitable<void> hold_listen(std::shared_ptr<Upstream> self, std::shared_ptr<CallHandle> handle,
                                                    Message request);
    boost::asio::awaitable<std::optional<UpstreamReply>> acquire_slot(std::chrono::steady_clock::time_point deadline);
    void release_slot();
    // Expires slot waiters past their deadline; returns the next deadline.
    std::optional<std::chrono::steady_clock::time_point> expire(std::chrono::steady_clock::time_point now);
    void watch_deadline_locked(std::chrono::steady_clock::time_point deadline);  // caller holds mutex_
    std::string unavailable_reason() const;                                      // takes the lock
    std::string unavailable_reason_locked() const;                               // caller holds mutex_

    boost::asio::any_io_executor executor_;
    UpstreamConfig config_;
    std::size_t max_message_size_;
    StreamLimits streams_;
    MessageHandler on_message_;
    ReadyHandler on_ready_;
    ReadGate before_read_;
    UpstreamTransportFactory transports_;
    std::shared_ptr<RpcChannel> rpc_;
    // Wakes waiters when the state changes or an initialize ends (connect, stop).
    AsyncSignal state_changed_;
    MetricSeries& bytes_received_;  // watchgate_upstream_bytes_total{direction="received"}
    MetricSeries& queue_wait_;      // watchgate_upstream_queue_wait_seconds

    mutable std::mutex mutex_;  // guards everything below
    std::atomic<State> state_{State::stopped};
    std::atomic<bool> ever_ready_{false};
    std::atomic<ProtocolEra> era_{ProtocolEra::session};
    std::string protocol_version_;        // of initialize_result_, kept apart: read on every stateless request
    std::shared_ptr<CallHandle> listen_;  // the open subscriptions/listen, if any
    std::map<std::string, int> subscribed_resources_;  // URI -> how many subscribed it
    // Notifications and requests handed to on_message so far (answers are stamped with it).
    std::atomic<std::uint64_t> messages_passed_on_{0};
    std::shared_ptr<UpstreamTransport> transport_;
    std::uint64_t in_flight_ = 0;
    std::deque<SlotWaiter> slot_waiters_;
    // One timer for every slot waiter; armed only while one waits.
    std::shared_ptr<DeadlineTimer> deadlines_;
    UpstreamCounters counters_;
    nlohmann::json initialize_params_;
    nlohmann::json initialize_result_;
    std::string last_exit_;
    int restart_attempts_ = 0;
    bool initializing_ = false;  // an initialize is on its way: others wait for it
    std::chrono::steady_clock::time_point ready_since_;
};

}  // namespace watchgate::core
