// The audit writers' escaping: whatever the bytes, the output is pure ASCII JSON that reads back
// as the input (invalid UTF-8 as U+FFFD), so no record can break a line or a reader.
#include "json_text.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <cstdlib>
#include <string>

namespace {

[[noreturn]] void finding(const char* what) {
    std::fprintf(stderr, "oracle: %s\n", what);
    std::abort();
}

bool pure_ascii_one_line(const std::string& text) {
    for (unsigned char c : text)
        if (c >= 0x7f || c < 0x20) return false;
    return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    std::string out;
    watchgate::audit::append_ascii_json_string(out, input);
    if (!pure_ascii_one_line(out)) finding("an escaped string is not printable ASCII");
    const auto read_back = nlohmann::json::parse(out, nullptr, false);
    if (!read_back.is_string()) finding("an escaped string is not a JSON string");
    // Valid UTF-8 reads back exactly.
    const auto as_json_string = nlohmann::json(std::string(input));
    std::string strict;
    try {
        strict = as_json_string.dump();
    } catch (const nlohmann::json::exception&) {
        strict.clear();  // invalid UTF-8: replaced, checked above
    }
    if (!strict.empty() && read_back.get<std::string>() != input) finding("valid UTF-8 did not read back");

    // JSON text (what plugins hand the audit as bodies): made ASCII without changing its value.
    // (Text with a NUL byte is never handed over: the gateway refuses such lines.)
    const auto value = nlohmann::json::parse(input, nullptr, false);
    if (!value.is_discarded() && input.find('\0') == std::string_view::npos) {
        std::string text;
        watchgate::audit::append_ascii_json_text(text, input);
        if (!pure_ascii_one_line(text)) finding("ASCII JSON text is not printable ASCII");
        const auto again = nlohmann::json::parse(text, nullptr, false);
        if (again.is_discarded() || again != value) finding("ASCII JSON text changed the value");
    }
    return 0;
}
