// The admin endpoint through the binary: /metrics counts what happened (requests by outcome,
// plugin verdicts, upstream state, an auditor's own metrics), in a format promtool accepts and a
// real Prometheus scrapes; /healthz and /readyz; and what it refuses.
#include <catch2/catch.hpp>

#include "gateway_process.hpp"
#include "http_client.hpp"
#include "ports.hpp"
#include "run_command.hpp"
#include "test_support.hpp"

#include <fstream>

using namespace watchgate;
using nlohmann::json;
using test::GatewayProcess;
using test::HttpConnection;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;
namespace http = boost::beast::http;

namespace {

// The value of the sample `series` (name and labels exactly as rendered), or -1 when absent.
double sample(const std::string& metrics, const std::string& series) {
    std::istringstream lines(metrics);
    for (std::string line; std::getline(lines, line);)
        if (line.rfind(series + " ", 0) == 0) return std::stod(line.substr(series.size() + 1));
    return -1;
}

// A gateway over stdio with the admin endpoint on a free port, keyword_filter blocking "forbidden"
// and audit_jsonl writing to the scratch folder.
std::string admin_config(const std::filesystem::path& dir, const std::string& upstream_extra = "") {
    return test::test_server_config("",
                                    "admin: {port: 0}\n"
                                    "plugins:\n  security:\n    _global:\n      - handler: keyword_filter\n"
                                    "        config: {keywords: [forbidden]}\n"
                                    "  auditing:\n    _global:\n      - handler: audit_jsonl\n"
                                    "        config: {output_file: '" +
                                        (dir / "audit.jsonl").string() + "', flush_interval_ms: 20}\n",
                                    upstream_extra);
}

// A gateway as admin_config() has it, its admin endpoint's port known.
struct AdminGateway {
    explicit AdminGateway(const std::string& name)
        : dir(test::scratch_dir(name)),
          gateway(dir, admin_config(dir)),
          port(test::logged_port(gateway, "admin: listening")) {
        REQUIRE(port != 0);
    }
    std::filesystem::path dir;
    GatewayProcess gateway;
    std::uint16_t port;
};

}  // namespace

TEST_CASE("admin: /metrics counts requests, verdicts, upstreams and the auditor's own metrics") {
    AdminGateway fixture("admin_metrics");
    auto& [dir, gateway, port] = fixture;
    REQUIRE(gateway.initialize().contains("result"));
    for (int id = 1; id <= 3; ++id) CHECK(test::text_of(gateway.call_tool(id, "echo", {{"text", "fine"}})) == "fine");
    CHECK(gateway.call_tool(4, "echo", {{"text", "forbidden"}})["error"]["code"] == -32000);
    std::this_thread::sleep_for(200ms);  // the audit writer's interval passes

    HttpConnection admin(port);
    const auto answer = admin.request(http::verb::get, "/metrics");
    REQUIRE(answer.status == 200);
    CHECK(answer.header("content-type") == "text/plain; version=0.0.4; charset=utf-8");
    const std::string& metrics = answer.body;
    INFO(metrics);
    CHECK(sample(metrics, R"(watchgate_requests_total{upstream="test",method="tools/call",outcome="ok"})") == 3);
    CHECK(sample(metrics, R"(watchgate_requests_total{upstream="test",method="tools/call",outcome="blocked"})") == 1);
    CHECK(sample(metrics, R"(watchgate_requests_total{upstream="_gateway",method="initialize",outcome="ok"})") == 1);
    CHECK(sample(metrics, R"(watchgate_request_duration_seconds_count{upstream="test",method="tools/call"})") == 4);
    CHECK(sample(metrics,
                 R"(watchgate_request_duration_seconds_bucket{upstream="test",method="tools/call",le="+Inf"})") == 4);
    CHECK(sample(metrics, "watchgate_requests_in_flight") == 0);
    CHECK(sample(metrics,
                 R"(watchgate_plugin_verdicts_total{plugin="keyword_filter",phase="request",verdict="blocked"})") == 1);
    CHECK(sample(metrics,
                 R"(watchgate_plugin_verdicts_total{plugin="keyword_filter",phase="request",verdict="allowed"})") == 3);
    CHECK(sample(metrics, R"(watchgate_upstream_up{upstream="test"})") == 1);
    CHECK(sample(metrics, R"(watchgate_upstream_restarts_total{upstream="test"})") == 0);
    CHECK(sample(metrics, "watchgate_sessions") == 1);
    // Bytes: exactly what crossed the client's pipes; the upstream's lines both ways.
    CHECK(sample(metrics, R"(watchgate_client_bytes_total{transport="stdio",direction="received"})") ==
          static_cast<double>(gateway.bytes_written()));
    CHECK(sample(metrics, R"(watchgate_client_bytes_total{transport="stdio",direction="sent"})") ==
          static_cast<double>(gateway.bytes_read()));
    CHECK(sample(metrics, R"(watchgate_upstream_bytes_total{upstream="test",direction="sent"})") > 300);
    CHECK(sample(metrics, R"(watchgate_upstream_bytes_total{upstream="test",direction="received"})") > 300);
    // audit_jsonl's own, through the watchgate.metrics/1 extension: every event it was given.
    const double written = sample(metrics, R"(watchgate_plugin_audit_events_written_total{plugin="audit_jsonl"})");
    CHECK(written ==
          static_cast<double>(std::count(std::istreambuf_iterator<char>(std::ifstream(dir / "audit.jsonl").rdbuf()),
                                         std::istreambuf_iterator<char>(), '\n')));
    CHECK(written == 7);  // 3 calls with a request and a response record each, and the blocked request
    CHECK(sample(metrics, R"(watchgate_plugin_audit_queue_depth{plugin="audit_jsonl"})") == 0);
    CHECK(sample(metrics, R"(watchgate_plugin_audit_events_dropped_total{plugin="audit_jsonl"})") == 0);

    // The format, as Prometheus' own checker reads it.
    std::ofstream(dir / "metrics.txt") << metrics;
    REQUIRE(std::filesystem::exists("/usr/bin/promtool"));  // setup.sh installs prometheus
    auto [status, verdict] =
        test::run_command("/usr/bin/promtool check metrics < '" + (dir / "metrics.txt").string() + "'");
    INFO(verdict);
    CHECK(status == 0);
}

TEST_CASE("admin: /healthz, /readyz, and what the endpoint refuses") {
    AdminGateway fixture("admin_probes");
    auto& [dir, gateway, port] = fixture;
    REQUIRE(gateway.initialize().contains("result"));
    HttpConnection admin(port);
    auto healthy = admin.request(http::verb::get, "/healthz");
    CHECK(healthy.status == 200);
    CHECK(healthy.body == "ok\n");
    CHECK(admin.request(http::verb::get, "/readyz").status == 200);
    CHECK(admin.request(http::verb::get, "/nothing").status == 404);
    auto post = admin.request(http::verb::post, "/metrics", {}, "x");
    CHECK((post.status == 405 || post.status == 400));  // no endpoint takes a method other than GET, or a body
    HttpConnection again(port);
    auto refused = again.request(http::verb::post, "/metrics");
    CHECK(refused.status == 405);
    CHECK(refused.header("allow") == "GET, HEAD");
}

TEST_CASE("admin: /readyz is 503 while an upstream is not initialized") {
    const auto dir = test::scratch_dir("admin_not_ready");
    // The upstream never answers initialize: never ready.
    GatewayProcess gateway(dir, "admin: {port: 0}\nproxy:\n  upstreams:\n    - name: test\n      command: [\"" +
                                    std::string(WATCHGATE_TEST_SERVER) + "\", \"--hang-initialize\"]\n");
    const auto port = test::logged_port(gateway, "admin: listening");
    REQUIRE(port != 0);
    HttpConnection admin(port);
    auto early = admin.request(http::verb::get, "/readyz");
    CHECK(early.status == 503);
    CHECK_THAT(early.body, Catch::StartsWith("not ready"));
    CHECK(admin.request(http::verb::get, "/healthz").status == 200);  // alive all the same
}

TEST_CASE("admin: a port that is taken stops the start with an error naming it") {
    GatewayProcess holder(test::scratch_dir("admin_taken_first"), test::test_server_config("", "admin: {port: 0}\n"));
    const auto port = test::logged_port(holder, "admin: listening");
    REQUIRE(port != 0);
    GatewayProcess second(test::scratch_dir("admin_taken_second"),
                          test::test_server_config("", "admin: {port: " + std::to_string(port) + "}\n"));
    const std::string why = "admin: cannot listen on 127.0.0.1:" + std::to_string(port) + ": ";
    CHECK_THAT(second.log_once("admin: cannot listen"), Catch::Contains(why));
    // The client that started it reads why, as the answer to its first request.
    const json answer = second.initialize();
    CHECK_THAT(answer["error"]["message"].get<std::string>(), Catch::Contains(why));
    CHECK(second.wait_exit(10s) == 1);
}

TEST_CASE("admin: a real Prometheus scrapes the gateway and answers a query over what it counted") {
    AdminGateway fixture("admin_prometheus");
    auto& [dir, gateway, port] = fixture;
    REQUIRE(gateway.initialize().contains("result"));
    for (int id = 1; id <= 5; ++id) CHECK(test::text_of(gateway.call_tool(id, "echo", {{"text", "x"}})) == "x");

    REQUIRE(std::filesystem::exists("/usr/bin/prometheus"));  // setup.sh installs prometheus
    const int web_port = test::free_port();
    std::ofstream(dir / "prometheus.yml") << "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
                                             "scrape_configs:\n  - job_name: watchgate\n"
                                             "    static_configs: [{targets: ['127.0.0.1:"
                                          << port << "']}]\n";
    auto prometheus =
        core::ChildProcess::spawn({"/usr/bin/prometheus", "--config.file=" + (dir / "prometheus.yml").string(),
                                   "--storage.tsdb.path=" + (dir / "data").string(),
                                   "--web.listen-address=127.0.0.1:" + std::to_string(web_port)},
                                  {}, std::nullopt);
    struct Stop {
        core::ChildProcess& process;
        ~Stop() {
            process.signal(SIGTERM);
            for (int i = 0; i < 500 && !process.try_wait(); ++i) std::this_thread::sleep_for(10ms);
            if (!process.try_wait()) process.signal(SIGKILL);
        }
    } stop{prometheus};

    // The query Prometheus answers once it has scraped: how many calls were answered "ok".
    const std::string query =
        "/api/v1/query?query=sum(watchgate_requests_total%7Bmethod%3D%22tools%2Fcall%22%2Coutcome%3D%22ok%22%7D)";
    json result;
    const auto deadline = Clock::now() + 60s;
    while (Clock::now() < deadline) {
        if (test::tcp_accepts(web_port)) {
            HttpConnection api(static_cast<std::uint16_t>(web_port));
            const auto answer = api.request(http::verb::get, query);
            result = answer.json();
            if (answer.status == 200 && result["data"]["result"].size() == 1) break;
        }
        std::this_thread::sleep_for(250ms);
    }
    INFO(result.dump());
    REQUIRE(result["data"]["result"].size() == 1);
    CHECK(result["data"]["result"][0]["value"][1] == "5");
}

TEST_CASE("admin: watchgate status shows the running gateway as a table") {
    AdminGateway fixture("admin_status");
    auto& [dir, gateway, port] = fixture;
    REQUIRE(gateway.initialize().contains("result"));
    for (int id = 1; id <= 2; ++id) CHECK(test::text_of(gateway.call_tool(id, "echo", {{"text", "fine"}})) == "fine");
    CHECK(gateway.call_tool(3, "echo", {{"text", "forbidden"}})["error"]["code"] == -32000);

    auto run = [](const std::string& arguments) {
        return test::run_command(std::string(WATCHGATE_BINARY) + " " + arguments);
    };
    auto [code, table] = run("status --admin 127.0.0.1:" + std::to_string(port));
    INFO(table);
    CHECK(code == 0);
    CHECK_THAT(table, Catch::StartsWith("watchgate 0.1.0: ready\nsessions 1, requests in flight 0\n\n"));
    CHECK_THAT(table, Catch::Matches("(.|\n)*\ntest +up +0 +0 +0 +3 +1\n(.|\n)*"));  // 2 ok, 1 blocked

    auto [refused, why] = run("status --admin 127.0.0.1:" + std::to_string(test::free_port()));
    CHECK(refused == 1);
    CHECK_THAT(why, Catch::Contains("cannot reach the admin endpoint at 127.0.0.1:"));
    auto [no_admin, missing] = run("status --config " + (dir / "gateway.yaml").string());
    CHECK(no_admin == 2);  // its admin port is 0: nothing to connect to
    CHECK_THAT(missing, Catch::Contains("has no admin: section with a port"));
}

TEST_CASE("admin: requests that waited for a free slot at their upstream show in the queue-wait histogram") {
    const auto dir = test::scratch_dir("admin_queue_wait");
    GatewayProcess gateway(
        dir, test::test_server_config("  concurrency: {max_in_flight: 1, overflow: queue}\n", "admin: {port: 0}\n"));
    const auto port = test::logged_port(gateway, "admin: listening");
    REQUIRE(port != 0);
    REQUIRE(gateway.initialize().contains("result"));
    // Three at once through one slot: the second waits about 300 ms, the third about 600 ms.
    for (int id = 1; id <= 3; ++id) gateway.send_call(id, "sleep", {{"ms", 300}});
    for (int id = 1; id <= 3; ++id) CHECK(gateway.response(id, 10s).contains("result"));

    HttpConnection admin(port);
    const std::string metrics = admin.request(http::verb::get, "/metrics").body;
    INFO(metrics);
    CHECK(sample(metrics, R"(watchgate_upstream_queue_wait_seconds_count{upstream="test"})") == 2);
    const double waited = sample(metrics, R"(watchgate_upstream_queue_wait_seconds_sum{upstream="test"})");
    CHECK(waited > 0.8);  // 0.3 + 0.6, less a little for the moments before each call reached the slot
    CHECK(waited < 5);
    CHECK(sample(metrics, R"(watchgate_upstream_queue_wait_seconds_bucket{upstream="test",le="0.25"})") == 0);
}
