#include <watchgate/core/upstream/http_transport.hpp>

#include <watchgate/core/base/async_sleep.hpp>
#include <watchgate/core/base/sse_parser.hpp>
#include <watchgate/core/base/version.hpp>
#include <watchgate/core/protocol/message.hpp>
#include <watchgate/core/protocol/request_headers.hpp>
#include <watchgate/core/protocol/versions.hpp>
#include <watchgate/core/upstream/http_client_connection.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http.hpp>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <limits>
#include <stdexcept>

namespace watchgate::core {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using Clock = std::chrono::steady_clock;

namespace {

// Connections kept open between exchanges: as many as were busy (a burst finds them again), each
// for this long unused (a server's own keep-alive timeout may close it sooner: then it is
// replaced once, quietly).
constexpr auto idle_expiry = std::chrono::seconds(15);
// Bytes read from an event stream at a time.
constexpr std::size_t stream_chunk = 64 * 1024;
// The response head, and the body of an HTTP error (only quoted in the error message).
constexpr std::uint32_t max_response_header = 64 * 1024;
constexpr std::uint64_t max_error_body = 64 * 1024;
// A broken answer stream is resumed this many times before its request fails.
constexpr int max_resumes = 5;
// DELETE at the end gets this long; the session ends on our side either way.
constexpr auto delete_timeout = std::chrono::seconds(2);
constexpr auto max_listen_backoff = std::chrono::seconds(30);
// How long a stream whose request was answered may take to end.
constexpr auto linger_after_answer = std::chrono::milliseconds(500);

bool is_event_stream(std::string_view content_type) {
    constexpr std::string_view type = "text/event-stream";
    return content_type.size() >= type.size() &&
           std::equal(type.begin(), type.end(), content_type.begin(),
                      [](char a, char b) { return a == std::tolower(static_cast<unsigned char>(b)); });
}

std::string_view header(const http::response_header<>& head, std::string_view name) {
    auto it = head.find(beast::string_view(name.data(), name.size()));
    return it == head.end() ? std::string_view() : std::string_view(it->value().data(), it->value().size());
}

// An HTTP error's body, for the message: short, one line, printable.
std::string excerpt(std::string_view body) {
    std::string out;
    for (char c : body.substr(0, 200)) out += (c >= 0x20 && c < 0x7f) ? c : ' ';
    if (body.size() > 200) out += "...";
    return out;
}

bool is_stale_connection_error(const boost::system::error_code& error) {
    return error == http::error::end_of_stream || error == asio::error::eof || error == asio::error::connection_reset ||
           error == asio::error::broken_pipe || error == asio::ssl::error::stream_truncated;
}

// A kept connection the server had closed fails at once; one that failed after a while failed
// while the server worked on the request, which must not be sent again.
constexpr auto stale_within = std::chrono::milliseconds(500);

// The server's `retry:` within sane bounds: never a busy loop, never days.
Clock::duration clamp_retry(std::optional<std::chrono::milliseconds> retry, Clock::duration fallback,
                            Clock::duration least, Clock::duration most) {
    return std::clamp<Clock::duration>(retry ? Clock::duration(*retry) : fallback, least, most);
}

}  // namespace

// One HTTP exchange on one connection: the connection is listed as open (so a stop closes it)
// until the exchange ends or hands it back to the pool.
struct HttpTransport::Exchange {
    Exchange(HttpTransport& owner, Connection open) : transport(owner), connection(std::move(open)) {
        std::lock_guard lock(transport.mutex_);
        // Opened while the transport went down: of no use, and nobody would close it later.
        if (transport.down_)
            connection->close();
        else
            transport.live_.insert(connection.get());
    }
    ~Exchange() { release(); }
    Connection release() {
        if (connection) {
            std::lock_guard lock(transport.mutex_);
            transport.live_.erase(connection.get());
        }
        return std::move(connection);
    }

    HttpTransport& transport;
    Connection connection;
    std::optional<http::response_parser<http::buffer_body>> stream;
};

HttpTransport::HttpTransport(asio::any_io_executor executor, UpstreamConfig config, std::size_t max_message_size,
                             StreamLimits streams)
    : strand_(asio::make_strand(executor)),
      config_(std::move(config)),
      max_message_size_(max_message_size),
      streams_(streams),
      // Every request in flight may hold a connection, besides notifications, answers to the
      // server and the GET stream.
      max_connections_(static_cast<std::size_t>(config_.concurrency.max_in_flight) + 8) {}

HttpTransport::~HttpTransport() = default;

void HttpTransport::start(Handlers handlers) {
    handlers_ = std::move(handlers);
    std::string why;
    auto url = Url::parse(config_.url, &why);
    if (!url) throw std::runtime_error("url: " + why);
    url_ = *url;
    if (url_.tls) {
        tls_ = HttpClientConnection::tls_context(config_.tls_ca_file, config_.tls_verify);
        if (!config_.tls_verify)
            spdlog::warn("[{}] tls.verify is false: the server's certificate is not checked", config_.name);
    }
    std::lock_guard lock(mutex_);
    switch (config_.transport) {
        case UpstreamTransportKind::sse:
            mode_ = Mode::legacy;
            spawn(legacy_stream());
            break;
        case UpstreamTransportKind::auto_detect:
            mode_ = Mode::probing;
            endpoint_ = url_;
            break;
        default:
            mode_ = Mode::streamable;
            endpoint_ = url_;
    }
    pump_locked();  // what was sent before the start
}

std::string HttpTransport::describe() const {
    std::lock_guard lock(mutex_);
    const char* kind = mode_ == Mode::legacy ? "HTTP+SSE" : mode_ == Mode::probing ? "HTTP" : "Streamable HTTP";
    return std::string(kind) + " " + url_.redacted();
}

UpstreamTransport::Ticket HttpTransport::send(std::string line) { return enqueue(std::move(line), std::nullopt); }

UpstreamTransport::Ticket HttpTransport::send_request(std::string line, std::int64_t id, Headline headline) {
    return enqueue(std::move(line), id, std::move(headline));
}

UpstreamTransport::Ticket HttpTransport::enqueue(std::string line, std::optional<std::int64_t> request_id,
                                                 Headline headline) {
    std::lock_guard lock(mutex_);
    if (down_) return 0;
    const Ticket ticket = next_ticket_++;
    queued_bytes_ += line.size();
    queue_.push_back({ticket, std::move(line), request_id, false, std::move(headline)});
    pump_locked();
    return ticket;
}

void HttpTransport::pump_locked() {
    while (!queue_.empty() && !down_ && active_ < max_connections_ && !alone_) {
        const bool may_post = (mode_ == Mode::streamable && endpoint_) || (mode_ == Mode::legacy && endpoint_) ||
                              (mode_ == Mode::probing && active_ == 0);
        if (!may_post) break;
        // The message after the handshake (notifications/initialized) arrives before any other:
        // each POST has a connection of its own, so being sent first is not arriving first.
        if (next_alone_ && active_ > 0) break;
        Outgoing outgoing = std::move(queue_.front());
        queue_.pop_front();
        queued_bytes_ -= outgoing.line.size();
        ++active_;
        if (std::exchange(next_alone_, false)) alone_ = outgoing.alone = true;
        spawn(post(std::move(outgoing)));
    }
    room_.notify_all();
    if (queue_.empty()) idle_.notify_all();
}

bool HttpTransport::withdraw(Ticket ticket) {
    std::lock_guard lock(mutex_);
    auto it = std::find_if(queue_.begin(), queue_.end(), [&](const Outgoing& out) { return out.ticket == ticket; });
    if (it == queue_.end()) return false;
    queued_bytes_ -= it->line.size();
    queue_.erase(it);
    room_.notify_all();
    idle_.notify_all();
    return true;
}

bool HttpTransport::has_room() const {
    std::lock_guard lock(mutex_);
    return down_ || queued_bytes_ < streams_.max_queued;
}

asio::awaitable<void> HttpTransport::wait_for_room() {
    auto self = shared_from_this();
    co_await room_.wait_until([this] { return has_room(); });
}

void HttpTransport::initialized(const std::string& protocol_version) {
    std::lock_guard lock(mutex_);
    protocol_version_ = protocol_version;
    // The stateless era has no notifications/initialized to keep first, and no GET stream: its
    // notifications come on a subscriptions/listen.
    if (is_stateless_protocol_version(protocol_version)) return;
    next_alone_ = true;
    if (mode_ == Mode::streamable && !down_) spawn(listen());
}

void HttpTransport::close() {
    {
        std::lock_guard lock(mutex_);
        if (closing_ || down_) return;
        closing_ = true;
    }
    spawn(finish());
}

void HttpTransport::spawn(asio::awaitable<void> task) {
    // Posted, never run at once: callers hold mutex_, which the task takes.
    asio::post(strand_, [this, self = shared_from_this(), task = std::move(task)]() mutable {
        asio::co_spawn(strand_, std::move(task), [self](std::exception_ptr failure) {
            if (!failure) return;
            // Nothing is expected to throw here; if something did, the transport is broken:
            // down, so its requests fail and the restart policy takes over.
            try {
                std::rethrow_exception(failure);
            } catch (const std::exception& e) {
                self->report_down(std::string("failed: ") + e.what());
            } catch (...) {
                self->report_down("failed");
            }
        });
    });
}

void HttpTransport::terminate() {
    asio::post(strand_, [self = shared_from_this()] { self->report_down("was disconnected"); });
}

void HttpTransport::kill() { terminate(); }

// ---- the exchanges ----

asio::awaitable<HttpTransport::Connection> HttpTransport::connect() {
    HttpClientConnection::Endpoints endpoints;
    {
        std::lock_guard lock(mutex_);
        endpoints = endpoints_;
    }
    if (endpoints.empty()) endpoints = co_await HttpClientConnection::resolve(strand_, url_);
    std::exception_ptr failure;
    try {
        auto connection = co_await HttpClientConnection::open(strand_, url_, endpoints, tls_, config_.tls_verify,
                                                              config_.timeouts.connection);
        std::lock_guard lock(mutex_);
        endpoints_ = std::move(endpoints);
        co_return connection;
    } catch (...) {
        failure = std::current_exception();
    }
    {
        std::lock_guard lock(mutex_);
        endpoints_.clear();  // the name may point elsewhere by the next attempt
    }
    std::rethrow_exception(failure);
}

namespace {

http::request<http::string_body> make_request(http::verb verb, const Url& to, std::string body,
                                              const UpstreamConfig& config, const std::string& session_id,
                                              const std::string& protocol_version) {
    http::request<http::string_body> request{verb, to.target, 11};
    request.set(http::field::host, to.host_header());
    request.set(http::field::user_agent, std::string("watchgate/") + version_text);
    for (const auto& [name, value] : config.headers) request.set(name, value);
    if (!session_id.empty()) request.set("Mcp-Session-Id", session_id);
    if (!protocol_version.empty()) request.set("MCP-Protocol-Version", protocol_version);
    if (verb == http::verb::post) {
        request.set(http::field::content_type, "application/json");
        request.set(http::field::accept, "application/json, text/event-stream");
    } else if (verb == http::verb::get) {
        request.set(http::field::accept, "text/event-stream");
    }
    request.keep_alive(true);
    request.body() = std::move(body);
    request.prepare_payload();
    return request;
}

}  // namespace

asio::awaitable<HttpTransport::Connection> HttpTransport::try_connect(std::string& failure) {
    try {
        co_return co_await connect();
    } catch (const boost::system::system_error& e) {
        failure = e.code().message();
    } catch (const std::exception& e) {
        failure = e.what();
    }
    co_return nullptr;
}

asio::awaitable<HttpTransport::StreamHead> HttpTransport::open_stream(Exchange& exchange,
                                                                      const std::string& last_event_id,
                                                                      std::chrono::milliseconds timeout) {
    auto& stream = *exchange.connection;
    const auto context = request_context();
    auto request = make_request(http::verb::get, url_, {}, config_, context.session_id, context.protocol_version);
    if (!last_event_id.empty()) request.set("Last-Event-ID", last_event_id);
    boost::system::error_code error;
    stream.transport_layer().expires_after(timeout);
    co_await stream.io(
        [&](auto& s) { return http::async_write(s, request, asio::redirect_error(asio::use_awaitable, error)); });
    http::response_parser<http::empty_body> head;
    head.header_limit(max_response_header);
    head.body_limit(std::numeric_limits<std::uint64_t>::max());  // a stream: its events are bounded
    if (!error)
        co_await stream.io([&](auto& s) {
            return http::async_read_header(s, stream.buffer(), head, asio::redirect_error(asio::use_awaitable, error));
        });
    if (error) co_return StreamHead{0, false, error};
    const StreamHead result{head.get().result_int(), is_event_stream(header(head.get(), "Content-Type")), {}};
    exchange.stream.emplace(std::move(head));
    co_return result;
}

void HttpTransport::keep(Connection connection) {
    std::lock_guard lock(mutex_);
    if (down_ || closing_) return;
    connection->reused = true;
    connection->idle_since = Clock::now();
    // The oldest are at the front: those unused too long go (a burst's leftovers).
    std::size_t expired = 0;
    while (expired < idle_connections_.size() &&
           connection->idle_since - idle_connections_[expired]->idle_since > idle_expiry)
        ++expired;
    idle_connections_.erase(idle_connections_.begin(),
                            idle_connections_.begin() + static_cast<std::ptrdiff_t>(expired));
    if (idle_connections_.size() >= max_connections_) return;
    idle_connections_.push_back(std::move(connection));
}

HttpTransport::RequestContext HttpTransport::request_context() const {
    std::lock_guard lock(mutex_);
    return {mode_ == Mode::legacy ? std::string() : session_id_, protocol_version_};
}

asio::awaitable<void> HttpTransport::post(Outgoing outgoing) {
    auto self = shared_from_this();
    struct Done {
        HttpTransport* transport;
        bool alone;
        ~Done() {
            {
                std::lock_guard lock(transport->mutex_);
                --transport->active_;
                if (alone) transport->alone_ = false;
                transport->pump_locked();
            }
            transport->idle_.notify_all();
        }
    } done{this, outgoing.alone};
    for (int attempt = 0; attempt < 2; ++attempt) {
        Connection connection;
        {
            std::lock_guard lock(mutex_);
            if (down_) co_return;
            // A retry takes a new connection: the kept ones are likely as stale as the first.
            // The most recently used first: the likeliest to be open still.
            while (attempt == 0 && !connection && !idle_connections_.empty()) {
                connection = std::move(idle_connections_.back());
                idle_connections_.pop_back();
                if (Clock::now() - connection->idle_since > idle_expiry) {
                    connection.reset();
                    idle_connections_.clear();  // the older ones are older still
                }
            }
        }
        std::string failure;
        if (!connection) connection = co_await try_connect(failure);
        if (!connection) {
            report_down("could not be reached at " + url_.redacted() + ": " + failure);
            co_return;
        }
        const bool may_retry = attempt == 0 && connection->reused;
        if (co_await post_on(connection, outgoing, may_retry)) co_return;
    }
}

asio::awaitable<bool> HttpTransport::post_on(Connection& connection, Outgoing& outgoing, bool may_retry) {
    Exchange exchange(*this, std::move(connection));
    auto& stream = *exchange.connection;
    Url to;
    {
        std::lock_guard lock(mutex_);
        if (!endpoint_) co_return true;
        to = *endpoint_;
    }
    const auto context = request_context();
    const auto& headline = outgoing.headline;
    // A stateless request names its own version (the server/discover probe, before any handshake).
    auto request =
        make_request(http::verb::post, to, outgoing.line, config_, context.session_id,
                     headline.stateless_version.empty() ? context.protocol_version : headline.stateless_version);
    if (!headline.method.empty()) {
        request.set(method_header, headline.method);
        if (headline.name) request.set(name_header, encode_header_value(*headline.name));
    }
    boost::system::error_code error;
    const auto sent = Clock::now();
    stream.transport_layer().expires_after(streams_.stall_timeout);
    co_await stream.io(
        [&](auto& s) { return http::async_write(s, request, asio::redirect_error(asio::use_awaitable, error)); });
    http::response_parser<http::empty_body> head;
    head.header_limit(max_response_header);
    // Checked against Content-Length as the head is read (a body of unknown length, chunk by chunk).
    head.body_limit(max_message_size_);
    if (!error) {
        stream.transport_layer().expires_after(config_.timeouts.request);
        co_await stream.io([&](auto& s) {
            return http::async_read_header(s, stream.buffer(), head, asio::redirect_error(asio::use_awaitable, error));
        });
    }
    if (error == http::error::body_limit && head.is_header_done()) {
        const unsigned refused = head.get().result_int();
        if (refused >= 200 && refused < 300)
            lost(outgoing, "answered with a body over the " + std::to_string(max_message_size_) +
                               " byte limit (max_message_size_mb)");
        else
            lost(outgoing, "answered HTTP " + std::to_string(refused) + " " + std::string(head.get().reason()));
        co_return true;
    }
    if (error) {
        if (may_retry && is_stale_connection_error(error) && Clock::now() - sent < stale_within) {
            // The server closed kept connections (its idle timeout): the others went the same way.
            std::vector<Connection> stale;
            {
                std::lock_guard lock(mutex_);
                stale.swap(idle_connections_);
            }
            co_return false;
        }
        lost(outgoing, "broke the connection before answering: " + error.message());
        co_return true;
    }
    const unsigned status = head.get().result_int();
    const std::string reason(head.get().reason());
    const bool event_stream = is_event_stream(header(head.get(), "Content-Type"));
    Mode mode;
    {
        std::lock_guard lock(mutex_);
        mode = mode_;
    }
    if (mode != Mode::legacy)
        if (auto session = header(head.get(), "Mcp-Session-Id"); !session.empty()) remember_session(session);
    if (mode == Mode::probing && status >= 400 && status < 500 && outgoing.headline.method == "server/discover") {
        // A session-era server refuses a stateless request without a session: that says which
        // era it speaks, not which transport. Its initialize, next, decides the transport.
    } else if (mode == Mode::probing) {
        std::lock_guard lock(mutex_);
        if (status == 400 || status == 404 || status == 405) {
            // The old transport's server (the spec's backwards-compatibility rule): its event
            // stream first, then this message again, to the endpoint it names.
            spdlog::warn("[{}] answered HTTP {} to a POST: trying the old HTTP+SSE transport", config_.name, status);
            mode_ = Mode::legacy;
            endpoint_.reset();
            queued_bytes_ += outgoing.line.size();
            queue_.push_front(std::move(outgoing));
            spawn(legacy_stream());
            co_return true;
        }
        mode_ = Mode::streamable;
    }
    if (status == 404 && mode != Mode::legacy && !request_context().session_id.empty()) {
        // The server no longer knows the session (it restarted, or expired it): a new
        // incarnation initializes a new one, and the gateway re-reads the upstream's lists.
        report_down("no longer knows its session (HTTP 404): starting a new one");
        co_return true;
    }
    const bool ok = status >= 200 && status < 300;
    if (ok && event_stream && mode != Mode::legacy) {
        exchange.stream.emplace(std::move(head));
        SseParser events(max_message_size_);
        SseParser::Sink sink;
        sink.on_event = [this](SseEvent&& event) {
            if (event.type == "message" && !event.data.empty()) deliver(std::move(event.data));
        };
        sink.on_oversize = [this](const OversizeLine& event) { oversize(event); };
        error = co_await read_events(exchange, events, sink, outgoing.request_id, config_.timeouts.request);
        if (!error && exchange.stream->keep_alive() && exchange.stream->is_done()) keep(exchange.release());
        if (outgoing.request_id && handlers_.awaiting && handlers_.awaiting(*outgoing.request_id))
            co_await resume(*outgoing.request_id, events, sink);
        co_return true;
    }
    const auto length = head.content_length();
    if (!ok && length && *length > max_error_body) {
        lost(outgoing, "answered HTTP " + std::to_string(status) + " " + reason);
        co_return true;
    }
    http::response_parser<http::string_body> body(std::move(head));
    body.body_limit(ok ? max_message_size_ : max_error_body);
    if (handlers_.before_read) co_await handlers_.before_read();
    co_await stream.io([&](auto& s) {
        return http::async_read(s, stream.buffer(), body, asio::redirect_error(asio::use_awaitable, error));
    });
    if (error == http::error::body_limit && ok) {
        lost(outgoing, "answered with a body over the " + std::to_string(max_message_size_) +
                           " byte limit (max_message_size_mb)");
        co_return true;
    }
    std::string text = std::move(body.get().body());
    if (!error && body.keep_alive()) keep(exchange.release());
    if (!ok) {
        // A JSON-RPC error for this very request is the server's answer: it goes through.
        if (outgoing.request_id && !text.empty() && mode != Mode::legacy) {
            const auto parsed = nlohmann::json::parse(text, nullptr, false);
            if (parsed.is_object() && parsed.contains("error") && member(parsed, "id") == *outgoing.request_id) {
                deliver(std::move(text));
                co_return true;
            }
        }
        lost(outgoing,
             "answered HTTP " + std::to_string(status) + " " + reason + (text.empty() ? "" : ": " + excerpt(text)));
        co_return true;
    }
    if (error) {
        lost(outgoing, "broke the connection while answering: " + error.message());
        co_return true;
    }
    // The old transport answers on its event stream; a 202 means the answer comes there (or on
    // the GET stream) too.
    if (mode == Mode::legacy || text.empty()) co_return true;
    deliver(std::move(text));
    // A JSON body is the answer: when it was not (refused as invalid, another id), no other comes.
    if (outgoing.request_id && handlers_.awaiting && handlers_.awaiting(*outgoing.request_id))
        lost(outgoing, "answered the request with a body that is not its answer");
    co_return true;
}

asio::awaitable<boost::system::error_code> HttpTransport::read_events(Exchange& exchange, SseParser& events,
                                                                      const SseParser::Sink& sink,
                                                                      std::optional<std::int64_t> stop_when_answered,
                                                                      std::optional<std::chrono::milliseconds> idle) {
    auto& parser = *exchange.stream;
    parser.body_limit(std::numeric_limits<std::uint64_t>::max());
    auto& stream = *exchange.connection;
    // Not zeroed: only what was read is looked at.
    std::unique_ptr<char[]> chunk(new char[stream_chunk]);
    boost::system::error_code error;
    bool answered = false;
    while (!parser.is_done()) {
        parser.get().body().data = chunk.get();
        parser.get().body().size = stream_chunk;
        if (handlers_.before_read) co_await handlers_.before_read();
        if (answered)
            stream.transport_layer().expires_after(linger_after_answer);
        else if (idle)
            stream.transport_layer().expires_after(*idle);
        else
            stream.transport_layer().expires_never();
        // Some: an event is passed on as soon as it is here, not when the buffer is full.
        co_await stream.io([&](auto& s) {
            return http::async_read_some(s, stream.buffer(), parser, asio::redirect_error(asio::use_awaitable, error));
        });
        if (error == http::error::need_buffer) error = {};
        const std::size_t got = stream_chunk - parser.get().body().size;
        {
            std::lock_guard lock(mutex_);
            if (down_) co_return asio::error::operation_aborted;
        }
        if (got) events.feed(std::string_view(chunk.get(), got), sink);
        // Once answered, the stream should end at once; one held open is not waited for (its
        // connection is closed, not kept).
        if (error) co_return answered&& error == beast::error::timeout ? boost::system::error_code() : error;
        if (stop_when_answered && handlers_.awaiting && !handlers_.awaiting(*stop_when_answered)) answered = true;
    }
    co_return error;
}

asio::awaitable<void> HttpTransport::resume(std::int64_t id, SseParser& events, const SseParser::Sink& sink) {
    for (int attempt = 0; attempt < max_resumes; ++attempt) {
        if (events.last_event_id().empty() || !handlers_.awaiting(id)) break;
        {
            std::lock_guard lock(mutex_);
            if (down_) co_return;
        }
        co_await async_sleep(clamp_retry(events.retry(), std::chrono::milliseconds(100), std::chrono::milliseconds(50),
                                         std::chrono::seconds(5)));
        std::string failure;
        Connection connection = co_await try_connect(failure);
        if (!connection) {
            spdlog::warn("[{}] could not resume an answer's event stream: {}", config_.name, failure);
            continue;
        }
        Exchange exchange(*this, std::move(connection));
        const auto head = co_await open_stream(exchange, events.last_event_id(), streams_.stall_timeout);
        if (head.error) continue;
        if (head.status != 200 || !head.event_stream) {
            spdlog::warn("[{}] answered HTTP {} when asked to resume an answer's event stream", config_.name,
                         head.status);
            break;
        }
        events.start_stream();
        co_await read_events(exchange, events, sink, id, config_.timeouts.request);
    }
    if (handlers_.awaiting(id))
        lost(Outgoing{0, {}, id, false, {}},
             events.last_event_id().empty()
                 ? "ended the answer's event stream before answering (and gave no event id to "
                   "resume it from)"
                 : "ended the answer's event stream before answering, and resuming it failed");
}

asio::awaitable<void> HttpTransport::listen() {
    auto self = shared_from_this();
    SseParser events(max_message_size_);
    SseParser::Sink sink;
    sink.on_event = [this](SseEvent&& event) {
        if (event.type == "message" && !event.data.empty()) deliver(std::move(event.data));
    };
    sink.on_oversize = [this](const OversizeLine& event) { oversize(event); };
    int failures = 0;
    for (;;) {
        {
            std::lock_guard lock(mutex_);
            if (down_ || closing_) co_return;
        }
        std::string failure;
        Connection connection = co_await try_connect(failure);
        if (!connection) spdlog::warn("[{}] could not open its event stream: {}", config_.name, failure);
        if (connection) {
            Exchange exchange(*this, std::move(connection));
            const auto head = co_await open_stream(exchange, events.last_event_id(), streams_.stall_timeout);
            if (!head.error) {
                if (head.status == 405) {
                    spdlog::debug("[{}] offers no event stream of its own (GET: 405)", config_.name);
                    co_return;
                }
                if (head.status == 404 && !request_context().session_id.empty()) {
                    report_down("no longer knows its session (HTTP 404): starting a new one");
                    co_return;
                }
                // Busy or overloaded (a proxy's 502/503, 429, 409 for a stream already open):
                // asked again later. Anything else means no stream is offered here.
                const bool later = head.status >= 500 || head.status == 429 || head.status == 409;
                if (head.status != 200 || !head.event_stream) {
                    spdlog::log(later ? spdlog::level::warn : spdlog::level::debug,
                                "[{}] answered HTTP {} to the GET for its event stream: {}", config_.name, head.status,
                                later ? "asking again later" : "none is used");
                    if (!later) co_return;
                } else {
                    failures = 0;
                    events.start_stream();
                    co_await read_events(exchange, events, sink, std::nullopt, std::nullopt);
                }
            }
        }
        ++failures;
        const auto backoff = std::min<Clock::duration>(std::chrono::milliseconds(500) * (1 << std::min(failures, 8)),
                                                       max_listen_backoff);
        // The server's retry after a stream that ended; growing waits while it cannot be reached.
        const auto wait = failures <= 1 ? clamp_retry(events.retry(), std::chrono::seconds(1),
                                                      std::chrono::milliseconds(500), max_listen_backoff)
                                        : backoff;
        co_await async_sleep(wait);
    }
}

asio::awaitable<void> HttpTransport::legacy_stream() {
    auto self = shared_from_this();
    std::string failure;
    Connection connection = co_await try_connect(failure);
    if (!connection) {
        report_down("could not be reached at " + url_.redacted() + ": " + failure);
        co_return;
    }
    Exchange exchange(*this, std::move(connection));
    const auto head = co_await open_stream(exchange, {}, config_.timeouts.connection);
    if (head.error) {
        report_down("broke the connection of its event stream: " + head.error.message());
        co_return;
    }
    if (head.status != 200 || !head.event_stream) {
        report_down("answered HTTP " + std::to_string(head.status) +
                    " to the GET for its event stream (transport: sse)");
        co_return;
    }
    SseParser events(max_message_size_);
    SseParser::Sink sink;
    sink.on_event = [this](SseEvent&& event) {
        if (event.type == "endpoint") {
            auto endpoint = url_.resolve(event.data);
            // Messages go where the stream says, but only to the same server: an endpoint
            // elsewhere would send the session's traffic (and its headers) to a stranger.
            if (!endpoint || endpoint->origin() != url_.origin()) {
                report_down(endpoint ? "named an endpoint on another server (" + endpoint->origin() + ")"
                                     : std::string("named an endpoint that is not a URL"));
                return;
            }
            std::lock_guard lock(mutex_);
            endpoint_ = std::move(endpoint);
            pump_locked();
        } else if (event.type == "message" && !event.data.empty()) {
            deliver(std::move(event.data));
        }
    };
    sink.on_oversize = [this](const OversizeLine& event) { oversize(event); };
    const auto error = co_await read_events(exchange, events, sink, std::nullopt, std::nullopt);
    report_down(error && error != http::error::end_of_stream ? "broke its event stream: " + error.message()
                                                             : std::string("closed its event stream"));
}

asio::awaitable<void> HttpTransport::finish() {
    auto self = shared_from_this();
    // What was sent before the stop goes first.
    co_await idle_.wait_until([this] {
        std::lock_guard lock(mutex_);
        return down_ || (queue_.empty() && active_ == 0);
    });
    std::string session;
    {
        std::lock_guard lock(mutex_);
        if (down_) co_return;
        if (mode_ != Mode::legacy) session = session_id_;
    }
    if (!session.empty()) {
        // Tells the server the session is over; whatever it answers (405 included), it is.
        std::string failure;
        Connection connection = co_await try_connect(failure);
        if (connection) {
            Exchange exchange(*this, std::move(connection));
            auto& stream = *exchange.connection;
            const auto context = request_context();
            auto request =
                make_request(http::verb::delete_, url_, {}, config_, context.session_id, context.protocol_version);
            request.keep_alive(false);
            boost::system::error_code error;
            stream.transport_layer().expires_after(delete_timeout);
            co_await stream.io([&](auto& s) {
                return http::async_write(s, request, asio::redirect_error(asio::use_awaitable, error));
            });
            http::response<http::string_body> response;
            if (!error)
                co_await stream.io([&](auto& s) {
                    return http::async_read(s, stream.buffer(), response,
                                            asio::redirect_error(asio::use_awaitable, error));
                });
        }
    }
    report_down("ended its session");
}

// ---- what comes back ----

void HttpTransport::deliver(std::string line) {
    {
        std::lock_guard lock(mutex_);
        if (down_) return;
    }
    handlers_.on_line(std::move(line));
}

void HttpTransport::oversize(const OversizeLine& event) {
    {
        std::lock_guard lock(mutex_);
        if (down_) return;
    }
    if (handlers_.on_oversize) handlers_.on_oversize(event);
}

void HttpTransport::lost(const Outgoing& outgoing, const std::string& why) {
    {
        std::lock_guard lock(mutex_);
        if (down_) return;
    }
    if (outgoing.request_id && handlers_.on_lost)
        handlers_.on_lost(*outgoing.request_id, why);
    else
        spdlog::warn("[{}] a message to it was lost: it {}", config_.name, why);
}

void HttpTransport::remember_session(std::string_view id) {
    // Visible ASCII only (the spec's rule): anything else would be refused when sent back.
    const bool valid = !id.empty() && id.size() <= 1024 &&
                       std::all_of(id.begin(), id.end(), [](char c) { return c >= 0x21 && c <= 0x7e; });
    {
        std::lock_guard lock(mutex_);
        if (valid && session_id_.empty()) session_id_ = id;
        if (valid) return;
    }
    report_down("sent an invalid Mcp-Session-Id");
}

void HttpTransport::report_down(std::string how) {
    {
        std::lock_guard lock(mutex_);
        if (down_) return;
        down_ = true;
        queue_.clear();
        queued_bytes_ = 0;
    }
    close_connections();
    room_.notify_all();
    idle_.notify_all();
    if (handlers_.on_down) handlers_.on_down(std::move(how));
}

void HttpTransport::close_connections() {
    std::vector<Connection> idle;
    std::vector<HttpClientConnection*> live;
    {
        std::lock_guard lock(mutex_);
        idle.swap(idle_connections_);
        live.assign(live_.begin(), live_.end());
    }
    for (auto& connection : idle) connection->close();
    for (auto* connection : live) connection->close();
}

}  // namespace watchgate::core
