#pragma once
// One client's session: its requests in flight (by the client's ids), its initialize state and
// declared capabilities, the server -> client requests it was asked (by the ids the gateway gave),
// its progress tokens. Transport-free: lines come in through on_client_line and leave through
// its ClientChannel, so stdio, `watchgate call`, HTTP and tests drive the same code. Requests run
// as coroutines of their own; notifications and answers from the client keep their order on the
// session's lane.

#include <watchgate/core/base/async_signal.hpp>
#include <watchgate/core/base/deadline_timer.hpp>
#include <watchgate/core/base/line_splitter.hpp>
#include <watchgate/core/base/shared_slot.hpp>
#include <watchgate/core/pipeline/pipeline.hpp>
#include <watchgate/core/protocol/methods.hpp>
#include <watchgate/core/session/client_channel.hpp>
#include <watchgate/core/session/dispatcher.hpp>
#include <watchgate/core/session/gateway_snapshot.hpp>
#include <watchgate/core/upstream/upstream.hpp>
#include <watchgate/core/upstream/upstream_pool.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <variant>
#include <vector>

namespace watchgate::core {

class Gateway;

class ClientSession : public std::enable_shared_from_this<ClientSession> {
public:
    using Clock = std::chrono::steady_clock;

    // What the session's requests are handled with: the gateway's snapshot (config, plugins) and
    // this session's upstreams (UpstreamPool), routed by a dispatcher over them. A request takes
    // the view current when it arrives and keeps it to its end; a reload puts a new one in place.
    struct View {
        View(std::shared_ptr<const GatewaySnapshot> from, std::vector<std::shared_ptr<Upstream>> upstreams,
             boost::asio::any_io_executor work, std::function<void(const std::string&)> on_left_out)
            : snapshot(std::move(from)),
              dispatcher(*snapshot->config, std::move(upstreams), std::move(work), std::move(on_left_out)) {}
        std::shared_ptr<const GatewaySnapshot> snapshot;
        Dispatcher dispatcher;
        const std::vector<std::shared_ptr<Upstream>>& upstreams() const { return dispatcher.upstreams(); }
    };

    // Made by Gateway::open_session. `upstreams` is this session's view (UpstreamPool).
    static std::shared_ptr<ClientSession> create(std::shared_ptr<Gateway> gateway, SessionId id,
                                                 std::shared_ptr<ClientChannel> channel,
                                                 std::shared_ptr<const GatewaySnapshot> snapshot,
                                                 std::vector<std::shared_ptr<Upstream>> upstreams,
                                                 ClientContext context = {});

    SessionId id() const { return id_; }
    // Who the client is, as audit records name it.
    const ClientContext& context() const { return *context_; }
    std::shared_ptr<const View> view() const { return view_.load(); }
    // A reload: requests arriving from now on use `snapshot` and `upstreams`; those in flight keep
    // the view they started with, which is returned. An initialized session connects the
    // upstreams it did not have and hears that its lists changed.
    std::shared_ptr<const View> replace_view(std::shared_ptr<const GatewaySnapshot> snapshot,
                                             std::vector<std::shared_ptr<Upstream>> upstreams);

    // One line from the client. Returns at once: requests run as their own coroutines.
    void on_client_line(std::string line);
    // The same for a message its transport already parsed (HTTP reads one per POST);
    // `wire_bytes`: its size as it came (watchgate_client_bytes_total).
    void on_client_message(Message message, std::size_t wire_bytes = 0);
    // An oversize line from the client (already discarded): answered with -32600 (with its id
    // when the kept ends of the line show it).
    void on_client_oversize(const OversizeLine& line);
    // Awaited by the client reader before each read: returns once what client input feeds (the
    // client's channel, the session's upstreams' input, the requests in flight) has room again.
    boost::asio::awaitable<void> wait_for_client_input_room();

    // What the gateway asks of a session.
    bool initialized() const { return initialized_; }
    std::size_t requests_in_flight() const;
    // Requests in flight whose client has no answer yet.
    std::size_t requests_unanswered() const;
    // Cancels every request in flight (a stateless HTTP client that left gave up on its request).
    void cancel_all(const std::string& reason);
    bool channel_has_room() const { return channel_->has_room(); }
    boost::asio::awaitable<void> wait_for_channel_room() { return channel_->wait_for_room(); }
    boost::asio::awaitable<void> wait_for_channel_room_or(std::function<bool()> or_when) {
        return channel_->wait_for_room_or(std::move(or_when));
    }
    void wake_channel() { channel_->wake(); }
    // Whether the client declared `capability` (sampling, elicitation, roots) at initialize.
    bool declared(std::string_view capability) const;
    // When this session's oldest request in flight at `upstream` arrived (none: nullopt).
    std::optional<Clock::time_point> oldest_request_at(const Upstream& upstream) const;
    // Whether this session's client was asked `original_id` by `upstream` and has not answered.
    bool has_server_call(const Upstream& upstream, const nlohmann::json& original_id) const;
    // A message `upstream` sent that the gateway routed to this session.
    boost::asio::awaitable<void> handle_upstream_message(std::shared_ptr<Upstream> upstream, Message message);
    // A list changed (or an upstream came back): the client hears of it once, shortly.
    void announce_list_changed(std::string capability);
    // Waits up to `grace` (cut short by Gateway::hurry) for requests in flight, then answers the
    // rest with an error. Answers no new request afterwards.
    boost::asio::awaitable<void> drain(std::chrono::milliseconds grace);
    // Waits up to `limit` for the requests still in flight to have their answers.
    boost::asio::awaitable<void> wait_for_answers(Clock::duration limit);
    // Waits up to `limit` until no request is being handled, answered or not (a bridged request
    // answered input_required goes on until its upstream answers).
    boost::asio::awaitable<void> wait_until_handled(Clock::duration limit);
    void hurry();

    // A stateless request answered input_required on a session-era upstream's behalf, until its
    // retry has the answer (kept by the gateway: the retry may come in another session).
    struct InputBridge;

    // Progress tokens on their way to an upstream carry the session, so two sessions sharing an
    // upstream never mix their tokens: "<session>/<the client's token as JSON>".
    static std::string upstream_progress_token(SessionId session, const nlohmann::json& token);
    // The session and the client's token from an upstream's token (nullopt: not one of ours).
    static std::optional<std::pair<SessionId, nlohmann::json>> client_progress_token(const nlohmann::json& token);

private:
    ClientSession(std::shared_ptr<Gateway> gateway, SessionId id, std::shared_ptr<ClientChannel> channel);
    std::shared_ptr<const View> make_view(std::shared_ptr<const GatewaySnapshot> snapshot,
                                          std::vector<std::shared_ptr<Upstream>> upstreams) const;
    struct ClientCall;
    struct ServerCall;
    struct Lane {
        boost::asio::any_io_executor strand;
        std::atomic<int> backlog{0};
    };

    void send_to_client(const nlohmann::json& message, Delivery delivery = {});
    void send_to_client(const Message& message, Delivery delivery = {});
    // The client's id (JSON text) of its newest request in flight at `upstream`; empty: none.
    std::string newest_call_at(const Upstream& upstream) const;
    boost::asio::awaitable<void> handle_request(std::shared_ptr<ClientCall> call, Message request);
    boost::asio::awaitable<nlohmann::json> handle_initialize(const View& view, const Message& request);
    // Each upstream of `view` connected (initialized or probed) with `params`; their capabilities
    // merged. `failure`: why none could be, empty when at least one was (or there are none).
    struct Connected {
        nlohmann::json capabilities;
        std::string instructions;
        std::string failure;
    };
    boost::asio::awaitable<Connected> connect_upstreams(const View& view, const nlohmann::json& params);
    // The stateless era (docs/routing.md "Eras"): server/discover, a request carrying its
    // protocol version in _meta, and subscriptions/listen.
    boost::asio::awaitable<Message> handle_discover(std::shared_ptr<ClientCall> call, const Message& request);
    boost::asio::awaitable<Message> handle_stateless(std::shared_ptr<ClientCall> call, Message request);
    boost::asio::awaitable<Message> handle_listen(std::shared_ptr<ClientCall> call, const Message& request);
    // The first request of a stateless client connects the upstreams, as initialize would;
    // returns an error answer when none could be.
    boost::asio::awaitable<std::optional<Message>> connect_for_stateless(const ClientCall& call,
                                                                         const Message& request);
    // A request on its way to `upstream` gets that upstream's era's fields (docs/routing.md "Eras").
    // A session-era method a stateless upstream does not have (logging/setLevel,
    // resources/subscribe and unsubscribe), answered by the gateway for it; nullopt for others.
    std::optional<Message> answer_removed_method(const ClientCall& call, const Message& request, Upstream& upstream);
    void adapt_to_upstream_era(const ClientCall& call, Message& request, const Upstream& upstream) const;
    // A stateless upstream's input_required for a session-era client: each of its inputRequests
    // asked of the client as a server -> client request. The inputResponses, or why not.
    boost::asio::awaitable<std::variant<nlohmann::json, std::string>> ask_client_for_input(
        std::shared_ptr<ClientCall> call, std::shared_ptr<Upstream> upstream, nlohmann::json input_requests);
    // One server -> client request the gateway asks on `upstream`'s behalf, through its plugins;
    // the client's response (an error response when it does not answer in the call's time).
    boost::asio::awaitable<nlohmann::json> ask_client(std::shared_ptr<ClientCall> call,
                                                      std::shared_ptr<Upstream> upstream, std::string method,
                                                      nlohmann::json params);
    // A session-era upstream's server -> client request for a stateless client: the request it
    // belongs to is answered input_required, and the client's retry carries the answers back
    // (docs/routing.md "Eras"). False: no stateless request of the client is waiting there.
    bool bridge_to_input_required(const Upstream& upstream, std::int64_t gateway_id, const Message& request);
    // A retry carrying a requestState the gateway gave: its inputResponses go to the upstream, and
    // it waits for the upstream's answer (or its next question).
    boost::asio::awaitable<Message> resume_bridged(std::shared_ptr<ClientCall> call,
                                                   std::shared_ptr<InputBridge> bridge, Message request);
    // Hands the bridge's waiting request what it waits for: the questions asked so far, or the
    // upstream's answer (`final`).
    void answer_bridge_waiter(const std::shared_ptr<InputBridge>& bridge);
    // A notification from an upstream for a stateless client: sent with the request it belongs
    // to, or on the subscriptions that asked for it. False: the client did not ask for it.
    bool deliver_to_stateless(const Message& notification, const std::shared_ptr<ClientCall>& owner,
                              const Upstream& upstream);
    // Initializes the upstreams `after` has and `before` had not; the client hears its lists changed.
    void connect_added(const View& before, const View& after);
    static boost::asio::awaitable<void> connect_after_reload(std::shared_ptr<ClientSession> self,
                                                             std::shared_ptr<Upstream> upstream, nlohmann::json params);
    // One upstream's part of a request: its request pipeline, the upstream, its response
    // pipeline. Yields the answer for the client (the client's id), an error when anything failed.
    boost::asio::awaitable<Message> exchange(std::shared_ptr<ClientCall> call, Message request,
                                             std::shared_ptr<Upstream> upstream);
    static boost::asio::awaitable<void> send_list_changed_later(std::shared_ptr<ClientSession> self,
                                                                std::string capability);
    boost::asio::awaitable<void> handle_client_notification(Message notification);
    boost::asio::awaitable<void> handle_client_response(Message response);
    // Answers `call` unless it already was: every request gets exactly one answer. `send` false:
    // settled without one (a stateless client's cancelled subscription, which it has forgotten).
    void answer_once(const std::shared_ptr<ClientCall>& call, const Message& answer, bool send = true);
    // The call leaves the tables. Returns whether that gave room (or ended a drain); waiters are
    // woken here unless `wake` is false (the caller wakes them once the answer is sent).
    bool finish(const std::shared_ptr<ClientCall>& call, bool wake = true);
    void run_in_lane(boost::asio::awaitable<void> task);
    // Answers the requests whose time ran out; returns the next deadline.
    std::optional<Clock::time_point> expire_calls(Clock::time_point now);

    std::shared_ptr<Gateway> gateway_;
    SessionId id_;
    std::shared_ptr<const ClientContext> context_;
    std::shared_ptr<ClientChannel> channel_;
    SharedSlot<const View> view_;
    MetricSeries* bytes_received_ = nullptr;  // watchgate_client_bytes_total, by transport
    MetricSeries* bytes_sent_ = nullptr;
    const GatewayConfig& config_;  // the gateway's settings that no reload changes
    Lane lane_;                    // client notifications and answers, in order
    // A backlog or the requests in flight went below their limit; in a drain, also the last
    // answer went out or the grace period was cut short.
    AsyncSignal flow_;
    std::atomic<bool> hurry_{false};
    std::shared_ptr<DeadlineTimer> deadlines_;

    mutable std::mutex mutex_;                                          // guards the tables below
    std::map<std::string, std::shared_ptr<ClientCall>> calls_;          // by the client's id (JSON text)
    std::map<std::string, std::weak_ptr<ClientCall>> progress_;         // by the client's token (JSON text)
    std::map<std::int64_t, std::shared_ptr<ServerCall>> server_calls_;  // by the id the gateway gave
    std::int64_t next_server_id_ = 1;
    std::set<std::string> announcing_;  // list_changed kinds about to be sent
    struct Subscription;
    std::map<std::string, std::shared_ptr<Subscription>> subscriptions_;  // by the listen's id (JSON text)
    nlohmann::json upstream_log_level_;  // set with logging/setLevel, for stateless upstreams
    nlohmann::json client_capabilities_ = nlohmann::json::object();
    nlohmann::json upstream_initialize_params_;  // what upstreams a reload adds are initialized with
    std::atomic<bool> initialized_{false};
    // Its requests declare their version in _meta and it never sent initialize: notifications
    // outside a request reach it only through subscriptions/listen.
    std::atomic<bool> stateless_client_{false};
    std::atomic<int> running_{0};  // requests being handled (handle_request running)
    std::atomic<bool> draining_{false};
};

}  // namespace watchgate::core
