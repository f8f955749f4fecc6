// The event-stream reader (a remote upstream's bytes), with an oracle: the same bytes give the
// same events whether they arrive whole or cut anywhere, and no event kept is over the limit.
#include <watchgate/core/base/sse_parser.hpp>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace {

[[noreturn]] void finding(const char* what) {
    std::fprintf(stderr, "oracle: %s\n", what);
    std::abort();
}

constexpr std::size_t limit = 256;

struct Seen {
    std::vector<std::string> events;  // type, data and id, or the size of an oversize one
    std::string last_id;
    long long retry = -1;
};

Seen read(std::string_view bytes, std::size_t piece) {
    Seen seen;
    watchgate::core::SseParser parser(limit);
    watchgate::core::SseParser::Sink sink{
        [&](watchgate::core::SseEvent&& event) {
            if (event.data.size() > limit) finding("an event kept over the limit");
            seen.events.push_back(event.type + '\x01' + event.data + '\x01' + event.id);
        },
        [&](const watchgate::core::OversizeLine& event) {
            if (event.size <= limit) finding("an event within the limit reported as oversize");
            seen.events.push_back("oversize\x01" + std::to_string(event.size) + '\x01' + std::string(event.head) +
                                  '\x01' + std::string(event.tail));
        }};
    for (std::size_t at = 0; at < bytes.size(); at += piece) parser.feed(bytes.substr(at, piece), sink);
    seen.last_id = parser.last_event_id();
    seen.retry = parser.retry() ? parser.retry()->count() : -1;
    return seen;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1) return 0;
    const std::size_t piece = 1 + data[0] % 64;
    const std::string_view bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
    const Seen whole = read(bytes, bytes.size() + 1);
    const Seen cut = read(bytes, piece);
    if (whole.events != cut.events) finding("events differ with where the bytes were cut");
    if (whole.last_id != cut.last_id || whole.retry != cut.retry) finding("the stream's state differs with the cuts");
    return 0;
}
