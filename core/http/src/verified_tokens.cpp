#include <watchgate/core/http/verified_tokens.hpp>

#include <iterator>

namespace watchgate::core {

void VerifiedTokens::adopt_locked(const std::shared_ptr<const void>& keys) {
    if (keys_ == keys) return;
    keys_ = keys;
    entries_.clear();
}

std::optional<Identity> VerifiedTokens::find(const std::string& digest, const std::shared_ptr<const void>& keys,
                                             Time now) {
    std::lock_guard lock(mutex_);
    adopt_locked(keys);
    const auto it = entries_.find(digest);
    if (it == entries_.end()) return std::nullopt;
    if (now > it->second.valid_until) {
        entries_.erase(it);
        return std::nullopt;
    }
    return it->second.identity;
}

void VerifiedTokens::remember(std::string digest, const std::shared_ptr<const void>& keys, Identity identity,
                              Time valid_until, Time now) {
    std::lock_guard lock(mutex_);
    adopt_locked(keys);
    if (entries_.size() >= max_entries_) {
        std::erase_if(entries_, [&](const auto& entry) { return now > entry.second.valid_until; });
        // Still full of live tokens (many clients, or one minting a token per request): start
        // again rather than grow; they are checked again as they come.
        if (entries_.size() >= max_entries_) entries_.clear();
    }
    entries_.insert_or_assign(std::move(digest), Entry{std::move(identity), valid_until});
}

std::size_t VerifiedTokens::size() const {
    std::lock_guard lock(mutex_);
    return entries_.size();
}

}  // namespace watchgate::core
