#include <watchgate/core/session/dispatcher.hpp>

#include <watchgate/core/base/gather.hpp>
#include <watchgate/core/protocol/error_codes.hpp>
#include <watchgate/core/session/routing.hpp>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <optional>

namespace watchgate::core {

namespace asio = boost::asio;
using nlohmann::json;

Dispatcher::Dispatcher(const GatewayConfig& config, std::vector<std::shared_ptr<Upstream>> upstreams,
                       asio::any_io_executor work, std::function<void(const std::string&)> on_left_out)
    : config_(config), upstreams_(std::move(upstreams)), work_(std::move(work)), on_left_out_(std::move(on_left_out)) {}

std::shared_ptr<Upstream> Dispatcher::find_upstream(std::string_view name) const {
    for (const auto& upstream : upstreams_)
        if (upstream->name() == name) return upstream;
    return nullptr;
}

std::vector<std::shared_ptr<Upstream>> Dispatcher::offering(std::string_view capability) const {
    std::vector<std::shared_ptr<Upstream>> out;
    for (const auto& upstream : upstreams_)
        if (upstream->may_offer(capability)) out.push_back(upstream);
    return out;
}

asio::awaitable<Message> Dispatcher::dispatch(std::shared_ptr<Request> call, Message request) const {
    const std::string method = request.method();
    const MethodSpec* spec = find_method(method);
    if (spec && spec->routing == MethodRouting::list) co_return co_await fan_out_list(call, std::move(request), *spec);
    if (spec && spec->routing == MethodRouting::broadcast)
        co_return co_await broadcast(call, std::move(request), spec->capability);
    if (spec && spec->target != TargetField::none) {
        const auto& name_at = *target_pointer(*spec, request.json());  // read before the request moves
        co_return co_await route_by_name(call, std::move(request), name_at);
    }
    // A single upstream under its own names is a transparent proxy: it judges what it knows.
    if (!config_.namespace_names) {
        call->set_timeout(upstreams_.front()->config().timeouts.request);
        co_return co_await call->exchange(std::move(request), upstreams_.front());
    }
    co_return make_error_message(call->id(), error_code::method_not_found, "Method not found: " + method);
}

asio::awaitable<Message> Dispatcher::route_by_name(std::shared_ptr<Request> call, Message request,
                                                   const json::json_pointer& name_at) const {
    if (!config_.namespace_names) {
        call->set_timeout(upstreams_.front()->config().timeouts.request);
        co_return co_await call->exchange(std::move(request), upstreams_.front());
    }
    const std::string method = request.method();
    const json& message = request.json();
    const json* name = message.contains(name_at) ? &message.at(name_at) : nullptr;
    auto known = [this] {
        std::string names;
        for (const auto& upstream : upstreams_) names += (names.empty() ? "" : ", ") + upstream->name();
        return names;
    };
    if (!name || !name->is_string())
        co_return make_error_message(call->id(), error_code::invalid_params,
                                     "Invalid params: " + method + " needs " + name_at.to_string() +
                                         " as '<upstream>__<name>' (upstreams: " + known() + ")");
    const std::string& full_name = name->get_ref<const std::string&>();
    auto split = split_namespaced(full_name);
    auto upstream = split ? find_upstream(split->upstream) : nullptr;
    if (!upstream)
        co_return make_error_message(call->id(), error_code::invalid_params,
                                     "Invalid params: '" + full_name +
                                         "' names no upstream: expected '<upstream>__<name>' with one of: " + known());
    call->set_timeout(upstream->config().timeouts.request);  // one upstream: its own timeout
    // Plugins and the upstream see the upstream's own name.
    request.mutable_json()[name_at] = split->name;
    request.refresh_request_fields();
    Message answer = co_await call->exchange(std::move(request), upstream);
    namespace_answer(answer, method, upstream->name(), split->name);
    co_return answer;
}

namespace {

// Why a part's answer cannot be used: its error's message, or what is wrong with its shape.
std::string failure_of(const json& answer, std::string_view items) {
    if (const auto& error = member(answer, "error"); error.is_object()) {
        const auto& text = member(error, "message");
        return text.is_string() ? text.get<std::string>() : dump_json(error);
    }
    if (items.empty()) return {};
    if (!member(member(answer, "result"), items).is_array())
        return "answered without a '" + std::string(items) + "' list";
    return {};
}

}  // namespace

asio::awaitable<Message> Dispatcher::fan_out_list(std::shared_ptr<Request> call, Message request,
                                                  const MethodSpec& list) const {
    // Which upstreams this page comes from, each at its own cursor (none: its first page).
    std::vector<std::pair<std::shared_ptr<Upstream>, std::optional<std::string>>> parts;
    const auto& cursor = member(member(request.json(), "params"), "cursor");
    if (cursor.is_null()) {
        for (auto& upstream : offering(list.capability)) parts.emplace_back(upstream, std::nullopt);
        if (parts.empty())
            co_return make_error_message(call->id(), error_code::method_not_found,
                                         "Method not found: no upstream offers " + std::string(list.capability));
    } else {
        auto cursors = cursor.is_string() ? decode_cursor(cursor.get_ref<const std::string&>()) : std::nullopt;
        if (!cursors)
            co_return make_error_message(call->id(), error_code::invalid_params,
                                         "Invalid params: the cursor was not given out by this gateway");
        for (auto& [name, upstream_cursor] : *cursors) {
            auto upstream = find_upstream(name);
            if (!upstream)
                co_return make_error_message(call->id(), error_code::invalid_params,
                                             "Invalid params: the cursor names no upstream of this gateway");
            parts.emplace_back(upstream, upstream_cursor);
        }
    }
    std::vector<asio::awaitable<Message>> tasks;
    for (auto& [upstream, upstream_cursor] : parts) {
        Message part = request;
        if (upstream_cursor)
            part.mutable_json()["params"]["cursor"] = *upstream_cursor;
        else if (!cursor.is_null())
            part.mutable_json()["params"].erase("cursor");
        tasks.push_back(call->exchange(std::move(part), upstream));
    }
    std::vector<Message> answers = co_await gather(work_, std::move(tasks));

    struct Item {
        std::string key;
        json value;
    };
    std::vector<Item> items;
    UpstreamCursors next;
    json omitted = json::object();
    // The stateless era's cache hints of a merged list: the shortest ttlMs, and "public" only
    // when every part said so; none when a part gave none.
    std::optional<std::int64_t> ttl;
    bool every_ttl = true, every_public = true;
    const std::string items_key(list.list_items), key(list.item_key);
    for (std::size_t i = 0; i < answers.size(); ++i) {
        const std::string& name = parts[i].first->name();
        // An upstream without the method (templates are often missing) simply has no such items.
        if (member(member(answers[i].json(), "error"), "code") == error_code::method_not_found) continue;
        if (auto failure = failure_of(answers[i].json(), list.list_items); !failure.empty()) {
            spdlog::warn("[{}] left out of {}: {}", name, list.method, failure);
            omitted[name] = failure;
            if (on_left_out_) on_left_out_(name);
            continue;
        }
        json& result = answers[i].mutable_json()["result"];
        if (const auto& part_ttl = member(result, "ttlMs"); part_ttl.is_number_integer())
            ttl = std::min(ttl.value_or(part_ttl.get<std::int64_t>()), part_ttl.get<std::int64_t>());
        else
            every_ttl = false;
        every_public = every_public && member(result, "cacheScope") == "public";
        if (config_.namespace_names) namespace_list_items(result[items_key], list, name);
        for (auto& item : result[items_key]) {
            const auto& id = member(item, key);
            items.push_back({id.is_string() ? id.get<std::string>() : std::string(), std::move(item)});
        }
        if (const auto& more = member(result, "nextCursor");
            more.is_string() && !more.get_ref<const std::string&>().empty())
            next[name] = more.get<std::string>();
    }
    if (omitted.size() == answers.size()) {
        if (answers.size() == 1) co_return std::move(answers.front());  // its own error, as it was
        std::string reasons;
        for (auto it = omitted.begin(); it != omitted.end(); ++it)
            reasons += (reasons.empty() ? "" : "; ") + it.key() + ": " + it.value().get<std::string>();
        co_return make_error_message(call->id(), error_code::unavailable,
                                     "no upstream could answer " + std::string(list.method) + ": " + reasons);
    }
    // Sorted by the name the client sees; equal names keep the upstreams' order.
    std::stable_sort(items.begin(), items.end(), [](const Item& a, const Item& b) { return a.key < b.key; });
    json merged = json::array();
    for (auto& item : items) merged.push_back(std::move(item.value));
    // A single upstream's other result fields pass through; merged results carry only the list.
    json result = answers.size() == 1 ? std::move(answers.front().mutable_json()["result"]) : json::object();
    result[items_key] = std::move(merged);
    result.erase("nextCursor");
    if (!next.empty()) result["nextCursor"] = encode_cursor(next);
    // A list some upstream is missing from is no list to keep.
    if (answers.size() > 1 && every_ttl && ttl && omitted.empty()) {
        result["ttlMs"] = std::max<std::int64_t>(*ttl, 0);
        result["cacheScope"] = every_public ? "public" : "private";
    }
    if (config_.debug_metadata && !omitted.empty()) result["_meta"]["watchgate/omitted"] = omitted;
    co_return Message::from_json(json{{"jsonrpc", "2.0"}, {"id", call->id()}, {"result", std::move(result)}});
}

asio::awaitable<Message> Dispatcher::broadcast(std::shared_ptr<Request> call, Message request,
                                               std::string_view capability) const {
    auto targets = offering(capability);
    if (targets.empty())
        co_return make_error_message(call->id(), error_code::method_not_found,
                                     "Method not found: no upstream offers " + std::string(capability));
    std::vector<asio::awaitable<Message>> tasks;
    for (auto& upstream : targets) tasks.push_back(call->exchange(request, upstream));
    std::vector<Message> answers = co_await gather(work_, std::move(tasks));
    std::string reasons;
    bool any_succeeded = false;
    for (std::size_t i = 0; i < answers.size(); ++i) {
        auto failure = failure_of(answers[i].json(), {});
        any_succeeded = any_succeeded || failure.empty();
        if (failure.empty()) continue;
        spdlog::warn("[{}] {} failed: {}", targets[i]->name(), request.method(), failure);
        reasons += (reasons.empty() ? "" : "; ") + targets[i]->name() + ": " + failure;
    }
    if (answers.size() == 1) co_return std::move(answers.front());
    if (any_succeeded)
        co_return Message::from_json(json{{"jsonrpc", "2.0"}, {"id", call->id()}, {"result", json::object()}});
    co_return make_error_message(call->id(), error_code::unavailable,
                                 "no upstream could answer " + request.method() + ": " + reasons);
}

}  // namespace watchgate::core
