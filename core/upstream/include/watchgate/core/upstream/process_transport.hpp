#pragma once
// An upstream as a child process speaking newline-delimited JSON-RPC over stdin/stdout. Its
// stderr reaches the log (rate-limited); its exit is seen through a pidfd, without polling.

#include <watchgate/core/base/line_writer.hpp>
#include <watchgate/core/base/stream_limits.hpp>
#include <watchgate/core/config/config.hpp>
#include <watchgate/core/upstream/child_process.hpp>
#include <watchgate/core/upstream/upstream_transport.hpp>

#include <boost/asio/any_io_executor.hpp>

#include <memory>
#include <mutex>

namespace watchgate::core {

class ProcessTransport : public UpstreamTransport, public std::enable_shared_from_this<ProcessTransport> {
public:
    // `executor` runs the pipes' reads and writes; `max_message_size` bounds a line from stdout.
    ProcessTransport(boost::asio::any_io_executor executor, UpstreamConfig config, std::size_t max_message_size,
                     StreamLimits streams);
    ~ProcessTransport() override;

    void start(Handlers handlers) override;
    std::string describe() const override;
    Ticket send(std::string line) override;
    bool withdraw(Ticket ticket) override;
    bool has_room() const override;
    boost::asio::awaitable<void> wait_for_room() override;
    void close() override;
    void terminate() override;
    void kill() override;

private:
    boost::asio::awaitable<void> read_stdout(int fd);
    boost::asio::awaitable<void> read_stderr(int fd);
    // After stdout closed: waits for the exit (SIGKILL when it lingers) and reports it.
    boost::asio::awaitable<void> reap();

    boost::asio::any_io_executor executor_;
    UpstreamConfig config_;
    std::size_t max_message_size_;
    StreamLimits streams_;
    Handlers handlers_;
    std::shared_ptr<ChildProcess> process_;
    std::shared_ptr<LineWriter> writer_;
    int pidfd_ = -1;  // readable once the child exited; -1 where the kernel has none
};

}  // namespace watchgate::core
