#pragma once
// Opening a listening socket on a configured host and port, with the error a user can act on.

#include <boost/asio/ip/tcp.hpp>

#include <cstdint>
#include <string>

namespace watchgate::core {

// Opens, binds and listens `acceptor` on `host` (an address or a name) and `port` (0: any free
// one). Throws std::runtime_error "cannot listen on host:port: why".
void listen_on(boost::asio::ip::tcp::acceptor& acceptor, const std::string& host, std::uint16_t port);

}  // namespace watchgate::core
