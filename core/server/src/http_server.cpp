#include <watchgate/core/server/http_server.hpp>

#include <watchgate/core/http/http_front.hpp>
#include <watchgate/core/server/admin_server.hpp>
#include <watchgate/core/server/pid_file.hpp>
#include <watchgate/core/server/runtime.hpp>

#include <boost/asio/co_spawn.hpp>

#include <spdlog/spdlog.h>

#include <optional>

#include <future>

namespace watchgate::core {

int serve_http(const GatewayConfig& config, std::shared_ptr<PluginHost> plugins) {
    Runtime runtime(config, std::move(plugins));
    auto front = HttpFront::create(runtime.gateway().shared_from_this());
    std::shared_ptr<AdminServer> admin;
    std::optional<PidFile> pid_file;
    try {
        front->listen();
        admin = start_admin_server(runtime);
        if (config.pid_file) pid_file.emplace(*config.pid_file);
    } catch (const std::exception& e) {
        spdlog::error("{}", e.what());
        return 1;
    }
    runtime.before_shutdown([front] { front->stop_accepting(); });
    front->start();
    runtime.gateway().start();
    runtime.run();
    std::promise<void> stopped;
    boost::asio::co_spawn(runtime.io(), front->stop(), [&](std::exception_ptr) { stopped.set_value(); });
    stopped.get_future().wait();
    return runtime.exit_status();
}

}  // namespace watchgate::core
