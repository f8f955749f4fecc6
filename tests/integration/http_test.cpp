// The Streamable HTTP front through the real binary on 127.0.0.1: sessions, streams, status
// codes, DNS-rebinding protection, bearer tokens, limits, the old HTTP+SSE transport.

#include "gateway_process.hpp"
#include "http_client.hpp"
#include "jwt_signer.hpp"
#include "test_support.hpp"

#include <watchgate/core/base/digest.hpp>

#include <catch2/catch.hpp>

#include <cstdlib>
#include <fstream>
#include <future>
#include <set>
#include <sstream>
#include <thread>

using namespace watchgate;
using namespace watchgate::test;
using namespace std::chrono_literals;
using boost::beast::http::verb;

namespace {

// A gateway serving HTTP on a port of its choosing, in front of one test server (`notes`).
struct HttpGateway {
    // `rest`: YAML after the proxy section (plugins:).
    explicit HttpGateway(const std::string& name, const std::string& http_settings = {},
                         const std::string& proxy_settings = {}, const std::string& rest = {})
        : dir(scratch_dir("http-" + name)),
          process(dir, "proxy:\n  transport: http\n  http: {port: 0" + http_settings + "}\n" + proxy_settings +
                           "  upstreams:\n    - name: notes\n      command: [\"" WATCHGATE_TEST_SERVER
                           "\", \"--name\", \"notes\"]\n" +
                           rest) {
        port = listening_port(process.log_once("listening on http://", 10s));
        REQUIRE(port != 0);
    }
    HttpConnection connect() { return HttpConnection(port); }
    // A new session, initialized (and its client's `initialized` sent): its id.
    std::string open_session() {
        auto connection = connect();
        auto answer = connection.post(initialize_body(), mcp_headers({}, {}));
        REQUIRE(answer.status == 200);
        const std::string session = answer.header("mcp-session-id");
        REQUIRE(session.size() == 32);
        auto initialized =
            connection.post(R"({"jsonrpc":"2.0","method":"notifications/initialized"})", mcp_headers(session));
        REQUIRE(initialized.status == 202);
        return session;
    }

    std::filesystem::path dir;
    GatewayProcess process;
    std::uint16_t port = 0;
};

std::string call(int id, const std::string& tool, const nlohmann::json& arguments = nlohmann::json::object(),
                 const nlohmann::json& progress_token = nullptr) {
    nlohmann::json params = {{"name", tool}, {"arguments", arguments}};
    if (!progress_token.is_null()) params["_meta"] = {{"progressToken", progress_token}};
    return nlohmann::json{{"jsonrpc", "2.0"}, {"id", id}, {"method", "tools/call"}, {"params", params}}.dump();
}

}  // namespace

TEST_CASE("http: a session answers as JSON and notifications get 202 until DELETE ends it") {
    HttpGateway gateway("basic");
    auto connection = gateway.connect();
    auto initialized = connection.post(initialize_body(), mcp_headers({}, {}));
    REQUIRE(initialized.status == 200);
    CHECK(initialized.header("content-type") == "application/json");
    CHECK(initialized.json()["result"]["serverInfo"]["name"] == "watchgate");
    const std::string session = initialized.header("mcp-session-id");
    REQUIRE(session.size() == 32);  // 128 bits, hex
    CHECK(session.find_first_not_of("0123456789abcdef") == std::string::npos);

    // The same connection carries the next requests (keep-alive).
    CHECK(connection.post(R"({"jsonrpc":"2.0","method":"notifications/initialized"})", mcp_headers(session)).status ==
          202);
    auto echoed = connection.post(call(2, "echo", {{"text", "over http"}}), mcp_headers(session));
    CHECK(echoed.status == 200);
    CHECK(echoed.json()["id"] == 2);
    CHECK(text_of(echoed.json()) == "over http");
    // A body over several lines is one message (what goes upstream is one line).
    auto spread = connection.post("{\n  \"jsonrpc\": \"2.0\",\n  \"id\": 3,\r\n  \"method\": \"ping\"\n}\n",
                                  mcp_headers(session));
    CHECK(spread.status == 200);
    CHECK(spread.json()["id"] == 3);

    CHECK(connection.request(verb::delete_, "/mcp", mcp_headers(session)).status == 200);
    auto after = connection.post(call(4, "echo"), mcp_headers(session));
    CHECK(after.status == 404);
    CHECK(after.json()["error"]["code"] == -32600);
    CHECK(gateway.process.log_once("ended: the client deleted it").find("ended: the client deleted it") !=
          std::string::npos);
}

TEST_CASE("http: bad requests get the status the spec names and the gateway serves on") {
    HttpGateway gateway("status");
    const std::string session = gateway.open_session();
    auto connection = gateway.connect();
    const auto echo = call(5, "echo", {{"text", "x"}});

    SECTION("no session header on a request other than initialize: 400") {
        auto answer = connection.post(echo, mcp_headers());
        CHECK(answer.status == 400);
        CHECK(answer.json()["error"]["message"].get<std::string>().find("Mcp-Session-Id") != std::string::npos);
    }
    SECTION("an unknown session: 404") {
        CHECK(connection.post(echo, mcp_headers(std::string(32, 'a'))).status == 404);
    }
    SECTION("not JSON: 400 with a parse error") {
        auto answer = connection.post("{not json", mcp_headers(session));
        CHECK(answer.status == 400);
        CHECK(answer.json()["error"]["code"] == -32700);
    }
    SECTION("a NUL byte after a valid message: 400, nothing forwarded") {
        auto answer = connection.post(echo + std::string(1, '\0') + R"({"text":"smuggled"})", mcp_headers(session));
        CHECK(answer.status == 400);
    }
    SECTION("a POST that does not accept event streams: 406") {
        CHECK(connection
                  .post(echo, {{"Content-Type", "application/json"},
                               {"Accept", "application/json"},
                               {"Mcp-Session-Id", session}})
                  .status == 406);
    }
    SECTION("a GET that does not accept event streams: 406") {
        CHECK(connection.request(verb::get, "/mcp", {{"Accept", "application/json"}, {"Mcp-Session-Id", session}})
                  .status == 406);
    }
    SECTION("a body that is not JSON by its type: 415") {
        CHECK(connection
                  .post(echo, {{"Content-Type", "text/plain"},
                               {"Accept", "application/json, text/event-stream"},
                               {"Mcp-Session-Id", session}})
                  .status == 415);
    }
    SECTION("an unsupported MCP-Protocol-Version: 400") {
        auto answer = connection.post(echo, mcp_headers(session, "1999-01-01"));
        CHECK(answer.status == 400);
        CHECK(answer.json()["error"]["message"].get<std::string>().find("1999-01-01") != std::string::npos);
    }
    SECTION("another method: 405 with Allow") {
        auto answer = connection.request(verb::put, "/mcp", mcp_headers(session), echo);
        CHECK(answer.status == 405);
        CHECK(answer.header("allow") == "GET, POST, DELETE");
    }
    SECTION("another path: 404") { CHECK(connection.post(echo, mcp_headers(session), "/elsewhere").status == 404); }
    SECTION("malformed HTTP: 400 and the connection closes") {
        connection.write_raw("GARBAGE\r\n\r\n");
        CHECK(connection.read_raw().starts_with("HTTP/1.1 400"));
    }
    // Whatever came before, the session still works.
    auto fresh = gateway.connect();
    auto answer = fresh.post(echo, mcp_headers(session));
    CHECK(answer.status == 200);
    CHECK(text_of(answer.json()) == "x");
}

TEST_CASE("http: DNS-rebinding protection refuses a foreign Origin or Host with 403") {
    HttpGateway gateway("rebinding");
    auto connection = gateway.connect();
    auto headers = mcp_headers({}, {});
    auto with = [&](Headers extra) {
        Headers all = headers;
        all.insert(all.end(), extra.begin(), extra.end());
        return connection.post(initialize_body(), all).status;
    };
    CHECK(with({{"Host", "evil.example.com"}, {"Origin", "http://evil.example.com"}}) == 403);
    CHECK(with({{"Origin", "http://evil.example.com"}}) == 403);
    CHECK(with({{"Host", "evil.example.com"}}) == 403);
    CHECK(with({{"Origin", "null"}}) == 403);
    CHECK(with({{"Host", "localhost:" + std::to_string(gateway.port)},
                {"Origin", "http://localhost:" + std::to_string(gateway.port)}}) == 200);
    CHECK(with({}) == 200);  // no Origin: not a browser
}

TEST_CASE("http: allowed_hosts and allowed_origins replace the loopback defaults") {
    HttpGateway gateway("allowed",
                        ", allowed_hosts: [mcp.example.com], allowed_origins: [\"https://app.example.com\"]");
    auto connection = gateway.connect();
    auto status = [&](Headers extra) {
        Headers all = mcp_headers({}, {});
        all.insert(all.end(), extra.begin(), extra.end());
        return connection.post(initialize_body(), all).status;
    };
    CHECK(status({{"Host", "mcp.example.com:443"}, {"Origin", "https://app.example.com"}}) == 200);
    CHECK(status({{"Host", "mcp.example.com"}, {"Origin", "http://localhost"}}) == 403);
    CHECK(status({{"Host", "127.0.0.1"}}) == 403);
}

TEST_CASE("http: bearer tokens: 401 with the metadata address and then the token's own sessions only") {
    ::setenv("WATCHGATE_HTTP_TEST_TOKEN", "a-test-token-of-enough-length", 1);
    const std::string second = "another-token-for-the-second-client";
    HttpGateway gateway("bearer",
                        ", auth: {type: bearer, tokens: [{env: WATCHGATE_HTTP_TEST_TOKEN, subject: alice}, "
                        "{sha256: " +
                            core::sha256_hex(second) + ", subject: bob}]}");
    auto connection = gateway.connect();

    auto missing = connection.post(initialize_body(), mcp_headers({}, {}));
    CHECK(missing.status == 401);
    CHECK(missing.header("www-authenticate") ==
          "Bearer resource_metadata=\"http://127.0.0.1:" + std::to_string(gateway.port) +
              "/.well-known/oauth-protected-resource/mcp\"");

    auto headers = mcp_headers({}, {});
    headers.emplace_back("Authorization", "Bearer wrong-token-of-enough-length");
    auto wrong = connection.post(initialize_body(), headers);
    CHECK(wrong.status == 401);
    CHECK(wrong.header("www-authenticate").find("error=\"invalid_token\"") != std::string::npos);

    auto metadata = connection.request(verb::get, "/.well-known/oauth-protected-resource/mcp");
    CHECK(metadata.status == 200);
    CHECK(metadata.json()["resource"] == "http://127.0.0.1:" + std::to_string(gateway.port) + "/mcp");

    headers.back().second = "Bearer a-test-token-of-enough-length";
    auto alice = connection.post(initialize_body(), headers);
    REQUIRE(alice.status == 200);
    const std::string session = alice.header("mcp-session-id");
    CHECK(gateway.process.log_once("(alice)").find("(alice)") != std::string::npos);

    // Bob's valid token does not open Alice's session.
    auto bob_headers = mcp_headers(session);
    bob_headers.emplace_back("Authorization", "Bearer " + second);
    CHECK(connection.post(call(2, "echo", {{"text", "hi"}}), bob_headers).status == 404);
    auto alice_headers = mcp_headers(session);
    alice_headers.emplace_back("Authorization", "Bearer a-test-token-of-enough-length");
    auto echoed = connection.post(call(2, "echo", {{"text", "hi"}}), alice_headers);
    CHECK(echoed.status == 200);
    CHECK(text_of(echoed.json()) == "hi");
}

TEST_CASE("http: progress and a server request go on the request's stream before its answer") {
    HttpGateway gateway("stream");
    const std::string session = gateway.open_session();
    auto connection = gateway.connect();

    SECTION("progress") {
        auto head =
            connection.open(verb::post, "/mcp", mcp_headers(session), call(7, "progress", {{"steps", 3}}, "tok"));
        REQUIRE(head.status == 200);
        CHECK(head.header("content-type") == "text/event-stream");
        std::vector<nlohmann::json> messages;
        while (auto message = connection.next_message()) messages.push_back(*message);
        REQUIRE(messages.size() == 4);
        for (int i = 0; i < 3; ++i) {
            CHECK(messages[i]["method"] == "notifications/progress");
            CHECK(messages[i]["params"]["progressToken"] == "tok");  // the client's own token back
            CHECK(messages[i]["params"]["progress"] == i + 1);
        }
        CHECK(messages[3]["id"] == 7);
        CHECK(text_of(messages[3]) == "done in 3 steps");
    }
    SECTION("sampling asked during a call, answered by a POST") {
        auto head = connection.open(verb::post, "/mcp", mcp_headers(session), call(8, "ask_client"));
        REQUIRE(head.status == 200);
        auto asked = connection.next_message();
        REQUIRE(asked);
        CHECK((*asked)["method"] == "sampling/createMessage");
        auto other = gateway.connect();
        nlohmann::json reply = {
            {"jsonrpc", "2.0"},
            {"id", (*asked)["id"]},
            {"result",
             {{"role", "assistant"}, {"content", {{"type", "text"}, {"text", "hello over http"}}}, {"model", "m"}}}};
        CHECK(other.post(reply.dump(), mcp_headers(session)).status == 202);
        auto answer = connection.next_message();
        REQUIRE(answer);
        CHECK((*answer)["id"] == 8);
        CHECK(text_of(*answer) == "client said: hello over http");
        CHECK(connection.stream_ended());
    }
}

TEST_CASE("http: a broken stream resumes on a GET with Last-Event-ID") {
    HttpGateway gateway("resume");
    const std::string session = gateway.open_session();
    std::string priming_id;
    nlohmann::json asked;
    {
        auto connection = gateway.connect();
        auto head = connection.open(verb::post, "/mcp", mcp_headers(session), call(9, "ask_client"));
        REQUIRE(head.status == 200);
        auto priming = connection.next_event();
        REQUIRE(priming);
        CHECK(priming->data.empty());
        priming_id = priming->id;
        CHECK(!priming_id.empty());
        auto event = connection.next_event();
        REQUIRE(event);
        asked = nlohmann::json::parse(event->data);
        connection.close();  // the connection breaks; the request goes on
    }
    auto resumed = gateway.connect();
    auto headers = mcp_headers(session);
    headers.emplace_back("Last-Event-ID", priming_id);
    auto head = resumed.open(verb::get, "/mcp", headers);
    REQUIRE(head.status == 200);
    // What came after the priming event comes again, then the rest.
    auto again = resumed.next_message();
    REQUIRE(again);
    CHECK(*again == asked);
    nlohmann::json reply = {
        {"jsonrpc", "2.0"},
        {"id", asked["id"]},
        {"result", {{"role", "assistant"}, {"content", {{"type", "text"}, {"text", "resumed"}}}, {"model", "m"}}}};
    CHECK(gateway.connect().post(reply.dump(), mcp_headers(session)).status == 202);
    auto answer = resumed.next_message();
    REQUIRE(answer);
    CHECK((*answer)["id"] == 9);
    CHECK(text_of(*answer) == "client said: resumed");
}

TEST_CASE("http: the GET stream carries what relates to no request until a new GET takes it over") {
    HttpGateway gateway("listen");
    const std::string session = gateway.open_session();
    auto listener = gateway.connect();
    auto head = listener.open(verb::get, "/mcp", {{"Accept", "text/event-stream"}, {"Mcp-Session-Id", session}});
    REQUIRE(head.status == 200);
    CHECK(head.header("content-type") == "text/event-stream");
    auto connection = gateway.connect();
    auto answer = connection.post(call(3, "notify"), mcp_headers(session));
    CHECK(text_of(answer.json()) == "notified");
    std::set<std::string> methods;
    while (methods.size() < 3) {
        auto message = listener.next_message();
        REQUIRE(message);
        CHECK(!message->contains("id"));  // never an answer on the listen stream
        methods.insert((*message)["method"].get<std::string>());
    }
    CHECK(methods == std::set<std::string>{"notifications/resources/updated", "notifications/message",
                                           "notifications/tools/list_changed"});

    auto second = gateway.connect();
    REQUIRE(second.open(verb::get, "/mcp", {{"Accept", "text/event-stream"}, {"Mcp-Session-Id", session}}).status ==
            200);
    CHECK(listener.stream_ended());  // the first one's stream ends: each message goes to one stream
    connection.post(call(4, "notify"), mcp_headers(session));
    auto message = second.next_message();
    REQUIRE(message);
    CHECK(message->contains("method"));
}

TEST_CASE("http: sessions are apart: the same ids at once are each answered in their own session") {
    HttpGateway gateway("apart");
    std::vector<std::string> sessions;
    for (int i = 0; i < 8; ++i) sessions.push_back(gateway.open_session());
    std::vector<std::future<nlohmann::json>> answers;
    for (int i = 0; i < 8; ++i)
        answers.push_back(std::async(std::launch::async, [&, i] {
            auto connection = gateway.connect();
            // A slow call first, so the calls overlap under the same id 1.
            return connection
                .post(call(1, "sleep", {{"ms", 100 + 20 * (7 - i)}}),
                      mcp_headers(sessions[static_cast<std::size_t>(i)]))
                .json();
        }));
    for (int i = 0; i < 8; ++i) {
        auto answer = answers[static_cast<std::size_t>(i)].get();
        CHECK(answer["id"] == 1);
        CHECK(text_of(answer) == "slept " + std::to_string(100 + 20 * (7 - i)) + " ms");
    }
}

TEST_CASE("http: a second request under an id still in flight is refused and the first is answered") {
    HttpGateway gateway("duplicate");
    const std::string session = gateway.open_session();
    auto slow = std::async(std::launch::async, [&] {
        return gateway.connect().post(call(5, "sleep", {{"ms", 500}}), mcp_headers(session)).json();
    });
    std::this_thread::sleep_for(150ms);
    auto duplicate = gateway.connect().post(call(5, "echo", {{"text", "again"}}), mcp_headers(session));
    CHECK(duplicate.json()["error"]["code"] == -32600);
    CHECK(duplicate.json()["id"] == 5);
    CHECK(text_of(slow.get()) == "slept 500 ms");
}

TEST_CASE("http: limits: body size 413 and header size 431 and sessions 503") {
    HttpGateway gateway("limits", ", max_request_body_mb: 1, max_header_size_kb: 4, max_sessions: 2");
    const std::string session = gateway.open_session();
    auto connection = gateway.connect();

    auto big = connection.post(call(2, "echo", {{"text", std::string(1u << 20, 'b')}}), mcp_headers(session));
    CHECK(big.status == 413);
    CHECK(big.json()["error"]["message"].get<std::string>().find("max_request_body_mb") != std::string::npos);

    auto again = gateway.connect();
    auto headers = mcp_headers(session);
    headers.emplace_back("X-Padding", std::string(5000, 'p'));
    CHECK(again.post(call(3, "echo"), headers).status == 431);

    const std::string second = gateway.open_session();
    auto third = gateway.connect().post(initialize_body(), mcp_headers({}, {}));
    CHECK(third.status == 503);
    CHECK(third.json()["error"]["message"].get<std::string>().find("max_sessions") != std::string::npos);
    CHECK(gateway.connect().request(verb::delete_, "/mcp", mcp_headers(second)).status == 200);
    CHECK(gateway.connect().post(initialize_body(), mcp_headers({}, {})).status == 200);  // room again
}

TEST_CASE("http: a session idle for session_idle_timeout ends") {
    HttpGateway gateway("idle", ", session_idle_timeout: 0.4");
    const std::string session = gateway.open_session();
    CHECK(gateway.connect().post(call(2, "echo"), mcp_headers(session)).status == 200);
    CHECK(gateway.process.log_once("ended: idle for 400 ms", 10s).find("ended: idle for 400 ms") != std::string::npos);
    CHECK(gateway.connect().post(call(3, "echo"), mcp_headers(session)).status == 404);
}

TEST_CASE("http: a client that does not read its answer is cut off while the others are served") {
    HttpGateway gateway("slow-reader", "", "  stall_timeout: 0.5\n  queue_limit_mb: 1\n");
    const std::string slow_session = gateway.open_session();
    const std::string other_session = gateway.open_session();
    auto slow = gateway.connect();
    slow.shrink_receive_buffer(4096);
    // 16 MiB it never reads.
    slow.open(verb::post, "/mcp", mcp_headers(slow_session), call(2, "big", {{"bytes", 16 << 20}}));
    auto log = gateway.process.log_once("took nothing", 10s);
    CHECK(log.find("took nothing") != std::string::npos);
    auto answer = gateway.connect().post(call(3, "echo", {{"text", "still here"}}), mcp_headers(other_session));
    CHECK(text_of(answer.json()) == "still here");
}

TEST_CASE("http: a client slow to read a big answer holds up no other session and still gets all of it") {
    // The stall timeout is long: were the shared upstream's output paused for the slow client,
    // the other session's answers would wait for it.
    HttpGateway gateway("slow-not-blocking", "", "  stall_timeout: 30\n  queue_limit_mb: 1\n");
    const std::string slow_session = gateway.open_session();
    const std::string other_session = gateway.open_session();
    // 24 MiB: more than the sockets' buffers hold, so well over a MiB waits in the gateway while
    // the client reads nothing; afterwards it reads at full speed.
    HttpConnection slow(gateway.port, 30s);  // its head waits for 24 MiB to be made (slow under sanitizers)
    constexpr std::size_t big = 24u << 20;
    auto head = slow.open(verb::post, "/mcp", mcp_headers(slow_session), call(2, "big", {{"bytes", big}}));
    REQUIRE(head.status == 200);
    HttpConnection other(gateway.port, 5s);
    const auto asked = std::chrono::steady_clock::now();
    for (int id = 3; id < 6; ++id)
        CHECK(text_of(other.post(call(id, "echo", {{"text", "still here"}}), mcp_headers(other_session)).json()) ==
              "still here");
    CHECK(std::chrono::steady_clock::now() - asked < 5s);
    // Not cut off: a slow reader is not a stalled one, and its answer is whole.
    const std::string body = slow.finish();
    const auto answer = nlohmann::json::parse(body, nullptr, false);
    const std::size_t received = answer.is_discarded() ? 0 : text_of(answer).size();
    INFO("body bytes: " << body.size() << ", starting " << body.substr(0, 200));
    CHECK(received == big);
    CHECK(text_of(other.post(call(6, "echo", {{"text", "and on"}}), mcp_headers(other_session)).json()) == "and on");
}

TEST_CASE("http: a client alone paces its upstream until a second client comes and is not held up") {
    // Held, the second client would wait for the stall timeout (60 s); not held, it waits for the
    // rest of the first one's progress to pass (a few MB: seconds under the sanitizers).
    HttpGateway gateway("lone-then-shared", "", "  stall_timeout: 60\n  queue_limit_mb: 1\n");
    const std::string first = gateway.open_session();
    // Progress it never reads: its queue fills, and its upstream, which feeds it alone, waits.
    HttpConnection unread(gateway.port, 30s);
    unread.shrink_receive_buffer(4096);
    REQUIRE(unread.open(verb::post, "/mcp", mcp_headers(first), call(2, "progress", {{"steps", 50000}}, "t")).status ==
            200);
    std::this_thread::sleep_for(3s);  // time to fill its queue (500 ms is not enough in a debug build)
    // A second client: the upstream stops waiting for the first.
    const std::string second = gateway.open_session();
    HttpConnection other(gateway.port, 40s);
    const auto asked = std::chrono::steady_clock::now();
    CHECK(text_of(other.post(call(3, "echo", {{"text", "not held"}}), mcp_headers(second)).json()) == "not held");
    CHECK(std::chrono::steady_clock::now() - asked < 30s);
}

TEST_CASE("http: a client that falls behind a shared upstream for good is cut off and the others go on") {
    // Its bound: queue_limit_mb + max_message_size_mb = 2 MiB, passed by progress it never reads.
    HttpGateway gateway("fell-behind", "", "  stall_timeout: 30\n  queue_limit_mb: 1\n  max_message_size_mb: 1\n");
    const std::string slow_session = gateway.open_session();
    const std::string other_session = gateway.open_session();
    HttpConnection slow(gateway.port, 30s);
    slow.shrink_receive_buffer(4096);  // the sockets hold little of it
    REQUIRE(slow.open(verb::post, "/mcp", mcp_headers(slow_session), call(2, "progress", {{"steps", 100000}}, "t"))
                .status == 200);
    const std::string ended = "its client fell behind";
    CHECK_THAT(gateway.process.log_once(ended, 20s), Catch::Contains(ended));
    CHECK(gateway.connect().post(call(3, "echo"), mcp_headers(slow_session)).status == 404);
    CHECK(text_of(gateway.connect().post(call(4, "echo", {{"text", "and on"}}), mcp_headers(other_session)).json()) ==
          "and on");
}

TEST_CASE("http: the old HTTP+SSE transport: an endpoint event and POSTs answered on the stream") {
    HttpGateway gateway("legacy");
    auto stream = gateway.connect();
    auto head = stream.open(verb::get, "/sse", {{"Accept", "text/event-stream"}});
    REQUIRE(head.status == 200);
    auto endpoint = stream.next_event();
    REQUIRE(endpoint);
    CHECK(endpoint->event == "endpoint");
    REQUIRE(endpoint->data.starts_with("/sse/messages?sessionId="));
    auto poster = gateway.connect();
    CHECK(poster.post(initialize_body(), {{"Content-Type", "application/json"}}, endpoint->data).status == 202);
    auto initialized = stream.next_message();
    REQUIRE(initialized);
    CHECK((*initialized)["result"]["serverInfo"]["name"] == "watchgate");
    CHECK(poster.post(call(2, "echo", {{"text", "old client"}}), {{"Content-Type", "application/json"}}, endpoint->data)
              .status == 202);
    auto answer = stream.next_message();
    REQUIRE(answer);
    CHECK(text_of(*answer) == "old client");
    // Its session is not one of the Streamable HTTP endpoint's.
    const std::string token = endpoint->data.substr(endpoint->data.find('=') + 1);
    CHECK(poster.post(call(3, "echo"), mcp_headers(token)).status == 404);
    stream.close();
    CHECK(gateway.process.log_once("its HTTP+SSE stream closed", 20s).find("its HTTP+SSE stream closed") !=
          std::string::npos);
}

TEST_CASE("http: configuration errors name the key and what was expected") {
    auto errors = [](const std::string& proxy) {
        return load_errors("proxy:\n" + proxy + "  upstreams:\n    - name: a\n      command: [x]\n");
    };
    CHECK(errors("  http: {port: 1}\n").find("'http:' is read only with 'transport: http'") != std::string::npos);
    CHECK(errors("  transport: htp\n").find("expected stdio or http") != std::string::npos);
    CHECK(errors("  transport: http\n  http: {path: mcp}\n").find("starting with '/'") != std::string::npos);
    CHECK(errors("  transport: http\n  http: {port: 70000}\n").find("from 0 to 65535") != std::string::npos);
    CHECK(errors("  transport: http\n  http: {auth: {type: bearer}}\n").find("needs 'tokens:'") != std::string::npos);
    CHECK(
        errors("  transport: http\n  http: {auth: {type: bearer, tokens: [{sha256: abc}]}}\n").find("64 hex digits") !=
        std::string::npos);
    CHECK(errors("  transport: http\n  http: {auth: {type: bearer, tokens: [{env: WATCHGATE_UNSET_VARIABLE}]}}\n")
              .find("WATCHGATE_UNSET_VARIABLE is not set") != std::string::npos);
    CHECK(errors("  transport: http\n  http: {prot: 1}\n").find("did you mean 'port'") != std::string::npos);
    const auto jwt = [&](const std::string& rest) {
        return errors("  transport: http\n  http: {auth: {type: jwt" + rest + "}}\n");
    };
    CHECK(jwt(", audience: a, jwks_file: k").find("needs 'issuer:'") != std::string::npos);
    CHECK(jwt(", issuer: i, audience: a").find("needs 'jwks_file:'") != std::string::npos);
    CHECK(jwt(", issuer: i, audience: a, jwks_file: /nonexistent/jwks.json")
              .find("the key file /nonexistent/jwks.json is missing") != std::string::npos);
    CHECK(jwt(", issuer: i, audience: a, jwks_file: /etc/hostname").find("/etc/hostname: expected a JWKS document") !=
          std::string::npos);
    CHECK(jwt(", issuer: i, audience: a, public_key_file: /etc/hostname").find("no \"PUBLIC KEY\" PEM block") !=
          std::string::npos);
    CHECK(jwt(", algorithms: [HS256]").find("unknown algorithm 'HS256': expected RS256, ES256 or EdDSA") !=
          std::string::npos);
    CHECK(load_errors("proxy:\n  transport: http\n  http: {auth: {type: bearer, tool_scopes: {sleep: [x]}, tokens: "
                      "[{sha256: " +
                      std::string(64, 'a') +
                      "}]}}\n  upstreams:\n    - {name: a, command: [x]}\n    - {name: b, command: [x]}\n")
              .find("tool_scopes: 'sleep' names no upstream") != std::string::npos);
    CHECK(errors("  transport: http\n  http: {auth: {required_scopes: [mcp]}}\n").find("scopes need authentication") !=
          std::string::npos);
    CHECK(errors("  transport: http\n  http: {auth: {type: bearer, issuer: i, tokens: [{sha256: " +
                 std::string(64, 'a') + "}]}}\n")
              .find("'issuer:' is read only with 'type: jwt'") != std::string::npos);
    CHECK(
        errors("  transport: http\n  http: {tls: {cert_file: /nonexistent/cert.pem, key_file: /nonexistent/key.pem}}\n")
            .find("no such file: /nonexistent/cert.pem") != std::string::npos);
    CHECK(errors("  transport: http\n  http: {tls: {cert_file: /etc/hostname}}\n").find("'tls:' needs 'key_file:'") !=
          std::string::npos);
}

TEST_CASE("http: an address in use is a clear error and exit status 1") {
    HttpGateway first("in-use-first");
    GatewayProcess second(scratch_dir("http-in-use-second"),
                          "proxy:\n  transport: http\n  http: {port: " + std::to_string(first.port) +
                              "}\n  upstreams:\n    - name: notes\n      command: [\"" WATCHGATE_TEST_SERVER "\"]\n");
    CHECK(second.wait_exit(10s) == 1);
    CHECK(second.log().find("cannot listen on 127.0.0.1:" + std::to_string(first.port)) != std::string::npos);
}

TEST_CASE("http: at max_client_requests a session's next request waits for a free place") {
    HttpGateway gateway("in-flight", "", "  max_client_requests: 2\n");
    const std::string session = gateway.open_session();
    const auto started = std::chrono::steady_clock::now();
    std::vector<std::future<nlohmann::json>> answers;
    for (int i = 1; i <= 3; ++i) {
        answers.push_back(std::async(std::launch::async, [&, i] {
            return gateway.connect().post(call(i, "sleep", {{"ms", 400}}), mcp_headers(session)).json();
        }));
        std::this_thread::sleep_for(50ms);  // in this order
    }
    for (auto& answer : answers) CHECK(text_of(answer.get()) == "slept 400 ms");
    // Two at once, the third after one of them: never all three together.
    CHECK(std::chrono::steady_clock::now() - started >= 800ms);
}

TEST_CASE("http: audit records name the session, the transport, the client's address and the subject") {
    ::setenv("WATCHGATE_HTTP_AUDIT_TOKEN", "an-audited-token-of-enough-length", 1);
    HttpGateway gateway("audit", ", auth: {type: bearer, tokens: [{env: WATCHGATE_HTTP_AUDIT_TOKEN, subject: carol}]}",
                        "",
                        "plugins:\n  auditing:\n    _global:\n      - handler: audit_jsonl\n"
                        "        config: {output_file: audit.jsonl}\n");
    auto connection = gateway.connect();
    auto headers = mcp_headers({}, {});
    headers.emplace_back("Authorization", "Bearer an-audited-token-of-enough-length");
    auto opened = connection.post(initialize_body(), headers);
    REQUIRE(opened.status == 200);
    const std::string session = opened.header("mcp-session-id");
    auto call_headers = mcp_headers(session);
    call_headers.emplace_back("Authorization", "Bearer an-audited-token-of-enough-length");
    CHECK(text_of(connection.post(call(2, "echo", {{"text", "audited"}}), call_headers).json()) == "audited");

    const auto trail = gateway.dir / "audit.jsonl";
    std::vector<nlohmann::json> records;
    for (int attempt = 0; attempt < 200 && records.size() < 2; ++attempt) {
        std::this_thread::sleep_for(25ms);
        records.clear();
        std::istringstream lines(read_file(trail));
        for (std::string line; std::getline(lines, line);) {
            auto record = nlohmann::json::parse(line, nullptr, false);
            if (record.value("tool", "") == "echo") records.push_back(record);
        }
    }
    REQUIRE(records.size() == 2);  // the request and its response
    for (const auto& record : records) {
        CHECK(record["session_id"] == session.substr(0, 8));  // never the whole id: it is a credential
        CHECK(record["transport"] == "http");
        CHECK(record["client_address"].get<std::string>().starts_with("127.0.0.1:"));
        CHECK(record["subject"] == "carol");
    }
}

TEST_CASE("http: a TLS key that does not belong to its certificate is a clear error and exit status 1") {
    const auto dir = scratch_dir("http-tls-mismatch");
    for (const std::string name : {"a", "b"})
        REQUIRE(
            std::system(("openssl req -x509 -newkey rsa:2048 -nodes -keyout '" + (dir / (name + ".key")).string() +
                         "' -out '" + (dir / (name + ".pem")).string() + "' -days 1 -subj /CN=localhost 2>/dev/null")
                            .c_str()) == 0);
    GatewayProcess gateway(dir,
                           "proxy:\n  transport: http\n  http: {port: 0, tls: {cert_file: a.pem, key_file: b.key}}\n"
                           "  upstreams:\n    - name: notes\n      command: [\"" WATCHGATE_TEST_SERVER "\"]\n");
    CHECK(gateway.wait_exit(10s) == 1);
    CHECK(gateway.log().find("tls.key_file " + (dir / "b.key").string() + " does not belong to tls.cert_file") !=
          std::string::npos);
}

TEST_CASE("http: a session whose initialize failed ends at once") {
    GatewayProcess gateway(scratch_dir("http-initialize-failed"),
                           "proxy:\n  transport: http\n  http: {port: 0}\n  timeouts: {connection_timeout: 2}\n"
                           "  upstreams:\n    - name: gone\n      command: [/nonexistent/server]\n"
                           "      restart_on_failure: false\n");
    const auto port = listening_port(gateway.log_once("listening on http://", 10s));
    REQUIRE(port != 0);
    HttpConnection connection(port);
    auto answer = connection.post(initialize_body(), mcp_headers({}, {}));
    CHECK(answer.json()["error"]["message"].get<std::string>().find("no upstream could be initialized") !=
          std::string::npos);
    const std::string session = answer.header("mcp-session-id");
    REQUIRE(!session.empty());
    CHECK(gateway.log_once("ended: its initialize failed").find("ended: its initialize failed") != std::string::npos);
    CHECK(HttpConnection(port).post(call(2, "echo"), mcp_headers(session)).status == 404);
}

namespace {

// A stateless-era (2026-07-28) request and the headers that mirror it.
nlohmann::json stateless_request(const nlohmann::json& id, const std::string& method, nlohmann::json params = {}) {
    if (params.is_null()) params = nlohmann::json::object();
    params["_meta"] = {{"io.modelcontextprotocol/protocolVersion", "2026-07-28"},
                       {"io.modelcontextprotocol/clientInfo", {{"name", "http-stateless"}, {"version", "1"}}},
                       {"io.modelcontextprotocol/clientCapabilities", nlohmann::json::object()}};
    return {{"jsonrpc", "2.0"}, {"id", id}, {"method", method}, {"params", std::move(params)}};
}
Headers stateless_headers(const std::string& method, const std::string& name = {}) {
    Headers headers = mcp_headers({}, "2026-07-28");
    headers.emplace_back("Mcp-Method", method);
    if (!name.empty()) headers.emplace_back("Mcp-Name", name);
    return headers;
}

}  // namespace

TEST_CASE("http: a stateless request is served without a session and its headers must match its body") {
    HttpGateway gateway("stateless");
    auto connection = gateway.connect();
    const auto echo = stateless_request(1, "tools/call", {{"name", "echo"}, {"arguments", {{"text", "no session"}}}});
    auto answer = connection.post(echo.dump(), stateless_headers("tools/call", "echo"));
    CHECK(answer.status == 200);
    CHECK(answer.header("mcp-session-id").empty());  // the era has none
    CHECK(text_of(answer.json()) == "no session");
    CHECK(answer.json()["result"]["resultType"] == "complete");
    // Mcp-Name may come Base64-encoded.
    auto encoded = connection.post(echo.dump(), stateless_headers("tools/call", "=?base64?ZWNobw==?="));
    CHECK(text_of(encoded.json()) == "no session");
    auto discover =
        connection.post(stateless_request(2, "server/discover").dump(), stateless_headers("server/discover"));
    CHECK(discover.json()["result"]["supportedVersions"][0] == "2026-07-28");
    // A method nobody has: the era's 404, with the -32601 answer.
    auto unknown = connection.post(stateless_request(3, "tools/unknown").dump(), stateless_headers("tools/unknown"));
    CHECK(unknown.status == 404);
    CHECK(unknown.json()["error"]["code"] == -32601);
    CHECK(unknown.json()["id"] == 3);

    SECTION("a header that disagrees with the body: 400 and -32020") {
        for (const auto& headers : {stateless_headers("tools/call", "other"), stateless_headers("tools/list", "echo"),
                                    stateless_headers("tools/call"), mcp_headers({}, "2026-07-28")}) {
            auto refused = connection.post(echo.dump(), headers);
            CHECK(refused.status == 400);
            CHECK(refused.json()["error"]["code"] == -32020);
            CHECK(refused.json()["id"] == 1);
        }
        Headers no_version = {{"Content-Type", "application/json"},
                              {"Accept", "application/json, text/event-stream"},
                              {"Mcp-Method", "tools/call"},
                              {"Mcp-Name", "echo"}};
        CHECK(connection.post(echo.dump(), no_version).json()["error"]["code"] == -32020);
    }
    SECTION("a version the gateway does not speak: 400 and -32022 with the supported list") {
        auto odd = echo;
        odd["params"]["_meta"]["io.modelcontextprotocol/protocolVersion"] = "2030-01-01";
        auto refused = connection.post(odd.dump(), mcp_headers({}, "2030-01-01"));
        CHECK(refused.status == 400);
        CHECK(refused.json()["error"]["code"] == -32022);
        CHECK(refused.json()["error"]["data"]["supported"][0] == "2026-07-28");
    }
}

TEST_CASE("http: a stateless client that closes its stream cancels its request") {
    HttpGateway gateway("stateless-cancel");
    {
        auto connection = gateway.connect();
        auto sleep = stateless_request("slow", "tools/call", {{"name", "sleep"}, {"arguments", {{"ms", 5000}}}});
        std::string head =
            "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: " + std::to_string(sleep.dump().size()) + "\r\n";
        for (const auto& [name, value] : stateless_headers("tools/call", "sleep")) head += name + ": " + value + "\r\n";
        connection.write_raw(head + "\r\n" + sleep.dump());
        std::this_thread::sleep_for(300ms);
    }  // closed before the answer (5 s away)
    std::string cancelled;
    auto connection = gateway.connect();
    for (int attempt = 0; attempt < 50 && cancelled.find("\"") == std::string::npos; ++attempt) {
        std::this_thread::sleep_for(50ms);
        auto answer = connection.post(
            stateless_request(attempt, "tools/call", {{"name", "cancelled"}, {"arguments", nlohmann::json::object()}})
                .dump(),
            stateless_headers("tools/call", "cancelled"));
        cancelled = text_of(answer.json());
    }
    CHECK(cancelled != "[]");  // the upstream was told: the request it had is cancelled
}

TEST_CASE("http: a stateless subscriptions/listen streams its acknowledgment and tagged notifications") {
    HttpGateway gateway("stateless-listen");
    auto listener = gateway.connect();
    auto listen = stateless_request("L", "subscriptions/listen", {{"notifications", {{"toolsListChanged", true}}}});
    auto head = listener.open(verb::post, "/mcp", stateless_headers("subscriptions/listen"), listen.dump());
    REQUIRE(head.status == 200);
    CHECK(head.header("content-type") == "text/event-stream");
    auto ack = listener.next_message();
    REQUIRE(ack);
    CHECK((*ack)["method"] == "notifications/subscriptions/acknowledged");
    CHECK((*ack)["params"]["_meta"]["io.modelcontextprotocol/subscriptionId"] == "L");
    auto other = gateway.connect();
    other.post(stateless_request(1, "tools/call", {{"name", "notify"}, {"arguments", nlohmann::json::object()}}).dump(),
               stateless_headers("tools/call", "notify"));
    auto changed = listener.next_message();
    REQUIRE(changed);
    CHECK((*changed)["method"] == "notifications/tools/list_changed");
    CHECK((*changed)["params"]["_meta"]["io.modelcontextprotocol/subscriptionId"] == "L");
}

TEST_CASE("http: a stateless request a session-era upstream asks twice continues over three POSTs") {
    HttpGateway gateway("stateless-mrtr");
    auto connection = gateway.connect();
    auto call = stateless_request(1, "tools/call", {{"name", "ask_client"}, {"arguments", {{"times", 2}}}});
    call["params"]["_meta"]["io.modelcontextprotocol/clientCapabilities"] = {{"sampling", nlohmann::json::object()}};
    const auto headers = stateless_headers("tools/call", "ask_client");
    auto first = connection.post(call.dump(), headers).json();
    REQUIRE(first["result"]["resultType"] == "input_required");
    std::string key = first["result"]["inputRequests"].begin().key();
    std::string said;
    for (const std::string text : {"one", "two"}) {
        auto retry = call;
        retry["id"] = text;
        retry["params"]["requestState"] = first["result"]["requestState"];
        retry["params"]["inputResponses"] = {
            {key, {{"role", "assistant"}, {"content", {{"type", "text"}, {"text", text}}}, {"model", "m"}}}};
        auto next = gateway.connect().post(retry.dump(), headers).json();  // a connection of its own
        if (text == "one") {
            REQUIRE(next["result"]["resultType"] == "input_required");
            key = next["result"]["inputRequests"].begin().key();
        } else {
            said = text_of(next);
        }
    }
    CHECK(said == "client said: one, two");
}

TEST_CASE("http: two stateless listens on one resource: the first to end leaves the other subscribed") {
    HttpGateway gateway("stateless-two-listens");
    const std::string uri = "test://notes/r000";
    auto listen = [&](const std::string& id) {
        return stateless_request(id, "subscriptions/listen", {{"notifications", {{"resourceSubscriptions", {uri}}}}})
            .dump();
    };
    auto first = gateway.connect();
    REQUIRE(first.open(verb::post, "/mcp", stateless_headers("subscriptions/listen"), listen("A")).status == 200);
    REQUIRE(first.next_message());
    auto second = gateway.connect();
    REQUIRE(second.open(verb::post, "/mcp", stateless_headers("subscriptions/listen"), listen("B")).status == 200);
    auto acknowledged = second.next_message();
    REQUIRE(acknowledged);
    CHECK((*acknowledged)["params"]["notifications"]["resourceSubscriptions"] == nlohmann::json({uri}));
    first.close();
    std::this_thread::sleep_for(300ms);  // the first listen ends at the gateway
    auto caller = gateway.connect();
    caller.post(
        stateless_request(1, "tools/call", {{"name", "notify"}, {"arguments", nlohmann::json::object()}}).dump(),
        stateless_headers("tools/call", "notify"));
    auto updated = second.next_message();
    REQUIRE(updated);
    CHECK((*updated)["method"] == "notifications/resources/updated");
    CHECK((*updated)["params"]["_meta"]["io.modelcontextprotocol/subscriptionId"] == "B");
    const std::string seen = text_of(
        caller
            .post(
                stateless_request(2, "tools/call", {{"name", "seen"}, {"arguments", nlohmann::json::object()}}).dump(),
                stateless_headers("tools/call", "seen"))
            .json());
    CHECK(seen.find("resources/unsubscribe") == std::string::npos);
}

TEST_CASE("http: JWT: 401 for a missing or expired or foreign token and 403 for a scope the endpoint or a tool needs") {
    const JwtSigner signer(JwtSigner::Kind::p256, "k1");
    const JwtSigner stranger(JwtSigner::Kind::p256, "k1");  // same kid, another key
    const auto keys = scratch_dir("http-jwt-keys") / "jwks.json";
    { std::ofstream(keys) << nlohmann::json{{"keys", {signer.jwk()}}}.dump(); }
    const std::string issuer = "https://auth.example.com/", resource = "https://mcp.example.com/mcp";
    HttpGateway gateway("jwt", ", auth: {type: jwt, issuer: '" + issuer + "', audience: '" + resource +
                                   "', resource: '" + resource + "', jwks_file: '" + keys.string() +
                                   "', required_scopes: [mcp], tool_scopes: {sleep: ['tools:slow']}}");
    auto connection = gateway.connect();
    auto with_token = [](Headers headers, const std::string& token) {
        headers.emplace_back("Authorization", "Bearer " + token);
        return headers;
    };
    const std::string metadata_url = "https://mcp.example.com/.well-known/oauth-protected-resource/mcp";

    auto missing = connection.post(initialize_body(), mcp_headers({}, {}));
    CHECK(missing.status == 401);
    CHECK(missing.header("www-authenticate") == "Bearer resource_metadata=\"" + metadata_url + "\", scope=\"mcp\"");
    auto metadata = connection.request(verb::get, "/.well-known/oauth-protected-resource/mcp").json();
    CHECK(metadata["resource"] == resource);
    CHECK(metadata["authorization_servers"] == nlohmann::json::array({issuer}));
    CHECK(metadata["scopes_supported"] == nlohmann::json::array({"mcp", "tools:slow"}));

    auto refused = [&](const std::string& token) {
        auto answer = connection.post(initialize_body(), with_token(mcp_headers({}, {}), token));
        CHECK(answer.status == 401);
        CHECK(answer.header("www-authenticate").find("error=\"invalid_token\"") != std::string::npos);
        return answer.header("www-authenticate");
    };
    CHECK(refused(signer.sign(JwtSigner::claims(issuer, resource, "alice", "mcp", -std::chrono::seconds(120))))
              .find("error_description=\"the token has expired\"") != std::string::npos);
    CHECK(refused(signer.sign(JwtSigner::claims(issuer, "https://other.example.com/mcp", "alice", "mcp")))
              .find("(aud)") != std::string::npos);
    CHECK(refused(stranger.sign(JwtSigner::claims(issuer, resource, "alice", "mcp"))).find("signature") !=
          std::string::npos);
    CHECK(refused("not-a-jwt-but-long-enough").find("not a JWT") != std::string::npos);

    // Valid, but without the endpoint's scope: 403, and the scope to ask for.
    auto unscoped = connection.post(
        initialize_body(), with_token(mcp_headers({}, {}), signer.sign(JwtSigner::claims(issuer, resource, "alice"))));
    CHECK(unscoped.status == 403);
    CHECK(unscoped.header("www-authenticate") ==
          "Bearer error=\"insufficient_scope\", scope=\"mcp\", resource_metadata=\"" + metadata_url + "\"");

    const std::string alice = signer.sign(JwtSigner::claims(issuer, resource, "alice", "mcp"));
    auto opened = connection.post(initialize_body(), with_token(mcp_headers({}, {}), alice));
    REQUIRE(opened.status == 200);
    const std::string session = opened.header("mcp-session-id");
    CHECK(gateway.process.log_once("(alice)").find("(alice)") != std::string::npos);
    CHECK(
        connection
            .post(R"({"jsonrpc":"2.0","method":"notifications/initialized"})", with_token(mcp_headers(session), alice))
            .status == 202);
    CHECK(text_of(
              connection.post(call(2, "echo", {{"text", "signed"}}), with_token(mcp_headers(session), alice)).json()) ==
          "signed");

    // A tool that needs more: refused with the request's id, and the scopes to ask for.
    auto slow = connection.post(call(3, "sleep", {{"ms", 1}}), with_token(mcp_headers(session), alice));
    CHECK(slow.status == 403);
    CHECK(slow.header("www-authenticate").find("scope=\"mcp tools:slow\"") != std::string::npos);
    CHECK(slow.json()["id"] == 3);
    CHECK(slow.json()["error"]["message"].get<std::string>().find("tool 'sleep' needs the scope 'tools:slow'") !=
          std::string::npos);
    // Shapes that would slip past the check are refused, and the gateway goes on.
    auto no_params =
        connection.post(R"({"jsonrpc":"2.0","id":9,"method":"tools/call"})", with_token(mcp_headers(session), alice));
    CHECK(no_params.status == 400);
    CHECK(no_params.json()["error"]["code"] == -32602);
    CHECK(connection
              .post(R"({"jsonrpc":"2.0","method":"tools/call","params":{"name":"sleep"}})",
                    with_token(mcp_headers(session), alice))
              .status == 400);
    // A stateless request is held to the same rule.
    const auto stateless_sleep = stateless_request(4, "tools/call", {{"name", "sleep"}, {"arguments", {{"ms", 1}}}});
    CHECK(connection.post(stateless_sleep.dump(), with_token(stateless_headers("tools/call", "sleep"), alice)).status ==
          403);
    // Alice comes back with the scope (a new token, the same subject): her session goes on.
    const std::string stepped_up = signer.sign(JwtSigner::claims(issuer, resource, "alice", "mcp tools:slow"));
    auto slept = connection.post(call(5, "sleep", {{"ms", 1}}), with_token(mcp_headers(session), stepped_up));
    CHECK(slept.status == 200);
    CHECK(text_of(slept.json()) == "slept 1 ms");
    // Bob's token, valid and scoped, does not open Alice's session.
    const std::string bob = signer.sign(JwtSigner::claims(issuer, resource, "bob", "mcp tools:slow"));
    CHECK(connection.post(call(6, "echo"), with_token(mcp_headers(session), bob)).status == 404);
}

TEST_CASE("http: JWT: a token accepted before is refused once it expires") {
    const JwtSigner signer(JwtSigner::Kind::ed25519);
    const auto keys = scratch_dir("http-jwt-expiry-keys") / "jwks.json";
    { std::ofstream(keys) << nlohmann::json{{"keys", {signer.jwk()}}}.dump(); }
    const std::string issuer = "https://auth.example.com/", audience = "https://mcp.example.com/mcp";
    HttpGateway gateway("jwt-expiry", ", auth: {type: jwt, leeway: 0, issuer: '" + issuer + "', audience: '" +
                                          audience + "', jwks_file: '" + keys.string() + "'}");
    const std::string token = signer.sign(JwtSigner::claims(issuer, audience, "alice", {}, std::chrono::seconds(4)));
    auto status = [&] {
        auto headers = mcp_headers({}, {});
        headers.emplace_back("Authorization", "Bearer " + token);
        return gateway.connect().post(initialize_body(), headers).status;
    };
    CHECK(status() == 200);
    CHECK(status() == 200);  // the same token again (remembered as verified)
    std::this_thread::sleep_for(5s);
    CHECK(status() == 401);
}

TEST_CASE("http: static bearer tokens carry scopes too") {
    ::setenv("WATCHGATE_HTTP_SCOPED_TOKEN", "a-scoped-token-of-enough-length", 1);
    ::setenv("WATCHGATE_HTTP_UNSCOPED_TOKEN", "an-unscoped-token-of-enough-length", 1);
    HttpGateway gateway("bearer-scopes",
                        ", auth: {type: bearer, tool_scopes: {sleep: [slow]}, tokens: ["
                        "{env: WATCHGATE_HTTP_SCOPED_TOKEN, subject: ci, scopes: [slow]}, "
                        "{env: WATCHGATE_HTTP_UNSCOPED_TOKEN, subject: intern}]}");
    auto connection = gateway.connect();
    auto sleep_as = [&](const std::string& token) {
        auto headers = mcp_headers({}, {});
        headers.emplace_back("Authorization", "Bearer " + token);
        auto opened = connection.post(initialize_body(), headers);
        REQUIRE(opened.status == 200);
        auto session_headers = mcp_headers(opened.header("mcp-session-id"));
        session_headers.emplace_back("Authorization", "Bearer " + token);
        return connection.post(call(2, "sleep", {{"ms", 1}}), session_headers).status;
    };
    CHECK(sleep_as("a-scoped-token-of-enough-length") == 200);
    CHECK(sleep_as("an-unscoped-token-of-enough-length") == 403);
}

TEST_CASE("http: JWT: a reload takes up a rotated key set") {
    const JwtSigner old_key(JwtSigner::Kind::rsa, "2026-11"), new_key(JwtSigner::Kind::ed25519, "2026-12");
    const auto keys = scratch_dir("http-jwt-rotation-keys") / "jwks.json";
    auto publish = [&](const JwtSigner& signer) {
        std::ofstream(keys, std::ios::trunc) << nlohmann::json{{"keys", {signer.jwk()}}}.dump();
    };
    publish(old_key);
    const std::string issuer = "https://auth.example.com/", audience = "https://mcp.example.com/mcp";
    HttpGateway gateway("jwt-rotation", ", auth: {type: jwt, issuer: '" + issuer + "', audience: '" + audience +
                                            "', jwks_file: '" + keys.string() + "'}");
    auto status_with = [&](const JwtSigner& signer) {
        auto headers = mcp_headers({}, {});
        headers.emplace_back("Authorization", "Bearer " + signer.sign(JwtSigner::claims(issuer, audience, "alice")));
        return gateway.connect().post(initialize_body(), headers).status;
    };
    CHECK(status_with(old_key) == 200);
    CHECK(status_with(new_key) == 401);
    publish(new_key);
    gateway.process.signal(SIGHUP);
    CHECK(gateway.process.log_once("reloaded ").find("reloaded ") != std::string::npos);
    CHECK(status_with(new_key) == 200);
    CHECK(status_with(old_key) == 401);
}
