#pragma once
// Splits a byte stream into newline-delimited lines of at most `max_size` bytes. A longer line is
// dropped up to its newline and reported, and splitting goes on after it. Pure: no I/O.

#include <cstddef>
#include <cstring>
#include <string>
#include <string_view>

namespace watchgate::core {

class LineSplitter {
public:
    explicit LineSplitter(std::size_t max_size) : max_size_(max_size) {}

    // Calls on_line(std::string&&) for every complete non-empty line (without "\n" or "\r\n") and
    // on_oversize() once for every line longer than the limit.
    template <class OnLine, class OnOversize>
    void feed(std::string_view bytes, OnLine&& on_line, OnOversize&& on_oversize) {
        while (!bytes.empty()) {
            const char* newline = static_cast<const char*>(std::memchr(bytes.data(), '\n', bytes.size()));
            const std::size_t take = newline ? static_cast<std::size_t>(newline - bytes.data()) : bytes.size();
            if (!discarding_) {
                if (partial_.size() + take > max_size_ + 1) {  // +1: a trailing '\r' is not content
                    discarding_ = true;
                    partial_.clear();
                    partial_.shrink_to_fit();
                } else {
                    partial_.append(bytes.data(), take);
                }
            }
            if (!newline) return;
            bytes.remove_prefix(take + 1);
            if (discarding_) {
                discarding_ = false;
                on_oversize();
                continue;
            }
            if (!partial_.empty() && partial_.back() == '\r') partial_.pop_back();
            if (partial_.size() > max_size_) {
                partial_.clear();
                on_oversize();
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
    std::size_t max_size_;
    std::string partial_;
    bool discarding_ = false;
};

}  // namespace watchgate::core
