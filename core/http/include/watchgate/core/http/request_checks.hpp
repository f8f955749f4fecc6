#pragma once
// The header checks of the HTTP front (docs/http.md): DNS-rebinding protection (Host and Origin
// against the allowed lists), content negotiation (Accept, Content-Type), bearer credentials.

#include <string>
#include <string_view>
#include <vector>

namespace watchgate::core {

// Whether a Host header ("name[:port]") is allowed. An entry without a port allows any port,
// "*" allows every host; an empty list allows the loopback names (localhost, 127.0.0.1, [::1]).
bool host_allowed(std::string_view host, const std::vector<std::string>& allowed);
// Whether an Origin header ("scheme://name[:port]") is allowed: listed exactly (case aside), "*"
// listed, or, with an empty list, an http(s) origin on a loopback name.
bool origin_allowed(std::string_view origin, const std::vector<std::string>& allowed);
// Whether an Accept header takes `media_type` ("application/json"): listed, through "type/*" or
// "*/*", and not with q=0. A missing header accepts everything.
bool accepts(std::string_view accept, std::string_view media_type);
// Whether a Content-Type header is JSON ("application/json", parameters aside).
bool is_json_content_type(std::string_view content_type);
// The token of an "Authorization: Bearer <token>" header; empty when it is not one.
std::string_view bearer_token(std::string_view authorization);
// Whether an address given to listen on is a loopback one.
bool is_loopback_address(std::string_view address);

}  // namespace watchgate::core
