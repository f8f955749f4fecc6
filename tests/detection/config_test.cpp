// Configuration errors come back as JSON pointer + message, which the host maps to the YAML line.
#include <catch2/catch.hpp>

#include "detection_support.hpp"

using namespace watchgate;

namespace {

std::string errors_of(const std::string& handler, const std::string& config_lines) {
    return test::load_errors("plugins:\n  security:\n    _global:\n      - handler: " + handler +
                             "\n        config:\n" + config_lines);
}

}  // namespace

TEST_CASE("config: an unknown PII type, a bad action and an unknown key, each at its line") {
    const std::string errors = errors_of("basic_pii_filter",
                                         "          action: shout\n"
                                         "          pii_types:\n"
                                         "            email: {enabled: false}\n"
                                         "            passport: {enabled: true}\n"
                                         "            phone: maybe\n"
                                         "          scan_base65: true\n");
    CHECK_THAT(errors, Catch::Contains("test.yaml:7:11: plugin 'basic_pii_filter': config/action: expected one of: "
                                       "block, redact, audit_only"));
    CHECK_THAT(errors, Catch::Contains("test.yaml:10:13: plugin 'basic_pii_filter': config/pii_types/passport: "
                                       "unknown PII type 'passport'; expected one of: email, phone"));
    CHECK_THAT(errors, Catch::Contains("config/pii_types/phone: expected true, false or {enabled: true|false}"));
    CHECK_THAT(errors, Catch::Contains("test.yaml:12:11: plugin 'basic_pii_filter': config/scan_base65: unknown key "
                                       "'scan_base65'; did you mean 'scan_base64'?"));
}

TEST_CASE("config: a bad sensitivity and an unknown detection method") {
    const std::string errors = errors_of("basic_prompt_injection_defense",
                                         "          sensitivity: paranoid\n"
                                         "          detection_methods: [context_hijacking, telepathy]\n");
    CHECK_THAT(errors, Catch::Contains("test.yaml:7:11: plugin 'basic_prompt_injection_defense': config/sensitivity: "
                                       "expected one of: relaxed, standard, strict"));
    CHECK_THAT(errors, Catch::Contains("config/detection_methods/1: unknown detection method 'telepathy'"));
}

TEST_CASE("config: secret types and entropy options are checked") {
    const std::string errors =
        errors_of("basic_secrets_filter",
                  "          secret_types: {aws_access_keys: {enabled: yes_please}, bogus: true}\n"
                  "          entropy_detection: {enabled: true, threshold: 12, min_length: 300,"
                  " max_length: 100, colour: red}\n");
    CHECK_THAT(errors, Catch::Contains("config/secret_types/aws_access_keys/enabled: expected true or false"));
    CHECK_THAT(errors, Catch::Contains("config/secret_types/bogus: unknown secret type 'bogus'"));
    CHECK_THAT(errors, Catch::Contains("config/entropy_detection/threshold: expected a number of bits per character"));
    CHECK_THAT(errors, Catch::Contains("config/entropy_detection/min_length: min_length is larger than max_length"));
    CHECK_THAT(errors, Catch::Contains("config/entropy_detection/colour: unknown key 'colour'"));
}

TEST_CASE("config: Gatekit-shaped configurations load") {
    CHECK(errors_of("basic_pii_filter",
                    "          action: redact\n          scan_base64: false\n          pii_types:\n"
                    "            email: {enabled: true}\n            phone: {enabled: true}\n"
                    "            credit_card: {enabled: true}\n            ip_address: {enabled: false}\n"
                    "            national_id: {enabled: true}\n") == "");
    CHECK(errors_of("basic_secrets_filter",
                    "          action: block\n          secret_types:\n            aws_access_keys: {enabled: true}\n"
                    "            github_tokens: {enabled: true}\n            google_api_keys: {enabled: true}\n"
                    "            jwt_tokens: {enabled: true}\n            ssh_private_keys: {enabled: true}\n"
                    "            private_keys: {enabled: false}\n"
                    "          entropy_detection: {enabled: false, threshold: 5.0, min_length: 20}\n") == "");
    CHECK(errors_of("basic_prompt_injection_defense",
                    "          action: audit_only\n          sensitivity: strict\n          detection_methods:\n"
                    "            delimiter_injection: {enabled: true}\n            role_manipulation: {enabled: true}\n"
                    "            context_hijacking: {enabled: false}\n") == "");
}

TEST_CASE("config: type switches change what is detected") {
    auto no_ip = test::detection_host("basic_pii_filter", "{action: audit_only, pii_types: {ip_address: false}}");
    CHECK(test::scan_types(no_ip, "a@b.example 10.0.0.1 2001:db8::1") == std::vector<std::string>{"EMAIL"});
    auto only_ipv6 = test::detection_host("basic_pii_filter", "{action: audit_only, pii_types: [ipv6]}");
    CHECK(test::scan_types(only_ipv6, "a@b.example 10.0.0.1 2001:db8::1") == std::vector<std::string>{"IPV6"});
    auto no_ipv4 = test::detection_host("basic_pii_filter", "{action: audit_only, pii_types: {ipv4: false}}");
    CHECK(test::scan_types(no_ipv4, "a@b.example 10.0.0.1 2001:db8::1") == std::vector<std::string>{"EMAIL", "IPV6"});
    auto no_github = test::detection_host("basic_secrets_filter",
                                          "{action: audit_only, secret_types: {github_tokens: {enabled: false}}}");
    CHECK(test::scan_types(no_github, "ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789").empty());
}
