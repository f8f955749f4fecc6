#pragma once
// Helpers for the detection plugin tests: load one built-in detection plugin through the real
// plugin host and run in-memory messages through its pipeline.

#include "test_support.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <set>
#include <string>
#include <vector>

namespace watchgate::test {

// A host with one security plugin `handler` and its `config:` given as a YAML flow mapping.
inline std::shared_ptr<core::PluginHost> detection_host(const std::string& handler, const std::string& config) {
    return load_host("plugins:\n  security:\n    _global:\n      - handler: " + handler +
                     "\n        config: " + config + "\n");
}

inline core::PipelineResult run_request(const std::shared_ptr<core::PluginHost>& host, core::Message& message) {
    auto scope = host->pipeline("")->begin_request(message);
    return host->pipeline("")->process_request(*scope, message);
}

// A tools/call request whose only argument is {"text": text}.
inline core::Message text_request(const std::string& text) {
    nlohmann::json arguments{{"text", text}};
    return request(1, "t", arguments.dump());
}

// The detection types the plugin recorded in its stage metadata, sorted and without repeats.
inline std::vector<std::string> detected_types(const core::PipelineResult& result) {
    std::set<std::string> types;
    for (const auto& stage : result.stages) {
        if (!stage.metadata.is_object() || !stage.metadata.contains("detections")) continue;
        for (const auto& detection : stage.metadata["detections"]) types.insert(detection["type"].get<std::string>());
    }
    return {types.begin(), types.end()};
}

inline std::vector<std::string> scan_types(const std::shared_ptr<core::PluginHost>& host, const std::string& text) {
    auto message = text_request(text);
    return detected_types(run_request(host, message));
}

inline std::string joined(const std::vector<std::string>& items) {
    std::string out;
    for (const auto& item : items) out += (out.empty() ? "" : ",") + item;
    return "[" + out + "]";
}

}  // namespace watchgate::test
