#pragma once
// What every built-in auditing plugin shares: the common config keys, one record per event handed
// to a writer thread, SIGHUP handled by reopening the sink.
#include "audit_writer.hpp"
#include "rotating_file.hpp"

#include <memory>
#include <string>

namespace watchgate::audit {

// include_request_body, include_response_body, include_notification_body, max_body_size,
// redact_detections.
BodyPolicy read_body_policy(Config& config);
// flush_interval_ms, fsync, queue_size.
WriterOptions read_writer_options(Config& config);
// output_file (required; relative to the config file's folder), max_file_size_mb, backup_count.
FileOptions read_file_options(Config& config, std::string header = {});

class AuditPlugin : public Plugin {
public:
    // Reads the keys every auditing plugin has (bodies, flush interval, fsync, queue).
    explicit AuditPlugin(Config& config)
        : body_policy_(read_body_policy(config)), writer_options_(read_writer_options(config)) {}

    void on_audit(const AuditEvent& event, RequestState*) override {
        if (!writer_) throw AuditNotRecorded("the audit writer is not running");
        if (std::string why; !writer_->submit(make_record(event, body_policy_), &why)) throw AuditNotRecorded(why);
    }
    void reopen() override {
        if (writer_) writer_->reopen();
    }

protected:
    // Call last in the derived constructor: starts the writer unless the config had errors or the
    // instance only validates (no thread, no file: `watchgate validate` changes nothing).
    void start(const std::string& name, Config& config, std::unique_ptr<Sink> sink, AuditWriter::Format format) {
        if (config.error_count() > 0 || config.host().validate_only()) return;
        writer_ = std::make_unique<AuditWriter>(name, std::move(sink), std::move(format), writer_options_, host());
    }
    // The same for a file plugin: reads output_file and rotation, `header` starts every file.
    void start_file(const std::string& name, Config& config, AuditWriter::Format format, std::string header = {}) {
        auto file = std::make_unique<RotatingFile>(read_file_options(config, std::move(header)));
        start(name, config, std::move(file), std::move(format));
    }

private:
    const BodyPolicy body_policy_;
    const WriterOptions writer_options_;
    std::unique_ptr<AuditWriter> writer_;
};

}  // namespace watchgate::audit
