#include <watchgate/core/upstream/upstream.hpp>

#include <watchgate/core/base/async_sleep.hpp>
#include <watchgate/core/base/version.hpp>
#include <watchgate/core/protocol/stateless_meta.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <variant>

namespace watchgate::core {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;
using nlohmann::json;

namespace {

// An upstream that stayed up this long starts its restart budget afresh.
constexpr auto stable_after = std::chrono::seconds(30);

UpstreamReply error_reply(int code, std::string message) {
    return UpstreamReply{std::nullopt, 0, code, std::move(message)};
}

}  // namespace

// ---- Upstream ----

Upstream::Upstream(asio::any_io_executor executor, UpstreamConfig config, std::size_t max_message_size,
                   UpstreamTransportFactory transports, MessageHandler on_message, ReadyHandler on_ready,
                   ReadGate before_read)
    : executor_(std::move(executor)),
      config_(std::move(config)),
      max_message_size_(max_message_size),
      on_message_(std::move(on_message)),
      on_ready_(std::move(on_ready)),
      before_read_(std::move(before_read)),
      transports_(std::move(transports)),
      rpc_(RpcChannel::create(executor_, config_.name)),
      bytes_received_(upstream_bytes_metric(config_.name, "received")),
      queue_wait_(process_metrics()
                      .family("watchgate_upstream_queue_wait_seconds",
                              "How long requests waited for a free slot at the upstream (max_in_flight, "
                              "overflow: queue); only those that waited",
                              MetricKind::histogram, {"upstream"}, Metrics::latency_buckets())
                      .series({config_.name})) {}

Upstream::~Upstream() = default;

UpstreamCounters Upstream::counters() const {
    std::lock_guard lock(mutex_);
    UpstreamCounters out = counters_;
    out.in_flight = in_flight_;
    out.timeouts += rpc_->timeouts();
    return out;
}

json Upstream::initialize_result() const {
    std::lock_guard lock(mutex_);
    return initialize_result_;
}

std::string Upstream::protocol_version() const {
    std::lock_guard lock(mutex_);
    return protocol_version_;
}

bool Upstream::may_offer(std::string_view capability) const {
    std::lock_guard lock(mutex_);
    return initialize_result_.is_null() || member(member(initialize_result_, "capabilities"), capability).is_object();
}

std::string Upstream::unavailable_reason() const {
    std::lock_guard lock(mutex_);
    return unavailable_reason_locked();
}

std::string Upstream::unavailable_reason_locked() const {
    switch (state_.load()) {
        case State::stopped:
            return "upstream '" + name() + "' is not started";
        case State::starting:
            return "upstream '" + name() + "' is starting";
        case State::restarting:
            return "upstream '" + name() + "' is unavailable: restarting after it " + last_exit_;
        case State::failed:
            return "upstream '" + name() + "' is unavailable: " + last_exit_;
        case State::stopping:
            return "upstream '" + name() + "' is stopping";
        case State::ready:
            break;
    }
    return {};
}

void Upstream::spawn() {
    std::optional<Clock::duration> backoff;
    {
        std::lock_guard lock(mutex_);
        // Only the first start: a client's initialize may have come first, and an incarnation
        // that went down since is the restart policy's to replace (with its initialize).
        if (transport_ || state_ != State::stopped) return;
        backoff = start_transport_locked();
    }
    if (backoff) schedule_restart(*backoff);
}

void Upstream::schedule_restart(Clock::duration backoff) {
    asio::co_spawn(executor_, restart_after(shared_from_this(), backoff), asio::detached);
}

// Caller holds mutex_. Throws nothing: a start failure is recorded as the upstream's state.
std::optional<Clock::duration> Upstream::start_transport_locked() {
    try {
        auto transport = transports_(config_);
        // Lines come before their transport's on_down, so while it is the current one; a down
        // reported by a transport already replaced is ignored.
        std::weak_ptr<Upstream> weak = weak_from_this();
        std::weak_ptr<UpstreamTransport> weak_transport = transport;
        UpstreamTransport::Handlers handlers;
        handlers.on_line = [weak](std::string line) {
            if (auto self = weak.lock()) self->on_line(std::move(line));
        };
        handlers.on_oversize = [weak](const OversizeLine& line) {
            if (auto self = weak.lock()) self->on_oversize(line);
        };
        handlers.on_down = [weak, weak_transport](std::string how) {
            auto self = weak.lock();
            auto down = weak_transport.lock();
            if (self && down) self->on_down(down, how);
        };
        handlers.before_read = before_read_;
        handlers.on_lost = [weak](std::int64_t id, std::string why) {
            if (auto self = weak.lock()) {
                if (self->rpc_->fail(id, error_code::unavailable, "upstream '" + self->name() + "' " + why)) {
                    std::lock_guard lock(self->mutex_);
                    ++self->counters_.failures;
                }
            }
        };
        handlers.awaiting = [weak](std::int64_t id) {
            auto self = weak.lock();
            return self && self->rpc_->awaiting(id);
        };
        transport_ = transport;  // before start: a handler may run at once on another thread
        rpc_->attach(transport);
        state_ = State::starting;
        try {
            transport->start(std::move(handlers));
        } catch (...) {
            transport_.reset();
            rpc_->attach(nullptr);
            throw;
        }
        spdlog::info("[{}] started ({})", name(), transport->describe());
        state_changed_.notify_all();
        return std::nullopt;
    } catch (const std::exception& e) {
        last_exit_ = std::string("could not be started: ") + e.what();
        spdlog::error("[{}] {}", name(), last_exit_);
        // A command that cannot start now may start later (a package still installing, a mount).
        return plan_restart_locked();
    }
}

std::optional<Clock::duration> Upstream::plan_restart_locked() {
    if (state_ == State::ready && Clock::now() - ready_since_ > stable_after) restart_attempts_ = 0;
    const bool restart = config_.restart_on_failure && restart_attempts_ < config_.max_restart_attempts;
    state_ = restart ? State::restarting : State::failed;
    state_changed_.notify_all();
    if (!restart) return std::nullopt;
    const auto backoff =
        std::min(config_.restart_backoff * (1 << std::min(restart_attempts_, 16)), config_.max_restart_backoff);
    ++restart_attempts_;
    ++counters_.restarts;
    return backoff;
}

asio::awaitable<void> Upstream::restart_after(std::shared_ptr<Upstream> self, Clock::duration backoff) {
    bool initialize_again = false;
    for (;;) {
        int attempt = 0;
        {
            std::lock_guard lock(mutex_);
            attempt = restart_attempts_;
        }
        spdlog::warn("[{}] restarting in {} ms (attempt {} of {})", name(),
                     std::chrono::duration_cast<std::chrono::milliseconds>(backoff).count(), attempt,
                     config_.max_restart_attempts);
        co_await async_sleep(backoff);
        std::optional<Clock::duration> again;
        {
            std::lock_guard lock(mutex_);
            if (state_ != State::restarting) co_return;
            again = start_transport_locked();
            initialize_again = state_ == State::starting && !initialize_params_.is_null() && !initializing_;
            if (initialize_again) initializing_ = true;
        }
        if (!again) break;
        backoff = *again;  // the command failed to start again: wait longer, within the budget
    }
    if (!initialize_again) {
        // The initialize of the incarnation before may still be finishing (a server that could
        // not be reached fails at once): once it has, this one is initialized.
        const auto deadline = Clock::now() + config_.timeouts.connection;
        std::shared_ptr<UpstreamTransport> started;
        {
            std::lock_guard lock(mutex_);
            started = transport_;
        }
        co_await state_changed_.wait_until(
            [this] {
                std::lock_guard lock(mutex_);
                return !initializing_ || state_ != State::starting;
            },
            deadline);
        std::lock_guard lock(mutex_);
        initialize_again = state_ == State::starting && transport_ == started && started &&
                           !initialize_params_.is_null() && !initializing_;
        if (initialize_again) initializing_ = true;
    }
    if (initialize_again) {
        std::string error = co_await initialize();
        if (!error.empty()) spdlog::error("[{}] {}", name(), error);
    }
    (void)self;  // kept this upstream alive through the backoff
}

asio::awaitable<std::string> Upstream::connect(json initialize_params) {
    std::optional<Clock::duration> backoff;
    {
        std::lock_guard lock(mutex_);
        initialize_params_ = std::move(initialize_params);
        if (!transport_ && state_ != State::restarting) backoff = start_transport_locked();
    }
    if (backoff) schedule_restart(*backoff);
    const auto deadline = Clock::now() + config_.timeouts.connection;
    // Whether this caller may stop waiting: ready, down, or the initialize it waits for ended.
    auto settled = [this] {
        std::lock_guard lock(mutex_);
        return state_ != State::starting || !initializing_;
    };
    for (;;) {
        bool mine = false;
        {
            std::lock_guard lock(mutex_);
            if (state_ == State::ready) co_return std::string();
            if (state_ == State::starting && !initializing_) {
                initializing_ = true;  // one initialize per process; later callers wait for it
                mine = true;
            } else if (state_ != State::starting) {
                // Down (restarting, failed): not worth waiting for. It initializes with these
                // params when it comes back, and the gateway announces its lists then.
                co_return unavailable_reason_locked();
            }
        }
        if (mine) co_return co_await initialize();
        if (!co_await state_changed_.wait_until(settled, deadline)) co_return unavailable_reason();
    }
}

// Caller has set initializing_ (under the lock); it is cleared here, whatever happens.
asio::awaitable<std::string> Upstream::initialize() {
    json params;
    std::shared_ptr<UpstreamTransport> transport;
    {
        std::lock_guard lock(mutex_);
        params = initialize_params_;
        transport = transport_;
    }
    auto self = shared_from_this();  // declared first: outlives `done` below
    struct Done {
        Upstream* self;
        ~Done() {
            {
                std::lock_guard lock(self->mutex_);
                self->initializing_ = false;
            }
            self->state_changed_.notify_all();
        }
    } done{this};
    auto started = Clock::now();
    // A process that cannot be initialized (it hangs, refuses or speaks another version) is of no
    // use: it is killed, so the restart policy starts a fresh one instead of it staying "starting".
    auto give_up = [&](std::string why) {
        {
            std::lock_guard lock(mutex_);
            if (transport_ == transport && state_ == State::starting && transport) {
                spdlog::error("[{}] {}: stopping the process", name(), why);
                transport->kill();
            }
        }
        return why;
    };
    // The stateless era first (docs/routing.md "Eras"): a DiscoverResult naming a version the
    // gateway speaks makes a stateless upstream; any other answer, or none within the probe's
    // time, a session-era one, which is then initialized.
    json result;
    std::string version;
    ProtocolEra era = ProtocolEra::session;
    if (config_.era != UpstreamEraChoice::session) {
        json probe_params = json::object();
        set_stateless_request_meta(probe_params, latest_stateless_version, member(params, "clientInfo"),
                                   member(params, "capabilities"), nullptr);
        auto probe = Message::from_json(
            {{"jsonrpc", "2.0"}, {"id", 0}, {"method", "server/discover"}, {"params", probe_params["params"]}}, name());
        const auto probe_time =
            config_.era == UpstreamEraChoice::stateless
                ? config_.timeouts.connection
                : std::min<std::chrono::milliseconds>(config_.timeouts.connection, std::chrono::seconds(5));
        auto probe_handle = std::make_shared<CallHandle>();
        const auto probe_deadline = Clock::now() + probe_time;
        UpstreamReply reply = co_await send_and_receive(probe, probe_handle, probe_deadline);
        static const json no_answer;
        const json& answer = reply.response ? reply.response->json() : no_answer;
        const json& offered = member(member(answer, "result"), "supportedVersions");
        if (offered.is_array())
            for (const auto& each : offered)
                if (each.is_string() && is_stateless_protocol_version(each.get_ref<const std::string&>()))
                    version = each.get<std::string>();
        if (!version.empty()) {
            era = ProtocolEra::stateless;
            result = answer["result"];
            // The shape of an initialize result, which the rest of the gateway reads.
            result["protocolVersion"] = version;
            if (const auto& info = member(member(result, "_meta"), meta_key::server_info); info.is_object())
                result["serverInfo"] = info;
        } else if (config_.era == UpstreamEraChoice::stateless) {
            co_return give_up(
                "server/discover " +
                (reply.response ? "was answered " + dump_json(answer) : "failed: " + reply.error_message) +
                ", and this upstream is configured 'era: stateless'");
        } else if (member(member(answer, "error"), "code") == error_code::unsupported_protocol_version) {
            spdlog::info("[{}] speaks no stateless version the gateway does ({}): initializing", name(),
                         dump_json(member(member(answer, "error"), "data")));
        }
    }
    if (era == ProtocolEra::session) {
        auto request =
            Message::from_json({{"jsonrpc", "2.0"}, {"id", 0}, {"method", "initialize"}, {"params", params}}, name());
        // send_and_receive gives initialize the connection timeout, not the request timeout.
        auto handle = std::make_shared<CallHandle>();
        UpstreamReply reply = co_await send_and_receive(request, handle);
        if (!reply.response) co_return give_up("initialize failed: " + reply.error_message);
        const auto& answer = reply.response->json();
        if (answer.contains("error")) co_return give_up("initialize was refused: " + dump_json(answer["error"]));
        const auto& answered = member(member(answer, "result"), "protocolVersion");
        if (!answered.is_string() || !is_supported_protocol_version(answered.get_ref<const std::string&>()))
            co_return give_up("initialize answered protocol version " + dump_json(answered) +
                              ", which the gateway does not speak (it speaks " +
                              std::string(supported_protocol_versions.front()) + " to " +
                              std::string(latest_protocol_version) + ")");
        version = answered.get<std::string>();
        result = answer.value("result", json::object());
    }
    // The server hears the handshake is over before any request: `initialized` goes out before
    // this upstream is ready for requests (a transport that sends each message on its own
    // connection keeps the next ones back until it is through). The stateless era has none.
    transport->initialized(version);
    if (era == ProtocolEra::session) send_json({{"jsonrpc", "2.0"}, {"method", "notifications/initialized"}});
    {
        std::lock_guard lock(mutex_);
        // The process may have exited, or the gateway started stopping, while we waited.
        if (state_ != State::starting || transport_ != transport) co_return unavailable_reason_locked();
        initialize_result_ = std::move(result);
        protocol_version_ = version;
        era_ = era;
        state_ = State::ready;
        ever_ready_ = true;
        ready_since_ = Clock::now();
    }
    state_changed_.notify_all();
    if (era == ProtocolEra::stateless) listen_again();
    spdlog::info("[{}] initialized ({} era, {}) in {} ms", name(), era_name(era), version,
                 std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started).count());
    if (on_ready_) on_ready_(*this);
    co_return std::string();
}

asio::awaitable<std::optional<UpstreamReply>> Upstream::acquire_slot(Clock::time_point deadline) {
    std::shared_ptr<SlotChannel> waiter;
    {
        std::lock_guard lock(mutex_);
        ++counters_.total;
        if (in_flight_ < static_cast<std::uint64_t>(config_.concurrency.max_in_flight)) {
            ++in_flight_;
            counters_.most_in_flight = std::max(counters_.most_in_flight, in_flight_);
            co_return std::nullopt;
        }
        if (config_.concurrency.overflow == OverflowPolicy::reject) {
            ++counters_.rejections;
            co_return error_reply(error_code::overloaded, "upstream '" + name() + "' already has " +
                                                              std::to_string(config_.concurrency.max_in_flight) +
                                                              " requests in flight (max_in_flight, overflow: reject)");
        }
        waiter = std::make_shared<SlotChannel>(executor_, 1);
        slot_waiters_.push_back({waiter, deadline});
        watch_deadline_locked(deadline);
    }
    const auto waited_from = Clock::now();
    boost::system::error_code error;
    co_await waiter->async_receive(asio::redirect_error(asio::use_awaitable, error));
    queue_wait_.observe(std::chrono::duration<double>(Clock::now() - waited_from).count(), Metrics::latency_buckets());
    if (!error) co_return std::nullopt;  // a finished request handed its slot over
    co_return error_reply(error_code::timeout, "request timed out after " +
                                                   std::to_string(config_.timeouts.request.count()) +
                                                   " ms waiting for a free slot on upstream '" + name() + "'");
}

void Upstream::release_slot() {
    std::shared_ptr<SlotChannel> next;
    {
        std::lock_guard lock(mutex_);
        if (slot_waiters_.empty()) {
            --in_flight_;
            return;
        }
        next = slot_waiters_.front().channel;
        slot_waiters_.pop_front();
    }
    next->try_send(boost::system::error_code());
}

asio::awaitable<UpstreamReply> Upstream::send_and_receive(Message& request, std::shared_ptr<CallHandle> handle,
                                                          std::optional<Clock::time_point> given_deadline) {
    // The handshake (a server/discover probe, initialize) runs while the upstream is starting.
    const bool is_initialize = request.method() == "initialize" || request.method() == "server/discover";
    const auto timeout = is_initialize ? config_.timeouts.connection : config_.timeouts.request;
    const auto deadline = given_deadline ? *given_deadline : Clock::now() + timeout;
    if (state_ != State::ready && !(is_initialize && state_ == State::starting))
        co_return error_reply(error_code::unavailable, unavailable_reason());
    if (auto rejected = co_await acquire_slot(deadline)) co_return std::move(*rejected);
    struct SlotGuard {
        Upstream* self;
        ~SlotGuard() { self->release_slot(); }
    } slot{this};

    {
        std::lock_guard lock(mutex_);
        if (state_ != State::ready && !(is_initialize && state_ == State::starting))
            co_return error_reply(error_code::unavailable, unavailable_reason_locked());
    }
    auto reply = co_await rpc_->call(request, std::move(handle), deadline,
                                     std::chrono::duration_cast<std::chrono::milliseconds>(timeout));
    // No transport: it went away after the check above.
    if (!reply) co_return error_reply(error_code::unavailable, unavailable_reason());
    co_return std::move(*reply);
}

void Upstream::watch_deadline_locked(Clock::time_point deadline) {
    if (!deadlines_)
        deadlines_ = DeadlineTimer::create(executor_, [weak = weak_from_this()](Clock::time_point now) {
            auto self = weak.lock();
            return self ? self->expire(now) : std::nullopt;
        });
    deadlines_->watch(deadline);
}

std::optional<Clock::time_point> Upstream::expire(Clock::time_point now) {
    std::vector<std::shared_ptr<SlotChannel>> expired;
    std::optional<Clock::time_point> next;
    {
        std::lock_guard lock(mutex_);
        for (auto it = slot_waiters_.begin(); it != slot_waiters_.end();) {
            if (it->deadline <= now) {
                expired.push_back(it->channel);
                it = slot_waiters_.erase(it);
            } else {
                next = next ? std::min(*next, it->deadline) : it->deadline;
                ++it;
            }
        }
        counters_.timeouts += expired.size();
    }
    for (auto& waiter : expired) waiter->try_send(asio::error::timed_out);
    return next;
}

void Upstream::send(const Message& message) { rpc_->send(message.serialize()); }

void Upstream::send_json(const json& message) { rpc_->send(dump_json(message)); }

std::string Upstream::subscribe_resource(const std::string& uri, bool subscribe) {
    {
        std::lock_guard lock(mutex_);
        if (member(member(member(initialize_result_, "capabilities"), "resources"), "subscribe") != true)
            return "upstream '" + name() + "' offers no resource subscriptions";
        if (subscribe) {
            if (subscribed_resources_[uri]++ > 0) return {};
        } else {
            auto it = subscribed_resources_.find(uri);
            if (it == subscribed_resources_.end() || --it->second > 0) return {};
            subscribed_resources_.erase(it);
        }
    }
    listen_again();
    return {};
}

void Upstream::listen_again() {
    auto handle = std::make_shared<CallHandle>();
    json filter = json::object();
    std::shared_ptr<CallHandle> previous;
    json request = {{"jsonrpc", "2.0"}, {"id", 0}, {"method", "subscriptions/listen"}};
    {
        std::lock_guard lock(mutex_);
        if (era_ != ProtocolEra::stateless || state_ != State::ready) return;
        const auto& offered = member(initialize_result_, "capabilities");
        for (auto [list, flag] : {std::pair{"tools", "toolsListChanged"}, std::pair{"prompts", "promptsListChanged"},
                                  std::pair{"resources", "resourcesListChanged"}})
            if (member(member(offered, list), "listChanged") == true) filter[flag] = true;
        if (!subscribed_resources_.empty()) {
            json uris = json::array();
            for (const auto& [uri, count] : subscribed_resources_) uris.push_back(uri);
            filter["resourceSubscriptions"] = std::move(uris);
        }
        previous = std::exchange(listen_, filter.empty() ? nullptr : handle);
        set_stateless_request_meta(request, member(initialize_result_, "protocolVersion").get<std::string>(),
                                   {{"name", "watchgate"}, {"version", version_text}}, json::object(), nullptr);
    }
    if (previous) previous->cancel("the gateway's subscriptions changed");
    if (filter.empty()) return;
    request["params"]["notifications"] = std::move(filter);
    asio::co_spawn(executor_, hold_listen(shared_from_this(), handle, Message::from_json(std::move(request), name())),
                   asio::detached);
}

asio::awaitable<void> Upstream::hold_listen(std::shared_ptr<Upstream> self, std::shared_ptr<CallHandle> handle,
                                            Message request) {
    // Open until replaced (cancelled), ended by the upstream, or its process goes away; the
    // notifications on it arrive as any others.
    const auto deadline = Clock::now() + std::chrono::hours(24 * 365);
    auto reply = co_await self->rpc_->call(request, handle, deadline, std::chrono::milliseconds(0));
    const bool refused = reply && reply->response && reply->response->json().contains("error");
    if (refused)
        spdlog::warn("[{}] subscriptions/listen was refused: {}", self->name(),
                     dump_json(reply->response->json()["error"]));
    // Ended while still wanted (the upstream closed it, or its stream broke or idled out): opened
    // again, after a moment; not when it was refused, replaced, or the upstream went down.
    {
        std::lock_guard lock(self->mutex_);
        if (refused || self->listen_ != handle || self->state_ != State::ready) co_return;
    }
    co_await async_sleep(std::chrono::seconds(1));
    {
        std::lock_guard lock(self->mutex_);
        if (self->listen_ != handle) co_return;
    }
    spdlog::debug("[{}] subscriptions/listen ended: opened again", self->name());
    self->listen_again();
}

bool Upstream::has_room() const {
    std::lock_guard lock(mutex_);
    return !transport_ || transport_->has_room();
}

asio::awaitable<void> Upstream::wait_for_room() {
    std::shared_ptr<UpstreamTransport> transport;
    {
        std::lock_guard lock(mutex_);
        transport = transport_;
    }
    if (transport) co_await transport->wait_for_room();
}

void Upstream::on_line(std::string line) {
    bytes_received_.add(static_cast<double>(line.size() + 1));
    auto parsed = Message::parse(std::move(line), name());
    if (auto* bad = std::get_if<MessageError>(&parsed)) {
        rpc_->refuse_answer(bad->maybe_response ? bad->id : json(), bad->message);
        return;
    }
    auto& message = std::get<Message>(parsed);
    if (era_ == ProtocolEra::stateless && message.kind() == MessageKind::notification) {
        // The gateway's own subscriptions/listen: its acknowledgment and tag stay here.
        if (message.method() == "notifications/subscriptions/acknowledged") {
            spdlog::debug("[{}] subscriptions/listen acknowledged: {}", name(),
                          dump_json(member(member(message.json(), "params"), "notifications")));
            return;
        }
        if (!member(member(member(message.json(), "params"), "_meta"), meta_key::subscription_id).is_null()) {
            auto& meta = message.mutable_json()["params"]["_meta"];
            meta.erase(std::string(meta_key::subscription_id));
            if (meta.empty()) message.mutable_json()["params"].erase("_meta");
        }
    }
    if (message.kind() == MessageKind::response) {
        rpc_->deliver(std::move(message), messages_passed_on_.load(std::memory_order_relaxed));
    } else if (on_message_) {
        messages_passed_on_.fetch_add(1, std::memory_order_relaxed);
        on_message_(*this, std::move(message));
    }
}

void Upstream::on_oversize(const OversizeLine& line) {
    json id = recover_id(line.head);
    if (id.is_null()) id = recover_id_at_end(line.tail);
    rpc_->refuse_answer(id, "a line of " + std::to_string(line.size) + " bytes, over the " +
                                std::to_string(max_message_size_) + " byte limit (max_message_size_mb)");
}

void Upstream::on_down(const std::shared_ptr<UpstreamTransport>& down, const std::string& how) {
    std::optional<Clock::duration> backoff;
    bool stopped = false;
    {
        std::lock_guard lock(mutex_);
        if (transport_ != down) return;  // already replaced
        transport_.reset();
        rpc_->attach(nullptr);
        last_exit_ = how;
        stopped = state_ == State::stopping || state_ == State::stopped;
        if (stopped)
            state_ = State::stopped;
        else
            backoff = plan_restart_locked();
    }
    state_changed_.notify_all();
    spdlog::log(stopped ? spdlog::level::info : spdlog::level::err, "[{}] {}", name(), how);
    const auto failed = rpc_->fail_all(error_code::unavailable, "upstream '" + name() + "' " + how);
    {
        std::lock_guard lock(mutex_);
        counters_.failures += failed;
    }
    if (backoff) schedule_restart(*backoff);
}

asio::awaitable<void> Upstream::stop(std::chrono::milliseconds grace) {
    std::shared_ptr<UpstreamTransport> transport;
    {
        std::lock_guard lock(mutex_);
        state_ = State::stopping;
        transport = transport_;
        if (transport) transport->close();  // end of input: the polite way to ask
    }
    state_changed_.notify_all();
    if (!transport) {
        state_ = State::stopped;
        co_return;
    }
    auto gone = [this, &transport] {
        std::lock_guard lock(mutex_);
        return transport_ != transport;  // on_down took it
    };
    if (co_await state_changed_.wait_until(gone, Clock::now() + grace)) co_return;
    transport->terminate();
    if (co_await state_changed_.wait_until(gone, Clock::now() + grace)) co_return;
    transport->kill();
    co_await state_changed_.wait_until(gone, Clock::now() + std::chrono::milliseconds(2000));
}

}  // namespace watchgate::core
