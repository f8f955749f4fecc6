#pragma once
// How one HTTP session's messages reach its client: the answer to a POSTed request, and what
// relates to it (progress, sampling asked on its behalf), go on that request's stream; the rest
// on the session's listen stream (its GET). Each stream numbers its events, keeps the last
// `replay_events` written ones for a client that resumes with Last-Event-ID, and counts what is
// not written yet: above `max_queued` bytes the channel has no room (its client's POSTs wait, an
// upstream that feeds only it pauses), and a channel that stays full for the stall timeout, or
// passes its bound taking nothing, is for its owner to end.
//
// In the legacy HTTP+SSE mode (2024-11-05) everything, answers included, goes on the one stream.

#include <watchgate/core/base/async_signal.hpp>
#include <watchgate/core/base/stream_limits.hpp>
#include <watchgate/core/session/client_channel.hpp>

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace watchgate::core {

class HttpChannel : public ClientChannel {
public:
    using Clock = std::chrono::steady_clock;
    static constexpr std::uint64_t listen_stream = 0;

    struct Event {
        std::uint64_t sequence;  // 1, 2, ... within its stream
        std::string data;        // one JSON-RPC message; empty for a priming event
    };
    // What a connection serving a stream is to write next.
    struct Batch {
        std::vector<Event> events;
        bool ends = false;      // the stream's answer is among them (or it was closed): end it
        bool replaced = false;  // another connection took the stream over: stop serving it
    };

    HttpChannel(StreamLimits limits, std::size_t replay_events, bool legacy);

    void send(std::string message, Delivery delivery) override;
    bool has_room() const override;
    boost::asio::awaitable<void> wait_for_room() override;
    boost::asio::awaitable<void> wait_for_room_or(std::function<bool()> or_when) override;
    void wake() override;

    // A POSTed request's stream, keyed by its id (JSON text); nullopt when a request with that id
    // still has one. Returns the stream's number.
    std::optional<std::uint64_t> open_request_stream(const std::string& request);
    // A connection takes `stream` over (any connection serving it before stops). Returns the
    // attachment and the last event already written (a fresh connection goes on after it; a
    // resuming one after the event it names), or nullopt for a stream that is gone.
    struct Attachment {
        std::uint64_t id;
        std::uint64_t written;
    };
    std::optional<Attachment> attach(std::uint64_t stream);
    // The stream and event a Last-Event-ID ("<stream>.<event>") names, when every event after it
    // is still kept.
    std::optional<std::pair<std::uint64_t, std::uint64_t>> find_event(std::string_view last_event_id) const;
    // Waits until `stream` has events after `after` for connection `attachment`, ends, is taken
    // over, or `deadline` passes (an empty batch: time for a keep-alive).
    boost::asio::awaitable<Batch> next(std::uint64_t stream, std::uint64_t attachment, std::uint64_t after,
                                       Clock::time_point deadline);
    // Events up to `sequence` reached the connection; a stream whose end was written is dropped.
    void written(std::uint64_t stream, std::uint64_t sequence);
    // The connection went away before the end: the stream waits for one to resume it.
    void detach(std::uint64_t stream, std::uint64_t attachment);
    // The connection `attachment` went away before the client learnt of any event of the
    // stream: nobody can resume it, so what comes for it (its answer included) is dropped. Nothing
    // happens when another connection has taken the stream over meanwhile.
    void abandon(std::uint64_t stream, std::uint64_t attachment);
    // Abandons the request streams that have waited for a resuming connection since before
    // `before`: a client that does not come back within the stall timeout has failed.
    void expire_detached(Clock::time_point before);
    // The session ended: every stream ends, nothing more is kept.
    void close();

    static std::string event_id(std::uint64_t stream, std::uint64_t sequence);
    // Since when the channel has had no room (nullopt: it has room).
    std::optional<Clock::time_point> full_since() const;
    // Whether a connection serves any stream (an open GET keeps a session from idling out).
    bool attached() const;
    std::size_t queued_bytes() const;

private:
    struct Stream {
        std::deque<Event> events;  // written ones (up to replay_events) and the ones waiting
        std::uint64_t next_sequence = 1;
        std::uint64_t written = 0;                     // the last event a connection took
        std::uint64_t attachment = 0;                  // the connection serving it; 0: none
        std::string request;                           // the request it answers; empty for the listen stream
        bool ended = false;                            // the answer is in (or the channel closed)
        bool abandoned = false;                        // nobody will ever read it
        std::optional<Clock::time_point> detached_at;  // since when no connection serves it
    };

    void push_locked(std::uint64_t number, Stream& stream, std::string data, bool ends);
    void abandon_locked(std::map<std::uint64_t, Stream>::iterator it);
    void trim_locked(Stream& stream);
    void update_room_locked();

    const StreamLimits limits_;
    const std::size_t replay_events_;
    const bool legacy_;
    mutable std::mutex mutex_;
    std::map<std::uint64_t, Stream> streams_;          // by number; 0 is the listen stream
    std::map<std::string, std::uint64_t> by_request_;  // request id (JSON text) -> stream
    std::uint64_t next_stream_ = 1;
    std::uint64_t next_attachment_ = 1;
    std::size_t unwritten_bytes_ = 0;
    std::optional<Clock::time_point> full_since_;
    bool closed_ = false;
    AsyncSignal changed_;  // an event arrived, a stream ended or changed hands, room came back
};

}  // namespace watchgate::core
