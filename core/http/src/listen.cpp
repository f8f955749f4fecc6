#include <watchgate/core/http/listen.hpp>

#include <stdexcept>

namespace watchgate::core {

void listen_on(boost::asio::ip::tcp::acceptor& acceptor, const std::string& host, std::uint16_t port) {
    using boost::asio::ip::tcp;
    const std::string where = host + ":" + std::to_string(port);
    boost::system::error_code error;
    tcp::resolver resolver(acceptor.get_executor());
    auto results =
        resolver.resolve(host, std::to_string(port), tcp::resolver::passive | tcp::resolver::numeric_service, error);
    if (error || results.empty())
        throw std::runtime_error("cannot listen on " + where + ": the address does not resolve (" + error.message() +
                                 ")");
    const tcp::endpoint endpoint = results.begin()->endpoint();
    acceptor.open(endpoint.protocol(), error);
    if (!error) acceptor.set_option(tcp::acceptor::reuse_address(true), error);
    if (!error) acceptor.bind(endpoint, error);
    if (!error) acceptor.listen(boost::asio::socket_base::max_listen_connections, error);
    if (error) throw std::runtime_error("cannot listen on " + where + ": " + error.message());
}

}  // namespace watchgate::core
