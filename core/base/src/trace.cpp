#include <watchgate/core/base/trace.hpp>

#include <random>

namespace watchgate::core {

namespace {

template <std::size_t N>
std::array<std::uint8_t, N> random_id() {
    // Per thread: ids are made on every request's path, with no lock.
    thread_local std::mt19937_64 random{std::random_device{}()};
    std::array<std::uint8_t, N> id{};
    do {
        for (std::size_t i = 0; i < N; i += 8) {
            const std::uint64_t bits = random();
            for (std::size_t b = 0; b < 8 && i + b < N; ++b) id[i + b] = static_cast<std::uint8_t>(bits >> (8 * b));
        }
    } while (id == std::array<std::uint8_t, N>{});  // all zeros is the invalid id
    return id;
}

template <std::size_t N>
bool parse_hex(std::string_view text, std::array<std::uint8_t, N>& out) {
    if (text.size() != 2 * N) return false;
    auto digit = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        return -1;  // uppercase is invalid in a traceparent
    };
    for (std::size_t i = 0; i < N; ++i) {
        const int high = digit(text[2 * i]);
        const int low = digit(text[2 * i + 1]);
        if (high < 0 || low < 0) return false;
        out[i] = static_cast<std::uint8_t>(high * 16 + low);
    }
    return out != std::array<std::uint8_t, N>{};
}

}  // namespace

std::string to_hex(const std::uint8_t* bytes, std::size_t size) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string text(2 * size, '0');
    for (std::size_t i = 0; i < size; ++i) {
        text[2 * i] = digits[bytes[i] >> 4];
        text[2 * i + 1] = digits[bytes[i] & 15];
    }
    return text;
}

TraceContext TraceContext::start() {
    TraceContext context;
    context.trace_id = random_id<16>();
    context.span_id = random_id<8>();
    return context;
}

TraceContext TraceContext::child() const {
    TraceContext context = *this;
    context.span_id = random_id<8>();
    return context;
}

std::string TraceContext::traceparent() const {
    return "00-" + to_hex(trace_id.data(), trace_id.size()) + "-" + to_hex(span_id.data(), span_id.size()) + "-" +
           to_hex(&flags, 1);
}

std::optional<TraceContext> TraceContext::parse(std::string_view text) {
    // 00-<32 hex>-<16 hex>-<2 hex>
    if (text.size() != 55 || text.substr(0, 3) != "00-" || text[35] != '-' || text[52] != '-') return std::nullopt;
    TraceContext context;
    std::array<std::uint8_t, 1> flags{};
    if (!parse_hex(text.substr(3, 32), context.trace_id) || !parse_hex(text.substr(36, 16), context.span_id))
        return std::nullopt;
    const auto flag_text = text.substr(53, 2);
    if (!parse_hex(flag_text, flags) && flag_text != "00") return std::nullopt;
    context.flags = flags[0];
    return context;
}

}  // namespace watchgate::core
