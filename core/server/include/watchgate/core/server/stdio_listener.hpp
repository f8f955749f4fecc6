#pragma once
// The one client on stdin/stdout: a session whose channel writes lines to stdout (through a
// LineWriter with flow control when stdout is a pipe or socket, directly for a file or terminal),
// and a reader of stdin (on the I/O thread for a pipe or socket, on a thread of its own for a
// file or terminal). End of input, or a client that takes nothing for the stall timeout, asks
// the runtime to stop.

#include <watchgate/core/server/runtime.hpp>

#include <memory>
#include <string>

namespace watchgate::core {

class StdioListener {
public:
    explicit StdioListener(Runtime& runtime);

    // Opens the session and starts reading stdin.
    void start();
    // After the shutdown: waits (up to 5 s) for what is still queued for stdout to be written.
    void flush();

private:
    Runtime& runtime_;
    std::shared_ptr<LineWriter> writer_;      // null when stdout is a file or terminal
    std::shared_ptr<ClientSession> session_;  // owned here until the listener goes
};

// When the gateway cannot start and stdin is not a terminal: reads the client's first line and
// answers it with a JSON-RPC error carrying `message` (MCP clients show it to the user).
void answer_startup_failure(const std::string& message);

}  // namespace watchgate::core
