// The auditing plugins' own half of the rule that blocked or redacted content never reaches the
// trail: make_record keeps no body of a cleared event even when the host handed one over (the
// pipeline's half, an empty body, is tested in pipeline_test.cpp and audit_plugins_test.cpp).
#include <catch2/catch.hpp>

#include "audit_record.hpp"
#include "json_text.hpp"

#include <string_view>
#include <vector>

using namespace watchgate;

namespace {

wg_str str(std::string_view text) { return {text.data(), text.size()}; }

constexpr std::string_view leaking_body =
    R"({"jsonrpc":"2.0","id":1,"error":{"code":-32000,"message":"the password is hunter2"}})";

wg_audit_event response_event(bool cleared) {
    wg_audit_event event{};
    event.struct_size = sizeof(wg_audit_event);
    event.kind = WG_MESSAGE_RESPONSE;
    event.request_id = str("1");
    event.method = str("tools/call");
    event.outcome = cleared ? WG_OUTCOME_BLOCKED : WG_OUTCOME_ALLOWED;
    event.reason = str("[keyword_filter] a configured keyword was found");
    event.error_code = -32000;
    event.content_cleared = cleared ? 1 : 0;
    event.body = str(leaking_body);
    return event;
}

}  // namespace

TEST_CASE("audit record: a cleared event keeps no body and no error text from it, whatever the policy") {
    const audit::BodyPolicy every_body{true, true, true, 1 << 20};
    const wg_audit_event cleared = response_event(true);
    const audit::AuditRecord record = audit::make_record(AuditEvent(cleared), every_body);
    CHECK(record.content_cleared);
    CHECK_FALSE(record.body.has_value());
    CHECK(record.body_size == 0);
    CHECK(audit::body_text(record).empty());
    // The client got the verdict's reason; the hidden message is not taken from the body.
    CHECK(record.error_message == "[keyword_filter] a configured keyword was found");
    CHECK(record.error_message.find("hunter2") == std::string::npos);
}

TEST_CASE("audit record: the same event not cleared keeps its body and its error message") {
    const audit::BodyPolicy every_body{true, true, true, 1 << 20};
    const wg_audit_event event = response_event(false);
    const audit::AuditRecord record = audit::make_record(AuditEvent(event), every_body);
    REQUIRE(record.body.has_value());
    CHECK(*record.body == leaking_body);
    CHECK(record.error_message == "the password is hunter2");
    // And without the policy asking for responses, no body.
    const audit::AuditRecord without = audit::make_record(AuditEvent(event), audit::BodyPolicy{});
    CHECK_FALSE(without.body.has_value());
}

namespace {

// A request as an `audit_only` secrets filter leaves it: passed unchanged, with what it found.
constexpr std::string_view secret_request =
    R"({"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"save","arguments":{"note":"key AKIAIOSFODNN7EXAMPLE here","AKIAIOSFODNN7EXAMPLE":"as a key"}}})";
constexpr std::string_view secret_metadata =
    R"({"detections":[{"type":"aws_access_key","pointer":"/params/arguments/note","start":4,"end":24},)"
    R"({"type":"aws_access_key","pointer":"/params/arguments/AKIAIOSFODNN7EXAMPLE","start":0,"end":20,"key":true}],)"
    R"("detection_count":2,"action":"audit_only"})";

struct RequestEvent {
    std::vector<wg_audit_stage> stages;
    wg_audit_event event{};

    explicit RequestEvent(std::string_view metadata, std::string_view body = secret_request) {
        stages.push_back(stage("basic_secrets_filter", WG_OUTCOME_ALLOWED, metadata));
        event.struct_size = sizeof(wg_audit_event);
        event.kind = WG_MESSAGE_REQUEST;
        event.request_id = str("7");
        event.method = str("tools/call");
        event.target = str("save");
        event.body = str(body);
        refresh();
    }
    static wg_audit_stage stage(std::string_view plugin, wg_outcome outcome, std::string_view metadata = {}) {
        wg_audit_stage stage{};
        stage.struct_size = sizeof(wg_audit_stage);
        stage.plugin = str(plugin);
        stage.outcome = outcome;
        stage.metadata = str(metadata);
        return stage;
    }
    void refresh() {
        event.stages = stages.data();
        event.stage_count = stages.size();
    }
};

const audit::BodyPolicy every_body{true, true, true, 1 << 20};

}  // namespace

TEST_CASE("audit record: each stage's metadata and detections are kept and summed up") {
    const RequestEvent request(secret_metadata);
    const audit::AuditRecord record = audit::make_record(AuditEvent(request.event), every_body);
    REQUIRE(record.stages.size() == 1);
    CHECK(record.stages[0].metadata == secret_metadata);
    CHECK(record.stages[0].detection_action == "audit_only");
    REQUIRE(record.stages[0].detections.size() == 2);
    CHECK(record.stages[0].detections[1].key);
    CHECK(audit::detections_summary(record) ==
          "basic_secrets_filter:aws_access_key@/params/arguments/note,"
          "basic_secrets_filter:aws_access_key@/params/arguments/AKIAIOSFODNN7EXAMPLE");
    const std::string line = audit::record_json(record);
    CHECK(line.find(R"("metadata":{"detections":[{"type":"aws_access_key")") != std::string::npos);
    CHECK(line.find(R"("body_redacted":true)") != std::string::npos);
}

TEST_CASE("audit record: what audit_only plugins found is redacted in the body written unless turned off") {
    const RequestEvent request(secret_metadata);
    const audit::AuditRecord record = audit::make_record(AuditEvent(request.event), every_body);
    REQUIRE(record.body.has_value());
    CHECK(record.body_redacted);
    CHECK(record.body->find("AKIAIOSFODNN7EXAMPLE") == std::string::npos);
    const json::Value body = json::parse(*record.body);
    const json::Value& arguments = *body.find("params")->find("arguments");
    CHECK(arguments.find("note")->as_string() == "key [REDACTED:aws_access_key] here");
    CHECK(arguments.find("[REDACTED:aws_access_key]")->as_string() == "as a key");

    audit::BodyPolicy original = every_body;
    original.redact_detections = false;
    const audit::AuditRecord opted_out = audit::make_record(AuditEvent(request.event), original);
    REQUIRE(opted_out.body.has_value());
    CHECK(*opted_out.body == secret_request);
    CHECK_FALSE(opted_out.body_redacted);
}

TEST_CASE("audit record: a body whose detections cannot all be placed is not written at all") {
    SECTION("a later stage changed the message") {
        RequestEvent request(secret_metadata);
        request.stages.push_back(RequestEvent::stage("tool_manager", WG_OUTCOME_MODIFIED));
        request.refresh();
        const audit::AuditRecord record = audit::make_record(AuditEvent(request.event), every_body);
        CHECK(record.body_redacted);
        CHECK_FALSE(record.body.has_value());
    }
    SECTION("the plugin listed fewer than it found") {
        std::string cut(secret_metadata);
        cut.replace(cut.find("\"detection_count\":2"), 19, "\"detection_count\":150");
        const RequestEvent request(cut);
        const audit::AuditRecord record = audit::make_record(AuditEvent(request.event), every_body);
        CHECK_FALSE(record.body.has_value());
        CHECK(audit::detections_summary(record).ends_with("(+148 more)"));
    }
    SECTION("a span past its string or a pointer to nothing") {
        for (const std::string_view metadata :
             {R"({"detections":[{"type":"t","pointer":"/params/arguments/note","start":4,"end":99}],"action":"audit_only"})",
              R"({"detections":[{"type":"t","pointer":"/params/nothing","start":0,"end":1}],"action":"audit_only"})"}) {
            const RequestEvent request(metadata);
            const audit::AuditRecord record = audit::make_record(AuditEvent(request.event), every_body);
            CHECK(record.body_redacted);
            CHECK_FALSE(record.body.has_value());
        }
    }
}

TEST_CASE("audit record: an error message with an audit_only detection is written redacted") {
    constexpr std::string_view body =
        R"({"jsonrpc":"2.0","id":7,"error":{"code":-32000,"message":"bad key AKIAIOSFODNN7EXAMPLE"}})";
    RequestEvent response(
        R"({"detections":[{"type":"aws_access_key","pointer":"/error/message","start":8,"end":28}],"detection_count":1,"action":"audit_only"})",
        body);
    response.event.kind = WG_MESSAGE_RESPONSE;
    response.event.error_code = -32000;
    // Bodies not asked for: the error message is still redacted.
    const audit::AuditRecord record = audit::make_record(AuditEvent(response.event), audit::BodyPolicy{});
    CHECK(record.error_message == "bad key [REDACTED:aws_access_key]");
    CHECK_FALSE(record.body.has_value());
    CHECK_FALSE(record.body_redacted);
}
