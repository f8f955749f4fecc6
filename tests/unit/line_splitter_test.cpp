// The framing of newline-delimited JSON-RPC: exact size limits, in any chunking.

#include <watchgate/core/base/line_splitter.hpp>

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using watchgate::core::LineSplitter;
using watchgate::core::OversizeLine;

namespace {

struct Split {
    std::vector<std::string> lines;
    std::vector<std::size_t> oversize;  // sizes reported
};

// Feeds `bytes` in chunks of `chunk` bytes.
Split split(const std::string& bytes, std::size_t limit, std::size_t chunk) {
    Split out;
    LineSplitter splitter(limit);
    auto on_line = [&](std::string line) { out.lines.push_back(std::move(line)); };
    auto on_oversize = [&](const OversizeLine& line) { out.oversize.push_back(line.size); };
    for (std::size_t at = 0; at < bytes.size(); at += chunk)
        splitter.feed(std::string_view(bytes).substr(at, chunk), on_line, on_oversize);
    splitter.finish(on_line, on_oversize);
    return out;
}

}  // namespace

TEST_CASE("line splitter: a line of exactly the limit passes, one byte more is refused, in any chunking") {
    const std::size_t limit = 100;
    const std::string at_limit(limit, 'a'), over(limit + 1, 'b');
    for (std::size_t chunk : {1u, 7u, 64u, 100u, 101u, 4096u}) {
        INFO("chunk " << chunk);
        auto result = split(at_limit + "\n" + over + "\n" + at_limit + "\r\n" + "x\n", limit, chunk);
        REQUIRE(result.lines.size() == 3);
        CHECK(result.lines[0] == at_limit);
        CHECK(result.lines[1] == at_limit);  // the trailing CR is not content
        CHECK(result.lines[2] == "x");
        REQUIRE(result.oversize.size() == 1);
        CHECK(result.oversize[0] == limit + 1);
    }
}
