#include <watchgate/core/gateway.hpp>

#include <watchgate/core/version.hpp>

#include <watchgate/core/async_sleep.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <spdlog/spdlog.h>

#include <algorithm>

namespace watchgate::core {

namespace asio = boost::asio;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

const std::vector<std::string> supported_protocol_versions = {"2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25"};

struct Gateway::ClientCall {
    std::string id_text;
    json id;
    std::shared_ptr<CallHandle> handle = std::make_shared<CallHandle>();
    std::shared_ptr<const Pipeline> pipeline;
    std::unique_ptr<RequestScope> scope;
    std::string progress_token;  // JSON text, empty when none
};

struct Gateway::ServerCall {
    std::shared_ptr<Upstream> upstream;
    json original_id;
    std::shared_ptr<const Pipeline> pipeline;
    std::unique_ptr<RequestScope> scope;
};

namespace {

// The newest version both sides speak: the client's when the gateway knows it, else the newest.
std::string negotiate_version(const json& params) {
    auto requested = params.is_object() ? params.value("protocolVersion", std::string()) : std::string();
    auto known = std::find(supported_protocol_versions.begin(), supported_protocol_versions.end(), requested);
    return known != supported_protocol_versions.end() ? requested : supported_protocol_versions.back();
}

}  // namespace

std::shared_ptr<Gateway> Gateway::create(asio::any_io_executor executor, GatewayConfig config,
                                         std::shared_ptr<PluginHost> plugins, ClientSink sink) {
    std::shared_ptr<Gateway> gateway(new Gateway());
    gateway->executor_ = executor;
    gateway->config_ = std::move(config);
    gateway->plugins_ = std::move(plugins);
    gateway->sink_ = std::move(sink);
    std::weak_ptr<Gateway> weak = gateway;
    for (const auto& upstream : gateway->config_.upstreams) {
        gateway->upstreams_.push_back(std::make_shared<Upstream>(
            executor, upstream, gateway->config_.max_message_size, [weak](Upstream& from, Message message) {
                if (auto self = weak.lock()) self->on_upstream_message(from, std::move(message));
            }));
    }
    return gateway;
}

void Gateway::start() {
    for (auto& upstream : upstreams_) upstream->spawn();
}

std::size_t Gateway::requests_in_flight() const {
    std::lock_guard lock(mutex_);
    return calls_.size();
}

void Gateway::send_to_client(const json& message) { sink_(dump_json(message)); }
void Gateway::send_to_client(const Message& message) { sink_(message.serialize()); }

void Gateway::on_client_oversize() {
    send_to_client(make_error_response(nullptr, error_code::invalid_request,
                                       "Invalid Request: line longer than " + std::to_string(config_.max_message_size) +
                                           " bytes (max_message_size_mb)"));
}

void Gateway::on_client_line(std::string line) {
    auto parsed = Message::parse(std::move(line));
    if (auto* error = std::get_if<MessageError>(&parsed)) {
        send_to_client(make_error_response(error->id, error->code, error->message));
        return;
    }
    Message message = std::move(std::get<Message>(parsed));
    switch (message.kind()) {
        case MessageKind::notification:
            return handle_client_notification(std::move(message));
        case MessageKind::response:
            return handle_client_response(std::move(message));
        case MessageKind::request:
            break;
    }
    if (shutting_down_) {
        send_to_client(make_error_response(message.id(), error_code::unavailable, "the gateway is shutting down"));
        return;
    }
    auto call = std::make_shared<ClientCall>();
    call->id_text = message.id_text();
    call->id = message.id();
    if (const auto& params = member(message.json(), "params"); params.is_object()) {
        if (auto meta = params.find("_meta");
            meta != params.end() && meta->is_object() && meta->contains("progressToken"))
            call->progress_token = dump_json((*meta)["progressToken"]);
    }
    {
        // Registered before the coroutine starts, so a cancellation right behind it finds it.
        std::lock_guard lock(mutex_);
        if (!calls_.emplace(call->id_text, call).second) {
            send_to_client(make_error_response(
                message.id(), error_code::invalid_request,
                "Invalid Request: id " + call->id_text + " is already used by a request in flight"));
            return;
        }
        if (!call->progress_token.empty()) progress_[call->progress_token] = call;
    }
    asio::co_spawn(executor_, handle_request(call, std::move(message)), asio::detached);
}

void Gateway::finish(const std::shared_ptr<ClientCall>& call) {
    // Only this call's entries: the client may already have reused the id or the token.
    std::lock_guard lock(mutex_);
    if (auto it = calls_.find(call->id_text); it != calls_.end() && it->second == call) calls_.erase(it);
    if (auto it = progress_.find(call->progress_token); it != progress_.end() && it->second.lock() == call)
        progress_.erase(it);
}

std::shared_ptr<Upstream> Gateway::route(const Message&) const {
    // One upstream for now; namespaced routing across several comes with aggregation.
    return upstreams_.empty() ? nullptr : upstreams_.front();
}

asio::awaitable<void> Gateway::handle_request(std::shared_ptr<ClientCall> call, Message request) {
    auto self = shared_from_this();  // the frame may outlive every other owner
    struct Finish {
        Gateway* self;
        std::shared_ptr<ClientCall> call;
        ~Finish() { self->finish(call); }
    } finish_on_exit{this, call};
    // The call leaves the in-flight table before its answer goes out, so the client may reuse the
    // id as soon as it has the answer.
    auto answer = [&](const auto& message) {
        finish(call);
        send_to_client(message);
    };
    try {
        if (request.method() == "initialize") {
            answer(co_await handle_initialize(request));
            co_return;
        }
        if (request.method() == "ping") {
            answer(json{{"jsonrpc", "2.0"}, {"id", call->id}, {"result", json::object()}});
            co_return;
        }
        auto upstream = route(request);
        if (!upstream) {
            answer(make_error_response(call->id, error_code::method_not_found, "no upstream is configured"));
            co_return;
        }
        if (!initialized_) {
            answer(make_error_response(call->id, error_code::unavailable,
                                       "the gateway is not initialized: send initialize first"));
            co_return;
        }
        request.set_upstream(upstream->name());
        call->pipeline = plugins_->pipeline(upstream->name());
        call->scope = call->pipeline->begin_request(request);
        auto verdict = call->pipeline->process_request(*call->scope, request);
        if (verdict.reply) {
            answer(*verdict.reply);
            co_return;
        }
        UpstreamReply reply = co_await upstream->send_and_receive(request, call->handle);
        if (!reply.response) {
            answer(make_error_response(call->id, reply.error_code, reply.error_message));
            co_return;
        }
        Message& response = *reply.response;
        response.set_id(call->id);  // the client's id, restored
        auto response_verdict = call->pipeline->process_response(*call->scope, response);
        if (response_verdict.reply)
            answer(*response_verdict.reply);
        else
            answer(response);
    } catch (const std::exception& e) {
        // Nothing is lost: whatever failed, the request gets its one answer.
        spdlog::error("request {} failed: {}", call->id_text, e.what());
        answer(make_error_response(call->id, error_code::internal, std::string("Internal error: ") + e.what()));
    }
}

asio::awaitable<json> Gateway::handle_initialize(const Message& request) {
    const json params = request.json().value("params", json::object());
    const std::string version = negotiate_version(params);
    json upstream_params = params;
    upstream_params["protocolVersion"] = version;
    json capabilities = json::object();
    std::string instructions;
    std::vector<std::string> failures;
    for (auto& upstream : upstreams_) {
        std::string error = co_await upstream->connect(upstream_params);
        if (!error.empty()) {
            failures.push_back(error);
            continue;
        }
        json result = upstream->initialize_result();
        if (auto caps = result.find("capabilities"); caps != result.end() && caps->is_object())
            for (auto it = caps->begin(); it != caps->end(); ++it)
                if (!capabilities.contains(it.key())) capabilities[it.key()] = it.value();
        if (auto text = result.find("instructions"); text != result.end() && text->is_string())
            instructions += (instructions.empty() ? "" : "\n\n") + text->get<std::string>();
    }
    if (failures.size() == upstreams_.size() && !upstreams_.empty()) {
        std::string text;
        for (const auto& failure : failures) text += (text.empty() ? "" : "; ") + failure;
        co_return make_error_response(request.id(), error_code::unavailable,
                                      "no upstream could be initialized: " + text);
    }
    // Plugins may change tool lists at any time (renames, pins): the gateway always announces it.
    if (capabilities.contains("tools")) capabilities["tools"]["listChanged"] = true;
    json result = {{"protocolVersion", version},
                   {"capabilities", capabilities},
                   {"serverInfo", {{"name", "watchgate"}, {"version", version_text}}}};
    if (!instructions.empty()) result["instructions"] = instructions;
    initialized_ = true;
    co_return json{{"jsonrpc", "2.0"}, {"id", request.id()}, {"result", std::move(result)}};
}

void Gateway::handle_client_notification(Message notification) {
    const std::string& method = notification.method();
    if (method == "notifications/initialized") return;  // each upstream got its own from the gateway
    if (method == "notifications/cancelled") {
        const auto& params = member(notification.json(), "params");
        if (!params.is_object() || !params.contains("requestId")) return;
        std::shared_ptr<ClientCall> call;
        {
            std::lock_guard lock(mutex_);
            auto it = calls_.find(dump_json(params["requestId"]));
            if (it != calls_.end()) call = it->second;
        }
        if (call) call->handle->cancel(params.value("reason", std::string("cancelled by the client")));
        return;
    }
    for (auto& upstream : upstreams_) {
        if (upstream->state() != Upstream::State::ready) continue;
        Message copy = notification;
        copy.set_upstream(upstream->name());
        auto verdict = plugins_->pipeline(upstream->name())->process_notification(nullptr, copy);
        if (verdict.forwards()) upstream->send(copy);
    }
}

void Gateway::handle_client_response(Message response) {
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
        return;
    }
    response.set_id(call->original_id);
    response.set_upstream(call->upstream->name());
    auto verdict = call->pipeline->process_response(*call->scope, response);
    if (verdict.reply)
        call->upstream->send_json(*verdict.reply);
    else
        call->upstream->send(response);
}

void Gateway::on_upstream_message(Upstream& from, Message message) {
    auto upstream = from.shared_from_this();
    auto pipeline = plugins_->pipeline(upstream->name());
    if (message.kind() == MessageKind::notification) {
        std::shared_ptr<ClientCall> owner;
        if (message.method() == "notifications/progress") {
            const auto& params = member(message.json(), "params");
            if (params.is_object() && params.contains("progressToken")) {
                std::lock_guard lock(mutex_);
                auto it = progress_.find(dump_json(params["progressToken"]));
                if (it != progress_.end()) owner = it->second.lock();
            }
        }
        auto verdict = pipeline->process_notification(owner && owner->scope ? owner->scope.get() : nullptr, message);
        if (verdict.forwards()) send_to_client(message);
        return;
    }
    // A server -> client request: the client sees a gateway id, the upstream gets its own back.
    auto call = std::make_shared<ServerCall>();
    call->upstream = upstream;
    call->original_id = message.id();
    call->pipeline = pipeline;
    call->scope = pipeline->begin_request(message);
    auto verdict = pipeline->process_request(*call->scope, message);
    if (verdict.reply) {
        json reply = *verdict.reply;
        reply["id"] = call->original_id;
        upstream->send_json(reply);
        return;
    }
    std::int64_t id;
    {
        std::lock_guard lock(mutex_);
        id = next_server_id_++;
        server_calls_.emplace(id, call);
    }
    message.set_id(id);
    send_to_client(message);
}

asio::awaitable<void> Gateway::shutdown() {
    shutting_down_ = true;
    // Waits until every request in flight has had its answer, or `limit` has passed.
    auto answers_out = [this](Clock::duration limit) -> asio::awaitable<void> {
        const auto deadline = Clock::now() + limit;
        while (requests_in_flight() > 0 && Clock::now() < deadline) co_await async_sleep(std::chrono::milliseconds(5));
    };
    co_await answers_out(config_.shutdown_grace);
    std::vector<std::shared_ptr<ClientCall>> remaining;
    {
        std::lock_guard lock(mutex_);
        for (auto& [id, call] : calls_) remaining.push_back(call);
    }
    if (!remaining.empty()) {
        spdlog::warn("{} requests still in flight after the grace period: answering them with an error",
                     remaining.size());
        for (auto& call : remaining) call->handle->cancel("the gateway is shutting down");
        co_await answers_out(std::chrono::seconds(2));
    }
    for (auto& upstream : upstreams_) {
        co_await upstream->stop(std::chrono::milliseconds(2000));
        co_await answers_out(std::chrono::seconds(2));  // stopping answered what was still pending there
        auto c = upstream->counters();
        spdlog::info(
            "[{}] requests: {} total, {} in flight, {} most in flight, {} timeouts, {} rejected, {} failed, "
            "{} restarts",
            upstream->name(), c.total, c.in_flight, c.most_in_flight, c.timeouts, c.rejections, c.failures, c.restarts);
    }
}

}  // namespace watchgate::core
