#include <watchgate/core/upstream/upstream_pool.hpp>

#include <watchgate/core/config/reload_rules.hpp>

namespace watchgate::core {

namespace asio = boost::asio;

UpstreamPool::UpstreamPool(asio::any_io_executor executor, const GatewayConfig& config,
                           UpstreamTransportFactory transports, Events events)
    : executor_(std::move(executor)),
      max_message_size_(config.max_message_size),
      transports_(std::move(transports)),
      events_(std::move(events)),
      configs_(config.upstreams) {
    for (const auto& upstream : configs_)
        shared_.push_back(upstream.sharing == UpstreamSharing::shared ? make(upstream, 0) : nullptr);
}

std::shared_ptr<Upstream> UpstreamPool::make(const UpstreamConfig& config, SessionId owner) {
    auto events = events_;  // copied: the handlers outlive no pool member
    // The read gate is the upstream's own member: the upstream it names outlives it.
    auto reader = std::make_shared<const Upstream*>(nullptr);
    auto upstream = std::make_shared<Upstream>(
        executor_, config, max_message_size_, transports_,
        [events, owner](Upstream& from, Message message) {
            if (events.on_message) events.on_message(owner, from, std::move(message));
        },
        [events, owner](Upstream& ready) {
            if (events.on_ready) events.on_ready(owner, ready);
        },
        [events, owner, reader]() -> asio::awaitable<void> {
            if (events.before_read) co_await events.before_read(owner, **reader);
        });
    *reader = upstream.get();
    return upstream;
}

std::vector<std::shared_ptr<Upstream>> UpstreamPool::upstreams_for(SessionId session) {
    std::lock_guard lock(mutex_);
    return view_locked(session);
}

std::vector<std::shared_ptr<Upstream>> UpstreamPool::view_locked(SessionId session) {
    const bool any_per_session = std::find(shared_.begin(), shared_.end(), nullptr) != shared_.end();
    if (!any_per_session) return shared_;
    auto& view = per_session_[session];
    if (view.empty())
        for (std::size_t i = 0; i < configs_.size(); ++i)
            view.push_back(shared_[i] ? shared_[i] : make(configs_[i], session));
    return view;
}

void UpstreamPool::start() {
    std::vector<std::shared_ptr<Upstream>> shared;
    {
        std::lock_guard lock(mutex_);
        shared = shared_;
    }
    for (auto& upstream : shared)  // outside the lock: what a start reports may ask the pool
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
    for (auto& upstream : view)
        if (upstream->config().sharing == UpstreamSharing::per_session) co_await upstream->stop(grace);
}

std::vector<std::shared_ptr<Upstream>> UpstreamPool::all() const {
    std::vector<std::shared_ptr<Upstream>> out;
    std::lock_guard lock(mutex_);
    for (const auto& upstream : shared_)
        if (upstream) out.push_back(upstream);
    for (const auto& [session, view] : per_session_)
        for (const auto& upstream : view)
            if (upstream->config().sharing == UpstreamSharing::per_session) out.push_back(upstream);
    return out;
}

UpstreamPool::Reconfigured UpstreamPool::reconfigure(const std::vector<UpstreamConfig>& next) {
    Reconfigured result;
    std::lock_guard lock(mutex_);
    auto find = [](const std::vector<std::shared_ptr<Upstream>>& upstreams, const std::string& name) {
        for (const auto& upstream : upstreams)
            if (upstream && upstream->name() == name) return upstream;
        return std::shared_ptr<Upstream>();
    };
    // An upstream kept is the very object, its server and its initialize untouched.
    auto keeps = [](const std::shared_ptr<Upstream>& old, const UpstreamConfig& config) {
        return old && same_upstream_settings(old->config(), config);
    };
    for (const auto& config : next) {
        auto before = std::find_if(configs_.begin(), configs_.end(),
                                   [&](const UpstreamConfig& c) { return c.name == config.name; });
        if (before == configs_.end())
            result.added.push_back(config.name);
        else if (same_upstream_settings(*before, config))
            result.kept.push_back(config.name);
        else
            result.changed.push_back(config.name);
    }
    for (const auto& config : configs_)
        if (std::none_of(next.begin(), next.end(), [&](const UpstreamConfig& c) { return c.name == config.name; }))
            result.removed.push_back(config.name);

    std::vector<std::shared_ptr<Upstream>> shared;
    for (const auto& config : next) {
        if (config.sharing != UpstreamSharing::shared) {
            shared.push_back(nullptr);
            continue;
        }
        auto old = find(shared_, config.name);
        if (keeps(old, config)) {
            shared.push_back(old);
            continue;
        }
        shared.push_back(make(config, 0));
        result.started.push_back(shared.back());
    }
    for (const auto& old : shared_)
        if (old && std::find(shared.begin(), shared.end(), old) == shared.end()) result.retired.push_back(old);

    std::map<SessionId, std::vector<std::shared_ptr<Upstream>>> per_session;
    const bool any_per_session = std::find(shared.begin(), shared.end(), nullptr) != shared.end();
    for (auto& [session, view] : per_session_) {
        std::vector<std::shared_ptr<Upstream>> fresh;
        for (std::size_t i = 0; i < next.size(); ++i) {
            if (shared[i]) {
                fresh.push_back(shared[i]);
                continue;
            }
            auto old = find(view, next[i].name);
            const bool own = old && old->config().sharing == UpstreamSharing::per_session;
            fresh.push_back(own && keeps(old, next[i]) ? old : make(next[i], session));
        }
        for (const auto& old : view)
            if (old->config().sharing == UpstreamSharing::per_session &&
                std::find(fresh.begin(), fresh.end(), old) == fresh.end())
                result.retired.push_back(old);
        if (any_per_session) per_session.emplace(session, std::move(fresh));
    }
    configs_ = next;
    shared_ = std::move(shared);
    per_session_ = std::move(per_session);
    return result;
}

}  // namespace watchgate::core
