// What a reload may change and what it takes over (config/reload_rules.hpp, PluginHost::load with
// the running host): upstream settings compared without their YAML places, restart-only settings
// named at their new place, unchanged plugin instances and loaded files kept.
#include <catch2/catch.hpp>

#include <watchgate/core/config/reload_rules.hpp>
#include <watchgate/core/pipeline/plugin_host.hpp>

#include "test_support.hpp"

using namespace watchgate;

namespace {

core::GatewayConfig parse(const std::string& yaml) {
    return core::parse_config(test::with_plugin_dir(yaml), test::config_path());
}

std::string config_with(const std::string& upstream_extra, const std::string& rest = {}) {
    return "proxy:\n  upstreams:\n    - name: one\n      command: [server]\n" + upstream_extra + rest;
}

}  // namespace

TEST_CASE("reload rules: upstream settings are compared without their place in the file") {
    const auto before = parse(config_with("      env: {A: '1'}\n"));
    // The same upstream lower in the file (a comment above it) is the same upstream.
    const auto moved = parse("# a comment\n\n" + config_with("      env: {A: '1'}\n"));
    REQUIRE(before.upstreams[0].where.line != moved.upstreams[0].where.line);
    CHECK(core::same_upstream_settings(before.upstreams[0], moved.upstreams[0]));
    CHECK_FALSE(
        core::same_upstream_settings(before.upstreams[0], parse(config_with("      env: {A: '2'}\n")).upstreams[0]));
    CHECK_FALSE(core::same_upstream_settings(
        before.upstreams[0],
        parse(config_with("      env: {A: '1'}\n      timeouts: {request_timeout: 5}\n")).upstreams[0]));
}

TEST_CASE("reload rules: a restart-only setting changed, added or removed is named at its place") {
    const auto running = parse(config_with("", "  threads: 2\nadmin: {port: 9464}\n"));
    CHECK(core::restart_only_changes(running, parse(config_with("", "  threads:   2   # same\nadmin: {port: 9464}\n")))
              .empty());
    // Upstreams and plugins are what a reload is for.
    CHECK(core::restart_only_changes(running,
                                     parse(config_with("      env: {B: '1'}\n", "  threads: 2\nadmin: {port: 9464}\n")))
              .empty());

    const auto changed =
        core::restart_only_changes(running, parse(config_with("", "  threads: 4\nadmin: {port: 9464}\n")));
    REQUIRE(changed.size() == 1);
    CHECK(changed[0].where.line == 6);
    CHECK(changed[0].message.find("'proxy.threads' changed: it takes effect only when the gateway restarts") == 0);

    const auto removed = core::restart_only_changes(running, parse(config_with("", "  threads: 2\n")));
    REQUIRE(removed.size() == 1);
    CHECK(removed[0].message.find("'admin' was removed") == 0);
    const auto added = core::restart_only_changes(
        running, parse(config_with("", "  threads: 2\nadmin: {port: 9464}\nlogging: {level: debug}\n")));
    REQUIRE(added.size() == 1);
    CHECK(added[0].message.find("'logging' was added") == 0);
}

TEST_CASE("reload rules: a reload keeps the instances whose entry did not change and every loaded file") {
    const std::string two_entries =
        "plugins:\n  security:\n    _global:\n"
        "      - handler: test_sec_a\n        config: {response: [{op: tag}]}\n"
        "      - handler: test_sec_b\n        config: {request: [{op: tag}]}\n";
    const auto first_config = parse(config_with("", two_entries));
    auto first = core::PluginHost::load(first_config);
    REQUIRE(first->instances().size() == 2);

    // test_sec_b's config changes: a new instance of it; test_sec_a is the very same instance.
    const auto next_config = parse(config_with("",
                                               "plugins:\n  security:\n    _global:\n"
                                               "      - handler: test_sec_a\n        config: {response: [{op: tag}]}\n"
                                               "      - handler: test_sec_b\n        config: {request: []}\n"));
    auto next = core::PluginHost::load(next_config, core::LoadPurpose::serve, first.get());
    REQUIRE(next->instances().size() == 2);
    CHECK(next->reused() == 1);
    CHECK(next->instances()[0] == first->instances()[0]);
    CHECK(next->instances()[1] != first->instances()[1]);
    // Each file was loaded once: the new host holds the running host's modules.
    for (const auto& [file, module] : next->modules()) CHECK(first->modules().at(file) == module);

    // An entry moved to another place is another instance; a check never borrows one.
    CHECK(core::PluginHost::load(parse(config_with("",
                                                   "plugins:\n  security:\n    one:\n"
                                                   "      - handler: test_sec_a\n"
                                                   "        config: {response: [{op: tag}]}\n")),
                                 core::LoadPurpose::serve, first.get())
              ->reused() == 0);
    CHECK(core::PluginHost::load(first_config, core::LoadPurpose::validate, first.get())->reused() == 0);
    CHECK(core::PluginHost::load(first_config, core::LoadPurpose::serve, first.get())->reused() == 2);
}
