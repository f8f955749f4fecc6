// Line framing, Message::parse and the id splice, with a consistency oracle: what the gateway
// forwards for a message is exactly what it parsed (docs/reliability.md).
#include <watchgate/core/base/line_splitter.hpp>
#include <watchgate/core/protocol/message.hpp>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <variant>

namespace {

using nlohmann::json;
using watchgate::core::Message;
using watchgate::core::MessageError;

[[noreturn]] void finding(const char* what) {
    std::fprintf(stderr, "oracle: %s\n", what);
    std::abort();
}

void check_line(const std::string& line) {
    (void)watchgate::core::recover_id(line);
    (void)watchgate::core::recover_id_at_end(line);
    auto parsed = Message::parse(line, "up");
    if (auto* error = std::get_if<MessageError>(&parsed)) {
        if (error->code != -32700 && error->code != -32600) finding("an error code other than -32700/-32600");
        // A line the JSON reader accepts whole is never a parse error; one it refuses never a message.
        return;
    }
    Message& message = std::get<Message>(parsed);
    // Unchanged: forwarded as it arrived, and those bytes are one JSON value equal to what was parsed.
    const std::string forwarded = message.serialize();
    if (forwarded != line) finding("an unchanged message is not forwarded as its bytes");
    const json reparsed = json::parse(forwarded, nullptr, false);
    if (reparsed.is_discarded() || reparsed != message.json()) finding("forwarded bytes differ from what was parsed");
    // The id splice: the bytes after set_id are the parsed message with only the id changed.
    json expected = message.json();
    for (const json& id : {json(987654321), json("a\"b\\u00e9")}) {
        message.set_id(id);
        expected["id"] = id;
        const json spliced = json::parse(message.serialize(), nullptr, false);
        if (spliced.is_discarded() || spliced != expected) finding("the id splice changed more than the id");
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 2) return 0;
    // The first two bytes choose the line limit and the read size, so lines meet the limit and
    // chunk boundaries fall anywhere.
    const std::size_t limit = 16 + data[0] * 16;
    const std::size_t chunk = 1 + data[1];
    std::string_view bytes(reinterpret_cast<const char*>(data) + 2, size - 2);
    watchgate::core::LineSplitter splitter(limit);
    auto on_line = [&](std::string line) {
        if (line.size() > limit) finding("a line over the limit was delivered");
        check_line(line);
    };
    auto on_oversize = [&](const watchgate::core::OversizeLine& line) {
        if (line.size <= limit) finding("a line within the limit was reported as oversize");
        if (line.head.size() > watchgate::core::LineSplitter::kept_ends ||
            line.tail.size() > watchgate::core::LineSplitter::kept_ends)
            finding("kept ends are larger than promised");
        (void)watchgate::core::recover_id(line.head);
        (void)watchgate::core::recover_id_at_end(line.tail);
    };
    while (!bytes.empty()) {
        const std::size_t take = std::min(chunk, bytes.size());
        splitter.feed(bytes.substr(0, take), on_line, on_oversize);
        bytes.remove_prefix(take);
    }
    splitter.finish(on_line, on_oversize);
    // The whole input as one line as well: framing aside, parse and splice see every byte.
    check_line(std::string(reinterpret_cast<const char*>(data), size));
    return 0;
}
