#pragma once
// An io_context run by a fixed number of threads until stopped; joins them on destruction.

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <thread>
#include <vector>

namespace watchgate::core {

class ThreadPool {
public:
    explicit ThreadPool(int threads) : context_(threads), guard_(boost::asio::make_work_guard(context_)) {
        for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { context_.run(); });
    }
    ThreadPool(const ThreadPool&) = delete;
    ThreadPool& operator=(const ThreadPool&) = delete;
    ~ThreadPool() { stop(); }

    void stop() {
        guard_.reset();
        context_.stop();
        for (auto& thread : threads_)
            if (thread.joinable()) thread.join();
    }
    boost::asio::io_context& context() { return context_; }

private:
    boost::asio::io_context context_;
    boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard_;
    std::vector<std::thread> threads_;
};

}  // namespace watchgate::core
