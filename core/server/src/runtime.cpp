#include <watchgate/core/server/runtime.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>

#include <spdlog/spdlog.h>

#include <signal.h>

#include <algorithm>
#include <functional>
#include <future>

namespace watchgate::core {

namespace asio = boost::asio;

void prepare_signals() {
    ::signal(SIGPIPE, SIG_IGN);
    ::signal(SIGCHLD, SIG_DFL);
}

Runtime::Runtime(const GatewayConfig& config, std::shared_ptr<PluginHost> plugins, UpstreamTransportFactory transports)
    : work_pool_(config.threads), io_pool_(1), plugins_(plugins) {
    prepare_signals();
    gateway_ =
        Gateway::create(io(), work_pool_.context().get_executor(), config, std::move(plugins), std::move(transports));
}

Runtime::~Runtime() = default;

void Runtime::run() {
    auto control = control_;
    asio::signal_set stops(io_pool_.context(), SIGINT, SIGTERM);
    std::function<void()> wait_for_stop = [&] {
        stops.async_wait([&, control](boost::system::error_code error, int number) {
            if (error) return;
            if (control->stopping()) {
                spdlog::info("signal {} received again: not waiting for requests in flight", number);
                gateway_->hurry();
                return;
            }
            spdlog::info("signal {} received: shutting down", number);
            control->request_stop();
            wait_for_stop();
        });
    };
    wait_for_stop();
    // SIGHUP: plugins reopen their files (logrotate), the gateway keeps serving. The handler runs
    // on the I/O thread; `reopen` runs on this one, as the ABI promises.
    asio::signal_set hangups(io_pool_.context(), SIGHUP);
    std::function<void()> wait_for_hangup = [&] {
        hangups.async_wait([&, control, plugins = plugins_](boost::system::error_code error, int) {
            if (error) return;
            spdlog::info("SIGHUP received: plugins reopen their files");
            control->post([plugins] { plugins->reopen(); });
            wait_for_hangup();
        });
    };
    wait_for_hangup();

    control->run();
    for (auto& hook : before_shutdown_) hook();
    shutdown();  // a second SIGINT/SIGTERM during it still cuts the grace period short
    // Cancelled on their own thread: a signal_set is not safe to touch from two threads at once.
    std::promise<void> cancelled;
    asio::post(io_pool_.context(), [&] {
        stops.cancel();
        hangups.cancel();
        cancelled.set_value();
    });
    cancelled.get_future().wait();
}

void Runtime::shutdown() {
    std::promise<void> done;
    asio::co_spawn(io(), gateway_->shutdown(), [&](std::exception_ptr) { done.set_value(); });
    done.get_future().wait();
}

int Runtime::exit_status() {
    // A gateway none of whose upstreams ever worked did not do its job: its exit says so.
    const auto upstreams = gateway_->pool().all();
    if (!upstreams.empty() &&
        std::none_of(upstreams.begin(), upstreams.end(), [](const auto& upstream) { return upstream->ever_ready(); })) {
        spdlog::error("stopped; no upstream could ever be started and initialized: exit status 1");
        return 1;
    }
    spdlog::info("stopped");
    return 0;
}

}  // namespace watchgate::core
