#include <watchgate/core/config/starter_config.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include <unistd.h>

namespace watchgate::core {

namespace {

// Ordered: the upstreams come out in the client file's order.
using json = nlohmann::ordered_json;

[[noreturn]] void fail(const std::filesystem::path& file, const std::string& what) {
    throw std::runtime_error(file.string() + ": " + what);
}

// The line of byte `offset` in `text`, from 1.
std::size_t line_at(const std::string& text, std::size_t offset) {
    offset = std::min(offset, text.size());
    return 1 +
           static_cast<std::size_t>(std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(offset), '\n'));
}

// VS Code writes an environment variable as ${env:NAME}; the gateway as ${NAME}.
std::string gateway_variables(std::string text) {
    for (std::size_t at = 0; (at = text.find("${env:", at)) != std::string::npos;) text.erase(at + 2, 4);
    return text;
}

std::map<std::string, std::string> string_map(const std::filesystem::path& file, const json& entry,
                                              const std::string& server, const char* key) {
    std::map<std::string, std::string> values;
    if (!entry.contains(key)) return values;
    const json& object = entry[key];
    if (!object.is_object()) fail(file, "server '" + server + "': '" + key + "' must be an object of strings");
    for (const auto& [name, value] : object.items()) {
        if (!value.is_string()) fail(file, "server '" + server + "': '" + key + "." + name + "' must be a string");
        values.emplace(name, gateway_variables(value.get<std::string>()));
    }
    return values;
}

ClientServer read_server(const std::filesystem::path& file, const std::string& name, const json& entry) {
    if (!entry.is_object()) fail(file, "server '" + name + "' must be an object");
    ClientServer server;
    server.name = name;
    if (entry.contains("type") && !entry["type"].is_string())
        fail(file, "server '" + name + "': 'type' must be a string (stdio, http or sse)");
    const std::string type = entry.value("type", std::string());
    if (entry.contains("url")) {
        if (!entry["url"].is_string()) fail(file, "server '" + name + "': 'url' must be a string");
        server.url = gateway_variables(entry["url"].get<std::string>());
        server.transport = type == "sse" ? "sse" : "streamable_http";
        server.headers = string_map(file, entry, name, "headers");
        return server;
    }
    if (!entry.contains("command") || !entry["command"].is_string() || entry["command"].get<std::string>().empty())
        fail(file, "server '" + name + "' has neither a 'command' (a string) nor a 'url'");
    server.command.push_back(entry["command"].get<std::string>());
    if (entry.contains("args")) {
        if (!entry["args"].is_array()) fail(file, "server '" + name + "': 'args' must be an array of strings");
        for (const auto& arg : entry["args"]) {
            if (!arg.is_string()) fail(file, "server '" + name + "': 'args' must be an array of strings");
            server.command.push_back(gateway_variables(arg.get<std::string>()));
        }
    }
    server.env = string_map(file, entry, name, "env");
    if (entry.contains("cwd") && entry["cwd"].is_string())
        server.cwd = gateway_variables(entry["cwd"].get<std::string>());
    return server;
}

// A YAML scalar for any text: JSON's double-quoted string is one.
std::string quoted(const std::string& text) { return json(text).dump(); }

std::string flow_list(const std::vector<std::string>& items) {
    std::string out = "[";
    for (std::size_t i = 0; i < items.size(); ++i) out += (i ? ", " : "") + quoted(items[i]);
    return out + "]";
}

std::string flow_map(const std::map<std::string, std::string>& values) {
    std::string out = "{";
    bool first = true;
    for (const auto& [key, value] : values) {
        out += (first ? "" : ", ") + quoted(key) + ": " + quoted(value);
        first = false;
    }
    return out + "}";
}

}  // namespace

std::vector<ClientServer> read_client_servers(const std::filesystem::path& file) {
    std::ifstream in(file);
    if (!in) fail(file, std::string("cannot read: ") + std::strerror(errno));
    std::stringstream buffer;
    buffer << in.rdbuf();
    const std::string text = buffer.str();
    json document;
    try {
        document = json::parse(text, nullptr, true, /*ignore_comments=*/true);
    } catch (const json::parse_error& e) {
        fail(file, "line " + std::to_string(line_at(text, e.byte == 0 ? 0 : e.byte - 1)) + ": not valid JSON (" +
                       e.what() + ")");
    }
    // Claude Desktop (and most clients): "mcpServers"; VS Code's mcp.json: "servers".
    const char* key = document.is_object() && document.contains("mcpServers") ? "mcpServers" : "servers";
    if (!document.is_object() || !document.contains(key) || !document[key].is_object())
        fail(file, "expected an object with \"mcpServers\" (Claude Desktop) or \"servers\" (VS Code)");
    std::vector<ClientServer> servers;
    for (const auto& [name, entry] : document[key].items()) servers.push_back(read_server(file, name, entry));
    if (servers.empty()) fail(file, std::string("\"") + key + "\" lists no server");
    return servers;
}

std::string upstream_name_for(const std::string& server_name, std::vector<std::string>& taken) {
    std::string name;
    for (const char c : server_name) {
        const char lower = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
        const bool valid = (lower >= 'a' && lower <= 'z') || (lower >= '0' && lower <= '9') || lower == '-';
        const char next = valid ? lower : '_';
        if (next == '_' && !name.empty() && name.back() == '_') continue;  // never "__"
        name += next;
    }
    while (!name.empty() && (name.back() == '_' || name.back() == '-')) name.pop_back();
    if (name.empty() || !(name[0] >= 'a' && name[0] <= 'z'))
        name = "server" + (name.empty() || name[0] == '_' ? name : "-" + name);
    std::string unique = name;
    for (int suffix = 2; std::find(taken.begin(), taken.end(), unique) != taken.end(); ++suffix)
        unique = name + "-" + std::to_string(suffix);
    taken.push_back(unique);
    return unique;
}

std::string program_in_path(const std::string& program, const std::string& path) {
    if (program.empty() || program.find('/') != std::string::npos) return program;
    for (std::size_t at = 0; at <= path.size();) {
        const auto colon = std::min(path.find(':', at), path.size());
        const std::string folder = path.substr(at, colon - at);
        if (!folder.empty() && folder.front() == '/') {
            const std::string candidate = folder + "/" + program;
            if (::access(candidate.c_str(), X_OK) == 0) return candidate;
        }
        at = colon + 1;
    }
    return program;
}

std::string starter_config(const std::vector<ClientServer>& servers, const std::string& path) {
    std::ostringstream out;
    out << "# Watchgate: an MCP security gateway. Every key: docs/configuration.md.\n"
           "# Check this file:  watchgate validate --config <this file>\n"
           "# Then give the client  watchgate --config <this file's absolute path>  in place of its servers.\n"
           "proxy:\n"
           "  # The MCP servers behind the gateway. With one, its tools keep their names; with two or more,\n"
           "  # each name gets its upstream's prefix (fs__read_file). Give programs by absolute path: a client\n"
           "  # started from the desktop does not have your shell's PATH.\n"
           "  upstreams:\n";
    std::vector<std::string> taken;
    std::string first_name;
    if (servers.empty()) {
        first_name = "everything";
        out << "    - name: everything                      # the MCP reference server, to try things out\n"
               "      command: "
            << flow_list({program_in_path("npx", path), "-y", "@modelcontextprotocol/server-everything"})
            << "\n"
               "      # env: {API_KEY: \"...\"}               # merged over the gateway's environment\n";
    }
    for (const auto& server : servers) {
        const std::string name = upstream_name_for(server.name, taken);
        if (first_name.empty()) first_name = name;
        out << "    - name: " << name;
        if (name != server.name) out << "                       # " << quoted(server.name) << " in the client";
        out << "\n";
        if (!server.url.empty()) {
            out << "      url: " << quoted(server.url) << "\n";
            if (server.transport == "sse")
                out << "      transport: sse                     # the old HTTP+SSE transport\n";
            if (!server.headers.empty())
                out << "      headers: " << flow_map(server.headers) << "   # ${VAR} takes an environment variable\n";
            continue;
        }
        auto command = server.command;
        command[0] = program_in_path(command[0], path);
        out << "      command: " << flow_list(command);
        if (command[0] != server.command[0]) out << "   # " << quoted(server.command[0]) << " found in PATH";
        out << "\n";
        if (!server.env.empty()) out << "      env: " << flow_map(server.env) << "\n";
        if (!server.cwd.empty()) out << "      cwd: " << quoted(server.cwd) << "\n";
    }
    out << "    # A remote server (Streamable HTTP; `transport: sse` for the old HTTP+SSE one):\n"
           "    # - name: remote\n"
           "    #   url: https://mcp.example.com/mcp\n"
           "    #   headers: {Authorization: \"Bearer ${EXAMPLE_TOKEN}\"}   # ${VAR}: from the environment\n"
           "  timeouts:\n"
           "    request_timeout: 60                  # seconds a call may take; then the client gets an error\n"
           "plugins:\n"
           "  security:                              # run on every message, both directions\n"
           "    _global:\n"
           "      - handler: basic_pii_filter        # e-mail addresses, phone and card numbers...: redacted\n"
           "      - handler: basic_secrets_filter    # AWS keys, GitHub tokens, private keys: the message is blocked\n"
           "        config: {action: block}\n"
           "      # - handler: basic_prompt_injection_defense   # instructions hidden in tool results\n"
           "  # middleware:\n"
           "  #   "
        << first_name
        << ":                          # an upstream's own plugins\n"
           "  #     - handler: tool_manager          # an allow-list of its tools, enforced on calls\n"
           "  #       config: {tools: [{tool: echo}]}\n"
           "  auditing:\n"
           "    _global:\n"
           "      - handler: audit_jsonl             # every request and response, with each plugin's verdict\n"
           "        config: {output_file: logs/audit.jsonl}   # relative to this file's folder\n"
           "logging:\n"
           "  handlers: [file]                       # the client keeps stderr; a file is easier to read\n"
           "  file_path: logs/gateway.log\n";
    return out.str();
}

}  // namespace watchgate::core
