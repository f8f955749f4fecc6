#include "audit_writer.hpp"

#include <utility>

namespace watchgate::audit {

using Clock = std::chrono::steady_clock;

AuditWriter::AuditWriter(std::string plugin, std::unique_ptr<Sink> sink, Format format, WriterOptions options,
                         Host host)
    : plugin_(std::move(plugin)),
      sink_(std::move(sink)),
      format_(std::move(format)),
      options_(options),
      host_(host),
      thread_([this] { run(); }) {}

AuditWriter::~AuditWriter() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    thread_.join();
    const auto c = counters();
    host_.log(c.dropped || c.lost ? LogLevel::warn : LogLevel::debug,
              plugin_ + ": " + std::to_string(c.written) + " events written, " + std::to_string(c.dropped) +
                  " dropped (queue full), " + std::to_string(c.lost) + " lost at stop, " + std::to_string(c.failures) +
                  " failed writes");
}

bool AuditWriter::submit(AuditRecord record, std::string* why) {
    bool wake = false;
    {
        std::lock_guard lock(mutex_);
        if (queue_.size() >= options_.queue_limit) {
            ++counters_.dropped;
            options_.metrics.dropped.add();
            wake = true;
        } else {
            queue_.push_back(std::move(record));
            options_.metrics.queue_depth.set(static_cast<double>(queue_.size()));
            // Batches wait for the flush interval unless every event is to be synced, or the
            // queue fills up.
            wake = options_.sync == SyncPolicy::always || queue_.size() >= options_.queue_limit / 2;
            if (!failing_) {
                if (wake) wake_.notify_one();
                return true;
            }
        }
    }
    if (wake) wake_.notify_one();
    std::string reason = failing_
                             ? "cannot write audit events (the sink is failing)"
                             : "audit queue full (" + std::to_string(options_.queue_limit) + " events): event dropped";
    log_limited(LogLevel::warn, plugin_ + ": " + reason);
    if (why) *why = std::move(reason);
    return false;
}

void AuditWriter::reopen() {
    {
        std::lock_guard lock(mutex_);
        reopen_requested_ = true;
    }
    wake_.notify_one();
}

WriterCounters AuditWriter::counters() const {
    std::lock_guard lock(mutex_);
    return counters_;
}

void AuditWriter::log_limited(LogLevel level, const std::string& text) {
    std::uint64_t suppressed = 0;
    {
        std::lock_guard lock(mutex_);
        const auto now = Clock::now();
        if (now - last_log_ < std::chrono::seconds(5)) {
            ++suppressed_logs_;
            return;
        }
        last_log_ = now;
        suppressed = suppressed_logs_;
        suppressed_logs_ = 0;
    }
    host_.log(level, suppressed ? text + " (" + std::to_string(suppressed) + " similar messages suppressed)" : text);
}

void AuditWriter::run() {
    std::vector<std::string> pending;  // formatted, not yet written: kept across failed attempts
    std::size_t written = 0;
    int attempts_while_stopping = 0;
    const auto retry_after = std::min<Clock::duration>(options_.flush_interval, std::chrono::seconds(1));
    constexpr std::size_t max_slice = 4096;
    bool more_waiting = false;
    std::unique_lock lock(mutex_);
    for (;;) {
        const bool immediate = options_.sync == SyncPolicy::always;
        wake_.wait_for(lock, failing_ ? retry_after : Clock::duration(options_.flush_interval), [&] {
            return stopping_ || reopen_requested_ || (immediate && !queue_.empty() && !failing_) ||
                   (more_waiting && !failing_) || queue_.size() >= options_.queue_limit / 2;
        });
        const bool reopen = std::exchange(reopen_requested_, false);
        // At most a few thousand records a round: formatted text stays small and the queue
        // frees room as soon as a slice is out.
        std::deque<AuditRecord> batch;
        if (queue_.size() <= max_slice) {
            batch.swap(queue_);
        } else {
            auto end = queue_.begin() + static_cast<std::ptrdiff_t>(max_slice);
            batch.assign(std::make_move_iterator(queue_.begin()), std::make_move_iterator(end));
            queue_.erase(queue_.begin(), end);
        }
        more_waiting = !queue_.empty();
        const bool stopping = stopping_;
        lock.unlock();

        if (reopen) sink_->reopen();
        for (const auto& record : batch) pending.push_back(format_(record));
        bool ok = true;
        std::string error;
        if (written < pending.size()) {
            try {
                sink_->write(pending, written);
                if (options_.sync != SyncPolicy::never) sink_->sync();
            } catch (const std::exception& e) {
                ok = false;
                error = e.what();
            }
        }
        bool recovered = false;
        lock.lock();
        counters_.written += written;
        options_.metrics.written.add(static_cast<double>(written));
        pending.erase(pending.begin(), pending.begin() + static_cast<std::ptrdiff_t>(written));
        written = 0;
        if (!ok) {
            ++counters_.failures;
            options_.metrics.failures.add();
        }
        options_.metrics.queue_depth.set(static_cast<double>(queue_.size() + pending.size()));
        recovered = ok && failing_;
        failing_ = !ok;
        lock.unlock();
        if (!ok)
            log_limited(LogLevel::error, plugin_ + ": cannot write audit events: " + error + " (" +
                                             std::to_string(pending.size()) + " waiting; retrying)");
        if (recovered) host_.log(LogLevel::info, plugin_ + ": writing audit events works again");
        if (stopping && !ok) std::this_thread::sleep_for(std::chrono::milliseconds(100));
        lock.lock();
        if (stopping) {
            if (pending.empty() && queue_.empty()) return;
            // A sink that fails at stop gets a few more tries, then what is left is reported lost.
            if (!ok && ++attempts_while_stopping >= 3) {
                counters_.lost += pending.size() + queue_.size();
                return;
            }
        }
    }
}

}  // namespace watchgate::audit
