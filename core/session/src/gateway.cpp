#include <watchgate/core/session/gateway.hpp>

#include <watchgate/core/base/async_sleep.hpp>
#include <watchgate/core/base/gather.hpp>
#include <watchgate/core/config/reload_rules.hpp>
#include <watchgate/core/protocol/methods.hpp>
#include <watchgate/core/session/routing.hpp>
#include <watchgate/core/upstream/transport_factory.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/strand.hpp>

#include <spdlog/spdlog.h>

#include <array>

namespace watchgate::core {

namespace asio = boost::asio;
using nlohmann::json;

namespace {

// One upstream's notifications and requests waiting for the work pool; its reader pauses at this many.
constexpr int lane_limit = 64;

}  // namespace

std::shared_ptr<Gateway> Gateway::create(asio::any_io_executor io, asio::any_io_executor work, GatewayConfig config,
                                         std::shared_ptr<PluginHost> plugins, UpstreamTransportFactory transports) {
    std::shared_ptr<Gateway> gateway(new Gateway());
    gateway->io_ = io;
    auto snapshot = GatewaySnapshot::make(std::move(config), std::move(plugins));
    gateway->initial_config_ = snapshot->config;
    gateway->work_ = work;
    gateway->plugin_free_ = plugin_free(*snapshot);
    const auto& upstreams = snapshot->config->upstreams;
    if (snapshot->config->namespace_names)
        spdlog::info("{} upstreams: names the client sees are prefixed '<upstream>__' (proxy.namespace)",
                     upstreams.size());
    else if (!upstreams.empty())
        spdlog::info("one upstream: names the client sees are its own, unprefixed (proxy.namespace)");
    gateway->snapshot_.store(snapshot);
    if (!transports)
        transports = upstream_transports(io, snapshot->config->max_message_size, snapshot->config->streams);
    std::weak_ptr<Gateway> weak = gateway;
    UpstreamPool::Events events;
    events.on_message = [weak](SessionId owner, Upstream& from, Message message) {
        if (auto self = weak.lock()) self->on_upstream_message(owner, from, std::move(message));
    };
    events.on_ready = [weak](SessionId owner, Upstream& ready) {
        if (auto self = weak.lock()) self->on_upstream_ready(owner, ready);
    };
    events.before_read = [weak](SessionId owner, const Upstream& upstream) -> asio::awaitable<void> {
        if (auto self = weak.lock()) co_await self->wait_for_upstream_input_room(owner, upstream);
    };
    gateway->pool_ = std::make_unique<UpstreamPool>(io, *snapshot->config, std::move(transports), std::move(events));
    return gateway;
}

bool Gateway::plugin_free(const GatewaySnapshot& snapshot) {
    // Without any plugin no code can hold a thread, so requests stay on the I/O thread: no hop
    // between threads per message. With one, they run on the work pool, never on the reader.
    for (const auto& upstream : snapshot.config->upstreams) {
        const auto pipeline = snapshot.plugins->pipeline(upstream.name);
        if (!pipeline->stages().empty() || !pipeline->auditors().empty()) return false;
    }
    return true;
}

void Gateway::start() { pool_->start(); }

std::shared_ptr<ClientSession> Gateway::open_session(std::shared_ptr<ClientChannel> channel, ClientContext context) {
    const SessionId id = next_session_++;
    std::shared_ptr<ClientSession> session;
    std::vector<std::shared_ptr<ClientSession>> was_alone;  // the one session that may pace shared upstreams
    {
        std::lock_guard reloading(reload_mutex_);
        session = ClientSession::create(shared_from_this(), id, std::move(channel), snapshot(),
                                        pool_->upstreams_for(id), std::move(context));
        if (sessions_.size() == 1) was_alone = sessions_.all();
        sessions_.add(session);
        ++sessions_opened_;
    }
    // A shared upstream paced by a lone client no longer waits for it: it looks again.
    for (auto& other : was_alone) other->wake_channel();
    return session;
}

std::string Gateway::ReloadReport::summary() const {
    auto names = [](const std::vector<std::string>& list) {
        std::string text;
        for (const auto& name : list) text += (text.empty() ? "" : ", ") + name;
        return text.empty() ? std::string("none") : text;
    };
    return "upstreams kept: " + names(kept) + "; changed: " + names(changed) + "; added: " + names(added) +
           "; removed: " + names(removed) + "; plugin instances kept: " + std::to_string(plugins_kept) +
           ", new: " + std::to_string(plugins_created);
}

Gateway::ReloadReport Gateway::reload(GatewayConfig next_config, std::shared_ptr<PluginHost> plugins) {
    if (auto errors = restart_only_changes(*initial_config_, next_config); !errors.empty())
        throw ConfigErrors(std::move(errors));
    ReloadReport report;
    report.plugins_kept = plugins->reused();
    report.plugins_created = plugins->instances().size() - plugins->reused();
    auto next = GatewaySnapshot::make(std::move(next_config), std::move(plugins));
    std::vector<std::weak_ptr<const ClientSession::View>> old_views;
    UpstreamPool::Reconfigured upstreams;
    {
        std::lock_guard reloading(reload_mutex_);
        upstreams = pool_->reconfigure(next->config->upstreams);
        // Plugins first: a request that sees the new snapshot already finds them on the pool.
        if (!plugin_free(*next)) plugin_free_ = false;
        snapshot_.store(next);
        for (auto& session : sessions_.all())
            old_views.push_back(session->replace_view(next, pool_->upstreams_for(session->id())));
        if (plugin_free(*next)) plugin_free_ = true;
        ++reloads_;
    }
    for (auto& upstream : upstreams.started) upstream->spawn();
    if (!upstreams.retired.empty()) {
        {
            std::lock_guard lock(mutex_);
            retiring_.insert(retiring_.end(), upstreams.retired.begin(), upstreams.retired.end());
        }
        // A request holds its upstream at most its timeout; the grace period covers its answer.
        auto limit = config().shutdown_grace;
        for (const auto& upstream : upstreams.retired)
            limit = std::max(limit, upstream->config().timeouts.request + config().shutdown_grace);
        asio::co_spawn(io_, retire(shared_from_this(), std::move(old_views), std::move(upstreams.retired), limit),
                       asio::detached);
    }
    report.added = std::move(upstreams.added);
    report.changed = std::move(upstreams.changed);
    report.removed = std::move(upstreams.removed);
    report.kept = std::move(upstreams.kept);
    return report;
}

asio::awaitable<void> Gateway::retire(std::shared_ptr<Gateway> self,
                                      std::vector<std::weak_ptr<const ClientSession::View>> views,
                                      std::vector<std::shared_ptr<Upstream>> upstreams,
                                      std::chrono::milliseconds limit) {
    // Requests end on their own time, and nothing signals the last one: looked at every 20 ms,
    // off every request's path.
    const auto give_up = std::chrono::steady_clock::now() + limit;
    auto held = [&] {
        return std::any_of(views.begin(), views.end(), [](const auto& view) { return !view.expired(); }) ||
               std::any_of(upstreams.begin(), upstreams.end(),
                           [](const auto& upstream) { return upstream->counters().in_flight > 0; });
    };
    while (held() && std::chrono::steady_clock::now() < give_up && !self->hurry_)
        co_await async_sleep(std::chrono::milliseconds(20));
    for (auto& upstream : upstreams) {
        spdlog::info("[{}] stopping: the reload replaced or removed it", upstream->name());
        co_await upstream->stop(std::chrono::milliseconds(2000));
        std::lock_guard lock(self->mutex_);
        std::erase(self->retiring_, upstream);
        std::erase_if(self->lanes_, [&](const auto& entry) { return entry.first.second == upstream.get(); });
    }
}

asio::awaitable<void> Gateway::close_session(std::shared_ptr<ClientSession> session) {
    if (hurry_) session->hurry();
    co_await session->drain(config().shutdown_grace);
    sessions_.remove(session->id());
    // An upstream's reader waiting for this client's room looks again (its channel closes later).
    ++sessions_opened_;
    session->wake_channel();
    co_await pool_->release(session->id(), std::chrono::milliseconds(2000));
    co_await session->wait_for_answers(std::chrono::seconds(2));  // stopping answered what was pending there
    {
        // Its per_session upstreams' lanes: nothing feeds them any more.
        std::lock_guard lock(mutex_);
        std::erase_if(lanes_, [&](const auto& entry) { return entry.first.first == session->id(); });
    }
}

int Gateway::count_resource_listener(const std::string& uri, int delta) {
    std::lock_guard lock(bridges_mutex_);
    const int count = resource_listeners_[uri] += delta;
    if (count <= 0) resource_listeners_.erase(uri);
    return std::max(count, 0);
}

void Gateway::hurry() {
    hurry_ = true;
    for (auto& session : sessions_.all()) session->hurry();
}

asio::awaitable<void> Gateway::shutdown() {
    auto sessions = sessions_.all();
    for (auto& session : sessions)
        if (hurry_) session->hurry();
    // Every session drains at once: the grace period is the gateway's, not one per session.
    auto drain = [](std::shared_ptr<ClientSession> session, std::chrono::milliseconds grace) -> asio::awaitable<bool> {
        co_await session->drain(grace);
        co_return true;
    };
    std::vector<asio::awaitable<bool>> drains;
    for (auto& session : sessions) drains.push_back(drain(session, config().shutdown_grace));
    co_await gather(io_, std::move(drains));
    const auto omissions = list_omissions();
    auto upstreams = pool_->all();
    {
        // Those a reload replaced and that still drain stop with the rest.
        std::lock_guard lock(mutex_);
        upstreams.insert(upstreams.end(), retiring_.begin(), retiring_.end());
    }
    for (auto& upstream : upstreams) {
        co_await upstream->stop(std::chrono::milliseconds(2000));
        // Stopping answered what was still pending there.
        for (auto& session : sessions) co_await session->wait_for_answers(std::chrono::seconds(2));
        auto c = upstream->counters();
        auto it = omissions.find(upstream->name());
        spdlog::info(
            "[{}] requests: {} total, {} in flight, {} most in flight, {} timeouts, {} rejected, {} failed, "
            "{} restarts, {} times left out of a list",
            upstream->name(), c.total, c.in_flight, c.most_in_flight, c.timeouts, c.rejections, c.failures, c.restarts,
            it == omissions.end() ? 0 : it->second);
    }
    // Bridged requests nobody will retry now; a waiting retry holds its session (and so this).
    InputBridges bridges;
    {
        std::lock_guard lock(bridges_mutex_);
        bridges.swap(input_bridges_);
    }
}

bool Gateway::ready() const {
    for (const auto& upstream : pool_->all())
        if (upstream->config().sharing == UpstreamSharing::shared && upstream->state() != Upstream::State::ready)
            return false;
    return true;
}

void Gateway::export_state(Metrics& metrics) const {
    auto& up = metrics.family("watchgate_upstream_up", "1 when the upstream is initialized and serving, else 0",
                              MetricKind::gauge, {"upstream"});
    auto& restarts = metrics.family("watchgate_upstream_restarts_total", "Restarts of the upstream since the start",
                                    MetricKind::counter, {"upstream"});
    auto& timeouts = metrics.family("watchgate_upstream_timeouts_total", "Requests the upstream did not answer in time",
                                    MetricKind::counter, {"upstream"});
    auto& in_flight = metrics.family("watchgate_upstream_in_flight", "Requests sent to the upstream and not answered",
                                     MetricKind::gauge, {"upstream"});
    // Shared upstreams by name; a per-session upstream counts under its name too, summed.
    std::map<std::string, std::array<double, 4>> totals;
    for (const auto& upstream : pool_->all()) {
        const auto counters = upstream->counters();
        auto& total = totals[upstream->name()];
        total[0] = std::max(total[0], upstream->state() == Upstream::State::ready ? 1.0 : 0.0);
        total[1] += static_cast<double>(counters.restarts);
        total[2] += static_cast<double>(counters.timeouts);
        total[3] += static_cast<double>(counters.in_flight);
    }
    for (const auto& config : snapshot()->config->upstreams) totals.try_emplace(config.name);
    for (const auto& [name, total] : totals) {
        up.set({name}, total[0]);
        restarts.set({name}, total[1]);
        timeouts.set({name}, total[2]);
        in_flight.set({name}, total[3]);
    }
    metrics.family("watchgate_sessions", "Client sessions open", MetricKind::gauge)
        .set({}, static_cast<double>(sessions_.size()));
}

std::map<std::string, std::uint64_t> Gateway::list_omissions() const {
    std::lock_guard lock(mutex_);
    return list_omissions_;
}

std::size_t Gateway::upstream_lanes() const {
    std::lock_guard lock(mutex_);
    return lanes_.size();
}

void Gateway::count_omission(const std::string& upstream) {
    std::lock_guard lock(mutex_);
    ++list_omissions_[upstream];
}

std::shared_ptr<Gateway::Lane> Gateway::lane_of(SessionId owner, const Upstream& upstream) {
    std::lock_guard lock(mutex_);
    auto& lane = lanes_[LaneKey(owner, &upstream)];
    if (!lane) {
        lane = std::make_shared<Lane>();
        lane->strand = asio::make_strand(work());
    }
    return lane;
}

asio::awaitable<void> Gateway::wait_for_messages(SessionId owner, const Upstream& upstream, std::uint64_t count) {
    std::shared_ptr<Lane> lane;
    {
        std::lock_guard lock(mutex_);
        auto it = lanes_.find(LaneKey(owner, &upstream));
        if (it == lanes_.end()) co_return;
        lane = it->second;
    }
    if (lane->routed.load() >= count) co_return;  // the common case: nothing to wait for
    // Bounded: a lane held up (a plugin, a client not reading) delays the answer, never keeps it.
    co_await lane->progressed.wait_until([&] { return lane->routed.load() >= count; },
                                         std::chrono::steady_clock::now() + std::chrono::seconds(2));
}

std::vector<std::shared_ptr<ClientSession>> Gateway::sessions_fed_by(SessionId owner) const {
    if (owner == 0) return sessions_.all();
    auto own = sessions_.find(owner);
    return own ? std::vector{own} : std::vector<std::shared_ptr<ClientSession>>{};
}

void Gateway::on_upstream_message(SessionId owner, Upstream& from, Message message) {
    auto upstream = from.shared_from_this();
    auto lane = lane_of(owner, *upstream);
    ++lane->backlog;
    // On the upstream's lane: its messages keep their order, and reach the sessions in it.
    asio::co_spawn(lane->strand, route_upstream_message(owner, std::move(upstream), std::move(message)),
                   [self = shared_from_this(), lane](std::exception_ptr error) {
                       if (error) {
                           try {
                               std::rethrow_exception(error);
                           } catch (const std::exception& e) {
                               spdlog::error("processing a message failed: {}", e.what());
                           }
                       }
                       if (lane->backlog-- == lane_limit) self->lanes_flow_.notify_all();
                       lane->routed.fetch_add(1);
                       lane->progressed.notify_all();
                   });
}

asio::awaitable<void> Gateway::route_upstream_message(SessionId owner, std::shared_ptr<Upstream> upstream,
                                                      Message message) {
    const std::string method = message.method();
    const auto& params = member(message.json(), "params");
    if (method == "notifications/progress" && params.is_object()) {
        // The token names its session (ClientSession::upstream_progress_token); the client gets
        // its own back.
        auto token = ClientSession::client_progress_token(member(params, "progressToken"));
        auto session = token && (owner == 0 || owner == token->first) ? sessions_.find(token->first) : nullptr;
        if (!session) co_return;  // not a token of a request of ours: nobody to tell
        message.mutable_json()["params"]["progressToken"] = token->second;
        co_await session->handle_upstream_message(upstream, std::move(message));
        co_return;
    }
    // A per_session upstream speaks to its own session only.
    if (owner != 0) {
        if (auto session = sessions_.find(owner))
            co_await session->handle_upstream_message(upstream, std::move(message));
        co_return;
    }
    if (message.kind() == MessageKind::request) {
        auto session = sessions_.choose_for_server_request(*upstream, client_capability_for(method));
        if (!session) {
            upstream->send_json(make_error_response(message.id(), error_code::method_not_found,
                                                    "no client session can answer " + method + " now"));
            co_return;
        }
        co_await session->handle_upstream_message(upstream, std::move(message));
        co_return;
    }
    if (method == "notifications/cancelled" && params.is_object()) {
        // The upstream gives up on a request it sent: only the session that was asked cares.
        for (auto& session : sessions_.all())
            if (session->has_server_call(*upstream, member(params, "requestId")))
                co_await session->handle_upstream_message(upstream, message);
        co_return;
    }
    // Anything else (list changes, log messages, resource updates) concerns every session.
    for (auto& session : sessions_.all())
        if (session->initialized()) co_await session->handle_upstream_message(upstream, message);
}

void Gateway::on_upstream_ready(SessionId owner, Upstream& upstream) {
    // A session's first initialize is answered with the lists as they are; a later one (a
    // restart, an upstream that was down at start) changes what its client saw.
    const json capabilities = member(upstream.initialize_result(), "capabilities");
    auto sessions = sessions_fed_by(owner);
    for (auto& session : sessions) {
        if (!session->initialized()) continue;
        for (std::string_view list : list_capabilities)
            if (list == "tools" || member(capabilities, list).is_object())
                session->announce_list_changed(std::string(list));
    }
}

asio::awaitable<void> Gateway::wait_for_upstream_input_room(SessionId owner, const Upstream& upstream) {
    auto lane = lane_of(owner, upstream);
    for (;;) {
        // What this upstream feeds: its lane, and the clients its messages go to. A client alone
        // on it sets its pace (back-pressure, as over stdio). Shared, no client waits for
        // another: what a slow one has not taken waits in its channel, and its transport ends it
        // when that passes its bound (HttpFront's sweep: queue_limit_mb + max_message_size_mb,
        // or full for stall_timeout).
        // Read before the sessions: one opened after this is seen by the wait's condition.
        const auto seen = sessions_opened_.load();
        auto sessions = sessions_fed_by(owner);
        if (sessions.size() == 1 && !sessions.front()->channel_has_room()) {
            if (owner != 0)  // a per_session upstream: its own client, always
                co_await sessions.front()->wait_for_channel_room();
            else
                co_await sessions.front()->wait_for_channel_room_or([this, seen] { return sessions_opened_ != seen; });
            continue;
        }
        co_await lanes_flow_.wait_until([&] { return lane->backlog < lane_limit; });
        co_return;
    }
}

}  // namespace watchgate::core
