#pragma once
// An http(s) URL as the HTTP client needs it: where to connect, what to ask for, what to log.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace watchgate::core {

struct Url {
    bool tls = false;        // https
    std::string host;        // a name or an address; IPv6 without its brackets
    std::uint16_t port = 0;  // 80 or 443 unless given
    std::string target;      // path and query, at least "/"

    // Parses an absolute http:// or https:// URL; `why` (when given) says what is wrong.
    // User information (`user:pass@`) and fragments are refused: credentials go in headers.
    static std::optional<Url> parse(std::string_view text, std::string* why = nullptr);

    // A reference found in a message (an SSE `endpoint`): an absolute URL, an absolute path, or a
    // path relative to this URL's.
    std::optional<Url> resolve(std::string_view reference) const;

    // "http://host:port": what the Host header and a same-origin check compare.
    std::string origin() const;
    std::string host_header() const;
    // For logs: the origin and path, without the query (it may hold a key).
    std::string redacted() const;
};

}  // namespace watchgate::core
