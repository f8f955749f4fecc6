#pragma once
// The gateway session: one client on one side, the upstreams on the other, every message through
// its upstream's plugin pipeline. Transport-free: lines come in through on_client_line and go out
// through the client sink, so stdio, `watchgate call` and tests drive the same code.

#include <watchgate/core/config.hpp>
#include <watchgate/core/pipeline.hpp>
#include <watchgate/core/plugin_host.hpp>
#include <watchgate/core/routing.hpp>
#include <watchgate/core/upstream.hpp>

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

    static std::shared_ptr<Gateway> create(boost::asio::any_io_executor executor, GatewayConfig config,
                                           std::shared_ptr<PluginHost> plugins, ClientSink sink);

    // Starts every upstream's process.
    void start();
    // One line from the client. Returns at once: requests run as their own coroutines.
    void on_client_line(std::string line);
    // An oversize line from the client (already discarded): answered with -32600.
    void on_client_oversize();
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
    // `name_at` is one of routed_name_pointer's static pointers: it outlives the coroutine.
    boost::asio::awaitable<Message> route_by_name(std::shared_ptr<ClientCall> call, Message request,
                                                  const nlohmann::json::json_pointer& name_at);
    boost::asio::awaitable<Message> fan_out_list(std::shared_ptr<ClientCall> call, Message request,
                                                 const ListMethod& list);
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
    void handle_client_notification(Message notification);
    void handle_client_response(Message response);
    void on_upstream_message(Upstream& upstream, Message message);
    void finish(const std::shared_ptr<ClientCall>& call);

    boost::asio::any_io_executor executor_;
    GatewayConfig config_;
    std::shared_ptr<PluginHost> plugins_;
    ClientSink sink_;
    std::vector<std::shared_ptr<Upstream>> upstreams_;

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
