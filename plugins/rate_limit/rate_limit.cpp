// rate_limit: a token bucket per session, authenticated subject, upstream, tool, or for all
// requests together. A request that finds its bucket empty is answered at once with -32029 and
// the time after which a token is back; it never reaches the upstream. docs/plugins/rate_limit.md
#include <watchgate/plugin.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

// The JSON-RPC error code of a limited request, in the range JSON-RPC leaves to servers.
constexpr int rate_limited_code = -32029;

enum class Key { session, subject, upstream, tool, global };
constexpr const char* key_names[] = {"session", "subject", "upstream", "tool", "global"};

struct Bucket {
    double tokens;
    Clock::time_point last;
};

class RateLimit : public watchgate::Plugin {
public:
    static constexpr watchgate::PluginInfo info{
        "rate_limit", "1.0.0", "Limits requests per session, subject, upstream or tool (token buckets)",
        watchgate::kind_middleware, watchgate::thread_safe};

    explicit RateLimit(watchgate::Config& config)
        : per_second_(config.number("per_second", 0)),
          burst_(config.number("burst", std::max(1.0, per_second_))),
          key_(config.choice("key",
                             {{"session", Key::session},
                              {"subject", Key::subject},
                              {"upstream", Key::upstream},
                              {"tool", Key::tool},
                              {"global", Key::global}},
                             Key::session)),
          methods_(config.strings("methods")),
          max_keys_(static_cast<std::size_t>(config.integer("max_keys", 10000, 1, 10'000'000))),
          limited_(config.metric(watchgate::MetricKind::counter, "rate_limited_total",
                                 "Requests answered -32029 by rate_limit")) {
        if (!config.has("per_second")) config.error("", "missing required key 'per_second'");
        if (config.has("per_second") && !(per_second_ > 0 && per_second_ <= 1e9))
            config.error("/per_second", "expected a number of requests per second above 0");
        if (!(burst_ >= 1 && burst_ <= 1e9)) config.error("/burst", "expected a number of requests of at least 1");
    }

    void on_request(watchgate::Message& message, watchgate::RequestState*) override {
        if (!methods_.empty() && std::find(methods_.begin(), methods_.end(), message.method()) == methods_.end())
            return;
        const double wait = take(bucket_key(message));
        if (wait <= 0) return;
        limited_.add();
        const long long wait_ms = std::max(1LL, static_cast<long long>(std::ceil(wait * 1000)));
        char text[160];
        static constexpr const char* scopes[] = {"per session", "per subject", "per upstream", "per tool",
                                                 "for all requests"};
        std::snprintf(text, sizeof text, "rate limit exceeded (%g per second, burst %g, %s): retry in %.3f s",
                      per_second_, burst_, scopes[static_cast<int>(key_)], static_cast<double>(wait_ms) / 1000);
        watchgate::json::Object data{{"retryAfterMs", static_cast<std::int64_t>(wait_ms)},
                                     {"limit", per_second_},
                                     {"burst", burst_},
                                     {"key", std::string(key_names[static_cast<int>(key_)])}};
        message.complete(watchgate::json::Object{
            {"jsonrpc", "2.0"},
            {"error",
             watchgate::json::Object{{"code", rate_limited_code}, {"message", text}, {"data", std::move(data)}}}});
    }

private:
    std::string bucket_key(const watchgate::Message& message) const {
        switch (key_) {
            case Key::session: {
                const auto context = message.context();
                return std::string(context.transport) + ":" + std::string(context.session_id);
            }
            case Key::subject:
                return std::string(message.context().subject);  // "" is everyone unauthenticated together
            case Key::upstream:
                return std::string(message.upstream());
            case Key::tool:
                return std::string(message.upstream()) + "/" + std::string(message.target());
            case Key::global:
                break;
        }
        return {};
    }

    // Takes a token from `key`'s bucket: 0 when there was one, else the seconds until there is.
    double take(const std::string& key) {
        const auto now = Clock::now();
        std::lock_guard lock(mutex_);
        auto found = buckets_.find(key);
        if (found == buckets_.end()) {
            if (buckets_.size() >= max_keys_) forget_some(now);
            found = buckets_.emplace(key, Bucket{burst_, now}).first;
        }
        Bucket& bucket = found->second;
        refill(bucket, now);
        if (bucket.tokens >= 1) {
            bucket.tokens -= 1;
            return 0;
        }
        return (1 - bucket.tokens) / per_second_;
    }

    void refill(Bucket& bucket, Clock::time_point now) const {
        bucket.tokens =
            std::min(burst_, bucket.tokens + std::chrono::duration<double>(now - bucket.last).count() * per_second_);
        bucket.last = now;
    }

    // At the key limit: buckets that have refilled are forgotten (a new one starts full anyway);
    // when none has, the one untouched longest goes.
    void forget_some(Clock::time_point now) {
        const std::size_t before = buckets_.size();
        for (auto it = buckets_.begin(); it != buckets_.end();) {
            refill(it->second, now);
            it = it->second.tokens >= burst_ ? buckets_.erase(it) : std::next(it);
        }
        if (buckets_.size() < before || buckets_.empty()) return;
        auto oldest = std::min_element(buckets_.begin(), buckets_.end(),
                                       [](const auto& a, const auto& b) { return a.second.last < b.second.last; });
        buckets_.erase(oldest);
    }

    const double per_second_;
    const double burst_;
    const Key key_;
    const std::vector<std::string> methods_;
    const std::size_t max_keys_;
    const watchgate::Metric limited_;
    std::mutex mutex_;
    std::unordered_map<std::string, Bucket> buckets_;
};

}  // namespace

WATCHGATE_PLUGIN(RateLimit)
