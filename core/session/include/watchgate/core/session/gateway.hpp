#pragma once
// The gateway session: one client on one side, the upstreams on the other, every message through
// its upstream's plugin pipeline. Transport-free: lines come in through on_client_line and go out
// through the client sink, so stdio, `watchgate call` and tests drive the same code.

#include <watchgate/core/base/async_signal.hpp>
#include <watchgate/core/base/deadline_timer.hpp>
#include <watchgate/core/config/config.hpp>
#include <watchgate/core/base/line_splitter.hpp>
#include <watchgate/core/base/line_writer.hpp>
#include <watchgate/core/pipeline/pipeline.hpp>
#include <watchgate/core/pipeline/plugin_host.hpp>
#include <watchgate/core/session/routing.hpp>
#include <watchgate/core/upstream/upstream.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <nlohmann/json.hpp>

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

namespace watchgate::core {

class Gateway : public std::enable_shared_from_this<Gateway> {
public:
    using ClientSink = std::function<void(std::string line)>;

    // `io` runs reading, writing and timers; `work` runs requests and plugins, so a slow plugin
    // never delays reading. `client_writer`, when the sink writes through one, gives flow
    // control: upstream output pauses while the client does not read. `transports` makes each
    // upstream's transport (child processes unless given: tests pass in-memory ones).
    static std::shared_ptr<Gateway> create(boost::asio::any_io_executor io, boost::asio::any_io_executor work,
                                           GatewayConfig config, std::shared_ptr<PluginHost> plugins, ClientSink sink,
                                           std::shared_ptr<LineWriter> client_writer = nullptr,
                                           UpstreamTransportFactory transports = {});

    // Starts every upstream's process.
    void start();
    // One line from the client. Returns at once: requests run as their own coroutines.
    void on_client_line(std::string line);
    // An oversize line from the client (already discarded): answered with -32600 (with its id
    // when the kept ends of the line show it).
    void on_client_oversize(const OversizeLine& line);
    // Awaited by the client reader before each read: returns once what client input feeds (the
    // client's output, every upstream's input, the requests in flight) has room again.
    boost::asio::awaitable<void> wait_for_client_input_room();
    // A second stop request: the grace period for requests in flight ends now.
    void hurry() {
        hurry_ = true;
        flow_.notify_all();
    }
    // Waits up to the grace period for requests in flight, answers the rest, stops the upstreams.
    boost::asio::awaitable<void> shutdown();

    std::size_t requests_in_flight() const;
    const std::vector<std::shared_ptr<Upstream>>& upstreams() const { return upstreams_; }
    // How often each upstream was left out of a list answer (failed, timed out, blocked).
    std::map<std::string, std::uint64_t> list_omissions() const;

private:
    struct ClientCall;
    struct ServerCall;

    Gateway() = default;
    void send_to_client(const nlohmann::json& message);
    void send_to_client(const Message& message);
    boost::asio::awaitable<void> handle_request(std::shared_ptr<ClientCall> call, Message request);
    boost::asio::awaitable<nlohmann::json> handle_initialize(const Message& request);
    // Picks the way `request` goes: fanned out, broadcast, routed by name, or refused.
    boost::asio::awaitable<Message> dispatch(std::shared_ptr<ClientCall> call, Message request);
    // `name_at` is one of target_pointer's static pointers: it outlives the coroutine.
    boost::asio::awaitable<Message> route_by_name(std::shared_ptr<ClientCall> call, Message request,
                                                  const nlohmann::json::json_pointer& name_at);
    boost::asio::awaitable<Message> fan_out_list(std::shared_ptr<ClientCall> call, Message request,
                                                 const MethodSpec& list);
    boost::asio::awaitable<Message> broadcast(std::shared_ptr<ClientCall> call, Message request,
                                              std::string_view capability);
    // One upstream's part of a request: its request pipeline, the upstream, its response
    // pipeline. Yields the answer for the client (the client's id), an error when anything failed.
    boost::asio::awaitable<Message> exchange(std::shared_ptr<ClientCall> call, Message request,
                                             std::shared_ptr<Upstream> upstream);
    // The upstreams that offered `capability` (or have not initialized yet: they are tried and,
    // when down, reported as left out).
    std::vector<std::shared_ptr<Upstream>> offering(std::string_view capability) const;
    std::shared_ptr<Upstream> find_upstream(std::string_view name) const;
    Message error_answer(const nlohmann::json& id, int code, std::string message) const;
    void on_upstream_ready(Upstream& upstream);
    void announce_list_changed(std::string capability);
    static boost::asio::awaitable<void> send_list_changed_later(std::shared_ptr<Gateway> self, std::string capability);
    boost::asio::awaitable<void> handle_client_notification(Message notification);
    boost::asio::awaitable<void> handle_client_response(Message response);
    void on_upstream_message(Upstream& upstream, Message message);
    boost::asio::awaitable<void> handle_upstream_message(std::shared_ptr<Upstream> upstream, Message message);
    static boost::asio::awaitable<void> wait_for_upstream_input_room(std::weak_ptr<Gateway> weak, std::string upstream);
    // Answers `call` unless it already was: every request gets exactly one answer.
    void answer_once(const std::shared_ptr<ClientCall>& call, const Message& answer);
    void finish(const std::shared_ptr<ClientCall>& call);
    // Runs `task` on `lane` (a strand of the work pool, so its order holds), counted in `backlog`
    // until it ends: readers pause while a backlog is full.
    void run_in_lane(boost::asio::any_io_executor lane, std::atomic<int>& backlog, boost::asio::awaitable<void> task);
    // A request's whole time (plugins and queues included) is watched by one timer for all.
    void set_call_timeout(ClientCall& call, std::chrono::milliseconds timeout);
    // Answers the requests whose time ran out; returns the next deadline.
    std::optional<std::chrono::steady_clock::time_point> expire_calls(std::chrono::steady_clock::time_point now);

    struct Lane {
        boost::asio::any_io_executor strand;
        std::atomic<int> backlog{0};
    };

    boost::asio::any_io_executor io_;
    boost::asio::any_io_executor executor_;  // the work pool
    GatewayConfig config_;
    std::shared_ptr<PluginHost> plugins_;
    ClientSink sink_;
    std::shared_ptr<LineWriter> client_writer_;
    std::vector<std::shared_ptr<Upstream>> upstreams_;
    Lane client_lane_;                                             // client notifications and answers
    std::map<std::string, std::unique_ptr<Lane>> upstream_lanes_;  // each upstream's own messages
    // A backlog or the requests in flight went below their limit; in a shutdown, also the last
    // answer went out or the grace period was cut short.
    AsyncSignal flow_;
    std::atomic<bool> hurry_{false};
    std::shared_ptr<DeadlineTimer> deadlines_;

    mutable std::mutex mutex_;                                          // guards the tables below
    std::map<std::string, std::shared_ptr<ClientCall>> calls_;          // by the client's id (JSON text)
    std::map<std::string, std::weak_ptr<ClientCall>> progress_;         // by progress token (JSON text)
    std::map<std::int64_t, std::shared_ptr<ServerCall>> server_calls_;  // by the id the gateway gave
    std::int64_t next_server_id_ = 1;
    std::set<std::string> announcing_;                     // list_changed kinds about to be sent
    std::map<std::string, std::uint64_t> list_omissions_;  // by upstream
    std::atomic<bool> initialized_{false};
    std::atomic<bool> shutting_down_{false};
};

}  // namespace watchgate::core
