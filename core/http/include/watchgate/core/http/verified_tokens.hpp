#pragma once
// JWTs already verified, by their SHA-256, so a client that sends the same token with every
// request pays one hash instead of a signature check (28-132 µs) each time. An entry lasts until
// its token expires; the whole set is forgotten when the keys may have changed (a reload) and,
// bounded, when it is full.

#include <watchgate/core/http/identity.hpp>

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

namespace watchgate::core {

class VerifiedTokens {
public:
    using Time = std::chrono::system_clock::time_point;

    explicit VerifiedTokens(std::size_t max_entries = 10'000) : max_entries_(max_entries) {}

    // The identity a token of this digest was accepted as, while `keys` (whatever owns the key
    // set it was checked with) is the same and the token has not expired at `now`.
    std::optional<Identity> find(const std::string& digest, const std::shared_ptr<const void>& keys, Time now);
    void remember(std::string digest, const std::shared_ptr<const void>& keys, Identity identity, Time valid_until,
                  Time now);
    std::size_t size() const;

private:
    struct Entry {
        Identity identity;
        Time valid_until;
    };
    // Forgets everything checked with other keys. Under the lock.
    void adopt_locked(const std::shared_ptr<const void>& keys);

    const std::size_t max_entries_;
    mutable std::mutex mutex_;
    std::shared_ptr<const void> keys_;  // held: a freed key set's address is never mistaken for a new one's
    std::unordered_map<std::string, Entry> entries_;
};

}  // namespace watchgate::core
