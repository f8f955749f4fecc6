// Plugin loading: every documented load error, with its message.
#include <catch2/catch.hpp>

#include "test_support.hpp"

#include <watchgate/core/pipeline/plugin_module.hpp>

using namespace watchgate;
namespace fs = std::filesystem;

namespace {

std::string security_entry(const std::string& entry, const std::string& extra = "") {
    return "plugins:\n  security:\n    _global:\n      - " + entry + "\n" + extra;
}

std::string load_error(const fs::path& file) {
    try {
        core::PluginModule::load(file);
    } catch (const core::PluginLoadError& e) {
        return e.what();
    }
    return {};
}

}  // namespace

TEST_CASE("loading: a plugin built for another ABI major is refused naming both versions") {
    auto file = test::plugin_dir() / "wrong_major.so";
    CHECK(load_error(file) == "plugin " + file.string() +
                                  ": built for plugin ABI 2.0, but this Watchgate speaks ABI 1.2 (the major versions "
                                  "differ; rebuild the plugin against this SDK)");
}

TEST_CASE("loading: a plugin built for a newer minor is refused naming both versions") {
    auto file = test::plugin_dir() / "newer_minor.so";
    CHECK(load_error(file) == "plugin " + file.string() +
                                  ": built for plugin ABI 1.3, newer than this Watchgate's ABI 1.2 (upgrade Watchgate "
                                  "or rebuild the plugin against SDK 1.2)");
}

TEST_CASE("loading: a shared library without the entry function is not a plugin") {
    auto file = test::plugin_dir() / "not_a_plugin.so";
    CHECK(load_error(file) ==
          "plugin " + file.string() + ": no entry function 'watchgate_plugin_entry': not a Watchgate plugin");
}

TEST_CASE("loading: a file that is not a shared library") {
    auto file = test::plugin_dir() / "text_file.so";
    CHECK_THAT(load_error(file), Catch::StartsWith("plugin " + file.string() + ": not a loadable shared library ("));
}

TEST_CASE("loading: the same file is loaded once for several entries") {
    auto host = test::load_host(
        "proxy:\n  upstreams:\n    - {name: one, command: [cat]}\n    - {name: two, command: [cat]}\n"
        "plugins:\n  security:\n    one:\n      - handler: conformance_c\n        config: {word: a}\n"
        "    two:\n      - handler: conformance_c\n        config: {word: b}\n");
    CHECK(host->modules().size() == 1);
    // ...but each entry is its own instance.
    CHECK(host->pipeline("one")->stages()[0].instance != host->pipeline("two")->stages()[0].instance);
}

TEST_CASE("loading: errors name the YAML place, the folders searched and the nearest name") {
    std::string errors = test::load_errors(security_entry("handler: conformance_cc"));
    CHECK_THAT(errors, Catch::Contains("test.yaml:5:9: plugin 'conformance_cc' not found; searched: " +
                                       test::plugin_dir().string()));
    CHECK_THAT(errors, Catch::Contains("did you mean 'conformance_c'?"));
}

TEST_CASE("loading: every error is reported at once") {
    std::string errors = test::load_errors(
        "plugins:\n  security:\n    _global:\n"
        "      - handler: nope_one\n"
        "      - handler: wrong_major\n"
        "      - path: not_a_plugin.so\n"
        "  middleware:\n    _global:\n"
        "      - handler: conformance_c\n        config: {word: x}\n");
    CHECK_THAT(errors, Catch::Contains("test.yaml:5:9: plugin 'nope_one' not found"));
    CHECK_THAT(errors, Catch::Contains("test.yaml:6:9: plugin " + (test::plugin_dir() / "wrong_major.so").string() +
                                       ": built for plugin ABI 2.0"));
    CHECK_THAT(errors, Catch::Contains("test.yaml:7:9: plugin " + (test::plugin_dir() / "not_a_plugin.so").string() +
                                       ": no entry function"));
    CHECK_THAT(errors,
               Catch::Contains("test.yaml:10:9: plugin 'conformance_c' cannot be placed under middleware: it is "
                               "a security plugin"));
}

TEST_CASE("loading: path entries resolve against the config file's folder") {
    auto host = test::load_host(security_entry("path: conformance_cpp.so\n        config: {word: w}"));
    CHECK(host->pipeline("")->stages()[0].instance->name() == "conformance_cpp");
}

TEST_CASE("loading: a handler whose file declares another name is refused") {
    auto dir = test::scratch_dir("renamed");
    fs::copy_file(test::plugin_dir() / "conformance_c.so", dir / "impostor.so");
    std::string errors = test::load_errors(
        "plugin_dirs: [\"" + dir.string() + "\"]\n" + security_entry("handler: impostor\n        config: {word: w}"),
        false);
    CHECK_THAT(errors, Catch::Contains("declares plugin 'conformance_c', not 'impostor'"));
}

TEST_CASE("loading: two files declaring the same plugin name are refused") {
    auto dir = test::scratch_dir("duplicate");
    fs::copy_file(test::plugin_dir() / "conformance_c.so", dir / "copy.so");
    std::string errors = test::load_errors(
        "proxy:\n  upstreams:\n    - {name: one, command: [cat]}\n"
        "plugins:\n  security:\n    _global:\n      - handler: conformance_c\n        config: {word: a}\n"
        "    one:\n      - path: \"" +
        (dir / "copy.so").string() + "\"\n        config: {word: b}\n");
    CHECK_THAT(errors, Catch::Contains("duplicate plugin name 'conformance_c': declared by " +
                                       (test::plugin_dir() / "conformance_c.so").string() + " and " +
                                       (dir / "copy.so").string()));
}

TEST_CASE("loading: plugin files or folders writable by others are refused unless allowed") {
    auto dir = test::scratch_dir("insecure");
    fs::copy_file(test::plugin_dir() / "conformance_c.so", dir / "conformance_c.so");
    fs::permissions(dir / "conformance_c.so", fs::perms::others_write, fs::perm_options::add);
    const std::string entry =
        security_entry("path: \"" + (dir / "conformance_c.so").string() + "\"\n        config: {word: w}");
    CHECK_THAT(test::load_errors(entry),
               Catch::Contains("refusing plugin " + (dir / "conformance_c.so").string() + ": " +
                               (dir / "conformance_c.so").string() + " is writable by others"));
    CHECK(test::load_errors("allow_insecure_plugin_paths: true\n" + entry).empty());

    fs::permissions(dir / "conformance_c.so", fs::perms::others_write, fs::perm_options::remove);
    fs::permissions(dir, fs::perms::group_write, fs::perm_options::add);
    CHECK_THAT(test::load_errors(entry), Catch::Contains(dir.string() + " is writable by its group"));
    fs::permissions(dir, fs::perms::group_write, fs::perm_options::remove);

    // Any folder up to the root: whoever may rename it may swap the plugin under it. A sticky
    // folder (like /tmp) lets only an entry's owner rename it, so it is fine.
    fs::create_directories(dir / "outer" / "inner");
    fs::copy_file(test::plugin_dir() / "conformance_c.so", dir / "outer" / "inner" / "deep.so");
    const std::string deep_entry =
        security_entry("path: \"" + (dir / "outer" / "inner" / "deep.so").string() + "\"\n        config: {word: w}");
    fs::permissions(dir / "outer", fs::perms::others_write, fs::perm_options::add);
    CHECK_THAT(test::load_errors(deep_entry), Catch::Contains((dir / "outer").string() + " is writable by others"));
    fs::permissions(dir / "outer", fs::perms::sticky_bit, fs::perm_options::add);
    CHECK(test::load_errors(deep_entry).empty());
}

TEST_CASE("loading: WATCHGATE_PLUGIN_PATH is searched after plugin_dirs") {
    auto dir = test::scratch_dir("env_path");
    fs::copy_file(test::plugin_dir() / "conformance_cpp.so", dir / "conformance_cpp.so");
    ::setenv("WATCHGATE_PLUGIN_PATH", ("/nonexistent:" + dir.string()).c_str(), 1);
    auto config = core::parse_config(
        "plugins:\n  security:\n    _global:\n      - handler: conformance_cpp\n"
        "        config: {word: w}\n",
        test::config_path());
    auto search = core::plugin_search_path(config);
    auto host = core::PluginHost::load(config);
    ::unsetenv("WATCHGATE_PLUGIN_PATH");
    REQUIRE(search.size() >= 3);
    CHECK(search[0] == "/nonexistent");
    CHECK(search[1] == dir);
    CHECK(search.back() == core::builtin_plugin_dir());
    REQUIRE(host->modules().size() == 1);
    CHECK(host->modules().begin()->first == dir / "conformance_cpp.so");
}

TEST_CASE("loading: built-in plugins are found without any configuration of folders") {
    auto config = core::parse_config(
        "plugins:\n  security:\n    _global:\n      - handler: keyword_filter\n"
        "        config: {keywords: [x]}\n",
        test::config_path());
    CHECK(core::PluginHost::load(config)->pipeline("")->stages()[0].instance->name() == "keyword_filter");
}
