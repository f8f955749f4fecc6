#pragma once
// An upstream inside the gateway's own process: what the gateway sends reaches a function (a
// test's scripted server), and that server answers through the transport. Lets the session and
// upstream layers be tested without processes; everything is delivered through the executor,
// never inside the caller's own call, so the timing resembles a pipe's.

#include <watchgate/core/upstream/upstream_transport.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/strand.hpp>

#include <atomic>
#include <memory>
#include <string>

namespace watchgate::core {

class InMemoryTransport : public UpstreamTransport, public std::enable_shared_from_this<InMemoryTransport> {
public:
    // `to_server` receives every line the gateway sends, in order, on the transport's strand.
    InMemoryTransport(boost::asio::any_io_executor executor, std::function<void(std::string line)> to_server);

    // The server's side. Both are ignored once the transport is down.
    void deliver(std::string line);  // a line to the gateway
    void go_down(std::string how);   // the server went away ("exited with status 1")
    bool down() const { return down_; }

    void start(Handlers handlers) override;
    std::string describe() const override { return "in memory"; }
    Ticket send(std::string line) override;
    bool withdraw(Ticket) override { return false; }  // a sent line is the server's at once
    bool has_room() const override { return true; }
    boost::asio::awaitable<void> wait_for_room() override;
    // Closing the input is how a server is asked to exit: it does, with status 0.
    void close() override { go_down("exited with status 0"); }
    void terminate() override { go_down("killed by signal 15 (SIGTERM)"); }
    void kill() override { go_down("killed by signal 9 (SIGKILL)"); }

private:
    boost::asio::strand<boost::asio::any_io_executor> strand_;
    std::function<void(std::string)> to_server_;
    Handlers handlers_;
    std::atomic<bool> down_{false};
    std::atomic<Ticket> next_ticket_{1};
};

}  // namespace watchgate::core
