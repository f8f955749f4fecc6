// tool_pinning: defends against rug pulls and tool poisoning. The first time an upstream's tools
// are listed (or from a pin file) each tool's description and input schema are pinned by digest;
// a later change hides the tool and refuses its calls (action: block) or is logged (warn).
// docs/plugins/tool_pinning.md
#include "sha256.hpp"

#include <watchgate/plugin.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace {

using watchgate::json::Array;
using watchgate::json::Object;
using watchgate::json::Value;

enum class Action { block, warn };
enum class NewTools { allow, block };

// JSON with object members sorted, so equal schemas digest equally whatever their key order.
constexpr watchgate::json::Style canonical{false, true};

struct Pin {
    std::string description;   // "sha256:<hex>"
    std::string input_schema;  // "sha256:<hex>"
    bool operator==(const Pin&) const = default;
};

Pin pin_of(const Value& tool) {
    const Value* description = tool.find("description");
    const Value* schema = tool.find("inputSchema");
    std::string schema_text;
    if (schema) watchgate::json::append_dump(schema_text, *schema, canonical);
    return {"sha256:" + watchgate::pinning::sha256_hex(
                            description && description->is_string() ? description->as_string() : std::string()),
            "sha256:" + watchgate::pinning::sha256_hex(schema_text)};
}

// What changed between a pin and the tool as listed now: "description", "input schema".
std::vector<std::string> changes(const Pin& pinned, const Pin& now) {
    std::vector<std::string> out;
    if (pinned.description != now.description) out.emplace_back("description");
    if (pinned.input_schema != now.input_schema) out.emplace_back("input schema");
    return out;
}

std::string joined(const std::vector<std::string>& words) {
    std::string out;
    for (const auto& word : words) out += (out.empty() ? "" : ", ") + word;
    return out;
}

// Per upstream: its pins, and what the latest listing refused.
struct UpstreamPins {
    std::map<std::string, Pin> pins;
    bool complete = false;                       // a whole listing was pinned (or loaded)
    std::map<std::string, std::string> drifted;  // tool -> what changed, refused under block
    std::set<std::string> unpinned;              // new tools refused under new_tools: block
};

class ToolPinning : public watchgate::Plugin {
public:
    static constexpr watchgate::PluginInfo info{"tool_pinning", "1.0.0",
                                                "Pins tool definitions by digest; hides and refuses tools that change",
                                                watchgate::kind_security, watchgate::thread_safe};

    explicit ToolPinning(watchgate::Config& config)
        : action_(config.choice("action", {{"block", Action::block}, {"warn", Action::warn}}, Action::block)),
          new_tools_(
              config.choice("new_tools", {{"allow", NewTools::allow}, {"block", NewTools::block}}, NewTools::allow)),
          pin_file_(resolved(config.string("pin_file", std::string()))) {
        if (!pin_file_.empty()) load(config);
    }

    void on_request(watchgate::Message& message, watchgate::RequestState*) override {
        if (message.method() != "tools/call") return;
        const std::string tool(message.target());
        std::string refusal;
        {
            std::lock_guard lock(mutex_);
            auto upstream = upstreams_.find(std::string(message.upstream()));
            if (upstream == upstreams_.end()) return;
            if (auto drift = upstream->second.drifted.find(tool); drift != upstream->second.drifted.end())
                refusal = "tool '" + tool + "' changed since it was pinned (" + drift->second +
                          "); review the change, then update the pins";
            else if (upstream->second.unpinned.contains(tool))
                refusal = "tool '" + tool + "' is new since the pins were taken (new_tools: block)";
        }
        if (!refusal.empty()) message.block(refusal);
    }

    void on_response(watchgate::Message& message, watchgate::RequestState*) override {
        if (message.method() != "tools/list") return;
        auto tools = message.value("/result/tools");
        if (!tools || !tools->is_array()) return;
        const bool last_page = !message.get("/result/nextCursor");
        const std::string upstream_name(message.upstream());
        Array kept;
        Array drift_report, new_report;
        bool pins_changed = false;
        std::string warnings;
        {
            std::lock_guard lock(mutex_);
            UpstreamPins& upstream = upstreams_[upstream_name];
            for (const Value& tool : tools->as_array()) {
                const Value* name_value = tool.find("name");
                if (!name_value || !name_value->is_string()) {
                    kept.push_back(tool);
                    continue;
                }
                const std::string& name = name_value->as_string();
                const Pin now = pin_of(tool);
                auto pinned = upstream.pins.find(name);
                if (pinned == upstream.pins.end()) {
                    // Trust on first use while the first listing runs; afterwards new_tools decides.
                    if (!upstream.complete || new_tools_ == NewTools::allow) {
                        upstream.pins[name] = now;
                        upstream.unpinned.erase(name);
                        pins_changed = true;
                        kept.push_back(tool);
                    } else {
                        upstream.unpinned.insert(name);
                        new_report.push_back(Value(name));
                    }
                    continue;
                }
                auto changed = changes(pinned->second, now);
                if (changed.empty()) {
                    upstream.drifted.erase(name);
                    kept.push_back(tool);
                    continue;
                }
                Array changed_values;
                for (const auto& what : changed) changed_values.push_back(Value(what));
                drift_report.push_back(
                    Value(Object{{"tool", Value(name)}, {"changed", Value(std::move(changed_values))}}));
                warnings += (warnings.empty() ? "" : "; ") + name + ": " + joined(changed);
                if (action_ == Action::block)
                    upstream.drifted[name] = joined(changed);
                else
                    kept.push_back(tool);
            }
            if (last_page) upstream.complete = true;
            if (pins_changed && !pin_file_.empty()) save_locked();
        }
        if (!warnings.empty())
            host().log(watchgate::LogLevel::warn, "upstream '" + upstream_name + "': tools changed since pinned (" +
                                                      warnings + ")" +
                                                      (action_ == Action::block ? ", hidden and refused" : ""));
        if (drift_report.empty() && new_report.empty()) return;
        Object report;
        if (!drift_report.empty()) report.emplace_back("drifted", Value(std::move(drift_report)));
        if (!new_report.empty()) report.emplace_back("unpinned", Value(std::move(new_report)));
        message.add_metadata(Value(Object{{"tool_pinning", Value(std::move(report))}}));
        if (kept.size() != tools->as_array().size()) message.set("/result/tools", Value(std::move(kept)));
    }

private:
    std::string resolved(const std::string& path) const { return path.empty() ? path : host().resolve_path(path); }

    // Pin file: {"version": 1, "upstreams": {"<upstream>": {"<tool>": {"description": "sha256:..",
    // "input_schema": "sha256:.."}}}}. Missing: pins start empty and the file is written.
    void load(watchgate::Config& config) {
        std::ifstream in(pin_file_);
        if (!in) {
            if (errno == ENOENT) return;
            config.error("/pin_file", "cannot read " + pin_file_ + ": " + std::strerror(errno));
            return;
        }
        std::stringstream text;
        text << in.rdbuf();
        try {
            Value root = watchgate::json::parse(text.str());
            const Value* version = root.find("version");
            const Value* upstreams = root.find("upstreams");
            if (!version || !version->is_integer() || version->as_integer() != 1 || !upstreams ||
                !upstreams->is_object())
                throw std::runtime_error("expected {\"version\": 1, \"upstreams\": {...}}");
            for (const auto& [upstream, tools] : upstreams->as_object()) {
                if (!tools.is_object()) throw std::runtime_error("upstream '" + upstream + "' is not a mapping");
                UpstreamPins& pins = upstreams_[upstream];
                pins.complete = true;
                for (const auto& [tool, pin] : tools.as_object()) {
                    const Value* description = pin.find("description");
                    const Value* schema = pin.find("input_schema");
                    if (!description || !description->is_string() || !schema || !schema->is_string())
                        throw std::runtime_error("tool '" + tool + "' of '" + upstream +
                                                 "' needs description and input_schema digests");
                    pins.pins[tool] = {description->as_string(), schema->as_string()};
                }
            }
        } catch (const std::exception& e) {
            config.error("/pin_file", "the pin file " + pin_file_ + " is not valid: " + e.what());
        }
    }

    // Caller holds mutex_. Written to a temporary file, then renamed: a crash never leaves half a file.
    void save_locked() {
        Object upstreams;
        for (const auto& [name, upstream] : upstreams_) {
            Object tools;
            for (const auto& [tool, pin] : upstream.pins)
                tools.emplace_back(tool, Value(Object{{"description", Value(pin.description)},
                                                      {"input_schema", Value(pin.input_schema)}}));
            upstreams.emplace_back(name, Value(std::move(tools)));
        }
        const std::string text =
            watchgate::json::dump(Value(Object{{"version", Value(1)}, {"upstreams", Value(std::move(upstreams))}})) +
            "\n";
        const std::string temporary = pin_file_ + ".tmp";
        int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        bool written = fd >= 0;
        for (std::size_t done = 0; written && done < text.size();) {
            ssize_t n = ::write(fd, text.data() + done, text.size() - done);
            if (n < 0 && errno == EINTR) continue;
            written = n > 0;
            if (written) done += static_cast<std::size_t>(n);
        }
        if (fd >= 0) {
            if (::fsync(fd) != 0) written = false;
            ::close(fd);
        }
        if (!written || ::rename(temporary.c_str(), pin_file_.c_str()) != 0) {
            host().log(watchgate::LogLevel::error, "cannot write the pin file " + pin_file_ + ": " +
                                                       std::strerror(errno) + " (pins kept in memory)");
            ::unlink(temporary.c_str());
        }
    }

    const Action action_;
    const NewTools new_tools_;
    const std::string pin_file_;
    std::mutex mutex_;
    std::map<std::string, UpstreamPins> upstreams_;
};

}  // namespace

WATCHGATE_PLUGIN(ToolPinning)
