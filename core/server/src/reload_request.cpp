#include <watchgate/core/server/reload_request.hpp>

#include <watchgate/core/server/admin_client.hpp>
#include <watchgate/core/server/pid_file.hpp>

#include <boost/system/system_error.hpp>

#include <signal.h>

#include <cerrno>
#include <cstring>

namespace watchgate::core {

int request_reload(const GatewayConfig& config, const std::optional<std::filesystem::path>& pid_file, std::ostream& out,
                   std::ostream& err) {
    const auto address = admin_address(config);
    if (address && !pid_file) {
        try {
            auto [status, body] = admin_request(*address, "POST", "/reload");
            (status == 200 ? out : err) << body;
            if (status == 200 || status == 422) return status == 200 ? 0 : 1;
            err << "error: the admin endpoint at " << address->text() << " answered " << status
                << " to POST /reload: is it a Watchgate of this version?\n";
            return 1;
        } catch (const boost::system::system_error& e) {
            err << "error: cannot reach the admin endpoint at " << address->text() << ": " << e.code().message()
                << " (is the gateway running?)\n";
            return 1;
        }
    }
    const auto file = pid_file ? pid_file : config.pid_file;
    if (!file) {
        err << "error: no way to reach the running gateway: " << config.file.string()
            << " has neither admin: {port: N} nor pid_file: (docs/operations.md), and no --pid-file was given\n";
        return 2;
    }
    try {
        const pid_t pid = read_pid_file(*file);
        if (::kill(pid, SIGHUP) != 0) {
            err << "error: cannot signal process " << pid << " (from " << file->string()
                << "): " << std::strerror(errno) << "\n";
            return 1;
        }
        out << "sent SIGHUP to the gateway (pid " << pid << "); its log says whether the configuration was reloaded\n";
        return 0;
    } catch (const std::runtime_error& e) {
        err << "error: " << e.what() << "\n";
        return 1;
    }
}

}  // namespace watchgate::core
