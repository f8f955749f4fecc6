#include <watchgate/core/session/session_registry.hpp>

#include <watchgate/core/session/client_session.hpp>

namespace watchgate::core {

void SessionRegistry::add(const std::shared_ptr<ClientSession>& session) {
    std::lock_guard lock(mutex_);
    sessions_[session->id()] = session;
}

void SessionRegistry::remove(SessionId id) {
    std::lock_guard lock(mutex_);
    sessions_.erase(id);
}

std::shared_ptr<ClientSession> SessionRegistry::find(SessionId id) const {
    std::lock_guard lock(mutex_);
    auto it = sessions_.find(id);
    return it == sessions_.end() ? nullptr : it->second.lock();
}

std::vector<std::shared_ptr<ClientSession>> SessionRegistry::all() const {
    std::vector<std::shared_ptr<ClientSession>> out;
    std::lock_guard lock(mutex_);
    for (const auto& [id, weak] : sessions_)
        if (auto session = weak.lock()) out.push_back(std::move(session));
    return out;
}

std::size_t SessionRegistry::size() const {
    std::lock_guard lock(mutex_);
    return sessions_.size();
}

std::shared_ptr<ClientSession> SessionRegistry::choose_for_server_request(const Upstream& upstream,
                                                                          std::string_view capability) const {
    std::shared_ptr<ClientSession> best;
    bool best_declared = false;
    std::optional<ClientSession::Clock::time_point> best_oldest;
    for (auto& session : all()) {  // oldest session first: a later one wins ties
        if (!session->initialized()) continue;
        const bool declared = capability.empty() || session->declared(capability);
        const auto oldest = session->oldest_request_at(upstream);
        bool better = false;
        if (!best || declared != best_declared)
            better = !best || declared;
        else if (oldest && best_oldest)
            better = *oldest < *best_oldest;
        else
            better = oldest.has_value() || !best_oldest;
        if (better) {
            best = session;
            best_declared = declared;
            best_oldest = oldest;
        }
    }
    return best;
}

}  // namespace watchgate::core
