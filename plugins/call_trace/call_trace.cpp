// call_trace: appends a text block describing the call (upstream, tool, duration, request id,
// time, arguments) to each successful tools/call result, so the model and the user can see what
// ran. Only results with a `content` list are touched; structuredContent and isError stay as they
// are. docs/plugins/call_trace.md
#include <watchgate/plugin.hpp>

#include <time.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

namespace {

using watchgate::json::Object;
using watchgate::json::Value;

enum Field : unsigned { upstream = 1, tool = 2, duration = 4, request_id = 8, timestamp = 16, arguments = 32 };
constexpr std::pair<const char*, Field> field_names[] = {{"upstream", upstream},   {"tool", tool},
                                                         {"duration", duration},   {"request_id", request_id},
                                                         {"timestamp", timestamp}, {"arguments", arguments}};

// `text` cut to at most `limit` bytes on a UTF-8 character boundary, saying how much was left out.
std::string truncated(std::string text, std::size_t limit) {
    if (text.size() <= limit) return text;
    std::size_t cut = limit;
    while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
    const std::size_t dropped = text.size() - cut;
    text.resize(cut);
    return text + "… (" + std::to_string(dropped) + " more bytes)";
}

std::string utc_now() {
    const auto now = std::chrono::system_clock::now();
    const std::time_t seconds = std::chrono::system_clock::to_time_t(now);
    const auto micros =
        std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count() % 1'000'000;
    std::tm parts{};
    ::gmtime_r(&seconds, &parts);
    char text[64];
    std::snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ", parts.tm_year + 1900, parts.tm_mon + 1,
                  parts.tm_mday, parts.tm_hour, parts.tm_min, parts.tm_sec, static_cast<long long>(micros));
    return text;
}

struct CallState : watchgate::RequestState {
    std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
    std::string upstream, tool, request_id, arguments;
};

class CallTrace : public watchgate::Plugin {
public:
    static constexpr watchgate::PluginInfo info{"call_trace", "1.0.0",
                                                "Appends a trace of each tool call to its result",
                                                watchgate::kind_middleware, watchgate::thread_safe};

    explicit CallTrace(watchgate::Config& config)
        : max_argument_length_(static_cast<std::size_t>(config.integer("max_argument_length", 200, 0, 1'000'000))) {
        if (const Value* fields = config.raw("fields")) {
            fields_ = 0;
            if (!fields->is_array()) {
                config.error("/fields",
                             "expected a list of: upstream, tool, duration, request_id, timestamp, arguments");
                return;
            }
            std::size_t index = 0;
            for (const Value& item : fields->as_array()) {
                unsigned found = 0;
                for (const auto& [name, bit] : field_names)
                    if (item.is_string() && item.as_string() == name) found = bit;
                if (!found)
                    config.error("/fields/" + std::to_string(index),
                                 "expected one of: upstream, tool, duration, request_id, timestamp, arguments");
                fields_ |= found;
                ++index;
            }
        }
    }

    std::unique_ptr<watchgate::RequestState> begin_request(watchgate::Message& request) override {
        if (request.method() != "tools/call") return nullptr;
        auto state = std::make_unique<CallState>();
        state->upstream = request.upstream();
        state->tool = request.target();
        state->request_id = request.id();
        if (fields_ & arguments) {
            auto text = request.get("/params/arguments");
            state->arguments = truncated(std::string(text ? *text : std::string_view("{}")), max_argument_length_);
        }
        return state;
    }

    void on_response(watchgate::Message& message, watchgate::RequestState* base) override {
        auto* state = dynamic_cast<CallState*>(base);
        if (!state || fields_ == 0) return;
        // Successful results with a content list only: anything else is left exactly as it came.
        auto content = message.value("/result/content");
        if (!content || !content->is_array()) return;
        auto is_error = message.value("/result/isError");
        if (is_error && is_error->is_bool() && is_error->as_bool()) return;
        std::string text = "── watchgate call trace ──";
        auto line = [&](const char* label, const std::string& value) {
            text += std::string("\n") + label + ": " + value;
        };
        if (fields_ & upstream) line("upstream", state->upstream);
        if (fields_ & tool) line("tool", state->tool);
        if (fields_ & duration) {
            const double ms =
                std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - state->started).count();
            char number[32];
            std::snprintf(number, sizeof number, "%.1f ms", ms);
            line("duration", number);
        }
        if (fields_ & request_id) line("request id", state->request_id);
        if (fields_ & timestamp) line("timestamp", utc_now());
        if (fields_ & arguments) line("arguments", state->arguments);
        message.set("/result/content/-", Value(Object{{"type", Value("text")}, {"text", Value(text)}}));
    }

private:
    unsigned fields_ = upstream | tool | duration | request_id | timestamp | arguments;
    std::size_t max_argument_length_;
};

}  // namespace

WATCHGATE_PLUGIN(CallTrace)
