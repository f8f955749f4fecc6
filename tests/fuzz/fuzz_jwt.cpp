// The HTTP front's JWT check (a client's bytes) and the key-set readers (a config's), with
// oracles: no unsigned input is ever accepted, a token the harness signed is accepted only when
// its claims say what the rules ask, and nothing but std::invalid_argument leaves the readers.
#include "jwt_signer.hpp"

#include <watchgate/core/base/jwt.hpp>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace {

using watchgate::test::JwtSigner;
using namespace watchgate::core;

[[noreturn]] void finding(const char* what) {
    std::fprintf(stderr, "oracle: %s\n", what);
    std::abort();
}

const std::string issuer = "https://auth.example.com/";

struct Fixture {
    JwtSigner rsa{JwtSigner::Kind::rsa, "r"};
    JwtSigner ec{JwtSigner::Kind::p256, "e"};
    JwtSigner ed{JwtSigner::Kind::ed25519};
    JwtKeySet keys;
    JwtRules rules;
    Fixture() {
        keys = JwtKeySet::from_jwks(nlohmann::json{{"keys", {rsa.jwk(), ec.jwk(), ed.jwk()}}}.dump());
        rules.issuer = issuer;
        rules.audiences = {"mcp"};
    }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const Fixture fixture;
    if (size == 0) return 0;
    const std::string input(reinterpret_cast<const char*>(data + 1), size - 1);
    switch (data[0] % 4) {
        case 0:  // a client's token: without a private key nothing is accepted
            if (verify_jwt(input, fixture.keys, fixture.rules).claims) finding("an unsigned token was accepted");
            break;
        case 1: {  // header and payload of the input's choosing, signed by a configured key
            const auto cut = input.find('\n');
            const std::string header = cut == std::string::npos ? R"({"alg":"EdDSA"})" : input.substr(0, cut);
            const std::string payload = cut == std::string::npos ? input : input.substr(cut + 1);
            const JwtSigner& signer = data[0] % 3 == 0 ? fixture.rsa : data[0] % 3 == 1 ? fixture.ec : fixture.ed;
            const auto verdict = verify_jwt(signer.sign_parts(header, payload), fixture.keys, fixture.rules);
            if (!verdict.claims) break;
            const auto claims = nlohmann::json::parse(payload, nullptr, false);
            if (!claims.is_object() || claims.value("iss", nlohmann::json()) != issuer || !claims.contains("exp") ||
                verdict.claims->subject.empty() || verdict.claims->subject != claims.value("sub", ""))
                finding("a token was accepted whose claims break the rules");
            break;
        }
        case 2:
            try {
                (void)JwtKeySet::from_jwks(input);
            } catch (const std::invalid_argument&) {
            }
            break;
        default:
            try {
                (void)JwtKeySet::from_pem(input);
            } catch (const std::invalid_argument&) {
            }
    }
    return 0;
}
