#include <watchgate/core/upstream/process_transport.hpp>

#include <watchgate/core/base/async_sleep.hpp>
#include <watchgate/core/base/read_lines.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <spdlog/spdlog.h>

#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace watchgate::core {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

namespace {

constexpr std::size_t read_chunk = 64 * 1024;
// Upstream stderr reaches the log at most this many lines per second; the rest are counted.
constexpr int stderr_lines_per_second = 50;
// A process that closed stdout gets this long to exit before it is killed.
constexpr auto exit_grace = std::chrono::seconds(1);

int open_pidfd(pid_t pid) {
#ifdef SYS_pidfd_open
    return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
#else
    (void)pid;
    return -1;
#endif
}

}  // namespace

ProcessTransport::ProcessTransport(asio::any_io_executor executor, UpstreamConfig config, std::size_t max_message_size,
                                   StreamLimits streams)
    : executor_(std::move(executor)),
      config_(std::move(config)),
      max_message_size_(max_message_size),
      streams_(streams) {}

ProcessTransport::~ProcessTransport() {
    if (pidfd_ >= 0) ::close(pidfd_);
}

void ProcessTransport::start(Handlers handlers) {
    handlers_ = std::move(handlers);
    process_ = std::make_shared<ChildProcess>(ChildProcess::spawn(config_.command, config_.env, config_.cwd));
    pidfd_ = open_pidfd(process_->pid());
    // A process that takes nothing on stdin for the stall timeout while lines wait is stuck: it
    // is killed (and restarted by the restart policy) rather than let the queue grow.
    std::weak_ptr<ChildProcess> weak_process = process_;
    writer_ = std::make_shared<LineWriter>(executor_, process_->take_stdin(), streams_,
                                           [weak_process, name = config_.name, timeout = streams_.stall_timeout] {
                                               if (auto stuck = weak_process.lock()) {
                                                   spdlog::error("[{}] took nothing on stdin for {} ms: killed", name,
                                                                 timeout.count());
                                                   stuck->signal(SIGKILL);
                                               }
                                           });
    asio::co_spawn(executor_, read_stdout(process_->take_stdout()), asio::detached);
    asio::co_spawn(executor_, read_stderr(process_->take_stderr()), asio::detached);
}

std::string ProcessTransport::describe() const { return "pid " + std::to_string(process_ ? process_->pid() : -1); }

UpstreamTransport::Ticket ProcessTransport::send(std::string line) { return writer_->write(std::move(line)); }

bool ProcessTransport::withdraw(Ticket ticket) { return writer_->withdraw(ticket); }

bool ProcessTransport::has_room() const { return writer_->has_room(); }

asio::awaitable<void> ProcessTransport::wait_for_room() { co_await writer_->wait_for_room(); }

void ProcessTransport::close() { writer_->close_when_drained(); }

void ProcessTransport::terminate() { process_->signal(SIGTERM); }

void ProcessTransport::kill() { process_->signal(SIGKILL); }

asio::awaitable<void> ProcessTransport::read_stdout(int fd) {
    auto self = shared_from_this();  // the frame may outlive every other owner
    asio::posix::stream_descriptor stream(executor_, fd);
    stream.non_blocking(true);
    co_await read_lines(
        stream, max_message_size_, read_chunk, [&](std::string line) { handlers_.on_line(std::move(line)); },
        [&](const OversizeLine& line) { handlers_.on_oversize(line); }, [] { return true; }, handlers_.before_read);
    co_await reap();
}

asio::awaitable<void> ProcessTransport::read_stderr(int fd) {
    auto self = shared_from_this();
    asio::posix::stream_descriptor stream(executor_, fd);
    stream.non_blocking(true);
    auto window = Clock::now();
    int lines = 0, suppressed = 0;
    const std::string& name = config_.name;
    co_await read_lines(
        stream, 64 * 1024, 16 * 1024,
        [&](std::string line) {
            if (Clock::now() - window >= std::chrono::seconds(1)) {
                if (suppressed) spdlog::warn("[{}] {} stderr lines suppressed", name, suppressed);
                window = Clock::now();
                lines = suppressed = 0;
            }
            if (++lines <= stderr_lines_per_second)
                spdlog::info("[{}] {}", name, line);
            else
                ++suppressed;
        },
        [](const OversizeLine&) {}, [] { return true; });
    if (suppressed) spdlog::warn("[{}] {} stderr lines suppressed", name, suppressed);
}

asio::awaitable<void> ProcessTransport::reap() {
    // stdout closed: the process is exiting. One that lingers is killed after a grace period.
    std::optional<int> status = process_->try_wait();
    if (!status) {
        asio::steady_timer linger(executor_, exit_grace);
        linger.async_wait([weak = std::weak_ptr<ChildProcess>(process_)](const boost::system::error_code& error) {
            if (auto process = weak.lock(); process && !error) process->signal(SIGKILL);
        });
        if (pidfd_ >= 0) {
            asio::posix::stream_descriptor exited(executor_, std::exchange(pidfd_, -1));
            boost::system::error_code ignored;
            co_await exited.async_wait(asio::posix::stream_descriptor::wait_read,
                                       asio::redirect_error(asio::use_awaitable, ignored));
            status = process_->try_wait();
        }
        // Only where the kernel has no pidfd (before Linux 5.3): wait by asking.
        while (!(status = process_->try_wait())) co_await async_sleep(std::chrono::milliseconds(5));
        linger.cancel();
    }
    writer_->close_when_drained();
    if (handlers_.on_down) handlers_.on_down(describe_wait_status(*status));
}

}  // namespace watchgate::core
