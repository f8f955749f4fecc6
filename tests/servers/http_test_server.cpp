// A small Streamable HTTP MCP server (POST /mcp, GET, DELETE) for the tests of remote upstreams,
// with the faults a remote server has. Listens on 127.0.0.1; prints "listening on port N".
//
// Tools: echo {text}, sleep {ms}, big {bytes}, progress {steps} (on the answer's event stream),
//        headers (the request's headers), drop (sends an event with an id, then drops the
//        connection; the answer waits for a GET with Last-Event-ID), cut (drops the connection
//        without an event id), fail (HTTP 500), forget (answers, then forgets every session: the
//        next request gets 404), push {text} (a log message on the session's GET stream),
//        stats (initializes, deletes, gets, resumes so far).
// Options: --port N (0: any), --json (answers as JSON bodies, never event streams), --no-get
//          (405 to GET), --accept-delay MS (waits before taking each new connection),
//          --one-request (closes each connection after one exchange, though it said keep-alive:
//          what a server's idle timeout does to a kept connection).
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace asio = boost::asio;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;
using nlohmann::json;

namespace {

struct Options {
    unsigned short port = 0;
    bool json_only = false;
    bool get_stream = true;
    int accept_delay_ms = 0;
    bool one_request = false;
} options;

struct Session {
    std::vector<std::pair<std::string, std::string>> events;  // kept for resumption: id, data
    std::shared_ptr<tcp::socket> listener;                    // the GET stream, when open
    int next_event = 1;
};

std::mutex mutex;  // guards everything below
std::map<std::string, Session> sessions;
struct Stats {
    int initializes = 0, deletes = 0, gets = 0, resumes = 0;
} stats;

std::string new_session_id() {
    static std::mt19937_64 random{std::random_device{}()};
    std::lock_guard lock(mutex);
    return std::to_string(random());
}

std::string event_id(const std::string& session) {
    std::lock_guard lock(mutex);
    return session + "-" + std::to_string(sessions[session].next_event++);
}

void write_all(tcp::socket& socket, const std::string& bytes) {
    boost::system::error_code ignored;
    asio::write(socket, asio::buffer(bytes), ignored);
}

// One chunk of a chunked body.
std::string chunk(const std::string& data) {
    char size[32];
    std::snprintf(size, sizeof size, "%zx\r\n", data.size());
    return size + data + "\r\n";
}

std::string event(const std::string& id, const json& message) {
    return (id.empty() ? "" : "id: " + id + "\n") + "data: " + message.dump() + "\n\n";
}

json result(const json& id, const json& value) { return {{"jsonrpc", "2.0"}, {"id", id}, {"result", value}}; }
json text_result(const json& id, const std::string& text) {
    return result(id, {{"content", {{{"type", "text"}, {"text", text}}}}});
}

void respond(tcp::socket& socket, http::status status, const std::string& body, const std::string& session = {},
             bool keep_alive = true) {
    http::response<http::string_body> response{status, 11};
    if (!body.empty()) response.set(http::field::content_type, "application/json");
    if (!session.empty()) response.set("Mcp-Session-Id", session);
    response.keep_alive(keep_alive);
    response.body() = body;
    response.prepare_payload();
    boost::system::error_code ignored;
    http::write(socket, response, ignored);
}

void open_stream(tcp::socket& socket, const std::string& session = {}) {
    write_all(socket, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n" +
                          (session.empty() ? std::string() : "Mcp-Session-Id: " + session + "\r\n") + "\r\n");
}

// Answers one POSTed message; false when the connection is to be dropped.
bool serve_post(tcp::socket& socket, const http::request<http::string_body>& request) {
    const json message = json::parse(request.body(), nullptr, false);
    if (!message.is_object()) {
        respond(socket, http::status::bad_request,
                R"({"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"parse error"}})");
        return true;
    }
    const std::string method = message.value("method", "");
    std::string session(request["Mcp-Session-Id"]);
    if (method == "initialize") {
        session = new_session_id();
        {
            std::lock_guard lock(mutex);
            sessions[session];
            ++stats.initializes;
        }
        json answer =
            result(message["id"], {{"protocolVersion", message["params"].value("protocolVersion", "2025-06-18")},
                                   {"capabilities", {{"tools", {{"listChanged", true}}}, {"logging", json::object()}}},
                                   {"serverInfo", {{"name", "http-test-server"}, {"version", "1"}}}});
        respond(socket, http::status::ok, answer.dump(), session);
        return true;
    }
    {
        std::lock_guard lock(mutex);
        if (session.empty() || !sessions.count(session)) {
            respond(socket, session.empty() ? http::status::bad_request : http::status::not_found,
                    R"({"jsonrpc":"2.0","id":null,"error":{"code":-32001,"message":"Session not found"}})");
            return true;
        }
    }
    if (!message.contains("id") || !message.contains("method")) {  // a notification or an answer
        respond(socket, http::status::accepted, "");
        return true;
    }
    const json id = message["id"];
    if (method == "tools/list") {
        json tools = json::array();
        for (const char* name :
             {"echo", "sleep", "big", "progress", "headers", "drop", "cut", "fail", "forget", "push", "stats"})
            tools.push_back({{"name", name},
                             {"description", std::string("the ") + name + " tool"},
                             {"inputSchema", {{"type", "object"}}}});
        respond(socket, http::status::ok, result(id, {{"tools", tools}}).dump());
        return true;
    }
    if (method == "ping") {
        respond(socket, http::status::ok, result(id, json::object()).dump());
        return true;
    }
    if (method != "tools/call") {
        respond(
            socket, http::status::ok,
            json{{"jsonrpc", "2.0"}, {"id", id}, {"error", {{"code", -32601}, {"message", "unknown method"}}}}.dump());
        return true;
    }
    const std::string tool = message["params"].value("name", "");
    const json arguments = message["params"].value("arguments", json::object());
    json answer;
    if (tool == "echo") {
        answer = text_result(id, arguments.value("text", ""));
    } else if (tool == "sleep") {
        std::this_thread::sleep_for(std::chrono::milliseconds(arguments.value("ms", 0)));
        answer = text_result(id, "slept");
    } else if (tool == "big") {
        answer = text_result(id, std::string(arguments.value("bytes", 0), 'x'));
    } else if (tool == "headers") {
        json seen = json::object();
        for (const auto& field : request) seen[std::string(field.name_string())] = std::string(field.value());
        answer = result(id, {{"content", {{{"type", "text"}, {"text", seen.dump()}}}}, {"structuredContent", seen}});
    } else if (tool == "fail") {
        respond(socket, http::status::internal_server_error, "boom", {}, false);
        return false;
    } else if (tool == "stats") {
        std::lock_guard lock(mutex);
        answer = text_result(id, json{{"initializes", stats.initializes},
                                      {"deletes", stats.deletes},
                                      {"gets", stats.gets},
                                      {"resumes", stats.resumes}}
                                     .dump());
    } else if (tool == "push") {
        std::shared_ptr<tcp::socket> listener;
        {
            std::lock_guard lock(mutex);
            listener = sessions[session].listener;
        }
        if (listener)
            write_all(*listener,
                      chunk(event({}, {{"jsonrpc", "2.0"},
                                       {"method", "notifications/message"},
                                       {"params", {{"level", "info"}, {"data", arguments.value("text", "")}}}})));
        answer = text_result(id, listener ? "pushed" : "no GET stream");
    } else if (tool == "forget") {
        respond(socket, http::status::ok, text_result(id, "forgotten").dump());
        std::lock_guard lock(mutex);
        sessions.clear();
        return true;
    } else if (tool == "drop") {
        // An event with an id, then the connection drops; the answer is kept for the GET that
        // resumes the stream.
        open_stream(socket);
        write_all(socket, chunk("id: " + event_id(session) + "\ndata:\n\n"));
        std::lock_guard lock(mutex);
        auto& kept = sessions[session];
        kept.events.emplace_back(session + "-" + std::to_string(kept.next_event++), text_result(id, "resumed").dump());
        return false;
    } else if (tool == "cut") {
        open_stream(socket);
        write_all(socket, chunk(": nothing to resume from\n\n"));
        return false;
    } else if (tool == "progress") {
        if (options.json_only) {
            answer = text_result(id, "no progress over JSON");
        } else {
            open_stream(socket);
            const json token = message["params"].value("_meta", json::object()).value("progressToken", json());
            const int steps = arguments.value("steps", 1);
            for (int step = 1; step <= steps && !token.is_null(); ++step)
                write_all(socket,
                          chunk(event(event_id(session),
                                      {{"jsonrpc", "2.0"},
                                       {"method", "notifications/progress"},
                                       {"params", {{"progressToken", token}, {"progress", step}, {"total", steps}}}})));
            write_all(socket, chunk(event(event_id(session), text_result(id, "done"))) + chunk(""));
            return request.keep_alive();
        }
    } else {
        answer =
            json{{"jsonrpc", "2.0"}, {"id", id}, {"error", {{"code", -32602}, {"message", "unknown tool " + tool}}}};
    }
    if (options.json_only) {
        respond(socket, http::status::ok, answer.dump());
        return true;
    }
    open_stream(socket);
    write_all(socket, chunk(event(event_id(session), answer)) + chunk(""));
    return request.keep_alive();
}

// A GET: the session's stream, or (with Last-Event-ID) the rest of a stream that broke.
bool serve_get(std::shared_ptr<tcp::socket> socket, const http::request<http::string_body>& request) {
    const std::string session(request["Mcp-Session-Id"]);
    const std::string last(request["Last-Event-ID"]);
    std::vector<std::string> replay;
    {
        std::lock_guard lock(mutex);
        ++stats.gets;
        if (!sessions.count(session)) {
            respond(*socket, http::status::not_found, "");
            return true;
        }
        if (last.empty() && !options.get_stream) {
            respond(*socket, http::status::method_not_allowed, "");
            return true;
        }
        if (!last.empty()) {
            ++stats.resumes;
            for (const auto& [id, data] : sessions[session].events) replay.push_back(event(id, json::parse(data)));
            sessions[session].events.clear();
        } else {
            sessions[session].listener = socket;
        }
    }
    open_stream(*socket);
    if (!last.empty()) {
        std::string body;
        for (const auto& text : replay) body += chunk(text);
        write_all(*socket, body + chunk(""));
        return true;
    }
    write_all(*socket, chunk(": listening\n\n"));
    // Held open until the client goes: reading returns when it closes the connection.
    char byte;
    boost::system::error_code error;
    socket->read_some(asio::buffer(&byte, 1), error);
    std::lock_guard lock(mutex);
    if (sessions.count(session) && sessions[session].listener == socket) sessions[session].listener.reset();
    return false;
}

void serve(std::shared_ptr<tcp::socket> socket) {
    boost::beast::flat_buffer buffer;
    for (;;) {
        http::request<http::string_body> request;
        boost::system::error_code error;
        http::read(*socket, buffer, request, error);
        if (error) return;
        bool keep = true;
        if (request.method() == http::verb::post) {
            keep = serve_post(*socket, request);
        } else if (request.method() == http::verb::get) {
            keep = serve_get(socket, request);
        } else if (request.method() == http::verb::delete_) {
            std::lock_guard lock(mutex);
            ++stats.deletes;
            sessions.erase(std::string(request["Mcp-Session-Id"]));
            respond(*socket, http::status::ok, "");
        } else {
            respond(*socket, http::status::method_not_allowed, "");
        }
        if (!keep || !request.keep_alive() || options.one_request) {
            socket->shutdown(tcp::socket::shutdown_both, error);
            return;
        }
    }
}

}  // namespace

int main(int argc, char** argv) {
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if (arg == "--port" && i + 1 < argc)
            options.port = static_cast<unsigned short>(std::stoi(argv[++i]));
        else if (arg == "--json")
            options.json_only = true;
        else if (arg == "--no-get")
            options.get_stream = false;
        else if (arg == "--one-request")
            options.one_request = true;
        else if (arg == "--accept-delay" && i + 1 < argc)
            options.accept_delay_ms = std::stoi(argv[++i]);
    }
    asio::io_context io;
    tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), options.port));
    std::printf("listening on port %u\n", acceptor.local_endpoint().port());
    std::fflush(stdout);
    for (;;) {
        if (options.accept_delay_ms) std::this_thread::sleep_for(std::chrono::milliseconds(options.accept_delay_ms));
        auto socket = std::make_shared<tcp::socket>(io);
        acceptor.accept(*socket);
        socket->set_option(tcp::no_delay(true));  // answers leave at once, as a real server's do
        std::thread([socket] { serve(socket); }).detach();
    }
}
