#include <watchgate/core/upstream/upstream_pool.hpp>

namespace watchgate::core {

namespace asio = boost::asio;

UpstreamPool::UpstreamPool(asio::any_io_executor executor, const GatewayConfig& config,
                           UpstreamTransportFactory transports, Events events)
    : executor_(std::move(executor)),
      max_message_size_(config.max_message_size),
      configs_(config.upstreams),
      transports_(std::move(transports)),
      events_(std::move(events)) {
    for (const auto& upstream : configs_)
        shared_.push_back(upstream.sharing == UpstreamSharing::shared ? make(upstream, 0) : nullptr);
}

std::shared_ptr<Upstream> UpstreamPool::make(const UpstreamConfig& config, SessionId owner) {
    auto events = events_;  // copied: the handlers outlive no pool member
    return std::make_shared<Upstream>(
        executor_, config, max_message_size_, transports_,
        [events, owner](Upstream& from, Message message) {
            if (events.on_message) events.on_message(owner, from, std::move(message));
        },
        [events, owner](Upstream& ready) {
            if (events.on_ready) events.on_ready(owner, ready);
        },
        [events, owner, name = config.name]() -> asio::awaitable<void> {
            if (events.before_read) co_await events.before_read(owner, name);
        });
}

std::vector<std::shared_ptr<Upstream>> UpstreamPool::upstreams_for(SessionId session) {
    const bool any_per_session = std::find(shared_.begin(), shared_.end(), nullptr) != shared_.end();
    if (!any_per_session) return shared_;
    std::lock_guard lock(mutex_);
    auto& view = per_session_[session];
    if (view.empty())
        for (std::size_t i = 0; i < configs_.size(); ++i)
            view.push_back(shared_[i] ? shared_[i] : make(configs_[i], session));
    return view;
}

void UpstreamPool::start() {
    for (auto& upstream : shared_)
        if (upstream) upstream->spawn();
}

asio::awaitable<void> UpstreamPool::release(SessionId session, std::chrono::milliseconds grace) {
    std::vector<std::shared_ptr<Upstream>> view;
    {
        std::lock_guard lock(mutex_);
        auto it = per_session_.find(session);
        if (it == per_session_.end()) co_return;
        view = std::move(it->second);
        per_session_.erase(it);
    }
    for (std::size_t i = 0; i < view.size(); ++i)
        if (!shared_[i]) co_await view[i]->stop(grace);
}

std::vector<std::shared_ptr<Upstream>> UpstreamPool::all() const {
    std::vector<std::shared_ptr<Upstream>> out;
    for (const auto& upstream : shared_)
        if (upstream) out.push_back(upstream);
    std::lock_guard lock(mutex_);
    for (const auto& [session, view] : per_session_)
        for (std::size_t i = 0; i < view.size(); ++i)
            if (!shared_[i]) out.push_back(view[i]);
    return out;
}

}  // namespace watchgate::core
