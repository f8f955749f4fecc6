#pragma once
// Takes audit records off the request path: a bounded queue and a thread that formats them and
// hands them to a sink in batches, every flush interval. A failing sink is retried until it works
// again; meanwhile submit() says the record could not be recorded, so a critical auditor fails
// requests closed and a non-critical one counts what it loses.
#include "audit_record.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <thread>
#include <vector>

namespace watchgate::audit {

// Where formatted records go. Runs on the writer thread only.
class Sink {
public:
    virtual ~Sink() = default;
    // Writes messages[written...] in order, advancing `written` past each one that is complete;
    // throws std::runtime_error naming what failed.
    virtual void write(std::span<const std::string> messages, std::size_t& written) = 0;
    virtual void sync() {}    // fsync
    virtual void reopen() {}  // close; the next write opens again
};

enum class SyncPolicy { never, interval, always };

// The writer's metrics on the admin endpoint (watchgate_plugin_audit_*, docs/operations.md).
struct WriterMetrics {
    Metric written;      // counter: events written
    Metric dropped;      // counter: events refused, the queue was full
    Metric failures;     // counter: failed write attempts
    Metric queue_depth;  // gauge: events waiting to be written
};

struct WriterOptions {
    std::chrono::milliseconds flush_interval{1000};
    SyncPolicy sync = SyncPolicy::never;
    std::size_t queue_limit = 10000;  // records waiting; beyond, records are dropped
    WriterMetrics metrics;
};

struct WriterCounters {
    std::uint64_t written = 0;
    std::uint64_t dropped = 0;   // refused: the queue was full
    std::uint64_t failures = 0;  // failed write attempts
    std::uint64_t lost = 0;      // still unwritten when the writer stopped
};

class AuditWriter {
public:
    using Format = std::function<std::string(const AuditRecord&)>;

    AuditWriter(std::string plugin, std::unique_ptr<Sink> sink, Format format, WriterOptions options, Host host);
    // Writes everything queued (a failing sink gets a few more tries), then stops the thread.
    ~AuditWriter();
    AuditWriter(const AuditWriter&) = delete;
    AuditWriter& operator=(const AuditWriter&) = delete;

    // Queues `record`. False when it cannot be recorded now: the queue is full (dropped) or the
    // sink is failing (queued, written once it works again); `why` then gets the reason.
    bool submit(AuditRecord record, std::string* why = nullptr);
    // Asks the thread to reopen the sink (SIGHUP); returns at once.
    void reopen();
    WriterCounters counters() const;

private:
    void run();
    // Logs at most one message per kind every few seconds, counting the rest.
    void log_limited(LogLevel level, const std::string& text);

    const std::string plugin_;
    std::unique_ptr<Sink> sink_;
    const Format format_;
    const WriterOptions options_;
    const Host host_;

    mutable std::mutex mutex_;
    std::condition_variable wake_;
    std::deque<AuditRecord> queue_;
    bool stopping_ = false;
    bool reopen_requested_ = false;
    WriterCounters counters_;
    std::atomic<bool> failing_{false};
    std::chrono::steady_clock::time_point last_log_{};
    std::uint64_t suppressed_logs_ = 0;
    std::thread thread_;  // last: starts after everything above exists
};

}  // namespace watchgate::audit
