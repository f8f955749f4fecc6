#include <catch2/catch.hpp>

#include "test_support.hpp"

#include <sys/stat.h>

#include <fstream>

using namespace watchgate;

namespace {

std::string errors_of(const std::string& yaml) {
    try {
        core::parse_config(yaml, "/etc/watchgate/gateway.yaml");
    } catch (const core::ConfigErrors& e) {
        return e.what();
    }
    return {};
}

}  // namespace

TEST_CASE("config: unknown keys are errors with file, line, column and the nearest valid key") {
    std::string errors = errors_of("proxy:\n  upstreams: [{name: a, command: [x]}]\npluginz:\n  security: {}\n");
    CHECK(errors == "/etc/watchgate/gateway.yaml:3:1: unknown key 'pluginz' in the top level; did you mean 'plugins'?");
}

TEST_CASE("config: all errors are reported together") {
    std::string errors = errors_of(
        "proxy:\n"
        "  upstreams:\n"
        "    - name: Bad_Name\n"
        "    - name: fs\n"
        "    - name: fs\n"
        "plugins:\n"
        "  securty:\n"
        "    _global: []\n"
        "  middleware:\n"
        "    fss:\n"
        "      - handler: tool_manager\n"
        "  auditing:\n"
        "    _global:\n"
        "      - handler: audit_jsonl\n"
        "        path: x.so\n"
        "        config: {priority: 101, critical: maybe}\n");
    CHECK_THAT(errors, Catch::Contains("gateway.yaml:3:13: invalid upstream name 'Bad_Name'"));
    CHECK_THAT(errors, Catch::Contains("gateway.yaml:5:13: duplicate upstream name 'fs'"));
    CHECK_THAT(errors, Catch::Contains("gateway.yaml:7:3: unknown key 'securty' in plugins; did you mean 'security'?"));
    CHECK_THAT(errors,
               Catch::Contains("gateway.yaml:10:5: unknown upstream 'fss' under plugins.middleware (expected one "
                               "of: _global, fs); did you mean 'fs'?"));
    CHECK_THAT(errors, Catch::Contains("gateway.yaml:14:9: a plugin entry takes 'handler:' or 'path:', not both"));
    CHECK_THAT(errors, Catch::Contains("gateway.yaml:16:28: expected an integer from 0 to 100"));
    CHECK_THAT(errors, Catch::Contains("gateway.yaml:16:43: expected true or false"));
}

TEST_CASE("config: a key given twice is an error, wherever it is") {
    std::string errors = errors_of(
        "plugin_dirs: [a]\nplugin_dirs: [b]\nplugins:\n  security:\n    _global:\n"
        "      - handler: x\n        config: {level: 1, level: 2}\n");
    CHECK_THAT(errors, Catch::Contains("gateway.yaml:2:1: duplicate key 'plugin_dirs' (first at line 1)"));
    CHECK_THAT(errors, Catch::Contains("gateway.yaml:7:28: duplicate key 'level' (first at line 7)"));
}

TEST_CASE("config: invalid YAML names the place") {
    CHECK_THAT(errors_of("plugins:\n  security: [\n"), Catch::StartsWith("/etc/watchgate/gateway.yaml:3:"));
}

TEST_CASE("config: plugin settings reach the plugin as JSON with types, host keys taken out") {
    auto config = core::parse_config(
        "plugins:\n  security:\n    _global:\n      - handler: x\n        config:\n"
        "          enabled: true\n          priority: 5\n          critical: false\n"
        "          count: 3\n          ratio: 0.5\n          quoted: \"3\"\n          flag: yes_no\n"
        "          list: [a, 2, ~]\n          nested: {k: v}\n",
        "/srv/gateway.yaml");
    REQUIRE(config.plugins.size() == 1);
    const auto& entry = config.plugins[0];
    CHECK(entry.priority == 5);
    CHECK_FALSE(entry.critical);
    CHECK(entry.config ==
          nlohmann::json::parse(
              R"({"count":3,"ratio":0.5,"quoted":"3","flag":"yes_no","list":["a",2,null],"nested":{"k":"v"}})"));
    CHECK(entry.locate("/nested/k").line == 14);
    CHECK(entry.locate("/list/1").line == 13);
    CHECK(entry.locate("/nested/missing/deeper").line == 14);
    CHECK(entry.locate("").line == 5);
}

TEST_CASE("config: directions and tool lists are host keys that choose what a plugin is given") {
    auto config = core::parse_config(
        "plugins:\n  security:\n    _global:\n      - handler: x\n        config:\n"
        "          directions: [response]\n          include_tools: [a, fs__b]\n          exclude_tools: [c]\n"
        "          other: 1\n",
        "/srv/gateway.yaml");
    REQUIRE(config.plugins.size() == 1);
    const auto& reach = config.plugins[0].reach;
    CHECK_FALSE(reach.toward_upstream);
    CHECK(reach.toward_client);
    CHECK(reach.include_tools == std::vector<std::string>{"a", "fs__b"});
    CHECK(reach.exclude_tools == std::vector<std::string>{"c"});
    CHECK(config.plugins[0].config == nlohmann::json{{"other", 1}});

    const std::string errors = errors_of(
        "plugins:\n  security:\n    _global:\n"
        "      - handler: x\n        config: {directions: [request, sideways, request]}\n"
        "      - handler: y\n        config: {directions: []}\n"
        "      - handler: z\n        config: {directions: request, include_tools: [1, '']}\n");
    CHECK_THAT(errors,
               Catch::Contains("gateway.yaml:5:40: unknown direction 'sideways' (expected request or response)"));
    CHECK_THAT(errors, Catch::Contains("gateway.yaml:5:50: direction 'request' is listed twice"));
    CHECK_THAT(errors, Catch::Contains("gateway.yaml:7:30: an empty list of directions would give the plugin nothing"));
    CHECK_THAT(errors, Catch::Contains("gateway.yaml:9:30: expected a list of directions: [request, response]"));
    CHECK_THAT(errors, Catch::Contains("gateway.yaml:9:58: expected tool name (a non-empty string)"));
}

TEST_CASE("config: paths resolve against the config's folder, with ~ and $VAR") {
    ::setenv("WATCHGATE_TEST_DIR", "/opt/plugins", 1);
    auto config = core::parse_config("plugin_dirs: [local, ~/p, $WATCHGATE_TEST_DIR/x, \"${WATCHGATE_TEST_DIR}\"]\n",
                                     "/srv/conf/gateway.yaml");
    ::unsetenv("WATCHGATE_TEST_DIR");
    REQUIRE(config.plugin_dirs.size() == 4);
    CHECK(config.plugin_dirs[0] == "/srv/conf/local");
    CHECK(config.plugin_dirs[1] == std::filesystem::path(std::getenv("HOME")) / "p");
    CHECK(config.plugin_dirs[2] == "/opt/plugins/x");
    CHECK(config.plugin_dirs[3] == "/opt/plugins");
}

TEST_CASE("config: the proxy section with its defaults and per-upstream overrides") {
    ::setenv("WATCHGATE_TEST_BIN", "/opt/servers", 1);
    auto config = core::parse_config(
        "proxy:\n"
        "  max_message_size_mb: 8\n"
        "  shutdown_grace_period: 1.5\n"
        "  threads: 4\n"
        "  timeouts: {connection_timeout: 10, request_timeout: 0.25}\n"
        "  concurrency: {max_in_flight: 7, overflow: reject}\n"
        "  upstreams:\n"
        "    - name: fs\n"
        "      command: [npx, -y, server-filesystem, /tmp]\n"
        "      env: {LOG_LEVEL: debug}\n"
        "      cwd: work\n"
        "      restart_on_failure: false\n"
        "      max_restart_attempts: 0\n"
        "      sharing: per_session\n"
        "      era: stateless\n"
        "      timeouts: {request_timeout: 120}\n"
        "      concurrency: {overflow: queue}\n"
        "    - name: local\n"
        "      command: [\"$WATCHGATE_TEST_BIN/server\", --flag]\n"
        "logging: {level: WARNING, handlers: [stderr, file], file_path: logs/gw.log, backup_count: 2}\n",
        "/srv/conf/gateway.yaml");
    ::unsetenv("WATCHGATE_TEST_BIN");
    CHECK(config.max_message_size == 8u << 20);
    CHECK(config.shutdown_grace == std::chrono::milliseconds(1500));
    CHECK(config.threads == 4);
    REQUIRE(config.upstreams.size() == 2);
    const auto& fs = config.upstreams[0];
    CHECK(fs.command == std::vector<std::string>{"npx", "-y", "server-filesystem", "/tmp"});
    CHECK(fs.env.at("LOG_LEVEL") == "debug");
    CHECK(fs.cwd == std::filesystem::path("/srv/conf/work"));
    CHECK_FALSE(fs.restart_on_failure);
    CHECK(fs.max_restart_attempts == 0);
    CHECK(fs.sharing == core::UpstreamSharing::per_session);
    CHECK(fs.era == core::UpstreamEraChoice::stateless);
    CHECK(config.upstreams[1].era == core::UpstreamEraChoice::auto_detect);  // the default
    CHECK(fs.timeouts.connection == std::chrono::seconds(10));               // from proxy
    CHECK(fs.timeouts.request == std::chrono::seconds(120));                 // overridden
    CHECK(fs.concurrency.max_in_flight == 7);                                // from proxy
    CHECK(fs.concurrency.overflow == core::OverflowPolicy::queue);           // overridden
    const auto& local = config.upstreams[1];
    CHECK(local.command == std::vector<std::string>{"/opt/servers/server", "--flag"});
    CHECK(local.timeouts.request == std::chrono::milliseconds(250));
    CHECK(local.concurrency.overflow == core::OverflowPolicy::reject);
    CHECK(local.sharing == core::UpstreamSharing::shared);  // the default
    CHECK(config.logging.level == "warning");
    CHECK(config.logging.file_path == std::filesystem::path("/srv/conf/logs/gw.log"));
    CHECK(config.logging.backup_count == 2);
}

TEST_CASE("config: every proxy error class is reported, with its place") {
    std::string errors = errors_of(
        "proxy:\n"
        "  transport: sse\n"
        "  timeouts: {request_timeout: -1, conection_timeout: 5}\n"
        "  concurrency: {max_in_flight: 0, overflow: queu}\n"
        "  upstreams:\n"
        "    - name: a\n"
        "    - name: b\n"
        "      command: \"npx server\"\n"
        "      env: {A: [1]}\n"
        "      restart_on_failure: maybe\n"
        "    - command: [x]\n"
        "logging: {level: loud, handlers: [file]}\n");
    CHECK_THAT(errors, Catch::Contains("gateway.yaml:2:14: expected stdio or http"));
    CHECK_THAT(errors, Catch::Contains("gateway.yaml:3:31: expected a number of seconds"));
    CHECK_THAT(errors, Catch::Contains("gateway.yaml:3:35: unknown key 'conection_timeout' in timeouts; did you mean "
                                       "'connection_timeout'?"));
    CHECK_THAT(errors, Catch::Contains("gateway.yaml:4:32: expected an integer from 1 to 100000"));
    CHECK_THAT(errors, Catch::Contains("gateway.yaml:4:45: expected queue or reject; did you mean 'queue'?"));
    CHECK_THAT(errors, Catch::Contains("gateway.yaml:6:7: upstream 'a' needs 'command:'"));
    CHECK_THAT(errors, Catch::Contains(
                           "gateway.yaml:8:16: expected a non-empty list: program, then arguments (no shell is used)"));
    CHECK_THAT(errors, Catch::Contains("gateway.yaml:9:16: expected a string value"));
    CHECK_THAT(errors, Catch::Contains("gateway.yaml:10:27: expected true or false"));
    CHECK_THAT(errors, Catch::Contains("gateway.yaml:11:7: an upstream needs 'name:'"));
    CHECK_THAT(errors,
               Catch::Contains("gateway.yaml:12:18: expected one of: trace, debug, info, warning, error, critical"));
    CHECK_THAT(errors, Catch::Contains("the file handler needs 'file_path:'"));
}

TEST_CASE("config: namespace is auto by default (one upstream unprefixed, several prefixed), off with one only") {
    auto one = core::parse_config("proxy:\n  upstreams:\n    - {name: a, command: [x]}\n", "/tmp/gateway.yaml");
    CHECK_FALSE(one.namespace_names);
    CHECK_FALSE(one.debug_metadata);
    auto two = core::parse_config(
        "proxy:\n  upstreams:\n    - {name: a, command: [x]}\n    - {name: b, command: [y]}\n", "/tmp/gateway.yaml");
    CHECK(two.namespace_names);
    auto forced = core::parse_config("proxy:\n  namespace: true\n  upstreams:\n    - {name: a, command: [x]}\n",
                                     "/tmp/gateway.yaml");
    CHECK(forced.namespace_names);
    auto automatic = core::parse_config(
        "proxy:\n  namespace: auto\n  upstreams:\n    - {name: a, command: [x]}\n    - {name: b, command: [y]}\n",
        "/tmp/gateway.yaml");
    CHECK(automatic.namespace_names);
    auto plain = core::parse_config(
        "proxy:\n  namespace: false\n  debug_metadata: true\n  upstreams:\n    - {name: a, command: [x]}\n",
        "/tmp/gateway.yaml");
    CHECK_FALSE(plain.namespace_names);
    CHECK(plain.debug_metadata);
    std::string errors = errors_of(
        "proxy:\n  namespace: false\n  upstreams:\n    - {name: a, command: [x]}\n    - {name: b, command: [y]}\n");
    CHECK_THAT(errors, Catch::Contains("gateway.yaml:2:14: 'namespace: false' needs exactly one upstream"));
    CHECK_THAT(errors_of("proxy:\n  namespace: maybe\n  upstreams:\n    - {name: a, command: [x]}\n"),
               Catch::Contains("gateway.yaml:2:14: expected auto, true or false"));
}

TEST_CASE("config: values nested too deep, or an alias inside itself, are refused, not a stack overflow") {
    // Found by fuzz_config: `&a [1, *a]` is a cycle, and converting a plugin's config recursed
    // once per level.
    const std::string plugin = "plugins:\n  middleware:\n    _global:\n      - handler: call_trace\n        config:\n";
    const std::string deep = std::string(100, '[') + std::string(100, ']');
    CHECK_THAT(errors_of(plugin + "          x: " + deep + "\n"), Catch::Contains("nested deeper than 64 levels"));
    CHECK_THAT(errors_of(plugin + "          a: &a [1, 2, *a]\n"), Catch::Contains("nested deeper than 64 levels"));
    // Two aliases of itself per level (found by fuzz_config, 10 s per input): the walk stops at the
    // first limit instead of going on to the expansion cap through every branch.
    const std::string cycle = errors_of(plugin + "          a: &a [true, b, *a, *a]\n");
    CHECK_THAT(cycle, Catch::Contains("nested deeper than 64 levels"));
    CHECK_THAT(cycle, !Catch::Contains("expands to more than"));
}

TEST_CASE("config: an upstream's sharing is shared or per_session") {
    CHECK(errors_of("proxy:\n  upstreams:\n    - name: a\n      command: [x]\n      sharing: per-session\n") ==
          "/etc/watchgate/gateway.yaml:5:16: expected shared or per_session; did you mean 'per_session'?");
}

TEST_CASE("config: common first mistakes get errors that say what to do") {
    // No `proxy:` around the upstreams.
    CHECK_THAT(
        errors_of("upstreams:\n  - {name: a, command: [x]}\n"),
        Catch::Contains("gateway.yaml:1:1: unknown key 'upstreams' in the top level: it belongs under 'proxy:'"));
    CHECK_THAT(errors_of("command: [x]\n"), Catch::Contains("it belongs to an upstream, under 'proxy: upstreams:'"));
    // `cmd:` means the missing 'command', not 'cwd'; with a command there, the nearest spelling.
    CHECK_THAT(errors_of("proxy:\n  upstreams:\n    - name: a\n      cmd: [x]\n"),
               Catch::Contains("unknown key 'cmd' in an upstream; did you mean 'command'?"));
    CHECK_THAT(errors_of("proxy:\n  upstreams:\n    - name: a\n      command: [x]\n      cmd: /srv\n"),
               Catch::Contains("unknown key 'cmd' in an upstream; did you mean 'cwd'?"));
    // No upstream at all.
    CHECK_THAT(errors_of("proxy:\n  upstreams: []\n"),
               Catch::Contains("gateway.yaml:2:14: expected at least one upstream: a gateway with none has nothing"));
    // A tab in the indentation.
    CHECK_THAT(errors_of("proxy:\n\tupstreams: []\n"),
               Catch::Contains("line 2 is indented with a tab: YAML allows only spaces"));
}

TEST_CASE("config: a url upstream with its transport headers tls and reconnect") {
    ::setenv("WG_CONFIG_TEST_TOKEN", "t0ken", 1);
    auto config = core::parse_config(
        "proxy:\n  upstreams:\n    - name: remote\n      url: https://mcp.example.com:8443/mcp?team=a\n"
        "      transport: auto\n      headers: {Authorization: 'Bearer ${WG_CONFIG_TEST_TOKEN}', X-Plain: ok}\n"
        "      tls: {verify: false}\n      reconnect: {max_attempts: 7, backoff: 0.5, max_backoff: 4}\n"
        "    - name: old\n      url: http://127.0.0.1:3001/sse\n      transport: sse\n"
        "    - name: local\n      command: [x]\n",
        "/etc/watchgate/gateway.yaml");
    const auto& remote = config.upstreams[0];
    CHECK(remote.transport == core::UpstreamTransportKind::auto_detect);
    CHECK(remote.url == "https://mcp.example.com:8443/mcp?team=a");
    REQUIRE(remote.headers.size() == 2);
    CHECK(remote.headers[0] == std::pair<std::string, std::string>{"Authorization", "Bearer t0ken"});
    CHECK(remote.headers[1] == std::pair<std::string, std::string>{"X-Plain", "ok"});
    CHECK_FALSE(remote.tls_verify);
    CHECK(remote.max_restart_attempts == 7);
    CHECK(remote.restart_backoff == std::chrono::milliseconds(500));
    CHECK(remote.max_restart_backoff == std::chrono::milliseconds(4000));
    CHECK(config.upstreams[1].transport == core::UpstreamTransportKind::sse);
    CHECK(config.upstreams[2].transport == core::UpstreamTransportKind::stdio);
    // A url upstream without transport: Streamable HTTP.
    CHECK(core::parse_config("proxy:\n  upstreams:\n    - {name: a, url: 'http://h/mcp'}\n", "/g.yaml")
              .upstreams[0]
              .transport == core::UpstreamTransportKind::streamable_http);
}

TEST_CASE("config: url upstream mistakes are errors with their place") {
    ::unsetenv("WG_CONFIG_TEST_MISSING");
    auto errors = errors_of(
        "proxy:\n  upstreams:\n"
        "    - {name: a, url: 'ftp://h/x'}\n"
        "    - {name: b, url: 'http://user:pw@h/x'}\n"
        "    - {name: c, url: 'http://h:99999/'}\n"
        "    - {name: d, url: 'http://h/', command: [x]}\n"
        "    - {name: e}\n"
        "    - {name: f, url: 'http://h/', transport: stdio}\n"
        "    - {name: g, command: [x], transport: sse}\n"
        "    - {name: h, url: 'http://h/', transport: streamable-http}\n"
        "    - {name: i, url: 'http://h/', headers: {Authorization: 'Bearer ${WG_CONFIG_TEST_MISSING}'}}\n"
        "    - {name: j, url: 'http://h/', headers: {Mcp-Session-Id: x, 'bad name': y}}\n"
        "    - {name: k, command: [x], headers: {A: b}, tls: {verify: false}}\n"
        "    - {name: l, url: 'http://h/', env: {A: b}, tls: {ca_file: /no/such.pem}}\n"
        "    - {name: m, url: 'http://h/', reconnect: {backoff: 2, max_backoff: 1}}\n");
    CHECK_THAT(errors, Catch::Contains("gateway.yaml:3:22: expected a URL starting with http:// or https://"));
    CHECK_THAT(errors, Catch::Contains("gateway.yaml:4:22: a URL with user:password@ is not accepted"));
    CHECK_THAT(errors, Catch::Contains("gateway.yaml:5:22: expected a port from 1 to 65535"));
    CHECK_THAT(errors, Catch::Contains("gateway.yaml:6:22: upstream 'd' has both 'command:' and 'url:'"));
    CHECK_THAT(errors, Catch::Contains("gateway.yaml:7:7: upstream 'e' needs 'command:' (a list: program, then "
                                       "arguments) or 'url:' (a remote server)"));
    CHECK_THAT(errors, Catch::Contains("gateway.yaml:8:46: a 'url:' upstream speaks streamable_http, sse or auto"));
    CHECK_THAT(errors, Catch::Contains("gateway.yaml:9:42: 'transport: sse' needs 'url:'"));
    CHECK_THAT(errors, Catch::Contains("gateway.yaml:10:46: expected stdio, streamable_http, sse or auto; did you mean "
                                       "'streamable_http'?"));
    CHECK_THAT(errors,
               Catch::Contains("gateway.yaml:11:60: the environment variable WG_CONFIG_TEST_MISSING is not set"));
    CHECK_THAT(errors, Catch::Contains("gateway.yaml:12:45: the gateway sets Mcp-Session-Id itself"));
    CHECK_THAT(errors, Catch::Contains("'bad name' is not a valid HTTP header name"));
    CHECK_THAT(errors, Catch::Contains("gateway.yaml:13:40: 'headers:' is for a 'url:' upstream"));
    CHECK_THAT(errors, Catch::Contains("'tls:' is for a 'url:' upstream"));
    CHECK_THAT(errors, Catch::Contains("gateway.yaml:14:40: 'env:' is for a 'command:' upstream"));
    CHECK_THAT(errors, Catch::Contains("no such file: /no/such.pem"));
    CHECK_THAT(errors, Catch::Contains("gateway.yaml:15:46: max_backoff is shorter than backoff"));
}

TEST_CASE("config: a bearer token file that is a folder or a FIFO is an error and is never read") {
    auto dir = test::scratch_dir("config_token_file");
    REQUIRE(::mkfifo((dir / "token.fifo").c_str(), 0600) == 0);
    for (const auto& path : {dir, dir / "token.fifo", dir / "absent"}) {
        INFO(path.string());
        const std::string errors = errors_of(
            "proxy:\n  transport: http\n  http:\n    auth:\n      type: bearer\n"
            "      tokens: [{file: '" +
            path.string() + "', subject: a}]\n  upstreams: [{name: a, command: [x]}]\n");
        CHECK_THAT(errors, Catch::Contains("the token file " + path.string() + " is missing or not a regular file"));
    }
    std::ofstream(dir / "huge") << std::string(100 * 1024, 'x');
    CHECK_THAT(errors_of("proxy:\n  transport: http\n  http:\n    auth:\n      type: bearer\n      tokens: [{file: '" +
                         (dir / "huge").string() + "', subject: a}]\n  upstreams: [{name: a, command: [x]}]\n"),
               Catch::Contains("is over 64 KiB: expected one token"));
}

TEST_CASE("config: an upstream's era is auto, session or stateless") {
    std::string errors = errors_of("proxy:\n  upstreams:\n    - name: a\n      command: [x]\n      era: statless\n");
    CHECK_THAT(errors,
               Catch::Contains("gateway.yaml:5:12: expected auto, session or stateless; did you mean 'stateless'?"));
}
