// tool_manager: an upstream's tools (and optionally prompts and resources) as an allow-list, with
// renames and new descriptions. Enforced on calls, not only on lists: a hidden tool is answered by
// the gateway and never reaches the upstream. docs/plugins/tool_manager.md
#include <watchgate/plugin.hpp>

#include <cctype>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace {

using watchgate::json::Array;
using watchgate::json::Object;
using watchgate::json::Value;

// What an allow-list governs: its YAML key, the key of each entry, the identifier field of list
// items, and the JSON-RPC methods that name one.
struct Kind {
    const char* config_key;   // "tools"
    const char* entry_key;    // "tool"
    const char* noun;         // "Tool"
    const char* item_field;   // the identifier in list items: "name" or "uri"
    bool renames_identifier;  // tools and prompts: display_name replaces the name the client calls
};
constexpr Kind tools_kind{"tools", "tool", "Tool", "name", true};
constexpr Kind prompts_kind{"prompts", "prompt", "Prompt", "name", true};
constexpr Kind resources_kind{"resources", "resource", "Resource", "uri", false};

struct Entry {
    std::string name;
    std::optional<std::string> display_name;
    std::optional<std::string> display_description;
    std::string where;  // JSON pointer of the entry, for error messages
};

// MCP tool names: 1 to 128 of A-Z a-z 0-9 _ - . (the 2025-11-25 specification).
bool valid_tool_name(std::string_view name) {
    if (name.empty() || name.size() > 128) return false;
    for (char c : name)
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.')) return false;
    return true;
}

bool valid_other_name(std::string_view name) {
    if (name.empty()) return false;
    for (char c : name)
        if (static_cast<unsigned char>(c) < 0x20) return false;
    return true;
}

// Where a client's name leads: the upstream's own name, or the reason it is refused.
struct Resolution {
    std::optional<std::string> original;
    std::string refusal;
};

class AllowList {
public:
    AllowList(watchgate::Config& config, const Kind& kind) : kind_(kind) {
        const Value* list = config.raw(kind.config_key);
        if (!list) return;
        configured_ = true;
        const std::string base = std::string("/") + kind.config_key;
        if (!list->is_array()) {
            config.error(base,
                         std::string("expected a list of {") + kind.entry_key + ", display_name, display_description}");
            return;
        }
        std::size_t index = 0;
        for (const Value& item : list->as_array()) read_entry(config, item, base + "/" + std::to_string(index++));
        check_names(config);
    }

    bool configured() const { return configured_; }
    const Kind& kind() const { return kind_; }

    Resolution resolve(const std::string& name, bool allow_original_names, std::string_view upstream) const {
        if (auto renamed = by_display_.find(name); renamed != by_display_.end()) return {renamed->second->name, {}};
        if (auto entry = by_name_.find(name); entry != by_name_.end()) {
            if (!entry->second->display_name || allow_original_names || !kind_.renames_identifier) return {name, {}};
            return {std::nullopt, "renamed to '" + *entry->second->display_name + "'; call it by that name"};
        }
        return {std::nullopt, "not in the tool_manager allow-list of upstream '" + std::string(upstream) + "'"};
    }

    // `items` filtered to the allowed, renamed and redescribed; every other field kept.
    Array filter(const Array& items, const char* identifier_field) const {
        Array out;
        for (const Value& item : items) {
            const Value* id = item.find(identifier_field);
            if (!id || !id->is_string()) continue;
            auto entry = by_name_.find(id->as_string());
            if (entry == by_name_.end()) continue;
            out.push_back(present(item, *entry->second));
        }
        return out;
    }

private:
    void read_entry(watchgate::Config& config, const Value& item, const std::string& where) {
        if (!item.is_object()) {
            config.error(where, std::string("expected a mapping with '") + kind_.entry_key + ":'");
            return;
        }
        Entry entry;
        entry.where = where;
        bool has_name = false;
        for (const auto& [key, value] : item.as_object()) {
            const std::string at = where + "/" + watchgate::json::pointer_token(key);
            const bool known = key == kind_.entry_key || key == "display_name" || key == "display_description";
            if (!known) {
                config.error(at, "unknown key '" + key + "' (expected " + kind_.entry_key +
                                     ", display_name, display_description)");
                continue;
            }
            if (!value.is_string()) {
                config.error(at, "expected a string");
                continue;
            }
            if (key == kind_.entry_key) {
                entry.name = value.as_string();
                has_name = true;
            } else if (key == "display_name") {
                entry.display_name = value.as_string();
            } else {
                entry.display_description = value.as_string();
            }
        }
        if (!has_name) {
            config.error(where, std::string("missing '") + kind_.entry_key + ":'");
            return;
        }
        entries_.push_back(std::move(entry));
    }

    void check_names(watchgate::Config& config) {
        auto valid = [&](const std::string& name) {
            return &kind_ == &tools_kind ? valid_tool_name(name) : valid_other_name(name);
        };
        const std::string rule = &kind_ == &tools_kind ? "1 to 128 of A-Z a-z 0-9 _ - ." : "a non-empty name";
        // Every name a client could call, with the entry it belongs to: duplicates and collisions.
        std::map<std::string, const Entry*> callable;
        for (const Entry& entry : entries_) {
            const std::string at = entry.where + "/" + kind_.entry_key;
            if (!valid(entry.name)) {
                config.error(at, "invalid " + std::string(kind_.entry_key) + " name '" + entry.name + "' (expected " +
                                     rule + ")");
                continue;
            }
            if (auto seen = by_name_.find(entry.name); seen != by_name_.end()) {
                config.error(at, "duplicate " + std::string(kind_.entry_key) + " '" + entry.name + "' (also at " +
                                     seen->second->where + ")");
                continue;
            }
            by_name_[entry.name] = &entry;
        }
        for (const Entry& entry : entries_) {
            if (!entry.display_name) continue;
            const std::string at = entry.where + "/display_name";
            const std::string& display = *entry.display_name;
            if (!kind_.renames_identifier) continue;  // a resource's display name is its label only
            if (!valid(display)) {
                config.error(at, "invalid display name '" + display + "' (expected " + rule + ")");
            } else if (display == entry.name) {
                config.error(at, "display_name is the " + std::string(kind_.entry_key) + "'s own name");
            } else if (auto other = by_name_.find(display); other != by_name_.end()) {
                config.error(at, "display name '" + display + "' collides with " + kind_.entry_key + " '" + display +
                                     "' (" + other->second->where + ")");
            } else if (auto earlier = by_display_.find(display); earlier != by_display_.end()) {
                config.error(at, "display name '" + display + "' is also given at " + earlier->second->where);
            } else {
                by_display_[display] = &entry;
            }
        }
    }

    Value present(const Value& item, const Entry& entry) const {
        Object out;
        bool described = false;
        for (const auto& [key, value] : item.as_object()) {
            if (key == kind_.item_field && kind_.renames_identifier && entry.display_name) {
                out.emplace_back(key, Value(*entry.display_name));
            } else if (key == "name" && !kind_.renames_identifier && entry.display_name) {
                out.emplace_back(key, Value(*entry.display_name));
            } else if (key == "description" && entry.display_description) {
                out.emplace_back(key, Value(*entry.display_description));
                described = true;
            } else {
                out.emplace_back(key, value);
            }
        }
        if (entry.display_description && !described) out.emplace_back("description", Value(*entry.display_description));
        return Value(std::move(out));
    }

    const Kind& kind_;
    bool configured_ = false;
    std::vector<Entry> entries_;  // never resized after reading: the maps point into it
    std::map<std::string, const Entry*> by_name_;
    std::map<std::string, const Entry*> by_display_;
};

class ToolManager : public watchgate::Plugin {
public:
    static constexpr watchgate::PluginInfo info{
        "tool_manager", "1.0.0",
        "Allow-lists an upstream's tools (and prompts, resources), renames and redescribes them; enforced on calls",
        watchgate::kind_middleware, watchgate::thread_safe | watchgate::upstream_only};

    explicit ToolManager(watchgate::Config& config)
        : tools_(config, tools_kind),
          prompts_(config, prompts_kind),
          resources_(config, resources_kind),
          allow_original_names_(config.boolean("allow_original_names", false)) {
        if (!tools_.configured() && !prompts_.configured() && !resources_.configured())
            config.error("", "missing required key 'tools' (or 'prompts' / 'resources')");
    }

    void on_request(watchgate::Message& message, watchgate::RequestState*) override {
        const std::string_view method = message.method();
        if (method == "tools/call") return govern(message, tools_, "/params/name");
        if (method == "prompts/get") return govern(message, prompts_, "/params/name");
        if (method == "resources/read" || method == "resources/subscribe" || method == "resources/unsubscribe")
            return govern(message, resources_, "/params/uri");
        if (method == "completion/complete") {
            auto type = message.value("/params/ref/type");
            if (type && type->is_string() && type->as_string() == "ref/resource")
                return govern(message, resources_, "/params/ref/uri");
            return govern(message, prompts_, "/params/ref/name");
        }
    }

    void on_response(watchgate::Message& message, watchgate::RequestState*) override {
        const std::string_view method = message.method();
        if (method == "tools/list") return filter(message, tools_, "/result/tools", "name");
        if (method == "prompts/list") return filter(message, prompts_, "/result/prompts", "name");
        if (method == "resources/list") return filter(message, resources_, "/result/resources", "uri");
        if (method == "resources/templates/list")
            return filter(message, resources_, "/result/resourceTemplates", "uriTemplate");
    }

private:
    void govern(watchgate::Message& message, const AllowList& list, const char* pointer) {
        if (!list.configured()) return;
        auto name = message.value(pointer);
        if (!name || !name->is_string()) return;  // malformed: the upstream answers it
        Resolution where = list.resolve(name->as_string(), allow_original_names_, message.upstream());
        if (where.original) {
            if (*where.original != name->as_string()) message.set(pointer, Value(*where.original));
            return;
        }
        // Answered here, as a method the upstream does not have: the client learns nothing more.
        Object error{
            {"code", Value(WG_JSONRPC_METHOD_NOT_FOUND)},
            {"message", Value(std::string(list.kind().noun) + " '" + name->as_string() + "' is not available")},
            {"data", Value(Object{{"reason", Value(where.refusal)}})}};
        message.complete(Value(Object{{"jsonrpc", Value("2.0")}, {"error", Value(std::move(error))}}));
    }

    void filter(watchgate::Message& message, const AllowList& list, const char* pointer, const char* field) {
        if (!list.configured()) return;
        auto items = message.value(pointer);
        if (!items || !items->is_array()) return;
        message.set(pointer, Value(list.filter(items->as_array(), field)));
    }

    AllowList tools_;
    AllowList prompts_;
    AllowList resources_;
    bool allow_original_names_;
};

}  // namespace

WATCHGATE_PLUGIN(ToolManager)
