#include <watchgate/core/base/jwt.hpp>

#include <watchgate/core/base/base64.hpp>

#include <nlohmann/json.hpp>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <stdexcept>

namespace watchgate::core {

namespace {

using json = nlohmann::json;

struct PkeyFree {
    void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;

// Below this an RSA signature is forgeable with public means.
constexpr int min_rsa_bits = 2048;
// Far above any real token (a few KiB); the header caps it anyway.
constexpr std::size_t max_token_size = 64 * 1024;

template <class T, void (*Free)(T*)>
struct Owned {
    T* p = nullptr;
    ~Owned() {
        if (p) Free(p);
    }
};

std::string base64url_field(const json& jwk, const char* name, std::string_view where) {
    const auto it = jwk.find(name);
    if (it == jwk.end() || !it->is_string())
        throw std::invalid_argument(std::string(where) + ": '" + name + "' is missing (a base64url string)");
    auto bytes = base64_decode(it->get_ref<const std::string&>(), Base64Alphabet::url);
    if (!bytes || bytes->empty()) throw std::invalid_argument(std::string(where) + ": '" + name + "' is not base64url");
    return *bytes;
}

// A key from parameters (OpenSSL 3's provider way; the RSA_/EC_KEY setters are deprecated).
// `failure`: the whole message when OpenSSL refuses the parameters.
Pkey key_from_params(const char* type, const std::function<bool(OSSL_PARAM_BLD*)>& push, const std::string& failure) {
    Owned<OSSL_PARAM_BLD, OSSL_PARAM_BLD_free> builder{OSSL_PARAM_BLD_new()};
    if (!builder.p || !push(builder.p)) throw std::invalid_argument(failure);
    Owned<OSSL_PARAM, OSSL_PARAM_free> params{OSSL_PARAM_BLD_to_param(builder.p)};
    Owned<EVP_PKEY_CTX, EVP_PKEY_CTX_free> context{EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr)};
    EVP_PKEY* key = nullptr;
    if (!params.p || !context.p || EVP_PKEY_fromdata_init(context.p) != 1 ||
        EVP_PKEY_fromdata(context.p, &key, EVP_PKEY_PUBLIC_KEY, params.p) != 1)
        throw std::invalid_argument(failure);
    return Pkey(key);
}

Pkey rsa_key(const json& jwk, std::string_view where) {
    const auto n = base64url_field(jwk, "n", where);
    const auto e = base64url_field(jwk, "e", where);
    Owned<BIGNUM, BN_free> modulus{
        BN_bin2bn(reinterpret_cast<const unsigned char*>(n.data()), static_cast<int>(n.size()), nullptr)};
    Owned<BIGNUM, BN_free> exponent{
        BN_bin2bn(reinterpret_cast<const unsigned char*>(e.data()), static_cast<int>(e.size()), nullptr)};
    if (!modulus.p || !exponent.p) throw std::invalid_argument(std::string(where) + ": out of memory");
    return key_from_params(
        "RSA",
        [&](OSSL_PARAM_BLD* builder) {
            return OSSL_PARAM_BLD_push_BN(builder, OSSL_PKEY_PARAM_RSA_N, modulus.p) == 1 &&
                   OSSL_PARAM_BLD_push_BN(builder, OSSL_PKEY_PARAM_RSA_E, exponent.p) == 1;
        },
        std::string(where) + ": OpenSSL cannot build an RSA key from n and e");
}

Pkey p256_key(const json& jwk, std::string_view where) {
    const auto x = base64url_field(jwk, "x", where);
    const auto y = base64url_field(jwk, "y", where);
    if (x.size() != 32 || y.size() != 32)
        throw std::invalid_argument(std::string(where) + ": 'x' and 'y' of a P-256 key are 32 bytes each");
    std::string point = "\x04" + x + y;  // uncompressed
    // OpenSSL refuses a point off the curve as it builds the key.
    return key_from_params(
        "EC",
        [&](OSSL_PARAM_BLD* builder) {
            return OSSL_PARAM_BLD_push_utf8_string(builder, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) == 1 &&
                   OSSL_PARAM_BLD_push_octet_string(builder, OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size()) == 1;
        },
        std::string(where) + ": the point (x, y) is not on P-256");
}

Pkey ed25519_key(const json& jwk, std::string_view where) {
    const auto x = base64url_field(jwk, "x", where);
    if (x.size() != 32) throw std::invalid_argument(std::string(where) + ": 'x' of an Ed25519 key is 32 bytes");
    Pkey key(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, reinterpret_cast<const unsigned char*>(x.data()),
                                         x.size()));
    if (!key) throw std::invalid_argument(std::string(where) + ": OpenSSL cannot build an Ed25519 key from it");
    return key;
}

// OpenSSL's own checks of a public key (an RSA key's e, an EC point on its curve).
bool public_check(EVP_PKEY* key) {
    Owned<EVP_PKEY_CTX, EVP_PKEY_CTX_free> check{EVP_PKEY_CTX_new(key, nullptr)};
    const bool valid = check.p && EVP_PKEY_public_check(check.p) == 1;
    ERR_clear_error();
    return valid;
}

// Which algorithm a key is for, from what it is; nullopt for keys none of ours can use.
std::optional<JwtAlgorithm> algorithm_of(EVP_PKEY* key, std::string_view where) {
    switch (EVP_PKEY_get_base_id(key)) {
        case EVP_PKEY_RSA:
            if (EVP_PKEY_get_bits(key) < min_rsa_bits)
                throw std::invalid_argument(std::string(where) + ": an RSA key of " +
                                            std::to_string(EVP_PKEY_get_bits(key)) + " bits (at least " +
                                            std::to_string(min_rsa_bits) + " are needed)");
            if (!public_check(key))
                throw std::invalid_argument(std::string(where) + ": not a valid RSA public key (n, e)");
            return JwtAlgorithm::rs256;
        case EVP_PKEY_EC: {
            char group[64] = {};
            std::size_t length = 0;
            if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group, &length) != 1 ||
                std::string_view(group, length) != "prime256v1")
                throw std::invalid_argument(std::string(where) + ": an EC key on a curve other than P-256 (ES256)");
            // A point off the curve would make every check meaningless.
            if (!public_check(key)) throw std::invalid_argument(std::string(where) + ": the EC point is not on P-256");
            return JwtAlgorithm::es256;
        }
        case EVP_PKEY_ED25519:
            return JwtAlgorithm::eddsa;
        default:
            return std::nullopt;
    }
}

bool verify_signature(EVP_PKEY* key, JwtAlgorithm algorithm, std::string_view signed_part, std::string_view signature) {
    std::string der;  // ES256 signs r||s; OpenSSL checks the DER form
    if (algorithm == JwtAlgorithm::es256) {
        if (signature.size() != 64) return false;
        auto bytes = reinterpret_cast<const unsigned char*>(signature.data());
        Owned<ECDSA_SIG, ECDSA_SIG_free> sig{ECDSA_SIG_new()};
        BIGNUM* r = BN_bin2bn(bytes, 32, nullptr);
        BIGNUM* s = BN_bin2bn(bytes + 32, 32, nullptr);
        if (!sig.p || !r || !s || ECDSA_SIG_set0(sig.p, r, s) != 1) {
            BN_free(r);
            BN_free(s);
            return false;
        }
        const int size = i2d_ECDSA_SIG(sig.p, nullptr);
        if (size <= 0) return false;
        der.resize(static_cast<std::size_t>(size));
        auto out = reinterpret_cast<unsigned char*>(der.data());
        i2d_ECDSA_SIG(sig.p, &out);
        signature = der;
    }
    Owned<EVP_MD_CTX, EVP_MD_CTX_free> context{EVP_MD_CTX_new()};
    const EVP_MD* digest = algorithm == JwtAlgorithm::eddsa ? nullptr : EVP_sha256();
    const bool valid =
        context.p && EVP_DigestVerifyInit(context.p, nullptr, digest, nullptr, key) == 1 &&
        EVP_DigestVerify(context.p, reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
                         reinterpret_cast<const unsigned char*>(signed_part.data()), signed_part.size()) == 1;
    ERR_clear_error();  // a refused signature leaves nothing queued for this thread's next TLS call
    return valid;
}

std::optional<json> decode_part(std::string_view part) {
    auto bytes = base64_decode(part, Base64Alphabet::url);
    if (!bytes) return std::nullopt;
    auto document = json::parse(*bytes, nullptr, false);
    if (!document.is_object()) return std::nullopt;
    return document;
}

// Seconds since the epoch; compared as integers (a time_point of nanoseconds overflows past 2262,
// and "exp": 9999999999 is a common "never").
std::optional<long long> time_claim(const json& claims, const char* name) {
    const auto it = claims.find(name);
    if (it == claims.end() || !it->is_number()) return std::nullopt;
    const double seconds = it->get<double>();
    if (!std::isfinite(seconds) || std::abs(seconds) > 1e15) return std::nullopt;
    return static_cast<long long>(seconds);
}

// A member that must be a string when present (a JWK's kty, crv, use, alg, kid).
std::string text_member(const json& object, const char* name, std::string_view where) {
    const auto it = object.find(name);
    if (it == object.end()) return {};
    if (!it->is_string()) throw std::invalid_argument(std::string(where) + ": '" + name + "' is not a string");
    return it->get<std::string>();
}

std::vector<std::string> split_scopes(std::string_view text) {
    std::vector<std::string> out;
    for (std::size_t at = 0; at < text.size();) {
        const auto end = std::min(text.find(' ', at), text.size());
        if (end > at) out.emplace_back(text.substr(at, end - at));
        at = end + 1;
    }
    return out;
}

}  // namespace

struct JwtKeySet::Key {
    std::string kid;
    JwtAlgorithm algorithm;
    Pkey key;
};

std::optional<JwtAlgorithm> jwt_algorithm(std::string_view name) {
    if (name == "RS256") return JwtAlgorithm::rs256;
    if (name == "ES256") return JwtAlgorithm::es256;
    if (name == "EdDSA") return JwtAlgorithm::eddsa;
    return std::nullopt;
}

std::string_view jwt_algorithm_name(JwtAlgorithm algorithm) {
    switch (algorithm) {
        case JwtAlgorithm::rs256:
            return "RS256";
        case JwtAlgorithm::es256:
            return "ES256";
        case JwtAlgorithm::eddsa:
            return "EdDSA";
    }
    return "?";
}

JwtKeySet JwtKeySet::from_jwks(std::string_view json_text) {
    const auto document = json::parse(json_text, nullptr, false);
    if (!document.is_object() || !document.contains("keys") || !document["keys"].is_array())
        throw std::invalid_argument("expected a JWKS document: {\"keys\": [...]}");
    JwtKeySet set;
    std::size_t index = 0;
    for (const auto& jwk : document["keys"]) {
        std::string where = "key " + std::to_string(index++);
        if (!jwk.is_object()) throw std::invalid_argument(where + ": expected an object");
        const std::string kid = text_member(jwk, "kid", where);
        if (!kid.empty()) where += " (kid " + kid + ")";
        const std::string use = text_member(jwk, "use", where);
        if (!use.empty() && use != "sig") continue;  // an encryption key
        const std::string type = text_member(jwk, "kty", where);
        const std::string curve = text_member(jwk, "crv", where);
        const std::string pinned = text_member(jwk, "alg", where);
        Pkey key;
        if (type == "RSA")
            key = rsa_key(jwk, where);
        else if (type == "EC" && curve == "P-256")
            key = p256_key(jwk, where);
        else if (type == "OKP" && curve == "Ed25519")
            key = ed25519_key(jwk, where);
        else
            continue;  // a type or curve none of the three algorithms uses
        const auto algorithm = algorithm_of(key.get(), where);
        if (!algorithm) continue;
        // A key pinned to another algorithm (RS512, say) is not one of ours to use.
        if (!pinned.empty() && jwt_algorithm(pinned) != algorithm) continue;
        set.keys_.push_back(std::make_shared<const Key>(Key{kid, *algorithm, std::move(key)}));
    }
    if (set.keys_.empty())
        throw std::invalid_argument("no signing key for RS256, ES256 or EdDSA in it (RSA, EC P-256 or OKP Ed25519)");
    return set;
}

JwtKeySet JwtKeySet::from_pem(std::string_view pem_text) {
    Owned<BIO, BIO_free_all> bio{BIO_new_mem_buf(pem_text.data(), static_cast<int>(pem_text.size()))};
    if (!bio.p) throw std::invalid_argument("out of memory");
    JwtKeySet set;
    for (std::size_t index = 0;; ++index) {
        Pkey key(PEM_read_bio_PUBKEY(bio.p, nullptr, nullptr, nullptr));
        if (!key) break;
        const std::string where = "PEM key " + std::to_string(index);
        const auto algorithm = algorithm_of(key.get(), where);
        if (!algorithm) throw std::invalid_argument(where + ": not an RSA, EC P-256 or Ed25519 key");
        set.keys_.push_back(std::make_shared<const Key>(Key{"", *algorithm, std::move(key)}));
    }
    ERR_clear_error();  // the read that ended the loop left its error queued
    if (set.keys_.empty())
        throw std::invalid_argument(
            "no \"PUBLIC KEY\" PEM block in it (write one with: openssl pkey -in private.pem -pubout)");
    // OpenSSL passes over blocks it cannot read: a damaged second key would vanish unseen.
    std::size_t blocks = 0;
    for (auto at = pem_text.find("-----BEGIN PUBLIC KEY-----"); at != std::string_view::npos;
         at = pem_text.find("-----BEGIN PUBLIC KEY-----", at + 1))
        ++blocks;
    if (blocks != set.keys_.size())
        throw std::invalid_argument("PEM key " + std::to_string(set.keys_.size()) + " cannot be read (of " +
                                    std::to_string(blocks) + " PUBLIC KEY blocks)");
    return set;
}

void JwtKeySet::add(const JwtKeySet& other) { keys_.insert(keys_.end(), other.keys_.begin(), other.keys_.end()); }

std::vector<const JwtKeySet::Key*> JwtKeySet::candidates(JwtAlgorithm algorithm, std::string_view kid) const {
    std::vector<const Key*> out;
    for (const auto& key : keys_)
        if (key->algorithm == algorithm && (kid.empty() || key->kid.empty() || key->kid == kid))
            out.push_back(key.get());
    return out;
}

JwtVerdict verify_jwt(std::string_view token, const JwtKeySet& keys, const JwtRules& rules,
                      std::chrono::system_clock::time_point now) {
    auto refuse = [](std::string why) { return JwtVerdict{std::nullopt, std::move(why)}; };
    if (token.size() > max_token_size) return refuse("the token is too long");
    const auto first = token.find('.');
    const auto second = first == std::string_view::npos ? first : token.find('.', first + 1);
    if (second == std::string_view::npos || token.find('.', second + 1) != std::string_view::npos)
        return refuse("not a JWT (expected three base64url parts separated by dots)");
    const auto header = decode_part(token.substr(0, first));
    const auto claims = decode_part(token.substr(first + 1, second - first - 1));
    const auto signature = base64_decode(token.substr(second + 1), Base64Alphabet::url);
    if (!header || !claims || !signature) return refuse("not a JWT (a part is not base64url JSON)");

    // The algorithm comes from the header, but only one of those allowed, and only with a key
    // made for it: no `none`, no HMAC with a public key as the secret.
    const auto alg = header->find("alg");
    const auto algorithm =
        alg != header->end() && alg->is_string() ? jwt_algorithm(alg->get<std::string>()) : std::nullopt;
    if (!algorithm || std::find(rules.algorithms.begin(), rules.algorithms.end(), *algorithm) == rules.algorithms.end())
        return refuse("the token's algorithm is not one this gateway accepts");
    if (header->contains("crit")) return refuse("the token has critical header extensions this gateway does not know");
    const std::string kid =
        header->contains("kid") && (*header)["kid"].is_string() ? (*header)["kid"].get<std::string>() : std::string();
    const auto signed_part = token.substr(0, second);
    bool verified = false;
    for (const auto* key : keys.candidates(*algorithm, kid))
        if (verify_signature(key->key.get(), *algorithm, signed_part, *signature)) {
            verified = true;
            break;
        }
    if (!verified) return refuse("the token's signature does not verify with any configured key");

    const long long now_seconds = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
    const long long leeway = rules.leeway.count();
    const auto expires = time_claim(*claims, "exp");
    if (!expires) return refuse("the token has no expiry (exp)");
    if (now_seconds > *expires + leeway) return refuse("the token has expired");
    if (claims->contains("nbf")) {
        const auto not_before = time_claim(*claims, "nbf");
        if (!not_before) return refuse("the token's nbf is not a time");
        if (now_seconds + leeway < *not_before) return refuse("the token is not valid yet (nbf)");
    }
    if (!claims->contains("iss") || (*claims)["iss"] != rules.issuer)
        return refuse("the token's issuer is not trusted");
    bool audience_matches = false;
    if (const auto aud = claims->find("aud"); aud != claims->end()) {
        auto listed = [&](const json& value) {
            return value.is_string() && std::find(rules.audiences.begin(), rules.audiences.end(),
                                                  value.get_ref<const std::string&>()) != rules.audiences.end();
        };
        if (aud->is_array())
            audience_matches = std::any_of(aud->begin(), aud->end(), listed);
        else
            audience_matches = listed(*aud);
    }
    if (!audience_matches) return refuse("the token is not meant for this gateway (aud)");
    const auto sub = claims->find("sub");
    if (sub == claims->end() || !sub->is_string() || sub->get_ref<const std::string&>().empty())
        return refuse("the token names no subject (sub)");

    JwtClaims accepted;
    accepted.subject = sub->get<std::string>();
    // Saturated: a far-future exp is simply "later than any time the clock can say".
    constexpr long long latest = std::chrono::duration_cast<std::chrono::seconds>(
                                     std::chrono::system_clock::time_point::max().time_since_epoch())
                                     .count();
    accepted.expires = std::chrono::system_clock::time_point(std::chrono::seconds(std::min(*expires, latest)));
    if (const auto scope = claims->find("scope"); scope != claims->end() && scope->is_string())
        accepted.scopes = split_scopes(scope->get_ref<const std::string&>());
    else if (const auto scp = claims->find("scp"); scp != claims->end()) {
        if (scp->is_string())
            accepted.scopes = split_scopes(scp->get_ref<const std::string&>());
        else if (scp->is_array())
            for (const auto& item : *scp)
                if (item.is_string()) accepted.scopes.push_back(item.get<std::string>());
    }
    return JwtVerdict{std::move(accepted), {}};
}

}  // namespace watchgate::core
