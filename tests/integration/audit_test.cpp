// The auditing plugins end to end through the real `watchgate` binary: SIGHUP reopens files,
// a critical auditor that cannot write fails requests closed until writing works again, a
// non-critical one lets them through, and syslog messages reach a real rsyslogd.
#include <catch2/catch.hpp>

#include "gateway_process.hpp"
#include "ports.hpp"
#include "test_support.hpp"

#include <fstream>
#include <map>
#include <sstream>

using namespace watchgate;
using nlohmann::json;
using test::free_port;
using test::GatewayProcess;
using test::tcp_accepts;
using test::text_of;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

namespace {

// `config` is a flow mapping "{...}"; `critical` (a host key) goes into it.
std::string audit_config(const std::string& handler, const std::string& config, bool critical = true) {
    return test::test_server_config("", "plugins:\n  auditing:\n    _global:\n      - handler: " + handler +
                                            "\n        config: {critical: " + (critical ? "true, " : "false, ") +
                                            config.substr(1) + "\n");
}

std::size_t line_count(const std::filesystem::path& file) {
    std::ifstream in(file);
    std::size_t count = 0;
    for (std::string line; std::getline(in, line);) ++count;
    return count;
}

// Waits until `file` has at least `lines` lines (the writer flushes on its interval).
bool wait_for_lines(const std::filesystem::path& file, std::size_t lines, std::chrono::milliseconds timeout = 5s) {
    const auto deadline = Clock::now() + timeout;
    while (Clock::now() < deadline) {
        if (std::filesystem::exists(file) && line_count(file) >= lines) return true;
        std::this_thread::sleep_for(20ms);
    }
    return false;
}

}  // namespace

TEST_CASE("audit e2e: SIGHUP asks plugins to reopen on the control thread and requests go on") {
    // The control thread (the one that created the instances) calls reopen, as docs/plugin-abi.md
    // promises; it used to be called from the signal handler on an I/O thread.
    GatewayProcess gateway(test::scratch_dir("audit_hup_thread"),
                           "plugin_dirs: [\"" + test::plugin_dir().string() + "\"]\n" +
                               test::test_server_config("",
                                                        "plugins:\n  security:\n    _global:\n"
                                                        "      - handler: test_sec_a\n"));
    REQUIRE(gateway.initialize().contains("result"));
    gateway.signal(SIGHUP);
    const std::string answer = "reopen on the thread that created the instance: ";
    CHECK_THAT(gateway.log_once(answer), Catch::Contains(answer + "yes"));
    CHECK(text_of(gateway.call_tool(1, "echo", {{"text", "still here"}})) == "still here");
}

TEST_CASE("audit e2e: SIGHUP reopens the file after logrotate moved it") {
    auto dir = test::scratch_dir("audit_hup");
    const auto file = dir / "audit.jsonl";
    GatewayProcess gateway(
        dir, audit_config("audit_jsonl", "{output_file: '" + file.string() + "', flush_interval_ms: 20}"));
    REQUIRE(gateway.initialize().contains("result"));
    CHECK(text_of(gateway.call_tool(1, "echo", {{"text", "before"}})) == "before");
    REQUIRE(wait_for_lines(file, 2));  // the call's request and response
    std::filesystem::rename(file, dir / "audit.jsonl.1");
    gateway.signal(SIGHUP);
    std::this_thread::sleep_for(200ms);
    CHECK(text_of(gateway.call_tool(2, "echo", {{"text", "after"}})) == "after");
    REQUIRE(wait_for_lines(file, 2));
    CHECK(line_count(dir / "audit.jsonl.1") >= 2);
    const std::string moved = test::read_file(dir / "audit.jsonl.1");
    const std::string fresh = test::read_file(file);
    CHECK(moved.find("\"request_id\":1") != std::string::npos);
    CHECK(fresh.find("\"request_id\":2") != std::string::npos);
    CHECK(fresh.find("\"request_id\":1") == std::string::npos);
    CHECK_THAT(gateway.log_once("SIGHUP received"), Catch::Contains("SIGHUP received"));
}

TEST_CASE("audit e2e: after SIGKILL at most the flush interval of events is missing") {
    // Events older than one flush interval are on disk: the kill comes one interval (plus half of
    // one for the write itself and a loaded machine, still under a second interval) after the
    // last event.
    constexpr auto interval = 1000ms;
    auto dir = test::scratch_dir("audit_kill");
    const auto file = dir / "audit.jsonl";
    GatewayProcess gateway(
        dir, audit_config("audit_jsonl", "{output_file: '" + file.string() +
                                             "', flush_interval_ms: " + std::to_string(interval.count()) + "}"));
    REQUIRE(gateway.initialize().contains("result"));
    for (int id = 1; id <= 100; ++id) CHECK(text_of(gateway.call_tool(id, "echo", {{"text", "x"}})) == "x");
    // The last response was recorded before the client got it.
    const auto last_event = Clock::now();
    std::this_thread::sleep_until(last_event + interval + interval / 2);
    gateway.signal(SIGKILL);
    REQUIRE(gateway.wait_exit(5s));
    CHECK(line_count(file) == 200);  // each call's request and response
}

TEST_CASE("audit e2e: a critical auditor that cannot write fails requests closed, a non-critical one does not") {
    {
        GatewayProcess gateway(test::scratch_dir("audit_full_critical"),
                               audit_config("audit_jsonl", "{output_file: /dev/full, flush_interval_ms: 10}"));
        REQUIRE(gateway.initialize().contains("result"));
        // The first event fails to write; from then on the auditor refuses until writing works.
        gateway.call_tool(1, "echo", {{"text", "x"}});
        std::this_thread::sleep_for(200ms);
        auto refused = gateway.call_tool(2, "echo", {{"text", "x"}});
        CHECK(refused["error"]["code"] == -32005);
        // The auditor's reason, not a status number (ABI 1.2 audit_error).
        CHECK(refused["error"]["message"] ==
              "audit failure: [audit_jsonl] cannot write audit events (the sink is failing)");
        CHECK_THAT(gateway.log_once("cannot write audit events: cannot write /dev/full"),
                   Catch::Contains("cannot write audit events: cannot write /dev/full"));
    }
    {
        GatewayProcess gateway(test::scratch_dir("audit_full_optional"),
                               audit_config("audit_jsonl", "{output_file: /dev/full, flush_interval_ms: 10}", false));
        REQUIRE(gateway.initialize().contains("result"));
        CHECK(text_of(gateway.call_tool(1, "echo", {{"text", "x"}})) == "x");
        std::this_thread::sleep_for(200ms);  // the first write has failed by now
        for (int id = 2; id <= 20; ++id) CHECK(text_of(gateway.call_tool(id, "echo", {{"text", "x"}})) == "x");
        gateway.close_input();
        REQUIRE(gateway.wait_exit(10s));
        CHECK_THAT(gateway.log_once("[audit_jsonl] cannot write audit events (the sink is failing)"),
                   Catch::Contains("[audit_jsonl] cannot write audit events (the sink is failing)"));
        CHECK_THAT(gateway.log(), Catch::Matches("(.|\n)*audit_jsonl: [0-9]+ events written, [0-9]+ dropped(.|\n)*"));
    }
}

TEST_CASE("audit e2e: requests fail closed while the audit folder is unusable and pass once it works again") {
    auto dir = test::scratch_dir("audit_recover");
    // The folder is a file for now: nothing can be created below it.
    std::ofstream(dir / "logs") << "not a folder";
    const auto file = dir / "logs" / "audit.jsonl";
    GatewayProcess gateway(
        dir, audit_config("audit_jsonl", "{output_file: '" + file.string() + "', flush_interval_ms: 20}"));
    REQUIRE(gateway.initialize().contains("result"));
    gateway.call_tool(1, "echo", {{"text", "x"}});
    std::this_thread::sleep_for(200ms);
    CHECK(gateway.call_tool(2, "echo", {{"text", "x"}})["error"]["code"] == -32005);
    std::filesystem::remove(dir / "logs");
    std::filesystem::create_directory(dir / "logs");
    // The writer retries on its own; the next requests pass and everything waiting is written.
    json answer;
    const auto deadline = Clock::now() + 5s;
    for (int id = 3; Clock::now() < deadline; ++id) {
        answer = gateway.call_tool(id, "echo", {{"text", "back"}});
        if (answer.contains("result")) break;
        std::this_thread::sleep_for(50ms);
    }
    CHECK(text_of(answer) == "back");
    REQUIRE(wait_for_lines(file, 3));
    CHECK(test::read_file(file).find("\"request_id\":1") != std::string::npos);  // kept while failing
    CHECK_THAT(gateway.log_once("writing audit events works again"),
               Catch::Contains("writing audit events works again"));
}

namespace {

// rsyslogd in the foreground with its own config: UDP and TCP inputs on loopback and a Unix
// socket (RFC 5424 parsed there too), every message written to one file as
// "<facility> <severity> <app-name> <msgid> <msg>".
class Rsyslogd {
public:
    explicit Rsyslogd(const std::filesystem::path& dir)
        : dir_(dir),
          output_(dir / "received.log"),
          udp_port_(free_port(SOCK_DGRAM)),
          tcp_port_(free_port(SOCK_STREAM)) {
        std::filesystem::create_directories(dir);
        std::ofstream(dir / "rsyslog.conf")
            << "global(workDirectory=\"" << dir.string() << "\")\n"
            << "module(load=\"imudp\")\nmodule(load=\"imtcp\")\nmodule(load=\"imuxsock\" SysSock.Use=\"off\")\n"
            << "input(type=\"imuxsock\" Socket=\"" << socket_path().string()
            << "\" UseSpecialParser=\"off\" ParseHostname=\"on\")\n"
            << "input(type=\"imudp\" address=\"127.0.0.1\" port=\"" << udp_port_ << "\")\n"
            << "input(type=\"imtcp\" address=\"127.0.0.1\" port=\"" << tcp_port_ << "\")\n"
            << "template(name=\"fields\" type=\"string\" "
               "string=\"%syslogfacility-text% %syslogseverity-text% %app-name% %msgid% %msg%\\n\")\n"
            << "*.* action(type=\"omfile\" file=\"" << output_.string() << "\" template=\"fields\")\n";
        const char* candidates[] = {"/usr/sbin/rsyslogd", "/sbin/rsyslogd"};
        std::string program;
        for (const char* candidate : candidates)
            if (std::filesystem::exists(candidate)) program = candidate;
        REQUIRE_FALSE(program.empty());  // setup.sh installs rsyslog
        process_.emplace(core::ChildProcess::spawn(
            {program, "-n", "-f", (dir / "rsyslog.conf").string(), "-i", (dir / "rsyslogd.pid").string()}, {},
            std::nullopt));
        const auto deadline = Clock::now() + 10s;
        while (!tcp_accepts(tcp_port_) && Clock::now() < deadline) std::this_thread::sleep_for(20ms);
        REQUIRE(tcp_accepts(tcp_port_));
    }
    ~Rsyslogd() {
        process_->signal(SIGTERM);
        for (int i = 0; i < 400 && !process_->try_wait(); ++i) std::this_thread::sleep_for(5ms);
        if (!process_->try_wait()) process_->signal(SIGKILL);
    }

    int udp_port() const { return udp_port_; }
    std::filesystem::path socket_path() const { return dir_ / "log.sock"; }
    int tcp_port() const { return tcp_port_; }
    // The received lines that mention `marker`, waiting until there are `count`.
    std::vector<std::string> lines_with(const std::string& marker, std::size_t count) const {
        std::vector<std::string> found;
        const auto deadline = Clock::now() + 10s;
        while (Clock::now() < deadline) {
            found.clear();
            std::ifstream in(output_);
            for (std::string line; std::getline(in, line);)
                if (line.find(marker) != std::string::npos) found.push_back(line);
            if (found.size() >= count) break;
            std::this_thread::sleep_for(50ms);
        }
        return found;
    }

private:
    std::filesystem::path dir_, output_;
    int udp_port_, tcp_port_;
    std::optional<core::ChildProcess> process_;
};

}  // namespace

TEST_CASE("audit e2e: audit_syslog messages reach a real rsyslogd over UDP, TCP and a Unix socket") {
    auto dir = test::scratch_dir("audit_syslog");
    Rsyslogd daemon(dir / "rsyslog");
    for (const std::string transport : {"udp", "tcp", "unix"}) {
        DYNAMIC_SECTION(transport) {
            const std::string where =
                transport == "unix"
                    ? "socket_path: '" + daemon.socket_path().string() + "'"
                    : "port: " + std::to_string(transport == "udp" ? daemon.udp_port() : daemon.tcp_port());
            const std::string marker = "marker-" + transport;
            GatewayProcess gateway(
                dir, audit_config("audit_syslog", "{transport: " + transport + ", " + where +
                                                      ", facility: local3, app_name: wg-test, "
                                                      "flush_interval_ms: 20, include_request_body: true}"));
            REQUIRE(gateway.initialize().contains("result"));
            CHECK(text_of(gateway.call_tool(1, "echo", {{"text", marker}})) == marker);
            auto lines = daemon.lines_with(marker, 1);
            REQUIRE(lines.size() == 1);  // the request (with its body); the response has no body
            INFO(lines[0]);
            CHECK(lines[0].rfind("local3 info wg-test request {", 0) == 0);
            const json event = json::parse(lines[0].substr(lines[0].find('{')));
            CHECK(event["event_type"] == "request");
            CHECK(event["tool"] == "echo");
            CHECK(event["body"]["params"]["arguments"]["text"] == marker);
            auto responses = daemon.lines_with("wg-test response", 1);  // a fresh daemon per section
            CHECK(responses.size() == 1);
        }
    }
}

TEST_CASE("audit e2e: records carry what the detection plugins found and audit_only bodies are written redacted") {
    auto dir = test::scratch_dir("audit_detections");
    const auto file = dir / "audit.jsonl";
    GatewayProcess gateway(
        dir, test::test_server_config(
                 "", "plugins:\n  security:\n    _global:\n"
                     "      - handler: basic_secrets_filter\n        config: {action: audit_only}\n"
                     "      - handler: basic_pii_filter\n        config: {action: redact}\n"
                     "  auditing:\n    _global:\n      - handler: audit_jsonl\n"
                     "        config: {output_file: '" +
                         file.string() +
                         "', flush_interval_ms: 20, include_request_body: true, include_response_body: true}\n"));
    REQUIRE(gateway.initialize().contains("result"));
    // audit_only: the key passes both ways unchanged...
    CHECK(text_of(gateway.call_tool(1, "echo", {{"text", "key AKIAIOSFODNN7EXAMPLE"}})) == "key AKIAIOSFODNN7EXAMPLE");
    // ...redact: the client gets the address redacted.
    CHECK(text_of(gateway.call_tool(2, "echo", {{"text", "mail ann@example.org"}})) == "mail [REDACTED:EMAIL]");
    REQUIRE(wait_for_lines(file, 4));  // the two calls, each request and response
    const std::string trail = test::read_file(file);
    CHECK(trail.find("AKIAIOSFODNN7EXAMPLE") == std::string::npos);
    CHECK(trail.find("ann@example.org") == std::string::npos);
    std::map<std::string, json> by_event;  // "request 1", "response 2", ...
    std::istringstream lines(trail);
    for (std::string line; std::getline(lines, line);) {
        const json record = json::parse(line);
        if (record["request_id"].is_number())
            by_event[record["event_type"].get<std::string>() + " " + record["request_id"].dump()] = record;
    }
    for (const std::string event : {"request 1", "response 1"}) {
        INFO(event);
        const json& record = by_event[event];
        CHECK(record["outcome"] == "allowed");
        CHECK(record["body_redacted"] == true);
        const json& stage = record["stages"][0];
        CHECK(stage["plugin"] == "basic_secrets_filter");
        CHECK(stage["metadata"]["action"] == "audit_only");
        CHECK(stage["metadata"]["detections"][0]["type"] == "AWS_ACCESS_KEY_ID");
        CHECK(record["body"].dump().find("key [REDACTED:AWS_ACCESS_KEY_ID]") != std::string::npos);
    }
    const json& redacted = by_event["request 2"];
    CHECK(redacted["outcome"] == "modified");
    CHECK(redacted["content_cleared"] == true);
    CHECK_FALSE(redacted.contains("body"));
    CHECK(redacted["stages"][1]["plugin"] == "basic_pii_filter");
    CHECK(redacted["stages"][1]["metadata"]["action"] == "redact");
    CHECK(redacted["stages"][1]["metadata"]["detections"][0]["pointer"] == "/params/arguments/text");
}

TEST_CASE("audit e2e: directions and exclude_tools keep a redacting plugin off what it must not change") {
    auto dir = test::scratch_dir("audit_reach");
    const auto file = dir / "audit.jsonl";
    GatewayProcess gateway(
        dir, test::test_server_config("",
                                      "plugins:\n  security:\n    _global:\n      - handler: basic_pii_filter\n"
                                      "        config: {action: redact, directions: [response], exclude_tools: [raw]}\n"
                                      "  auditing:\n    _global:\n      - handler: audit_jsonl\n"
                                      "        config: {output_file: '" +
                                          file.string() + "', flush_interval_ms: 20, include_request_body: true}\n"));
    REQUIRE(gateway.initialize().contains("result"));
    // The request goes to the upstream as sent; its answer is redacted on the way back.
    CHECK(text_of(gateway.call_tool(1, "echo", {{"text", "mail ann@example.org"}})) == "mail [REDACTED:EMAIL]");
    // raw is left out both ways.
    const std::string line =
        R"({"jsonrpc":"2.0","id":$ID,"result":{"content":[{"type":"text","text":"bob@example.org"}]}})";
    CHECK(text_of(gateway.call_tool(2, "raw", {{"line", line}})) == "bob@example.org");
    REQUIRE(wait_for_lines(file, 4));
    std::istringstream lines(test::read_file(file));
    std::map<std::string, json> by_event;
    for (std::string text; std::getline(lines, text);) {
        const json record = json::parse(text);
        by_event[record["event_type"].get<std::string>() + " " + record["request_id"].dump()] = record;
    }
    const json& request = by_event["request 1"];
    CHECK(request["outcome"] == "allowed");
    CHECK(request["stages"].empty());  // not given to the filter at all
    CHECK(request["body"]["params"]["arguments"]["text"] == "mail ann@example.org");
    CHECK(by_event["response 1"]["outcome"] == "modified");
    CHECK(by_event["request 2"]["stages"].empty());
    CHECK(by_event["response 2"]["stages"].empty());
}
