#include <watchgate/core/protocol/stateless_meta.hpp>

#include <watchgate/core/base/version.hpp>
#include <watchgate/core/protocol/message.hpp>
#include <watchgate/core/protocol/versions.hpp>

namespace watchgate::core {

using nlohmann::json;

const json& request_meta(const json& request, std::string_view key) {
    return member(member(member(request, "params"), "_meta"), key);
}

const json& declared_protocol_version(const json& request) { return request_meta(request, meta_key::protocol_version); }

void remove_stateless_request_meta(json& request) {
    auto params = request.find("params");
    if (params == request.end() || !params->is_object()) return;
    auto meta = params->find("_meta");
    if (meta == params->end() || !meta->is_object()) return;
    for (auto key :
         {meta_key::protocol_version, meta_key::client_info, meta_key::client_capabilities, meta_key::log_level})
        meta->erase(std::string(key));
    if (meta->empty()) params->erase(meta);
}

void set_stateless_request_meta(json& request, std::string_view version, const json& client_info,
                                const json& capabilities, const json& log_level) {
    json& params = request["params"];
    if (!params.is_object()) params = json::object();
    json& meta = params["_meta"];
    if (!meta.is_object()) meta = json::object();
    meta[std::string(meta_key::protocol_version)] = version;
    meta[std::string(meta_key::client_capabilities)] = capabilities.is_object() ? capabilities : json::object();
    if (client_info.is_object()) meta[std::string(meta_key::client_info)] = client_info;
    if (log_level.is_string()) meta[std::string(meta_key::log_level)] = log_level;
}

bool has_cacheable_result(std::string_view method) {
    return method == "tools/list" || method == "prompts/list" || method == "resources/list" ||
           method == "resources/templates/list" || method == "resources/read" || method == "server/discover";
}

void complete_stateless_result(json& response, std::string_view method) {
    auto result = response.find("result");
    if (result == response.end() || !result->is_object()) return;
    if (!result->contains("resultType")) (*result)["resultType"] = "complete";
    if (has_cacheable_result(method) && (*result)["resultType"] == "complete") {
        if (const auto& ttl = member(*result, "ttlMs"); !ttl.is_number_integer() || ttl.get<std::int64_t>() < 0)
            (*result)["ttlMs"] = 0;
        if (const auto& scope = member(*result, "cacheScope"); scope != "public" && scope != "private")
            (*result)["cacheScope"] = "private";
    }
    json& meta = (*result)["_meta"];
    if (!meta.is_object()) meta = json::object();
    meta[std::string(meta_key::server_info)] = {{"name", "watchgate"}, {"version", version_text}};
}

json unsupported_version_error(const json& id, const json& requested) {
    json supported = json::array();
    for (auto version : all_protocol_versions()) supported.push_back(version);
    const std::string asked = requested.is_string() ? requested.get<std::string>() : dump_json(requested);
    std::string offered;
    for (auto version : all_protocol_versions()) offered += (offered.empty() ? "" : ", ") + std::string(version);
    return make_error_response(id, error_code::unsupported_protocol_version,
                               "Unsupported protocol version " + asked + ": the gateway speaks " + offered,
                               {{"supported", std::move(supported)}, {"requested", asked}});
}

}  // namespace watchgate::core
