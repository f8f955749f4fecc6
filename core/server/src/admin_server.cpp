#include <watchgate/core/server/admin_server.hpp>

#include <watchgate/core/base/version.hpp>
#include <watchgate/core/http/listen.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>

#include <spdlog/spdlog.h>

#include <chrono>

namespace watchgate::core {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

// Scrapers and probes keep a connection or two; more than this at once is not a monitor.
constexpr int max_connections = 16;
constexpr std::size_t max_header_bytes = 8 * 1024;
constexpr auto request_timeout = std::chrono::seconds(10);
constexpr int max_requests_per_connection = 1000;

}  // namespace

AdminServer::AdminServer(std::shared_ptr<Gateway> gateway, AdminConfig config, Reloader reloader)
    : gateway_(std::move(gateway)),
      config_(std::move(config)),
      reloader_(std::move(reloader)),
      acceptor_(gateway_->io()) {}

std::shared_ptr<AdminServer> AdminServer::create(std::shared_ptr<Gateway> gateway, AdminConfig config,
                                                 Reloader reloader) {
    return std::shared_ptr<AdminServer>(new AdminServer(std::move(gateway), std::move(config), std::move(reloader)));
}

void AdminServer::listen() {
    try {
        listen_on(acceptor_, config_.host, config_.port);
    } catch (const std::exception& e) {
        throw std::runtime_error(std::string("admin: ") + e.what());
    }
}

std::uint16_t AdminServer::port() const { return acceptor_.local_endpoint().port(); }

void AdminServer::start() {
    const auto endpoint = acceptor_.local_endpoint();
    spdlog::info("admin: listening on http://{}:{}/metrics (and /healthz, /readyz)", endpoint.address().to_string(),
                 endpoint.port());
    asio::co_spawn(acceptor_.get_executor(), accept_loop(), [self = shared_from_this()](std::exception_ptr) {});
}

void AdminServer::stop() {
    stopping_ = true;
    asio::post(acceptor_.get_executor(), [self = shared_from_this()] {
        boost::system::error_code ignored;
        self->acceptor_.close(ignored);
    });
}

asio::awaitable<void> AdminServer::accept_loop() {
    for (;;) {
        boost::system::error_code error;
        tcp::socket socket = co_await acceptor_.async_accept(asio::redirect_error(asio::use_awaitable, error));
        if (error == asio::error::operation_aborted || !acceptor_.is_open()) co_return;
        if (error) continue;  // a connection that failed on its way in
        if (connections_ >= max_connections) {
            socket.close(error);  // over the limit: refused, the others go on
            continue;
        }
        ++connections_;
        asio::co_spawn(acceptor_.get_executor(), serve(std::move(socket)),
                       [self = shared_from_this()](std::exception_ptr) { --self->connections_; });
    }
}

asio::awaitable<void> AdminServer::serve(tcp::socket socket) {
    beast::tcp_stream stream(std::move(socket));
    beast::flat_buffer buffer;
    for (int served = 0; served < max_requests_per_connection && !stopping_; ++served) {
        http::request_parser<http::empty_body> parser;
        parser.header_limit(max_header_bytes);
        parser.body_limit(0);  // no endpoint takes a body
        stream.expires_after(request_timeout);
        boost::system::error_code error;
        co_await http::async_read(stream, buffer, parser, asio::redirect_error(asio::use_awaitable, error));
        Reply reply;
        bool keep = false;
        if (error == http::error::end_of_stream || error == beast::error::timeout ||
            error == asio::error::connection_reset || error == asio::error::eof)
            co_return;
        if (error) {
            reply = {400, "text/plain; charset=utf-8", "bad request: " + error.message() + "\n"};
        } else {
            const auto& request = parser.get();
            const std::string target(request.target());
            if (reloader_ && target.substr(0, target.find('?')) == "/reload" && request.method() == http::verb::post) {
                // The reload itself runs on the control thread; this connection waits for it.
                const auto outcome = co_await reloader_();
                reply = {outcome.ok ? 200u : 422u, "text/plain; charset=utf-8", outcome.text};
            } else {
                reply = answer(std::string(request.method_string()), target);
            }
            keep = request.keep_alive();
            if (request.method() == http::verb::head) reply.body.clear();
        }
        http::response<http::string_body> response{static_cast<http::status>(reply.status), 11};
        response.set(http::field::server, "watchgate");
        response.set(http::field::content_type, reply.content_type);
        if (reply.status == 405) response.set(http::field::allow, reply.allow);
        response.keep_alive(keep);
        response.body() = std::move(reply.body);
        response.prepare_payload();
        stream.expires_after(request_timeout);
        co_await http::async_write(stream, response, asio::redirect_error(asio::use_awaitable, error));
        if (error || !keep) break;
    }
    boost::system::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
}

AdminServer::Reply AdminServer::answer(const std::string& method, const std::string& target) {
    const std::string path = target.substr(0, target.find('?'));
    const bool known = path == "/metrics" || path == "/healthz" || path == "/readyz";
    if (path == "/reload" && reloader_) return {405, "text/plain; charset=utf-8", "only POST\n", "POST"};
    if (!known)
        return {404, "text/plain; charset=utf-8",
                std::string("not found: the admin endpoint serves /metrics, /healthz, /readyz") +
                    (reloader_ ? " and POST /reload\n" : "\n")};
    if (method != "GET" && method != "HEAD") return {405, "text/plain; charset=utf-8", "only GET and HEAD\n"};
    if (path == "/healthz") return {200, "text/plain; charset=utf-8", "ok\n"};
    if (path == "/readyz") {
        if (stopping_) return {503, "text/plain; charset=utf-8", "not ready: stopping\n"};
        return gateway_->ready()
                   ? Reply{200, "text/plain; charset=utf-8", "ready\n"}
                   : Reply{503, "text/plain; charset=utf-8", "not ready: an upstream is not initialized\n"};
    }
    Metrics& metrics = process_metrics();
    metrics.family("watchgate_build_info", "The running gateway's version", MetricKind::gauge, {"version"})
        .set({version_text}, 1);
    gateway_->export_state(metrics);
    return {200, "text/plain; version=0.0.4; charset=utf-8", metrics.render()};
}

std::shared_ptr<AdminServer> start_admin_server(Runtime& runtime) {
    if (!runtime.config().admin) return nullptr;
    auto admin = AdminServer::create(runtime.gateway().shared_from_this(), *runtime.config().admin,
                                     [&runtime] { return runtime.request_reload(); });
    admin->listen();
    admin->start();
    runtime.before_shutdown([admin] { admin->stop(); });
    return admin;
}

}  // namespace watchgate::core
