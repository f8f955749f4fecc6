#include <watchgate/core/server/runtime.hpp>

#include <watchgate/core/base/metrics.hpp>
#include <watchgate/core/config/reload_rules.hpp>
#include <watchgate/core/server/otlp_exporter.hpp>

#include <boost/asio/async_result.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
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
    : work_pool_(config.threads), io_pool_(1) {
    prepare_signals();
    gateway_ =
        Gateway::create(io(), work_pool_.context().get_executor(), config, std::move(plugins), std::move(transports));
    if (config.tracing) {
        auto exporter = std::make_shared<OtlpExporter>(*config.tracing);
        gateway_->set_tracer(exporter);
        spdlog::info("tracing: spans go to {} (OTLP/HTTP, JSON)", config.tracing->endpoint);
    }
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
    // SIGHUP: plugins reopen their files (logrotate), then the configuration is read again; the
    // gateway keeps serving. The handler runs on the I/O thread; `reopen` and the plugins' create
    // run on this one, as the ABI promises.
    asio::signal_set hangups(io_pool_.context(), SIGHUP);
    std::function<void()> wait_for_hangup = [&] {
        hangups.async_wait([&, control](boost::system::error_code error, int) {
            if (error) return;
            spdlog::info("SIGHUP received: plugins reopen their files, then the configuration is reloaded");
            control->post([this] {
                gateway_->snapshot()->plugins->reopen();
                reload();
            });
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
    retired_plugins_.clear();  // every request has ended: destroyed here, on the control thread
}

ReloadOutcome Runtime::reload() {
    auto& reloads =
        process_metrics().family("watchgate_reloads_total", "Configuration reloads asked for, by outcome (ok, refused)",
                                 MetricKind::counter, {"outcome"});
    auto running = gateway_->snapshot();
    const auto file = running->config->file;
    try {
        GatewayConfig config;
        try {
            config = load_config(file);
        } catch (const ConfigErrors& errors) {
            // Every error at once, the plugins' own included, as `watchgate validate` reports them
            // (only checked: nothing is created for serving).
            if (errors.partial) PluginHost::load_all(file, LoadPurpose::validate);
            throw;
        }
        if (auto errors = restart_only_changes(gateway_->config(), config); !errors.empty())
            throw ConfigErrors(std::move(errors));
        auto plugins = PluginHost::load(config, LoadPurpose::serve, running->plugins.get());
        const auto report = gateway_->reload(std::move(config), plugins);
        const auto kept = plugins->instances();
        for (auto& instance : running->plugins->instances())
            if (std::find(kept.begin(), kept.end(), instance) == kept.end()) retired_plugins_.push_back(instance);
        running.reset();
        if (!sweep_scheduled_) sweep_retired_plugins();
        reloads.add({"ok"}, 1);
        spdlog::info("reloaded {}: {}", file.string(), report.summary());
        return {true, "reloaded " + file.string() + ": " + report.summary() + "\n"};
    } catch (const std::exception& error) {
        std::string text;
        if (const auto* errors = dynamic_cast<const ConfigErrors*>(&error)) {
            for (const auto& e : errors->errors) text += e.format() + "\n";
            text += std::to_string(errors->errors.size()) + (errors->errors.size() == 1 ? " error" : " errors");
        } else {
            text = error.what();
        }
        reloads.add({"refused"}, 1);
        spdlog::error("reload refused, the running configuration stays:\n{}", text);
        return {false, "reload refused, the running configuration stays:\n" + text + "\n"};
    }
}

asio::awaitable<ReloadOutcome> Runtime::request_reload() {
    auto resume_on = co_await asio::this_coro::executor;
    co_return co_await asio::async_initiate<decltype(asio::use_awaitable), void(ReloadOutcome)>(
        [this, resume_on](auto handler) {
            auto pending = std::make_shared<decltype(handler)>(std::move(handler));
            control_->post([this, pending, resume_on] {
                asio::post(resume_on, [pending, outcome = reload()]() mutable { (*pending)(std::move(outcome)); });
            });
        },
        asio::use_awaitable);
}

void Runtime::sweep_retired_plugins() {
    sweep_scheduled_ = false;
    std::erase_if(retired_plugins_, [](const auto& instance) { return instance.use_count() == 1; });
    if (retired_plugins_.empty()) return;
    sweep_scheduled_ = true;
    auto timer = std::make_shared<asio::steady_timer>(io(), std::chrono::milliseconds(200));
    timer->async_wait([this, timer, control = control_](boost::system::error_code error) {
        if (!error) control->post([this] { sweep_retired_plugins(); });
    });
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
