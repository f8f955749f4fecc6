// A small MCP server (stdio) for tests, benchmarks and the demo. Slow calls overlap as they would in
// a real server: `sleep` waits on a timer thread, `ask_client` on a thread of its own.
//
// Tools: echo {text}, sleep {ms}, big {bytes}, progress {steps}, crash, garbage, ask_client,
//        cancelled (ids this server saw cancelled), calls (tool names called so far), pid.
#include <nlohmann/json.hpp>

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <cstdio>
#include <iostream>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

using nlohmann::json;

namespace {

std::mutex out_mutex;
std::mutex state_mutex;
std::condition_variable answered;
std::map<std::string, json> client_answers;  // answers to our own requests, by id
std::vector<json> cancelled_ids;
std::vector<std::string> tool_calls;
std::atomic<int> next_request_id{1};

void send(const json& message) {
    std::string line = message.dump() + "\n";
    std::lock_guard lock(out_mutex);
    std::fwrite(line.data(), 1, line.size(), stdout);
    std::fflush(stdout);
}

json text_result(const std::string& text) { return {{"content", json::array({{{"type", "text"}, {"text", text}}})}}; }

json tool_list() {
    auto tool = [](const char* name, const char* description, json properties) {
        return json{{"name", name},
                    {"description", description},
                    {"inputSchema", {{"type", "object"}, {"properties", std::move(properties)}}}};
    };
    return json::array({
        tool("echo", "Returns the text it is given", {{"text", {{"type", "string"}}}}),
        tool("sleep", "Waits ms milliseconds, then answers", {{"ms", {{"type", "integer"}}}}),
        tool("big", "Returns a text of the given size", {{"bytes", {{"type", "integer"}}}}),
        tool("progress", "Sends progress notifications, then answers", {{"steps", {{"type", "integer"}}}}),
        tool("crash", "Exits the server at once", json::object()),
        tool("garbage", "Writes a line that is not JSON, then answers", json::object()),
        tool("ask_client", "Asks the client to sample a message and returns its text", json::object()),
        tool("cancelled", "Lists the request ids this server saw cancelled", json::object()),
        tool("calls", "Lists the tools called so far", json::object()),
        tool("pid", "Returns the server's process id", json::object()),
    });
}

json call_tool(const json& request) {
    const json params = request.value("params", json::object());
    const std::string name = params.value("name", "");
    const json arguments = params.value("arguments", json::object());
    {
        std::lock_guard lock(state_mutex);
        tool_calls.push_back(name);
    }
    if (name == "echo") return text_result(arguments.value("text", ""));
    if (name == "sleep") {  // answered by the timer thread (see main); here only when called directly
        int ms = arguments.value("ms", 0);
        std::this_thread::sleep_for(std::chrono::milliseconds(ms));
        return text_result("slept " + std::to_string(ms) + " ms");
    }
    if (name == "big") return text_result(std::string(arguments.value("bytes", std::size_t{0}), 'x'));
    if (name == "progress") {
        int steps = arguments.value("steps", 3);
        json token = params.contains("_meta") ? params["_meta"].value("progressToken", json()) : json();
        for (int i = 1; i <= steps && !token.is_null(); ++i)
            send({{"jsonrpc", "2.0"},
                  {"method", "notifications/progress"},
                  {"params", {{"progressToken", token}, {"progress", i}, {"total", steps}}}});
        return text_result("done in " + std::to_string(steps) + " steps");
    }
    if (name == "crash") {
        std::fflush(stdout);
        ::_exit(3);
    }
    if (name == "garbage") {
        {
            std::lock_guard lock(out_mutex);
            std::fputs("this line is not JSON\n", stdout);
            std::fflush(stdout);
        }
        return text_result("ok");
    }
    if (name == "ask_client") {
        const std::string id = "server-" + std::to_string(next_request_id++);
        json message = {{"role", "user"}, {"content", {{"type", "text"}, {"text", "Say hello"}}}};
        json sampling = {{"messages", json::array({message})}, {"maxTokens", 50}};
        send({{"jsonrpc", "2.0"}, {"id", id}, {"method", "sampling/createMessage"}, {"params", sampling}});
        std::unique_lock lock(state_mutex);
        if (!answered.wait_for(lock, std::chrono::seconds(10), [&] { return client_answers.contains(id); }))
            throw std::runtime_error("the client did not answer sampling/createMessage");
        json answer = client_answers[id];
        if (answer.contains("error")) return text_result("client refused: " + answer["error"].value("message", ""));
        return text_result("client said: " + answer["result"]["content"].value("text", ""));
    }
    if (name == "cancelled") {
        std::lock_guard lock(state_mutex);
        return text_result(json(cancelled_ids).dump());
    }
    if (name == "pid") return text_result(std::to_string(::getpid()));
    if (name == "calls") {
        std::lock_guard lock(state_mutex);
        return text_result(json(tool_calls).dump());
    }
    throw std::invalid_argument("unknown tool: " + name);
}

void handle(json request) {
    const json id = request["id"];
    const std::string method = request.value("method", "");
    try {
        json result;
        if (method == "initialize") {
            result = {{"protocolVersion", request["params"].value("protocolVersion", "2025-06-18")},
                      {"capabilities", {{"tools", json::object()}, {"logging", json::object()}}},
                      {"serverInfo", {{"name", "watchgate-test-server"}, {"version", "1.0.0"}}},
                      {"instructions", "A server for Watchgate's tests."}};
        } else if (method == "ping") {
            result = json::object();
        } else if (method == "tools/list") {
            result = {{"tools", tool_list()}};
        } else if (method == "tools/call") {
            result = call_tool(request);
        } else {
            send({{"jsonrpc", "2.0"},
                  {"id", id},
                  {"error", {{"code", -32601}, {"message", "Method not found: " + method}}}});
            return;
        }
        send({{"jsonrpc", "2.0"}, {"id", id}, {"result", result}});
    } catch (const std::exception& e) {
        send({{"jsonrpc", "2.0"}, {"id", id}, {"error", {{"code", -32602}, {"message", e.what()}}}});
    }
}

// Sleeping calls wait on one timer thread instead of a thread each, so a thousand concurrent
// `sleep` calls cost the server nothing and the benchmark measures the gateway.
struct Timers {
    std::mutex mutex;
    std::condition_variable changed;
    std::multimap<std::chrono::steady_clock::time_point, json> due;  // deadline -> response

    void add(std::chrono::steady_clock::time_point at, json response) {
        std::lock_guard lock(mutex);
        due.emplace(at, std::move(response));
        changed.notify_one();
    }
    void run() {
        std::unique_lock lock(mutex);
        for (;;) {
            if (due.empty()) {
                changed.wait(lock);
                continue;
            }
            auto first = due.begin();
            if (changed.wait_until(lock, first->first) == std::cv_status::no_timeout) continue;
            while (!due.empty() && due.begin()->first <= std::chrono::steady_clock::now()) {
                json response = std::move(due.begin()->second);
                due.erase(due.begin());
                lock.unlock();
                send(response);
                lock.lock();
            }
        }
    }
};

// Tools that wait on someone else run on their own thread; the rest answer inline, in order.
bool needs_thread(const json& request) {
    const std::string tool = request.value("params", json::object()).value("name", "");
    return tool == "ask_client";
}

}  // namespace

// Routes one message from the client.
void dispatch(json& message, Timers& timers) {
    if (message.contains("method") && message.contains("id")) {
        const json params = message.value("params", json::object());
        if (message["method"] == "tools/call" && params.value("name", "") == "sleep") {
            const int ms = params.value("arguments", json::object()).value("ms", 0);
            {
                std::lock_guard lock(state_mutex);
                tool_calls.push_back("sleep");
            }
            json result = text_result("slept " + std::to_string(ms) + " ms");
            timers.add(std::chrono::steady_clock::now() + std::chrono::milliseconds(ms),
                       {{"jsonrpc", "2.0"}, {"id", message["id"]}, {"result", result}});
        } else if (needs_thread(message)) {
            std::thread(handle, std::move(message)).detach();
        } else {
            handle(std::move(message));
        }
    } else if (message.contains("method")) {
        if (message["method"] == "notifications/cancelled") {
            std::lock_guard lock(state_mutex);
            cancelled_ids.push_back(message["params"]["requestId"]);
        }
    } else if (message.contains("id")) {
        std::lock_guard lock(state_mutex);
        client_answers[message["id"].is_string() ? message["id"].get<std::string>() : message["id"].dump()] = message;
        answered.notify_all();
    }
}

int main() {
    Timers timers;
    std::thread([&timers] { timers.run(); }).detach();
    std::ios::sync_with_stdio(false);
    std::string line;
    while (std::getline(std::cin, line)) {
        json message = json::parse(line, nullptr, false);
        if (!message.is_object()) {
            std::cerr << "test server: ignoring a line that is not JSON\n";
            continue;
        }
        try {
            dispatch(message, timers);
        } catch (const std::exception& e) {
            // Odd shapes (a name that is not a string, ...) get an error, never a crash.
            if (message.contains("id") && message.contains("method"))
                send({{"jsonrpc", "2.0"}, {"id", message["id"]}, {"error", {{"code", -32602}, {"message", e.what()}}}});
        }
    }
    // stdin closed: finish what is running, briefly, then leave without running destructors (the
    // timer thread still waits on its condition variable).
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    std::fflush(stdout);
    std::_Exit(0);
}
