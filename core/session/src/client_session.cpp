#include <watchgate/core/session/client_session.hpp>

#include <watchgate/core/session/capability_merger.hpp>
#include <watchgate/core/session/gateway.hpp>
#include <watchgate/core/session/request_metrics.hpp>
#include <watchgate/core/session/request_trace.hpp>
#include <watchgate/core/session/routing.hpp>

#include <watchgate/core/base/digest.hpp>
#include <watchgate/core/base/version.hpp>

#include <watchgate/core/base/async_sleep.hpp>
#include <watchgate/core/base/gather.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <spdlog/spdlog.h>

#include <watchgate/core/protocol/methods.hpp>
#include <watchgate/core/protocol/stateless_meta.hpp>

#include <algorithm>

namespace watchgate::core {

namespace asio = boost::asio;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

struct ClientSession::ClientCall : Dispatcher::Request, std::enable_shared_from_this<ClientSession::ClientCall> {
    ClientSession* session = nullptr;  // outlives the call: handle_request holds it
    // Captured on arrival and kept to the end: a reload never changes a request in flight.
    std::shared_ptr<const View> view;
    std::string id_text;
    json client_id;
    std::string progress_token;  // JSON text, empty when none
    std::string method;
    Clock::time_point arrived = Clock::now();
    // The request's whole time runs out here (routing, plugins, queues and the upstream alike).
    std::atomic<Clock::rep> deadline{0};
    std::atomic<std::int64_t> timeout_ms{0};
    std::atomic<bool> answered{false};
    std::unique_ptr<RequestTrace> trace;  // null: not traced
    // A stateless-era request: what it declared in _meta (docs/routing.md "Eras").
    bool stateless = false;
    json client_info;
    json client_capabilities;
    json log_level;
    std::shared_ptr<InputBridge> bridge;  // its upstream asked the client something (guarded by the session's mutex)

    const json& id() const override { return client_id; }
    void set_timeout(std::chrono::milliseconds timeout) override {
        set_deadline(timeout);
        session->deadlines_->watch(deadline_point());
    }
    asio::awaitable<Message> exchange(Message request, std::shared_ptr<Upstream> upstream) override {
        return session->exchange(shared_from_this(), std::move(request), std::move(upstream));
    }
    void set_deadline(std::chrono::milliseconds timeout) {
        timeout_ms = timeout.count();
        deadline = (arrived + timeout).time_since_epoch().count();
    }
    Clock::time_point deadline_point() const { return Clock::time_point(Clock::duration(deadline.load())); }

    // One handle per upstream the request went to (a list fans out): cancelling cancels them all,
    // also those made after the cancellation arrived.
    std::shared_ptr<CallHandle> new_handle() {
        auto handle = std::make_shared<CallHandle>();
        std::optional<std::string> reason;
        {
            std::lock_guard lock(mutex);
            handles.push_back(handle);
            reason = cancelled;
        }
        if (reason) handle->cancel(*reason);
        return handle;
    }
    void cancel(const std::string& reason) {
        std::vector<std::shared_ptr<CallHandle>> to_cancel;
        {
            std::lock_guard lock(mutex);
            if (cancelled) return;
            cancelled = reason;
            to_cancel = handles;
        }
        for (auto& handle : to_cancel) handle->cancel(reason);
    }
    bool is_cancelled() {
        std::lock_guard lock(mutex);
        return cancelled.has_value();
    }
    // The request's plugin state at each upstream it went to; progress runs in it. Kept until the
    // call ends, so a late notification never sees a scope that has ended.
    void add_scope(const std::string& upstream, std::shared_ptr<RequestScope> scope) {
        std::lock_guard lock(mutex);
        scopes[upstream] = std::move(scope);
    }
    std::shared_ptr<RequestScope> scope_at(const std::string& upstream) {
        std::lock_guard lock(mutex);
        auto it = scopes.find(upstream);
        return it == scopes.end() ? nullptr : it->second;
    }
    bool went_to(const std::string& upstream) {
        std::lock_guard lock(mutex);
        return scopes.contains(upstream);
    }
    // The upstream label of its metrics: where it went, "_several" (a list fanned out) or
    // "_gateway" (answered without an upstream).
    std::string upstream_label() {
        std::lock_guard lock(mutex);
        return scopes.empty() ? "_gateway" : scopes.size() == 1 ? scopes.begin()->first : "_several";
    }

private:
    std::mutex mutex;
    std::vector<std::shared_ptr<CallHandle>> handles;
    std::map<std::string, std::shared_ptr<RequestScope>> scopes;
    std::optional<std::string> cancelled;
};

// A stateless client's subscriptions/listen: what it asked to hear, until it cancels the request
// or the gateway shuts down.
struct ClientSession::Subscription {
    json id;  // the listen's id: notifications carry it as their subscriptionId
    std::string id_text;
    std::set<std::string> lists;          // "tools", "prompts", "resources"
    std::set<std::string> resource_uris;  // subscribed at their upstreams
};

// A stateless client's request whose session-era upstream asked it something: answered
// input_required; the upstream's call goes on in the origin session, and the client's retry
// (carrying the token as requestState, maybe in another session: each stateless HTTP request is
// one) takes its answer. Kept by the gateway (Gateway::with_bridges).
struct ClientSession::InputBridge {
    std::string token;  // the requestState the client brings back
    const Upstream* upstream = nullptr;
    std::weak_ptr<ClientSession> origin;  // the request's session: the bridge ends with it unless done
    std::string method;                   // the request's method (its result's stateless fields)
    std::string subject;                  // who asked it: only they may continue it
    Clock::time_point created = Clock::now();
    // A question put to the client: where its server -> client request waits (the session that
    // took it from the upstream) and under which id.
    struct Question {
        std::weak_ptr<ClientSession> session;
        std::int64_t id = 0;
        json ask;  // {method, params}, asked again when a retry leaves it unanswered
    };
    std::mutex mutex;                                // guards the rest
    json asks = json::object();                      // questions not yet put to the client, by key
    std::map<std::string, Question> open;            // questions put to it and not yet answered
    std::optional<json> final;                       // the upstream's answer to the request (a whole response)
    std::shared_ptr<ClientCall> waiting;             // the request (the first, then each retry) to answer next
    std::shared_ptr<ClientSession> waiting_session;  // its session, held while it waits
};

struct ClientSession::ServerCall {
    std::shared_ptr<Upstream> upstream;
    json original_id;
    std::shared_ptr<const Pipeline> pipeline;
    std::unique_ptr<RequestScope> scope;
    // Asked by the gateway itself (a stateless upstream's input_required, bridged): the client's
    // answer is kept here for the asker instead of going to the upstream.
    struct Answer {
        std::mutex mutex;
        std::optional<json> response;
        AsyncSignal arrived;
    };
    std::shared_ptr<Answer> answer;
};

namespace {

// The newest version both sides speak: the client's when the gateway knows it, else the newest.
std::string negotiate_version(const json& params) {
    auto requested = params.is_object() ? params.value("protocolVersion", std::string()) : std::string();
    return is_supported_protocol_version(requested) ? requested : std::string(latest_protocol_version);
}

}  // namespace

std::shared_ptr<ClientSession> ClientSession::create(std::shared_ptr<Gateway> gateway, SessionId id,
                                                     std::shared_ptr<ClientChannel> channel,
                                                     std::shared_ptr<const GatewaySnapshot> snapshot,
                                                     std::vector<std::shared_ptr<Upstream>> upstreams,
                                                     ClientContext context) {
    std::shared_ptr<ClientSession> session(new ClientSession(std::move(gateway), id, std::move(channel)));
    session->view_.store(session->make_view(std::move(snapshot), std::move(upstreams)));
    if (context.session.empty()) context.session = std::to_string(id);
    if (context.transport.empty()) context.transport = "stdio";
    session->context_ = std::make_shared<const ClientContext>(std::move(context));
    auto& bytes = process_metrics().family("watchgate_client_bytes_total",
                                           "Bytes of JSON-RPC messages from and to clients, by transport",
                                           MetricKind::counter, {"transport", "direction"});
    session->bytes_received_ = &bytes.series({session->context_->transport, "received"});
    session->bytes_sent_ = &bytes.series({session->context_->transport, "sent"});
    // On the I/O thread: a request whose time ran out is answered even while every worker is
    // busy in a plugin.
    session->deadlines_ =
        DeadlineTimer::create(session->gateway_->io(), [weak = session->weak_from_this()](Clock::time_point now) {
            auto self = weak.lock();
            return self ? self->expire_calls(now) : std::nullopt;
        });
    return session;
}

ClientSession::ClientSession(std::shared_ptr<Gateway> gateway, SessionId id, std::shared_ptr<ClientChannel> channel)
    : gateway_(std::move(gateway)), id_(id), channel_(std::move(channel)), config_(gateway_->config()) {
    // Made once: notifications of a session opened before a reload first added plugins run
    // where they ran before (requests follow the gateway's current choice, Gateway::work).
    lane_.strand = asio::make_strand(gateway_->work());
}

std::shared_ptr<const ClientSession::View> ClientSession::make_view(
    std::shared_ptr<const GatewaySnapshot> snapshot, std::vector<std::shared_ptr<Upstream>> upstreams) const {
    // The gateway outlives its sessions' views: they end with the requests that hold them.
    return std::make_shared<const View>(
        std::move(snapshot), std::move(upstreams), gateway_->work(),
        [gateway = gateway_.get()](const std::string& upstream) { gateway->count_omission(upstream); });
}

std::shared_ptr<const ClientSession::View> ClientSession::replace_view(
    std::shared_ptr<const GatewaySnapshot> snapshot, std::vector<std::shared_ptr<Upstream>> upstreams) {
    auto next = make_view(std::move(snapshot), std::move(upstreams));
    auto previous = view_.exchange(next);
    // Not initialized yet: its initialize connects what it finds (handle_initialize).
    if (initialized_) connect_added(*previous, *next);
    return previous;
}

asio::awaitable<void> ClientSession::connect_after_reload(std::shared_ptr<ClientSession> self,
                                                          std::shared_ptr<Upstream> upstream, json params) {
    const std::string error = co_await upstream->connect(std::move(params));
    if (!error.empty())
        spdlog::warn("[{}] not initialized for session {} after the reload: {}", upstream->name(), self->id_, error);
}

void ClientSession::connect_added(const View& before, const View& after) {
    json params;
    {
        std::lock_guard lock(mutex_);
        params = upstream_initialize_params_;
    }
    // Upstreams new to this session (added, or replaced by changed settings) are initialized the
    // way its first initialize did; the client then lists again.
    for (const auto& upstream : after.upstreams()) {
        const auto& had = before.upstreams();
        if (std::find(had.begin(), had.end(), upstream) != had.end()) continue;
        asio::co_spawn(gateway_->work(), connect_after_reload(shared_from_this(), upstream, params), asio::detached);
    }
    for (std::string_view list : list_capabilities) announce_list_changed(std::string(list));
}

namespace {
// The client's notifications and answers waiting for the work pool; its reader pauses at this many.
constexpr int lane_limit = 64;
}  // namespace

void ClientSession::run_in_lane(asio::awaitable<void> task) {
    ++lane_.backlog;
    asio::co_spawn(lane_.strand, std::move(task), [self = shared_from_this()](std::exception_ptr error) {
        if (error) {
            try {
                std::rethrow_exception(error);
            } catch (const std::exception& e) {
                spdlog::error("processing a message failed: {}", e.what());
            }
        }
        if (self->lane_.backlog-- == lane_limit) self->flow_.notify_all();
    });
}

asio::awaitable<void> ClientSession::wait_for_client_input_room() {
    // Pauses until every queue client input can feed has room at the same time.
    auto flowing = [this] { return lane_.backlog < lane_limit && requests_in_flight() < config_.max_client_requests; };
    for (;;) {
        const auto view = view_.load();
        const auto& upstreams = view->upstreams();
        co_await channel_->wait_for_room();
        for (auto& upstream : upstreams) co_await upstream->wait_for_room();
        co_await flow_.wait_until(flowing);
        if (channel_->has_room() &&
            std::all_of(upstreams.begin(), upstreams.end(), [](const auto& upstream) { return upstream->has_room(); }))
            co_return;
    }
}

std::size_t ClientSession::requests_in_flight() const {
    std::lock_guard lock(mutex_);
    return calls_.size();
}

std::size_t ClientSession::requests_unanswered() const {
    std::lock_guard lock(mutex_);
    return static_cast<std::size_t>(
        std::count_if(calls_.begin(), calls_.end(), [](const auto& entry) { return !entry.second->answered; }));
}

void ClientSession::cancel_all(const std::string& reason) {
    std::vector<std::shared_ptr<ClientCall>> calls;
    {
        std::lock_guard lock(mutex_);
        for (const auto& [id, call] : calls_) calls.push_back(call);
    }
    for (const auto& call : calls) call->cancel(reason);
    flow_.notify_all();  // a subscriptions/listen ends
}

void ClientSession::send_to_client(const json& message, Delivery delivery) {
    auto text = dump_json(message);
    bytes_sent_->add(static_cast<double>(text.size() + 1));
    channel_->send(std::move(text), delivery);
}
void ClientSession::send_to_client(const Message& message, Delivery delivery) {
    auto text = message.serialize();
    bytes_sent_->add(static_cast<double>(text.size() + 1));
    channel_->send(std::move(text), delivery);
}

void ClientSession::on_client_oversize(const OversizeLine& line) {
    json id = recover_id(line.head);
    if (id.is_null()) id = recover_id_at_end(line.tail);
    // The request never started, but its id may be one in flight: only a free id is answered.
    if (!id.is_null()) {
        std::lock_guard lock(mutex_);
        if (calls_.contains(dump_json(id))) id = nullptr;
    }
    send_to_client(make_error_response(id, error_code::invalid_request,
                                       "Invalid Request: a line of " + std::to_string(line.size) +
                                           " bytes, longer than the " + std::to_string(config_.max_message_size) +
                                           " byte limit (max_message_size_mb)"));
}

void ClientSession::on_client_line(std::string line) {
    const std::size_t wire_bytes = line.size() + 1;
    auto parsed = Message::parse(std::move(line));
    if (auto* error = std::get_if<MessageError>(&parsed)) {
        bytes_received_->add(static_cast<double>(wire_bytes));
        send_to_client(make_error_response(error->id, error->code, error->message));
        return;
    }
    on_client_message(std::move(std::get<Message>(parsed)), wire_bytes);
}

void ClientSession::on_client_message(Message message, std::size_t wire_bytes) {
    if (wire_bytes) bytes_received_->add(static_cast<double>(wire_bytes));
    switch (message.kind()) {
        case MessageKind::notification:
            if (message.method() == "notifications/cancelled") break;  // at once: it races its request
            return run_in_lane(handle_client_notification(std::move(message)));
        case MessageKind::response:
            return run_in_lane(handle_client_response(std::move(message)));
        case MessageKind::request:
            break;
    }
    if (message.kind() == MessageKind::notification) {
        // Cancellation needs no plugin: handled on the reader, so it can never wait behind one.
        // The completion holds the session: its frame starts later, when the caller may be gone.
        asio::co_spawn(gateway_->io(), handle_client_notification(std::move(message)),
                       [self = shared_from_this()](std::exception_ptr) {});
        return;
    }
    if (draining_) {
        send_to_client(make_error_response(message.id(), error_code::unavailable, "the gateway is shutting down"),
                       Delivery::answer_to(message.id_text()));
        return;
    }
    auto call = std::make_shared<ClientCall>();
    call->view = view_.load();
    call->id_text = message.id_text();
    call->client_id = message.id();
    call->method = message.method();
    if (message.stateless() && call->method != "initialize") {
        // Before the call is in the table: other threads read these under its lock.
        call->stateless = true;
        call->client_info = request_meta(message.json(), meta_key::client_info);
        call->client_capabilities = request_meta(message.json(), meta_key::client_capabilities);
        call->log_level = request_meta(message.json(), meta_key::log_level);
    }
    // Until routing picks an upstream, the longest timeout any of them allows.
    const auto& config = *call->view->snapshot->config;
    auto longest = config.timeouts.request;
    for (const auto& upstream : config.upstreams) longest = std::max(longest, upstream.timeouts.request);
    call->session = this;
    call->set_deadline(longest);
    call->trace = RequestTrace::begin(gateway_->tracer(), message, context_->session);
    if (const auto& params = member(message.json(), "params"); params.is_object()) {
        if (auto meta = params.find("_meta");
            meta != params.end() && meta->is_object() && meta->contains("progressToken"))
            call->progress_token = dump_json((*meta)["progressToken"]);
    }
    {
        // Registered before the coroutine starts, so a cancellation right behind it finds it.
        std::lock_guard lock(mutex_);
        if (!calls_.emplace(call->id_text, call).second) {
            send_to_client(
                make_error_response(message.id(), error_code::invalid_request,
                                    "Invalid Request: id " + call->id_text + " is already used by a request in flight"),
                Delivery::answer_to(call->id_text));
            return;
        }
        if (!call->progress_token.empty()) progress_[call->progress_token] = call;
    }
    RequestMetrics::process().started();
    deadlines_->watch(call->deadline_point());
    // On the work pool, never inline on the reader: plugins run there.
    ++running_;
    asio::co_spawn(gateway_->work(), handle_request(call, std::move(message)),
                   [self = shared_from_this()](std::exception_ptr) {
                       if (--self->running_ == 0) self->flow_.notify_all();
                   });
}

void ClientSession::answer_once(const std::shared_ptr<ClientCall>& call, const Message& answer, bool send) {
    if (call->answered.exchange(true)) return;  // already answered (its deadline passed)
    RequestMetrics::process().answered(call->method, call->upstream_label(), answer, Clock::now() - call->arrived);
    if (call->trace) call->trace->finish(answer, call->upstream_label());
    // The call leaves the in-flight table before its answer goes out, so the client may reuse the
    // id as soon as it has the answer.
    // Whoever waits for room or for the last answer of a drain is woken once it is sent: a
    // session closed right after its drain must not close its channel before the answer is on it.
    const bool room_again = finish(call, false);
    if (send) send_to_client(answer, Delivery::answer_to(call->id_text));
    if (room_again) flow_.notify_all();
}

std::optional<Clock::time_point> ClientSession::expire_calls(Clock::time_point now) {
    std::vector<std::shared_ptr<ClientCall>> expired;
    std::optional<Clock::time_point> next;
    {
        std::lock_guard lock(mutex_);
        for (auto& [id, call] : calls_) {
            if (call->answered) continue;
            const auto deadline = call->deadline_point();
            if (deadline <= now)
                expired.push_back(call);
            else
                next = next ? std::min(*next, deadline) : deadline;
        }
    }
    for (auto& call : expired) {
        const std::string text = "request timed out after " + std::to_string(call->timeout_ms.load()) + " ms";
        answer_once(call, make_error_message(call->client_id, error_code::timeout, text));
        call->cancel(text);
    }
    return next;
}

bool ClientSession::finish(const std::shared_ptr<ClientCall>& call, bool wake) {
    bool room_again = false;
    {
        // Only this call's entries: the client may already have reused the id or the token.
        std::lock_guard lock(mutex_);
        if (auto it = calls_.find(call->id_text); it != calls_.end() && it->second == call) {
            room_again = calls_.size() == config_.max_client_requests;
            calls_.erase(it);
            // A shutdown waits for the last answer.
            room_again = room_again || (draining_ && calls_.empty());
        }
        if (auto it = progress_.find(call->progress_token); it != progress_.end() && it->second.lock() == call)
            progress_.erase(it);
    }
    if (room_again && wake) flow_.notify_all();
    return room_again;
}

asio::awaitable<void> ClientSession::handle_request(std::shared_ptr<ClientCall> call, Message request) {
    auto self = shared_from_this();  // the frame may outlive every other owner
    struct Finish {
        ClientSession* self;
        std::shared_ptr<ClientCall> call;
        ~Finish() { self->finish(call); }
    } finish_on_exit{this, call};
    auto answer = [&](const auto& message) {
        if constexpr (std::is_same_v<std::decay_t<decltype(message)>, Message>)
            answer_once(call, message);
        else
            answer_once(call, Message::from_json(message));
    };
    try {
        if (request.method() == "server/discover") {
            answer(co_await handle_discover(call, request));
            co_return;
        }
        if (request.stateless() && request.method() != "initialize") {
            answer(co_await handle_stateless(call, std::move(request)));
            co_return;
        }
        if (request.method() == "initialize") {
            answer(co_await handle_initialize(*call->view, request));
            co_return;
        }
        if (request.method() == "ping") {
            answer(json{{"jsonrpc", "2.0"}, {"id", call->client_id}, {"result", json::object()}});
            co_return;
        }
        if (call->view->upstreams().empty()) {
            answer(make_error_response(call->client_id, error_code::method_not_found, "no upstream is configured"));
            co_return;
        }
        if (!initialized_) {
            answer(make_error_response(call->client_id, error_code::unavailable,
                                       "the gateway is not initialized: send initialize first"));
            co_return;
        }
        answer(co_await call->view->dispatcher.dispatch(call, std::move(request)));
    } catch (const std::exception& e) {
        // Nothing is lost: whatever failed, the request gets its one answer.
        spdlog::error("request {} failed: {}", call->id_text, e.what());
        answer(make_error_response(call->client_id, error_code::internal, std::string("Internal error: ") + e.what()));
    }
}

std::optional<Message> ClientSession::answer_removed_method(const ClientCall& call, const Message& request,
                                                            Upstream& upstream) {
    const auto done = [&] {
        return Message::from_json(json{{"jsonrpc", "2.0"}, {"id", call.client_id}, {"result", json::object()}},
                                  upstream.name());
    };
    if (request.method() == "logging/setLevel") {
        // The level goes along on each request instead.
        std::lock_guard lock(mutex_);
        upstream_log_level_ = member(member(request.json(), "params"), "level");
        return done();
    }
    if (request.method() == "resources/subscribe" || request.method() == "resources/unsubscribe") {
        // Resource updates come on the subscriptions/listen the gateway keeps open there.
        const auto& uri = member(member(request.json(), "params"), "uri");
        if (!uri.is_string())
            return make_error_message(call.client_id, error_code::invalid_params,
                                      "Invalid params: " + request.method() + " needs params.uri as a string");
        const std::string refused =
            upstream.subscribe_resource(uri.get<std::string>(), request.method() == "resources/subscribe");
        if (!refused.empty()) return make_error_message(call.client_id, error_code::method_not_found, refused);
        return done();
    }
    return std::nullopt;
}

asio::awaitable<Message> ClientSession::exchange(std::shared_ptr<ClientCall> call, Message request,
                                                 std::shared_ptr<Upstream> upstream) {
    request.set_upstream(upstream->name());
    auto pipeline = call->view->snapshot->plugins->pipeline(upstream->name());
    const RequestTrace* trace = call->trace.get();
    using Wall = RequestTrace::Wall;
    const auto request_started = trace ? Wall::now() : Wall::time_point();
    std::shared_ptr<RequestScope> scope = co_await pipeline->begin_request_async(request, context_);
    call->add_scope(upstream->name(), scope);
    auto verdict = co_await pipeline->process_request_async(*scope, request);
    if (trace) trace->pipeline(upstream->name(), "request", request_started, verdict);
    if (verdict.reply) co_return Message::from_json(*verdict.reply, upstream->name());
    if (upstream->era() == ProtocolEra::stateless)
        if (auto answered = answer_removed_method(*call, request, *upstream)) co_return std::move(*answered);
    adapt_to_upstream_era(*call, request, *upstream);
    if (!call->progress_token.empty()) {
        // The token as the upstream sees it names this session (two sessions may share an upstream).
        auto& meta = request.mutable_json()["params"]["_meta"];
        if (meta.is_object() && meta.contains("progressToken"))
            meta["progressToken"] = upstream_progress_token(id_, meta["progressToken"]);
    }
    // The upstream's span: its context goes along in _meta, after the plugins (what they saw is
    // the client's).
    std::optional<TraceContext> call_context;
    const auto sent = trace ? Wall::now() : Wall::time_point();
    if (trace) call_context = trace->inject(request);
    // This upstream's timeout, counted from the request's arrival: plugins and queues count too.
    UpstreamReply reply = co_await upstream->send_and_receive(request, call->new_handle(),
                                                              call->arrived + upstream->config().timeouts.request);
    if (trace)
        trace->upstream_call(*call_context, upstream->name(), request, sent,
                             reply.response ? &*reply.response : nullptr, reply.error_message);
    if (!reply.response) {
        // The gateway's own answer is the request's response: audited like one.
        Message failed = make_error_message(call->client_id, reply.error_code, reply.error_message);
        failed.set_upstream(upstream->name());
        co_await pipeline->audit_gateway_answer(*scope, failed);
        co_return failed;
    }
    // What the upstream sent before its answer (progress above all) goes to the client first.
    co_await gateway_->wait_for_messages(
        upstream->config().sharing == UpstreamSharing::per_session ? id_ : SessionId{0}, *upstream,
        reply.messages_before);
    Message response = std::move(*reply.response);
    if (!call->stateless && upstream->era() == ProtocolEra::stateless) {
        // A stateless upstream asks for input: a session-era client is asked with server ->
        // client requests, and the request goes again with its answers (docs/routing.md "Eras").
        constexpr int max_input_rounds = 10;
        for (int round = 1; member(member(response.json(), "result"), "resultType") == "input_required"; ++round) {
            const json& interim = response.json()["result"];
            auto failed = [&](const std::string& why) {
                Message error = make_error_message(call->client_id, error_code::internal,
                                                   "upstream '" + upstream->name() + "' asked for input: " + why);
                error.set_upstream(upstream->name());
                return error;
            };
            if (round > max_input_rounds)
                co_return failed("still input_required after " + std::to_string(max_input_rounds) + " rounds");
            auto responses = co_await ask_client_for_input(call, upstream, member(interim, "inputRequests"));
            if (auto* why = std::get_if<std::string>(&responses)) co_return failed(*why);
            json again = request.json();
            again["params"]["inputResponses"] = std::move(std::get<json>(responses));
            if (const auto& state = member(interim, "requestState"); state.is_string())
                again["params"]["requestState"] = state;
            else
                again["params"].erase("requestState");
            Message retry = Message::from_json(std::move(again), upstream->name());
            auto handle = call->new_handle();
            const auto deadline = call->arrived + upstream->config().timeouts.request;
            UpstreamReply next = co_await upstream->send_and_receive(retry, handle, deadline);
            if (!next.response) co_return make_error_message(call->client_id, next.error_code, next.error_message);
            co_await gateway_->wait_for_messages(
                upstream->config().sharing == UpstreamSharing::per_session ? id_ : SessionId{0}, *upstream,
                next.messages_before);
            response = std::move(*next.response);
        }
    }
    response.set_id(call->client_id);  // the client's id, restored
    const auto response_started = trace ? Wall::now() : Wall::time_point();
    auto response_verdict = co_await pipeline->process_response_async(*scope, response);
    if (trace) trace->pipeline(upstream->name(), "response", response_started, response_verdict);
    if (response_verdict.reply) co_return Message::from_json(*response_verdict.reply, upstream->name());
    co_return response;
}

asio::awaitable<json> ClientSession::handle_initialize(const View& view, const Message& request) {
    const json params = request.json().value("params", json::object());
    auto wrong = [&](std::string_view field, std::string_view expected) {
        return make_error_response(
            request.id(), error_code::invalid_params,
            "Invalid params: initialize needs " + std::string(field) + " as " + std::string(expected));
    };
    if (!params.is_object()) co_return wrong("params", "an object");
    if (params.contains("protocolVersion") && !params["protocolVersion"].is_string())
        co_return wrong("params.protocolVersion", "a string");
    if (params.contains("capabilities") && !params["capabilities"].is_object())
        co_return wrong("params.capabilities", "an object");
    if (params.contains("clientInfo") && !params["clientInfo"].is_object())
        co_return wrong("params.clientInfo", "an object");
    const std::string version = negotiate_version(params);
    // Each upstream negotiates on its own: offered the newest version, it answers the newest it
    // speaks. The client's info and capabilities pass through, so upstreams know what it can do.
    // A shared upstream already initialized (by another session) is not initialized again; it
    // is told the latest session's when it restarts (docs/architecture.md).
    json upstream_params = params;
    upstream_params["protocolVersion"] = latest_protocol_version;
    Connected connected = co_await connect_upstreams(view, upstream_params);
    if (!connected.failure.empty())
        co_return make_error_response(request.id(), error_code::unavailable, connected.failure);
    json result = {{"protocolVersion", version},
                   {"capabilities", std::move(connected.capabilities)},
                   {"serverInfo", {{"name", "watchgate"}, {"version", version_text}}}};
    if (!connected.instructions.empty()) result["instructions"] = std::move(connected.instructions);
    {
        std::lock_guard lock(mutex_);
        client_capabilities_ = params.value("capabilities", json::object());
        upstream_initialize_params_ = upstream_params;
    }
    stateless_client_ = false;
    initialized_ = true;
    // A reload during the initialize gave the session upstreams this one did not connect.
    if (auto current = view_.load(); current.get() != &view) connect_added(view, *current);
    co_return json{{"jsonrpc", "2.0"}, {"id", request.id()}, {"result", std::move(result)}};
}

asio::awaitable<ClientSession::Connected> ClientSession::connect_upstreams(const View& view, const json& params) {
    const auto& upstreams = view.upstreams();
    std::vector<asio::awaitable<std::string>> connects;
    for (auto& upstream : upstreams) connects.push_back(upstream->connect(params));
    std::vector<std::string> errors = co_await gather(gateway_->work(), std::move(connects));

    CapabilityMerger merger(view.snapshot->config->namespace_names);
    std::vector<std::string> failures;
    for (std::size_t i = 0; i < upstreams.size(); ++i) {
        const auto& upstream = upstreams[i];
        if (!errors[i].empty()) {
            spdlog::warn("[{}] not initialized: {}", upstream->name(), errors[i]);
            failures.push_back(upstream->name() + ": " + errors[i]);
            continue;
        }
        merger.add(upstream->name(), upstream->initialize_result());
    }
    Connected connected{merger.capabilities(), merger.instructions(), {}};
    if (failures.size() == upstreams.size() && !upstreams.empty()) {
        connected.failure = "no upstream could be initialized: ";
        for (std::size_t i = 0; i < failures.size(); ++i) connected.failure += (i ? "; " : "") + failures[i];
    }
    co_return connected;
}

namespace {

// The stateless era has no handshake: what a client declares on its first request is what the
// gateway initializes session-era upstreams with. Their questions to it (sampling, elicitation,
// roots) become input_required answers (docs/routing.md "Eras").
json initialize_params_for(const json& client_info, const json& capabilities) {
    json declared = capabilities.is_object() ? capabilities : json::object();
    json params = {{"protocolVersion", latest_protocol_version}, {"capabilities", std::move(declared)}};
    params["clientInfo"] =
        client_info.is_object() ? client_info : json{{"name", "watchgate-stateless-client"}, {"version", "0"}};
    return params;
}

// A stateless request's own check of its _meta: the version it declares (null when it declares
// none, as server/discover may) and the shape of its capabilities. An error answer, or nullopt.
std::optional<Message> check_stateless_meta(const Message& request) {
    const json& version = declared_protocol_version(request.json());
    if (!version.is_null() &&
        (!version.is_string() || !is_stateless_protocol_version(version.get_ref<const std::string&>())))
        return Message::from_json(unsupported_version_error(request.id(), version));
    for (auto key : {meta_key::client_capabilities, meta_key::client_info})
        if (const json& value = request_meta(request.json(), key); !value.is_null() && !value.is_object())
            return make_error_message(request.id(), error_code::invalid_params,
                                      "Invalid params: _meta '" + std::string(key) + "' must be an object");
    if (const json& level = request_meta(request.json(), meta_key::log_level); !level.is_null() && !level.is_string())
        return make_error_message(
            request.id(), error_code::invalid_params,
            "Invalid params: _meta '" + std::string(meta_key::log_level) + "' must be a log level name");
    return std::nullopt;
}

// Severity order of MCP log levels (RFC 5424 names); unknown names rank lowest.
int log_severity(const json& level) {
    static constexpr std::string_view levels[] = {"debug", "info",     "notice", "warning",
                                                  "error", "critical", "alert",  "emergency"};
    if (!level.is_string()) return -1;
    for (int i = 0; i < 8; ++i)
        if (level.get_ref<const std::string&>() == levels[i]) return i;
    return -1;
}

// Finished bridged requests kept for their client's retry, at most (the oldest go first).
constexpr std::size_t max_finished_bridges = 10'000;

// The requestState of a request the gateway answered input_required for a session-era upstream.
constexpr std::string_view bridge_token_prefix = "watchgate/input/";

// The session era's methods that 2026-07-28 removed.
bool removed_in_stateless_era(std::string_view method) {
    return method == "ping" || method == "logging/setLevel" || method == "resources/subscribe" ||
           method == "resources/unsubscribe";
}

}  // namespace

asio::awaitable<Message> ClientSession::handle_discover(std::shared_ptr<ClientCall> call, const Message& request) {
    if (auto refused = check_stateless_meta(request)) co_return std::move(*refused);
    if (!initialized_ && !declared_protocol_version(request.json()).is_null()) stateless_client_ = true;
    const json params = initialize_params_for(request_meta(request.json(), meta_key::client_info),
                                              request_meta(request.json(), meta_key::client_capabilities));
    json connect_with = params;
    {
        std::lock_guard lock(mutex_);
        if (initialized_) connect_with = upstream_initialize_params_;
    }
    Connected connected = co_await connect_upstreams(*call->view, connect_with);
    if (!connected.failure.empty())
        co_return make_error_message(call->client_id, error_code::unavailable, connected.failure);
    json versions = json::array();
    for (auto version : all_protocol_versions()) versions.push_back(version);
    json result = {{"supportedVersions", std::move(versions)}, {"capabilities", std::move(connected.capabilities)}};
    if (!connected.instructions.empty()) result["instructions"] = std::move(connected.instructions);
    json response = {{"jsonrpc", "2.0"}, {"id", call->client_id}, {"result", std::move(result)}};
    complete_stateless_result(response, "server/discover");
    co_return Message::from_json(std::move(response));
}

asio::awaitable<std::optional<Message>> ClientSession::connect_for_stateless(const ClientCall& call,
                                                                             const Message& request) {
    if (initialized_) co_return std::nullopt;
    json params = initialize_params_for(call.client_info, call.client_capabilities);
    Connected connected = co_await connect_upstreams(*call.view, params);
    if (!connected.failure.empty())
        co_return make_error_message(request.id(), error_code::unavailable, connected.failure);
    {
        std::lock_guard lock(mutex_);
        if (!initialized_) {
            client_capabilities_ = params["capabilities"];
            upstream_initialize_params_ = std::move(params);
        }
    }
    initialized_ = true;
    if (auto current = view_.load(); current != call.view) connect_added(*call.view, *current);
    co_return std::nullopt;
}

asio::awaitable<Message> ClientSession::handle_stateless(std::shared_ptr<ClientCall> call, Message request) {
    if (auto refused = check_stateless_meta(request)) co_return std::move(*refused);
    const std::string method = request.method();
    const std::string version = declared_protocol_version(request.json()).get<std::string>();
    if (removed_in_stateless_era(method))
        co_return make_error_message(call->client_id, error_code::method_not_found,
                                     "Method not found: " + method + " is not part of MCP " + version +
                                         " (the session era's; a stateless client uses " +
                                         (method == "ping"               ? "server/discover"
                                          : method == "logging/setLevel" ? "_meta 'io.modelcontextprotocol/logLevel'"
                                                                         : "subscriptions/listen") +
                                         ")");
    if (!initialized_) stateless_client_ = true;
    if (call->view->upstreams().empty())
        co_return make_error_message(call->client_id, error_code::method_not_found, "no upstream is configured");
    if (auto failed = co_await connect_for_stateless(*call, request)) co_return std::move(*failed);
    if (method == "subscriptions/listen") co_return co_await handle_listen(call, request);
    if (const auto& state = member(member(request.json(), "params"), "requestState");
        state.is_string() && state.get_ref<const std::string&>().starts_with(bridge_token_prefix)) {
        auto bridge = gateway_->with_bridges([&](auto& bridges) -> std::shared_ptr<InputBridge> {
            auto it = bridges.find(state.get<std::string>());
            return it == bridges.end() ? nullptr : it->second;
        });
        if (!bridge)
            co_return make_error_message(call->client_id, error_code::invalid_params,
                                         "Invalid params: requestState names no request waiting for input (it was "
                                         "answered, or its time ran out)");
        co_return co_await resume_bridged(call, bridge, std::move(request));
    }
    Message answer = co_await call->view->dispatcher.dispatch(call, std::move(request));
    if (member(answer.json(), "result").is_object()) complete_stateless_result(answer.mutable_json(), method);
    std::shared_ptr<InputBridge> bridge;
    {
        std::lock_guard lock(mutex_);
        bridge = call->bridge;
    }
    if (bridge) {
        // Answered input_required already: the answer is the retry's.
        {
            std::lock_guard lock(bridge->mutex);
            bridge->final = answer.json();
        }
        answer_bridge_waiter(bridge);
    }
    co_return answer;
}

bool ClientSession::bridge_to_input_required(const Upstream& upstream, std::int64_t gateway_id,
                                             const Message& request) {
    // Only what the era can ask in inputRequests, of a request that declared it can answer.
    const std::string_view capability = client_capability_for(request.method());
    if (capability.empty()) return false;
    auto declared_by = [&](const std::shared_ptr<ClientCall>& call) {
        return call && member(call->client_capabilities, capability).is_object();
    };
    // Whose question it is: a retry waiting at a bridge of this upstream (a further question; over
    // HTTP the retry is a session of its own, so any session's), else the newest stateless
    // request of this session in flight there, else a bridged request whose retry has not come.
    std::shared_ptr<InputBridge> waited_on, unclaimed;
    gateway_->with_bridges([&](auto& bridges) {
        for (const auto& [token, each] : bridges) {
            if (each->upstream != &upstream) continue;
            std::lock_guard lock(each->mutex);
            if (each->final) continue;
            if (!each->waiting)
                unclaimed = each;
            else if (declared_by(each->waiting))
                waited_on = each;
        }
    });
    std::shared_ptr<InputBridge> bridge = waited_on;
    if (!bridge) {
        std::shared_ptr<ClientCall> owner;
        std::shared_ptr<InputBridge> created;
        {
            std::lock_guard lock(mutex_);
            for (const auto& [id, call] : calls_)
                // The era asks for input in the results of these only.
                if (call->stateless && !call->answered && call->went_to(upstream.name()) &&
                    (call->method == "tools/call" || call->method == "prompts/get" ||
                     call->method == "resources/read") &&
                    (!owner || call->arrived > owner->arrived))
                    owner = call;
            if (!declared_by(owner)) owner = nullptr;
            if (owner && !owner->bridge) {
                created = std::make_shared<InputBridge>();
                created->token = std::string(bridge_token_prefix) + random_hex(16);
                created->upstream = &upstream;
                created->origin = weak_from_this();
                created->method = owner->method;
                created->subject = context_->subject;
                created->waiting = owner;
                created->waiting_session = shared_from_this();
                owner->bridge = created;
            }
            if (owner) bridge = owner->bridge;
        }
        if (created)
            gateway_->with_bridges([&](auto& bridges) {
                // Done ones the client never came back for, and those whose request ended
                // without an answer, leave.
                const auto now = Clock::now();
                std::erase_if(bridges, [&](const auto& entry) {
                    std::lock_guard lock(entry.second->mutex);
                    return entry.second->final ? now - entry.second->created > std::chrono::minutes(10)
                                               : entry.second->origin.expired();
                });
                // Answers waiting for a retry are bounded by count too: past it, the oldest go
                // (their retry gets the unknown-requestState error). Unfinished ones are bounded
                // by the requests in flight.
                std::vector<std::pair<Clock::time_point, std::string>> finished;
                for (const auto& [token, waiting] : bridges) {
                    std::lock_guard lock(waiting->mutex);
                    if (waiting->final) finished.emplace_back(waiting->created, token);
                }
                if (finished.size() >= max_finished_bridges) {
                    std::sort(finished.begin(), finished.end());
                    for (std::size_t i = 0; i + max_finished_bridges <= finished.size(); ++i)
                        bridges.erase(finished[i].second);
                }
                bridges[created->token] = created;
            });
    }
    if (!bridge) bridge = unclaimed;
    if (!bridge) return false;
    // The question waits for its answer in the bridged request's session, which lives until the
    // upstream answers that request (this one may be a retry's, ending with its own answer).
    std::shared_ptr<ClientSession> holder = bridge->origin.lock();
    std::int64_t id = gateway_id;
    if (holder && holder.get() != this) {
        std::shared_ptr<ServerCall> moved;
        {
            std::lock_guard lock(mutex_);
            if (auto it = server_calls_.find(gateway_id); it != server_calls_.end()) {
                moved = std::move(it->second);
                server_calls_.erase(it);
            }
        }
        if (moved) {
            std::lock_guard lock(holder->mutex_);
            id = holder->next_server_id_++;
            holder->server_calls_.emplace(id, std::move(moved));
        }
    }
    if (!holder) holder = shared_from_this();
    {
        json ask = {{"method", request.method()}};
        if (const auto& params = member(request.json(), "params"); !params.is_null()) ask["params"] = params;
        // Keyed by session and id: the sessions of a bridge number their questions apart.
        const std::string key = std::to_string(holder->id_) + "." + std::to_string(id);
        std::lock_guard lock(bridge->mutex);
        bridge->asks[key] = ask;
        bridge->open[key] = {holder, id, std::move(ask)};
    }
    answer_bridge_waiter(bridge);
    return true;
}

void ClientSession::answer_bridge_waiter(const std::shared_ptr<InputBridge>& bridge) {
    std::shared_ptr<ClientCall> waiting;
    std::shared_ptr<ClientSession> owner;
    json response;
    bool done = false;
    {
        std::lock_guard lock(bridge->mutex);
        if (!bridge->waiting || (!bridge->final && bridge->asks.empty())) return;
        waiting = std::exchange(bridge->waiting, nullptr);
        owner = std::exchange(bridge->waiting_session, nullptr);
        if (bridge->final) {
            response = *bridge->final;
            done = true;
        } else {
            response = {{"jsonrpc", "2.0"},
                        {"result",
                         {{"resultType", "input_required"},
                          {"inputRequests", std::exchange(bridge->asks, json::object())},
                          {"requestState", bridge->token}}}};
        }
    }
    if (done) gateway_->with_bridges([&](auto& bridges) { bridges.erase(bridge->token); });
    response["id"] = waiting->client_id;
    complete_stateless_result(response, bridge->method);
    owner->answer_once(waiting, Message::from_json(std::move(response)));
    owner->flow_.notify_all();  // a retry waiting in resume_bridged
}

asio::awaitable<Message> ClientSession::resume_bridged(std::shared_ptr<ClientCall> call,
                                                       std::shared_ptr<InputBridge> bridge, Message request) {
    if (bridge->subject != context_->subject || bridge->method != call->method)
        co_return make_error_message(call->client_id, error_code::invalid_params,
                                     "Invalid params: requestState belongs to another request");
    // Each answer goes to the upstream as the client's response to the question, through the
    // plugins, as a session-era client's would; a question left unanswered is asked again.
    const auto& responses = member(member(request.json(), "params"), "inputResponses");
    std::vector<std::pair<std::shared_ptr<ClientSession>, Message>> answers;
    {
        std::lock_guard lock(bridge->mutex);
        for (auto it = bridge->open.begin(); it != bridge->open.end();) {
            const json& given = responses.is_object() ? member(responses, it->first) : responses;
            if (!responses.is_object() || given.is_null()) {
                bridge->asks[it->first] = it->second.ask;
                ++it;
                continue;
            }
            if (auto asked = it->second.session.lock())
                answers.emplace_back(
                    std::move(asked),
                    Message::from_json(json{{"jsonrpc", "2.0"}, {"id", it->second.id}, {"result", given}}));
            it = bridge->open.erase(it);
        }
    }
    for (auto& [asked, answer] : answers) co_await asked->handle_client_response(std::move(answer));
    {
        std::lock_guard lock(bridge->mutex);
        if (bridge->waiting)
            co_return make_error_message(call->client_id, error_code::invalid_request,
                                         "Invalid Request: another retry of this request is already waiting");
        bridge->waiting = call;
        bridge->waiting_session = shared_from_this();
    }
    answer_bridge_waiter(bridge);
    // Until its answer (or the next question), its time runs out, or its client gives up.
    co_await flow_.wait_until([&call] { return call->answered.load() || call->is_cancelled(); },
                              call->deadline_point());
    {
        std::lock_guard lock(bridge->mutex);
        if (bridge->waiting == call) {
            bridge->waiting = nullptr;
            bridge->waiting_session = nullptr;
        }
    }
    co_return make_error_message(call->client_id, error_code::timeout, "the upstream did not answer in time");
}

asio::awaitable<Message> ClientSession::handle_listen(std::shared_ptr<ClientCall> call, const Message& request) {
    const json& filter = member(member(request.json(), "params"), "notifications");
    if (!filter.is_object())
        co_return make_error_message(call->client_id, error_code::invalid_params,
                                     "Invalid params: subscriptions/listen needs params.notifications as an object");
    const json& uris = member(filter, "resourceSubscriptions");
    if (!uris.is_null() &&
        !(uris.is_array() && std::all_of(uris.begin(), uris.end(), [](const json& uri) { return uri.is_string(); })))
        co_return make_error_message(call->client_id, error_code::invalid_params,
                                     "Invalid params: notifications.resourceSubscriptions must be a list of URIs");
    // Open until cancelled: its time is not limited.
    call->set_deadline(std::chrono::hours(24 * 365));
    auto subscription = std::make_shared<Subscription>();
    subscription->id = call->client_id;
    subscription->id_text = call->id_text;
    json granted = json::object();
    for (auto [flag, list] : {std::pair{"toolsListChanged", "tools"}, std::pair{"promptsListChanged", "prompts"},
                              std::pair{"resourcesListChanged", "resources"}})
        if (member(filter, flag) == true) {
            subscription->lists.insert(list);
            granted[flag] = true;
        }
    // Each URI is subscribed at its upstream, as a session-era client's resources/subscribe is
    // (through its plugins); only those an upstream accepted are acknowledged.
    auto resource_call = [&](const std::string& method, const std::string& uri) -> asio::awaitable<bool> {
        auto inner = std::make_shared<ClientCall>();
        inner->session = this;
        inner->view = call->view;
        inner->client_id = "watchgate/" + method + "/" + call->id_text;
        inner->id_text = dump_json(inner->client_id);
        inner->method = method;
        inner->set_deadline(call->view->snapshot->config->timeouts.request);
        Message message = Message::from_json(
            {{"jsonrpc", "2.0"}, {"id", inner->client_id}, {"method", method}, {"params", {{"uri", uri}}}});
        Message answer = co_await call->view->dispatcher.dispatch(inner, std::move(message));
        if (const auto& error = member(answer.json(), "error"); !error.is_null()) {
            spdlog::info("{} {} for subscription {} failed: {}", method, uri, call->id_text, dump_json(error));
            co_return false;
        }
        co_return true;
    };
    if (uris.is_array()) {
        json accepted = json::array();
        for (const auto& uri : uris) {
            // Subscribed at the upstream by the first listen of the gateway (any session) that
            // wants it, unsubscribed by the last.
            const std::string text = uri.get<std::string>();
            if (subscription->resource_uris.contains(text)) continue;
            bool subscribed = gateway_->count_resource_listener(text, 1) > 1;
            if (!subscribed) subscribed = co_await resource_call("resources/subscribe", text);
            if (!subscribed) {
                gateway_->count_resource_listener(text, -1);
                continue;
            }
            subscription->resource_uris.insert(text);
            accepted.push_back(uri);
        }
        granted["resourceSubscriptions"] = std::move(accepted);
    }
    // The acknowledgment first: nothing is sent on a subscription before it.
    send_to_client(json{{"jsonrpc", "2.0"},
                        {"method", "notifications/subscriptions/acknowledged"},
                        {"params",
                         {{"_meta", {{std::string(meta_key::subscription_id), call->client_id}}},
                          {"notifications", std::move(granted)}}}},
                   Delivery::related_to(call->id_text));
    {
        std::lock_guard lock(mutex_);
        subscriptions_[call->id_text] = subscription;
    }
    co_await flow_.wait_until([&] { return call->is_cancelled() || draining_.load(); });
    {
        std::lock_guard lock(mutex_);
        subscriptions_.erase(call->id_text);
    }
    for (const auto& uri : subscription->resource_uris)
        if (gateway_->count_resource_listener(uri, -1) == 0) co_await resource_call("resources/unsubscribe", uri);
    if (call->is_cancelled()) {
        // The stateless era answers no cancelled request: the client has forgotten its id.
        answer_once(call, make_error_message(call->client_id, error_code::cancelled, "the subscription was cancelled"),
                    false);
        co_return make_error_message(call->client_id, error_code::cancelled, "the subscription was cancelled");
    }
    // The gateway ends it (shutting down): a completion result says it ended cleanly.
    json response = {{"jsonrpc", "2.0"},
                     {"id", call->client_id},
                     {"result", {{"_meta", {{std::string(meta_key::subscription_id), call->client_id}}}}}};
    complete_stateless_result(response, "subscriptions/listen");
    co_return Message::from_json(std::move(response));
}

void ClientSession::adapt_to_upstream_era(const ClientCall& call, Message& request, const Upstream& upstream) const {
    if (upstream.era() == ProtocolEra::session) {
        if (!declared_protocol_version(request.json()).is_null()) remove_stateless_request_meta(request.mutable_json());
        return;
    }
    if (call.stateless) {
        // The client's own declaration, in the version the upstream speaks.
        json& meta = request.mutable_json()["params"]["_meta"];
        meta[std::string(meta_key::protocol_version)] = upstream.protocol_version();
        return;
    }
    // A session-era client: what it declared at initialize, as a stateless request's _meta.
    json client_info, capabilities, log_level;
    {
        std::lock_guard lock(mutex_);
        client_info = member(upstream_initialize_params_, "clientInfo");
        capabilities = client_capabilities_;
        log_level = upstream_log_level_;
    }
    set_stateless_request_meta(request.mutable_json(), upstream.protocol_version(), client_info, capabilities,
                               log_level);
}

asio::awaitable<std::variant<json, std::string>> ClientSession::ask_client_for_input(std::shared_ptr<ClientCall> call,
                                                                                     std::shared_ptr<Upstream> upstream,
                                                                                     json input_requests) {
    json responses = json::object();
    if (input_requests.is_null()) co_return responses;  // only requestState: simply asked again
    if (!input_requests.is_object()) co_return std::string("inputRequests is not an object");
    for (auto it = input_requests.begin(); it != input_requests.end(); ++it) {
        const std::string method =
            member(it.value(), "method").is_string() ? it.value()["method"].get<std::string>() : "";
        const std::string capability(client_capability_for(method));
        if (capability.empty())
            co_return "input request '" + it.key() + "' asks '" + method +
                "', which is not elicitation/create, sampling/createMessage or roots/list";
        if (!declared(capability))
            co_return "it needs '" + capability + "' (" + method + "), which the client did not declare at initialize";
        json answer = co_await ask_client(call, upstream, method, member(it.value(), "params"));
        if (const auto& error = member(answer, "error"); !error.is_null())
            co_return "the client answered " + method + " with an error: " + dump_json(error);
        responses[it.key()] = member(answer, "result");
    }
    co_return responses;
}

asio::awaitable<json> ClientSession::ask_client(std::shared_ptr<ClientCall> call, std::shared_ptr<Upstream> upstream,
                                                std::string method, json params) {
    auto server_call = std::make_shared<ServerCall>();
    server_call->upstream = upstream;
    server_call->pipeline = call->view->snapshot->plugins->pipeline(upstream->name());
    server_call->answer = std::make_shared<ServerCall::Answer>();
    json body = {{"jsonrpc", "2.0"}, {"id", 0}, {"method", method}};
    if (!params.is_null()) body["params"] = std::move(params);
    Message message = Message::from_json(std::move(body), upstream->name());
    server_call->scope = co_await server_call->pipeline->begin_request_async(message, context_, Flow::to_client);
    auto verdict = co_await server_call->pipeline->process_request_async(*server_call->scope, message);
    if (verdict.reply) co_return *verdict.reply;
    std::int64_t id;
    {
        std::lock_guard lock(mutex_);
        id = next_server_id_++;
        server_calls_.emplace(id, server_call);
    }
    message.set_id(id);
    send_to_client(message, Delivery::related_to(call->id_text));
    auto& answer = *server_call->answer;
    const bool arrived = co_await answer.arrived.wait_until(
        [&answer] {
            std::lock_guard lock(answer.mutex);
            return answer.response.has_value();
        },
        call->deadline_point());
    if (!arrived) {
        std::lock_guard lock(mutex_);
        server_calls_.erase(id);
        co_return make_error_response(id, error_code::timeout, "the client did not answer " + method + " in time");
    }
    std::lock_guard lock(answer.mutex);
    co_return *answer.response;
}

bool ClientSession::deliver_to_stateless(const Message& notification, const std::shared_ptr<ClientCall>& owner,
                                         const Upstream& upstream) {
    const std::string& method = notification.method();
    if (owner) {
        if (owner->answered) return false;  // answered input_required: the client has no such request now
        send_to_client(notification, Delivery::related_to(owner->id_text));
        return true;
    }
    if (method == "notifications/message") {
        // Only for a request that asked for logs at this level (its logLevel), sent with it.
        const int severity = log_severity(member(member(notification.json(), "params"), "level"));
        std::shared_ptr<ClientCall> asked;
        {
            std::lock_guard lock(mutex_);
            for (const auto& [id, call] : calls_)
                if (call->stateless && !call->log_level.is_null() && !call->answered &&
                    severity >= log_severity(call->log_level) && call->went_to(upstream.name()) &&
                    (!asked || call->arrived > asked->arrived))
                    asked = call;
        }
        if (!asked) return false;
        send_to_client(notification, Delivery::related_to(asked->id_text));
        return true;
    }
    if (method == "notifications/resources/updated") {
        const auto& uri = member(member(notification.json(), "params"), "uri");
        std::vector<std::shared_ptr<Subscription>> listeners;
        {
            std::lock_guard lock(mutex_);
            for (const auto& [id, subscription] : subscriptions_)
                if (uri.is_string() && subscription->resource_uris.contains(uri.get<std::string>()))
                    listeners.push_back(subscription);
        }
        for (const auto& subscription : listeners) {
            json tagged = notification.json();  // its params are an object: it names a URI
            json& meta = tagged["params"]["_meta"];
            if (!meta.is_object()) meta = json::object();
            meta[std::string(meta_key::subscription_id)] = subscription->id;
            send_to_client(tagged, Delivery::related_to(subscription->id_text));
        }
        return !listeners.empty();
    }
    return false;  // nothing in the stateless era carries it outside a request or a subscription
}

void ClientSession::announce_list_changed(std::string capability) {
    {
        // Several upstreams changing at once reach the client as one notification.
        std::lock_guard lock(mutex_);
        if (!announcing_.insert(capability).second) return;
    }
    asio::co_spawn(gateway_->work(), send_list_changed_later(shared_from_this(), std::move(capability)),
                   asio::detached);
}

asio::awaitable<void> ClientSession::send_list_changed_later(std::shared_ptr<ClientSession> self,
                                                             std::string capability) {
    // A debounce, not a poll: upstreams restarting together are announced once, 20 ms later.
    co_await async_sleep(std::chrono::milliseconds(20));
    {
        std::lock_guard lock(self->mutex_);
        self->announcing_.erase(capability);
    }
    const std::string method = "notifications/" + capability + "/list_changed";
    if (!self->stateless_client_) {
        self->send_to_client(json{{"jsonrpc", "2.0"}, {"method", method}});
        co_return;
    }
    // A stateless client hears it on each subscription that asked for it, tagged with its id.
    std::vector<std::shared_ptr<Subscription>> listeners;
    {
        std::lock_guard lock(self->mutex_);
        for (const auto& [id, subscription] : self->subscriptions_)
            if (subscription->lists.contains(capability)) listeners.push_back(subscription);
    }
    for (const auto& subscription : listeners)
        self->send_to_client(
            json{{"jsonrpc", "2.0"},
                 {"method", method},
                 {"params", {{"_meta", {{std::string(meta_key::subscription_id), subscription->id}}}}}},
            Delivery::related_to(subscription->id_text));
}

asio::awaitable<void> ClientSession::handle_client_notification(Message notification) {
    const std::string& method = notification.method();
    if (method == "notifications/initialized") co_return;  // each upstream got its own from the gateway
    if (method == "notifications/cancelled") {
        const auto& params = member(notification.json(), "params");
        if (!params.is_object() || !params.contains("requestId")) co_return;
        std::shared_ptr<ClientCall> call;
        {
            std::lock_guard lock(mutex_);
            auto it = calls_.find(dump_json(params["requestId"]));
            if (it != calls_.end()) call = it->second;
        }
        const auto& reason = member(params, "reason");
        if (call) call->cancel(reason.is_string() ? reason.get<std::string>() : "cancelled by the client");
        flow_.notify_all();  // a subscriptions/listen ends
        co_return;
    }
    const auto view = view_.load();
    const auto& plugins = view->snapshot->plugins;
    for (auto& upstream : view->upstreams()) {
        if (upstream->state() != Upstream::State::ready) continue;
        Message copy = notification;
        copy.set_upstream(upstream->name());
        auto verdict = co_await plugins->pipeline(upstream->name())
                           ->process_notification_async(nullptr, copy, Flow::to_upstream, context_.get());
        if (verdict.forwards()) upstream->send(copy);
    }
}

asio::awaitable<void> ClientSession::handle_client_response(Message response) {
    const auto& id = member(response.json(), "id");
    std::shared_ptr<ServerCall> call;
    if (id.is_number_integer()) {
        std::lock_guard lock(mutex_);
        auto it = server_calls_.find(id.get<std::int64_t>());
        if (it != server_calls_.end()) {
            call = std::move(it->second);
            server_calls_.erase(it);
        }
    }
    if (!call) {
        spdlog::warn("client answered request {} that the gateway did not send, dropped", response.id_text());
        co_return;
    }
    response.set_id(call->original_id);
    response.set_upstream(call->upstream->name());
    auto verdict = co_await call->pipeline->process_response_async(*call->scope, response);
    if (call->answer) {
        {
            std::lock_guard lock(call->answer->mutex);
            call->answer->response = verdict.reply ? *verdict.reply : response.json();
        }
        call->answer->arrived.notify_all();
        co_return;
    }
    if (verdict.reply)
        call->upstream->send_json(*verdict.reply);
    else
        call->upstream->send(response);
}

asio::awaitable<void> ClientSession::handle_upstream_message(std::shared_ptr<Upstream> upstream, Message message) {
    const auto view = view_.load();
    auto pipeline = view->snapshot->plugins->pipeline(upstream->name());
    if (message.kind() == MessageKind::notification) {
        const std::string& method = message.method();
        const auto& params = member(message.json(), "params");
        std::shared_ptr<RequestScope> scope;
        std::shared_ptr<ClientCall> owner;  // the request a progress notification is about
        if (method == "notifications/progress" && params.is_object() && params.contains("progressToken")) {
            {
                std::lock_guard lock(mutex_);
                auto it = progress_.find(dump_json(params["progressToken"]));
                if (it != progress_.end()) owner = it->second.lock();
            }
            if (owner) scope = owner->scope_at(upstream->name());
        }
        if (method == "notifications/cancelled" && params.is_object() && params.contains("requestId")) {
            // The upstream gives up on a request it sent: the client knows it by the gateway's id.
            std::optional<std::int64_t> gateway_id;
            {
                std::lock_guard lock(mutex_);
                for (auto& [id, call] : server_calls_)
                    if (call->upstream == upstream && call->original_id == params["requestId"]) gateway_id = id;
            }
            if (!gateway_id) co_return;  // nothing the client knows of
            message.mutable_json()["params"]["requestId"] = *gateway_id;
        }
        auto verdict =
            co_await pipeline->process_notification_async(scope.get(), message, Flow::to_client, context_.get());
        if (!verdict.forwards()) co_return;
        for (std::string_view list : list_capabilities)
            if (method == "notifications/" + std::string(list) + "/list_changed") {
                announce_list_changed(std::string(list));
                co_return;
            }
        if (view->snapshot->config->namespace_names) namespace_notification(message, upstream->name());
        if (stateless_client_) {
            if (!deliver_to_stateless(message, owner, *upstream))
                spdlog::debug("[{}] {} not sent: the stateless client did not ask for it", upstream->name(), method);
            co_return;
        }
        send_to_client(message, owner ? Delivery::related_to(owner->id_text) : Delivery::unrelated());
        co_return;
    }
    if (stateless_client_ && message.method() == "ping") {
        // The stateless era has no ping: the gateway answers for its client.
        upstream->send_json(json{{"jsonrpc", "2.0"}, {"id", message.id()}, {"result", json::object()}});
        co_return;
    }
    // A server -> client request: the client sees a gateway id, the upstream gets its own back.
    auto call = std::make_shared<ServerCall>();
    call->upstream = upstream;
    call->original_id = message.id();
    call->pipeline = pipeline;
    call->scope = co_await pipeline->begin_request_async(message, context_, Flow::to_client);
    auto verdict = co_await pipeline->process_request_async(*call->scope, message);
    if (verdict.reply) {
        json reply = *verdict.reply;
        reply["id"] = call->original_id;
        upstream->send_json(reply);
        co_return;
    }
    std::int64_t id;
    {
        std::lock_guard lock(mutex_);
        id = next_server_id_++;
        server_calls_.emplace(id, call);
    }
    message.set_id(id);
    if (stateless_client_) {
        if (bridge_to_input_required(*upstream, id, message)) co_return;
        {
            std::lock_guard lock(mutex_);
            server_calls_.erase(id);
        }
        upstream->send_json(
            make_error_response(call->original_id, error_code::invalid_request,
                                "the gateway's client speaks MCP 2026-07-28: it can be asked " + message.method() +
                                    " only during one of its requests that declared the capability it needs"));
        co_return;
    }
    // Most likely asked on behalf of the newest request in flight there (sampling during a tool
    // call): a transport with a stream per request sends it on that one.
    const std::string related = newest_call_at(*upstream);
    send_to_client(message, related.empty() ? Delivery::unrelated() : Delivery::related_to(related));
}

void ClientSession::hurry() {
    hurry_ = true;
    flow_.notify_all();
}

asio::awaitable<void> ClientSession::wait_until_handled(Clock::duration limit) {
    co_await flow_.wait_until([this] { return running_ == 0; }, Clock::now() + limit);
}

asio::awaitable<void> ClientSession::wait_for_answers(Clock::duration limit) {
    co_await flow_.wait_until([this] { return requests_in_flight() == 0; }, Clock::now() + limit);
}

asio::awaitable<void> ClientSession::drain(std::chrono::milliseconds grace) {
    draining_ = true;
    flow_.notify_all();  // subscriptions/listen requests end, with a completion result
    // A second stop request (hurry) ends only the grace period; the short wait for the answers
    // of cancelled requests stays, so each still gets its one answer.
    co_await flow_.wait_until([this] { return requests_in_flight() == 0 || hurry_; }, Clock::now() + grace);
    std::vector<std::shared_ptr<ClientCall>> remaining;
    {
        std::lock_guard lock(mutex_);
        for (auto& [id, call] : calls_) remaining.push_back(call);
    }
    if (remaining.empty()) co_return;
    spdlog::warn("{} requests still in flight after the grace period: answering them with an error", remaining.size());
    for (auto& call : remaining) call->cancel("the gateway is shutting down");
    co_await wait_for_answers(std::chrono::seconds(2));
}

bool ClientSession::declared(std::string_view capability) const {
    std::lock_guard lock(mutex_);
    return client_capabilities_.contains(capability);
}

std::optional<Clock::time_point> ClientSession::oldest_request_at(const Upstream& upstream) const {
    std::optional<Clock::time_point> oldest;
    std::lock_guard lock(mutex_);
    for (const auto& [id, call] : calls_)
        if ((!oldest || call->arrived < *oldest) && call->went_to(upstream.name())) oldest = call->arrived;
    return oldest;
}

std::string ClientSession::newest_call_at(const Upstream& upstream) const {
    std::shared_ptr<ClientCall> newest;
    std::lock_guard lock(mutex_);
    for (const auto& [id, call] : calls_)
        if ((!newest || call->arrived > newest->arrived) && !call->answered && call->went_to(upstream.name()))
            newest = call;
    return newest ? newest->id_text : std::string();
}

bool ClientSession::has_server_call(const Upstream& upstream, const json& original_id) const {
    std::lock_guard lock(mutex_);
    for (const auto& [id, call] : server_calls_)
        if (call->upstream.get() == &upstream && call->original_id == original_id) return true;
    return false;
}

std::string ClientSession::upstream_progress_token(SessionId session, const json& token) {
    return std::to_string(session) + "/" + dump_json(token);
}

std::optional<std::pair<SessionId, json>> ClientSession::client_progress_token(const json& token) {
    if (!token.is_string()) return std::nullopt;
    const std::string& text = token.get_ref<const std::string&>();
    const auto slash = text.find('/');
    if (slash == std::string::npos || slash == 0) return std::nullopt;
    SessionId session = 0;
    for (char digit : std::string_view(text).substr(0, slash)) {
        if (digit < '0' || digit > '9') return std::nullopt;
        session = session * 10 + static_cast<SessionId>(digit - '0');
    }
    json original = json::parse(text.begin() + static_cast<std::ptrdiff_t>(slash) + 1, text.end(), nullptr, false);
    if (original.is_discarded()) return std::nullopt;
    return std::make_pair(session, std::move(original));
}

}  // namespace watchgate::core
