#pragma once
// The client sessions there are, by id; and the choice of the session a shared upstream's
// server -> client request goes to (docs/architecture.md "Several sessions, shared upstreams").

#include <watchgate/core/upstream/upstream_pool.hpp>

#include <map>
#include <memory>
#include <mutex>
#include <string_view>
#include <vector>

namespace watchgate::core {

class ClientSession;

class SessionRegistry {
public:
    void add(const std::shared_ptr<ClientSession>& session);
    void remove(SessionId id);
    std::shared_ptr<ClientSession> find(SessionId id) const;
    // Every session there is now, oldest first.
    std::vector<std::shared_ptr<ClientSession>> all() const;
    std::size_t size() const;

    // Who answers `method` that the shared `upstream` asks: among the initialized sessions, those
    // whose client declared `capability` (when the method needs one) come first; among them, the
    // one with the oldest request in flight at `upstream` (the request most likely waiting for
    // this answer), else the newest session. Null when no session is initialized.
    std::shared_ptr<ClientSession> choose_for_server_request(const Upstream& upstream,
                                                             std::string_view capability) const;

private:
    mutable std::mutex mutex_;
    std::map<SessionId, std::weak_ptr<ClientSession>> sessions_;
};

}  // namespace watchgate::core
