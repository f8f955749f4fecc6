#pragma once
// JSON Web Tokens (RFC 7519) as the HTTP front's bearer credentials: the signature checked by
// OpenSSL with a public key of a JWKS document (RFC 7517) or a PEM file, then the claims
// (issuer, audience, expiry, not-before, subject, scopes). RS256, ES256 and EdDSA (Ed25519);
// never `none` and never a shared secret. docs/http.md "JWT".

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace watchgate::core {

enum class JwtAlgorithm { rs256, es256, eddsa };

// "RS256", "ES256", "EdDSA"; nullopt for any other name.
std::optional<JwtAlgorithm> jwt_algorithm(std::string_view name);
std::string_view jwt_algorithm_name(JwtAlgorithm algorithm);

// The public keys a token may be signed with. Immutable once built; shared by copies.
class JwtKeySet {
public:
    struct Key;

    // A JWKS document: {"keys": [...]} of RSA, EC P-256 and OKP Ed25519 keys. Keys meant for
    // encryption (`use: enc`) or of other types are skipped; throws std::invalid_argument naming
    // the key (its index and kid) and what is wrong with it, or when no usable key is left.
    static JwtKeySet from_jwks(std::string_view json_text);
    // PEM "PUBLIC KEY" blocks (as `openssl pkey -pubout` writes them), one or more; throws
    // std::invalid_argument when there is none or one cannot be read.
    static JwtKeySet from_pem(std::string_view pem_text);

    void add(const JwtKeySet& other);
    std::size_t size() const { return keys_.size(); }

    // The keys that may check a token with this header: of the algorithm's type and, when the
    // token names a kid, that key (a key without a kid is tried for any).
    std::vector<const Key*> candidates(JwtAlgorithm algorithm, std::string_view kid) const;

private:
    std::vector<std::shared_ptr<const Key>> keys_;
};

// What a token must say to be accepted.
struct JwtRules {
    std::string issuer;                  // `iss` must equal it
    std::vector<std::string> audiences;  // `aud` (a string or a list) must name one of them
    std::vector<JwtAlgorithm> algorithms{JwtAlgorithm::rs256, JwtAlgorithm::es256, JwtAlgorithm::eddsa};
    std::chrono::seconds leeway{60};  // clock skew allowed on exp and nbf
};

// What an accepted token says.
struct JwtClaims {
    std::string subject;              // `sub`
    std::vector<std::string> scopes;  // `scope` (space-separated) or `scp` (a list or a string)
    std::chrono::system_clock::time_point expires;
};

struct JwtVerdict {
    std::optional<JwtClaims> claims;  // set when the token is accepted
    std::string error;                // why not, for the 401's error_description and the log
};

// Checks `token` (compact serialization, header.payload.signature). Never throws.
JwtVerdict verify_jwt(std::string_view token, const JwtKeySet& keys, const JwtRules& rules,
                      std::chrono::system_clock::time_point now = std::chrono::system_clock::now());

}  // namespace watchgate::core
