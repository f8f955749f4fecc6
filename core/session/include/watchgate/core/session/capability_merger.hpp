#pragma once
// What the gateway offers its client, merged from what each upstream answered to initialize
// (initialize now; server/discover of the stateless protocol later): the capabilities it can
// serve across upstreams, and the upstreams' instructions.

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>

namespace watchgate::core {

class CapabilityMerger {
public:
    // `namespaced`: names carry their upstream (several upstreams); capabilities that would need
    // routing the gateway does not have (experimental, tasks) are then left out.
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
