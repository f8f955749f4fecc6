#include <watchgate/core/http/request_checks.hpp>

#include <algorithm>
#include <array>
#include <cctype>

namespace watchgate::core {

namespace {

bool equal_ignoring_case(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](unsigned char x, unsigned char y) {
               return std::tolower(x) == std::tolower(y);
           });
}

std::string_view trim(std::string_view text) {
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
    return text;
}

// "name:port" -> "name"; "[::1]:port" -> "[::1]".
std::string_view host_name(std::string_view host) {
    if (host.starts_with('[')) {
        const auto close = host.find(']');
        return close == std::string_view::npos ? host : host.substr(0, close + 1);
    }
    const auto colon = host.rfind(':');
    return colon == std::string_view::npos ? host : host.substr(0, colon);
}

bool is_loopback_name(std::string_view name) {
    static constexpr std::array<std::string_view, 3> names = {"localhost", "127.0.0.1", "[::1]"};
    return std::any_of(names.begin(), names.end(),
                       [&](std::string_view known) { return equal_ignoring_case(name, known); });
}

}  // namespace

bool host_allowed(std::string_view host, const std::vector<std::string>& allowed) {
    host = trim(host);
    if (host.empty()) return false;
    if (allowed.empty()) return is_loopback_name(host_name(host));
    return std::any_of(allowed.begin(), allowed.end(), [&](const std::string& entry) {
        if (entry == "*") return true;
        const bool has_port = host_name(entry).size() != entry.size();
        return equal_ignoring_case(has_port ? host : host_name(host), entry);
    });
}

bool origin_allowed(std::string_view origin, const std::vector<std::string>& allowed) {
    origin = trim(origin);
    if (allowed.empty()) {
        for (std::string_view scheme : {"http://", "https://"}) {
            if (origin.size() > scheme.size() && equal_ignoring_case(origin.substr(0, scheme.size()), scheme)) {
                const auto rest = origin.substr(scheme.size());
                if (rest.find('/') != std::string_view::npos) return false;
                return is_loopback_name(host_name(rest));
            }
        }
        return false;
    }
    return std::any_of(allowed.begin(), allowed.end(),
                       [&](const std::string& entry) { return entry == "*" || equal_ignoring_case(origin, entry); });
}

bool accepts(std::string_view accept, std::string_view media_type) {
    accept = trim(accept);
    if (accept.empty()) return true;
    const auto slash = media_type.find('/');
    const auto type_wildcard = std::string(media_type.substr(0, slash)) + "/*";
    while (!accept.empty()) {
        const auto comma = accept.find(',');
        std::string_view item = accept.substr(0, comma);
        accept = comma == std::string_view::npos ? std::string_view() : accept.substr(comma + 1);
        const auto semicolon = item.find(';');
        const std::string_view range = trim(item.substr(0, semicolon));
        if (!(equal_ignoring_case(range, media_type) || equal_ignoring_case(range, type_wildcard) || range == "*/*"))
            continue;
        // "q=0" (or 0.0, 0.00, ...) refuses the type.
        bool refused = false;
        for (auto params = semicolon == std::string_view::npos ? std::string_view() : item.substr(semicolon + 1);
             !params.empty();) {
            const auto next = params.find(';');
            const std::string_view param = trim(params.substr(0, next));
            params = next == std::string_view::npos ? std::string_view() : params.substr(next + 1);
            if (param.size() >= 2 && (param[0] == 'q' || param[0] == 'Q') && param[1] == '=')
                refused = param.find_first_not_of("0.", 2) == std::string_view::npos;
        }
        if (!refused) return true;
    }
    return false;
}

bool is_json_content_type(std::string_view content_type) {
    return equal_ignoring_case(trim(content_type.substr(0, content_type.find(';'))), "application/json");
}

std::string_view bearer_token(std::string_view authorization) {
    authorization = trim(authorization);
    if (authorization.size() < 7 || !equal_ignoring_case(authorization.substr(0, 7), "bearer ")) return {};
    return trim(authorization.substr(7));
}

bool is_loopback_address(std::string_view address) {
    return address == "localhost" || address == "::1" || address.starts_with("127.");
}

}  // namespace watchgate::core
