#pragma once
// The gateway: client sessions on one side, the upstream pool on the other, every message through
// its upstream's plugin pipeline (docs/architecture.md). Owns what the sessions share: the
// current GatewaySnapshot, the upstreams (UpstreamPool), the sessions (SessionRegistry), and the
// routing of what upstreams send to the session(s) it belongs to.

#include <watchgate/core/base/async_signal.hpp>
#include <watchgate/core/session/client_channel.hpp>
#include <watchgate/core/session/client_session.hpp>
#include <watchgate/core/session/gateway_snapshot.hpp>
#include <watchgate/core/session/session_registry.hpp>
#include <watchgate/core/base/metrics.hpp>
#include <watchgate/core/base/shared_slot.hpp>
#include <watchgate/core/base/trace.hpp>
#include <watchgate/core/upstream/upstream_pool.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace watchgate::core {

class Gateway : public std::enable_shared_from_this<Gateway> {
public:
    // `io` runs reading, writing and timers; `work` runs requests and plugins, so a slow plugin
    // never delays reading. `transports` makes each upstream's transport (child processes unless
    // given: tests pass in-memory ones).
    static std::shared_ptr<Gateway> create(boost::asio::any_io_executor io, boost::asio::any_io_executor work,
                                           GatewayConfig config, std::shared_ptr<PluginHost> plugins,
                                           UpstreamTransportFactory transports = {});

    // Starts the shared upstreams' servers.
    void start();
    // A new client session that answers through `channel`; `context` names it in audit records
    // (by default its number, over stdio).
    std::shared_ptr<ClientSession> open_session(std::shared_ptr<ClientChannel> channel, ClientContext context = {});
    // Ends a session (its client went away): its requests are drained and answered, its
    // per_session upstreams stopped.
    boost::asio::awaitable<void> close_session(std::shared_ptr<ClientSession> session);
    // A second stop request: the grace period for requests in flight ends now.
    void hurry();
    bool hurried() const { return hurry_; }
    // Drains every session for up to the grace period, answers the rest, stops the upstreams.
    boost::asio::awaitable<void> shutdown();

    // The snapshot a request arriving now is handled with.
    std::shared_ptr<const GatewaySnapshot> snapshot() const { return snapshot_.load(); }
    // The settings no reload changes (limits, threads, listeners; config/reload_rules.hpp).
    const GatewayConfig& config() const { return *initial_config_; }
    boost::asio::any_io_executor io() const { return io_; }
    // Where requests run: the work pool, or the I/O thread while no plugin is configured (no
    // code can hold a thread then, and no hop between threads is paid per message).
    boost::asio::any_io_executor work() const { return plugin_free_ ? io_ : work_; }

    // What a reload changed, for the log and the admin endpoint's answer.
    struct ReloadReport {
        std::vector<std::string> added, changed, removed, kept;  // upstreams by name
        std::size_t plugins_kept = 0;                            // instances taken over unchanged
        std::size_t plugins_created = 0;
        std::string summary() const;
    };
    // Puts a new configuration and its plugins in place (docs/operations.md "Reload"): requests
    // in flight finish with the snapshot and upstreams they started with, new ones use the new;
    // unchanged upstreams keep running; changed and removed ones stop once the requests that
    // hold them end; every initialized session hears that its lists changed. Throws
    // ConfigErrors, changing nothing, when `config` changes a setting only a restart applies.
    // Call it on the control thread; `plugins` was loaded there (PluginHost::load, previous).
    ReloadReport reload(GatewayConfig config, std::shared_ptr<PluginHost> plugins);
    // How many reloads took effect since the start.
    std::uint64_t reloads() const { return reloads_; }
    // Where requests' spans go (null: tracing is off). Set before the first session opens.
    void set_tracer(std::shared_ptr<Tracer> tracer) { tracer_ = std::move(tracer); }
    Tracer* tracer() const { return tracer_.get(); }
    UpstreamPool& pool() { return *pool_; }
    SessionRegistry& sessions() { return sessions_; }

    // Readiness (the admin endpoint's /readyz): every shared upstream is initialized.
    bool ready() const;
    // Writes what the gateway knows now into `metrics` (upstream states and counters, sessions):
    // called before each scrape, so nothing is counted twice on the request path.
    void export_state(Metrics& metrics) const;

    // How often each upstream was left out of a list answer (failed, timed out, blocked).
    std::map<std::string, std::uint64_t> list_omissions() const;
    void count_omission(const std::string& upstream);
    // How many upstream lanes exist (one per upstream that sent a message, per owner).
    std::size_t upstream_lanes() const;
    // Returns once the first `count` messages `upstream` sent (notifications, requests) reached
    // their sessions, or after a moment when its lane is stuck: an answer never overtakes the
    // progress its upstream sent before it.
    boost::asio::awaitable<void> wait_for_messages(SessionId owner, const Upstream& upstream, std::uint64_t count);

    // The stateless requests answered input_required on a session-era upstream's behalf, by the
    // requestState the client got (ClientSession::InputBridge): its retry may come in another
    // session. `use` gets the table under its lock.
    // How many subscriptions/listen requests (of every session) want updates of `uri`, after
    // adding `delta`: the first subscribes it at its upstream, the last unsubscribes.
    int count_resource_listener(const std::string& uri, int delta);

    using InputBridges = std::map<std::string, std::shared_ptr<ClientSession::InputBridge>>;
    template <class Use>
    auto with_bridges(Use&& use) {
        std::lock_guard lock(bridges_mutex_);
        return use(input_bridges_);
    }

private:
    struct Lane {
        boost::asio::any_io_executor strand;
        std::atomic<int> backlog{0};
        std::atomic<std::uint64_t> routed{0};  // messages that went all the way through it
        AsyncSignal progressed;                // routed grew
    };
    // Owner (0: shared) and the upstream itself: one a reload replaced counts its messages apart.
    using LaneKey = std::pair<SessionId, const Upstream*>;

    Gateway() = default;
    // Shared: a message's completion and a paused reader keep their lane past close_session.
    std::shared_ptr<Lane> lane_of(SessionId owner, const Upstream& upstream);
    // The sessions what `owner`'s upstreams send may go to: its own, or (shared, owner 0) all.
    std::vector<std::shared_ptr<ClientSession>> sessions_fed_by(SessionId owner) const;
    void on_upstream_message(SessionId owner, Upstream& from, Message message);
    void on_upstream_ready(SessionId owner, Upstream& upstream);
    // Routes one upstream message to the session(s) it belongs to (docs/architecture.md).
    boost::asio::awaitable<void> route_upstream_message(SessionId owner, std::shared_ptr<Upstream> upstream,
                                                        Message message);
    // Pauses an upstream's reader while its lane is full or a client it feeds does not read.
    boost::asio::awaitable<void> wait_for_upstream_input_room(SessionId owner, const Upstream& upstream);

    // Stops the upstreams a reload retired once no request holds them (`views`: the sessions'
    // views from before the reload), after at most `limit`.
    static boost::asio::awaitable<void> retire(std::shared_ptr<Gateway> self,
                                               std::vector<std::weak_ptr<const ClientSession::View>> views,
                                               std::vector<std::shared_ptr<Upstream>> upstreams,
                                               std::chrono::milliseconds limit);
    static bool plugin_free(const GatewaySnapshot& snapshot);

    boost::asio::any_io_executor io_;
    boost::asio::any_io_executor work_;
    std::atomic<bool> plugin_free_{false};
    std::mutex reload_mutex_;  // one reload at a time; a session opens wholly before or after one
    std::atomic<std::uint64_t> reloads_{0};
    std::shared_ptr<Tracer> tracer_;
    std::shared_ptr<const GatewayConfig> initial_config_;
    SharedSlot<const GatewaySnapshot> snapshot_;
    std::unique_ptr<UpstreamPool> pool_;
    SessionRegistry sessions_;
    AsyncSignal lanes_flow_;                         // an upstream lane's backlog went below its limit
    std::atomic<std::uint64_t> sessions_opened_{0};  // wakes a lone client's paced upstreams
    std::atomic<bool> hurry_{false};
    std::atomic<SessionId> next_session_{1};

    mutable std::mutex mutex_;                             // guards the tables below
    std::map<LaneKey, std::shared_ptr<Lane>> lanes_;       // a closed session's and a retired upstream's are dropped
    std::vector<std::shared_ptr<Upstream>> retiring_;      // replaced by a reload, not stopped yet
    std::map<std::string, std::uint64_t> list_omissions_;  // by upstream
    std::mutex bridges_mutex_;                             // guards input_bridges_ and resource_listeners_
    InputBridges input_bridges_;
    std::map<std::string, int> resource_listeners_;  // by URI as clients name it
};

}  // namespace watchgate::core
