#pragma once
// Who a message is from or for, as audit records and the context extension name it
// (docs/plugin-abi.md): the client session, its transport, its address and who authenticated.

#include <string>

namespace watchgate::core {

struct ClientContext {
    std::string session;
    std::string transport;  // stdio | http
    std::string address;
    std::string subject;
};

}  // namespace watchgate::core
