#include <watchgate/core/server/logging.hpp>

#include <spdlog/sinks/rotating_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>
#include <vector>

namespace watchgate::core {

void configure_logging(const LoggingConfig& logging, int verbosity) {
    std::vector<spdlog::sink_ptr> sinks;
    if (logging.to_stderr || !logging.file_path)
        sinks.push_back(std::make_shared<spdlog::sinks::stderr_color_sink_mt>());
    if (logging.file_path) {
        std::filesystem::create_directories(logging.file_path->parent_path());
        sinks.push_back(std::make_shared<spdlog::sinks::rotating_file_sink_mt>(
            logging.file_path->string(), static_cast<std::size_t>(logging.max_file_size_mb) << 20,
            static_cast<std::size_t>(logging.backup_count)));
    }
    auto logger = std::make_shared<spdlog::logger>("watchgate", sinks.begin(), sinks.end());
    logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
    auto level = spdlog::level::from_str(logging.level == "warning" ? "warn" : logging.level);
    if (verbosity >= 2)
        level = spdlog::level::trace;
    else if (verbosity == 1)
        level = std::min(level, spdlog::level::debug);
    logger->set_level(level);
    logger->flush_on(spdlog::level::warn);
    spdlog::set_default_logger(logger);
}

}  // namespace watchgate::core
