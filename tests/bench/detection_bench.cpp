// Scan throughput of the built-in detection plugins (Google Benchmark; not a test). Each case runs
// one tools/call request through the real pipeline with the plugin(s) in audit_only mode, so the
// message is never changed and the time is the plugins' scanning plus the host's string visiting.
// Bytes processed = the size of the request's arguments as JSON text.
//
//     cmake --build --preset dev -j1 --target bench_detection
//     build/dev/bin/watchgate_detection_bench --benchmark_filter=prose
#include <watchgate/core/config/config.hpp>
#include <watchgate/core/protocol/message.hpp>
#include <watchgate/core/pipeline/pipeline.hpp>
#include <watchgate/core/pipeline/plugin_host.hpp>

#include <benchmark/benchmark.h>
#include <nlohmann/json.hpp>

#include <map>
#include <memory>
#include <random>
#include <string>
#include <variant>
#include <vector>

using namespace watchgate;

namespace {

const char* const words[] = {"the",      "gateway",   "forwards", "every",   "request", "to",        "an",
                             "upstream", "server",    "and",      "returns", "its",     "answer",    "after",
                             "checking", "content",   "for",      "policy",  "while",   "clients",   "wait",
                             "quietly",  "a",         "report",   "shows",   "numbers", "like",      "42",
                             "of",       "2024",      "users",    "in",      "Paris",   "yesterday", "with",
                             "tools",    "resources", "prompts",  "notes",   "summary", "is",        "ready"};

std::string prose(std::size_t size, std::mt19937& random) {
    std::string text;
    std::uniform_int_distribution<std::size_t> pick(0, std::size(words) - 1);
    std::size_t in_sentence = 0;
    while (text.size() < size) {
        std::string word = words[pick(random)];
        if (in_sentence == 0 && !word.empty() && word[0] >= 'a' && word[0] <= 'z') word[0] = char(word[0] - 32);
        text += word;
        if (++in_sentence > 12) {
            text += ". ";
            in_sentence = 0;
        } else {
            text += ' ';
        }
    }
    text.resize(size);
    return text;
}

// Arguments made of many small objects: ids, names, tags, short descriptions, numbers.
nlohmann::json json_heavy(std::size_t size, std::mt19937& random) {
    nlohmann::json items = nlohmann::json::array();
    std::size_t written = 0;
    for (int id = 0; written < size; ++id) {
        nlohmann::json item{{"id", id},
                            {"name", "widget-" + std::to_string(id)},
                            {"price", id * 1.25},
                            {"tags", {"alpha", "beta", "gamma"}},
                            {"active", id % 2 == 0},
                            {"description", prose(48, random)}};
        written += item.dump().size() + 1;
        items.push_back(std::move(item));
    }
    return {{"items", items}};
}

std::string base64_heavy(std::size_t size, std::mt19937& random) {
    static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::uniform_int_distribution<int> pick(0, 63);
    std::string text;
    while (text.size() < size) text += alphabet[pick(random)];
    return text;
}

// Near-misses of every pattern family, packed together.
std::string adversarial(std::size_t size) {
    const std::string unit =
        "4111 1111-1111 1.2.3.4.5 ::1:: a@b.c@d.e 0-0-0 +1 (555) -----BEGIN RSA PRIVATE KEY----- password= "
        "eyJhbGciOi.eyJ AKIA ghp_ sk-ant- ignore previous ignore all <|im_start <system "
        "QUJDREVGR0hJSktMTU5PUFFSU1RVVldY 4142434445464748494a4b4c %41%42 ";
    std::string text;
    while (text.size() < size) text += unit;
    text.resize(size);
    return text;
}

struct Setup {
    const char* name;
    std::vector<const char*> handlers;
};

const Setup setups[] = {{"pii", {"basic_pii_filter"}},
                        {"secrets", {"basic_secrets_filter"}},
                        {"injection", {"basic_prompt_injection_defense"}},
                        {"all3", {"basic_pii_filter", "basic_secrets_filter", "basic_prompt_injection_defense"}}};

std::shared_ptr<core::PluginHost> host_for(const Setup& setup, bool scan_base64) {
    static std::map<std::string, std::shared_ptr<core::PluginHost>> hosts;
    const std::string key = std::string(setup.name) + (scan_base64 ? "+b64" : "");
    auto& host = hosts[key];
    if (!host) {
        std::string yaml = "plugins:\n  security:\n    _global:\n";
        for (const char* handler : setup.handlers)
            yaml += std::string("      - handler: ") + handler +
                    "\n        config: {action: audit_only, scan_base64: " + (scan_base64 ? "true" : "false") + "}\n";
        host = core::PluginHost::load(core::parse_config(yaml, "bench.yaml"));
    }
    return host;
}

void run_scan(benchmark::State& state, const Setup& setup, const nlohmann::json& arguments, bool scan_base64) {
    auto host = host_for(setup, scan_base64);
    nlohmann::json request{
        {"jsonrpc", "2.0"}, {"id", 1}, {"method", "tools/call"}, {"params", {{"name", "t"}, {"arguments", arguments}}}};
    auto message = std::get<core::Message>(core::Message::parse(request.dump()));
    auto pipeline = host->pipeline("");
    for (auto _ : state) {
        auto scope = pipeline->begin_request(message);
        auto result = pipeline->process_request(*scope, message);
        benchmark::DoNotOptimize(result);
    }
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(arguments.dump().size()));
}

void register_all() {
    std::mt19937 random(5);
    const std::pair<const char*, std::size_t> sizes[] = {{"1KB", 1024}, {"64KB", 64 * 1024}, {"1MiB", 1024 * 1024}};
    for (const auto& [size_name, size] : sizes) {
        struct Payload {
            const char* name;
            nlohmann::json arguments;
            bool scan_base64;
        };
        const Payload payloads[] = {{"prose", {{"text", prose(size, random)}}, false},
                                    {"json", json_heavy(size, random), false},
                                    {"base64", {{"blob", base64_heavy(size, random)}}, true},
                                    {"adversarial", {{"text", adversarial(size)}}, false}};
        for (const Payload& payload : payloads)
            for (const Setup& setup : setups)
                benchmark::RegisterBenchmark((std::string(payload.name) + "/" + size_name + "/" + setup.name).c_str(),
                                             [&setup, arguments = payload.arguments, scan = payload.scan_base64](
                                                 benchmark::State& state) { run_scan(state, setup, arguments, scan); })
                    ->Unit(benchmark::kMicrosecond);
    }
}

}  // namespace

int main(int argc, char** argv) {
    register_all();
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
