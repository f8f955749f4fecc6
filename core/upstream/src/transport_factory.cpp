#include <watchgate/core/upstream/transport_factory.hpp>

#include <watchgate/core/config/config.hpp>
#include <watchgate/core/upstream/http_transport.hpp>
#include <watchgate/core/upstream/process_transport.hpp>

namespace watchgate::core {

UpstreamTransportFactory upstream_transports(boost::asio::any_io_executor executor, std::size_t max_message_size,
                                             StreamLimits streams) {
    return [executor, max_message_size, streams](const UpstreamConfig& config) -> std::shared_ptr<UpstreamTransport> {
        if (config.transport == UpstreamTransportKind::stdio)
            return std::make_shared<ProcessTransport>(executor, config, max_message_size, streams);
        return std::make_shared<HttpTransport>(executor, config, max_message_size, streams);
    };
}

}  // namespace watchgate::core
