// The configuration loader on any text: it reports ConfigErrors or a config, and never crashes,
// hangs or exhausts memory (aliases of aliases are capped).
#include <watchgate/core/config/config.hpp>

#include <cstdint>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string text(reinterpret_cast<const char*>(data), size);
    try {
        (void)watchgate::core::parse_config(text, "/fuzz/gateway.yaml");
    } catch (const watchgate::core::ConfigErrors&) {
        // A clear error is the expected answer to bad input; anything else escaping is a finding.
    }
    return 0;
}
