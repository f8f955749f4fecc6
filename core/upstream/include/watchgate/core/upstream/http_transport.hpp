#pragma once
// A remote upstream over HTTP (docs/routing.md "Remote upstreams"): Streamable HTTP (each message
// POSTed; the answer as JSON or on an event stream, resumed with Last-Event-ID when it breaks;
// the session's GET stream for what the server sends on its own; DELETE at the end), or the old
// HTTP+SSE transport (one event stream, messages POSTed to the endpoint it names). `auto` tries
// the first and falls back to the second when the server refuses it with a 4xx.
//
// One incarnation is one session with the server: when the server forgets it (404) or cannot be
// reached, the transport reports itself down and the Upstream's restart policy reconnects and
// initializes anew. Connections are pooled (a few kept idle); each exchange has its own, so a slow
// call never holds up another.

#include <watchgate/core/base/async_signal.hpp>
#include <watchgate/core/base/sse_parser.hpp>
#include <watchgate/core/base/stream_limits.hpp>
#include <watchgate/core/base/url.hpp>
#include <watchgate/core/config/config.hpp>
#include <watchgate/core/upstream/upstream_transport.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/strand.hpp>

#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace boost::asio::ssl {
class context;
}

namespace watchgate::core {

class HttpClientConnection;

class HttpTransport : public UpstreamTransport, public std::enable_shared_from_this<HttpTransport> {
public:
    HttpTransport(boost::asio::any_io_executor executor, UpstreamConfig config, std::size_t max_message_size,
                  StreamLimits streams);
    ~HttpTransport() override;

    void start(Handlers handlers) override;
    std::string describe() const override;
    Ticket send(std::string line) override;
    bool wants_headline() const override { return true; }
    Ticket send_request(std::string line, std::int64_t id, Headline headline) override;
    bool withdraw(Ticket ticket) override;
    bool has_room() const override;
    boost::asio::awaitable<void> wait_for_room() override;
    void initialized(const std::string& protocol_version) override;
    void close() override;
    void terminate() override;
    void kill() override;

private:
    enum class Mode { probing, streamable, legacy };
    struct Outgoing {
        Ticket ticket = 0;
        std::string line;
        std::optional<std::int64_t> request_id;
        bool alone = false;  // no other POST starts until this one is answered
        Headline headline;   // requests only
    };
    using Connection = std::unique_ptr<HttpClientConnection>;
    struct Exchange;

    Ticket enqueue(std::string line, std::optional<std::int64_t> request_id, Headline headline = {});
    void pump_locked();
    void spawn(boost::asio::awaitable<void>
                   task);  // on the strand, later  // caller holds mutex_: starts the POSTs that may go now
    boost::asio::awaitable<void> post(Outgoing outgoing);
    // One POST on one connection; false when it should be tried once more on a fresh one (a kept
    // connection the server had closed).
    boost::asio::awaitable<bool> post_on(Connection& connection, Outgoing& outgoing, bool may_retry);
    boost::asio::awaitable<Connection> connect();
    // A new connection, or null and why not in `failure`.
    boost::asio::awaitable<Connection> try_connect(std::string& failure);
    // A GET for an event stream (from `last_event_id` when not empty) on `exchange`: its status,
    // whether it is one, and the exchange's stream parser ready for its body.
    struct StreamHead {
        unsigned status = 0;
        bool event_stream = false;
        boost::system::error_code error;  // the exchange broke
    };
    boost::asio::awaitable<StreamHead> open_stream(Exchange& exchange, const std::string& last_event_id,
                                                   std::chrono::milliseconds timeout);
    void keep(Connection connection);
    // Reads an event stream to its end, or to `idle` without a byte; its events go to `sink`.
    // `stop_when_answered`: stop once that request waits no more (a resumed stream).
    boost::asio::awaitable<boost::system::error_code> read_events(Exchange& exchange, SseParser& events,
                                                                  const SseParser::Sink& sink,
                                                                  std::optional<std::int64_t> stop_when_answered,
                                                                  std::optional<std::chrono::milliseconds> idle);
    // The POST's stream broke before its answer: GET it again from the last event seen.
    boost::asio::awaitable<void> resume(std::int64_t id, SseParser& events, const SseParser::Sink& sink);
    boost::asio::awaitable<void> listen();  // the session's GET stream
    boost::asio::awaitable<void> legacy_stream();
    boost::asio::awaitable<void> finish();  // after close(): DELETE, then down
    void deliver(std::string line);
    void oversize(const OversizeLine& event);
    void lost(const Outgoing& outgoing, const std::string& why);
    void report_down(std::string how);
    void close_connections();
    void remember_session(std::string_view id);
    struct RequestContext {
        std::string session_id;  // empty before the server gave one, and for the old transport
        std::string protocol_version;
    };
    RequestContext request_context() const;

    boost::asio::strand<boost::asio::any_io_executor> strand_;
    UpstreamConfig config_;
    Url url_;
    std::size_t max_message_size_;
    StreamLimits streams_;
    std::shared_ptr<boost::asio::ssl::context> tls_;
    Handlers handlers_;
    std::size_t max_connections_;
    AsyncSignal room_;
    AsyncSignal idle_;  // an exchange ended: finish() waits for the last

    mutable std::mutex mutex_;  // guards everything below (send() comes from any thread)
    Mode mode_ = Mode::streamable;
    std::deque<Outgoing> queue_;
    std::size_t queued_bytes_ = 0;
    Ticket next_ticket_ = 1;
    std::size_t active_ = 0;       // POSTs under way
    std::optional<Url> endpoint_;  // where POSTs go: the URL, or the old transport's endpoint
    std::string session_id_;
    std::string protocol_version_;
    bool closing_ = false;
    bool next_alone_ = false;  // the next message goes alone (the one after the handshake)
    bool alone_ = false;       // a message that goes alone is under way
    bool down_ = false;
    std::vector<Connection> idle_connections_;
    // The host's addresses, resolved once and again after a connection fails.
    std::vector<boost::asio::ip::tcp::endpoint> endpoints_;
    std::set<HttpClientConnection*> live_;  // every open connection, to close them when stopped
};

}  // namespace watchgate::core
