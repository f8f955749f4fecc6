#pragma once
// Who an HTTP request is from and what its credential grants.

#include <string>
#include <vector>

namespace watchgate::core {

struct Identity {
    std::string subject;              // empty without authentication
    std::vector<std::string> scopes;  // what the credential grants
};

}  // namespace watchgate::core
