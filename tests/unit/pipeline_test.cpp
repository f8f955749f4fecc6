// Pipeline semantics (docs/architecture.md "The flow of one request"), one rule per test, on in-memory messages.
#include <catch2/catch.hpp>

#include "test_support.hpp"

using namespace watchgate;
using nlohmann::json;

namespace {

// The names of the plugins that tagged the message, in order.
std::vector<std::string> trace_of(const core::Message& message) {
    const auto& root = message.json().contains("params") ? message.json()["params"] : message.json()["result"];
    return root.value("trace", std::vector<std::string>{});
}

struct Run {
    core::Message message;
    core::PipelineResult result;
};

Run run_request(const std::shared_ptr<const core::Pipeline>& pipeline, int id = 1,
                const std::string& arguments = "{}") {
    auto message = test::request(id, "echo", arguments);
    auto scope = pipeline->begin_request(message);
    auto result = pipeline->process_request(*scope, message);
    return {std::move(message), std::move(result)};
}

std::vector<json> audit_records(const std::filesystem::path& file) {
    std::vector<json> records;
    std::istringstream lines(test::read_file(file));
    for (std::string line; std::getline(lines, line);) records.push_back(json::parse(line));
    return records;
}

std::string tagger(const std::string& handler, int priority, const std::string& extra = "") {
    return "      - handler: " + handler + "\n        config:\n          priority: " + std::to_string(priority) +
           "\n          request: [{op: tag}" + extra + "]\n";
}

}  // namespace

TEST_CASE("pipeline: security and middleware interleave by priority, stable for equal priorities") {
    auto host =
        test::load_host("plugins:\n  security:\n    _global:\n" + tagger("test_sec_a", 50) + tagger("test_sec_b", 10) +
                        "  middleware:\n    _global:\n" + tagger("test_mw_a", 50) + tagger("test_mw_b", 5));
    auto run = run_request(host->pipeline(""));
    CHECK(run.result.outcome == core::Outcome::modified);
    CHECK(trace_of(run.message) == std::vector<std::string>{"test_mw_b", "test_sec_b", "test_sec_a", "test_mw_a"});
}

TEST_CASE(
    "pipeline: an upstream entry replaces the global one, and enabled: false switches it off for that upstream only") {
    auto host = test::load_host(
        "proxy:\n  upstreams:\n    - {name: fs, command: [cat]}\n    - {name: web, command: [cat]}\n    - {name: db, "
        "command: [cat]}\n"
        "plugins:\n  security:\n    _global:\n" +
        tagger("test_sec_a", 10) + tagger("test_sec_b", 20) +
        "    fs:\n      - handler: test_sec_a\n        config:\n          enabled: false\n"
        "    web:\n      - handler: test_sec_b\n        config:\n          priority: 1\n"
        "          request: [{op: tag}, {op: tag}]\n");
    CHECK(trace_of(run_request(host->pipeline("fs")).message) == std::vector<std::string>{"test_sec_b"});
    CHECK(trace_of(run_request(host->pipeline("web")).message) ==
          std::vector<std::string>{"test_sec_b", "test_sec_b", "test_sec_a"});
    CHECK(trace_of(run_request(host->pipeline("db")).message) == std::vector<std::string>{"test_sec_a", "test_sec_b"});
    CHECK(trace_of(run_request(host->pipeline("")).message) == std::vector<std::string>{"test_sec_a", "test_sec_b"});
}

TEST_CASE("pipeline: a globally disabled plugin can be switched on for one upstream") {
    auto host = test::load_host(
        "proxy:\n  upstreams:\n    - {name: fs, command: [cat]}\n"
        "plugins:\n  security:\n    _global:\n      - handler: test_sec_a\n        config: {enabled: false}\n"
        "    fs:\n" +
        tagger("test_sec_a", 10));
    CHECK(host->pipeline("")->stages().empty());
    CHECK(trace_of(run_request(host->pipeline("fs")).message) == std::vector<std::string>{"test_sec_a"});
}

TEST_CASE("pipeline: a security block stops the pipeline and answers with the client's id") {
    auto host =
        test::load_host("plugins:\n  security:\n    _global:\n" +
                        tagger("test_sec_a", 10, ", {op: block, reason: no way, code: -32050, data: {rule: 7}}") +
                        tagger("test_sec_b", 20));
    auto run = run_request(host->pipeline(""), 42);
    CHECK(run.result.outcome == core::Outcome::blocked);
    CHECK_FALSE(run.result.forwards());
    REQUIRE(run.result.stages.size() == 1);  // test_sec_b never ran
    CHECK(run.result.reason == "[test_sec_a] no way");
    CHECK(
        *run.result.reply ==
        json::parse(
            R"({"jsonrpc":"2.0","id":42,"error":{"code":-32050,"message":"Request blocked: test_sec_a: no way","data":{"rule":7}}})"));
}

TEST_CASE("pipeline: block wins over modification, and audit then carries no content") {
    auto audit_file = test::scratch_dir("block_modify") / "audit.jsonl";
    auto host =
        test::load_host("plugins:\n  middleware:\n    _global:\n" + tagger("test_mw_a", 1) +
                        "  security:\n    _global:\n" + tagger("test_sec_a", 50, ", {op: block, reason: stop}") +
                        "  auditing:\n    _global:\n      - handler: test_audit_a\n        config: {audit_file: \"" +
                        audit_file.string() + "\"}\n");
    auto run = run_request(host->pipeline(""), 3, R"({"secret":"hunter2"})");
    CHECK(run.result.outcome == core::Outcome::blocked);
    CHECK(run.result.reply->contains("error"));
    CHECK(run.result.content_cleared);
    auto records = audit_records(audit_file);
    REQUIRE(records.size() == 1);
    CHECK(records[0]["outcome"] == WG_OUTCOME_BLOCKED);
    CHECK(records[0]["content_cleared"] == true);
    CHECK(records[0]["body"] == "");
    CHECK(records[0].dump().find("hunter2") == std::string::npos);
}

TEST_CASE("pipeline: middleware may not block, and the attempt is a plugin error") {
    SECTION("critical (the default): fail closed") {
        auto host = test::load_host("plugins:\n  middleware:\n    _global:\n" +
                                    tagger("test_mw_a", 10, ", {op: block, reason: nope}") + tagger("test_mw_b", 20));
        auto run = run_request(host->pipeline(""), 5);
        CHECK(run.result.outcome == core::Outcome::error);
        CHECK(run.result.stages.size() == 1);
        CHECK((*run.result.reply)["error"]["code"] == core::error_code::plugin_failed);
        CHECK((*run.result.reply)["id"] == 5);
        CHECK_THAT((*run.result.reply)["error"]["message"].get<std::string>(),
                   Catch::Contains("[test_mw_a] middleware plugins may not block"));
    }
    SECTION("non-critical: recorded, its changes undone, the rest runs") {
        auto host = test::load_host(
            "plugins:\n  middleware:\n    _global:\n      - handler: test_mw_a\n        config:\n"
            "          priority: 10\n          critical: false\n          request: [{op: tag}, {op: block, reason: "
            "nope}]\n" +
            tagger("test_mw_b", 20));
        auto run = run_request(host->pipeline(""));
        CHECK(run.result.outcome == core::Outcome::modified);
        REQUIRE(run.result.stages.size() == 2);
        CHECK(run.result.stages[0].outcome == core::Outcome::skipped);
        CHECK(run.result.reason == "[test_mw_a] middleware plugins may not block");
        CHECK(trace_of(run.message) == std::vector<std::string>{"test_mw_b"});
    }
}

TEST_CASE("pipeline: a middleware completion stops the pipeline and answers the request") {
    auto host = test::load_host("plugins:\n  middleware:\n    _global:\n" +
                                tagger("test_mw_a", 10, ", {op: complete, result: {content: [], cached: true}}") +
                                tagger("test_mw_b", 20));
    auto run = run_request(host->pipeline(""), 11);
    CHECK(run.result.outcome == core::Outcome::completed);
    CHECK_FALSE(run.result.forwards());
    CHECK(run.result.stages.size() == 1);
    CHECK(*run.result.reply == json::parse(R"({"jsonrpc":"2.0","id":11,"result":{"content":[],"cached":true}})"));
}

TEST_CASE("pipeline: security plugins may not complete requests") {
    auto host = test::load_host("plugins:\n  security:\n    _global:\n" +
                                tagger("test_sec_a", 10, ", {op: complete, result: {}}"));
    auto run = run_request(host->pipeline(""));
    CHECK(run.result.outcome == core::Outcome::error);
    CHECK_THAT(run.result.reason, Catch::Contains("security plugins may not complete requests"));
}

TEST_CASE("pipeline: a critical plugin's error fails closed, a non-critical one is skipped") {
    auto critical =
        test::load_host("plugins:\n  security:\n    _global:\n" +
                        tagger("test_sec_a", 10, ", {op: fail, message: disk on fire}") + tagger("test_sec_b", 20));
    auto run = run_request(critical->pipeline(""), 8);
    CHECK(run.result.outcome == core::Outcome::error);
    CHECK(run.result.stages.size() == 1);
    CHECK(run.result.reason == "[test_sec_a] disk on fire");
    CHECK((*run.result.reply)["error"]["code"] == -32603);

    auto relaxed = test::load_host(
        "plugins:\n  security:\n    _global:\n      - handler: test_sec_a\n        config:\n          critical: false\n"
        "          priority: 10\n          request: [{op: tag}, {op: fail, message: disk on fire}]\n" +
        tagger("test_sec_b", 20));
    run = run_request(relaxed->pipeline(""));
    CHECK(run.result.forwards());
    CHECK(run.result.stages[0].outcome == core::Outcome::skipped);
    CHECK(run.result.stages[0].reason == "disk on fire");
    CHECK(trace_of(run.message) == std::vector<std::string>{"test_sec_b"});
}

TEST_CASE("pipeline: undoing a failed stage restores the target and the original bytes") {
    auto host = test::load_host(
        "plugins:\n  middleware:\n    _global:\n      - handler: test_mw_a\n        config:\n"
        "          critical: false\n          priority: 1\n"
        "          request: [{op: replace, pointer: /params/name, value: safe_tool}, {op: fail, message: oops}]\n"
        "      - handler: test_mw_b\n        config: {priority: 2}\n");
    const std::string line = R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"rm_rf"}})";
    auto message = test::message(line);
    auto scope = host->pipeline("")->begin_request(message);
    auto result = host->pipeline("")->process_request(*scope, message);
    CHECK(result.outcome == core::Outcome::allowed);
    CHECK(message.target() == "rm_rf");
    CHECK(message.serialize() == line);
}

TEST_CASE("pipeline: a block is honoured even when the plugin then reports an error") {
    auto host = test::load_host(
        "plugins:\n  security:\n    _global:\n      - handler: test_sec_a\n        config:\n"
        "          critical: false\n          request: [{op: block, reason: stop}, {op: fail, message: late}]\n");
    auto run = run_request(host->pipeline(""));
    CHECK(run.result.outcome == core::Outcome::blocked);
    CHECK_FALSE(run.result.forwards());
}

TEST_CASE("pipeline: an exception thrown by a plugin becomes an error value") {
    auto host = test::load_host("plugins:\n  security:\n    _global:\n" +
                                tagger("test_sec_a", 10, ", {op: throw, message: out of cheese}"));
    auto run = run_request(host->pipeline(""));
    CHECK(run.result.outcome == core::Outcome::error);
    CHECK(run.result.reason == "[test_sec_a] out of cheese");
}

TEST_CASE("pipeline: reasons are joined in order") {
    auto host = test::load_host(
        "plugins:\n  security:\n    _global:\n"
        "      - handler: test_sec_a\n        config: {critical: false, priority: 1, request: [{op: fail, message: "
        "first}]}\n"
        "      - handler: test_sec_b\n        config: {priority: 2, request: [{op: block, reason: second}]}\n");
    CHECK(run_request(host->pipeline("")).result.reason == "[test_sec_a] first | [test_sec_b] second");
}

TEST_CASE("pipeline: auditors run last, see every stage, and get no content after a redaction") {
    auto dir = test::scratch_dir("audit_redaction");
    auto host = test::load_host(
        "plugins:\n  security:\n    _global:\n"
        "      - handler: test_sec_a\n        config:\n"
        "          request: [{op: replace, pointer: /params/arguments/card, value: \"[REDACTED]\"}]\n"
        "  middleware:\n    _global:\n" +
        tagger("test_mw_a", 90) +
        "  auditing:\n    _global:\n"
        "      - handler: test_audit_a\n        config: {audit_file: \"" +
        (dir / "a.jsonl").string() +
        "\"}\n"
        "      - handler: test_audit_b\n        config: {audit_file: \"" +
        (dir / "b.jsonl").string() + "\"}\n");
    auto pipeline = host->pipeline("");
    auto run = run_request(pipeline, 21, R"({"card":"4111 1111 1111 1111"})");
    CHECK(run.result.outcome == core::Outcome::modified);
    CHECK(run.message.json()["params"]["arguments"]["card"] == "[REDACTED]");
    CHECK(run.result.content_cleared);
    // Stages: the two plugins, then both auditors.
    REQUIRE(run.result.stages.size() == 4);
    CHECK(run.result.stages[2].plugin == "test_audit_a");
    CHECK(run.result.stages[3].plugin == "test_audit_b");
    for (const auto& file : {dir / "a.jsonl", dir / "b.jsonl"}) {
        auto records = audit_records(file);
        REQUIRE(records.size() == 1);
        CHECK(records[0]["content_cleared"] == true);
        CHECK(records[0]["body"] == "");
        CHECK(records[0]["id"] == "21");
        CHECK(records[0]["method"] == "tools/call");
        CHECK(records[0]["target"] == "echo");
        REQUIRE(records[0]["stages"].size() == 2);
        CHECK(records[0]["stages"][0]["plugin"] == "test_sec_a");
        CHECK(records[0]["stages"][0]["outcome"] == WG_OUTCOME_MODIFIED);
    }

    // Without a redaction, the body is there.
    auto plain = test::load_host(
        "plugins:\n  auditing:\n    _global:\n      - handler: test_audit_a\n"
        "        config: {audit_file: \"" +
        (dir / "plain.jsonl").string() + "\"}\n");
    run_request(plain->pipeline(""), 22, R"({"note":"hello"})");
    auto records = audit_records(dir / "plain.jsonl");
    REQUIRE(records.size() == 1);
    CHECK(records[0]["content_cleared"] == false);
    CHECK(json::parse(records[0]["body"].get<std::string>())["params"]["arguments"]["note"] == "hello");
}

TEST_CASE("pipeline: a critical auditor that cannot record fails the request, a non-critical one is counted") {
    auto critical = test::load_host(
        "plugins:\n  auditing:\n    _global:\n      - handler: test_audit_a\n"
        "        config: {fail_audit: true}\n");
    auto run = run_request(critical->pipeline(""), 4);
    CHECK(run.result.outcome == core::Outcome::error);
    CHECK((*run.result.reply)["error"]["code"] == core::error_code::audit_failed);

    auto relaxed = test::load_host(
        "plugins:\n  auditing:\n    _global:\n      - handler: test_audit_a\n"
        "        config: {fail_audit: true, critical: false}\n");
    run = run_request(relaxed->pipeline(""));
    CHECK(run.result.forwards());
    CHECK(run.result.stages.back().outcome == core::Outcome::skipped);
}

TEST_CASE("pipeline: a response a critical auditor cannot record is replaced by an error under its id") {
    auto host = test::load_host(
        "plugins:\n  auditing:\n    _global:\n      - handler: test_audit_a\n"
        "        config: {fail_audit_of_responses: true}\n");
    auto pipeline = host->pipeline("");
    auto request = test::request(41);
    auto scope = pipeline->begin_request(request);
    REQUIRE(pipeline->process_request(*scope, request).forwards());  // the request is recorded
    auto answer = test::response(41);
    auto result = pipeline->process_response(*scope, answer);
    CHECK(result.outcome == core::Outcome::error);
    REQUIRE(result.reply);  // what the client gets instead of the unrecorded response
    CHECK((*result.reply)["id"] == 41);
    CHECK((*result.reply)["error"]["code"] == core::error_code::audit_failed);
}

TEST_CASE("pipeline: responses and notifications run through their own hooks") {
    auto host = test::load_host(
        "plugins:\n  security:\n    _global:\n      - handler: test_sec_a\n        config:\n"
        "          response: [{op: block, reason: leaked}]\n"
        "          notification: [{op: block, reason: noisy}]\n");
    auto pipeline = host->pipeline("");
    auto request = test::request(31);
    auto scope = pipeline->begin_request(request);
    CHECK(pipeline->process_request(*scope, request).forwards());
    auto answer = test::response(31);
    auto result = pipeline->process_response(*scope, answer);
    CHECK(result.outcome == core::Outcome::blocked);
    CHECK((*result.reply)["id"] == 31);
    CHECK(answer.method() == "tools/call");  // taken from the request

    auto note = test::message(R"({"jsonrpc":"2.0","method":"notifications/message","params":{"data":"x"}})");
    auto dropped = pipeline->process_notification(nullptr, note);
    CHECK(dropped.outcome == core::Outcome::blocked);
    CHECK_FALSE(dropped.reply);  // nothing to answer: the notification is dropped
}

TEST_CASE("pipeline: the message envelope stays the host's") {
    auto host = test::load_host(
        "plugins:\n  middleware:\n    _global:\n      - handler: test_mw_a\n        config:\n"
        "          critical: false\n          request: [{op: set, pointer: /id, value: 99}]\n");
    auto run = run_request(host->pipeline(""), 1);
    CHECK(run.message.json()["id"] == 1);
    CHECK(run.result.stages[0].outcome == core::Outcome::skipped);
}

TEST_CASE("pipeline: an unchanged message is forwarded byte for byte") {
    auto host = test::load_host("plugins:\n  security:\n    _global:\n      - handler: test_sec_a\n");
    const std::string line =
        R"({"jsonrpc":"2.0",  "id":1,"method":"tools/call","params":{"name":"x","arguments":{"b":1,"a":2}}})";
    auto message = test::message(line);
    auto scope = host->pipeline("")->begin_request(message);
    auto result = host->pipeline("")->process_request(*scope, message);
    CHECK(result.outcome == core::Outcome::allowed);
    CHECK(message.serialize() == line);
}

namespace {

// A tagger that tags requests, responses and notifications, with host keys of its own.
std::string reach_tagger(const std::string& handler, const std::string& host_keys) {
    return "      - handler: " + handler + "\n        config:\n" + host_keys +
           "          request: [{op: tag}]\n          response: [{op: tag}]\n          notification: [{op: tag}]\n";
}

// Who tagged a call of `tool` on its way in, its answer, and a progress notification of it.
struct Tags {
    std::vector<std::string> request, response, progress_to_client, notice_to_upstream;
};

Tags tags_of_call(const std::shared_ptr<const core::Pipeline>& pipeline, const std::string& tool) {
    Tags tags;
    auto request = test::request(1, tool, "{}", pipeline->upstream());
    auto scope = pipeline->begin_request(request);
    pipeline->process_request(*scope, request);
    tags.request = trace_of(request);
    auto progress = test::message(R"({"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":1}})",
                                  pipeline->upstream());
    pipeline->process_notification(scope.get(), progress, core::Flow::to_client);
    tags.progress_to_client = trace_of(progress);
    auto notice = test::message(R"({"jsonrpc":"2.0","method":"notifications/roots/list_changed","params":{}})",
                                pipeline->upstream());
    pipeline->process_notification(nullptr, notice, core::Flow::to_upstream);
    tags.notice_to_upstream = trace_of(notice);
    auto response = test::response(1, R"({"content":[]})", pipeline->upstream());
    pipeline->process_response(*scope, response);
    tags.response = trace_of(response);
    return tags;
}

using Names = std::vector<std::string>;

}  // namespace

TEST_CASE("pipeline: directions and tool lists choose the messages a plugin is given") {
    auto host = test::load_host(
        "proxy:\n  upstreams:\n    - {name: fs, command: [cat]}\n    - {name: web, command: [cat]}\n"
        "plugins:\n  security:\n    _global:\n" +
        reach_tagger("test_sec_a", "          directions: [response]\n") +
        reach_tagger("test_sec_b", "          directions: [request]\n          exclude_tools: [write_file]\n") +
        "  middleware:\n    _global:\n" +
        reach_tagger("test_mw_a", "          include_tools: [fs__read_file, search]\n"));
    const auto fs = host->pipeline("fs");

    // Directions: a only what goes to the client, b only what goes to the upstream.
    const Tags read = tags_of_call(fs, "read_file");
    CHECK(read.request == Names{"test_sec_b", "test_mw_a"});
    CHECK(read.response == Names{"test_sec_a", "test_mw_a"});
    CHECK(read.progress_to_client == Names{"test_sec_a", "test_mw_a"});
    // Not a tools/call message: tool lists do not apply, directions do.
    CHECK(read.notice_to_upstream == Names{"test_sec_b", "test_mw_a"});

    // exclude_tools: b gives write_file's traffic a miss; include_tools: a's "fs__read_file" is
    // fs's read_file only, "search" any upstream's search.
    const Tags write = tags_of_call(fs, "write_file");
    CHECK(write.request.empty());
    CHECK(write.response == Names{"test_sec_a"});
    CHECK(write.progress_to_client == Names{"test_sec_a"});
    CHECK(tags_of_call(host->pipeline("web"), "read_file").request == Names{"test_sec_b"});
    CHECK(tags_of_call(host->pipeline("web"), "search").request == Names{"test_sec_b", "test_mw_a"});

    // An upstream's own request goes to the client; the client's answer to the upstream.
    auto sampling = test::message(R"({"jsonrpc":"2.0","id":5,"method":"sampling/createMessage","params":{}})", "fs");
    auto scope = fs->begin_request(sampling, core::Flow::to_client);
    fs->process_request(*scope, sampling);
    CHECK(trace_of(sampling) == Names{"test_sec_a", "test_mw_a"});
    auto answer = test::response(5, R"({"content":[]})", "fs");
    fs->process_response(*scope, answer);
    CHECK(trace_of(answer) == Names{"test_sec_b", "test_mw_a"});
}
