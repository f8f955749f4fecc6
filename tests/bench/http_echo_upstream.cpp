// The cheapest Streamable HTTP MCP server we can make, as the benchmarks' baseline: one thread,
// one event loop, no JSON library (the few fields it needs are found in the bytes), no sessions,
// every answer a plain JSON body. A `sleep` is a timer, so 1,000 calls of 100 ms at once cost the
// server nothing but their sockets: what a gateway in front adds is all that shows.
//
//   watchgate_http_echo_upstream [--port N]   prints "listening on port N", then serves /mcp
//
// Tools: echo {text} (answers the text as it arrived, escapes and all), sleep {ms}, big {bytes}.
// The requests it reads are the benchmark's own: keys as nlohmann::json orders them, so the first
// "id" is the request's (a space after a colon is allowed, nothing more).
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <charconv>
#include <cstdio>
#include <string>
#include <string_view>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;

namespace {

// The text after `"key":` up to the end of its value: a number, or a string's inside (escapes kept).
std::string_view field(std::string_view body, std::string_view key) {
    const std::string needle = "\"" + std::string(key) + "\":";
    auto at = body.find(needle);
    if (at == std::string_view::npos) return {};
    at += needle.size();
    while (at < body.size() && body[at] == ' ') ++at;
    if (at < body.size() && body[at] == '"') {
        const auto start = ++at;
        while (at < body.size() && body[at] != '"') at += body[at] == '\\' ? 2 : 1;
        return body.substr(start, std::min(at, body.size()) - start);
    }
    auto end = body.find_first_of(",}", at);
    return body.substr(at, end == std::string_view::npos ? body.size() - at : end - at);
}

long number(std::string_view text) {
    long value = 0;
    std::from_chars(text.data(), text.data() + text.size(), value);
    return value;
}

std::string reply(std::string_view id, std::string_view result) {
    std::string out;
    out.reserve(40 + id.size() + result.size());
    out.append(R"({"jsonrpc":"2.0","id":)").append(id).append(R"(,"result":)").append(result).append("}");
    return out;
}

std::string text_result(std::string_view escaped_text) {
    std::string out;
    out.reserve(48 + escaped_text.size());
    out.append(R"({"content":[{"type":"text","text":")").append(escaped_text).append(R"("}]})");
    return out;
}

// The answer's body, or empty for 202 (a notification or a response). A sleep waits here.
asio::awaitable<std::string> answer(std::string_view body) {
    const auto method = field(body, "method");
    const auto id = field(body, "id");
    if (method.empty() || method.starts_with("notifications/")) co_return std::string();
    if (method == "initialize") {
        auto version = field(body, "protocolVersion");
        if (version.empty()) version = "2025-11-25";
        co_return reply(id, std::string(R"({"protocolVersion":")") + std::string(version) +
                                R"(","capabilities":{"tools":{}},"serverInfo":{"name":"echo","version":"1"}})");
    }
    if (method == "tools/list")
        co_return reply(
            id,
            R"({"tools":[{"name":"echo","inputSchema":{"type":"object"}},{"name":"sleep","inputSchema":{"type":"object"}},{"name":"big","inputSchema":{"type":"object"}}]})");
    if (method != "tools/call") co_return reply(id, "{}");
    const auto tool = field(body, "name");
    if (tool == "sleep") {
        const auto executor = co_await asio::this_coro::executor;
        asio::steady_timer timer(executor, std::chrono::milliseconds(number(field(body, "ms"))));
        co_await timer.async_wait(asio::use_awaitable);
        co_return reply(id, text_result("slept"));
    }
    if (tool == "big")
        co_return reply(id, text_result(std::string(static_cast<std::size_t>(number(field(body, "bytes"))), 'x')));
    co_return reply(id, text_result(field(body, "text")));
}

asio::awaitable<void> serve(tcp::socket socket) {
    socket.set_option(tcp::no_delay(true));
    beast::flat_buffer buffer;
    try {
        for (;;) {
            http::request_parser<http::string_body> parser;
            parser.body_limit(64u << 20);
            co_await http::async_read(socket, buffer, parser, asio::use_awaitable);
            auto request = parser.release();
            http::response<http::string_body> response;
            response.version(11);
            response.keep_alive(request.keep_alive());
            if (request.method() == http::verb::post) {
                response.body() = co_await answer(request.body());
                response.result(response.body().empty() ? http::status::accepted : http::status::ok);
                if (!response.body().empty()) response.set(http::field::content_type, "application/json");
            } else if (request.method() == http::verb::delete_) {
                response.result(http::status::ok);
            } else {
                response.result(http::status::method_not_allowed);  // no GET stream
                response.set(http::field::allow, "POST, DELETE");
            }
            response.prepare_payload();
            co_await http::async_write(socket, response, asio::use_awaitable);
            if (!request.keep_alive()) break;
        }
    } catch (const std::exception&) {
        // The peer went away: nothing to answer.
    }
}

asio::awaitable<void> listen(tcp::acceptor acceptor) {
    for (;;) {
        tcp::socket socket = co_await acceptor.async_accept(asio::use_awaitable);
        asio::co_spawn(acceptor.get_executor(), serve(std::move(socket)), asio::detached);
    }
}

}  // namespace

int main(int argc, char** argv) {
    unsigned short port = 0;
    for (int i = 1; i + 1 < argc; ++i)
        if (std::string_view(argv[i]) == "--port") port = static_cast<unsigned short>(std::stoi(argv[i + 1]));
    asio::io_context io(1);
    tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
    std::printf("listening on port %u\n", acceptor.local_endpoint().port());
    std::fflush(stdout);
    asio::co_spawn(io, listen(std::move(acceptor)), asio::detached);
    io.run();
    return 0;
}
