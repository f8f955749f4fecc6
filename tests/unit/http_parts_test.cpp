// The pieces of the HTTP client: URLs, and event streams read in pieces of any size.

#include <watchgate/core/base/sse_parser.hpp>
#include <watchgate/core/base/url.hpp>

#include <catch2/catch.hpp>

#include <vector>

using namespace watchgate;

TEST_CASE("url: parts defaults and refusals") {
    auto url = core::Url::parse("https://mcp.example.com/v1/mcp?key=secret#part");
    REQUIRE(url);
    CHECK(url->tls);
    CHECK(url->host == "mcp.example.com");
    CHECK(url->port == 443);
    CHECK(url->target == "/v1/mcp?key=secret");
    CHECK(url->host_header() == "mcp.example.com");
    CHECK(url->redacted() == "https://mcp.example.com/v1/mcp");

    auto local = core::Url::parse("http://127.0.0.1:3001");
    REQUIRE(local);
    CHECK_FALSE(local->tls);
    CHECK(local->port == 3001);
    CHECK(local->target == "/");
    CHECK(local->origin() == "http://127.0.0.1:3001");

    auto v6 = core::Url::parse("http://[::1]:8080/mcp");
    REQUIRE(v6);
    CHECK(v6->host == "::1");
    CHECK(v6->host_header() == "[::1]:8080");

    std::string why;
    CHECK_FALSE(core::Url::parse("mcp.example.com/mcp", &why));
    CHECK(why == "expected a URL starting with http:// or https://");
    CHECK_FALSE(core::Url::parse("http://a:b@host/", &why));
    CHECK_FALSE(core::Url::parse("http://host:0/", &why));
    CHECK_FALSE(core::Url::parse("http://host:x/", &why));
    CHECK_FALSE(core::Url::parse("http:///path", &why));
    CHECK(why == "the URL names no host");
    CHECK_FALSE(core::Url::parse("http://ho st/", &why));
    CHECK_FALSE(core::Url::parse("http://host/a b", &why));
}

TEST_CASE("url: an endpoint resolves against the stream's URL") {
    auto base = *core::Url::parse("http://127.0.0.1:3001/v1/sse?x=1");
    CHECK(base.resolve("/message?sessionId=abc")->target == "/message?sessionId=abc");
    CHECK(base.resolve("message?sessionId=abc")->target == "/v1/message?sessionId=abc");
    CHECK(base.resolve("http://127.0.0.1:3001/m")->origin() == base.origin());
    CHECK(base.resolve("https://elsewhere.example/m")->origin() == "https://elsewhere.example");
    CHECK_FALSE(base.resolve("/with space"));
    CHECK(base.resolve("?sessionId=abc")->target == "/v1/sse?sessionId=abc");
    CHECK(base.resolve("/message#part")->target == "/message");
    CHECK(core::Url::parse("http://LocalHost:3001/x")->origin() == "http://localhost:3001");
    CHECK(core::Url::parse("https://mcp.example.com/s/0123456789abcdef0123456789abcdef/mcp?k=v")->redacted() ==
          "https://mcp.example.com/s/.../mcp");
}

namespace {

struct Collected {
    std::vector<core::SseEvent> events;
    std::vector<std::size_t> oversize;
    std::string oversize_head, oversize_tail;
    core::SseParser::Sink sink() {
        return {[this](core::SseEvent&& event) { events.push_back(std::move(event)); },
                [this](const core::OversizeLine& line) {
                    oversize.push_back(line.size);
                    oversize_head = line.head;
                    oversize_tail = line.tail;
                }};
    }
};

}  // namespace

TEST_CASE("sse: events by type data and id whatever the pieces and line ends") {
    const std::string stream =
        "\xEF\xBB\xBF: a comment\r\n"
        "retry: 1500\r\n"
        "id: 7\r\nevent: endpoint\r\ndata: /message?s=1\r\n\r\n"
        "data: {\"a\":1}\rdata: {\"b\":2}\r\r"
        "id\n"
        "data\n\n"
        "event: ignored-without-data\n\n"
        "data:no-space\n\n";
    // Every way of cutting it in two, and byte by byte.
    for (std::size_t cut = 0; cut <= stream.size(); ++cut) {
        for (bool bytewise : {false, true}) {
            Collected got;
            core::SseParser parser(1024);
            const auto sink = got.sink();
            if (bytewise) {
                for (char c : stream) parser.feed(std::string_view(&c, 1), sink);
            } else {
                parser.feed(std::string_view(stream).substr(0, cut), sink);
                parser.feed(std::string_view(stream).substr(cut), sink);
            }
            REQUIRE(got.events.size() == 4);
            CHECK(got.events[0].type == "endpoint");
            CHECK(got.events[0].data == "/message?s=1");
            CHECK(got.events[0].id == "7");
            CHECK(got.events[1].type == "message");
            CHECK(got.events[1].data == "{\"a\":1}\n{\"b\":2}");
            CHECK(got.events[1].id == "7");
            CHECK(got.events[2].data.empty());  // an empty data line is an event (a priming one)
            CHECK(got.events[2].id.empty());    // `id` with no value resets it
            CHECK(got.events[3].data == "no-space");
            CHECK(parser.retry() == std::chrono::milliseconds(1500));
            if (bytewise) break;
        }
    }
}

TEST_CASE("sse: an event over the limit is reported by its size and ends, and the stream reads on") {
    Collected got;
    core::SseParser parser(100);
    const std::string big(5000, 'x');
    const std::string stream = "id: 1\ndata: {\"id\":42," + big + "\ndata: " + big + "end}\n\ndata: small\n\n";
    for (std::size_t at = 0; at < stream.size(); at += 333)
        parser.feed(std::string_view(stream).substr(at, 333), got.sink());
    REQUIRE(got.oversize.size() == 1);
    CHECK(got.oversize[0] >= 10000);
    CHECK(got.oversize_head.starts_with("{\"id\":42,"));
    CHECK(std::string_view(got.oversize_tail).ends_with("end}"));
    REQUIRE(got.events.size() == 1);
    CHECK(got.events[0].data == "small");
    CHECK(parser.last_event_id() == "1");
}

TEST_CASE("sse: the last event id moves when an event is complete and a resumed stream starts clean") {
    Collected got;
    core::SseParser parser(1024);
    parser.feed("id: 1\ndata: one\n\nid: 2\ndata: {\"half", got.sink());
    // The stream broke inside event 2: resuming asks for what follows event 1.
    CHECK(parser.last_event_id() == "1");
    parser.start_stream();
    parser.feed("id: 2\ndata: {\"whole\":true}\n\n", got.sink());
    REQUIRE(got.events.size() == 2);
    CHECK(got.events[1].data == "{\"whole\":true}");
    CHECK(parser.last_event_id() == "2");
}
