// The `watchgate` command line. Parses arguments and calls into core; no gateway logic here.

#include <watchgate/core/config/config.hpp>
#include <watchgate/core/config/starter_config.hpp>
#include <watchgate/core/protocol/message.hpp>
#include <watchgate/core/pipeline/pipeline.hpp>
#include <watchgate/core/pipeline/plugin_host.hpp>
#include <watchgate/core/server/admin_client.hpp>
#include <watchgate/core/server/admin_status.hpp>
#include <watchgate/core/server/call_once.hpp>
#include <watchgate/core/server/logging.hpp>
#include <watchgate/core/server/reload_request.hpp>
#include <watchgate/core/server/stdio_listener.hpp>
#include <watchgate/core/server/http_server.hpp>
#include <watchgate/core/server/stdio_server.hpp>
#include <watchgate/core/base/version.hpp>

#include <CLI/CLI.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <iostream>
#include <string>
#include <variant>

namespace core = watchgate::core;

namespace {

void configure_logging(int verbosity) { core::configure_logging(core::LoggingConfig{}, verbosity); }

std::string kinds_text(std::uint32_t kinds) {
    std::string text;
    for (auto role : {core::PluginRole::security, core::PluginRole::middleware, core::PluginRole::auditing})
        if (kinds & core::role_kind_bit(role)) text += (text.empty() ? "" : ",") + std::string(core::role_name(role));
    return text;
}

std::string milliseconds(std::chrono::nanoseconds duration) {
    char text[32];
    std::snprintf(text, sizeof text, "%.3f ms", static_cast<double>(duration.count()) / 1e6);
    return text;
}

void print_result(const char* phase, const core::Message& message, const core::PipelineResult& result) {
    std::cout << phase << " " << (message.id_text().empty() ? "-" : message.id_text()) << " " << message.method();
    if (!message.target().empty()) std::cout << " " << message.target();
    std::cout << "\n";
    for (const auto& stage : result.stages) {
        std::cout << "  [" << stage.plugin << "] " << core::outcome_name(stage.outcome) << " ("
                  << milliseconds(stage.duration) << ")";
        if (!stage.reason.empty()) std::cout << ": " << stage.reason;
        if (!stage.metadata.is_null()) std::cout << " " << core::dump_json(stage.metadata);
        std::cout << "\n";
    }
    std::cout << "  => " << core::outcome_name(result.outcome) << ": ";
    if (result.reply)
        std::cout << "answered by the gateway " << core::dump_json(*result.reply) << "\n";
    else if (result.forwards())
        std::cout << "forwarded " << message.serialize() << "\n";
    else
        std::cout << "dropped\n";
}

// Runs each JSON line of `input` through the pipeline of `upstream`; with `response_result`, a
// forwarded request is answered with it and the answer runs through the response phase.
int simulate(const std::string& config_path, const std::string& upstream, std::istream& input,
             const std::string& response_result, bool audit) {
    auto config = core::load_config(config_path);
    // A simulation must not write into the real audit trail: auditing plugins run only when asked.
    if (!audit) {
        const auto before = config.plugins.size();
        std::erase_if(config.plugins,
                      [](const core::PluginEntryConfig& entry) { return entry.role == core::PluginRole::auditing; });
        if (config.plugins.size() != before)
            std::cout << "auditing plugins not run (they would write to their real outputs; --audit runs them)\n";
    }
    auto host = core::PluginHost::load(config);
    auto pipeline = host->pipeline(upstream);
    nlohmann::json result_value;
    if (!response_result.empty()) {
        result_value = nlohmann::json::parse(response_result, nullptr, false);
        if (result_value.is_discarded()) {
            std::cerr << "error: --respond is not valid JSON\n";
            return 2;
        }
    }
    std::string line;
    while (std::getline(input, line)) {
        if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
        auto parsed = core::Message::parse(line, upstream);
        if (auto* error = std::get_if<core::MessageError>(&parsed)) {
            std::cout << "invalid message: "
                      << core::dump_json(core::make_error_response(error->id, error->code, error->message)) << "\n";
            continue;
        }
        auto& message = std::get<core::Message>(parsed);
        if (message.kind() == core::MessageKind::notification) {
            print_result("notification", message, pipeline->process_notification(nullptr, message));
            continue;
        }
        if (message.kind() == core::MessageKind::response) {
            std::cout << "skipped a response: responses run through the pipeline with their request (use --respond)\n";
            continue;
        }
        auto scope = pipeline->begin_request(message);
        auto result = pipeline->process_request(*scope, message);
        print_result("request", message, result);
        if (result.forwards() && !response_result.empty()) {
            auto response = core::Message::from_json(
                {{"jsonrpc", "2.0"}, {"id", message.id()}, {"result", result_value}}, upstream);
            print_result("response", response, pipeline->process_response(*scope, response));
        }
    }
    return 0;
}

// Prints a config error list one per line with a count, or any other error.
void report_errors(const std::exception& error) {
    if (const auto* errors = dynamic_cast<const core::ConfigErrors*>(&error)) {
        for (const auto& e : errors->errors) std::cerr << "error: " << e.format() << "\n";
        std::cerr << errors->errors.size() << (errors->errors.size() == 1 ? " error" : " errors")
                  << " in the configuration\n";
    } else {
        std::cerr << "error: " << error.what() << "\n";
    }
}

// `plugins list` (describe_name empty) and `plugins describe NAME`.
int plugins_command(const std::string& config_path, const std::string& describe_name) {
    core::GatewayConfig config;
    if (!config_path.empty()) config = core::load_config(config_path);
    const auto search_path = core::plugin_search_path(config);
    auto found = core::discover_plugins(search_path);
    const bool describing = !describe_name.empty();
    if (!describing) {
        std::cout << "searched:";
        for (const auto& dir : search_path) std::cout << " " << dir.string();
        std::cout << "\n";
    }
    if (describing && !found.contains(describe_name)) {
        std::cerr << "error: plugin '" << describe_name << "' not found\n";
        return 1;
    }
    for (const auto& [name, file] : found) {
        if (describing && name != describe_name) continue;
        try {
            auto module = core::PluginModule::load(file);
            const auto& d = module->descriptor();
            if (!describing) {
                std::cout << name << "  " << d.version << "  [" << kinds_text(d.kinds) << "]  " << d.description
                          << "\n";
                continue;
            }
            std::cout << "name:        " << d.name << "\nversion:     " << d.version
                      << "\ndescription: " << d.description << "\nkinds:       " << kinds_text(d.kinds)
                      << "\nthread-safe: " << (module->thread_safe() ? "yes" : "no")
                      << "\nABI:         " << core::abi_version_text(d.abi_major, d.abi_minor)
                      << "\nfile:        " << file.string() << "\nconfig schema:\n"
                      << (d.config_schema ? d.config_schema : "(none)") << "\n";
        } catch (const core::PluginLoadError& e) {
            std::cerr << "warning: " << e.what() << "\n";
        }
    }
    return 0;
}

// `init`: writes the starter file (never over an existing one unless `force`).
int init_command(const std::string& output, const std::string& import_from, bool force) {
    std::vector<core::ClientServer> servers;
    if (!import_from.empty()) servers = core::read_client_servers(import_from);
    const std::filesystem::path file = output.empty() ? "gateway.yaml" : output;
    const char* path = std::getenv("PATH");
    const std::string text = core::starter_config(servers, path ? path : "");
    // O_EXCL: a file that appears meanwhile is not written over either.
    const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC | (force ? O_TRUNC : O_EXCL), 0644);
    if (fd < 0 && errno == EEXIST) {
        std::cerr << "error: " << file.string() << " exists; --force writes over it\n";
        return 1;
    }
    std::size_t done = 0;
    while (fd >= 0 && done < text.size()) {
        const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        done += static_cast<std::size_t>(n);
    }
    const int error = errno;
    if (fd < 0 || done < text.size() || ::close(fd) != 0) {
        std::cerr << "error: cannot write " << file.string() << ": "
                  << std::strerror(done < text.size() ? error : errno) << "\n";
        return 1;
    }
    const auto absolute = std::filesystem::absolute(file).lexically_normal().string();
    std::cout << "wrote " << absolute;
    if (!servers.empty())
        std::cout << " with " << servers.size() << (servers.size() == 1 ? " server" : " servers") << " from "
                  << import_from;
    std::cout << "\nnext:\n  watchgate validate --config " << absolute << "\n  watchgate call --config " << absolute
              << " tools/list\nthen have the client start:  watchgate --config " << absolute << "\n";
    return 0;
}

constexpr const char* examples = R"(Examples:
  watchgate init                                   write a commented starter gateway.yaml
  watchgate init --import ~/.config/Claude/claude_desktop_config.json
                                                   ... with the servers a client already has
  watchgate validate --config gateway.yaml         every error at once, with its line
  watchgate call --config gateway.yaml tools/list  one request through plugins and upstreams
  watchgate call --config gateway.yaml tools/call '{"name":"echo","arguments":{"message":"hi"}}'
  echo '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x","arguments":{"t":"a@b.c"}}}' \
    | watchgate simulate --config gateway.yaml     each plugin's verdict, no upstream started
  watchgate plugins list                           the plugins found, and where it looked
  watchgate status --config gateway.yaml           a running gateway's upstreams and counters (admin:)
  watchgate reload --config gateway.yaml           the running gateway reads its configuration again
  watchgate --config /abs/path/gateway.yaml        serve (what an MCP client runs)

Docs: docs/quickstart.md, docs/configuration.md (installed under share/doc/watchgate).)";

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"Watchgate: a security gateway for MCP servers"};
    app.set_version_flag("--version", std::string("watchgate ") + core::version_text);
    int verbosity = 0;
    app.add_flag("-v,--verbose", verbosity, "More log output on stderr (-vv for trace)");
    app.require_subcommand(0, 1);

    // `watchgate --config FILE` runs the gateway, as MCP clients launch it; --validate-only checks.
    std::string config_path;
    bool validate_only = false;
    app.add_option("-c,--config", config_path, "Gateway configuration (YAML)");
    app.add_flag("--validate-only", validate_only, "Load the configuration and plugins, report, exit");

    auto* run = app.add_subcommand("run", "Run the gateway for the MCP client on stdin/stdout");
    run->add_option("-c,--config", config_path, "Gateway configuration (YAML)")->required();

    auto* validate =
        app.add_subcommand("validate", "Load the configuration and every plugin it names; report all errors");
    validate->add_option("-c,--config", config_path, "Gateway configuration (YAML)")->required();

    std::string method;
    std::string params_text;
    auto* call = app.add_subcommand("call", "Run one request through the whole gateway and print the response");
    call->add_option("-c,--config", config_path, "Gateway configuration (YAML)")->required();
    call->add_option("method", method, "JSON-RPC method, e.g. tools/call")->required();
    call->add_option("params", params_text, "JSON params, e.g. '{\"name\":\"echo\",\"arguments\":{}}'");

    std::string upstream;
    std::string input_path;
    std::string respond;
    auto* simulate_cmd = app.add_subcommand(
        "simulate", "Run JSON-RPC messages (one per line) through the plugin pipeline, printing every stage's verdict");
    simulate_cmd->add_option("-c,--config", config_path, "Gateway configuration (YAML)")->required();
    simulate_cmd->add_option("-u,--upstream", upstream, "Upstream whose plugin list applies (default: _global only)");
    simulate_cmd->add_option("-i,--input", input_path, "File of JSON-RPC messages, one per line (default: stdin)");
    simulate_cmd->add_option("--respond", respond, "Answer each forwarded request with this JSON result");
    bool simulate_audit = false;
    simulate_cmd->add_flag("--audit", simulate_audit,
                           "Also run the auditing plugins (they write to their configured outputs)");

    std::string init_output;
    std::string import_from;
    bool init_force = false;
    auto* init = app.add_subcommand("init", "Write a commented starter gateway.yaml");
    init->add_option("-o,--output", init_output, "File to write (default: gateway.yaml here)");
    init->add_option("--import", import_from,
                     "A client's config whose servers become the upstreams (Claude Desktop's mcpServers, "
                     "VS Code's servers)");
    init->add_flag("--force", init_force, "Write over an existing file");

    std::string admin_address;
    auto* status = app.add_subcommand("status", "Show a running gateway's upstreams and counters (its admin endpoint)");
    status->add_option("-c,--config", config_path, "The running gateway's configuration (its admin: section)");
    status->add_option("--admin", admin_address, "The admin endpoint as host:port (instead of --config)");

    std::string pid_file_path;
    auto* reload = app.add_subcommand("reload", "Have the running gateway read its configuration again");
    reload->add_option("-c,--config", config_path, "The running gateway's configuration (its admin: or pid_file:)")
        ->required();
    reload->add_option("--pid-file", pid_file_path, "Signal the gateway whose process id is in this file");

    auto* plugins = app.add_subcommand("plugins", "Inspect available plugins");
    plugins->require_subcommand(1);
    auto* list = plugins->add_subcommand("list", "List the plugins found in the plugin search path");
    list->add_option("-c,--config", config_path, "Also search this configuration's plugin_dirs");
    std::string describe_name;
    auto* describe = plugins->add_subcommand("describe", "Show a plugin's descriptor and config schema");
    describe->add_option("name", describe_name, "Plugin name")->required();
    describe->add_option("-c,--config", config_path, "Also search this configuration's plugin_dirs");
    // After the commands: a command made later would inherit the footer.
    app.footer(examples);

    // Serving is what an MCP client starts: whatever goes wrong before the gateway runs, the
    // client gets a JSON-RPC error on stdout (it shows that to the user) and the reason goes to
    // stderr (its log). The other commands are for people: CLI11's usual messages.
    const auto serving_asked = [&] {
        for (int i = 1; i < argc; ++i)
            for (const auto* command : app.get_subcommands({}))
                if (command->get_name() == argv[i]) return command == run;
        return true;  // no command: `watchgate --config FILE` serves
    };
    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForAllHelp& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        if (e.get_exit_code() == 0 || !serving_asked()) return app.exit(e);
        std::cerr << "error: " << e.what() << "\n" << app.help();
        core::answer_startup_failure(std::string("watchgate was started with wrong arguments: ") + e.what());
        return 2;
    }
    configure_logging(verbosity);
    const bool serving = *run || (app.get_subcommands().empty() && !validate_only);
    if (app.get_subcommands().empty() && config_path.empty()) {
        std::cerr << "error: no configuration given: start watchgate with --config <gateway.yaml>\n" << app.help();
        core::answer_startup_failure("no configuration given: start watchgate with --config <gateway.yaml>");
        return 2;
    }

    try {
        if (*validate || validate_only) {
            auto [config, host] = core::PluginHost::load_all(config_path, core::LoadPurpose::validate);
            std::cout << "Configuration valid: " << config.file.string() << "\n";
            return 0;
        }
        if (serving) {
            core::GatewayConfig config;
            std::shared_ptr<core::PluginHost> host;
            try {
                try {
                    config = core::load_config(config_path);
                } catch (const core::ConfigErrors&) {
                    // Throws the file's and the plugins' errors.
                    core::PluginHost::load_all(config_path, core::LoadPurpose::validate);
                    throw;
                }
                core::configure_logging(config.logging, verbosity);  // before the plugins: their log goes there
                host = core::PluginHost::load(config);
            } catch (const std::exception& e) {
                report_errors(e);
                core::answer_startup_failure(e.what());
                return 1;
            }
            if (config.transport == "http") return core::serve_http(config, std::move(host));
            return core::serve_stdio(config, std::move(host));
        }
        if (*status) {
            std::string host;
            std::uint16_t port = 0;
            if (!admin_address.empty()) {
                const auto colon = admin_address.rfind(':');
                const std::string port_text = colon == std::string::npos ? "" : admin_address.substr(colon + 1);
                if (colon == std::string::npos || port_text.empty() ||
                    port_text.find_first_not_of("0123456789") != std::string::npos || port_text.size() > 5 ||
                    std::stoul(port_text) == 0 || std::stoul(port_text) > 65535) {
                    std::cerr << "error: --admin expects host:port, e.g. 127.0.0.1:9464\n";
                    return 2;
                }
                host = admin_address.substr(0, colon);
                port = static_cast<std::uint16_t>(std::stoul(port_text));
            } else if (!config_path.empty()) {
                const auto address = core::admin_address(core::load_config(config_path));
                if (!address) {
                    std::cerr << "error: " << config_path
                              << " has no admin: section with a port; add admin: {port: 9464} (docs/operations.md) "
                                 "or give --admin host:port\n";
                    return 2;
                }
                host = address->host;
                port = address->port;
            } else {
                std::cerr << "error: status needs --config FILE or --admin host:port\n";
                return 2;
            }
            std::cout << core::admin_status(host, port);
            return 0;
        }
        if (*reload) {
            const auto config = core::load_config(config_path);
            std::optional<std::filesystem::path> pid_file;
            if (!pid_file_path.empty()) pid_file = pid_file_path;
            return core::request_reload(config, pid_file, std::cout, std::cerr);
        }
        if (*call) {
            nlohmann::json params = nullptr;
            if (!params_text.empty()) {
                params = nlohmann::json::parse(params_text, nullptr, false);
                if (params.is_discarded() || !(params.is_object() || params.is_array())) {
                    std::cerr << "error: params must be a JSON object or array\n";
                    return 2;
                }
            }
            auto config = core::load_config(config_path);
            core::configure_logging(config.logging, verbosity);
            auto response = core::call_once(config, core::PluginHost::load(config), method, params);
            std::cout << response.dump(2) << "\n";
            return response.contains("error") ? 1 : 0;
        }
        if (*simulate_cmd) {
            if (input_path.empty()) return simulate(config_path, upstream, std::cin, respond, simulate_audit);
            std::ifstream input(input_path);
            if (!input) {
                std::cerr << "error: cannot read " << input_path << "\n";
                return 2;
            }
            return simulate(config_path, upstream, input, respond, simulate_audit);
        }
        if (*init) return init_command(init_output, import_from, init_force);
        if (*list || *describe) return plugins_command(config_path, *describe ? describe_name : std::string());
    } catch (const std::exception& e) {
        report_errors(e);
        return 1;
    }
    return 0;
}
