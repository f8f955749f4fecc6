#pragma once
// Where one client request goes: routed by the name its method targets (the `<upstream>__`
// prefix picks the upstream and is taken off), fanned out to every upstream offering a list (the
// pages merged, the cursors composed), broadcast (a success when any upstream succeeds), or
// refused. What each upstream's part is (plugins, the upstream itself) is the request's own
// exchange: the dispatcher only decides and merges.

#include <watchgate/core/config/config.hpp>
#include <watchgate/core/protocol/message.hpp>
#include <watchgate/core/protocol/methods.hpp>
#include <watchgate/core/upstream/upstream.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <nlohmann/json.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace watchgate::core {

class Dispatcher {
public:
    // What dispatching needs of the request it routes.
    class Request {
    public:
        virtual ~Request() = default;
        virtual const nlohmann::json& id() const = 0;
        // The upstream that answers is known: its request timeout applies.
        virtual void set_timeout(std::chrono::milliseconds timeout) = 0;
        // One upstream's part: yields the answer for the client (under the client's id).
        virtual boost::asio::awaitable<Message> exchange(Message request, std::shared_ptr<Upstream> upstream) = 0;
    };

    // `upstreams` in the config's order; `work` runs the parts of a fan-out; `on_left_out` is told
    // of each upstream left out of a list answer.
    Dispatcher(const GatewayConfig& config, std::vector<std::shared_ptr<Upstream>> upstreams,
               boost::asio::any_io_executor work, std::function<void(const std::string& upstream)> on_left_out);

    boost::asio::awaitable<Message> dispatch(std::shared_ptr<Request> call, Message request) const;

    const std::vector<std::shared_ptr<Upstream>>& upstreams() const { return upstreams_; }
    std::shared_ptr<Upstream> find_upstream(std::string_view name) const;

private:
    // `name_at` is one of target_pointer's static pointers: it outlives the coroutine.
    boost::asio::awaitable<Message> route_by_name(std::shared_ptr<Request> call, Message request,
                                                  const nlohmann::json::json_pointer& name_at) const;
    boost::asio::awaitable<Message> fan_out_list(std::shared_ptr<Request> call, Message request,
                                                 const MethodSpec& list) const;
    boost::asio::awaitable<Message> broadcast(std::shared_ptr<Request> call, Message request,
                                              std::string_view capability) const;
    // The upstreams that offered `capability` (or have not initialized yet: they are tried and,
    // when down, reported as left out).
    std::vector<std::shared_ptr<Upstream>> offering(std::string_view capability) const;

    const GatewayConfig& config_;
    std::vector<std::shared_ptr<Upstream>> upstreams_;
    boost::asio::any_io_executor work_;
    std::function<void(const std::string&)> on_left_out_;
};

}  // namespace watchgate::core
