#include <watchgate/core/base/url.hpp>

#include <algorithm>
#include <cctype>
#include <charconv>

namespace watchgate::core {

namespace {

bool fail(std::string* why, std::string text) {
    if (why) *why = std::move(text);
    return false;
}

bool is_host_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
           c == '_';
}

// Bytes a target may carry as they are: visible ASCII (percent-encoding stays as written).
bool is_target_char(char c) { return c > 0x20 && c < 0x7f; }

}  // namespace

std::optional<Url> Url::parse(std::string_view text, std::string* why) {
    Url url;
    std::string_view rest;
    if (text.starts_with("http://")) {
        rest = text.substr(7);
    } else if (text.starts_with("https://")) {
        url.tls = true;
        rest = text.substr(8);
    } else {
        fail(why, "expected a URL starting with http:// or https://");
        return std::nullopt;
    }
    const auto authority_end = rest.find_first_of("/?#");
    std::string_view authority = rest.substr(0, authority_end);
    std::string_view target = authority_end == std::string_view::npos ? std::string_view() : rest.substr(authority_end);
    if (authority.find('@') != std::string_view::npos) {
        fail(why, "a URL with user:password@ is not accepted: put credentials in 'headers:'");
        return std::nullopt;
    }
    std::string_view port_text;
    if (authority.starts_with('[')) {
        const auto close = authority.find(']');
        if (close == std::string_view::npos || close == 1) {
            fail(why, "expected an IPv6 address in brackets: [::1]");
            return std::nullopt;
        }
        url.host = std::string(authority.substr(1, close - 1));
        for (char c : url.host)
            if (!(std::isxdigit(static_cast<unsigned char>(c)) || c == ':' || c == '.')) {
                fail(why, "expected an IPv6 address in brackets: [::1]");
                return std::nullopt;
            }
        authority.remove_prefix(close + 1);
        if (!authority.empty()) {
            if (authority.front() != ':') {
                fail(why, "expected ':port' after the IPv6 address");
                return std::nullopt;
            }
            port_text = authority.substr(1);
        }
    } else {
        const auto colon = authority.find(':');
        url.host = std::string(authority.substr(0, colon));
        if (colon != std::string_view::npos) port_text = authority.substr(colon + 1);
        for (char c : url.host)
            if (!is_host_char(c)) {
                fail(why, "the host name '" + url.host + "' holds a character a host name cannot have");
                return std::nullopt;
            }
    }
    if (url.host.empty()) {
        fail(why, "the URL names no host");
        return std::nullopt;
    }
    // Host names are case-insensitive: one spelling, for comparing origins.
    std::transform(url.host.begin(), url.host.end(), url.host.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    url.port = url.tls ? 443 : 80;
    if (authority.find(':') != std::string_view::npos || !port_text.empty()) {
        unsigned value = 0;
        const auto [end, error] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), value);
        if (port_text.empty() || error != std::errc() || end != port_text.data() + port_text.size() || value == 0 ||
            value > 65535) {
            fail(why, "expected a port from 1 to 65535 after the host");
            return std::nullopt;
        }
        url.port = static_cast<std::uint16_t>(value);
    }
    if (const auto hash = target.find('#'); hash != std::string_view::npos) target = target.substr(0, hash);
    for (char c : target)
        if (!is_target_char(c)) {
            fail(why, "the URL's path holds a space or a control character (percent-encode it)");
            return std::nullopt;
        }
    url.target = target.empty() || target.front() == '?' ? "/" + std::string(target) : std::string(target);
    return url;
}

std::optional<Url> Url::resolve(std::string_view reference) const {
    if (reference.starts_with("http://") || reference.starts_with("https://")) return parse(reference);
    if (reference.starts_with("//")) return parse((tls ? "https:" : "http:") + std::string(reference));
    reference = reference.substr(0, reference.find('#'));
    for (char c : reference)
        if (!is_target_char(c)) return std::nullopt;
    Url resolved = *this;
    const std::string_view path = std::string_view(target).substr(0, target.find('?'));
    if (reference.starts_with('/')) {
        resolved.target = std::string(reference);
    } else if (reference.starts_with('?')) {
        resolved.target = std::string(path) + std::string(reference);  // the same path, another query
    } else {
        resolved.target = std::string(path.substr(0, path.rfind('/') + 1)) + std::string(reference);
    }
    if (resolved.target.empty()) resolved.target = "/";
    return resolved;
}

std::string Url::host_header() const {
    const bool default_port = port == (tls ? 443 : 80);
    const bool v6 = host.find(':') != std::string::npos;
    std::string out = v6 ? "[" + host + "]" : host;
    if (!default_port) out += ":" + std::to_string(port);
    return out;
}

std::string Url::origin() const { return (tls ? "https://" : "http://") + host_header(); }

std::string Url::redacted() const {
    // Some services put a key in the path (/s/<key>/mcp): long segments are not shown.
    std::string out = origin();
    const std::string_view path = std::string_view(target).substr(0, target.find('?'));
    for (std::size_t at = 0; at < path.size();) {
        const auto next = path.find('/', at + 1);
        const auto segment = path.substr(at, next == std::string_view::npos ? std::string_view::npos : next - at);
        out += segment.size() > 25 ? std::string("/...") : std::string(segment);
        at = next == std::string_view::npos ? path.size() : next;
    }
    return out;
}

}  // namespace watchgate::core
