#include <watchgate/core/server/stdio_server.hpp>

#include <watchgate/core/session/gateway.hpp>
#include <watchgate/core/base/line_splitter.hpp>
#include <watchgate/core/base/line_writer.hpp>
#include <watchgate/core/base/read_lines.hpp>
#include <watchgate/core/base/version.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <spdlog/sinks/rotating_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <future>
#include <iostream>
#include <thread>

namespace watchgate::core {

namespace asio = boost::asio;
using nlohmann::json;

namespace {

// Runs an io_context on `threads` threads until stopped; joins on destruction.
class Pool {
public:
    explicit Pool(int threads) : context_(threads), guard_(asio::make_work_guard(context_)) {
        for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { context_.run(); });
    }
    ~Pool() { stop(); }
    void stop() {
        guard_.reset();
        context_.stop();
        for (auto& thread : threads_)
            if (thread.joinable()) thread.join();
    }
    asio::io_context& context() { return context_; }

private:
    asio::io_context context_;
    asio::executor_work_guard<asio::io_context::executor_type> guard_;
    std::vector<std::thread> threads_;
};

// stdout: asynchronous when it is a pipe or socket; a file or terminal is written directly.
// `on_stalled` is called when the client takes nothing for the stall timeout while lines wait.
std::function<void(std::string)> stdout_sink(asio::any_io_executor executor, const StreamLimits& limits,
                                             std::function<void()> on_stalled, std::shared_ptr<LineWriter>& writer) {
    struct stat info {};
    ::fstat(STDOUT_FILENO, &info);
    if (S_ISFIFO(info.st_mode) || S_ISSOCK(info.st_mode)) {
        writer = std::make_shared<LineWriter>(executor, ::fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 0), limits,
                                              std::move(on_stalled));
        return [writer](std::string line) { writer->write(std::move(line)); };
    }
    auto mutex = std::make_shared<std::mutex>();
    return [mutex](std::string line) {
        line += '\n';
        std::lock_guard lock(*mutex);
        for (std::size_t done = 0; done < line.size();) {
            ssize_t n = ::write(STDOUT_FILENO, line.data() + done, line.size() - done);
            if (n < 0 && errno == EINTR) continue;
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
                pollfd ready{STDOUT_FILENO, POLLOUT, 0};
                ::poll(&ready, 1, 1000);
                continue;
            }
            if (n <= 0) return;  // stdout is gone: nothing left to tell
            done += static_cast<std::size_t>(n);
        }
    };
}

}  // namespace

void configure_logging(const LoggingConfig& logging, int verbosity) {
    std::vector<spdlog::sink_ptr> sinks;
    if (logging.to_stderr || !logging.file_path)
        sinks.push_back(std::make_shared<spdlog::sinks::stderr_color_sink_mt>());
    if (logging.file_path) {
        std::filesystem::create_directories(logging.file_path->parent_path());
        sinks.push_back(std::make_shared<spdlog::sinks::rotating_file_sink_mt>(
            logging.file_path->string(), static_cast<std::size_t>(logging.max_file_size_mb) << 20,
            static_cast<std::size_t>(logging.backup_count)));
    }
    auto logger = std::make_shared<spdlog::logger>("watchgate", sinks.begin(), sinks.end());
    logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
    auto level = spdlog::level::from_str(logging.level == "warning" ? "warn" : logging.level);
    if (verbosity >= 2)
        level = spdlog::level::trace;
    else if (verbosity == 1)
        level = std::min(level, spdlog::level::debug);
    logger->set_level(level);
    logger->flush_on(spdlog::level::warn);
    spdlog::set_default_logger(logger);
}

void answer_startup_failure(const std::string& message) {
    if (::isatty(STDIN_FILENO)) return;
    std::string line;
    json id = nullptr;
    if (std::getline(std::cin, line)) {
        auto parsed = json::parse(line, nullptr, false);
        if (parsed.is_object() && parsed.contains("id")) id = parsed["id"];
    }
    std::cout << dump_json(make_error_response(id, error_code::internal, "Watchgate failed to start: " + message))
              << "\n"
              << std::flush;
}

// Signal dispositions the gateway relies on, whatever it inherited: a peer that went away is an
// error value (no SIGPIPE), and exited upstreams can be reaped (SIGCHLD not ignored).
static void prepare_signals() {
    ::signal(SIGPIPE, SIG_IGN);
    ::signal(SIGCHLD, SIG_DFL);
}

int serve_stdio(const GatewayConfig& config, std::shared_ptr<PluginHost> plugins) {
    prepare_signals();
    // Reading, writing and timers on one pool; requests and plugins on another, so a slow plugin
    // never holds up reading, answers from upstreams or the deadlines.
    // Declared first, destroyed last: whatever the I/O pool's pending handlers still own when it is
    // destroyed (the reader holds the gateway) may own strands of the work pool.
    Pool work_pool(config.threads);
    Pool io_pool(1);
    auto executor = io_pool.context().get_executor();

    // This thread is the control thread: it created the plugin instances, and the ABI promises
    // `reopen` on it (docs/plugin-abi.md "Threads"). Signal handlers run on the I/O thread and
    // hand it their work. Shared with the reader, which may outlive this frame in read().
    struct Control {
        std::mutex mutex;
        std::condition_variable wake;
        std::deque<std::function<void()>> tasks;
        std::atomic<bool> stopping{false};
        void request() {
            {
                std::lock_guard lock(mutex);
                if (stopping.exchange(true)) return;
            }
            wake.notify_all();
        }
        void post(std::function<void()> task) {
            {
                std::lock_guard lock(mutex);
                tasks.push_back(std::move(task));
            }
            wake.notify_all();
        }
        // Runs what other threads post until a stop is requested.
        void run() {
            std::unique_lock lock(mutex);
            for (;;) {
                wake.wait(lock, [&] { return stopping || !tasks.empty(); });
                if (stopping) return;
                auto task = std::move(tasks.front());
                tasks.pop_front();
                lock.unlock();
                task();
                lock.lock();
            }
        }
    };
    auto control = std::make_shared<Control>();

    std::shared_ptr<LineWriter> writer;
    auto client_sink = stdout_sink(
        executor, config.streams,
        [control, timeout = config.streams.stall_timeout] {
            spdlog::error("the client took nothing on stdout for {} ms: closing", timeout.count());
            control->request();
        },
        writer);
    auto gateway = Gateway::create(executor, work_pool.context().get_executor(), config, plugins);
    auto session = gateway->open_session(std::make_shared<StdioChannel>(std::move(client_sink), writer));
    gateway->start();

    asio::signal_set signals(io_pool.context(), SIGINT, SIGTERM);
    std::function<void()> wait_for_signal = [&] {
        signals.async_wait([&, control](boost::system::error_code error, int number) {
            if (error) return;
            if (control->stopping) {
                spdlog::info("signal {} received again: not waiting for requests in flight", number);
                gateway->hurry();
                return;
            }
            spdlog::info("signal {} received: shutting down", number);
            control->request();
            wait_for_signal();
        });
    };
    wait_for_signal();
    // SIGHUP: plugins reopen their files (logrotate), the gateway keeps serving.
    asio::signal_set hangups(io_pool.context(), SIGHUP);
    std::function<void()> wait_for_hangup = [&] {
        hangups.async_wait([&](boost::system::error_code error, int) {
            if (error) return;
            spdlog::info("SIGHUP received: plugins reopen their files");
            control->post([plugins] { plugins->reopen(); });
            wait_for_hangup();
        });
    };
    wait_for_hangup();

    // Reading never waits on processing: each line is handed over at once. A pipe or socket is
    // read on the pool (no thread hop per request); a file or terminal on a thread of its own.
    const std::size_t max_size = config.max_message_size;
    struct stat input_info {};
    ::fstat(STDIN_FILENO, &input_info);
    if (S_ISFIFO(input_info.st_mode) || S_ISSOCK(input_info.st_mode)) {
        auto input =
            std::make_shared<asio::posix::stream_descriptor>(executor, ::fcntl(STDIN_FILENO, F_DUPFD_CLOEXEC, 0));
        asio::co_spawn(
            executor,
            [input, session, control, max_size]() -> asio::awaitable<void> {
                input->non_blocking(true);
                co_await read_lines(
                    *input, max_size, 64 * 1024, [&](std::string line) { session->on_client_line(std::move(line)); },
                    [&](const OversizeLine& line) { session->on_client_oversize(line); },
                    [&] { return !control->stopping; }, [&] { return session->wait_for_client_input_room(); });
                spdlog::debug("client input closed");
                control->request();
            },
            asio::detached);
    } else {
        std::thread([session, control, max_size] {
            LineSplitter splitter(max_size);
            std::vector<char> buffer(64 * 1024);
            auto on_line = [&](std::string line) { session->on_client_line(std::move(line)); };
            auto on_oversize = [&](const OversizeLine& line) { session->on_client_oversize(line); };
            for (;;) {
                ssize_t n = ::read(STDIN_FILENO, buffer.data(), buffer.size());
                if (n < 0 && errno == EINTR) continue;
                if (control->stopping) break;
                if (n <= 0) {
                    splitter.finish(on_line, on_oversize);  // a last line without its newline counts
                    break;
                }
                splitter.feed(std::string_view(buffer.data(), static_cast<std::size_t>(n)), on_line, on_oversize);
            }
            spdlog::debug("client input closed");
            control->request();
        }).detach();  // may stay blocked in read() after a signal; the process ends without it
    }

    control->run();
    std::promise<void> done;
    asio::co_spawn(executor, gateway->shutdown(), [&](std::exception_ptr) { done.set_value(); });
    done.get_future().wait();
    signals.cancel();
    hangups.cancel();
    if (writer) {
        auto drained = std::make_shared<std::promise<void>>();  // may be kept by the writer past this frame
        writer->when_drained([drained] { drained->set_value(); });
        drained->get_future().wait_for(std::chrono::seconds(5));
    }
    spdlog::info("stopped");
    return 0;
}

json call_once(const GatewayConfig& config, std::shared_ptr<PluginHost> plugins, const std::string& method,
               const json& params) {
    prepare_signals();
    Pool work_pool(config.threads);  // destroyed after the I/O pool (see serve_stdio)
    Pool io_pool(1);
    auto executor = io_pool.context().get_executor();
    std::mutex mutex;
    std::condition_variable arrived;
    std::map<json, json> answers;  // by id
    auto gateway = Gateway::create(executor, work_pool.context().get_executor(), config, std::move(plugins));
    auto session = gateway->open_session(std::make_shared<StdioChannel>([&](std::string line) {
        auto message = json::parse(line, nullptr, false);
        if (!message.is_object()) return;
        if (message.contains("method")) {
            // A server -> client request or notification: `call` has no one to ask; say so.
            spdlog::info("upstream sent {} (not answered by `watchgate call`)", message.value("method", ""));
            return;
        }
        std::lock_guard lock(mutex);
        answers[message.value("id", json())] = message;
        arrived.notify_all();
    }));
    gateway->start();
    auto wait_for = [&](int id, std::chrono::milliseconds timeout) {
        std::unique_lock lock(mutex);
        arrived.wait_for(lock, timeout, [&] { return answers.contains(id); });
        auto it = answers.find(id);
        return it != answers.end() ? it->second : make_error_response(id, error_code::timeout, "no answer in time");
    };
    std::chrono::milliseconds connect_timeout{0}, request_timeout{0};
    for (const auto& upstream : config.upstreams) {
        connect_timeout = std::max(connect_timeout, upstream.timeouts.connection);
        request_timeout = std::max(request_timeout, upstream.timeouts.request);
    }
    session->on_client_line(dump_json({{"jsonrpc", "2.0"},
                                       {"id", 1},
                                       {"method", "initialize"},
                                       {"params",
                                        {{"protocolVersion", latest_protocol_version},
                                         {"capabilities", json::object()},
                                         {"clientInfo", {{"name", "watchgate-call"}, {"version", version_text}}}}}}));
    json answer = wait_for(1, connect_timeout + std::chrono::seconds(5));
    if (!answer.contains("error")) {
        session->on_client_line(R"({"jsonrpc":"2.0","method":"notifications/initialized"})");
        json request = {{"jsonrpc", "2.0"}, {"id", 2}, {"method", method}};
        if (!params.is_null()) request["params"] = params;
        session->on_client_line(dump_json(request));
        answer = wait_for(2, request_timeout + std::chrono::seconds(5));
    }
    std::promise<void> done;
    asio::co_spawn(executor, gateway->shutdown(), [&](std::exception_ptr) { done.set_value(); });
    done.get_future().wait();
    return answer;
}

}  // namespace watchgate::core
