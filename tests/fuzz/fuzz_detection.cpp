// Each detection plugin (PII, secrets, prompt injection) on any text, loaded through the real
// plugin host: redaction keeps the message valid JSON, and no input crashes or hangs a scanner.
#include <watchgate/core/config/config.hpp>
#include <watchgate/core/pipeline/plugin_host.hpp>

#include <nlohmann/json.hpp>

#include <array>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <variant>

namespace {

using namespace watchgate::core;

std::shared_ptr<PluginHost> host_for(const std::string& handler) {
    const std::string yaml = std::string("plugin_dirs: [\"") + WATCHGATE_PLUGIN_DIR +
                             "\"]\nplugins:\n  security:\n    _global:\n      - handler: " + handler +
                             "\n        config: {action: redact, scan_base64: true, scan_keys: true}\n";
    return PluginHost::load(parse_config(yaml, "/fuzz/gateway.yaml"));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    // Kept for the whole run and never unloaded: the fuzzer exits without tearing down.
    static const auto& hosts = *new std::array<std::shared_ptr<PluginHost>, 3>{
        host_for("basic_pii_filter"), host_for("basic_secrets_filter"), host_for("basic_prompt_injection_defense")};
    if (size < 1) return 0;
    const std::size_t which = data[0] % hosts.size();
    const std::string text(reinterpret_cast<const char*>(data) + 1, size - 1);
    nlohmann::json request = {{"jsonrpc", "2.0"},
                              {"id", 1},
                              {"method", "tools/call"},
                              {"params", {{"name", "t"}, {"arguments", {{"text", text}, {text, "key"}}}}}};
    std::string line;
    try {
        line = request.dump();
    } catch (const nlohmann::json::exception&) {
        return 0;  // not UTF-8: no client could send it as JSON
    }
    auto parsed = Message::parse(line);
    if (!std::holds_alternative<Message>(parsed)) std::abort();
    Message message = std::get<Message>(std::move(parsed));
    auto pipeline = hosts[which]->pipeline("");
    auto scope = pipeline->begin_request(message);
    (void)pipeline->process_request(*scope, message);
    if (nlohmann::json::parse(message.serialize(), nullptr, false).is_discarded()) std::abort();
    return 0;
}
