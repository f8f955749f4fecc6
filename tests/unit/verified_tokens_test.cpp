// The HTTP front's cache of verified JWTs (core/http/verified_tokens): an entry lasts until its
// token expires, and everything goes when the keys change or the cache is full.

#include <watchgate/core/http/verified_tokens.hpp>

#include <catch2/catch.hpp>

using namespace watchgate::core;
using namespace std::chrono_literals;

TEST_CASE("verified tokens: found until expiry and forgotten when the keys change or it is full") {
    VerifiedTokens cache(2);
    const auto keys = std::make_shared<int>(1);
    const auto now = VerifiedTokens::Time() + 1000s;
    cache.remember("a", keys, Identity{"alice", {"mcp"}}, now + 60s, now);
    const auto found = cache.find("a", keys, now + 59s);
    REQUIRE(found);
    CHECK(found->subject == "alice");
    CHECK(found->scopes == std::vector<std::string>{"mcp"});
    CHECK_FALSE(cache.find("b", keys, now));
    CHECK_FALSE(cache.find("a", keys, now + 61s));  // expired: gone
    CHECK(cache.size() == 0);

    cache.remember("a", keys, Identity{"alice", {}}, now + 60s, now);
    // Other keys (a reload): nothing checked with the old ones counts.
    const auto rotated = std::make_shared<int>(2);
    CHECK_FALSE(cache.find("a", rotated, now));
    CHECK(cache.size() == 0);

    // Full: expired ones go first; if all are live, all go.
    cache.remember("a", rotated, Identity{"alice", {}}, now + 10s, now);
    cache.remember("b", rotated, Identity{"bob", {}}, now + 60s, now);
    cache.remember("c", rotated, Identity{"carol", {}}, now + 60s, now + 20s);
    CHECK(cache.size() == 2);
    CHECK_FALSE(cache.find("a", rotated, now + 20s));
    CHECK(cache.find("b", rotated, now + 20s));
    cache.remember("d", rotated, Identity{"dave", {}}, now + 60s, now + 20s);
    CHECK(cache.size() == 1);
    CHECK(cache.find("d", rotated, now + 20s));
}
