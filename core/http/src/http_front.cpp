#include <watchgate/core/http/http_front.hpp>

#include <watchgate/core/base/async_signal.hpp>
#include <watchgate/core/base/digest.hpp>
#include <watchgate/core/http/authenticator.hpp>
#include <watchgate/core/http/http_channel.hpp>
#include <watchgate/core/http/listen.hpp>
#include <watchgate/core/http/request_checks.hpp>
#include <watchgate/core/protocol/error_codes.hpp>
#include <watchgate/core/protocol/request_headers.hpp>
#include <watchgate/core/protocol/stateless_meta.hpp>
#include <watchgate/core/protocol/versions.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include <spdlog/spdlog.h>

#include <openssl/err.h>
#include <openssl/x509.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <functional>
#include <stdexcept>
#include <tuple>

namespace watchgate::core {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using nlohmann::json;
using Clock = std::chrono::steady_clock;
using tcp = asio::ip::tcp;

namespace {

constexpr auto keep_alive_interval = std::chrono::seconds(15);  // a comment on a quiet event stream
constexpr auto idle_connection_timeout = std::chrono::seconds(60);
constexpr std::size_t max_connections = 4096;
constexpr std::string_view session_header = "Mcp-Session-Id";
constexpr std::string_view version_header = "MCP-Protocol-Version";

std::string short_id(const std::string& token) { return token.substr(0, 8); }

// Whether an answer is a -32601 error (read only when the text could be one).
bool is_method_not_found(std::string_view answer) {
    if (answer.find("-32601") == std::string_view::npos) return false;
    const auto parsed = json::parse(answer, nullptr, false);
    return parsed.is_object() && parsed.contains("error") && parsed["error"].is_object() &&
           parsed["error"].value("code", 0) == error_code::method_not_found;
}

// A JSON-RPC error without an id: the body of an HTTP error on the MCP endpoint.
std::string error_body(int code, std::string_view text) { return dump_json(make_error_response(nullptr, code, text)); }

}  // namespace

using Response = http::response<http::string_body>;

struct HttpFront::Session {
    std::string token;
    std::shared_ptr<HttpChannel> channel;
    std::shared_ptr<ClientSession> client;
    std::string subject;  // who authenticated; empty without authentication
    bool legacy = false;
    // One stateless-era request (2026-07-28): no Mcp-Session-Id, no resumable events; it ends
    // with its answer (or, bridged, once its request is through: ClientSession::InputBridge).
    bool stateless = false;
    std::atomic<Clock::rep> last_active{Clock::now().time_since_epoch().count()};
    std::atomic<int> busy{0};  // requests being served on its behalf
    std::atomic<bool> ended{false};

    void touch() { last_active = Clock::now().time_since_epoch().count(); }
};

// One client connection: plain TCP, or TLS over it when `tls:` is configured.
struct HttpFront::Connection : std::enable_shared_from_this<HttpFront::Connection> {
    Connection(tcp::socket socket, ssl::context* tls) {
        if (tls)
            secure.emplace(beast::tcp_stream(std::move(socket)), *tls);
        else
            plain.emplace(std::move(socket));
    }
    // The TCP layer: timeouts, the socket.
    beast::tcp_stream& transport_layer() { return secure ? beast::get_lowest_layer(*secure) : *plain; }
    // Runs `operation` on the stream the HTTP bytes go through; both kinds give the same awaitable.
    template <class Operation>
    auto io(Operation&& operation) {
        if (secure) return operation(*secure);
        return operation(*plain);
    }

    std::optional<beast::tcp_stream> plain;
    std::optional<beast::ssl_stream<beast::tcp_stream>> secure;
    beast::flat_buffer buffer;
    std::string remote;  // "ip:port"
};

struct HttpFront::Request {
    http::request<http::string_body> message;
    std::string_view path;
    std::string_view query;
    Identity identity;  // who sent it: set once authenticated

    std::string_view header(std::string_view name) const {
        auto it = message.find(beast::string_view(name.data(), name.size()));
        return it == message.end() ? std::string_view() : std::string_view(it->value().data(), it->value().size());
    }
    bool keep_alive() const { return message.keep_alive(); }
};

namespace {

Response make_response(const http::request<http::string_body>& request, http::status status, std::string body = {},
                       std::string_view content_type = "application/json") {
    Response response{status, request.version()};
    response.set(http::field::server, "watchgate");
    if (!body.empty()) response.set(http::field::content_type, content_type);
    response.keep_alive(request.keep_alive());
    response.body() = std::move(body);
    response.prepare_payload();
    return response;
}

}  // namespace

asio::awaitable<bool> HttpFront::respond(Connection& connection, Response response) {
    boost::system::error_code error;
    // Piece by piece, the stall timeout renewed after each: a slow client that keeps taking bytes
    // gets its whole answer; only one that takes none for the stall timeout is cut off.
    http::response_serializer<http::string_body> serializer(response);
    while (!error && !serializer.is_done()) {
        connection.transport_layer().expires_after(config_.streams.stall_timeout);
        co_await connection.io([&](auto& transport) {
            return http::async_write_some(transport, serializer, asio::redirect_error(asio::use_awaitable, error));
        });
    }
    if (error == beast::error::timeout)
        spdlog::warn("http: the client at {} took nothing of its answer for {} ms: closed", connection.remote,
                     config_.streams.stall_timeout.count());
    co_return !error;
}

std::shared_ptr<HttpFront> HttpFront::create(std::shared_ptr<Gateway> gateway) {
    return std::shared_ptr<HttpFront>(new HttpFront(std::move(gateway)));
}

HttpFront::HttpFront(std::shared_ptr<Gateway> gateway)
    : gateway_(std::move(gateway)), config_(gateway_->config()), acceptor_(gateway_->io()) {}

void HttpFront::load_tls() {
    const auto& http = config_.http;
    if (!http.tls_cert_file) return;
    auto context = std::make_unique<ssl::context>(ssl::context::tls_server);
    // TLS 1.2 and 1.3 only.
    context->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                         ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 | ssl::context::single_dh_use);
    boost::system::error_code error;
    context->use_certificate_chain_file(http.tls_cert_file->string(), error);
    if (error)
        throw std::runtime_error("tls.cert_file " + http.tls_cert_file->string() +
                                 ": not a usable certificate chain (PEM): " + error.message());
    context->use_private_key_file(http.tls_key_file->string(), ssl::context::pem, error);
    const bool mismatch = (error && error.category() == asio::error::get_ssl_category() &&
                           ERR_GET_REASON(static_cast<unsigned long>(error.value())) == X509_R_KEY_VALUES_MISMATCH) ||
                          (!error && SSL_CTX_check_private_key(context->native_handle()) != 1);
    if (mismatch)
        throw std::runtime_error("tls.key_file " + http.tls_key_file->string() + " does not belong to tls.cert_file " +
                                 http.tls_cert_file->string());
    if (error)
        throw std::runtime_error("tls.key_file " + http.tls_key_file->string() +
                                 ": not a usable private key (PEM): " + error.message());
    tls_ = std::move(context);
}

HttpFront::~HttpFront() = default;

void HttpFront::listen() {
    const auto& http = config_.http;
    load_tls();
    const std::string where = http.host + ":" + std::to_string(http.port);
    listen_on(acceptor_, http.host, http.port);
    if (!is_loopback_address(http.host) && !tls_)
        spdlog::warn(
            "http: listening on {} without TLS: tokens and messages cross the network in clear text "
            "(set proxy.http.tls, or keep the gateway on 127.0.0.1 behind a TLS proxy)",
            where);
    if (!is_loopback_address(http.host) && http.auth == HttpConfig::Auth::none)
        spdlog::warn(
            "http: listening on {} without authentication: anyone who reaches it may use every upstream "
            "(set proxy.http.auth, docs/http.md)",
            where);
}

tcp::endpoint HttpFront::local_endpoint() const { return acceptor_.local_endpoint(); }

void HttpFront::start() {
    auto self = shared_from_this();
    const auto endpoint = local_endpoint();
    spdlog::info("listening on {}://{}:{}{}", tls_ ? "https" : "http", endpoint.address().to_string(), endpoint.port(),
                 config_.http.path);
    asio::co_spawn(gateway_->io(), accept_loop(), [self](std::exception_ptr) {});
    asio::co_spawn(gateway_->io(), sweep_loop(), [self](std::exception_ptr) {});
}

void HttpFront::stop_accepting() {
    stopping_ = true;  // no session opens from now on
    asio::post(gateway_->io(), [self = shared_from_this()] {
        boost::system::error_code ignored;
        self->acceptor_.close(ignored);
    });
}

asio::awaitable<void> HttpFront::stop() {
    stop_accepting();
    for (;;) {
        std::vector<std::shared_ptr<Session>> sessions;
        {
            std::lock_guard lock(mutex_);
            for (auto& [token, session] : sessions_) sessions.push_back(session);
        }
        if (sessions.empty()) co_return;
        for (auto& session : sessions) co_await end_session(session, "the gateway is stopping");
    }
}

std::size_t HttpFront::session_count() const {
    std::lock_guard lock(mutex_);
    return sessions_.size();
}

asio::awaitable<void> HttpFront::accept_loop() {
    auto self = shared_from_this();
    auto connections = std::make_shared<std::atomic<std::size_t>>(0);
    while (!stopping_) {
        boost::system::error_code error;
        tcp::socket socket = co_await acceptor_.async_accept(asio::redirect_error(asio::use_awaitable, error));
        if (error) {
            if (stopping_ || error == asio::error::operation_aborted) co_return;
            spdlog::warn("http: accept failed: {}", error.message());
            // Out of descriptors: wait a moment rather than spin.
            asio::steady_timer pause(gateway_->io(), std::chrono::milliseconds(50));
            co_await pause.async_wait(asio::redirect_error(asio::use_awaitable, error));
            continue;
        }
        if (connections->load() >= max_connections) {
            spdlog::warn("http: {} connections open: one more refused", max_connections);
            continue;  // the socket closes as it goes out of scope
        }
        auto connection = std::make_shared<Connection>(std::move(socket), tls_.get());
        boost::system::error_code ignored;
        const auto peer = connection->transport_layer().socket().remote_endpoint(ignored);
        connection->remote = peer.address().to_string() + ":" + std::to_string(peer.port());
        ++*connections;
        asio::co_spawn(gateway_->io(), serve(connection), [self, connections](std::exception_ptr failure) {
            --*connections;
            if (failure) {
                try {
                    std::rethrow_exception(failure);
                } catch (const std::exception& e) {
                    spdlog::error("http: a connection failed: {}", e.what());
                }
            }
        });
    }
}

asio::awaitable<void> HttpFront::sweep_loop() {
    auto self = shared_from_this();
    const auto idle = config_.http.session_idle_timeout;
    const auto period =
        std::clamp<std::chrono::milliseconds>(idle / 4, std::chrono::milliseconds(50), std::chrono::milliseconds(1000));
    asio::steady_timer timer(gateway_->io());
    while (!stopping_) {
        timer.expires_after(period);
        boost::system::error_code error;
        co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, error));
        if (stopping_) co_return;
        std::vector<std::tuple<std::shared_ptr<Session>, std::string, bool>> to_end;  // session, why, stalled
        const auto now = Clock::now();
        {
            std::lock_guard lock(mutex_);
            for (auto& [token, session] : sessions_) {
                session->channel->expire_detached(now - config_.streams.stall_timeout);
                const auto last = Clock::time_point(Clock::duration(session->last_active.load()));
                if (session->busy == 0 && !session->channel->attached() && now - last >= idle) {
                    to_end.emplace_back(session, "idle for " + std::to_string(idle.count()) + " ms", false);
                    continue;
                }
                // A client that does not read what waits for it cannot grow the gateway without bound:
                // shared upstreams do not wait for it, so past one more message than its queue
                // holds, taking nothing for a sweep period, it has fallen behind for good. One
                // still taking bytes is slow, not gone (a paced lone client may pass the bound by
                // a message or two).
                const auto full = session->channel->full_since();
                if (const auto queued = session->channel->queued_bytes();
                    queued > config_.streams.max_queued + config_.max_message_size && full && now - *full >= period) {
                    to_end.emplace_back(session,
                                        "its client fell behind: " + std::to_string(queued) +
                                            " bytes wait for it (queue_limit_mb + max_message_size_mb)",
                                        true);
                    continue;
                }
                if (full && now - *full >= config_.streams.stall_timeout)
                    to_end.emplace_back(session,
                                        "its client took nothing of " +
                                            std::to_string(session->channel->queued_bytes()) + " waiting bytes for " +
                                            std::to_string(config_.streams.stall_timeout.count()) + " ms",
                                        true);
            }
        }
        // Each on its own: one session's drain never delays another's end.
        for (auto& [session, why, stalled] : to_end)
            asio::co_spawn(gateway_->io(), end_session(session, why, stalled), [self](std::exception_ptr) {});
    }
}

std::shared_ptr<HttpFront::Session> HttpFront::open_session(const Request& request, bool legacy,
                                                            const std::string& remote, bool stateless) {
    auto session = std::make_shared<Session>();
    session->token = random_hex(16);  // 128 bits from the kernel's CSPRNG
    session->legacy = legacy;
    session->stateless = stateless;
    session->subject = request.identity.subject;
    session->channel = std::make_shared<HttpChannel>(config_.streams, config_.http.replay_events, legacy);
    {
        std::lock_guard lock(mutex_);
        if (stopping_ || sessions_.size() >= config_.http.max_sessions) return nullptr;
        sessions_.emplace(session->token, session);
    }
    session->client = gateway_->open_session(
        session->channel, ClientContext{short_id(session->token), "http", remote, request.identity.subject});
    return session;
}

std::shared_ptr<HttpFront::Session> HttpFront::find_session(const std::string& token) {
    std::lock_guard lock(mutex_);
    auto it = sessions_.find(token);
    return it == sessions_.end() ? nullptr : it->second;
}

asio::awaitable<void> HttpFront::end_session(std::shared_ptr<Session> session, std::string why, bool discard) {
    if (session->ended.exchange(true)) co_return;
    {
        std::lock_guard lock(mutex_);
        sessions_.erase(session->token);
    }
    if (session->stateless)
        spdlog::debug("http: stateless request {} done: {}", short_id(session->token), why);
    else
        spdlog::info("http: session {} ended: {}", short_id(session->token), why);
    // A client that does not read gets nothing more: what it holds up (its channel, and through it
    // the upstreams it shares) is released before its requests are drained.
    if (discard) session->channel->close();
    // Its requests in flight are answered on their streams, then every stream ends.
    co_await gateway_->close_session(session->client);
    session->channel->close();
}

asio::awaitable<void> HttpFront::serve(std::shared_ptr<Connection> connection) {
    const auto& limits = config_.http;
    if (connection->secure) {
        boost::system::error_code error;
        connection->transport_layer().expires_after(config_.streams.stall_timeout);
        co_await connection->secure->async_handshake(ssl::stream_base::server,
                                                     asio::redirect_error(asio::use_awaitable, error));
        if (error) {
            spdlog::debug("http: TLS handshake with {} failed: {}", connection->remote, error.message());
            connection->transport_layer().close();
            co_return;
        }
    }
    for (;;) {
        http::request_parser<http::string_body> parser;
        parser.header_limit(static_cast<std::uint32_t>(std::min<std::size_t>(limits.max_header_size, UINT32_MAX)));
        parser.body_limit(limits.max_request_body.value_or(config_.max_message_size));
        connection->transport_layer().expires_after(idle_connection_timeout);
        boost::system::error_code error;
        co_await connection->io([&](auto& transport) {
            return http::async_read(transport, connection->buffer, parser,
                                    asio::redirect_error(asio::use_awaitable, error));
        });
        if (error) {
            if (error == http::error::end_of_stream || error == beast::error::timeout ||
                error == asio::error::connection_reset || error == asio::error::eof)
                break;
            http::request<http::string_body> blank;
            blank.version(11);
            blank.keep_alive(false);
            http::status status = http::status::bad_request;
            std::string text = "malformed HTTP request: " + error.message();
            if (error == http::error::body_limit) {
                status = http::status::payload_too_large;
                text = "the request body is larger than the " +
                       std::to_string(limits.max_request_body.value_or(config_.max_message_size)) +
                       " byte limit (max_request_body_mb)";
            } else if (error == http::error::header_limit) {
                status = http::status::request_header_fields_too_large;
                text = "the request headers are larger than the " + std::to_string(limits.max_header_size) +
                       " byte limit (max_header_size_kb)";
            }
            spdlog::debug("http: {} from {}", text, connection->remote);
            co_await respond(*connection, make_response(blank, status, error_body(error_code::invalid_request, text)));
            break;
        }
        Request request;
        request.message = parser.release();
        const std::string_view target(request.message.target().data(), request.message.target().size());
        const auto question = target.find('?');
        request.path = target.substr(0, question);
        if (question != std::string_view::npos) request.query = target.substr(question + 1);
        bool keep = false;
        if (static_cast<std::size_t>(std::distance(request.message.begin(), request.message.end())) >
            limits.max_headers) {
            co_await respond(*connection, make_response(request.message, http::status::request_header_fields_too_large,
                                                        error_body(error_code::invalid_request,
                                                                   "more than " + std::to_string(limits.max_headers) +
                                                                       " header fields")));
        } else {
            keep = co_await handle(*connection, request);
        }
        if (!keep || !request.keep_alive() || stopping_) break;
    }
    boost::system::error_code ignored;
    connection->transport_layer().socket().shutdown(tcp::socket::shutdown_send, ignored);
    connection->transport_layer().close();
}

asio::awaitable<bool> HttpFront::handle(Connection& connection, Request& request) {
    const auto& http = config_.http;
    auto& message = request.message;
    // `allow`: the methods a 405 names.
    auto reply = [&](http::status status, std::string text,
                     std::string_view allow = "GET, POST, DELETE") -> asio::awaitable<bool> {
        auto response = make_response(message, status, error_body(error_code::invalid_request, text));
        if (status == http::status::method_not_allowed)
            response.set(http::field::allow, beast::string_view(allow.data(), allow.size()));
        co_return co_await respond(connection, std::move(response)) && request.keep_alive();
    };
    const bool legacy_stream = !http.legacy_sse_path.empty() && request.path == http.legacy_sse_path;
    const bool legacy_post = !http.legacy_sse_path.empty() && request.path == http.legacy_sse_path + "/messages";
    // The reload's config: its key files were read again (a rotated JWKS needs no restart); the
    // http: section itself is restart-only, so the rest of it is what `http` says.
    const auto snapshot = gateway_->snapshot();
    const Authenticator authenticator(snapshot->config->http, verified_tokens_, snapshot->config);
    const bool metadata = authenticator.enabled() && request.path.starts_with(Authenticator::metadata_path);
    if (request.path != http.path && !legacy_stream && !legacy_post && !metadata)
        co_return co_await reply(http::status::not_found,
                                 "no MCP endpoint at " + std::string(request.path) + " (it is at " + http.path + ")");

    if (request.header("Host").empty())
        co_return co_await reply(http::status::bad_request, "a request needs a Host header");
    // DNS rebinding: a page elsewhere must not reach a local gateway through the browser.
    if (!host_allowed(request.header("Host"), http.allowed_hosts))
        co_return co_await reply(http::status::forbidden,
                                 "Host '" + std::string(request.header("Host")) + "' is not allowed (allowed_hosts)");
    if (const auto origin = request.header("Origin"); !origin.empty() && !origin_allowed(origin, http.allowed_origins))
        co_return co_await reply(http::status::forbidden,
                                 "Origin '" + std::string(origin) + "' is not allowed (allowed_origins)");

    const auto host = request.header("Host");
    if (metadata) {
        if (message.method() != http::verb::get)
            co_return co_await reply(http::status::method_not_allowed, "use GET", "GET");
        co_return co_await respond(connection,
                                   make_response(message, http::status::ok, authenticator.metadata_document(host))) &&
            request.keep_alive();
    }
    auto outcome = authenticator.authenticate(request.header("Authorization"));
    if (!outcome.identity) {
        auto response = make_response(message, http::status::unauthorized,
                                      error_body(error_code::invalid_request, outcome.refusal.description));
        response.set(http::field::www_authenticate, authenticator.challenge(host, outcome.refusal));
        spdlog::info("http: {} from {} refused: {}", std::string(message.method_string()), connection.remote,
                     outcome.refusal.description);
        co_return co_await respond(connection, std::move(response)) && request.keep_alive();
    }
    request.identity = std::move(*outcome.identity);
    if (const auto missing = authenticator.missing_for_request(request.identity); !missing.empty())
        co_return co_await refuse_scopes(connection, request, http.required_scopes, missing, nullptr, "this endpoint");

    if (legacy_stream) {
        if (message.method() != http::verb::get)
            co_return co_await reply(http::status::method_not_allowed, "the HTTP+SSE stream is opened with GET", "GET");
        co_return co_await handle_legacy_stream(connection, request);
    }
    if (legacy_post) {
        if (message.method() != http::verb::post)
            co_return co_await reply(http::status::method_not_allowed, "HTTP+SSE messages are sent with POST", "POST");
        co_return co_await handle_post(connection, request, true);
    }
    if (const auto version = request.header(version_header); !version.empty() && !protocol_era(version))
        co_return co_await respond(
            connection, make_response(message, http::status::bad_request,
                                      dump_json(unsupported_version_error(nullptr, std::string(version))))) &&
            request.keep_alive();
    switch (message.method()) {
        case http::verb::post:
            co_return co_await handle_post(connection, request, false);
        case http::verb::get:
            co_return co_await handle_get(connection, request);
        case http::verb::delete_:
            co_return co_await handle_delete(connection, request);
        default:
            co_return co_await reply(
                http::status::method_not_allowed,
                "the MCP endpoint takes POST, GET and DELETE, not " + std::string(message.method_string()));
    }
}

asio::awaitable<bool> HttpFront::refuse_scopes(Connection& connection, Request& request,
                                               const std::vector<std::string>& needed,
                                               const std::vector<std::string>& missing, const json& id,
                                               const std::string& what) {
    std::string list;
    for (const auto& scope : missing) list += (list.empty() ? "'" : ", '") + scope + "'";
    const std::string text = what + " needs the scope" + (missing.size() > 1 ? "s " : " ") + list +
                             ", which the credential of " + request.identity.subject + " does not grant";
    auto response = make_response(request.message, http::status::forbidden,
                                  dump_json(make_error_response(id, error_code::blocked, text)));
    response.set(http::field::www_authenticate,
                 Authenticator(config_.http).insufficient_scope_challenge(request.header("Host"), needed));
    spdlog::info("http: {} from {} refused: {}", std::string(request.message.method_string()), connection.remote, text);
    co_return co_await respond(connection, std::move(response)) && request.keep_alive();
}

asio::awaitable<bool> HttpFront::handle_post(Connection& connection, Request& request, bool legacy) {
    auto& message = request.message;
    auto reply = [&](http::status status, int code, std::string text, json id = nullptr) -> asio::awaitable<bool> {
        co_return co_await respond(connection,
                                   make_response(message, status, dump_json(make_error_response(id, code, text)))) &&
            request.keep_alive();
    };
    if (!is_json_content_type(request.header("Content-Type")))
        co_return co_await reply(http::status::unsupported_media_type, error_code::invalid_request,
                                 "expected Content-Type: application/json");
    const auto accept = request.header("Accept");
    if (!legacy && !(accepts(accept, "application/json") && accepts(accept, "text/event-stream")))
        co_return co_await reply(http::status::not_acceptable, error_code::invalid_request,
                                 "the client must accept both application/json and text/event-stream");

    // A JSON text may spread over lines; what goes on to an upstream is one line. Outside strings
    // (a raw line break inside one is invalid JSON anyway) a line break is plain whitespace.
    std::string body = std::move(message.body());
    const std::size_t body_bytes = body.size();
    std::replace_if(
        body.begin(), body.end(), [](char c) { return c == '\n' || c == '\r'; }, ' ');
    auto parsed = Message::parse(std::move(body));
    if (auto* problem = std::get_if<MessageError>(&parsed))
        co_return co_await reply(http::status::bad_request, problem->code, problem->message, problem->id);
    Message parsed_message = std::move(std::get<Message>(parsed));
    if (!config_.http.tool_scopes.empty()) {
        // A tool that needs more than the endpoint: refused here, where the client can be told to
        // come back with a token that has the scopes (the MCP authorization spec's step-up).
        const bool tool_call = parsed_message.method() == "tools/call";
        if (tool_call && parsed_message.kind() != MessageKind::request)
            co_return co_await reply(http::status::bad_request, error_code::invalid_request,
                                     "tools/call is a request: it needs an id");
        if (tool_call) {
            const auto& name = member(member(parsed_message.json(), "params"), "name");
            if (!name.is_string())
                co_return co_await reply(http::status::bad_request, error_code::invalid_params,
                                         "Invalid params: tools/call needs params.name as a string",
                                         parsed_message.id());
            const Authenticator authenticator(config_.http);
            const auto& tool = name.get_ref<const std::string&>();
            if (auto missing = authenticator.missing_for_tool(request.identity, tool); !missing.empty()) {
                auto needed = config_.http.required_scopes;
                const auto& for_tool = config_.http.tool_scopes.at(tool);
                needed.insert(needed.end(), for_tool.begin(), for_tool.end());
                co_return co_await refuse_scopes(connection, request, needed, missing, parsed_message.id(),
                                                 "tool '" + tool + "'");
            }
            // What goes on is what was checked: written again from the parsed JSON, so an
            // upstream whose parser keeps the first of two "name" keys sees the one checked here.
            parsed_message.mutable_json();
        }
    }
    // A stateless-era request is served on its own, whatever Mcp-Session-Id says (the era has none).
    const bool stateless = !legacy && !declared_protocol_version(parsed_message.json()).is_null();
    if (stateless && parsed_message.kind() == MessageKind::request && parsed_message.method() != "initialize")
        co_return co_await handle_stateless_post(connection, request, std::move(parsed_message), body_bytes);
    if (stateless && parsed_message.kind() == MessageKind::notification && request.header(session_header).empty()) {
        // Over HTTP the era's notifications carry nothing to act on: a request is cancelled by
        // closing its stream, which was seen already.
        spdlog::debug("http: stateless {} from {}: nothing to do", parsed_message.method(), connection.remote);
        co_return co_await respond(connection, make_response(message, http::status::accepted)) && request.keep_alive();
    }

    std::shared_ptr<Session> session;
    std::string token;
    if (legacy) {
        const auto key = std::string_view("sessionId=");
        for (auto rest = request.query; !rest.empty();) {
            const auto amp = rest.find('&');
            const auto pair = rest.substr(0, amp);
            if (pair.starts_with(key)) token = std::string(pair.substr(key.size()));
            rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
        }
        if (token.empty())
            co_return co_await reply(http::status::bad_request, error_code::invalid_request,
                                     "expected ?sessionId=<the id from the endpoint event>");
    } else {
        token = std::string(request.header(session_header));
    }
    if (!token.empty()) {
        session = find_session(token);
        // Another subject's session is no session of this client's.
        if (!session || session->subject != request.identity.subject || session->legacy != legacy)
            co_return co_await reply(
                http::status::not_found, error_code::invalid_request,
                "no session " + short_id(token) + "…: it ended or never existed; initialize again");
    } else if (parsed_message.kind() == MessageKind::request && parsed_message.method() == "initialize") {
        session = open_session(request, false, connection.remote);
        if (!session) {
            // Built apart: GCC 12 destroys a ?: temporary twice inside a co_await expression.
            std::string why = "the gateway is shutting down";
            if (!stopping_)
                why = "the gateway serves its maximum of " + std::to_string(config_.http.max_sessions) +
                      " sessions (max_sessions)";
            co_return co_await reply(http::status::service_unavailable, error_code::overloaded, std::move(why));
        }
        spdlog::info("http: session {} opened by {}{}", short_id(session->token), connection.remote,
                     request.identity.subject.empty() ? "" : " (" + request.identity.subject + ")");
    } else {
        co_return co_await reply(http::status::bad_request, error_code::invalid_request,
                                 "expected an Mcp-Session-Id header (only initialize opens a session)");
    }
    session->touch();
    session->busy++;
    struct Idle {
        Session& session;
        ~Idle() {
            session.touch();
            session.busy--;
        }
    } idle_on_exit{*session};

    // As a stdio client is not read while its session is at a limit (requests in flight, bytes
    // waiting for it, its upstreams' input), its POSTs wait here.
    co_await session->client->wait_for_client_input_room();
    if (session->ended)  // while this POST waited
        co_return co_await reply(http::status::not_found, error_code::invalid_request,
                                 "the session " + short_id(session->token) + "… has ended; initialize again");
    if (parsed_message.kind() != MessageKind::request || legacy) {
        session->client->on_client_message(std::move(parsed_message), body_bytes);
        auto accepted = make_response(message, http::status::accepted);
        co_return co_await respond(connection, std::move(accepted)) && request.keep_alive();
    }
    auto stream = session->channel->open_request_stream(parsed_message.id_text());
    if (!stream)
        co_return co_await reply(
            http::status::ok, error_code::invalid_request,
            "Invalid Request: id " + parsed_message.id_text() + " is already used by a request in flight",
            parsed_message.id());
    session->client->on_client_message(std::move(parsed_message), body_bytes);
    const bool opening = token.empty();  // this initialize opened the session
    const bool keep = co_await serve_stream(connection, request, session, *stream, std::nullopt, true);
    // A session whose initialize failed is of no use to anyone: it does not wait to idle out
    // (holding a place under max_sessions and, with per_session upstreams, their processes).
    if (opening && !session->client->initialized())
        asio::co_spawn(gateway_->io(), end_session(session, "its initialize failed"),
                       [self = shared_from_this()](std::exception_ptr) {});
    co_return keep;
}

asio::awaitable<bool> HttpFront::handle_stateless_post(Connection& connection, Request& request, Message parsed,
                                                       std::size_t body_bytes) {
    auto& message = request.message;
    auto reply = [&](http::status status, json body) -> asio::awaitable<bool> {
        co_return co_await respond(connection, make_response(message, status, dump_json(body))) && request.keep_alive();
    };
    const json& version = declared_protocol_version(parsed.json());
    if (!version.is_string() || !is_stateless_protocol_version(version.get_ref<const std::string&>()))
        co_return co_await reply(http::status::bad_request, unsupported_version_error(parsed.id(), version));
    // Intermediaries may have routed on the headers: they must say what the body says.
    if (auto mismatch = header_mismatch(request.header(version_header), request.header(method_header),
                                        request.header(name_header), parsed.json());
        !mismatch.empty())
        co_return co_await reply(http::status::bad_request,
                                 make_error_response(parsed.id(), error_code::header_mismatch, mismatch));
    auto session = open_session(request, false, connection.remote, true);
    if (!session) {
        std::string why = "the gateway is shutting down";
        if (!stopping_)
            why = "the gateway serves its maximum of " + std::to_string(config_.http.max_sessions) +
                  " sessions and requests at once (max_sessions)";
        co_return co_await reply(http::status::service_unavailable,
                                 make_error_response(parsed.id(), error_code::overloaded, why));
    }
    // A session of its own: the request's id is free there (no stream: it closed at once, stopping).
    const auto opened = session->channel->open_request_stream(parsed.id_text());
    if (!opened) {
        co_await end_session(session, "the gateway is shutting down");
        co_return co_await reply(
            http::status::service_unavailable,
            make_error_response(parsed.id(), error_code::unavailable, "the gateway is shutting down"));
    }
    const std::uint64_t stream = *opened;
    session->client->on_client_message(std::move(parsed), body_bytes);
    const bool keep = co_await serve_stream(connection, request, session, stream, std::nullopt, true);
    asio::co_spawn(gateway_->io(), finish_stateless(session), [self = shared_from_this()](std::exception_ptr) {});
    co_return keep;
}

asio::awaitable<void> HttpFront::finish_stateless(std::shared_ptr<Session> session) {
    // A client that left before its answer gave up on the request (the era's cancellation).
    if (session->client->requests_unanswered() > 0) session->client->cancel_all("the client closed its stream");
    // Answered input_required for a session-era upstream, the request goes on until its upstream
    // answers; the client's retry (a request of its own) takes that answer. Its session, where
    // the upstream's questions wait, lives on till then.
    auto longest = config_.timeouts.request;
    for (const auto& upstream : config_.upstreams) longest = std::max(longest, upstream.timeouts.request);
    co_await session->client->wait_until_handled(longest);
    co_await end_session(session, "its request was answered");
}

asio::awaitable<bool> HttpFront::handle_get(Connection& connection, Request& request) {
    auto& message = request.message;
    auto reply = [&](http::status status, std::string text) -> asio::awaitable<bool> {
        co_return co_await respond(connection,
                                   make_response(message, status, error_body(error_code::invalid_request, text))) &&
            request.keep_alive();
    };
    if (!accepts(request.header("Accept"), "text/event-stream"))
        co_return co_await reply(http::status::not_acceptable, "a GET opens an event stream: accept text/event-stream");
    const std::string token(request.header(session_header));
    if (token.empty()) co_return co_await reply(http::status::bad_request, "expected an Mcp-Session-Id header");
    auto session = find_session(token);
    if (!session || session->subject != request.identity.subject || session->legacy)
        co_return co_await reply(http::status::not_found,
                                 "no session " + short_id(token) + "…: it ended or never existed; initialize again");
    session->touch();
    std::uint64_t stream = HttpChannel::listen_stream;
    std::optional<std::uint64_t> after;
    if (const auto last = request.header("Last-Event-ID"); !last.empty()) {
        if (auto found = session->channel->find_event(last)) {
            stream = found->first;
            after = found->second;
        } else {
            spdlog::debug("http: session {} resumes after event {}, which is no longer kept", short_id(token),
                          std::string(last));
        }
    }
    co_return co_await serve_stream(connection, request, session, stream, after, false);
}

asio::awaitable<bool> HttpFront::handle_delete(Connection& connection, Request& request) {
    auto& message = request.message;
    const std::string token(request.header(session_header));
    auto session = token.empty() ? nullptr : find_session(token);
    http::status status = http::status::ok;
    std::string body;
    if (token.empty()) {
        status = http::status::bad_request;
        body = error_body(error_code::invalid_request, "expected an Mcp-Session-Id header");
    } else if (!session || session->subject != request.identity.subject || session->legacy) {
        status = http::status::not_found;
        body = error_body(error_code::invalid_request, "no session " + short_id(token) + "…");
    } else {
        // Answered at once; the session's requests in flight are drained behind it.
        asio::co_spawn(gateway_->io(), end_session(session, "the client deleted it"),
                       [self = shared_from_this()](std::exception_ptr) {});
    }
    co_return co_await respond(connection, make_response(message, status, std::move(body))) && request.keep_alive();
}

asio::awaitable<bool> HttpFront::handle_legacy_stream(Connection& connection, Request& request) {
    if (!accepts(request.header("Accept"), "text/event-stream")) {
        co_return co_await respond(connection,
                                   make_response(request.message, http::status::not_acceptable,
                                                 error_body(error_code::invalid_request,
                                                            "the HTTP+SSE stream needs Accept: text/event-stream")));
    }
    auto session = open_session(request, true, connection.remote);
    if (!session) {
        co_return co_await respond(connection, make_response(request.message, http::status::service_unavailable,
                                                             error_body(error_code::overloaded,
                                                                        "the gateway serves its maximum of sessions")));
    }
    spdlog::info("http: HTTP+SSE session {} opened by {}", short_id(session->token), connection.remote);
    const std::string endpoint =
        "event: endpoint\ndata: " + config_.http.legacy_sse_path + "/messages?sessionId=" + session->token + "\n\n";
    co_await serve_stream(connection, request, session, HttpChannel::listen_stream, std::nullopt, false, endpoint);
    // The old transport has one stream per session: when it goes, so does the session.
    co_await end_session(session, "its HTTP+SSE stream closed");
    co_return false;
}

asio::awaitable<bool> HttpFront::serve_stream(Connection& connection, Request& request,
                                              std::shared_ptr<Session> session, std::uint64_t stream,
                                              std::optional<std::uint64_t> resume_after, bool json_if_answer_first,
                                              std::string first_event) {
    auto& channel = *session->channel;
    auto attachment = channel.attach(stream);
    if (!attachment) {
        co_return co_await respond(
            connection, make_response(request.message, http::status::not_found,
                                      error_body(error_code::invalid_request, "the session or stream has ended"))) &&
            request.keep_alive();
    }
    session->busy++;
    struct Release {
        Session& session;
        HttpChannel& channel;
        std::uint64_t stream, attachment;
        ~Release() {
            channel.detach(stream, attachment);
            session.touch();
            session.busy--;
        }
    } release{*session, channel, stream, attachment->id};

    // While an event stream is open its client sends nothing: a read that ends says the client
    // left, so the stream waits for a resuming client at once instead of at the next failed write.
    // (A plain JSON answer needs no watch: a client gone is seen when it is written.)
    struct Watch {
        std::array<char, 4096> bytes;
        std::size_t got = 0;
        std::atomic<bool> done{false};
        std::atomic<bool> gone{false};
        AsyncSignal finished;
    };
    auto watch = std::make_shared<Watch>();
    bool watching = false;
    std::function<void()> watch_peer = [&] {  // named: no temporary lives across the co_await below
        if (std::exchange(watching, true)) return;
        // The watch's read must never time out: stall timeouts are for writes.
        connection.transport_layer().expires_never();
        asio::co_spawn(
            connection.transport_layer().get_executor(),
            [owner = connection.shared_from_this(), watch, channel = session->channel, stream,
             id = attachment->id]() -> asio::awaitable<void> {
                boost::system::error_code error;
                watch->got = co_await owner->io([&](auto& transport) {
                    return transport.async_read_some(asio::buffer(watch->bytes),
                                                     asio::redirect_error(asio::use_awaitable, error));
                });
                if (error && error != asio::error::operation_aborted) {
                    watch->gone = true;
                    channel->detach(stream, id);
                }
                watch->done = true;
                watch->finished.notify_all();
            },
            asio::detached);
    };

    bool resumable = resume_after.has_value();  // a resuming client holds an event id already
    const bool keep = co_await write_events(connection, request, *session, stream, attachment->id,
                                            resume_after.value_or(attachment->written), json_if_answer_first,
                                            std::move(first_event), watch_peer, resumable);
    if (watching && !watch->done) {
        boost::system::error_code ignored;
        connection.transport_layer().socket().cancel(ignored);
        co_await watch->finished.wait_until([&] { return watch->done.load(); });
    }
    // Broken before the client learnt an event id: nobody can resume the stream.
    if (!keep && !resumable) channel.abandon(stream, attachment->id);
    if (watch->got > 0) {  // the client's next request, already on its way: parsed next
        auto space = connection.buffer.prepare(watch->got);
        std::memcpy(space.data(), watch->bytes.data(), watch->got);
        connection.buffer.commit(watch->got);
    }
    co_return keep && !watch->gone;
}

asio::awaitable<bool> HttpFront::write_events(Connection& connection, Request& request, Session& session_ref,
                                              std::uint64_t stream, std::uint64_t attachment_id, std::uint64_t cursor,
                                              bool json_if_answer_first, std::string first_event,
                                              const std::function<void()>& watch_peer, bool& resumable) {
    auto& message = request.message;
    bool headers_sent = false;
    auto* session = &session_ref;
    auto& channel = *session->channel;
    const bool chunked = message.version() >= 11;
    const bool keep_alive = chunked && request.keep_alive();
    // Priming events (an id before any message, so a client can resume from the start) are for
    // clients of 2025-11-25 and later: older ones may not take an event without data.
    const auto version = request.header(version_header);
    // The stateless era resumes nothing.
    const bool prime =
        !session->legacy && !session->stateless && !version.empty() && version >= std::string_view("2025-11-25");
    boost::system::error_code error;
    // In chunks of at most 64 KiB, the stall timeout renewed for each (as for respond()).
    auto write_text = [&](std::string text) -> asio::awaitable<bool> {
        constexpr std::size_t slice = 64 * 1024;
        for (std::size_t at = 0; at < text.size() && !error; at += slice) {
            const auto piece = asio::buffer(text.data() + at, std::min(slice, text.size() - at));
            connection.transport_layer().expires_after(config_.streams.stall_timeout);
            if (chunked)
                co_await connection.io([&](auto& transport) {
                    return asio::async_write(transport, http::make_chunk(piece),
                                             asio::redirect_error(asio::use_awaitable, error));
                });
            else
                co_await connection.io([&](auto& transport) {
                    return asio::async_write(transport, piece, asio::redirect_error(asio::use_awaitable, error));
                });
        }
        if (error == beast::error::timeout)
            spdlog::warn("http: session {}: the client at {} took nothing of its event stream for {} ms: closed",
                         short_id(session->token), connection.remote, config_.streams.stall_timeout.count());
        co_return !error;
    };
    auto start_events = [&]() -> asio::awaitable<bool> {
        // Written as text: the header alone, the body follows chunk by chunk as events come.
        std::string head =
            std::string(message.version() >= 11 ? "HTTP/1.1" : "HTTP/1.0") +
            " 200 OK\r\nServer: watchgate\r\nContent-Type: text/event-stream\r\n"
            "Cache-Control: no-cache\r\nX-Accel-Buffering: no\r\n" +
            (session->stateless ? std::string() : std::string(session_header) + ": " + session->token + "\r\n") +
            (chunked ? "Transfer-Encoding: chunked\r\n" : "") + (keep_alive ? "" : "Connection: close\r\n") + "\r\n";
        connection.transport_layer().expires_after(config_.streams.stall_timeout);
        co_await connection.io([&](auto& transport) {
            return asio::async_write(transport, asio::buffer(head), asio::redirect_error(asio::use_awaitable, error));
        });
        headers_sent = true;
        if (error) co_return false;
        watch_peer();
        std::string opening = std::move(first_event);
        if (prime) opening += "id: " + HttpChannel::event_id(stream, cursor) + "\ndata: \n\n";
        // Not `a || co_await b`: GCC 12 evaluates an awaited operand of || and && regardless.
        if (opening.empty()) co_return true;
        if (!co_await write_text(std::move(opening))) co_return false;
        resumable = prime;
        co_return true;
    };

    // A GET's stream opens at once (the old transport's endpoint event is its first word); a
    // POST's waits for what comes first: its answer alone is sent as JSON.
    if (!json_if_answer_first) {
        if (!co_await start_events()) co_return false;
    }
    // A stateless client that leaves cancels its request (the era's only way): watched from the
    // start, even while its answer may still go as JSON.
    if (session->stateless) watch_peer();
    for (;;) {
        auto batch = co_await channel.next(stream, attachment_id, cursor, Clock::now() + keep_alive_interval);
        if (!headers_sent) {
            if (json_if_answer_first && batch.ends && batch.events.size() == 1) {
                // The stateless era's transport says a method the server does not have is a 404
                // (with the -32601 body); the status is ours to choose only before any event.
                const auto status = session->stateless && is_method_not_found(batch.events.front().data)
                                        ? http::status::not_found
                                        : http::status::ok;
                auto response = make_response(message, status, std::move(batch.events.front().data));
                if (!session->stateless)
                    response.set(beast::string_view(session_header.data(), session_header.size()), session->token);
                const bool sent = co_await respond(connection, std::move(response));
                // A JSON answer cannot be resumed: written or not, it is done with.
                channel.written(stream, batch.events.front().sequence);
                co_return sent&& request.keep_alive();
            }
            if (batch.replaced || (batch.ends && batch.events.empty())) {
                co_return co_await respond(
                    connection,
                    make_response(message, batch.replaced ? http::status::conflict : http::status::not_found,
                                  error_body(error_code::invalid_request,
                                             batch.replaced ? "another connection took this stream over"
                                                            : "the session has ended"))) &&
                    request.keep_alive();
            }
            if (!co_await start_events()) co_return false;
        }
        if (batch.replaced) break;
        if (batch.events.empty() && !batch.ends) {
            if (!co_await write_text(": keep-alive\n\n")) co_return false;
            continue;
        }
        std::string text;
        for (const auto& event : batch.events) {
            if (!session->legacy && !session->stateless)
                text += "id: " + HttpChannel::event_id(stream, event.sequence) + "\n";
            text += "event: message\ndata: ";
            text += event.data;
            text += "\n\n";
        }
        if (!batch.events.empty()) {
            if (!co_await write_text(std::move(text))) co_return false;
            resumable = !session->legacy && !session->stateless;
            cursor = batch.events.back().sequence;
            channel.written(stream, cursor);
        }
        if (batch.ends) break;
    }
    if (!chunked) co_return false;
    connection.transport_layer().expires_after(config_.streams.stall_timeout);
    co_await connection.io([&](auto& transport) {
        return asio::async_write(transport, http::make_chunk_last(), asio::redirect_error(asio::use_awaitable, error));
    });
    co_return !error && keep_alive;
}

}  // namespace watchgate::core
