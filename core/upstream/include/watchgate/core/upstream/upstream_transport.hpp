#pragma once
// How messages reach one upstream and come back: one incarnation of a server (a child process, a
// session with a remote server over HTTP, an in-memory peer in tests). The Upstream above it owns
// ids, pending requests, the handshake and restarts, and asks its factory for a fresh transport at
// every (re)start.

#include <watchgate/core/base/line_splitter.hpp>

#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace watchgate::core {

struct UpstreamConfig;

class UpstreamTransport {
public:
    // Identifies a sent line while it waits to be written; 0 when it was dropped.
    using Ticket = std::uint64_t;

    // Called on the transport's executor, never concurrently with each other.
    struct Handlers {
        std::function<void(std::string line)> on_line;
        std::function<void(const OversizeLine& line)> on_oversize;
        // The server went away (exited, closed its output, could not be reached): called once,
        // after the last on_line. `how` completes "upstream 'x' ..." ("exited with status 3").
        std::function<void(std::string how)> on_down;
        // Awaited before every read: flow control pauses reading while what the lines feed is full.
        std::function<boost::asio::awaitable<void>()> before_read;
        // A request sent with send_request that the server will not answer (its HTTP exchange
        // failed): `why` completes "upstream 'x' ...". Unset: such a request waits for its timeout.
        std::function<void(std::int64_t id, std::string why)> on_lost;
        // Whether the request sent with this id still waits for its answer (a transport that can
        // resume a broken stream asks before it does).
        std::function<bool(std::int64_t id)> awaiting;
    };

    virtual ~UpstreamTransport() = default;

    // Starts the server; throws std::runtime_error saying why it cannot be started.
    virtual void start(Handlers handlers) = 0;
    // For the log: "pid 1234", "in memory".
    virtual std::string describe() const = 0;

    // Sends one line (without its newline). Dropped once the transport is down.
    virtual Ticket send(std::string line) = 0;
    // What HTTP headers mirror of a request (the stateless era's MCP-Protocol-Version, Mcp-Method
    // and Mcp-Name: docs/routing.md "Eras").
    struct Headline {
        std::string method;
        std::optional<std::string> name;
        std::string stateless_version;  // the version its _meta declares, empty for none
    };
    // Whether send_request uses the headline (HTTP); others are spared making it.
    virtual bool wants_headline() const { return false; }
    // Sends a request whose answer will carry `id`: a transport that can tell when no answer will
    // come (an HTTP error) reports it through on_lost.
    virtual Ticket send_request(std::string line, std::int64_t id, Headline headline) {
        (void)id;
        (void)headline;
        return send(std::move(line));
    }
    // The handshake succeeded with this protocol version (HTTP sends it with every request and
    // opens its event stream then).
    virtual void initialized(const std::string& protocol_version) { (void)protocol_version; }
    // Takes back a line the server has not seen a byte of yet.
    virtual bool withdraw(Ticket ticket) = 0;
    // Whether senders may go on (little enough waits to be written), and a wait until they may.
    virtual bool has_room() const = 0;
    virtual boost::asio::awaitable<void> wait_for_room() = 0;

    // The polite stop: end of input once what is queued is written.
    virtual void close() = 0;
    // The firm one (SIGTERM for a process), then the last (SIGKILL). Either ends in on_down.
    virtual void terminate() = 0;
    virtual void kill() = 0;
};

// Makes the transport for one start of an upstream.
using UpstreamTransportFactory = std::function<std::shared_ptr<UpstreamTransport>(const UpstreamConfig& config)>;

}  // namespace watchgate::core
