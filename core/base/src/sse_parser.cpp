#include <watchgate/core/base/sse_parser.hpp>

#include <algorithm>

namespace watchgate::core {

namespace {

// Bytes kept from each end of an oversize event, to tell whose answer it was.
constexpr std::size_t kept_ends = 4096;
// A line that is not data (a comment, an id, an event type) is never worth more than this.
constexpr std::size_t max_other_line = 4096;

}  // namespace

void SseParser::start_stream() {
    line_.clear();
    line_overflowed_ = overflowed_line_is_data_ = skip_lf_ = false;
    at_start_ = true;
    bom_matched_ = 0;
    type_.clear();
    data_.clear();
    has_data_ = oversize_ = false;
    oversize_bytes_ = 0;
    oversize_head_.clear();
    oversize_tail_.clear();
    id_buffer_ = last_event_id_;
}

void SseParser::feed(std::string_view bytes, const Sink& sink) {
    // A UTF-8 byte-order mark may open the stream (it may arrive a byte at a time); it is not
    // part of the first line. Bytes that only began like one are the line's.
    static constexpr std::string_view bom = "\xEF\xBB\xBF";
    while (at_start_ && !bytes.empty()) {
        if (bytes.front() != bom[bom_matched_]) {
            at_start_ = false;
            consume(bom.substr(0, bom_matched_), sink);
            break;
        }
        bytes.remove_prefix(1);
        if (++bom_matched_ == bom.size()) at_start_ = false;
    }
    consume(bytes, sink);
}

void SseParser::consume(std::string_view bytes, const Sink& sink) {
    while (!bytes.empty()) {
        if (skip_lf_) {
            skip_lf_ = false;
            if (bytes.front() == '\n') {
                bytes.remove_prefix(1);
                continue;
            }
        }
        const auto end = bytes.find_first_of("\r\n");
        add_to_line(bytes.substr(0, end));
        if (end == std::string_view::npos) break;
        skip_lf_ = bytes[end] == '\r';
        bytes.remove_prefix(end + 1);
        end_line(sink);
    }
}

void SseParser::add_to_line(std::string_view piece) {
    if (line_overflowed_) {
        if (overflowed_line_is_data_) keep_oversize(piece);
        return;
    }
    char head[5] = {};
    const std::size_t from_line = std::min<std::size_t>(line_.size(), sizeof head);
    line_.copy(head, from_line);
    piece.copy(head + from_line, sizeof head - from_line);
    const bool data = std::string_view(head, sizeof head) == "data:";
    // A data line may be as long as what is left of the event ("data: " and the limit); any
    // other line is short.
    const std::size_t limit = data ? max_event_size_ + 6 - std::min(data_.size(), max_event_size_) : max_other_line;
    if (line_.size() + piece.size() <= limit) {
        line_.append(piece);
        return;
    }
    line_overflowed_ = true;
    overflowed_line_is_data_ = data;
    if (data) {
        // The event will not be kept: what it has so far and this line are counted, their ends kept.
        std::string first = std::move(line_);
        first.append(piece);
        std::string_view value = std::string_view(first).substr(5);
        if (value.starts_with(' ')) value.remove_prefix(1);
        if (has_data_) keep_oversize("\n");
        keep_oversize(value);
    }
    line_.clear();
}

void SseParser::keep_oversize(std::string_view bytes) {
    if (!oversize_) {
        oversize_ = true;
        oversize_bytes_ = data_.size();
        oversize_head_ = data_.substr(0, kept_ends);
        oversize_tail_ = data_.size() > kept_ends ? data_.substr(data_.size() - kept_ends) : data_;
        oversize_tail_.reserve(2 * kept_ends);
        data_.clear();
        data_.shrink_to_fit();
    }
    oversize_bytes_ += bytes.size();
    if (oversize_head_.size() < kept_ends) oversize_head_.append(bytes.substr(0, kept_ends - oversize_head_.size()));
    // The last kept_ends bytes, contiguous whatever the pieces.
    if (bytes.size() >= kept_ends) {
        oversize_tail_.assign(bytes.substr(bytes.size() - kept_ends));
    } else {
        oversize_tail_.append(bytes);
        if (oversize_tail_.size() > kept_ends) oversize_tail_.erase(0, oversize_tail_.size() - kept_ends);
    }
}

void SseParser::end_line(const Sink& sink) {
    if (line_overflowed_) {
        line_overflowed_ = false;
        if (overflowed_line_is_data_) has_data_ = true;
        line_.clear();
        return;
    }
    if (line_.empty()) {
        dispatch(sink);
        return;
    }
    std::string_view line = line_;
    if (line.front() != ':') {  // a comment otherwise (keep-alives)
        const auto colon = line.find(':');
        std::string_view name = line.substr(0, colon), value;
        if (colon != std::string_view::npos) {
            value = line.substr(colon + 1);
            if (value.starts_with(' ')) value.remove_prefix(1);
        }
        field(name, value);
    }
    line_.clear();
}

void SseParser::field(std::string_view name, std::string_view value) {
    if (name == "data") {
        // Lines of one event join with a line feed, which counts toward the limit.
        if (oversize_ || data_.size() + (has_data_ ? 1 : 0) + value.size() > max_event_size_) {
            if (has_data_) keep_oversize("\n");
            keep_oversize(value);
        } else {
            if (has_data_) data_ += '\n';
            data_.append(value);
        }
        has_data_ = true;
    } else if (name == "event") {
        type_ = value;
    } else if (name == "id") {
        if (value.find('\0') == std::string_view::npos) id_buffer_ = value;
    } else if (name == "retry") {
        if (!value.empty() && value.size() <= 9 &&
            std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; }))
            retry_ = std::chrono::milliseconds(std::stoll(std::string(value)));
    }
}

void SseParser::dispatch(const Sink& sink) {
    // The stream's last event id moves only when an event is complete: a stream that breaks in
    // the middle of one resumes from the one before, so the broken one is sent again.
    last_event_id_ = id_buffer_;
    if (!has_data_) {
        type_.clear();
        return;
    }
    if (oversize_) {
        if (sink.on_oversize) sink.on_oversize(OversizeLine{oversize_bytes_, oversize_head_, oversize_tail_});
    } else if (sink.on_event) {
        SseEvent event;
        if (!type_.empty()) event.type = std::move(type_);
        event.data = std::move(data_);
        event.id = last_event_id_;
        sink.on_event(std::move(event));
    }
    type_.clear();
    data_.clear();
    has_data_ = false;
    oversize_ = false;
    oversize_bytes_ = 0;
    oversize_head_.clear();
    oversize_tail_.clear();
}

}  // namespace watchgate::core
