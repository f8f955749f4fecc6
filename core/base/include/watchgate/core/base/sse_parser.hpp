#pragma once
// Reads a text/event-stream as it arrives, in pieces of any size: events with their type, data
// and id, the stream's last event id and retry delay (the WHATWG "server-sent events" rules).
// An event larger than the limit is not kept: it is reported by its size and both ends.

#include <watchgate/core/base/line_splitter.hpp>

#include <chrono>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace watchgate::core {

struct SseEvent {
    std::string type = "message";
    std::string data;
    std::string id;  // the stream's last event id when the event was dispatched
};

class SseParser {
public:
    struct Sink {
        std::function<void(SseEvent&& event)> on_event;
        std::function<void(const OversizeLine& event)> on_oversize;  // its data, not kept
    };

    explicit SseParser(std::size_t max_event_size) : max_event_size_(max_event_size) {}

    void feed(std::string_view bytes, const Sink& sink);
    // A new stream continues this one (a resumption): what was half read of the old one is
    // dropped; the last event id and the retry delay stay.
    void start_stream();

    const std::string& last_event_id() const { return last_event_id_; }
    // The reconnection delay the server asked for (`retry:`), if it did.
    std::optional<std::chrono::milliseconds> retry() const { return retry_; }

private:
    void consume(std::string_view bytes, const Sink& sink);
    void add_to_line(std::string_view piece);
    void end_line(const Sink& sink);
    void field(std::string_view name, std::string_view value);
    void dispatch(const Sink& sink);
    void keep_oversize(std::string_view bytes);

    std::size_t max_event_size_;
    std::string line_;
    bool line_overflowed_ = false;  // the current line passed the limit: only counted, not kept
    bool overflowed_line_is_data_ = false;
    bool skip_lf_ = false;  // a CR ended the last line: a LF right after it belongs to it
    bool at_start_ = true;  // a byte-order mark may open the stream
    std::size_t bom_matched_ = 0;
    std::string type_;
    std::string data_;
    bool has_data_ = false;
    bool oversize_ = false;  // the event's data passed the limit
    std::size_t oversize_bytes_ = 0;
    std::string oversize_head_, oversize_tail_;
    std::string id_buffer_;  // the `id:` seen last; the stream's once its event is complete
    std::string last_event_id_;
    std::optional<std::chrono::milliseconds> retry_;
};

}  // namespace watchgate::core
