// What ABI 1.2 gives plugin authors: typed config readers for C, the watchgate.context/1
// extension, creation that only validates, an auditor's own error reason, libNAME.so files, one
// entry per plugin in a list; and a plugin built against the 1.0 header still loading and working.
#include <catch2/catch.hpp>

#include "gateway_process.hpp"
#include "run_command.hpp"
#include "test_support.hpp"

#include <watchgate/core/base/metrics.hpp>

#include <fstream>

using namespace watchgate;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

std::string probe_entry(const std::string& config_lines) {
    return "plugins:\n  security:\n    _global:\n      - handler: probe_c\n        config:\n" + config_lines;
}

// The reason probe_c blocks a request with: what it read, then the message's context.
std::string probe_reason(const std::string& config_lines) {
    auto host = test::load_host(probe_entry(config_lines));
    auto pipeline = host->pipeline("");
    auto request = test::request(1);
    auto scope = pipeline->begin_request(request);
    return pipeline->process_request(*scope, request).reason;
}

// `watchgate ARGUMENTS`: exit code and output (stdout and stderr).
std::pair<int, std::string> run_watchgate(const std::string& arguments) {
    return test::run_command(std::string(WATCHGATE_BINARY) + " " + arguments);
}

}  // namespace

TEST_CASE("sdk 1.2: the C config readers read every kind of value, with defaults") {
    CHECK_THAT(
        probe_reason("          name: probe\n          count: 42\n          ratio: 2.5\n          loud: true\n"
                     "          mode: slow\n          items: [a, b]\n          labels: {zeta: 1, alpha: 2}\n"),
        Catch::StartsWith("[probe_c] name=probe count=42 ratio=2.5 loud=1 mode=slow items=a,b labels=alpha,zeta |"));
    CHECK_THAT(probe_reason("          name: defaults\n"),
               Catch::StartsWith("[probe_c] name=defaults count=7 ratio=0.5 loud=0 mode=fast items= labels= |"));
    // An integer is a number too.
    CHECK_THAT(probe_reason("          name: n\n          ratio: 3\n"), Catch::Contains(" ratio=3 "));
}

TEST_CASE("sdk 1.2: the C config readers report wrong values with the YAML line, as the C++ layer words them") {
    // Lines count from 1 at the plugin_dirs line that load_errors puts first.
    const std::string errors =
        test::load_errors(probe_entry("          count: 1000\n"          // line 7
                                      "          ratio: fast\n"          // 8
                                      "          loud: 1\n"              // 9
                                      "          mode: slwo\n"           // 10
                                      "          items: [a, 3]\n"        // 11
                                      "          labels: [x]\n"          // 12
                                      "          nmae: forgotten\n"      // 13
                                      "          extra: {deep: 1}\n"));  // 14
    INFO(errors);
    const std::string probe = ": plugin 'probe_c': config";
    CHECK_THAT(errors, Catch::Contains("test.yaml:6:9" + probe + ": missing required key 'name'"));
    CHECK_THAT(errors, Catch::Contains("test.yaml:7:11" + probe + "/count: expected an integer from 0 to 100"));
    CHECK_THAT(errors, Catch::Contains("test.yaml:8:11" + probe + "/ratio: expected a number, got string"));
    CHECK_THAT(errors, Catch::Contains("test.yaml:9:11" + probe + "/loud: expected true or false, got integer"));
    CHECK_THAT(errors,
               Catch::Contains("test.yaml:10:11" + probe + "/mode: expected one of: fast, slow; did you mean 'slow'?"));
    CHECK_THAT(errors, Catch::Contains("test.yaml:11:22" + probe + "/items/1: expected a string, got integer"));
    CHECK_THAT(errors, Catch::Contains("test.yaml:12:11" + probe + "/labels: expected a mapping, got list"));
    CHECK_THAT(errors, Catch::Contains("test.yaml:13:11" + probe + "/nmae: unknown key 'nmae'; did you mean 'name'?"));
    CHECK_THAT(errors, Catch::Contains("test.yaml:14:11" + probe + "/extra: unknown key 'extra'"));
    // Nine problems, nine errors (each reader reports its own; the plugin adds none).
    CHECK(std::count(errors.begin(), errors.end(), '\n') + 1 == 9);
}

TEST_CASE("sdk 1.2: the context extension says who a message is from, through the binary") {
    test::GatewayProcess gateway(test::scratch_dir("sdk_context"), test::with_plugin_dir(test::test_server_config(
                                                                       "", probe_entry("          name: ctx\n"))));
    REQUIRE(gateway.initialize().contains("result"));
    const json answer = gateway.call_tool(1, "echo", {{"text", "x"}});
    CHECK(answer["error"]["message"] ==
          "Request blocked: probe_c: name=ctx count=7 ratio=0.5 loud=0 mode=fast items= labels= | session=1 "
          "transport=stdio era=session address= subject= upstream=test");
    // A stateless-era request (its version in _meta) is of that era, in the same session.
    const json meta = {{"io.modelcontextprotocol/protocolVersion", "2026-07-28"},
                       {"io.modelcontextprotocol/clientCapabilities", json::object()}};
    const json stateless =
        gateway.request(2, "tools/call", {{"name", "echo"}, {"arguments", {{"text", "x"}}}, {"_meta", meta}});
    CHECK_THAT(stateless["error"]["message"].get<std::string>(),
               Catch::EndsWith("era=stateless address= subject= upstream=test"));
}

TEST_CASE("sdk 1.2: validate creates instances that only check, so plugins leave no trace") {
    const fs::path dir = test::scratch_dir("sdk_validate_only");
    std::ofstream(dir / "gateway.yaml") << test::with_plugin_dir(
        test::test_server_config("", probe_entry("          name: v\n          touch: touched\n") +
                                         "  auditing:\n    _global:\n      - handler: audit_jsonl\n"
                                         "        config: {output_file: logs/audit.jsonl, flush_interval_ms: 10}\n"));
    const std::string config = (dir / "gateway.yaml").string();
    auto [code, output] = run_watchgate("validate --config " + config);
    CHECK(code == 0);
    CHECK_THAT(output, Catch::Contains("Configuration valid"));
    CHECK_FALSE(fs::exists(dir / "touched"));
    CHECK_FALSE(fs::exists(dir / "logs"));
    // Serving is not validating: the same config then does create them.
    auto [call_code, call_output] = run_watchgate("call --config " + config + " tools/list");
    INFO(call_output);
    CHECK(fs::exists(dir / "touched"));
    CHECK(fs::exists(dir / "logs" / "audit.jsonl"));
}

TEST_CASE("sdk 1.2: a handler is found as libNAME.so too, after NAME.so") {
    const fs::path dir = test::scratch_dir("sdk_lib_prefix");
    fs::copy_file(test::plugin_dir() / "conformance_c.so", dir / "libconformance_c.so");
    const std::string yaml = "plugin_dirs: [\"" + dir.string() +
                             "\"]\nplugins:\n  security:\n    _global:\n"
                             "      - handler: conformance_c\n        config: {word: x}\n";
    auto host = core::PluginHost::load(core::parse_config(yaml, test::config_path()));
    REQUIRE(host->modules().size() == 1);
    CHECK(host->modules().begin()->first == fs::canonical(dir / "libconformance_c.so"));
    CHECK(core::discover_plugins({dir}).at("conformance_c") == dir / "libconformance_c.so");
    // NAME.so in the same folder comes first.
    fs::copy_file(test::plugin_dir() / "conformance_c.so", dir / "conformance_c.so");
    host = core::PluginHost::load(core::parse_config(yaml, test::config_path()));
    CHECK(host->modules().begin()->first == fs::canonical(dir / "conformance_c.so"));
    CHECK(core::discover_plugins({dir}).at("conformance_c") == dir / "conformance_c.so");
}

TEST_CASE("sdk 1.2: one list names a plugin once") {
    const std::string errors = test::load_errors(
        "plugins:\n  security:\n    _global:\n"
        "      - handler: conformance_c\n        config: {word: a}\n"
        "      - handler: conformance_c\n        config: {word: b}\n"
        "  middleware:\n    _global:\n      - handler: conformance_c\n        config: {word: c}\n");
    CHECK_THAT(errors, Catch::Contains("test.yaml:7:9: plugin 'conformance_c' is already listed under "
                                       "plugins.security._global (line 5): a list runs each plugin once; merge the two "
                                       "entries, or give each its own instance: name"));
    // Once per list: another kind's list, or an upstream's own list replacing a global entry, is fine.
    CHECK(std::count(errors.begin(), errors.end(), '\n') == 0);
    // Named instances may share a list; the same name twice may not.
    CHECK(test::load_errors("plugins:\n  security:\n    _global:\n"
                            "      - handler: conformance_c\n        instance: first\n        config: {word: a}\n"
                            "      - handler: conformance_c\n        instance: second\n        config: {word: b}\n")
              .empty());
    CHECK_THAT(test::load_errors("plugins:\n  security:\n    _global:\n"
                                 "      - {handler: conformance_c, instance: one, config: {word: a}}\n"
                                 "      - {handler: conformance_c, instance: one, config: {word: b}}\n"),
               Catch::Contains("plugin 'conformance_c' instance 'one' is already listed"));
    CHECK_THAT(test::load_errors("plugins:\n  security:\n    _global:\n"
                                 "      - {handler: conformance_c, instance: Bad-Name, config: {word: a}}\n"),
               Catch::Contains("invalid instance name 'Bad-Name' (expected [a-z][a-z0-9_]*)"));
}

TEST_CASE("sdk 1.2: a plugin binary built against the 1.0 header loads and works") {
    const fs::path dir = test::scratch_dir("sdk_legacy_v1_0");
    const fs::path record = dir / "record.txt";
    test::GatewayProcess gateway(
        dir, test::with_plugin_dir(test::test_server_config(
                 "",
                 "plugins:\n  security:\n    _global:\n      - handler: legacy_v1_0\n        config: {tool: echo}\n"
                 "  auditing:\n    _global:\n      - handler: legacy_v1_0\n        config: {record: '" +
                     record.string() + "'}\n")));
    REQUIRE(gateway.initialize().contains("result"));
    const json blocked = gateway.call_tool(1, "echo", {{"text", "x"}});
    CHECK(blocked["error"]["message"] == "Request blocked: legacy_v1_0: blocked by a plugin built for ABI 1.0");
    CHECK(gateway.call_tool(2, "pid").contains("result"));
    gateway.close_input();
    REQUIRE(gateway.wait_exit(std::chrono::seconds(10)));
    // kind method outcome id: 1 = request, 2 = response; 2 = blocked, 0 = allowed.
    const std::string lines = test::read_file(record);
    CHECK_THAT(lines, Catch::Contains("1 tools/call 2 1\n"));
    CHECK_THAT(lines, Catch::Contains("1 tools/call 0 2\n2 tools/call 0 2\n"));
}

TEST_CASE("sdk 1.2: the metrics extension serves a plugin's counter, and refuses a bad definition") {
    auto host = test::load_host(probe_entry("          name: m\n          metric: probe_hits_total\n"));
    auto pipeline = host->pipeline("");
    for (int id = 1; id <= 2; ++id) {
        auto request = test::request(id);
        auto scope = pipeline->begin_request(request);
        pipeline->process_request(*scope, request);
    }
    CHECK_THAT(core::process_metrics().render(),
               Catch::Contains("# TYPE watchgate_plugin_probe_hits_total counter\n"
                               "watchgate_plugin_probe_hits_total{plugin=\"probe_c\"} 2\n"));
    CHECK_THAT(test::load_errors(probe_entry("          name: m\n          metric: Bad-Name\n")),
               Catch::Contains("plugin 'probe_c': config: metric 'Bad-Name': a metric name is [a-z_][a-z0-9_]*"));
    // Another kind under a name already taken by a counter.
    CHECK_THAT(test::load_errors(probe_entry("          name: m\n          metric: audit_queue_depth\n") +
                                 "  auditing:\n    _global:\n      - handler: audit_jsonl\n"
                                 "        config: {output_file: /dev/null}\n"),
               Catch::Contains("metric 'audit_queue_depth': another plugin defines it with another kind"));
    // A plugin gets a bounded number: every family is rendered on every scrape.
    CHECK(test::load_errors(probe_entry("          name: m\n          extra_metrics: 64\n")).empty());
    CHECK_THAT(test::load_errors(probe_entry("          name: m\n          extra_metrics: 65\n")),
               Catch::Contains("metric 'probe_extra_64': an instance defines at most 64 metrics"));
}
