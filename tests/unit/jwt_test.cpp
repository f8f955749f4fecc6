// JWT verification (core/base/jwt): tokens signed by real keys of each algorithm, accepted and
// refused for each rule; key sets from JWKS and PEM, and the keys they refuse.

#include "jwt_signer.hpp"

#include <watchgate/core/base/jwt.hpp>

#include <catch2/catch.hpp>

using namespace watchgate;
using namespace watchgate::core;
using nlohmann::json;
using watchgate::test::JwtSigner;

namespace {

const std::string issuer = "https://auth.example.com/";
const std::string audience = "https://mcp.example.com/mcp";

JwtRules rules() {
    JwtRules out;
    out.issuer = issuer;
    out.audiences = {audience};
    return out;
}

JwtKeySet jwks_of(std::initializer_list<const JwtSigner*> signers) {
    json keys = json::array();
    for (const auto* signer : signers) keys.push_back(signer->jwk());
    return JwtKeySet::from_jwks(json{{"keys", keys}}.dump());
}

}  // namespace

TEST_CASE("jwt: a token of each algorithm is accepted with its key and refused with another's") {
    const JwtSigner rsa(JwtSigner::Kind::rsa, "r1"), ec(JwtSigner::Kind::p256, "e1"),
        ed(JwtSigner::Kind::ed25519, "d1");
    const auto keys = jwks_of({&rsa, &ec, &ed});
    REQUIRE(keys.size() == 3);
    for (const auto* signer : {&rsa, &ec, &ed}) {
        INFO(signer->algorithm());
        const auto verdict =
            verify_jwt(signer->sign(JwtSigner::claims(issuer, audience, "alice", "mcp tools:read")), keys, rules());
        REQUIRE(verdict.claims);
        CHECK(verdict.claims->subject == "alice");
        CHECK(verdict.claims->scopes == std::vector<std::string>{"mcp", "tools:read"});
        CHECK(verdict.error.empty());
    }
    // Another key of the same type: no signature verifies.
    const JwtSigner stranger(JwtSigner::Kind::rsa, "r1");
    const auto forged = verify_jwt(stranger.sign(JwtSigner::claims(issuer, audience, "mallory")), keys, rules());
    CHECK_FALSE(forged.claims);
    CHECK(forged.error.find("signature") != std::string::npos);
    // The same keys from PEM (no kid).
    JwtKeySet pem = JwtKeySet::from_pem(rsa.pem() + ec.pem() + ed.pem());
    CHECK(pem.size() == 3);
    for (const auto* signer : {&rsa, &ec, &ed})
        CHECK(verify_jwt(signer->sign(JwtSigner::claims(issuer, audience, "bob")), pem, rules()).claims);
}

TEST_CASE("jwt: a changed byte of header payload or signature is refused") {
    const JwtSigner ec(JwtSigner::Kind::p256);
    const auto keys = jwks_of({&ec});
    const std::string token = ec.sign(JwtSigner::claims(issuer, audience, "alice", "read"));
    REQUIRE(verify_jwt(token, keys, rules()).claims);
    // The payload with a wider scope, the signature kept.
    const auto dot = token.find('.'), last = token.rfind('.');
    auto claims = JwtSigner::claims(issuer, audience, "alice", "read write");
    const std::string widened = token.substr(0, dot + 1) + JwtSigner::url(claims.dump()) + token.substr(last);
    CHECK_FALSE(verify_jwt(widened, keys, rules()).claims);
    // A header with another kid, the signature kept.
    const std::string reheaded = JwtSigner::url(R"({"alg":"ES256","typ":"JWT","kid":"other"})") + token.substr(dot);
    CHECK_FALSE(verify_jwt(reheaded, keys, rules()).claims);
    // Padding is not base64url's.
    CHECK_FALSE(verify_jwt(token + "=", keys, rules()).claims);
    std::string flipped = token;
    flipped[last + 5] = flipped[last + 5] == 'A' ? 'B' : 'A';
    CHECK_FALSE(verify_jwt(flipped, keys, rules()).claims);
    for (const std::string& broken : std::vector<std::string>{"", "a.b", "a.b.c.d", "!!.??.**", token.substr(0, last)})
        CHECK_FALSE(verify_jwt(broken, keys, rules()).claims);
}

TEST_CASE("jwt: algorithm confusion is refused: none and HS256 and an algorithm another key type uses") {
    const JwtSigner rsa(JwtSigner::Kind::rsa), ed(JwtSigner::Kind::ed25519);
    const auto keys = jwks_of({&rsa, &ed});
    const auto claims = JwtSigner::claims(issuer, audience, "mallory");
    const std::string unsigned_token =
        JwtSigner::url(R"({"alg":"none","typ":"JWT"})") + "." + JwtSigner::url(claims.dump()) + ".";
    CHECK(verify_jwt(unsigned_token, keys, rules()).error.find("algorithm") != std::string::npos);
    CHECK_FALSE(verify_jwt(rsa.sign(claims, {{"alg", "HS256"}}), keys, rules()).claims);
    // An Ed25519 signature presented as RS256: no RSA key checks it.
    CHECK_FALSE(verify_jwt(ed.sign(claims, {{"alg", "RS256"}}), keys, rules()).claims);
    // An algorithm the configuration leaves out.
    auto only_es256 = rules();
    only_es256.algorithms = {JwtAlgorithm::es256};
    CHECK_FALSE(verify_jwt(rsa.sign(claims), keys, only_es256).claims);
    // Critical extensions nobody here understands.
    CHECK_FALSE(verify_jwt(rsa.sign(claims, {{"crit", {"exp"}}}), keys, rules()).claims);
}

TEST_CASE("jwt: the kid picks the key and an unknown kid finds none") {
    const JwtSigner first(JwtSigner::Kind::rsa, "2026-11"), second(JwtSigner::Kind::rsa, "2026-12");
    const auto keys = jwks_of({&first, &second});
    const auto claims = JwtSigner::claims(issuer, audience, "alice");
    CHECK(verify_jwt(first.sign(claims), keys, rules()).claims);
    CHECK(verify_jwt(second.sign(claims), keys, rules()).claims);
    CHECK_FALSE(verify_jwt(first.sign(claims, {{"kid", "2026-12"}}), keys, rules()).claims);
    CHECK_FALSE(verify_jwt(first.sign(claims, {{"kid", "retired"}}), keys, rules()).claims);
}

TEST_CASE("jwt: claims: expiry and not-before with leeway and issuer and audience and subject") {
    const JwtSigner ed(JwtSigner::Kind::ed25519);
    const auto keys = jwks_of({&ed});
    const auto now = std::chrono::system_clock::now();
    const auto seconds = [&](long long delta) {
        return std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count() + delta;
    };
    auto verdict = [&](json claims) { return verify_jwt(ed.sign(claims), keys, rules(), now); };
    auto good = JwtSigner::claims(issuer, audience, "alice");

    auto expired = good;
    expired["exp"] = seconds(-61);  // past the 60 s leeway
    CHECK(verdict(expired).error == "the token has expired");
    expired["exp"] = seconds(-30);  // within it
    CHECK(verdict(expired).claims);
    auto no_expiry = good;
    no_expiry.erase("exp");
    CHECK(verdict(no_expiry).error.find("exp") != std::string::npos);
    auto early = good;
    early["nbf"] = seconds(120);
    CHECK(verdict(early).error.find("nbf") != std::string::npos);
    early["nbf"] = seconds(30);
    CHECK(verdict(early).claims);

    auto other_issuer = good;
    other_issuer["iss"] = "https://evil.example.com/";
    CHECK(verdict(other_issuer).error.find("issuer") != std::string::npos);
    auto other_audience = good;
    other_audience["aud"] = "https://other.example.com/mcp";
    CHECK(verdict(other_audience).error.find("aud") != std::string::npos);
    auto audiences = good;
    audiences["aud"] = {"https://other.example.com/mcp", audience};
    CHECK(verdict(audiences).claims);
    auto no_subject = good;
    no_subject.erase("sub");
    CHECK(verdict(no_subject).error.find("sub") != std::string::npos);

    // "Never expires" in practice: far past what a nanosecond clock can hold, still accepted.
    auto far = good;
    far["exp"] = 9999999999LL * 10;
    CHECK(verdict(far).claims);
    auto far_nbf = good;
    far_nbf["nbf"] = 9999999999LL * 10;  // must not wrap into the past
    CHECK_FALSE(verdict(far_nbf).claims);

    auto scp = good;
    scp["scp"] = {"a", "b"};
    CHECK(verdict(scp).claims->scopes == std::vector<std::string>{"a", "b"});
}

TEST_CASE("jwt: key sets name the key that cannot be used") {
    const JwtSigner rsa(JwtSigner::Kind::rsa, "r1");
    auto jwk = rsa.jwk();
    auto error_of = [](const json& keys) {
        try {
            JwtKeySet::from_jwks(json{{"keys", keys}}.dump());
        } catch (const std::invalid_argument& error) {
            return std::string(error.what());
        }
        return std::string();
    };
    auto no_modulus = jwk;
    no_modulus.erase("n");
    CHECK(error_of(json::array({no_modulus})) == "key 0 (kid r1): 'n' is missing (a base64url string)");
    // 1024 bits: forgeable, refused.
    EVP_PKEY* small = EVP_RSA_gen(1024);
    BIGNUM* n = nullptr;
    EVP_PKEY_get_bn_param(small, OSSL_PKEY_PARAM_RSA_N, &n);
    std::string bytes(static_cast<std::size_t>(BN_num_bytes(n)), '\0');
    BN_bn2bin(n, reinterpret_cast<unsigned char*>(bytes.data()));
    BN_free(n);
    EVP_PKEY_free(small);
    auto weak = jwk;
    weak["n"] = JwtSigner::url(bytes);
    CHECK(error_of(json::array({weak})).find("1024 bits") != std::string::npos);
    // A point that is not on the curve.
    const JwtSigner ec(JwtSigner::Kind::p256);
    auto off_curve = ec.jwk();
    off_curve["y"] = JwtSigner::url(std::string(32, '\x01'));
    CHECK(error_of(json::array({off_curve})).find("P-256") != std::string::npos);
    // Encryption keys and other types are skipped; nothing usable left is an error.
    auto encryption = jwk;
    encryption["use"] = "enc";
    CHECK(error_of(json::array({encryption, json{{"kty", "oct"}, {"k", "c2VjcmV0"}}})).find("no signing key") !=
          std::string::npos);
    CHECK(error_of(json::array({encryption, jwk})).empty());
    auto pinned = jwk;
    pinned["alg"] = "RS512";  // pinned to an algorithm we do not check: skipped
    CHECK(error_of(json::array({pinned})).find("no signing key") != std::string::npos);
    CHECK(error_of(json::array({json{{"kty", 1}}})) == "key 0: 'kty' is not a string");
    CHECK(error_of(json::array({json{{"use", 1}, {"kty", "RSA"}}})) == "key 0: 'use' is not a string");
    auto even = jwk;  // an even modulus is no RSA key
    auto modulus = *core::base64_decode(jwk["n"].get<std::string>(), core::Base64Alphabet::url);
    modulus.back() = static_cast<char>(modulus.back() & ~1);
    even["n"] = JwtSigner::url(modulus);
    CHECK(error_of(json::array({even})).find("not a valid RSA public key") != std::string::npos);
    // A damaged second PEM key is an error, not skipped.
    const std::string good_pem = rsa.pem();
    std::string damaged = ec.pem();
    damaged[damaged.size() / 2] = '!';
    CHECK_THROWS_WITH(JwtKeySet::from_pem(good_pem + damaged), Catch::Contains("cannot be read"));
    CHECK_THROWS_AS(JwtKeySet::from_jwks("[]"), std::invalid_argument);
    CHECK_THROWS_AS(JwtKeySet::from_pem("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"),
                    std::invalid_argument);
}
