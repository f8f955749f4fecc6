#pragma once
// An HTTP/1.1 client for the tests of the HTTP front: one connection (kept alive between
// requests), whole answers, and event streams read event by event as they arrive.

#include <nlohmann/json.hpp>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include <sys/socket.h>
#include <sys/time.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <regex>
#include <string>
#include <vector>

namespace watchgate::test {

struct HttpAnswer {
    int status = 0;
    std::map<std::string, std::string> headers;  // names in lower case
    std::string body;

    std::string header(const std::string& name) const {
        auto it = headers.find(name);
        return it == headers.end() ? std::string() : it->second;
    }
    nlohmann::json json() const { return nlohmann::json::parse(body, nullptr, false); }
};

struct SseEvent {
    std::string id;
    std::string event;
    std::string data;
};

using Headers = std::vector<std::pair<std::string, std::string>>;

// The headers of a well-behaved Streamable HTTP client (plus `session`, when given).
inline Headers mcp_headers(const std::string& session = {}, const std::string& version = "2025-11-25") {
    Headers headers = {{"Content-Type", "application/json"}, {"Accept", "application/json, text/event-stream"}};
    if (!session.empty()) headers.emplace_back("Mcp-Session-Id", session);
    if (!version.empty()) headers.emplace_back("MCP-Protocol-Version", version);
    return headers;
}

inline std::string initialize_body(int id = 1) {
    return nlohmann::json{{"jsonrpc", "2.0"},
                          {"id", id},
                          {"method", "initialize"},
                          {"params",
                           {{"protocolVersion", "2025-11-25"},
                            {"capabilities", {{"sampling", nlohmann::json::object()}}},
                            {"clientInfo", {{"name", "http-test"}, {"version", "1"}}}}}}
        .dump();
}

class HttpConnection {
public:
    explicit HttpConnection(std::uint16_t port, std::chrono::milliseconds timeout = std::chrono::seconds(10))
        : socket_(io_) {
        namespace asio = boost::asio;
        socket_.connect(asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
        set_timeout(timeout);
        host_ = "127.0.0.1:" + std::to_string(port);
    }

    // Reads give up after `timeout` (an error, which the test sees as a failure to read).
    void set_timeout(std::chrono::milliseconds timeout) {
        timeval value{static_cast<time_t>(timeout.count() / 1000),
                      static_cast<suseconds_t>(timeout.count() % 1000 * 1000)};
        ::setsockopt(socket_.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &value, sizeof value);
    }
    // A small receive buffer: a client that stops reading fills it soon.
    void shrink_receive_buffer(int bytes) {
        ::setsockopt(socket_.native_handle(), SOL_SOCKET, SO_RCVBUF, &bytes, sizeof bytes);
    }

    // Sends a request (Host set unless given) and reads the whole answer.
    HttpAnswer request(boost::beast::http::verb verb, const std::string& target, const Headers& headers = {},
                       const std::string& body = {}) {
        send(verb, target, headers, body);
        HttpAnswer answer = read_head();
        boost::beast::error_code error;
        while (!parser_->is_done() && !error) boost::beast::http::read(socket_, buffer_, *parser_, error);
        answer.body = parser_->get().body();
        parser_.reset();
        return answer;
    }
    HttpAnswer post(const std::string& body, const Headers& headers, const std::string& target = "/mcp") {
        return request(boost::beast::http::verb::post, target, headers, body);
    }

    // Sends a request whose answer may be an event stream; returns its status and headers. Then
    // next_event() reads the stream, or finish() the rest of a plain answer.
    HttpAnswer open(boost::beast::http::verb verb, const std::string& target, const Headers& headers,
                    const std::string& body = {}) {
        send(verb, target, headers, body);
        return read_head();
    }
    // The next event of the open stream; nullopt when it ended or nothing came in time.
    std::optional<SseEvent> next_event() {
        for (;;) {
            if (auto event = take_event()) return event;
            if (parser_->is_done()) return std::nullopt;
            boost::beast::error_code error;
            boost::beast::http::read_some(socket_, buffer_, *parser_, error);
            if (error) return std::nullopt;
        }
    }
    // The next event that carries a message (priming events and comments skipped).
    std::optional<nlohmann::json> next_message() {
        while (auto event = next_event())
            if (!event->data.empty()) return nlohmann::json::parse(event->data, nullptr, false);
        return std::nullopt;
    }
    // Whether the open stream ended (its last chunk read) within the read timeout.
    bool stream_ended() {
        while (auto event = next_event()) {
        }
        return parser_ && parser_->is_done();
    }
    std::string finish() {
        boost::beast::error_code error;
        while (!parser_->is_done() && !error) boost::beast::http::read(socket_, buffer_, *parser_, error);
        return parser_->get().body();
    }
    // Whether the gateway closed the connection (a read sees its end).
    bool closed_by_peer() {
        char byte;
        boost::system::error_code error;
        socket_.read_some(boost::asio::buffer(&byte, 1), error);
        return error == boost::asio::error::eof || error == boost::asio::error::connection_reset;
    }
    void close() {
        boost::system::error_code ignored;
        socket_.close(ignored);
    }
    // Bytes written as they are (a malformed request).
    void write_raw(const std::string& bytes) { boost::asio::write(socket_, boost::asio::buffer(bytes)); }
    std::string read_raw() {
        std::string out;
        char chunk[4096];
        boost::system::error_code error;
        for (;;) {
            const auto n = socket_.read_some(boost::asio::buffer(chunk), error);
            out.append(chunk, n);
            if (error) break;
        }
        return out;
    }

private:
    void send(boost::beast::http::verb verb, const std::string& target, const Headers& headers,
              const std::string& body) {
        namespace http = boost::beast::http;
        http::request<http::string_body> message{verb, target, 11};
        bool has_host = false;
        for (const auto& [name, value] : headers) {
            message.set(name, value);
            has_host = has_host || name == "Host";
        }
        if (!has_host) message.set(http::field::host, host_);
        message.body() = body;
        message.prepare_payload();
        http::write(socket_, message);
        parser_.emplace();
        parser_->body_limit(1u << 30);
        seen_ = 0;
    }
    HttpAnswer read_head() {
        boost::beast::error_code error;
        boost::beast::http::read_header(socket_, buffer_, *parser_, error);
        HttpAnswer answer;
        if (error) return answer;  // status 0: nothing came
        const auto& head = parser_->get();
        answer.status = static_cast<int>(head.result_int());
        for (const auto& field : head) {
            std::string name(field.name_string());
            for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
            answer.headers[name] = std::string(field.value());
        }
        return answer;
    }
    std::optional<SseEvent> take_event() {
        const std::string& body = parser_->get().body();
        const auto end = body.find("\n\n", seen_);
        if (end == std::string::npos) return std::nullopt;
        const std::string block = body.substr(seen_, end - seen_);
        seen_ = end + 2;
        SseEvent event;
        std::size_t start = 0;
        bool any = false;
        while (start <= block.size()) {
            auto stop = block.find('\n', start);
            if (stop == std::string::npos) stop = block.size();
            const std::string line = block.substr(start, stop - start);
            start = stop + 1;
            if (line.empty() || line[0] == ':') continue;
            const auto colon = line.find(':');
            const std::string field = line.substr(0, colon);
            std::string value = colon == std::string::npos ? std::string() : line.substr(colon + 1);
            if (!value.empty() && value[0] == ' ') value.erase(0, 1);
            any = true;
            if (field == "id") event.id = value;
            if (field == "event") event.event = value;
            if (field == "data") event.data += value;
        }
        if (!any) return take_event();  // a comment (keep-alive)
        return event;
    }

    boost::asio::io_context io_;
    boost::asio::ip::tcp::socket socket_;
    boost::beast::flat_buffer buffer_;
    std::optional<boost::beast::http::response_parser<boost::beast::http::string_body>> parser_;
    std::size_t seen_ = 0;
    std::string host_;
};

// The port in a gateway's "listening on http://127.0.0.1:<port>/mcp" log line; 0 when absent.
inline std::uint16_t listening_port(const std::string& log) {
    static const std::regex pattern("listening on https?://[^:]+:([0-9]+)/");
    std::smatch found;
    if (!std::regex_search(log, found, pattern)) return 0;
    return static_cast<std::uint16_t>(std::stoi(found[1]));
}

}  // namespace watchgate::test
