#include <watchgate/core/upstream/rpc_channel.hpp>

#include <watchgate/core/protocol/request_headers.hpp>
#include <watchgate/core/protocol/stateless_meta.hpp>

#include <watchgate/core/protocol/error_codes.hpp>

#include <boost/asio/use_awaitable.hpp>

#include <spdlog/spdlog.h>

#include <vector>

namespace watchgate::core {

namespace asio = boost::asio;
using nlohmann::json;

namespace {

UpstreamReply error_reply(int code, std::string message) {
    return UpstreamReply{std::nullopt, 0, code, std::move(message)};
}

}  // namespace

// ---- CallHandle ----

void CallHandle::cancel(std::string reason) {
    std::shared_ptr<RpcChannel> channel;
    std::optional<std::int64_t> id;
    {
        std::lock_guard lock(mutex_);
        if (cancelled_) return;
        cancelled_ = reason;
        channel = channel_.lock();
        id = upstream_id_;
    }
    if (channel && id) channel->cancel(*id, reason);
}

std::optional<std::int64_t> CallHandle::upstream_id() const {
    std::lock_guard lock(mutex_);
    return upstream_id_;
}

// ---- RpcChannel ----

std::shared_ptr<RpcChannel> RpcChannel::create(asio::any_io_executor executor, std::string upstream_name) {
    std::shared_ptr<RpcChannel> channel(new RpcChannel(executor, std::move(upstream_name)));
    channel->deadlines_ = DeadlineTimer::create(executor, [weak = channel->weak_from_this()](Clock::time_point now) {
        auto self = weak.lock();
        return self ? self->expire(now) : std::nullopt;
    });
    return channel;
}

MetricSeries& upstream_bytes_metric(const std::string& upstream, const char* direction) {
    return process_metrics()
        .family("watchgate_upstream_bytes_total",
                "Bytes of JSON-RPC messages sent to the upstream and received from it (a newline each)",
                MetricKind::counter, {"upstream", "direction"})
        .series({upstream, direction});
}

RpcChannel::RpcChannel(asio::any_io_executor executor, std::string upstream_name)
    : executor_(std::move(executor)),
      name_(std::move(upstream_name)),
      bytes_sent_(upstream_bytes_metric(name_, "sent")) {}

void RpcChannel::attach(std::shared_ptr<UpstreamTransport> transport) {
    std::lock_guard lock(mutex_);
    transport_ = std::move(transport);
}

std::uint64_t RpcChannel::timeouts() const {
    std::lock_guard lock(mutex_);
    return timeouts_;
}

asio::awaitable<std::optional<UpstreamReply>> RpcChannel::call(Message& request, std::shared_ptr<CallHandle> handle,
                                                               Clock::time_point deadline,
                                                               std::chrono::milliseconds timeout) {
    auto reply = std::make_shared<ReplyChannel>(executor_, 1);
    std::int64_t id = 0;
    std::shared_ptr<UpstreamTransport> transport;
    {
        std::lock_guard lock(mutex_);
        if (!transport_) co_return std::nullopt;
        transport = transport_;
        id = next_id_++;
        pending_.emplace(id, Pending{reply, deadline, timeout, transport, 0});
    }
    deadlines_->watch(deadline);
    request.set_id(id);
    UpstreamTransport::Ticket ticket = 0;
    if (handle) {
        // Published and written under the handle's lock: a cancellation either comes first (and
        // nothing is sent) or after the request is on its way (and then follows it upstream).
        std::unique_lock lock(handle->mutex_);
        if (handle->cancelled_) {
            std::string reason = *handle->cancelled_;
            lock.unlock();
            {
                std::lock_guard table(mutex_);
                pending_.erase(id);
            }
            co_return error_reply(error_code::cancelled, "request cancelled: " + reason);
        }
        handle->channel_ = weak_from_this();
        handle->upstream_id_ = id;
    }
    UpstreamTransport::Headline headline;
    if (transport->wants_headline()) {
        headline = {request.method(), mirrored_name(request.json()), {}};
        if (const auto& version = declared_protocol_version(request.json()); version.is_string())
            headline.stateless_version = version.get<std::string>();
    }
    std::string line = request.serialize();
    bytes_sent_.add(static_cast<double>(line.size() + 1));
    ticket = transport->send_request(std::move(line), id, std::move(headline));
    {
        std::lock_guard lock(mutex_);
        if (auto it = pending_.find(id); it != pending_.end()) it->second.ticket = ticket;
    }
    // One answer always comes: the response, a cancellation, fail_all or the deadline.
    co_return co_await reply->async_receive(asio::use_awaitable);
}

void RpcChannel::send(std::string line) {
    std::shared_ptr<UpstreamTransport> transport;
    {
        std::lock_guard lock(mutex_);
        transport = transport_;
    }
    if (!transport) return;
    bytes_sent_.add(static_cast<double>(line.size() + 1));  // with its newline, as framed
    transport->send(std::move(line));
}

void RpcChannel::abandon(std::int64_t upstream_id, const Pending& pending, const std::string& reason) {
    // Not yet written: taken out of the queue, and the upstream never hears of it.
    if (auto transport = pending.transport.lock(); transport && pending.ticket && transport->withdraw(pending.ticket))
        return;
    send(dump_json({{"jsonrpc", "2.0"},
                    {"method", "notifications/cancelled"},
                    {"params", {{"requestId", upstream_id}, {"reason", reason}}}}));
}

std::optional<RpcChannel::Clock::time_point> RpcChannel::expire(Clock::time_point now) {
    std::vector<std::pair<std::int64_t, Pending>> expired;
    std::optional<Clock::time_point> next;
    {
        std::lock_guard lock(mutex_);
        for (auto it = pending_.begin(); it != pending_.end();) {
            if (it->second.deadline <= now) {
                expired.emplace_back(it->first, std::move(it->second));
                it = pending_.erase(it);
            } else {
                next = next ? std::min(*next, it->second.deadline) : it->second.deadline;
                ++it;
            }
        }
        timeouts_ += expired.size();
    }
    for (auto& [id, pending] : expired) {
        abandon(id, pending, "request timed out in the gateway");
        pending.reply->try_send(
            boost::system::error_code(),
            error_reply(error_code::timeout, "request timed out after " + std::to_string(pending.timeout.count()) +
                                                 " ms waiting for upstream '" + name_ + "'"));
    }
    return next;
}

bool RpcChannel::cancel(std::int64_t upstream_id, const std::string& reason) {
    Pending pending;
    {
        std::lock_guard lock(mutex_);
        auto it = pending_.find(upstream_id);
        if (it == pending_.end()) return false;
        pending = std::move(it->second);
        pending_.erase(it);
    }
    abandon(upstream_id, pending, reason);
    pending.reply->try_send(boost::system::error_code(),
                            error_reply(error_code::cancelled, "request cancelled: " + reason));
    return true;
}

void RpcChannel::deliver(Message response, std::uint64_t messages_before) {
    const auto& id = member(response.json(), "id");
    if (!id.is_number_integer()) {
        spdlog::warn("[{}] response with an id the gateway never sent ({}), dropped", name_, response.id_text());
        return;
    }
    std::shared_ptr<ReplyChannel> reply;
    {
        std::lock_guard lock(mutex_);
        auto it = pending_.find(id.get<std::int64_t>());
        if (it == pending_.end()) {
            spdlog::debug("[{}] late response for request {} (timed out or cancelled), dropped", name_,
                          response.id_text());
            return;
        }
        reply = it->second.reply;
        pending_.erase(it);
    }
    reply->try_send(boost::system::error_code(), UpstreamReply{std::move(response), messages_before, 0, {}});
}

void RpcChannel::refuse_answer(const json& id, const std::string& why) {
    spdlog::warn("[{}] dropped an answer that is not valid JSON-RPC: {}", name_, why);
    if (!id.is_number_integer()) return;  // nothing to tell whose answer it was
    fail(id.get<std::int64_t>(), error_code::bad_answer, "upstream '" + name_ + "' sent an invalid answer: " + why);
}

bool RpcChannel::fail(std::int64_t id, int code, const std::string& message) {
    std::shared_ptr<ReplyChannel> reply;
    {
        std::lock_guard lock(mutex_);
        auto it = pending_.find(id);
        if (it == pending_.end()) return false;
        reply = it->second.reply;
        pending_.erase(it);
    }
    reply->try_send(boost::system::error_code(), error_reply(code, message));
    return true;
}

bool RpcChannel::awaiting(std::int64_t id) const {
    std::lock_guard lock(mutex_);
    return pending_.count(id) > 0;
}

std::size_t RpcChannel::fail_all(int code, const std::string& message) {
    std::map<std::int64_t, Pending> failed;
    {
        std::lock_guard lock(mutex_);
        failed.swap(pending_);
    }
    for (auto& [id, pending] : failed) pending.reply->try_send(boost::system::error_code(), error_reply(code, message));
    return failed.size();
}

}  // namespace watchgate::core
