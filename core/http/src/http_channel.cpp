#include <watchgate/core/http/http_channel.hpp>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>

namespace watchgate::core {

namespace asio = boost::asio;

HttpChannel::HttpChannel(StreamLimits limits, std::size_t replay_events, bool legacy)
    : limits_(limits), replay_events_(replay_events), legacy_(legacy) {
    streams_.emplace(listen_stream, Stream{});
}

void HttpChannel::send(std::string message, Delivery delivery) {
    {
        std::lock_guard lock(mutex_);
        if (closed_) return;
        std::uint64_t number = listen_stream;
        if (!legacy_ && !delivery.request.empty()) {
            if (auto it = by_request_.find(std::string(delivery.request)); it != by_request_.end()) {
                // A stream nobody will read takes its answer (to drop it); anything else the
                // client must see goes on the listen stream instead.
                if (delivery.answer || !streams_.at(it->second).abandoned) number = it->second;
                // Its id is free again for the client once the answer is on its way.
                if (delivery.answer) by_request_.erase(it);
            } else if (delivery.answer) {
                // Only a request POSTed here has an answer; nothing else may go on the listen stream.
                spdlog::warn("http: an answer to request {} that has no stream here was dropped", delivery.request);
                return;
            }
        }
        auto& stream = streams_.at(number);
        push_locked(number, stream, std::move(message), !legacy_ && delivery.answer && number != listen_stream);
    }
    changed_.notify_all();
}

void HttpChannel::push_locked(std::uint64_t number, Stream& stream, std::string data, bool ends) {
    if (stream.abandoned) {
        if (ends) streams_.erase(number);
        return;
    }
    unwritten_bytes_ += data.size();
    stream.events.push_back(Event{stream.next_sequence++, std::move(data)});
    stream.ended = stream.ended || ends;
    // Nobody listens: what the listen stream holds for a later GET is bounded by count.
    if (number == listen_stream && stream.attachment == 0) {
        std::size_t dropped = 0;
        while (stream.events.size() > std::max<std::size_t>(replay_events_, 1)) {
            auto& oldest = stream.events.front();
            if (oldest.sequence > stream.written) unwritten_bytes_ -= oldest.data.size();
            stream.written = std::max(stream.written, oldest.sequence);
            stream.events.pop_front();
            ++dropped;
        }
        if (dropped) spdlog::debug("http: {} message(s) for a session with no GET stream dropped", dropped);
    }
    update_room_locked();
}

void HttpChannel::trim_locked(Stream& stream) {
    // Written events stay for a resuming client, up to replay_events of them.
    while (!stream.events.empty() && stream.events.front().sequence <= stream.written &&
           stream.written - stream.events.front().sequence + 1 > replay_events_)
        stream.events.pop_front();
}

void HttpChannel::update_room_locked() {
    const bool room = closed_ || unwritten_bytes_ < limits_.max_queued;
    if (room)
        full_since_.reset();
    else if (!full_since_)
        full_since_ = Clock::now();
}

bool HttpChannel::has_room() const {
    std::lock_guard lock(mutex_);
    return closed_ || unwritten_bytes_ < limits_.max_queued;
}

asio::awaitable<void> HttpChannel::wait_for_room() {
    co_await changed_.wait_until([this] { return has_room(); });
}

asio::awaitable<void> HttpChannel::wait_for_room_or(std::function<bool()> or_when) {
    co_await changed_.wait_until([this, &or_when] { return has_room() || or_when(); });
}

void HttpChannel::wake() { changed_.notify_all(); }

std::optional<std::uint64_t> HttpChannel::open_request_stream(const std::string& request) {
    std::lock_guard lock(mutex_);
    if (closed_ || by_request_.contains(request)) return std::nullopt;
    const std::uint64_t number = next_stream_++;
    Stream stream;
    stream.request = request;
    streams_.emplace(number, std::move(stream));
    by_request_.emplace(request, number);
    return number;
}

std::optional<HttpChannel::Attachment> HttpChannel::attach(std::uint64_t number) {
    Attachment attachment;
    {
        std::lock_guard lock(mutex_);
        auto it = streams_.find(number);
        if (closed_ || it == streams_.end()) return std::nullopt;
        attachment = Attachment{next_attachment_++, it->second.written};
        it->second.attachment = attachment.id;
        it->second.detached_at.reset();
    }
    changed_.notify_all();  // the connection that served it before stops
    return attachment;
}

std::optional<std::pair<std::uint64_t, std::uint64_t>> HttpChannel::find_event(std::string_view id) const {
    const auto dot = id.find('.');
    if (dot == std::string_view::npos) return std::nullopt;
    std::uint64_t number = 0, sequence = 0;
    auto parse = [](std::string_view text, std::uint64_t& out) {
        auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), out);
        return error == std::errc() && end == text.data() + text.size() && !text.empty();
    };
    if (!parse(id.substr(0, dot), number) || !parse(id.substr(dot + 1), sequence)) return std::nullopt;
    std::lock_guard lock(mutex_);
    auto it = streams_.find(number);
    if (it == streams_.end() || sequence >= it->second.next_sequence) return std::nullopt;
    // Only when everything after it is still kept: a replay with a gap would lose messages unseen.
    const auto& events = it->second.events;
    const std::uint64_t first_kept = events.empty() ? it->second.next_sequence : events.front().sequence;
    if (sequence + 1 < first_kept) return std::nullopt;
    return std::pair{number, sequence};
}

asio::awaitable<HttpChannel::Batch> HttpChannel::next(std::uint64_t number, std::uint64_t attachment,
                                                      std::uint64_t after, Clock::time_point deadline) {
    Batch batch;
    auto ready = [&] {
        batch = Batch{};
        std::lock_guard lock(mutex_);
        auto it = streams_.find(number);
        if (closed_ || it == streams_.end()) {
            batch.ends = true;
            return true;
        }
        const Stream& stream = it->second;
        if (stream.attachment != attachment) {
            batch.replaced = true;
            return true;
        }
        for (const auto& event : stream.events)
            if (event.sequence > after) batch.events.push_back(event);
        batch.ends = stream.ended;  // nothing follows what is collected now
        return !batch.events.empty() || batch.ends;
    };
    if (!co_await changed_.wait_until(ready, deadline)) batch = Batch{};
    co_return batch;
}

void HttpChannel::written(std::uint64_t number, std::uint64_t sequence) {
    bool room_again = false;
    {
        std::lock_guard lock(mutex_);
        auto it = streams_.find(number);
        if (it == streams_.end()) return;
        Stream& stream = it->second;
        const bool had_room = unwritten_bytes_ < limits_.max_queued;
        for (const auto& event : stream.events)
            if (event.sequence > stream.written && event.sequence <= sequence) unwritten_bytes_ -= event.data.size();
        const bool moved = sequence > stream.written;
        stream.written = std::max(stream.written, sequence);
        if (number != listen_stream && stream.ended && stream.written + 1 == stream.next_sequence)
            streams_.erase(it);
        else
            trim_locked(stream);
        update_room_locked();
        // Full but taking bytes: a slow client, not a stalled one.
        if (moved && full_since_) full_since_ = Clock::now();
        room_again = !had_room && unwritten_bytes_ < limits_.max_queued;
    }
    if (room_again) changed_.notify_all();
}

void HttpChannel::detach(std::uint64_t number, std::uint64_t attachment) {
    {
        std::lock_guard lock(mutex_);
        if (auto it = streams_.find(number); it != streams_.end() && it->second.attachment == attachment) {
            it->second.attachment = 0;
            it->second.detached_at = Clock::now();
        }
    }
    changed_.notify_all();  // its connection's writer stops waiting
}

void HttpChannel::abandon(std::uint64_t number, std::uint64_t attachment) {
    {
        std::lock_guard lock(mutex_);
        auto it = streams_.find(number);
        if (it == streams_.end() || number == listen_stream) return;
        if (it->second.attachment != 0 && it->second.attachment != attachment) return;  // taken over
        abandon_locked(it);
        update_room_locked();
    }
    changed_.notify_all();
}

void HttpChannel::abandon_locked(std::map<std::uint64_t, Stream>::iterator it) {
    Stream& stream = it->second;
    for (const auto& event : stream.events)
        if (event.sequence > stream.written) unwritten_bytes_ -= event.data.size();
    if (stream.ended) {
        streams_.erase(it);
        return;
    }
    stream.abandoned = true;
    stream.attachment = 0;
    stream.detached_at.reset();
    stream.events.clear();
}

void HttpChannel::expire_detached(Clock::time_point before) {
    std::size_t expired = 0;
    {
        std::lock_guard lock(mutex_);
        for (auto it = streams_.begin(); it != streams_.end();) {
            auto next = std::next(it);
            if (it->first != listen_stream && it->second.detached_at && *it->second.detached_at < before) {
                abandon_locked(it);
                ++expired;
            }
            it = next;
        }
        if (expired) update_room_locked();
    }
    if (expired) {
        spdlog::debug("http: {} stream(s) nobody resumed in time were dropped", expired);
        changed_.notify_all();
    }
}

void HttpChannel::close() {
    {
        std::lock_guard lock(mutex_);
        closed_ = true;
        streams_.clear();
        by_request_.clear();
        unwritten_bytes_ = 0;
        full_since_.reset();
    }
    changed_.notify_all();
}

std::string HttpChannel::event_id(std::uint64_t stream, std::uint64_t sequence) {
    return std::to_string(stream) + "." + std::to_string(sequence);
}

std::optional<HttpChannel::Clock::time_point> HttpChannel::full_since() const {
    std::lock_guard lock(mutex_);
    return full_since_;
}

bool HttpChannel::attached() const {
    std::lock_guard lock(mutex_);
    return std::any_of(streams_.begin(), streams_.end(), [](const auto& entry) { return entry.second.attachment; });
}

std::size_t HttpChannel::queued_bytes() const {
    std::lock_guard lock(mutex_);
    return unwritten_bytes_;
}

}  // namespace watchgate::core
