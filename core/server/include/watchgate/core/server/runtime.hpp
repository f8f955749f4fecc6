#pragma once
// The gateway as a running process: one I/O thread (reading, writing, timers), a work pool of
// `proxy.threads` (requests and plugins, so a slow plugin never holds up reading, answers or
// deadlines), the control thread (the caller of run()), signals, and the drain on shutdown.
// Listeners open client sessions on its gateway and ask it to stop when their client goes away.

#include <watchgate/core/server/control_queue.hpp>
#include <watchgate/core/server/thread_pool.hpp>
#include <watchgate/core/session/gateway.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace watchgate::core {

// How a reload went: `ok` with what changed, or the errors that kept the running configuration.
struct ReloadOutcome {
    bool ok = false;
    std::string text;
};

class Runtime {
public:
    Runtime(const GatewayConfig& config, std::shared_ptr<PluginHost> plugins, UpstreamTransportFactory transports = {});
    ~Runtime();

    Gateway& gateway() { return *gateway_; }
    const GatewayConfig& config() const { return gateway_->config(); }
    boost::asio::any_io_executor io() { return io_pool_.context().get_executor(); }
    const std::shared_ptr<ControlQueue>& control() const { return control_; }

    // Until a stop is requested, on the calling thread (the control thread): runs what other
    // threads post there and handles signals. SIGINT/SIGTERM ask to stop (a second one cuts the
    // grace period for requests in flight short); SIGHUP has the plugins reopen their files and
    // then reloads the configuration. Then shuts the gateway down: requests drained within the
    // grace period, upstreams stopped.
    void run();
    // Re-reads the configuration file and puts it in place (Gateway::reload); a file with errors
    // is refused and the running configuration stays. On the control thread.
    ReloadOutcome reload();
    // The same from any coroutine on the I/O thread (the admin endpoint): runs on the control
    // thread, resumes with the outcome.
    boost::asio::awaitable<ReloadOutcome> request_reload();
    // The shutdown alone, for who does not run() (`watchgate call`).
    void shutdown();
    // Called on the control thread once a stop is asked, before the drain (a listener stops
    // taking new clients there).
    void before_shutdown(std::function<void()> hook) { before_shutdown_.push_back(std::move(hook)); }
    // After the shutdown: 1 when no upstream could ever be started and initialized, else 0.
    int exit_status();

private:
    // Drops the plugin instances a reload replaced once nothing else holds them: destroyed on
    // the control thread, as the ABI promises. On the control thread; comes back while any remain.
    void sweep_retired_plugins();

    // Declared first, destroyed last: whatever the I/O pool's pending handlers still own when it
    // is destroyed (a reader holds a session) may own strands of the work pool.
    ThreadPool work_pool_;
    ThreadPool io_pool_;
    std::shared_ptr<Gateway> gateway_;
    std::vector<std::shared_ptr<PluginInstance>> retired_plugins_;  // control thread only
    bool sweep_scheduled_ = false;                                  // control thread only
    std::shared_ptr<ControlQueue> control_ = std::make_shared<ControlQueue>();
    std::vector<std::function<void()>> before_shutdown_;
};

// Signal dispositions the gateway relies on, whatever it inherited: a peer that went away is an
// error value (no SIGPIPE), and exited upstreams can be reaped (SIGCHLD not ignored).
void prepare_signals();

}  // namespace watchgate::core
