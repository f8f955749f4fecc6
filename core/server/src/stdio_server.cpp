#include <watchgate/core/server/stdio_server.hpp>

#include <watchgate/core/server/admin_server.hpp>
#include <watchgate/core/server/pid_file.hpp>
#include <watchgate/core/server/runtime.hpp>
#include <watchgate/core/server/stdio_listener.hpp>

#include <spdlog/spdlog.h>

#include <optional>

namespace watchgate::core {

int serve_stdio(const GatewayConfig& config, std::shared_ptr<PluginHost> plugins) {
    Runtime runtime(config, std::move(plugins));
    std::shared_ptr<AdminServer> admin;
    std::optional<PidFile> pid_file;
    try {
        admin = start_admin_server(runtime);
        if (config.pid_file) pid_file.emplace(*config.pid_file);
    } catch (const std::exception& e) {
        spdlog::error("{}", e.what());
        answer_startup_failure(e.what());
        return 1;
    }
    StdioListener stdio(runtime);
    stdio.start();
    runtime.gateway().start();
    runtime.run();
    stdio.flush();
    return runtime.exit_status();
}

}  // namespace watchgate::core
