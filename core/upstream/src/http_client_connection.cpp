#include <watchgate/core/upstream/http_client_connection.hpp>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <stdexcept>

namespace watchgate::core {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

std::shared_ptr<ssl::context> HttpClientConnection::tls_context(const std::optional<std::filesystem::path>& ca_file,
                                                                bool verify) {
    auto context = std::make_shared<ssl::context>(ssl::context::tls_client);
    context->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                         ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
    boost::system::error_code error;
    context->set_default_verify_paths(error);
    if (ca_file) {
        context->load_verify_file(ca_file->string(), error);
        if (error)
            throw std::runtime_error("tls.ca_file " + ca_file->string() +
                                     ": not a usable CA certificate (PEM): " + error.message());
    }
    context->set_verify_mode(verify ? ssl::verify_peer : ssl::verify_none);
    return context;
}

HttpClientConnection::HttpClientConnection(asio::any_io_executor executor, std::shared_ptr<ssl::context> tls)
    : tls_(std::move(tls)) {
    if (tls_)
        secure_.emplace(beast::tcp_stream(executor), *tls_);
    else
        plain_.emplace(executor);
}

asio::awaitable<HttpClientConnection::Endpoints> HttpClientConnection::resolve(asio::any_io_executor executor,
                                                                               const Url& url) {
    boost::system::error_code not_an_address;
    const auto address = asio::ip::make_address(url.host, not_an_address);
    if (!not_an_address) co_return Endpoints{tcp::endpoint(address, url.port)};
    tcp::resolver resolver(executor);
    const auto results = co_await resolver.async_resolve(url.host, std::to_string(url.port), asio::use_awaitable);
    Endpoints endpoints;
    for (const auto& entry : results) endpoints.push_back(entry.endpoint());
    co_return endpoints;
}

asio::awaitable<std::unique_ptr<HttpClientConnection>> HttpClientConnection::open(
    asio::any_io_executor executor, const Url& url, const Endpoints& endpoints, std::shared_ptr<ssl::context> tls,
    bool verify, std::chrono::milliseconds timeout) {
    auto connection = std::make_unique<HttpClientConnection>(executor, url.tls ? std::move(tls) : nullptr);
    auto& layer = connection->transport_layer();
    layer.expires_after(timeout);
    co_await layer.async_connect(endpoints, asio::use_awaitable);
    layer.socket().set_option(tcp::no_delay(true));
    // A stream open for hours (the session's GET, the old transport's) learns of a peer that
    // vanished (a NAT or a balancer dropping it) from the kernel's probes: within about a minute.
    layer.socket().set_option(asio::socket_base::keep_alive(true));
    const int idle = 30, interval = 10, probes = 3;
    ::setsockopt(layer.socket().native_handle(), IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle);
    ::setsockopt(layer.socket().native_handle(), IPPROTO_TCP, TCP_KEEPINTVL, &interval, sizeof interval);
    ::setsockopt(layer.socket().native_handle(), IPPROTO_TCP, TCP_KEEPCNT, &probes, sizeof probes);
    if (connection->secure_) {
        auto& stream = *connection->secure_;
        // SNI (for a name, not an address): a server hosting several names needs to know which
        // one is asked for.
        boost::system::error_code not_an_address;
        asio::ip::make_address(url.host, not_an_address);
        if (not_an_address && !SSL_set_tlsext_host_name(stream.native_handle(), url.host.c_str()))
            throw boost::system::system_error(static_cast<int>(::ERR_get_error()), asio::error::get_ssl_category(),
                                              "TLS server name");
        if (verify) stream.set_verify_callback(ssl::host_name_verification(url.host));
        co_await stream.async_handshake(ssl::stream_base::client, asio::use_awaitable);
    }
    layer.expires_never();
    co_return connection;
}

void HttpClientConnection::close() {
    boost::system::error_code ignored;
    transport_layer().socket().shutdown(tcp::socket::shutdown_both, ignored);
    transport_layer().close();
}

}  // namespace watchgate::core
