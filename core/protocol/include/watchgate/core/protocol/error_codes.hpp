#pragma once
// Every JSON-RPC error code the gateway answers with, in one place (docs/reliability.md lists
// when each is used). The standard codes are the SDK's, so plugins and the gateway agree.

#include <watchgate/plugin.h>

namespace watchgate::core::error_code {

// JSON-RPC 2.0.
inline constexpr int parse_error = WG_JSONRPC_PARSE_ERROR;            // not one JSON value
inline constexpr int invalid_request = WG_JSONRPC_INVALID_REQUEST;    // not a JSON-RPC message
inline constexpr int method_not_found = WG_JSONRPC_METHOD_NOT_FOUND;  // no upstream offers it
inline constexpr int invalid_params = WG_JSONRPC_INVALID_PARAMS;
inline constexpr int internal = WG_JSONRPC_INTERNAL_ERROR;
// A critical plugin failed: fail closed (the same code as internal, the message tells).
inline constexpr int plugin_failed = WG_JSONRPC_INTERNAL_ERROR;

// The gateway's own, in the range JSON-RPC leaves to implementations.
inline constexpr int blocked = WG_DEFAULT_BLOCK_CODE;  // a plugin blocked without naming a code
inline constexpr int timeout = -32001;                 // no answer within request_timeout
inline constexpr int unavailable = -32002;             // upstream not running / restarting / exited
inline constexpr int overloaded = -32003;              // max_in_flight reached with overflow: reject
inline constexpr int bad_answer = -32004;              // the upstream's answer was not valid JSON-RPC
inline constexpr int audit_failed = -32005;            // a critical auditing plugin could not record

// MCP: the client cancelled the request.
inline constexpr int cancelled = -32800;

}  // namespace watchgate::core::error_code
