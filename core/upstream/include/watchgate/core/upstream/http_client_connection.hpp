#pragma once
// One connection from the gateway to a remote server: TCP, with TLS over it for https (the
// server's name sent and, unless turned off, its certificate and host name checked).

#include <watchgate/core/base/url.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <vector>

namespace watchgate::core {

class HttpClientConnection {
public:
    // The TLS settings for every connection to one server; throws std::runtime_error naming a
    // CA file that cannot be used.
    static std::shared_ptr<boost::asio::ssl::context> tls_context(const std::optional<std::filesystem::path>& ca_file,
                                                                  bool verify);

    using Endpoints = std::vector<boost::asio::ip::tcp::endpoint>;
    // The addresses of `url`'s host: an address as it is, a name through the resolver. Throws
    // boost::system::system_error when the name does not resolve.
    static boost::asio::awaitable<Endpoints> resolve(boost::asio::any_io_executor executor, const Url& url);

    // Connects to one of `endpoints` (and shakes hands over TLS when `url` is https) within
    // `timeout`; throws boost::system::system_error saying which step failed.
    static boost::asio::awaitable<std::unique_ptr<HttpClientConnection>> open(
        boost::asio::any_io_executor executor, const Url& url, const Endpoints& endpoints,
        std::shared_ptr<boost::asio::ssl::context> tls, bool verify, std::chrono::milliseconds timeout);

    explicit HttpClientConnection(boost::asio::any_io_executor executor,
                                  std::shared_ptr<boost::asio::ssl::context> tls = {});

    // The TCP layer: timeouts, closing.
    boost::beast::tcp_stream& transport_layer() { return secure_ ? boost::beast::get_lowest_layer(*secure_) : *plain_; }
    // Runs `operation` on the stream the HTTP bytes go through; both kinds give the same awaitable.
    template <class Operation>
    auto io(Operation&& operation) {
        if (secure_) return operation(*secure_);
        return operation(*plain_);
    }
    boost::beast::flat_buffer& buffer() { return buffer_; }
    void close();

    // Whether it served an exchange before (a server may have closed it since), and since when it
    // waits unused.
    bool reused = false;
    std::chrono::steady_clock::time_point idle_since;

private:
    std::shared_ptr<boost::asio::ssl::context> tls_;  // outlives the stream using it
    std::optional<boost::beast::tcp_stream> plain_;
    std::optional<boost::beast::ssl_stream<boost::beast::tcp_stream>> secure_;
    boost::beast::flat_buffer buffer_;
};

}  // namespace watchgate::core
