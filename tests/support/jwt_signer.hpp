#pragma once
// A test authorization server's half: a fresh key pair (RSA 2048, EC P-256 or Ed25519), its
// public key as a JWK and as PEM, and compact JWTs signed with its private key by OpenSSL.

#include <watchgate/core/base/base64.hpp>

#include <nlohmann/json.hpp>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>

namespace watchgate::test {

class JwtSigner {
public:
    enum class Kind { rsa, p256, ed25519 };

    explicit JwtSigner(Kind kind, std::string kid = {}) : kind_(kind), kid_(std::move(kid)) {
        EVP_PKEY* key = nullptr;
        if (kind == Kind::rsa)
            key = EVP_RSA_gen(2048);
        else if (kind == Kind::p256)
            key = EVP_EC_gen("P-256");
        else
            key = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
        if (!key) throw std::runtime_error("key generation failed");
        key_.reset(key);
    }

    std::string algorithm() const { return kind_ == Kind::rsa ? "RS256" : kind_ == Kind::p256 ? "ES256" : "EdDSA"; }
    const std::string& kid() const { return kid_; }

    // The public key as a JWK (RFC 7517).
    nlohmann::json jwk() const {
        nlohmann::json out;
        if (kind_ == Kind::rsa) {
            out = {{"kty", "RSA"}, {"n", bignum(OSSL_PKEY_PARAM_RSA_N)}, {"e", bignum(OSSL_PKEY_PARAM_RSA_E)}};
        } else if (kind_ == Kind::p256) {
            out = {{"kty", "EC"},
                   {"crv", "P-256"},
                   {"x", bignum(OSSL_PKEY_PARAM_EC_PUB_X, 32)},
                   {"y", bignum(OSSL_PKEY_PARAM_EC_PUB_Y, 32)}};
        } else {
            std::string raw(32, '\0');
            std::size_t size = raw.size();
            EVP_PKEY_get_raw_public_key(key_.get(), reinterpret_cast<unsigned char*>(raw.data()), &size);
            out = {{"kty", "OKP"}, {"crv", "Ed25519"}, {"x", url(raw)}};
        }
        out["use"] = "sig";
        if (!kid_.empty()) out["kid"] = kid_;
        return out;
    }

    // The public key as a PEM "PUBLIC KEY" block.
    std::string pem() const {
        std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
        PEM_write_bio_PUBKEY(bio.get(), key_.get());
        char* data = nullptr;
        const long size = BIO_get_mem_data(bio.get(), &data);
        return std::string(data, static_cast<std::size_t>(size));
    }

    // A token with these claims; `header_changes` are merged into the header (alg, kid, ...).
    std::string sign(const nlohmann::json& claims,
                     const nlohmann::json& header_changes = nlohmann::json::object()) const {
        nlohmann::json header = {{"alg", algorithm()}, {"typ", "JWT"}};
        if (!kid_.empty()) header["kid"] = kid_;
        header.update(header_changes);
        return sign_parts(header.dump(), claims.dump());
    }

    // A token of these exact header and payload bytes (any bytes: a fuzzer's).
    std::string sign_parts(const std::string& header, const std::string& payload) const {
        const std::string signed_part = url(header) + "." + url(payload);
        std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> context(EVP_MD_CTX_new(), EVP_MD_CTX_free);
        EVP_DigestSignInit(context.get(), nullptr, kind_ == Kind::ed25519 ? nullptr : EVP_sha256(), nullptr,
                           key_.get());
        std::size_t size = 0;
        EVP_DigestSign(context.get(), nullptr, &size, reinterpret_cast<const unsigned char*>(signed_part.data()),
                       signed_part.size());
        std::string signature(size, '\0');
        EVP_DigestSign(context.get(), reinterpret_cast<unsigned char*>(signature.data()), &size,
                       reinterpret_cast<const unsigned char*>(signed_part.data()), signed_part.size());
        signature.resize(size);
        if (kind_ == Kind::p256) signature = raw_ecdsa(signature);
        return signed_part + "." + url(signature);
    }

    // Claims valid now for `audience` from `issuer`, expiring in `lifetime`.
    static nlohmann::json claims(const std::string& issuer, const std::string& audience, const std::string& subject,
                                 const std::string& scope = {},
                                 std::chrono::seconds lifetime = std::chrono::seconds(300)) {
        const auto now =
            std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
                .count();
        nlohmann::json out = {
            {"iss", issuer}, {"aud", audience}, {"sub", subject}, {"iat", now}, {"exp", now + lifetime.count()}};
        if (!scope.empty()) out["scope"] = scope;
        return out;
    }

    static std::string url(const std::string& bytes) { return core::base64_encode(bytes, core::Base64Alphabet::url); }

private:
    struct Free {
        void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
    };

    std::string bignum(const char* name, std::size_t width = 0) const {
        BIGNUM* value = nullptr;
        EVP_PKEY_get_bn_param(key_.get(), name, &value);
        std::string bytes(std::max<std::size_t>(width, static_cast<std::size_t>(BN_num_bytes(value))), '\0');
        BN_bn2binpad(value, reinterpret_cast<unsigned char*>(bytes.data()), static_cast<int>(bytes.size()));
        BN_free(value);
        return url(bytes);
    }

    // JOSE's ES256 signature is r||s, 32 bytes each; OpenSSL gives DER.
    static std::string raw_ecdsa(const std::string& der) {
        auto in = reinterpret_cast<const unsigned char*>(der.data());
        ECDSA_SIG* sig = d2i_ECDSA_SIG(nullptr, &in, static_cast<long>(der.size()));
        std::string out(64, '\0');
        BN_bn2binpad(ECDSA_SIG_get0_r(sig), reinterpret_cast<unsigned char*>(out.data()), 32);
        BN_bn2binpad(ECDSA_SIG_get0_s(sig), reinterpret_cast<unsigned char*>(out.data()) + 32, 32);
        ECDSA_SIG_free(sig);
        return out;
    }

    Kind kind_;
    std::string kid_;
    std::unique_ptr<EVP_PKEY, Free> key_;
};

}  // namespace watchgate::test
