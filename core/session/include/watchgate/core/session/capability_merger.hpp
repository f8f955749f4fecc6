#pragma once
// What the gateway offers its client, merged from what each upstream answered to initialize or
// server/discover: the union of their capabilities (unknown ones and `extensions` included), and
// the upstreams' instructions.

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>

namespace watchgate::core {

class CapabilityMerger {
public:
    // `namespaced`: names carry their upstream (several upstreams); instructions say whose they are.
    explicit CapabilityMerger(bool namespaced) : namespaced_(namespaced) {}

    // One upstream's initialize result.
    void add(std::string_view upstream, const nlohmann::json& initialize_result);
    // The merged capabilities. List changes are always announced: plugins may change lists and
    // upstreams come and go; tools are always offered, so a late upstream's tools count.
    nlohmann::json capabilities() const;
    // Each upstream's instructions, under the prefix its names carry when namespaced.
    const std::string& instructions() const { return instructions_; }

private:
    bool namespaced_;
    nlohmann::json capabilities_ = nlohmann::json::object();
    std::string instructions_;
};

}  // namespace watchgate::core
