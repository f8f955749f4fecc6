#pragma once
// The Streamable HTTP front (docs/http.md): many clients, each in a session of its own, on one
// endpoint. POST carries one message (a request is answered as JSON, or as an event stream when
// anything comes before its answer), GET opens the session's listen stream (or resumes a stream
// with Last-Event-ID), DELETE ends the session. Also the old HTTP+SSE transport (2024-11-05) for
// old clients, DNS-rebinding protection, bearer authentication and the limits of every queue.

#include <watchgate/core/http/verified_tokens.hpp>
#include <watchgate/core/session/gateway.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

namespace boost::asio::ssl {
class context;
}

namespace watchgate::core {

class HttpChannel;

class HttpFront : public std::enable_shared_from_this<HttpFront> {
public:
    static std::shared_ptr<HttpFront> create(std::shared_ptr<Gateway> gateway);
    ~HttpFront();

    // Binds and listens on the configured address. Throws std::runtime_error naming the address
    // and why when it cannot.
    void listen();
    boost::asio::ip::tcp::endpoint local_endpoint() const;
    // Accepts connections and expires idle sessions until stop().
    void start();
    // Stops accepting connections and opening sessions (the gateway is about to drain).
    void stop_accepting();
    // Stops accepting and ends every session (their requests drained within the grace period).
    boost::asio::awaitable<void> stop();
    std::size_t session_count() const;

private:
    struct Session;
    struct Connection;
    struct Request;

    explicit HttpFront(std::shared_ptr<Gateway> gateway);
    // The TLS context from tls.cert_file and tls.key_file, when set; throws naming the file.
    void load_tls();
    boost::asio::awaitable<void> accept_loop();
    boost::asio::awaitable<void> sweep_loop();
    boost::asio::awaitable<void> serve(std::shared_ptr<Connection> connection);
    // One request: false when the connection is to be closed after it.
    boost::asio::awaitable<bool> handle(Connection& connection, Request& request);
    // 403 insufficient_scope: `needed` is what to ask the authorization server for, `missing` what
    // the credential lacks, `what` the thing refused ("tool 'x'").
    boost::asio::awaitable<bool> refuse_scopes(Connection& connection, Request& request,
                                               const std::vector<std::string>& needed,
                                               const std::vector<std::string>& missing, const nlohmann::json& id,
                                               const std::string& what);
    boost::asio::awaitable<bool> handle_post(Connection& connection, Request& request, bool legacy);
    // A stateless-era request (2026-07-28): its headers checked against its body, then served in
    // a session of its own that ends with it (docs/http.md "Stateless requests").
    boost::asio::awaitable<bool> handle_stateless_post(Connection& connection, Request& request, Message message,
                                                       std::size_t body_bytes);
    boost::asio::awaitable<void> finish_stateless(std::shared_ptr<Session> session);
    boost::asio::awaitable<bool> handle_get(Connection& connection, Request& request);
    boost::asio::awaitable<bool> handle_delete(Connection& connection, Request& request);
    boost::asio::awaitable<bool> handle_legacy_stream(Connection& connection, Request& request);
    // Serves one stream of `session` on the connection until it ends, is taken over, or the
    // connection fails. `json_if_answer_first`: a POST's stream answers as JSON when the answer
    // is the first thing it has.
    boost::asio::awaitable<bool> serve_stream(Connection& connection, Request& request,
                                              std::shared_ptr<Session> session, std::uint64_t stream,
                                              std::optional<std::uint64_t> resume_after, bool json_if_answer_first,
                                              std::string first_event = {});
    // The writing part of serve_stream, on an attached stream. Calls `watch_peer` once an event
    // stream starts; sets `resumable` once the client has an event id of the stream.
    boost::asio::awaitable<bool> write_events(Connection& connection, Request& request, Session& session,
                                              std::uint64_t stream, std::uint64_t attachment, std::uint64_t cursor,
                                              bool json_if_answer_first, std::string first_event,
                                              const std::function<void()>& watch_peer, bool& resumable);

    // Writes a whole answer; false when the connection failed (a client that takes nothing for
    // the stall timeout is logged and cut off).
    boost::asio::awaitable<bool> respond(Connection& connection,
                                         boost::beast::http::response<boost::beast::http::string_body> response);
    std::shared_ptr<Session> open_session(const Request& request, bool legacy, const std::string& remote,
                                          bool stateless = false);
    std::shared_ptr<Session> find_session(const std::string& token);
    // Ends a session: no new request finds it, its requests are drained, its streams end.
    // `discard`: its streams end first (its client stopped reading).
    boost::asio::awaitable<void> end_session(std::shared_ptr<Session> session, std::string why, bool discard = false);

    std::shared_ptr<Gateway> gateway_;
    const GatewayConfig& config_;
    boost::asio::ip::tcp::acceptor acceptor_;
    std::unique_ptr<boost::asio::ssl::context> tls_;  // null: plain HTTP
    std::atomic<bool> stopping_{false};
    mutable std::mutex mutex_;                                  // guards sessions_
    VerifiedTokens verified_tokens_;                            // JWTs checked already
    std::map<std::string, std::shared_ptr<Session>> sessions_;  // by Mcp-Session-Id
};

}  // namespace watchgate::core
