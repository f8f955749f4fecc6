// The `watchgate` binary as a user runs it.
#include <catch2/catch.hpp>

#include "test_support.hpp"

#include <sys/wait.h>

#include <array>
#include <cstdio>

using namespace watchgate;

namespace {

struct Outcome {
    int exit_code;
    std::string output;  // stdout and stderr
};

Outcome run(const std::string& arguments) {
    std::string command = std::string(WATCHGATE_BINARY) + " " + arguments + " 2>&1";
    FILE* pipe = ::popen(command.c_str(), "r");
    REQUIRE(pipe);
    std::string output;
    std::array<char, 4096> buffer;
    while (std::size_t n = std::fread(buffer.data(), 1, buffer.size(), pipe)) output.append(buffer.data(), n);
    int status = ::pclose(pipe);
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output};
}

std::string demo() { return std::string(WATCHGATE_SOURCE_DIR) + "/tests/demo"; }

// The demo's configuration in a scratch folder: its log and audit trail are relative to it.
std::string demo_config(const std::string& scratch) {
    const auto dir = test::scratch_dir(scratch);
    std::filesystem::copy_file(demo() + "/gateway.yaml", dir / "gateway.yaml",
                               std::filesystem::copy_options::overwrite_existing);
    return (dir / "gateway.yaml").string();
}

}  // namespace

TEST_CASE("cli: --version") {
    auto result = run("--version");
    CHECK(result.exit_code == 0);
    CHECK_THAT(result.output, Catch::StartsWith("watchgate 0."));
}

TEST_CASE("cli: validate accepts the demo configuration") {
    const auto config = demo_config("cli_demo_validate");
    auto result = run("validate --config " + config);
    CHECK(result.exit_code == 0);
    CHECK(result.output == "Configuration valid: " + config + "\n");
}

TEST_CASE("cli: a wrong key of the file and a plugin's config error are reported together") {
    auto dir = test::scratch_dir("cli_validate_both");
    std::ofstream(dir / "bad.yaml") << "proxy:\n  upstreams:\n    - {name: a, command: [x]}\n"
                                       "plugins:\n  security:\n    _global:\n"
                                       "      - handler: keyword_filter\n"
                                       "        config: {priority: high, keywords: [a], actoin: block}\n";
    const std::string file = (dir / "bad.yaml").string();
    for (const std::string& command : {"validate --config " + file, "--config " + file + " < /dev/null"}) {
        INFO(command);
        auto result = run(command);
        CHECK(result.exit_code == 1);
        CHECK_THAT(result.output, Catch::Contains(file + ":8:28: expected an integer from 0 to 100"));
        CHECK_THAT(result.output, Catch::Contains("plugin 'keyword_filter': config/actoin: unknown key"));
    }
}

TEST_CASE("cli: validate reports every error with its place and exits 1") {
    auto dir = test::scratch_dir("cli_validate");
    std::ofstream(dir / "bad.yaml")
        << "plugins:\n  security:\n    _global:\n"
           "      - handler: keyword_filtr\n"
           "      - handler: keyword_filter\n        config: {keywords: [a], actoin: block}\n";
    auto result = run("validate --config " + (dir / "bad.yaml").string());
    CHECK(result.exit_code == 1);
    CHECK_THAT(result.output,
               Catch::Contains((dir / "bad.yaml").string() + ":4:9: plugin 'keyword_filtr' not found; searched: "));
    CHECK_THAT(result.output, Catch::Contains("did you mean 'keyword_filter'?"));
    CHECK_THAT(result.output, Catch::Contains((dir / "bad.yaml").string() +
                                              ":6:33: plugin 'keyword_filter': config/actoin: unknown key"));
    CHECK_THAT(result.output, Catch::Contains("2 errors in the configuration"));
}

TEST_CASE("cli: plugins list and describe read the descriptors") {
    auto list = run("plugins list");
    CHECK(list.exit_code == 0);
    CHECK_THAT(list.output, Catch::Contains("keyword_filter  0.1.0  [security]  Blocks or redacts"));
    CHECK_THAT(list.output, Catch::StartsWith("searched: "));  // where it looked, first
    auto describe = run("plugins describe keyword_filter");
    CHECK(describe.exit_code == 0);
    CHECK_THAT(describe.output, Catch::Contains("thread-safe: yes"));
    CHECK_THAT(describe.output, Catch::Contains("\"required\":[\"keywords\"]"));
    auto missing = run("plugins describe nothing_here");
    CHECK(missing.exit_code == 1);
    CHECK_THAT(missing.output, Catch::Contains("plugin 'nothing_here' not found"));
}

TEST_CASE("cli: simulate leaves the configured audit outputs alone unless --audit is given") {
    const auto dir = test::scratch_dir("cli_simulate_audit");
    const auto audit = dir / "audit.jsonl";
    std::ofstream(dir / "gateway.yaml") << "proxy:\n  upstreams:\n    - name: test\n      command: [\""
                                        << WATCHGATE_TEST_SERVER << "\"]\n"
                                        << "plugins:\n  auditing:\n    _global:\n      - handler: audit_jsonl\n"
                                        << "        config: {output_file: '" << audit.string() << "'}\n";
    const std::string simulate =
        "simulate --config " + (dir / "gateway.yaml").string() + " --input " + demo() + "/messages.jsonl";
    auto quiet = run(simulate);
    CHECK(quiet.exit_code == 0);
    CHECK_THAT(quiet.output, Catch::Contains("auditing plugins not run"));
    CHECK_FALSE(std::filesystem::exists(audit));
    auto audited = run(simulate + " --audit");
    CHECK(audited.exit_code == 0);
    CHECK(std::filesystem::exists(audit));
}

TEST_CASE("cli: simulate runs the demo messages and prints every verdict") {
    auto result =
        run("simulate --config " + demo_config("cli_demo_simulate") + " --input " + demo() + "/messages.jsonl");
    CHECK(result.exit_code == 0);
    CHECK_THAT(result.output, Catch::Contains("request 2 tools/call add_note\n  [keyword_filter] blocked"));
    CHECK_THAT(result.output,
               Catch::Contains("=> blocked: answered by the gateway {\"error\":{\"code\":-32000,\"message\":\"Request "
                               "blocked: keyword_filter: a configured keyword was found\""));
    CHECK_THAT(result.output, Catch::Contains("invalid message: {\"error\":{\"code\":-32700"));
    CHECK_THAT(result.output, Catch::Contains("request 1 tools/call add_note\n  [keyword_filter] allowed"));
}

TEST_CASE("cli: call runs one request through the whole gateway") {
    auto dir = test::scratch_dir("cli_call");
    std::ofstream(dir / "gateway.yaml") << "proxy:\n  upstreams:\n    - name: test\n      command: [\""
                                        << WATCHGATE_TEST_SERVER << "\"]\n"
                                        << "plugins:\n  security:\n    _global:\n      - handler: keyword_filter\n"
                                        << "        config: {keywords: [forbidden]}\n";
    const std::string config = (dir / "gateway.yaml").string();
    auto passed = run("call --config " + config + " tools/call '{\"name\":\"echo\",\"arguments\":{\"text\":\"hi\"}}'");
    CHECK(passed.exit_code == 0);
    CHECK_THAT(passed.output, Catch::Contains("\"text\": \"hi\""));
    auto blocked =
        run("call --config " + config + " tools/call '{\"name\":\"echo\",\"arguments\":{\"text\":\"forbidden\"}}'");
    CHECK(blocked.exit_code == 1);
    CHECK_THAT(blocked.output, Catch::Contains("Request blocked: keyword_filter: a configured keyword was found"));
    auto bad_params = run("call --config " + config + " tools/call 'not json'");
    CHECK(bad_params.exit_code == 2);
    CHECK_THAT(bad_params.output, Catch::Contains("params must be a JSON object or array"));
}

TEST_CASE("cli: --validate-only and the bare --config form") {
    auto result = run("--config " + demo() + "/gateway.yaml --validate-only");
    CHECK(result.exit_code == 0);
    CHECK_THAT(result.output, Catch::StartsWith("Configuration valid: "));
}

TEST_CASE("cli: started by an MCP client with wrong arguments, it answers the first line with a JSON-RPC error") {
    const auto dir = test::scratch_dir("cli_client_errors");
    std::ofstream(dir / "first.jsonl") << R"({"jsonrpc":"2.0","id":1,"method":"initialize","params":{}})"
                                       << "\n";
    const std::string input = " < " + (dir / "first.jsonl").string();
    for (const char* arguments : {"", "run", "--no-such-option"}) {
        INFO("watchgate " << arguments);
        const std::string command = std::string(WATCHGATE_BINARY) + " " + std::string(arguments) + input + " 2>" +
                                    (dir / "stderr.txt").string();
        FILE* pipe = ::popen(command.c_str(), "r");
        REQUIRE(pipe);
        std::string out;
        std::array<char, 4096> buffer;
        while (std::size_t n = std::fread(buffer.data(), 1, buffer.size(), pipe)) out.append(buffer.data(), n);
        const int status = ::pclose(pipe);
        CHECK(WEXITSTATUS(status) == 2);
        auto answer = nlohmann::json::parse(out, nullptr, false);  // stdout is exactly one JSON-RPC line
        REQUIRE(answer.is_object());
        CHECK(answer["id"] == 1);
        CHECK(answer["error"]["code"] == -32603);
        CHECK_THAT(answer["error"]["message"].get<std::string>(), Catch::Contains("Watchgate failed to start"));
        CHECK_THAT(test::read_file(dir / "stderr.txt"), Catch::Contains("error: "));  // the reason, for people
    }
}
