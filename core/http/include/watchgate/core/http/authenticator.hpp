#pragma once
// Who an HTTP request is from and what it may do (docs/http.md "Authentication"): a bearer
// token checked against the configured ones (their SHA-256, in constant time) or as a JWT, the
// scopes it carries against those every request and each tool needs, and the answers the MCP
// authorization spec asks for: 401 and 403 with WWW-Authenticate, the protected-resource
// metadata of RFC 9728.

#include <watchgate/core/config/config.hpp>
#include <watchgate/core/http/identity.hpp>
#include <watchgate/core/http/verified_tokens.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace watchgate::core {

class Authenticator {
public:
    explicit Authenticator(const HttpConfig& http) : http_(http) {}
    // With a cache of verified JWTs, valid while `generation` (the config the keys came from) is
    // the one given.
    Authenticator(const HttpConfig& http, VerifiedTokens& verified, std::shared_ptr<const void> generation)
        : http_(http), verified_(&verified), generation_(std::move(generation)) {}

    bool enabled() const { return http_.auth != HttpConfig::Auth::none; }

    struct Refusal {
        std::string error;        // RFC 6750: "invalid_token", or empty when no token was sent
        std::string description;  // for the client and the log; never the token
    };
    struct Outcome {
        std::optional<Identity> identity;
        Refusal refusal;
    };
    // The credential of an Authorization header. With authentication off, everyone is anonymous.
    Outcome authenticate(std::string_view authorization) const;

    // The scopes of `required` that `identity` lacks.
    static std::vector<std::string> missing_scopes(const Identity& identity, const std::vector<std::string>& required);
    // Those every request needs.
    std::vector<std::string> missing_for_request(const Identity& identity) const {
        return missing_scopes(identity, http_.required_scopes);
    }
    // Those a tools/call of `tool` needs besides (nothing when the tool has none configured).
    std::vector<std::string> missing_for_tool(const Identity& identity, std::string_view tool) const;

    // The resource's URL: configured, or this endpoint as the client reached it.
    std::string resource(std::string_view host) const;
    // Where the resource's metadata is: the well-known path with the resource's path after it.
    std::string metadata_url(std::string_view host) const;
    // The RFC 9728 document.
    std::string metadata_document(std::string_view host) const;
    // WWW-Authenticate for a 401, and for a 403 naming the scopes that are missing.
    std::string challenge(std::string_view host, const Refusal& refusal) const;
    std::string insufficient_scope_challenge(std::string_view host, const std::vector<std::string>& scopes) const;

    static constexpr std::string_view metadata_path = "/.well-known/oauth-protected-resource";

private:
    const HttpConfig& http_;
    VerifiedTokens* verified_ = nullptr;
    std::shared_ptr<const void> generation_;
};

}  // namespace watchgate::core
