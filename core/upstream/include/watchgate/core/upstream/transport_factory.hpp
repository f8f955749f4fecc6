#pragma once
// The transports the gateway makes for its upstreams: a child process for `command:`, HTTP for
// `url:` (by its `transport:`).

#include <watchgate/core/base/stream_limits.hpp>
#include <watchgate/core/upstream/upstream_transport.hpp>

#include <boost/asio/any_io_executor.hpp>

#include <cstddef>

namespace watchgate::core {

// `executor` runs the transports' I/O; `max_message_size` bounds one message from a server.
UpstreamTransportFactory upstream_transports(boost::asio::any_io_executor executor, std::size_t max_message_size,
                                             StreamLimits streams);

}  // namespace watchgate::core
