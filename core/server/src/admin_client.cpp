#include <watchgate/core/server/admin_client.hpp>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>

#include <chrono>

namespace watchgate::core {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

std::optional<AdminAddress> admin_address(const GatewayConfig& config) {
    if (!config.admin || config.admin->port == 0) return std::nullopt;
    const auto& host = config.admin->host;
    return AdminAddress{host == "0.0.0.0" ? "127.0.0.1" : host == "::" ? "::1" : host, config.admin->port};
}

std::pair<unsigned, std::string> admin_request(const AdminAddress& address, const std::string& method,
                                               const std::string& target) {
    asio::io_context io;
    beast::tcp_stream stream(io);
    // A reload loads plugins and may wait for the control thread: longer than a scrape.
    stream.expires_after(std::chrono::seconds(60));
    asio::ip::tcp::resolver resolver(io);
    stream.connect(resolver.resolve(address.host, std::to_string(address.port)));
    http::request<http::empty_body> request{http::string_to_verb(method), target, 11};
    request.set(http::field::host, address.text());
    request.prepare_payload();
    http::write(stream, request);
    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(64u << 20);
    http::read(stream, buffer, parser);
    return {parser.get().result_int(), parser.get().body()};
}

}  // namespace watchgate::core
