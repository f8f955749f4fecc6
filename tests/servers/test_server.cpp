// A small MCP server (stdio) for tests, benchmarks and the demo. Slow calls overlap as they would in
// a real server: `sleep` waits on a timer thread, `ask_client` on a thread of its own.
//
// Tools: echo {text}, sleep {ms}, big {bytes}, progress {steps}, crash, garbage, ask_client {times},
//        cancelled (ids this server saw cancelled), calls (tool names called so far), pid, meta (its
//        request's _meta),
//        notify (sends resources/updated, a log message and tools/list_changed), seen (the other
//        requests so far, as "method target"), link (a result naming a resource), redescribe {text}
//        (changes echo's description, sends tools/list_changed), structured (text and
//        structuredContent), bare (a result without content), raw {line, pad} (writes line as it is,
//        $ID replaced by the request's id, $PAD by pad x's, and no answer), stop_reading {ms} (reads nothing
//        meanwhile), flood {count} (log notifications), close_stdout (and lives on).
// Options: --name TAG (in resource URIs test://TAG/...), --tools N, --prompts N, --resources N
//          (generated items t000.., p000.., test://TAG/r000..), --page-size N (lists paginate),
//          --fail-starts N --state-file F (exit at start N times, counted in F), --list-delay MS
//          (tools/list answers late), --no-templates (last: resources/templates/list is unknown),
//          --hang-initialize (never answers initialize), --era stateless (speaks only MCP 2026-07-28:
//          answers server/discover, refuses initialize and requests without the version in _meta,
//          `ask_client` answers input_required, `notify` tags its notifications for the open
//          subscriptions/listen requests, whose filters `seen` lists), --ttl N (its lists' ttlMs).
#include <nlohmann/json.hpp>

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <cstdio>
#include <iostream>
#include <algorithm>
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
std::vector<std::string> seen_requests;                         // "method target" of requests other than tools/call
std::string echo_description = "Returns the text it is given";  // `redescribe` changes it

struct Options {
    std::string name = "test";
    int tools = 0;
    int prompts = 0;
    int resources = 0;
    int page_size = 0;   // 0: every list in one page
    int list_delay = 0;  // ms before answering tools/list
    bool hang_initialize = false;
    bool templates = true;
    std::string protocol_version;  // answered to initialize instead of the one asked for
    bool stateless = false;        // --era stateless
    int ttl_ms = 0;                // --ttl N: the ttlMs of its lists (stateless)
} options;

// Open subscriptions/listen requests (stateless era), by their id as JSON text.
std::map<std::string, json> listens;

std::string numbered(char letter, int i) {
    char text[16];
    std::snprintf(text, sizeof text, "%c%03d", letter, i);
    return text;
}
std::string resource_uri(int i) { return "test://" + options.name + "/" + numbered('r', i); }

void send(const json& message) {
    std::string line = message.dump() + "\n";
    std::lock_guard lock(out_mutex);
    std::fwrite(line.data(), 1, line.size(), stdout);
    std::fflush(stdout);
}

json text_result(const std::string& text) { return {{"content", json::array({{{"type", "text"}, {"text", text}}})}}; }

json tool_list() {
    std::lock_guard lock(state_mutex);
    auto tool = [](const char* name, const char* description, json properties) {
        return json{{"name", name},
                    {"description", description},
                    {"inputSchema", {{"type", "object"}, {"properties", std::move(properties)}}}};
    };
    return json::array({
        tool("echo", echo_description.c_str(), {{"text", {{"type", "string"}}}}),
        tool("sleep", "Waits ms milliseconds, then answers", {{"ms", {{"type", "integer"}}}}),
        tool("big", "Returns a text of the given size", {{"bytes", {{"type", "integer"}}}}),
        tool("progress", "Sends progress notifications, then answers", {{"steps", {{"type", "integer"}}}}),
        tool("crash", "Exits the server at once", json::object()),
        tool("garbage", "Writes a line that is not JSON, then answers", json::object()),
        tool("ask_client", "Asks the client to sample a message and returns its text", json::object()),
        tool("cancelled", "Lists the request ids this server saw cancelled", json::object()),
        tool("calls", "Lists the tools called so far", json::object()),
        tool("pid", "Returns the server's process id", json::object()),
        tool("notify", "Sends resources/updated, a log message and tools/list_changed", json::object()),
        tool("seen", "Lists the requests other than tools/call seen so far", json::object()),
        tool("meta", "Returns the _meta of its own request as JSON text", json::object()),
        tool("link", "Returns a link to the first resource", json::object()),
        tool("redescribe", "Gives echo a new description and says the tool list changed",
             {{"text", {{"type", "string"}}}}),
        tool("structured", "Returns text and structuredContent", json::object()),
        tool("bare", "Returns a result without a content list", json::object()),
    });
}

json all_tools() {
    json tools = tool_list();
    for (int i = 0; i < options.tools; ++i)
        tools.push_back({{"name", numbered('t', i)},
                         {"description", "Generated tool " + std::to_string(i)},
                         {"inputSchema", {{"type", "object"}}}});
    return tools;
}

// One page of `items` at `params.cursor` (an offset), with nextCursor while more remain.
json page(const json& params, const char* key, json items) {
    std::size_t from = 0;
    if (params.contains("cursor")) from = std::stoul(params["cursor"].get<std::string>());
    if (options.page_size <= 0) return {{key, std::move(items)}};
    json out = json::array();
    for (std::size_t i = from; i < items.size() && out.size() < static_cast<std::size_t>(options.page_size); ++i)
        out.push_back(items[i]);
    json result = {{key, out}};
    if (from + out.size() < items.size()) result["nextCursor"] = std::to_string(from + out.size());
    return result;
}

void remember(const std::string& method, const std::string& target) {
    std::lock_guard lock(state_mutex);
    seen_requests.push_back(method + " " + target);
}

json server_capabilities() {
    json capabilities = {{"tools", json::object()}, {"logging", json::object()}, {"completions", json::object()}};
    if (options.prompts > 0) capabilities["prompts"] = json::object();
    if (options.resources > 0) capabilities["resources"] = {{"subscribe", true}};
    if (options.stateless) capabilities["tools"]["listChanged"] = true;
    return capabilities;
}

// Why a stateless server refuses a request (a JSON-RPC error), or null.
json stateless_refusal(const std::string& method, const json& params) {
    if (method == "initialize")
        return {{"code", -32022},
                {"message", "Unsupported protocol version: this server speaks only 2026-07-28"},
                {"data", {{"supported", {"2026-07-28"}}, {"requested", params.value("protocolVersion", "")}}}};
    if (method == "ping" || method == "logging/setLevel" || method == "resources/subscribe" ||
        method == "resources/unsubscribe")
        return {{"code", -32601}, {"message", "Method not found: " + method}};
    const json meta = params.value("_meta", json::object());
    const json version = meta.value("io.modelcontextprotocol/protocolVersion", json());
    if (version != "2026-07-28")
        return {{"code", -32022},
                {"message", "Unsupported protocol version"},
                {"data", {{"supported", {"2026-07-28"}}, {"requested", version.is_string() ? version : json("")}}}};
    if (!meta.contains("io.modelcontextprotocol/clientCapabilities"))
        return {{"code", -32602},
                {"message", "Invalid params: _meta lacks io.modelcontextprotocol/clientCapabilities"}};
    return nullptr;
}

// A notification for every open subscriptions/listen that asked for it, tagged with its id.
void send_to_listens(const std::string& flag, const std::string& uri, json message) {
    std::vector<json> ids;
    {
        std::lock_guard lock(state_mutex);
        for (const auto& [id, filter] : listens) {
            const json uris = filter.value("resourceSubscriptions", json::array());
            if (uri.empty() ? filter.value(flag, false) : std::find(uris.begin(), uris.end(), uri) != uris.end())
                ids.push_back(json::parse(id));
        }
    }
    for (const auto& id : ids) {
        message["params"]["_meta"]["io.modelcontextprotocol/subscriptionId"] = id;
        send(message);
    }
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
    if (name == "meta") return text_result(params.value("_meta", json::object()).dump());
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
    if (name == "ask_client" && options.stateless) {
        // The stateless era asks in the result, and the client asks again with the answer.
        json message = {{"role", "user"}, {"content", {{"type", "text"}, {"text", "Say hello"}}}};
        const json answer = params.value("inputResponses", json::object()).value("sample", json());
        if (answer.is_object() && params.value("requestState", "") == "asked-once")
            return text_result("client said: " + answer["content"].value("text", ""));
        return {{"resultType", "input_required"},
                {"inputRequests",
                 {{"sample",
                   {{"method", "sampling/createMessage"},
                    {"params", {{"messages", json::array({message})}, {"maxTokens", 50}}}}}}},
                {"requestState", "asked-once"}};
    }
    if (name == "ask_client") {  // {times}: asks that many times, one after the other
        std::string said;
        for (int round = 0; round < arguments.value("times", 1); ++round) {
            const std::string id = "server-" + std::to_string(next_request_id++);
            json message = {{"role", "user"}, {"content", {{"type", "text"}, {"text", "Say hello"}}}};
            json sampling = {{"messages", json::array({message})}, {"maxTokens", 50}};
            send({{"jsonrpc", "2.0"}, {"id", id}, {"method", "sampling/createMessage"}, {"params", sampling}});
            std::unique_lock lock(state_mutex);
            if (!answered.wait_for(lock, std::chrono::seconds(10), [&] { return client_answers.contains(id); }))
                throw std::runtime_error("the client did not answer sampling/createMessage");
            json answer = client_answers[id];
            if (answer.contains("error")) return text_result("client refused: " + answer["error"].value("message", ""));
            said += (said.empty() ? "" : ", ") + answer["result"]["content"].value("text", "");
        }
        return text_result("client said: " + said);
    }
    if (name == "cancelled") {
        std::lock_guard lock(state_mutex);
        return text_result(json(cancelled_ids).dump());
    }
    if (name == "pid") return text_result(std::to_string(::getpid()));
    if (name == "env") {  // the value of the environment variable `name` in this process
        const char* value = std::getenv(arguments.value("name", "").c_str());
        return text_result(value ? value : "(unset)");
    }
    if (name == "cwd") {
        char path[4096];
        return text_result(::getcwd(path, sizeof path) ? path : "(unknown)");
    }
    if (name == "raw") {  // writes `line` as it is (with $ID as the request's id) instead of an answer
        std::string line = arguments.value("line", "");
        if (auto at = line.find("$ID"); at != std::string::npos) line.replace(at, 3, request["id"].dump());
        if (auto at = line.find("$PAD"); at != std::string::npos)
            line.replace(at, 4, std::string(arguments.value("pad", std::size_t{0}), 'x'));
        line += '\n';
        std::lock_guard lock(out_mutex);
        std::fwrite(line.data(), 1, line.size(), stdout);
        std::fflush(stdout);
        return json();  // no answer
    }
    if (name == "stop_reading") {  // stops reading stdin for `ms` (answered inline, so nothing is read)
        std::this_thread::sleep_for(std::chrono::milliseconds(arguments.value("ms", 0)));
        return text_result("read again");
    }
    if (name == "flood") {  // sends `count` log notifications before answering
        const int count = arguments.value("count", 0);
        for (int i = 0; i < count; ++i)
            send({{"jsonrpc", "2.0"},
                  {"method", "notifications/message"},
                  {"params", {{"level", "info"}, {"data", "flood " + std::to_string(i)}}}});
        return text_result("flooded");
    }
    if (name == "close_stdout") {  // closes stdout and goes on living (reading stdin)
        std::lock_guard lock(out_mutex);
        std::fflush(stdout);
        ::close(STDOUT_FILENO);
        return json();
    }
    if (name == "notify" && options.stateless) {
        send_to_listens("", resource_uri(0),
                        {{"jsonrpc", "2.0"},
                         {"method", "notifications/resources/updated"},
                         {"params", {{"uri", resource_uri(0)}}}});
        send_to_listens("toolsListChanged", "", {{"jsonrpc", "2.0"}, {"method", "notifications/tools/list_changed"}});
        return text_result("notified");
    }
    if (name == "notify") {
        send({{"jsonrpc", "2.0"},
              {"method", "notifications/resources/updated"},
              {"params", {{"uri", resource_uri(0)}}}});
        send({{"jsonrpc", "2.0"},
              {"method", "notifications/message"},
              {"params", {{"level", "info"}, {"logger", "tests"}, {"data", "hello from " + options.name}}}});
        send({{"jsonrpc", "2.0"}, {"method", "notifications/tools/list_changed"}});
        return text_result("notified");
    }
    if (name == "seen") {
        std::lock_guard lock(state_mutex);
        return text_result(json(seen_requests).dump());
    }
    if (name == "redescribe") {
        {
            std::lock_guard lock(state_mutex);
            echo_description = arguments.value("text", "");
        }
        send({{"jsonrpc", "2.0"}, {"method", "notifications/tools/list_changed"}});
        return text_result("redescribed");
    }
    if (name == "structured")
        return {{"content", json::array({{{"type", "text"}, {"text", "{\"answer\":42}"}}})},
                {"structuredContent", {{"answer", 42}}},
                {"isError", false}};
    if (name == "bare") return {{"structuredContent", {{"answer", 42}}}};
    if (name == "link")
        return {{"content", json::array({{{"type", "resource_link"}, {"uri", resource_uri(0)}, {"name", "r000"}}})}};
    if (name == "calls") {
        std::lock_guard lock(state_mutex);
        return text_result(json(tool_calls).dump());
    }
    throw std::invalid_argument("unknown tool: " + name);
}

void handle(json request) {
    const json id = request["id"];
    const std::string method = request.value("method", "");
    const json params = request.value("params", json::object());
    try {
        json result;
        if (options.stateless) {
            if (auto refusal = stateless_refusal(method, params); !refusal.is_null()) {
                send({{"jsonrpc", "2.0"}, {"id", id}, {"error", refusal}});
                return;
            }
        }
        if (method == "server/discover" && options.stateless) {
            result = {
                {"supportedVersions", json::array({"2026-07-28"})},
                {"capabilities", server_capabilities()},
                {"_meta",
                 {{"io.modelcontextprotocol/serverInfo", {{"name", "watchgate-test-server"}, {"version", "1.0.0"}}}}},
                {"instructions", "A stateless server for Watchgate's tests."},
                {"ttlMs", 0},
                {"cacheScope", "private"}};
        } else if (method == "subscriptions/listen" && options.stateless) {
            const json filter = params.value("notifications", json::object());
            remember(method, filter.dump());
            {
                std::lock_guard lock(state_mutex);
                listens[id.dump()] = filter;
            }
            send(
                {{"jsonrpc", "2.0"},
                 {"method", "notifications/subscriptions/acknowledged"},
                 {"params", {{"_meta", {{"io.modelcontextprotocol/subscriptionId", id}}}, {"notifications", filter}}}});
            return;  // open until cancelled
        } else if (method == "initialize") {
            remember(method, params.value("protocolVersion", ""));
            if (options.hang_initialize) return;  // never answers: the gateway must give up on it
            json capabilities = server_capabilities();
            const std::string version = !options.protocol_version.empty()
                                            ? options.protocol_version
                                            : request["params"].value("protocolVersion", "2025-06-18");
            result = {{"protocolVersion", version},
                      {"capabilities", capabilities},
                      {"serverInfo", {{"name", "watchgate-test-server"}, {"version", "1.0.0"}}},
                      {"instructions", "A server for Watchgate's tests."}};
        } else if (method == "ping") {
            result = json::object();
        } else if (method == "tools/list") {
            std::this_thread::sleep_for(std::chrono::milliseconds(options.list_delay));
            result = page(params, "tools", all_tools());
        } else if (method == "tools/call") {
            result = call_tool(request);
        } else if (method == "prompts/list") {
            json prompts = json::array();
            for (int i = 0; i < options.prompts; ++i)
                prompts.push_back(
                    {{"name", numbered('p', i)}, {"description", "Generated prompt " + std::to_string(i)}});
            result = page(params, "prompts", prompts);
        } else if (method == "prompts/get") {
            const std::string name = params.value("name", "");
            remember(method, name);
            result = {{"messages",
                       json::array(
                           {{{"role", "user"},
                             {"content", {{"type", "text"}, {"text", "prompt " + name + " of " + options.name}}}},
                            {{"role", "user"},
                             {"content", {{"type", "resource_link"}, {"uri", resource_uri(0)}, {"name", "r000"}}}}})}};
        } else if (method == "resources/list") {
            json resources = json::array();
            for (int i = 0; i < options.resources; ++i)
                resources.push_back({{"uri", resource_uri(i)}, {"name", numbered('r', i)}});
            result = page(params, "resources", resources);
        } else if (method == "resources/templates/list" && options.templates) {
            json templates =
                json::array({{{"uriTemplate", "test://" + options.name + "/items/{id}"}, {"name", "item"}}});
            result = page(params, "resourceTemplates", templates);
        } else if (method == "resources/read") {
            const std::string uri = params.value("uri", "");
            remember(method, uri);
            if (uri.rfind("test://" + options.name + "/", 0) != 0) {
                send({{"jsonrpc", "2.0"},
                      {"id", id},
                      {"error", {{"code", -32002}, {"message", "Resource not found: " + uri}}}});
                return;
            }
            result = {{"contents", json::array({{{"uri", uri}, {"text", "contents of " + uri}}})}};
        } else if (method == "resources/subscribe" || method == "resources/unsubscribe") {
            remember(method, params.value("uri", ""));
            result = json::object();
        } else if (method == "completion/complete") {
            const json ref = params.value("ref", json::object());
            const std::string target = ref.value("name", ref.value("uri", ""));
            remember(method, target);
            result = {{"completion", {{"values", json::array({options.name + ":" + target})}}}};
        } else if (method == "logging/setLevel") {
            remember(method, params.value("level", ""));
            result = json::object();
        } else {
            send({{"jsonrpc", "2.0"},
                  {"id", id},
                  {"error", {{"code", -32601}, {"message", "Method not found: " + method}}}});
            return;
        }
        if (options.stateless && result.is_object() && !result.contains("resultType")) {
            result["resultType"] = "complete";
            if (method.ends_with("/list") || method == "resources/read") {
                result["ttlMs"] = options.ttl_ms;
                result["cacheScope"] = "private";
            }
        }
        if (!result.is_null())
            send({{"jsonrpc", "2.0"}, {"id", id}, {"result", result}});  // null: answered its own way
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
            listens.erase(message["params"]["requestId"].dump());
        }
    } else if (message.contains("id")) {
        std::lock_guard lock(state_mutex);
        client_answers[message["id"].is_string() ? message["id"].get<std::string>() : message["id"].dump()] = message;
        answered.notify_all();
    }
}

// Reads the options; exits at once while --fail-starts says this start should fail.
void read_options(int argc, char** argv) {
    int fail_starts = 0;
    std::string state_file;
    for (int i = 1; i < argc; ++i)
        if (std::string(argv[i]) == "--no-templates")
            options.templates = false;
        else if (std::string(argv[i]) == "--hang-initialize")
            options.hang_initialize = true;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string flag = argv[i], value = argv[i + 1];
        if (flag == "--name")
            options.name = value;
        else if (flag == "--tools")
            options.tools = std::stoi(value);
        else if (flag == "--prompts")
            options.prompts = std::stoi(value);
        else if (flag == "--resources")
            options.resources = std::stoi(value);
        else if (flag == "--page-size")
            options.page_size = std::stoi(value);
        else if (flag == "--list-delay")
            options.list_delay = std::stoi(value);
        else if (flag == "--fail-starts")
            fail_starts = std::stoi(value);
        else if (flag == "--state-file")
            state_file = value;
        else if (flag == "--protocol-version")
            options.protocol_version = value;
        else if (flag == "--era")
            options.stateless = value == "stateless";
        else if (flag == "--ttl")
            options.ttl_ms = std::stoi(value);
    }
    if (fail_starts > 0 && !state_file.empty()) {
        int starts = 0;
        if (std::FILE* in = std::fopen(state_file.c_str(), "r")) {
            if (std::fscanf(in, "%d", &starts) != 1) starts = 0;
            std::fclose(in);
        }
        if (std::FILE* out = std::fopen(state_file.c_str(), "w")) {
            std::fprintf(out, "%d", starts + 1);
            std::fclose(out);
        }
        if (starts < fail_starts) {
            std::fprintf(stderr, "test server: failing start %d of %d on purpose\n", starts + 1, fail_starts);
            std::_Exit(1);
        }
    }
}

int main(int argc, char** argv) {
    read_options(argc, argv);
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
