// Traces through the binary (docs/operations.md "Traces"): a small OTLP/HTTP receiver stands in
// for the collector; the gateway's spans for a call arrive there with their names, parents and
// attributes, under the client's `_meta.traceparent`, and the upstream gets the context of the
// gateway's call span in its own `_meta`.
#include <catch2/catch.hpp>

#include "gateway_process.hpp"
#include "test_support.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include <mutex>
#include <thread>

using namespace watchgate;
using nlohmann::json;
using test::GatewayProcess;
using namespace std::chrono_literals;
namespace asio = boost::asio;
namespace http = boost::beast::http;

namespace {

// Takes OTLP/HTTP export requests on a port of its own and keeps their spans; over TLS when
// given a certificate and its key.
class OtlpReceiver {
public:
    explicit OtlpReceiver(const std::filesystem::path& cert = {}, const std::filesystem::path& key = {})
        : acceptor_(io_, {asio::ip::make_address("127.0.0.1"), 0}) {
        if (!cert.empty()) {
            tls_.emplace(asio::ssl::context::tls_server);
            tls_->use_certificate_chain_file(cert.string());
            tls_->use_private_key_file(key.string(), asio::ssl::context::pem);
        }
        thread_ = std::thread([this] { serve(); });
    }
    ~OtlpReceiver() {
        stopping_ = true;
        boost::system::error_code ignored;
        asio::ip::tcp::socket wake(io_);
        wake.connect(acceptor_.local_endpoint(), ignored);
        thread_.join();
    }
    std::string url() const {
        return std::string(tls_ ? "https" : "http") +
               "://127.0.0.1:" + std::to_string(acceptor_.local_endpoint().port()) + "/v1/traces";
    }

    // Every span received so far, flattened, with the service name it came under.
    std::vector<json> spans() const {
        std::lock_guard lock(mutex_);
        return spans_;
    }
    // The spans once `count` have arrived, or those there are after `timeout`.
    std::vector<json> wait_for(std::size_t count, std::chrono::milliseconds timeout = 10s) const {
        for (auto until = std::chrono::steady_clock::now() + timeout; std::chrono::steady_clock::now() < until;
             std::this_thread::sleep_for(20ms))
            if (spans().size() >= count) break;
        return spans();
    }
    std::vector<std::string> content_types() const {
        std::lock_guard lock(mutex_);
        return content_types_;
    }

private:
    void serve() {
        while (!stopping_) {
            boost::system::error_code error;
            asio::ip::tcp::socket socket(io_);
            acceptor_.accept(socket, error);
            if (error || stopping_) continue;
            if (!tls_) {
                exchange(socket);
                continue;
            }
            asio::ssl::stream<asio::ip::tcp::socket> secure(std::move(socket), *tls_);
            secure.handshake(asio::ssl::stream_base::server, error);
            if (!error) exchange(secure);
        }
    }
    template <class Stream>
    void exchange(Stream& stream) {
        boost::system::error_code error;
        boost::beast::flat_buffer buffer;
        http::request<http::string_body> request;
        http::read(stream, buffer, request, error);
        if (error) return;
        take(request);
        http::response<http::string_body> response{http::status::ok, 11};
        response.set(http::field::content_type, "application/json");
        response.body() = "{}";
        response.prepare_payload();
        http::write(stream, response, error);
    }
    void take(const http::request<http::string_body>& request) {
        const json body = json::parse(request.body(), nullptr, false);
        std::lock_guard lock(mutex_);
        content_types_.push_back(std::string(request[http::field::content_type]));
        if (!body.is_object()) return;
        for (const auto& resource : body["resourceSpans"]) {
            std::string service;
            for (const auto& attribute : resource["resource"]["attributes"])
                if (attribute["key"] == "service.name") service = attribute["value"]["stringValue"];
            for (const auto& scope : resource["scopeSpans"])
                for (auto span : scope["spans"]) {
                    span["service"] = service;
                    spans_.push_back(std::move(span));
                }
        }
    }

    asio::io_context io_;
    std::optional<asio::ssl::context> tls_;
    asio::ip::tcp::acceptor acceptor_;
    std::thread thread_;
    std::atomic<bool> stopping_{false};
    mutable std::mutex mutex_;
    std::vector<json> spans_;
    std::vector<std::string> content_types_;
};

std::string attribute(const json& span, const std::string& key) {
    for (const auto& attribute : span["attributes"])
        if (attribute["key"] == key) {
            const auto& value = attribute["value"];
            if (value.contains("stringValue")) return value["stringValue"];
            if (value.contains("intValue")) return value["intValue"];
            return value.dump();
        }
    return "<none>";
}

std::vector<json> named(const std::vector<json>& spans, const std::string& name, const std::string& trace_id) {
    std::vector<json> found;
    for (const auto& span : spans)
        if (span["name"] == name && span["traceId"] == trace_id) found.push_back(span);
    return found;
}

std::string tracing_config(const OtlpReceiver& receiver, const std::string& more = {}) {
    return test::test_server_config("", "tracing: {endpoint: '" + receiver.url() +
                                            "', service_name: gateway-under-test, export_interval: 0.05" + more +
                                            "}\n"
                                            "plugins:\n  security:\n    _global:\n      - handler: keyword_filter\n"
                                            "        config: {keywords: [forbidden]}\n");
}

}  // namespace

TEST_CASE("tracing: a call's spans reach the collector under the client's trace and the upstream continues it") {
    OtlpReceiver receiver;
    const auto dir = test::scratch_dir("tracing_spans");
    GatewayProcess gateway(dir, tracing_config(receiver));
    REQUIRE(gateway.initialize().contains("result"));
    const std::string trace_id = "0af7651916cd43dd8448eb211c80319c";
    const std::string client_span = "00f067aa0ba902b7";
    const auto answer = gateway.request(
        1, "tools/call",
        {{"name", "meta"},
         {"arguments", json::object()},
         {"_meta", {{"traceparent", "00-" + trace_id + "-" + client_span + "-01"}, {"tracestate", "vendor=1"}}}});
    REQUIRE(answer.contains("result"));
    // What the upstream got: the same trace, its parent the gateway's call span.
    const json upstream_meta = json::parse(test::text_of(answer));
    const std::string upstream_parent = upstream_meta.value("traceparent", "");
    REQUIRE(upstream_parent.size() == 55);
    CHECK(upstream_parent.substr(0, 36) == "00-" + trace_id + "-");
    CHECK(upstream_meta["tracestate"] == "vendor=1");
    const std::string call_span = upstream_parent.substr(36, 16);

    // Server span, request and response pipelines with a stage each, the upstream call.
    const auto spans = receiver.wait_for(6);
    INFO(json(spans).dump(1));
    const auto servers = named(spans, "tools/call meta", trace_id);
    REQUIRE(servers.size() == 2);  // the gateway's server span and its client span
    const json server = servers[0]["kind"] == 2 ? servers[0] : servers[1];
    const json client = servers[0]["kind"] == 3 ? servers[0] : servers[1];
    CHECK(server["kind"] == 2);
    CHECK(client["kind"] == 3);
    CHECK(server["parentSpanId"] == client_span);
    CHECK(server["service"] == "gateway-under-test");
    CHECK(attribute(server, "mcp.method.name") == "tools/call");
    CHECK(attribute(server, "gen_ai.tool.name") == "meta");
    CHECK(attribute(server, "mcp.session.id") == "1");
    CHECK(attribute(server, "jsonrpc.request.id") == "1");
    CHECK(attribute(server, "watchgate.upstream") == "test");
    CHECK(!server.contains("status"));
    CHECK(client["spanId"] == call_span);
    CHECK(client["parentSpanId"] == server["spanId"]);
    CHECK(attribute(client, "watchgate.upstream") == "test");
    CHECK(std::stoull(server["startTimeUnixNano"].get<std::string>()) <=
          std::stoull(client["startTimeUnixNano"].get<std::string>()));
    CHECK(std::stoull(client["endTimeUnixNano"].get<std::string>()) <=
          std::stoull(server["endTimeUnixNano"].get<std::string>()));
    for (const std::string phase : {"request", "response"}) {
        const auto pipelines = named(spans, "watchgate.pipeline " + phase, trace_id);
        REQUIRE(pipelines.size() == 1);
        CHECK(pipelines[0]["parentSpanId"] == server["spanId"]);
        CHECK(attribute(pipelines[0], "watchgate.verdict") == "allowed");
        std::vector<json> stages;
        for (const auto& span : named(spans, "watchgate.plugin keyword_filter", trace_id))
            if (span["parentSpanId"] == pipelines[0]["spanId"]) stages.push_back(span);
        REQUIRE(stages.size() == 1);
        CHECK(attribute(stages[0], "watchgate.phase") == phase);
        CHECK(attribute(stages[0], "watchgate.plugin") == "keyword_filter");
    }
    for (const auto& type : receiver.content_types()) CHECK(type == "application/json");
}

TEST_CASE("tracing: a call without trace context starts a trace and a blocked one is marked failed") {
    OtlpReceiver receiver;
    const auto dir = test::scratch_dir("tracing_new");
    GatewayProcess gateway(dir, tracing_config(receiver));
    REQUIRE(gateway.initialize().contains("result"));
    const auto answer = gateway.call_tool(1, "meta");
    const json upstream_meta = json::parse(test::text_of(answer));
    const std::string upstream_parent = upstream_meta.value("traceparent", "");
    REQUIRE(upstream_parent.size() == 55);
    const std::string trace_id = upstream_parent.substr(3, 32);
    CHECK(gateway.call_tool(2, "echo", {{"text", "forbidden"}})["error"]["code"] == -32000);

    const auto spans = receiver.wait_for(8);
    INFO(json(spans).dump(1));
    const auto calls = named(spans, "tools/call meta", trace_id);
    REQUIRE(calls.size() == 2);
    for (const auto& span : calls)
        if (span["kind"] == 2) CHECK(!span.contains("parentSpanId"));  // the root of a new trace
    bool blocked_seen = false;
    for (const auto& span : spans)
        if (span["name"] == "tools/call echo" && span["kind"] == 2) {
            blocked_seen = true;
            CHECK(span["status"]["code"] == 2);
            CHECK(attribute(span, "rpc.jsonrpc.error_code") == "-32000");
            CHECK(span["traceId"] != trace_id);
        }
    CHECK(blocked_seen);
    // A context the client did not sample is passed on and not recorded.
    const std::string unsampled = "00-11111111111111111111111111111111-2222222222222222-00";
    const auto passed = gateway.request(
        3, "tools/call", {{"name", "meta"}, {"arguments", json::object()}, {"_meta", {{"traceparent", unsampled}}}});
    CHECK(json::parse(test::text_of(passed))["traceparent"] == unsampled);
    std::this_thread::sleep_for(300ms);
    for (const auto& span : receiver.spans()) CHECK(span["traceId"] != "11111111111111111111111111111111");
}

TEST_CASE("tracing: a collector that is gone costs spans but no call") {
    const auto dir = test::scratch_dir("tracing_gone");
    GatewayProcess gateway(
        dir,
        test::test_server_config("", "tracing: {endpoint: 'http://127.0.0.1:9/v1/traces', export_interval: 0.05}\n"));
    REQUIRE(gateway.initialize().contains("result"));
    for (int id = 1; id <= 20; ++id) CHECK(test::text_of(gateway.call_tool(id, "echo", {{"text", "on"}})) == "on");
    CHECK(gateway.log_once("not exported").find("not exported to http://127.0.0.1:9/v1/traces") != std::string::npos);
}

TEST_CASE("tracing: spans go to an https collector whose certificate tls.ca_file trusts") {
    const auto dir = test::scratch_dir("tracing_tls");
    const auto cert = dir / "cert.pem", key = dir / "key.pem";
    const std::string make = "openssl req -x509 -newkey rsa:2048 -nodes -keyout " + key.string() + " -out " +
                             cert.string() +
                             " -days 2 -subj /CN=localhost -addext subjectAltName=IP:127.0.0.1 2>/dev/null";
    REQUIRE(std::system(make.c_str()) == 0);
    OtlpReceiver receiver(cert, key);
    REQUIRE(receiver.url().starts_with("https://"));
    {
        GatewayProcess gateway(dir, tracing_config(receiver, ", tls: {ca_file: '" + cert.string() + "'}"));
        REQUIRE(gateway.initialize().contains("result"));
        CHECK(test::text_of(gateway.call_tool(1, "echo", {{"text", "over tls"}})) == "over tls");
        const auto spans = receiver.wait_for(4);
        REQUIRE(!spans.empty());
        CHECK(!named(spans, "tools/call echo", spans.back()["traceId"].get<std::string>()).empty());
    }
    // Without the CA the certificate is refused: spans are lost, calls are not.
    const auto before = receiver.spans().size();
    GatewayProcess untrusted(test::scratch_dir("tracing_tls_untrusted"), tracing_config(receiver));
    REQUIRE(untrusted.initialize().contains("result"));
    CHECK(test::text_of(untrusted.call_tool(1, "echo", {{"text", "still"}})) == "still");
    CHECK(untrusted.log_once("not exported").find("not exported to https://") != std::string::npos);
    CHECK(receiver.spans().size() == before);
}
