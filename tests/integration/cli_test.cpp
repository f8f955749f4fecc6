// The `watchgate` binary as a user runs it.
#include <catch2/catch.hpp>

#include "run_command.hpp"
#include "test_support.hpp"

#include <sys/wait.h>

#include <array>
#include <fstream>
#include <cstdio>

using namespace watchgate;

namespace {

struct Outcome {
    int exit_code;
    std::string output;  // stdout and stderr
};

Outcome run(const std::string& arguments) {
    auto [exit_code, output] = test::run_command(std::string(WATCHGATE_BINARY) + " " + arguments);
    return {exit_code, output};
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

TEST_CASE("cli: --help shows examples") {
    auto result = run("--help");
    CHECK(result.exit_code == 0);
    CHECK_THAT(result.output, Catch::Contains("Examples:"));
    CHECK_THAT(result.output, Catch::Contains("watchgate init --import"));
    CHECK_THAT(result.output, Catch::Contains("watchgate --config /abs/path/gateway.yaml"));
    // Only the top level's help: a command's own help stays short.
    auto init_help = run("init --help");
    CHECK(init_help.exit_code == 0);
    CHECK_THAT(init_help.output, !Catch::Contains("Examples:"));
}

TEST_CASE("cli: init writes a commented starter that validates and never overwrites unasked") {
    auto dir = test::scratch_dir("cli_init");
    const std::string file = (dir / "gateway.yaml").string();
    auto written = run("init -o " + file);
    CHECK(written.exit_code == 0);
    CHECK_THAT(written.output, Catch::StartsWith("wrote " + file));
    CHECK_THAT(written.output, Catch::Contains("watchgate validate --config " + file));
    const std::string text = test::read_file(file);
    CHECK_THAT(text, Catch::Contains("handler: basic_pii_filter"));
    CHECK_THAT(text, Catch::Contains("handler: basic_secrets_filter"));
    CHECK_THAT(text, Catch::Contains("handler: audit_jsonl"));
    CHECK_THAT(text, Catch::Contains("# A remote server"));
    CHECK(run("validate --config " + file).exit_code == 0);

    std::ofstream(file) << "mine\n";
    auto refused = run("init -o " + file);
    CHECK(refused.exit_code == 1);
    CHECK_THAT(refused.output, Catch::Contains(file + " exists; --force writes over it"));
    CHECK(test::read_file(file) == "mine\n");
    CHECK(run("init --force -o " + file).exit_code == 0);
    CHECK_THAT(test::read_file(file), Catch::Contains("upstreams:"));
}

TEST_CASE("cli: init --import makes a client's servers the upstreams, and the result serves") {
    auto dir = test::scratch_dir("cli_init_import");
    // Claude Desktop's shape, a comment included; names that are not upstream names are made so.
    std::ofstream(dir / "claude_desktop_config.json")
        << "{\n  // the servers\n  \"mcpServers\": {\n"
        << "    \"Test Server\": {\"command\": \"" << WATCHGATE_TEST_SERVER
        << "\", \"args\": [], \"env\": {\"GREETING\": \"a \\\"quoted\\\" value\"}},\n"
        << "    \"remote\": {\"url\": \"https://mcp.example.com/sse\", \"type\": \"sse\",\n"
        << "               \"headers\": {\"Authorization\": \"Bearer ${env:IMPORT_TEST_TOKEN}\"}},\n"
        << "    \"9 lives!\": {\"url\": \"http://127.0.0.1:9/mcp\"}\n  }\n}\n";
    const std::string file = (dir / "gateway.yaml").string();
    auto written = run("init --import " + (dir / "claude_desktop_config.json").string() + " -o " + file);
    REQUIRE(written.exit_code == 0);
    CHECK_THAT(written.output, Catch::Contains("with 3 servers from"));
    const std::string text = test::read_file(file);
    // In the file's order, each under a valid name.
    const auto test_at = text.find("- name: test_server"), remote_at = text.find("- name: remote\n"),
               lives_at = text.find("- name: server-9_lives");
    REQUIRE(test_at != std::string::npos);
    REQUIRE(remote_at != std::string::npos);
    REQUIRE(lives_at != std::string::npos);
    CHECK(test_at < remote_at);
    CHECK(remote_at < lives_at);
    CHECK_THAT(text, Catch::Contains("transport: sse"));
    // VS Code's ${env:NAME} is the gateway's ${NAME}.
    CHECK_THAT(text, Catch::Contains(R"(headers: {"Authorization": "Bearer ${IMPORT_TEST_TOKEN}"})"));
    CHECK_THAT(text, Catch::Contains(R"(env: {"GREETING": "a \"quoted\" value"})"));
    CHECK(::setenv("IMPORT_TEST_TOKEN", "t0ken", 1) == 0);
    CHECK(run("validate --config " + file).exit_code == 0);
    // Only the imported test server: the starter's plugins at work on a real call.
    std::ofstream(dir / "claude_one.json")
        << "{\"mcpServers\": {\"Test Server\": {\"command\": \"" << WATCHGATE_TEST_SERVER << "\"}}}";
    const std::string one = (dir / "one.yaml").string();
    REQUIRE(run("init --import " + (dir / "claude_one.json").string() + " -o " + one).exit_code == 0);
    auto called = run("call --config " + one +
                      " tools/call '{\"name\":\"echo\",\"arguments\":{\"text\":\"mail alice@example.com\"}}'");
    CHECK(called.exit_code == 0);
    CHECK_THAT(called.output, Catch::Contains("mail [REDACTED:EMAIL]"));
    CHECK_THAT(test::read_file(dir / "logs" / "audit.jsonl"), Catch::Contains("\"method\":\"tools/call\""));
}

TEST_CASE("cli: init --import names the file, the line and the server when the client config is wrong") {
    auto dir = test::scratch_dir("cli_init_import_bad");
    std::ofstream(dir / "broken.json") << "{\n  \"mcpServers\": {\n    \"a\": {\"command\": \"x\",}\n  }\n}\n";
    auto broken = run("init --import " + (dir / "broken.json").string() + " -o " + (dir / "a.yaml").string());
    CHECK(broken.exit_code == 1);
    CHECK_THAT(broken.output, Catch::Contains((dir / "broken.json").string() + ": line 3: not valid JSON"));
    std::ofstream(dir / "neither.json") << R"({"mcpServers": {"lost": {"args": ["x"]}}})";
    auto neither = run("init --import " + (dir / "neither.json").string() + " -o " + (dir / "b.yaml").string());
    CHECK(neither.exit_code == 1);
    CHECK_THAT(neither.output, Catch::Contains("server 'lost' has neither a 'command' (a string) nor a 'url'"));
    std::ofstream(dir / "other.json") << R"({"servers": []})";
    auto other = run("init --import " + (dir / "other.json").string() + " -o " + (dir / "c.yaml").string());
    CHECK(other.exit_code == 1);
    CHECK_THAT(other.output, Catch::Contains("expected an object with \"mcpServers\" (Claude Desktop) or \"servers\""));
    auto missing = run("init --import " + (dir / "nothing.json").string() + " -o " + (dir / "d.yaml").string());
    CHECK(missing.exit_code == 1);
    CHECK_THAT(missing.output, Catch::Contains("nothing.json: cannot read: No such file or directory"));
    CHECK_FALSE(std::filesystem::exists(dir / "a.yaml"));
}

TEST_CASE("cli: init names programs by the absolute path PATH finds them at, as a desktop client needs") {
    auto dir = test::scratch_dir("cli_init_path");
    std::filesystem::create_directories(dir / "bin");
    for (const char* program : {"npx", "mytool"}) {
        std::ofstream(dir / "bin" / program) << "#!/bin/sh\n";
        std::filesystem::permissions(dir / "bin" / program, std::filesystem::perms::owner_all);
    }
    const std::string path = "PATH=" + (dir / "bin").string() + ":/usr/bin:/bin ";
    const std::string starter = (dir / "starter.yaml").string();
    // Through a shell: the assignment is the program's environment.
    REQUIRE(::system((path + WATCHGATE_BINARY + " init -o " + starter + " > /dev/null").c_str()) == 0);
    CHECK_THAT(test::read_file(starter), Catch::Contains("command: [\"" + (dir / "bin" / "npx").string() +
                                                         "\", \"-y\", \"@modelcontextprotocol/server-everything\"]"));
    std::ofstream(dir / "client.json") << R"({"mcpServers": {"tool": {"command": "mytool", "args": ["--stdio"]},
                                               "lost": {"command": "not-anywhere"}}})";
    const std::string imported = (dir / "imported.yaml").string();
    REQUIRE(::system((path + WATCHGATE_BINARY + " init --import " + (dir / "client.json").string() + " -o " + imported +
                      " > /dev/null")
                         .c_str()) == 0);
    const std::string text = test::read_file(imported);
    CHECK_THAT(text, Catch::Contains("command: [\"" + (dir / "bin" / "mytool").string() +
                                     "\", \"--stdio\"]   # \"mytool\" found in PATH"));
    CHECK_THAT(text, Catch::Contains("command: [\"not-anywhere\"]\n"));  // left as it was: found nowhere
}
