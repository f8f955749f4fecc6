// The `watchgate` command line. Parses arguments and calls into core; no gateway logic here.

#include <watchgate/core/config.hpp>
#include <watchgate/core/message.hpp>
#include <watchgate/core/pipeline.hpp>
#include <watchgate/core/plugin_host.hpp>
#include <watchgate/core/version.hpp>

#include <CLI/CLI.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>
#include <variant>

namespace core = watchgate::core;

namespace {

void configure_logging(int verbosity) {
    auto logger = spdlog::stderr_color_mt("watchgate");
    logger->set_pattern("%^%l%$ %v");
    spdlog::set_default_logger(logger);
    spdlog::set_level(verbosity >= 2   ? spdlog::level::trace
                      : verbosity == 1 ? spdlog::level::debug
                                       : spdlog::level::info);
}

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
             const std::string& response_result) {
    auto config = core::load_config(config_path);
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

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"Watchgate: a security gateway for MCP servers"};
    app.set_version_flag("--version", std::string("watchgate ") + core::version_text);
    int verbosity = 0;
    app.add_flag("-v,--verbose", verbosity, "More log output on stderr (-vv for trace)");
    app.require_subcommand(1);

    std::string config_path;
    auto* validate =
        app.add_subcommand("validate", "Load the configuration and every plugin it names; report all errors");
    validate->add_option("-c,--config", config_path, "Gateway configuration (YAML)")->required();

    std::string upstream;
    std::string input_path;
    std::string respond;
    auto* simulate_cmd = app.add_subcommand(
        "simulate", "Run JSON-RPC messages (one per line) through the plugin pipeline, printing every stage's verdict");
    simulate_cmd->add_option("-c,--config", config_path, "Gateway configuration (YAML)")->required();
    simulate_cmd->add_option("-u,--upstream", upstream, "Upstream whose plugin list applies (default: _global only)");
    simulate_cmd->add_option("-i,--input", input_path, "File of JSON-RPC messages, one per line (default: stdin)");
    simulate_cmd->add_option("--respond", respond, "Answer each forwarded request with this JSON result");

    auto* plugins = app.add_subcommand("plugins", "Inspect available plugins");
    plugins->require_subcommand(1);
    auto* list = plugins->add_subcommand("list", "List the plugins found in the plugin search path");
    list->add_option("-c,--config", config_path, "Also search this configuration's plugin_dirs");
    std::string describe_name;
    auto* describe = plugins->add_subcommand("describe", "Show a plugin's descriptor and config schema");
    describe->add_option("name", describe_name, "Plugin name")->required();
    describe->add_option("-c,--config", config_path, "Also search this configuration's plugin_dirs");

    CLI11_PARSE(app, argc, argv);
    configure_logging(verbosity);

    try {
        if (*validate) {
            auto config = core::load_config(config_path);
            core::PluginHost::load(config);
            std::cout << "Configuration valid: " << config.file.string() << "\n";
            return 0;
        }
        if (*simulate_cmd) {
            if (input_path.empty()) return simulate(config_path, upstream, std::cin, respond);
            std::ifstream input(input_path);
            if (!input) {
                std::cerr << "error: cannot read " << input_path << "\n";
                return 2;
            }
            return simulate(config_path, upstream, input, respond);
        }
        if (*list || *describe) {
            core::GatewayConfig config;
            if (!config_path.empty()) config = core::load_config(config_path);
            auto found = core::discover_plugins(core::plugin_search_path(config));
            if (*describe && !found.contains(describe_name)) {
                std::cerr << "error: plugin '" << describe_name << "' not found\n";
                return 1;
            }
            for (const auto& [name, file] : found) {
                if (*describe && name != describe_name) continue;
                try {
                    auto module = core::PluginModule::load(file);
                    const auto& d = module->descriptor();
                    if (*list) {
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
    } catch (const core::ConfigErrors& e) {
        for (const auto& error : e.errors) std::cerr << "error: " << error.format() << "\n";
        std::cerr << e.errors.size() << (e.errors.size() == 1 ? " error" : " errors") << " in the configuration\n";
        return 1;
    } catch (const std::exception& e) {
        std::cerr << "error: " << e.what() << "\n";
        return 1;
    }
    return 0;
}
