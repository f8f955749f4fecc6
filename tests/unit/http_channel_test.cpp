// The HTTP front's pieces on their own: the header checks, and a session's channel (which stream
// a message goes on, event numbering, the replay buffer, flow control).

#include <watchgate/core/http/http_channel.hpp>
#include <watchgate/core/http/request_checks.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include <catch2/catch.hpp>

using namespace watchgate::core;
namespace asio = boost::asio;

namespace {

// The events `stream` has for `attachment` after `after`, without waiting.
HttpChannel::Batch take(HttpChannel& channel, std::uint64_t stream, std::uint64_t attachment, std::uint64_t after) {
    asio::io_context io;
    auto result =
        asio::co_spawn(io, channel.next(stream, attachment, after, HttpChannel::Clock::now()), asio::use_future);
    io.run();
    return result.get();
}

std::vector<std::string> data_of(const HttpChannel::Batch& batch) {
    std::vector<std::string> out;
    for (const auto& event : batch.events) out.push_back(event.data);
    return out;
}

}  // namespace

TEST_CASE("http checks: Host and Origin against the allowed lists") {
    CHECK(host_allowed("localhost:8080", {}));
    CHECK(host_allowed("127.0.0.1", {}));
    CHECK(host_allowed("[::1]:9", {}));
    CHECK(host_allowed("LOCALHOST", {}));
    CHECK_FALSE(host_allowed("evil.example.com", {}));
    CHECK_FALSE(host_allowed("localhost.evil.example.com", {}));
    CHECK_FALSE(host_allowed("", {}));
    CHECK(host_allowed("mcp.example.com:443", {"mcp.example.com"}));  // no port listed: any port
    CHECK_FALSE(host_allowed("mcp.example.com:444", {"mcp.example.com:443"}));
    CHECK_FALSE(host_allowed("localhost", {"mcp.example.com"}));  // a list replaces the defaults
    CHECK(host_allowed("anything", {"*"}));

    CHECK(origin_allowed("http://localhost:3000", {}));
    CHECK(origin_allowed("https://127.0.0.1", {}));
    CHECK_FALSE(origin_allowed("http://evil.example.com", {}));
    CHECK_FALSE(origin_allowed("http://localhost.evil.example.com", {}));
    CHECK_FALSE(origin_allowed("null", {}));
    CHECK_FALSE(origin_allowed("file://localhost", {}));
    CHECK(origin_allowed("https://App.Example.com", {"https://app.example.com"}));
    CHECK_FALSE(origin_allowed("http://app.example.com", {"https://app.example.com"}));
}

TEST_CASE("http checks: Accept, Content-Type and bearer credentials") {
    CHECK(accepts("application/json, text/event-stream", "text/event-stream"));
    CHECK(accepts("text/*", "text/event-stream"));
    CHECK(accepts("*/*", "application/json"));
    CHECK(accepts("", "application/json"));  // no header: anything
    CHECK_FALSE(accepts("application/json", "text/event-stream"));
    CHECK_FALSE(accepts("text/event-stream;q=0, application/json", "text/event-stream"));
    CHECK(accepts("text/event-stream;q=0.5", "text/event-stream"));
    CHECK(is_json_content_type("application/json; charset=utf-8"));
    CHECK(is_json_content_type("Application/JSON"));
    CHECK_FALSE(is_json_content_type("application/jsonx"));
    CHECK_FALSE(is_json_content_type("text/plain"));
    CHECK(bearer_token("Bearer abc.def") == "abc.def");
    CHECK(bearer_token("bearer   abc ") == "abc");
    CHECK(bearer_token("Basic abc").empty());
    CHECK(bearer_token("Bearer").empty());
}

TEST_CASE("http channel: an answer and what relates to its request go on its stream, the rest on the listen stream") {
    HttpChannel channel({}, 8, false);
    const auto stream = channel.open_request_stream("7");
    REQUIRE(stream);
    CHECK_FALSE(channel.open_request_stream("7"));  // one stream per id in flight
    auto request = channel.attach(*stream);
    auto listen = channel.attach(HttpChannel::listen_stream);
    REQUIRE(request);
    REQUIRE(listen);
    channel.send("progress", Delivery::related_to("7"));
    channel.send("log", Delivery::unrelated());
    channel.send("for another", Delivery::related_to("8"));  // no such stream: the listen stream
    channel.send("answer", Delivery::answer_to("7"));
    channel.send("stray answer", Delivery::answer_to("9"));  // never on the listen stream: dropped
    auto on_request = take(channel, *stream, request->id, 0);
    CHECK(data_of(on_request) == std::vector<std::string>{"progress", "answer"});
    CHECK(on_request.ends);
    auto on_listen = take(channel, HttpChannel::listen_stream, listen->id, 0);
    CHECK(data_of(on_listen) == std::vector<std::string>{"log", "for another"});
    CHECK_FALSE(on_listen.ends);
    CHECK(channel.open_request_stream("7"));  // answered: the id is free again
}

TEST_CASE("http channel: events are numbered per stream and replayed after a Last-Event-ID") {
    HttpChannel channel({}, 2, false);
    auto listen = channel.attach(HttpChannel::listen_stream);
    for (int i = 1; i <= 4; ++i) channel.send("m" + std::to_string(i), Delivery::unrelated());
    auto all = take(channel, HttpChannel::listen_stream, listen->id, 0);
    REQUIRE(all.events.size() == 4);
    CHECK(all.events[3].sequence == 4);
    channel.written(HttpChannel::listen_stream, 4);
    CHECK(HttpChannel::event_id(0, 3) == "0.3");
    // Two written events are kept for a resuming client.
    CHECK_FALSE(channel.find_event("0.1"));
    auto found = channel.find_event("0.2");
    REQUIRE(found);
    auto again = channel.attach(HttpChannel::listen_stream);
    auto replay = take(channel, HttpChannel::listen_stream, again->id, found->second);
    CHECK(data_of(replay) == std::vector<std::string>{"m3", "m4"});
    CHECK_FALSE(channel.find_event("0.9"));
    CHECK_FALSE(channel.find_event("junk"));
    CHECK_FALSE(channel.find_event("5.1"));
}

TEST_CASE("http channel: a new connection takes a stream over") {
    HttpChannel channel({}, 8, false);
    auto first = channel.attach(HttpChannel::listen_stream);
    auto second = channel.attach(HttpChannel::listen_stream);
    channel.send("m", Delivery::unrelated());
    CHECK(take(channel, HttpChannel::listen_stream, first->id, 0).replaced);
    CHECK(data_of(take(channel, HttpChannel::listen_stream, second->id, 0)) == std::vector<std::string>{"m"});
}

TEST_CASE("http channel: bytes not yet written bound it, and a listen stream nobody reads keeps only the newest") {
    StreamLimits limits;
    limits.max_queued = 100;
    HttpChannel channel(limits, 3, false);
    const auto stream = channel.open_request_stream("1");
    auto attached = channel.attach(*stream);
    channel.send(std::string(60, 'a'), Delivery::related_to("1"));
    CHECK(channel.has_room());
    CHECK_FALSE(channel.full_since());
    channel.send(std::string(60, 'b'), Delivery::related_to("1"));
    CHECK_FALSE(channel.has_room());
    CHECK(channel.full_since());
    channel.written(*stream, 1);
    CHECK(channel.has_room());
    CHECK(channel.queued_bytes() == 60);

    // Nobody on the listen stream: only the last 3 wait for a GET.
    for (int i = 0; i < 10; ++i) channel.send("n" + std::to_string(i), Delivery::unrelated());
    auto listen = channel.attach(HttpChannel::listen_stream);
    auto kept = take(channel, HttpChannel::listen_stream, listen->id, listen->written);
    CHECK(data_of(kept) == std::vector<std::string>{"n7", "n8", "n9"});
    (void)attached;
}

TEST_CASE("http channel: an abandoned stream drops what comes for it, and closing ends every stream") {
    HttpChannel channel({}, 8, false);
    const auto stream = channel.open_request_stream("1");
    auto first = channel.attach(*stream);
    auto second = channel.attach(*stream);
    channel.abandon(*stream, first->id);  // taken over since: not abandoned
    channel.send("kept", Delivery::related_to("1"));
    CHECK(data_of(take(channel, *stream, second->id, 0)) == std::vector<std::string>{"kept"});
    channel.detach(*stream, second->id);
    channel.abandon(*stream, second->id);
    // What the client must see goes on the listen stream instead; the answer is dropped.
    channel.send("sampling request", Delivery::related_to("1"));
    channel.send(std::string(1000, 'x'), Delivery::answer_to("1"));
    CHECK(channel.queued_bytes() == std::string("sampling request").size());
    CHECK_FALSE(channel.attach(*stream));  // its answer came: gone

    auto listen = channel.attach(HttpChannel::listen_stream);
    channel.close();
    CHECK(take(channel, HttpChannel::listen_stream, listen->id, 0).ends);
    channel.send("after", Delivery::unrelated());
    CHECK(channel.queued_bytes() == 0);
    CHECK(channel.has_room());
}

TEST_CASE("http channel: the legacy transport sends answers on its one stream") {
    HttpChannel channel({}, 8, true);
    auto listen = channel.attach(HttpChannel::listen_stream);
    channel.send("answer", Delivery::answer_to("1"));
    auto batch = take(channel, HttpChannel::listen_stream, listen->id, 0);
    CHECK(data_of(batch) == std::vector<std::string>{"answer"});
    CHECK_FALSE(batch.ends);
}

TEST_CASE("http channel: a request stream nobody resumes within the stall timeout is dropped") {
    HttpChannel channel({}, 8, false);
    const auto stream = channel.open_request_stream("1");
    auto attached = channel.attach(*stream);
    channel.send(std::string(100, 'p'), Delivery::related_to("1"));
    channel.detach(*stream, attached->id);
    channel.expire_detached(HttpChannel::Clock::now() - std::chrono::seconds(30));  // detached just now: kept
    CHECK(channel.queued_bytes() == 100);
    channel.expire_detached(HttpChannel::Clock::now() + std::chrono::seconds(1));
    CHECK(channel.queued_bytes() == 0);
    channel.send("answer", Delivery::answer_to("1"));
    CHECK(channel.queued_bytes() == 0);
}
