#pragma once
// Helpers shared by the tests: build a plugin host from YAML text and make messages.

#include <watchgate/core/config/config.hpp>
#include <watchgate/core/protocol/message.hpp>
#include <watchgate/core/pipeline/pipeline.hpp>
#include <watchgate/core/pipeline/plugin_host.hpp>

#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <variant>

namespace watchgate::test {

inline std::filesystem::path plugin_dir() { return WATCHGATE_TEST_PLUGIN_DIR; }

// A config file name for errors; it need not exist.
inline std::filesystem::path config_path() { return std::filesystem::path(WATCHGATE_TEST_PLUGIN_DIR) / "test.yaml"; }

// YAML with `plugin_dirs` pointing at the test plugins prepended.
inline std::string with_plugin_dir(const std::string& yaml) {
    return "plugin_dirs: [\"" + plugin_dir().string() + "\"]\n" + yaml;
}

inline std::shared_ptr<core::PluginHost> load_host(const std::string& yaml) {
    return core::PluginHost::load(core::parse_config(with_plugin_dir(yaml), config_path()));
}

// Every error message of loading `yaml`, joined by newlines; empty when it loads.
inline std::string load_errors(const std::string& yaml, bool add_plugin_dir = true) {
    try {
        core::PluginHost::load(core::parse_config(add_plugin_dir ? with_plugin_dir(yaml) : yaml, config_path()));
    } catch (const core::ConfigErrors& e) {
        return e.what();
    }
    return {};
}

inline core::Message message(const std::string& line, const std::string& upstream = {}) {
    auto parsed = core::Message::parse(line, upstream);
    return std::get<core::Message>(std::move(parsed));
}

inline core::Message request(int id, const std::string& tool = "echo", const std::string& arguments = "{}",
                             const std::string& upstream = {}) {
    return message(R"({"jsonrpc":"2.0","id":)" + std::to_string(id) + R"(,"method":"tools/call","params":{"name":")" +
                       tool + R"(","arguments":)" + arguments + "}}",
                   upstream);
}

inline core::Message response(int id, const std::string& result = R"({"content":[]})",
                              const std::string& upstream = {}) {
    return message(R"({"jsonrpc":"2.0","id":)" + std::to_string(id) + R"(,"result":)" + result + "}", upstream);
}

// A fresh, empty folder under the build tree (not /tmp: plugin folders must not be world-writable).
inline std::filesystem::path scratch_dir(const std::string& name) {
    auto dir = std::filesystem::path(WATCHGATE_TEST_PLUGIN_DIR).parent_path() / "scratch" / name;
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    std::filesystem::permissions(dir, std::filesystem::perms::owner_all | std::filesystem::perms::group_read |
                                          std::filesystem::perms::group_exec | std::filesystem::perms::others_read |
                                          std::filesystem::perms::others_exec);
    return dir;
}

inline std::string read_file(const std::filesystem::path& path) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

}  // namespace watchgate::test
