#pragma once
// The upstreams by name, for every client session: a `sharing: shared` upstream is one server for
// all sessions; a `per_session` one is a server of its own for each session, made when the
// session first asks for its upstreams and stopped when the session ends.

#include <watchgate/core/config/config.hpp>
#include <watchgate/core/upstream/upstream.hpp>
#include <watchgate/core/upstream/upstream_transport.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <algorithm>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace watchgate::core {

// Names a client session to the layers below it; 0 is none (what a shared upstream belongs to).
using SessionId = std::uint64_t;

class UpstreamPool {
public:
    // What the upstreams report, with the session an upstream belongs to (0: shared).
    struct Events {
        std::function<void(SessionId owner, Upstream& from, Message message)> on_message;
        std::function<void(SessionId owner, Upstream& ready)> on_ready;
        // Awaited before every read from the upstream (flow control, see Upstream::ReadGate).
        std::function<boost::asio::awaitable<void>(SessionId owner, const Upstream& upstream)> before_read;
    };

    UpstreamPool(boost::asio::any_io_executor executor, const GatewayConfig& config,
                 UpstreamTransportFactory transports, Events events);

    // The upstreams `session` uses, in the config's order: the shared ones and its own
    // per_session ones (made on the first call for that session).
    std::vector<std::shared_ptr<Upstream>> upstreams_for(SessionId session);
    // Starts the shared upstreams' servers (their stderr reaches the log from the start).
    void start();
    // Stops `session`'s own upstreams; the shared ones stay.
    boost::asio::awaitable<void> release(SessionId session, std::chrono::milliseconds grace);
    // Every upstream there is now, shared ones first (for counters and shutdown).
    std::vector<std::shared_ptr<Upstream>> all() const;

    // What a reload did to the upstreams, by name, and the servers it left behind.
    struct Reconfigured {
        std::vector<std::string> added, changed, removed, kept;
        // Shared upstreams made for the new settings: spawn them.
        std::vector<std::shared_ptr<Upstream>> started;
        // Upstreams no view has any more (removed, or changed and replaced): stop them once the
        // requests that still hold them have ended.
        std::vector<std::shared_ptr<Upstream>> retired;
    };
    // Takes `next`'s upstreams: one whose settings did not change stays as it is (same server, same
    // session with it); a changed or new one is made anew; a removed one is retired. The views
    // of open sessions follow (upstreams_for gives the new one).
    Reconfigured reconfigure(const std::vector<UpstreamConfig>& next);

private:
    std::shared_ptr<Upstream> make(const UpstreamConfig& config, SessionId owner);
    std::vector<std::shared_ptr<Upstream>> view_locked(SessionId session);  // caller holds mutex_

    boost::asio::any_io_executor executor_;
    std::size_t max_message_size_;
    UpstreamTransportFactory transports_;
    Events events_;
    mutable std::mutex mutex_;  // guards the tables below
    std::vector<UpstreamConfig> configs_;
    std::vector<std::shared_ptr<Upstream>> shared_;                            // null where the config says per_session
    std::map<SessionId, std::vector<std::shared_ptr<Upstream>>> per_session_;  // a session's full view
};

}  // namespace watchgate::core
