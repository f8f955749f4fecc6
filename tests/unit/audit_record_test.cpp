// The auditing plugins' own half of the rule that blocked or redacted content never reaches the
// trail: make_record keeps no body of a cleared event even when the host handed one over (the
// pipeline's half, an empty body, is tested in pipeline_test.cpp and audit_plugins_test.cpp).
#include <catch2/catch.hpp>

#include "audit_record.hpp"

#include <string_view>

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
