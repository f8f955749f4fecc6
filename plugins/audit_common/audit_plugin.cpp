#include "audit_plugin.hpp"

#include <algorithm>

namespace watchgate::audit {

BodyPolicy read_body_policy(Config& config) {
    BodyPolicy policy;
    policy.requests = config.boolean("include_request_body", false);
    policy.responses = config.boolean("include_response_body", false);
    policy.notifications = config.boolean("include_notification_body", false);
    policy.max_size = static_cast<std::size_t>(config.integer("max_body_size", 10240, 0, 64ll << 20));
    policy.redact_detections = config.boolean("redact_detections", true);
    return policy;
}

WriterOptions read_writer_options(Config& config) {
    WriterOptions options;
    options.flush_interval = std::chrono::milliseconds(config.integer("flush_interval_ms", 1000, 1, 60'000));
    options.sync = config.choice(
        "fsync", {{"never", SyncPolicy::never}, {"interval", SyncPolicy::interval}, {"always", SyncPolicy::always}},
        SyncPolicy::never);
    options.queue_limit = static_cast<std::size_t>(config.integer("queue_size", 10000, 1, 10'000'000));
    options.metrics.written = config.metric(MetricKind::counter, "audit_events_written_total", "Audit events written");
    options.metrics.dropped =
        config.metric(MetricKind::counter, "audit_events_dropped_total", "Audit events refused: the queue was full");
    options.metrics.failures =
        config.metric(MetricKind::counter, "audit_write_failures_total", "Failed attempts to write audit events");
    options.metrics.queue_depth =
        config.metric(MetricKind::gauge, "audit_queue_depth", "Audit events waiting to be written");
    return options;
}

FileOptions read_file_options(Config& config, std::string header) {
    FileOptions options;
    options.path = config.string("output_file");
    if (config.has("output_file") && options.path.empty()) config.error("/output_file", "expected a file path");
    options.path = config.host().resolve_path(options.path);
    const double megabytes = config.number("max_file_size_mb", 10);
    if (megabytes < 0 || megabytes > 1 << 20) config.error("/max_file_size_mb", "expected 0 (never rotate) to 1048576");
    options.max_bytes = static_cast<std::uint64_t>(std::max(0.0, megabytes) * (1 << 20));
    options.backups = static_cast<int>(config.integer("backup_count", 5, 0, 1000));
    options.header = std::move(header);
    return options;
}

}  // namespace watchgate::audit
