#pragma once
// Runs coroutines concurrently and waits for all of them: list fan-out, initializing upstreams.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/concurrent_channel.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <exception>
#include <memory>
#include <optional>
#include <vector>

namespace watchgate::core {

namespace detail {
template <class T>
boost::asio::awaitable<void> store_result(boost::asio::awaitable<T> task,
                                          std::shared_ptr<std::vector<std::optional<T>>> results, std::size_t index) {
    (*results)[index].emplace(co_await std::move(task));
}
}  // namespace detail

// The results in the order of `tasks`. A task's exception is rethrown here, after all finished.
template <class T>
boost::asio::awaitable<std::vector<T>> gather(boost::asio::any_io_executor executor,
                                              std::vector<boost::asio::awaitable<T>> tasks) {
    using Channel = boost::asio::experimental::concurrent_channel<void(boost::system::error_code, std::exception_ptr)>;
    // Room for every result: a finishing task never waits for the receiver.
    auto done = std::make_shared<Channel>(executor, tasks.size());
    auto results = std::make_shared<std::vector<std::optional<T>>>(tasks.size());
    for (std::size_t index = 0; index < tasks.size(); ++index)
        boost::asio::co_spawn(executor, detail::store_result(std::move(tasks[index]), results, index),
                              [done](std::exception_ptr error) { done->try_send(boost::system::error_code(), error); });
    std::exception_ptr first_error;
    for (std::size_t received = 0; received < tasks.size(); ++received) {
        auto error = co_await done->async_receive(boost::asio::use_awaitable);
        if (error && !first_error) first_error = error;
    }
    if (first_error) std::rethrow_exception(first_error);
    std::vector<T> out;
    out.reserve(results->size());
    for (auto& result : *results) out.push_back(std::move(*result));
    co_return out;
}

}  // namespace watchgate::core
