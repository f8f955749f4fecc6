#pragma once
// Splits a byte stream into newline-delimited lines of at most `max_size` bytes. A longer line is
// dropped up to its newline and reported with its first and last bytes (enough to find its id),
// and splitting goes on after it. Pure: no I/O.

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <string>
#include <string_view>

namespace watchgate::core {

// What is kept of a line that was too long: its size and its first and last bytes.
struct OversizeLine {
    std::size_t size = 0;
    std::string_view head;
    std::string_view tail;
};

class LineSplitter {
public:
    // Bytes kept from each end of an oversize line.
    static constexpr std::size_t kept_ends = 512;

    explicit LineSplitter(std::size_t max_size) : max_size_(max_size) {}

    // Calls on_line(std::string&&) for every complete non-empty line (without "\n" or "\r\n") and
    // on_oversize(const OversizeLine&) once for every line longer than the limit.
    template <class OnLine, class OnOversize>
    void feed(std::string_view bytes, OnLine&& on_line, OnOversize&& on_oversize) {
        while (!bytes.empty()) {
            const char* newline = static_cast<const char*>(std::memchr(bytes.data(), '\n', bytes.size()));
            const std::size_t take = newline ? static_cast<std::size_t>(newline - bytes.data()) : bytes.size();
            if (!discarding_) {
                if (partial_.size() + take > max_size_ + 1) {  // +1: a trailing '\r' is not content
                    discarding_ = true;
                    head_.assign(partial_.data(), std::min(partial_.size(), kept_ends));
                    if (head_.size() < kept_ends) head_.append(bytes.data(), std::min(take, kept_ends - head_.size()));
                    discarded_ = partial_.size();
                    keep_tail(partial_);
                    partial_.clear();
                    partial_.shrink_to_fit();
                    discard(bytes.substr(0, take));
                } else {
                    partial_.append(bytes.data(), take);
                }
            } else {
                discard(bytes.substr(0, take));
            }
            if (!newline) return;
            bytes.remove_prefix(take + 1);
            if (discarding_) {
                discarding_ = false;
                report(on_oversize);
                continue;
            }
            if (!partial_.empty() && partial_.back() == '\r') partial_.pop_back();
            if (partial_.size() > max_size_) {
                head_.assign(partial_.data(), std::min(partial_.size(), kept_ends));
                discarded_ = 0;
                tail_.clear();
                discard(partial_);
                partial_.clear();
                report(on_oversize);
            } else if (!partial_.empty()) {
                on_line(std::move(partial_));
                partial_ = std::string();
            }
        }
    }

    // End of stream: a last line without its newline still counts.
    template <class OnLine, class OnOversize>
    void finish(OnLine&& on_line, OnOversize&& on_oversize) {
        if (discarding_ || !partial_.empty()) feed(std::string_view("\n", 1), on_line, on_oversize);
    }

    // True while a started line is pending (bytes after the last newline).
    bool has_partial() const { return discarding_ || !partial_.empty(); }

private:
    void discard(std::string_view bytes) {
        discarded_ += bytes.size();
        keep_tail(bytes);
    }
    void keep_tail(std::string_view bytes) {
        if (bytes.size() >= kept_ends) {
            tail_.assign(bytes.substr(bytes.size() - kept_ends));
            return;
        }
        tail_.append(bytes);
        if (tail_.size() > kept_ends) tail_.erase(0, tail_.size() - kept_ends);
    }
    template <class OnOversize>
    void report(OnOversize& on_oversize) {
        std::string_view tail = tail_;
        if (!tail.empty() && tail.back() == '\r') tail.remove_suffix(1);
        on_oversize(OversizeLine{discarded_, head_, tail});
        head_.clear();
        tail_.clear();
        discarded_ = 0;
    }

    std::size_t max_size_;
    std::string partial_;
    bool discarding_ = false;
    std::string head_, tail_;
    std::size_t discarded_ = 0;
};

}  // namespace watchgate::core
