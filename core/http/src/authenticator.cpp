#include <watchgate/core/http/authenticator.hpp>

#include <watchgate/core/base/digest.hpp>
#include <watchgate/core/http/request_checks.hpp>
#include <watchgate/core/protocol/message.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <set>

namespace watchgate::core {

namespace {

// An auth-param's quoted value (RFC 9110): our texts have no quotes, but a scope name could.
std::string quoted_value(std::string_view text) {
    std::string out = "\"";
    for (char c : text)
        if (c != '"' && c != '\\' && static_cast<unsigned char>(c) >= 0x20 && c != 0x7f) out += c;
    return out + "\"";
}

std::string joined(const std::vector<std::string>& words) {
    std::string out;
    for (const auto& word : words) out += (out.empty() ? "" : " ") + word;
    return out;
}

}  // namespace

Authenticator::Outcome Authenticator::authenticate(std::string_view authorization) const {
    if (!enabled()) return {Identity{}, {}};
    const auto token = bearer_token(authorization);
    if (token.empty()) return {std::nullopt, {"", "authentication required: send 'Authorization: Bearer <token>'"}};
    if (http_.auth == HttpConfig::Auth::bearer) {
        const std::string digest = sha256_hex(token);
        const BearerToken* match = nullptr;
        for (const auto& known : http_.bearer_tokens)  // every one compared: no early exit
            if (equal_in_constant_time(digest, known.sha256)) match = &known;
        if (!match) return {std::nullopt, {"invalid_token", "the bearer token is not valid"}};
        return {Identity{match->subject, match->scopes}, {}};
    }
    const auto now = std::chrono::system_clock::now();
    std::string digest;
    if (verified_) {
        digest = sha256_hex(token);
        if (auto known = verified_->find(digest, generation_, now)) return {std::move(*known), {}};
    }
    auto verdict = verify_jwt(token, http_.jwt->keys, http_.jwt->rules, now);
    if (!verdict.claims) return {std::nullopt, {"invalid_token", std::move(verdict.error)}};
    Identity identity{std::move(verdict.claims->subject), std::move(verdict.claims->scopes)};
    // Valid as long as the check above would say so: until exp, with the leeway (saturated: a
    // far-future exp is the clock's last moment already).
    if (verified_) {
        const auto expires = verdict.claims->expires;
        const auto leeway = http_.jwt->rules.leeway;
        const auto valid_until =
            expires > VerifiedTokens::Time::max() - leeway ? VerifiedTokens::Time::max() : expires + leeway;
        verified_->remember(std::move(digest), generation_, identity, valid_until, now);
    }
    return {std::move(identity), {}};
}

std::vector<std::string> Authenticator::missing_scopes(const Identity& identity,
                                                       const std::vector<std::string>& required) {
    std::vector<std::string> missing;
    for (const auto& scope : required)
        if (std::find(identity.scopes.begin(), identity.scopes.end(), scope) == identity.scopes.end())
            missing.push_back(scope);
    return missing;
}

std::vector<std::string> Authenticator::missing_for_tool(const Identity& identity, std::string_view tool) const {
    const auto it = http_.tool_scopes.find(std::string(tool));
    return it == http_.tool_scopes.end() ? std::vector<std::string>() : missing_scopes(identity, it->second);
}

std::string Authenticator::resource(std::string_view host) const {
    if (!http_.resource.empty()) return http_.resource;
    return (http_.tls_cert_file ? "https://" : "http://") + std::string(host) + http_.path;
}

std::string Authenticator::metadata_url(std::string_view host) const {
    auto url = resource(host);
    if (const auto scheme = url.find("://"); scheme != std::string::npos) {
        const auto slash = url.find('/', scheme + 3);
        url = url.substr(0, slash) + std::string(metadata_path) +
              (slash == std::string::npos ? std::string() : url.substr(slash));
    }
    return url;
}

std::string Authenticator::metadata_document(std::string_view host) const {
    nlohmann::json document{
        {"resource", resource(host)}, {"bearer_methods_supported", {"header"}}, {"resource_name", "Watchgate"}};
    if (http_.jwt) document["authorization_servers"] = http_.jwt->authorization_servers;
    std::set<std::string> scopes(http_.required_scopes.begin(), http_.required_scopes.end());
    for (const auto& [tool, needed] : http_.tool_scopes) scopes.insert(needed.begin(), needed.end());
    if (!scopes.empty()) document["scopes_supported"] = scopes;
    return dump_json(document);
}

std::string Authenticator::challenge(std::string_view host, const Refusal& refusal) const {
    std::string header = "Bearer resource_metadata=" + quoted_value(metadata_url(host));
    // The scopes to ask the authorization server for (the MCP spec's scope selection).
    if (!http_.required_scopes.empty()) header += ", scope=" + quoted_value(joined(http_.required_scopes));
    if (!refusal.error.empty())
        header += ", error=" + quoted_value(refusal.error) + ", error_description=" + quoted_value(refusal.description);
    return header;
}

std::string Authenticator::insufficient_scope_challenge(std::string_view host,
                                                        const std::vector<std::string>& scopes) const {
    return "Bearer error=\"insufficient_scope\", scope=" + quoted_value(joined(scopes)) +
           ", resource_metadata=" + quoted_value(metadata_url(host));
}

}  // namespace watchgate::core
