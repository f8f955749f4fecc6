#include <watchgate/core/session/capability_merger.hpp>

#include <watchgate/core/protocol/message.hpp>
#include <watchgate/core/session/routing.hpp>

#include <algorithm>
#include <iterator>

namespace watchgate::core {

using nlohmann::json;

namespace {

// Adds `offered` into `merged`: flags such as listChanged and subscribe are true when any
// upstream offers them.
void merge_capability(json& merged, const json& offered) {
    if (!merged.is_object() || !offered.is_object()) return;
    for (auto it = offered.begin(); it != offered.end(); ++it) {
        if (!merged.contains(it.key()))
            merged[it.key()] = it.value();
        else if (it.value() == true)
            merged[it.key()] = true;
    }
}

}  // namespace

void CapabilityMerger::add(std::string_view upstream, const json& initialize_result) {
    const auto& offered = member(initialize_result, "capabilities");
    if (offered.is_object()) {
        // Every capability passes, those the gateway does not know (tasks, experimental) and
        // `extensions` too: a client must learn what the servers behind the gateway can do.
        for (auto it = offered.begin(); it != offered.end(); ++it) {
            if (!capabilities_.contains(it.key()))
                capabilities_[it.key()] = it.value();
            else
                merge_capability(capabilities_[it.key()], it.value());
        }
    }
    if (const auto& text = member(initialize_result, "instructions");
        text.is_string() && !text.get_ref<const std::string&>().empty()) {
        if (!instructions_.empty()) instructions_ += "\n\n";
        if (namespaced_) instructions_ += "[" + namespaced(upstream, "*") + "] ";
        instructions_ += text.get<std::string>();
    }
}

json CapabilityMerger::capabilities() const {
    json merged = capabilities_;
    merged["tools"]["listChanged"] = true;
    for (const char* list : {"prompts", "resources"})
        if (merged.contains(list) && merged[list].is_object()) merged[list]["listChanged"] = true;
    return merged;
}

}  // namespace watchgate::core
