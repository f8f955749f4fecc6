#include <catch2/catch.hpp>

#include "test_support.hpp"

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
    std::string errors = errors_of("proxy:\n  upstreams: []\npluginz:\n  security: {}\n");
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
