#pragma once
// The admin listener (`admin:` in the configuration, docs/operations.md): GET /metrics (the
// Prometheus text format), /healthz (the process answers), /readyz (every shared upstream is
// initialized) and POST /reload (`watchgate reload`). Small and bounded: a few connections at
// once, short requests, no bodies.

#include <watchgate/core/config/config.hpp>
#include <watchgate/core/server/runtime.hpp>
#include <watchgate/core/session/gateway.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <atomic>
#include <functional>
#include <memory>
#include <string>

namespace watchgate::core {

class AdminServer : public std::enable_shared_from_this<AdminServer> {
public:
    // Reloads the configuration (Runtime::request_reload); without one, /reload answers 404.
    using Reloader = std::function<boost::asio::awaitable<ReloadOutcome>()>;
    static std::shared_ptr<AdminServer> create(std::shared_ptr<Gateway> gateway, AdminConfig config,
                                               Reloader reloader = {});

    // Binds the port. Throws std::runtime_error "admin: cannot listen on host:port: why".
    void listen();
    // Accepts on the gateway's I/O thread; logs "admin: listening on http://host:port".
    void start();
    // No new connection from now on; those open end after their current request.
    void stop();
    std::uint16_t port() const;

    // The answer to one request: status, content type, body. Public for the tests.
    struct Reply {
        unsigned status = 200;
        std::string content_type = "text/plain; charset=utf-8";
        std::string body;
        std::string allow = "GET, HEAD";  // the methods a 405 names
    };
    Reply answer(const std::string& method, const std::string& target);

private:
    AdminServer(std::shared_ptr<Gateway> gateway, AdminConfig config, Reloader reloader);
    boost::asio::awaitable<void> accept_loop();
    boost::asio::awaitable<void> serve(boost::asio::ip::tcp::socket socket);

    std::shared_ptr<Gateway> gateway_;
    AdminConfig config_;
    Reloader reloader_;
    boost::asio::ip::tcp::acceptor acceptor_;
    std::atomic<int> connections_{0};
    std::atomic<bool> stopping_{false};
};

// When the configuration has `admin:`, binds and starts it on `runtime` and stops it when a stop
// is asked; else returns null. Throws std::runtime_error when the port cannot be had.
std::shared_ptr<AdminServer> start_admin_server(Runtime& runtime);

}  // namespace watchgate::core
