// Scanning cost grows linearly: a 1 MiB adversarial string takes about four times as long as a
// 256 KiB one (asserted as a ratio with generous slack, never as an absolute time).
#include <catch2/catch.hpp>

#include "detection_support.hpp"

#include <chrono>
#include <random>

using namespace watchgate;

namespace {

// Pieces that start many candidates and almost-matches: digit runs with separators, dotted
// quads, colons, '@', PEM headers, assignments, injection phrases, zero-width characters and
// base64-looking runs.
const char* const adversarial_unit =
    "4111 1111-1111 1.2.3.4.5 ::1:: a@b.c@d.e 0-0-0 +1 (555) -----BEGIN RSA PRIVATE KEY----- password= "
    "eyJhbGciOi.eyJ AKIA ghp_ sk-ant- ignore previous ignore all <|im_start <system \u200b\u200b "
    "QUJDREVGR0hJSktMTU5PUFFSU1RVVldY 4142434445464748494a4b4c %41%42 ";

std::string adversarial(std::size_t size) {
    std::string text;
    while (text.size() < size) text += adversarial_unit;
    text.resize(size);
    // Never cut a UTF-8 sequence: the message must stay valid.
    while (!text.empty() && (static_cast<unsigned char>(text.back()) & 0x80)) text.pop_back();
    return text;
}

// `size` bytes drawn from `alphabet`: long runs of one character class, the inputs on which a
// pattern set with counted repetitions builds exponentially many DFA states.
std::string random_text(std::size_t size, std::string_view alphabet) {
    std::mt19937 random(5);
    std::uniform_int_distribution<std::size_t> pick(0, alphabet.size() - 1);
    std::string text(size, ' ');
    for (char& c : text) c = alphabet[pick(random)];
    return text;
}

// The fastest of several rounds: on a loaded machine (the test suite runs two tests at once) one
// round in a few runs without being preempted.
double best_seconds(const std::shared_ptr<core::PluginHost>& host, const std::string& text) {
    double best = 1e9;
    for (int round = 0; round < 9; ++round) {
        auto message = test::text_request(text);
        auto started = std::chrono::steady_clock::now();
        test::run_request(host, message);
        best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    }
    return best;
}

}  // namespace

TEST_CASE("linear time: 1 MiB adversarial input costs about 4x 256 KiB, for every plugin") {
    const std::pair<const char*, const char*> plugins[] = {
        {"basic_pii_filter", "{action: audit_only, scan_base64: true}"},
        {"basic_secrets_filter", "{action: audit_only, scan_base64: true, entropy_detection: {enabled: true}}"},
        {"basic_prompt_injection_defense", "{action: audit_only, scan_base64: true, sensitivity: strict}"}};
    for (const auto& [handler, config] : plugins) {
        auto host = test::detection_host(handler, config);
        const double small = best_seconds(host, adversarial(256 * 1024));
        const double large = best_seconds(host, adversarial(1024 * 1024));
        INFO(handler << ": 256 KiB " << small << " s, 1 MiB " << large << " s, ratio " << large / small);
        // Linear is 4, quadratic 16; the margin is for a loaded machine (6.07 was seen in a full run).
        CHECK(large / small < 10.0);
    }
}

TEST_CASE("no input shape is much slower to scan than prose") {
    const std::string prose = random_text(1024 * 1024, "abcdefghijklmnopqrstuvwxyz     ,.");
    const std::string shapes[] = {
        random_text(1024 * 1024, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"),
        random_text(1024 * 1024, "0123456789 -."), random_text(1024 * 1024, "abcXYZ019.-_@:"),
        random_text(1024 * 1024, "0123456789abcdef:")};
    for (const char* handler : {"basic_pii_filter", "basic_secrets_filter", "basic_prompt_injection_defense"}) {
        auto host = test::detection_host(handler, "{action: audit_only}");
        const double baseline = best_seconds(host, prose);
        for (const std::string& shape : shapes) {
            const double seconds = best_seconds(host, shape);
            INFO(handler << ": prose " << baseline << " s, '" << shape.substr(0, 12) << "...' " << seconds << " s");
            // Candidate-dense inputs cost more (validators run); a DFA state explosion costs 100x.
            CHECK(seconds / baseline < 25.0);
        }
    }
}
