#pragma once
// `watchgate init`: a commented starter gateway.yaml, optionally with the servers of an MCP
// client's own configuration (Claude Desktop's `mcpServers`, VS Code's `servers`) as upstreams.
#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace watchgate::core {

// One server as a client configuration describes it: a command to start, or a URL.
struct ClientServer {
    std::string name;  // as the client named it
    std::vector<std::string> command;
    std::map<std::string, std::string> env;
    std::string cwd;
    std::string url;
    std::string transport;  // for `url`: streamable_http or sse
    std::map<std::string, std::string> headers;
};

// The servers of a client configuration file, in the file's order. Throws std::runtime_error
// naming the file (and line, for bad JSON) and what was expected.
std::vector<ClientServer> read_client_servers(const std::filesystem::path& file);

// An upstream name made from a client's server name: lower case, [a-z0-9_-], starting with a
// letter, no "__", unique among `taken` (which it joins).
std::string upstream_name_for(const std::string& server_name, std::vector<std::string>& taken);

// `program` as found in `path` (colon-separated folders): its absolute path; `program` itself
// when it has a '/' or is not found. A client started from the desktop lacks the shell's PATH,
// so the starter names programs by absolute path.
std::string program_in_path(const std::string& program, const std::string& path);

// The starter file: `servers` as upstreams (an example server when empty), the flagship security
// plugins and an audit trail, each key commented. Bare program names are looked up in `path`.
std::string starter_config(const std::vector<ClientServer>& servers, const std::string& path);

}  // namespace watchgate::core
