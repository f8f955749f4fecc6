#pragma once
// One JSON-RPC message, parsed once. Keeps the bytes that arrived so an unchanged message is
// forwarded exactly as received; any change bumps the revision and switches to re-serializing.

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace watchgate::core {

enum class MessageKind { request = 1, response = 2, notification = 3 };

// Deeper nesting is refused at parse time: copies, dumps and destruction of JSON values recurse.
inline constexpr int max_json_depth = 512;

// Why a line is not a JSON-RPC message, with the JSON-RPC error code to answer it with.
struct MessageError {
    int code;  // -32700 parse error, -32600 invalid request
    std::string message;
    nlohmann::json id;  // the id when it could be read, else null
    // False when the line was a request or notification (it has a "method"): its id is then the
    // sender's own, not one of the answers the receiver waits for.
    bool maybe_response = true;
};

class Message {
public:
    // Parses one JSON-RPC 2.0 message. `upstream` is the upstream it belongs to (may be empty).
    static std::variant<Message, MessageError> parse(std::string raw, std::string upstream = {});
    // Wraps an already built message (for responses the gateway creates itself).
    static Message from_json(nlohmann::json value, std::string upstream = {});

    MessageKind kind() const { return kind_; }
    const std::string& method() const { return method_; }
    const std::string& upstream() const { return upstream_; }
    // The tool / prompt / resource named by the request (for responses: by their request).
    const std::string& target() const { return target_; }
    // The id as JSON text ("7", "\"a\""), empty for notifications.
    const std::string& id_text() const { return id_text_; }
    nlohmann::json id() const;

    // The era the message belongs to: a request (and a notification) declaring its version in
    // _meta is of the stateless era; a response takes its request's.
    bool stateless() const { return stateless_; }
    void set_stateless(bool stateless) { stateless_ = stateless; }
    // Responses carry no method: the gateway copies method, target and era from their request.
    void set_request_context(std::string method, std::string target, bool stateless = false);
    void set_upstream(std::string upstream) { upstream_ = std::move(upstream); }
    // Re-reads method and target after a plugin changed a request or notification.
    void refresh_request_fields();

    const nlohmann::json& json() const { return json_; }
    // Gives the message another id (upstream-local ids, the client's id restored). Not a plugin
    // change: an otherwise unchanged message is still forwarded as its own bytes, with only the
    // id's bytes replaced.
    void set_id(const nlohmann::json& id);

    // Mutable access counts as a change.
    nlohmann::json& mutable_json() {
        ++revision_;
        return json_;
    }
    void replace(nlohmann::json value);
    // Puts back an earlier state (an undone plugin stage): the value and its revision.
    void restore(nlohmann::json value, std::uint64_t revision);
    std::uint64_t revision() const { return revision_; }
    bool modified() const { return revision_ != 0; }

    // After a plugin changed it: why the message is no longer a valid JSON-RPC message of the
    // kind it was, or empty when it still is one.
    std::string problem_after_change() const;

    // The bytes that arrived when unchanged, else compact JSON (invalid UTF-8 replaced).
    std::string serialize() const;

private:
    Message() = default;
    void classify();

    std::string raw_;
    nlohmann::json json_;
    MessageKind kind_ = MessageKind::notification;
    std::string method_;
    std::string upstream_;
    std::string target_;
    std::string id_text_;
    std::uint64_t revision_ = 0;
    bool stateless_ = false;
};

// Why `json` is not a JSON-RPC 2.0 message (a request, notification or response), or empty when
// it is one. Batches are not messages.
std::string envelope_problem(const nlohmann::json& json);

// The member `key` of `object`, or null when `object` is not an object or lacks it. Unlike const
// operator[], never asserts: messages come from clients and upstreams.
const nlohmann::json& member(const nlohmann::json& object, std::string_view key);

// Whether `json_text` nests arrays/objects at most max_json_depth deep.
bool within_depth_limit(std::string_view json_text);

// The id of a line that is not a usable message, when it can still be read: a string or integer
// (an integral float is taken as the integer) in a top-level "id" member of the text before any
// NUL byte. Null when there is none or it cannot be told apart from other members.
nlohmann::json recover_id(std::string_view text);
// The same for the last bytes of a line too long to keep: the id when the line ends with a
// top-level `"id": <value>` member (as serializers that write the id last do).
nlohmann::json recover_id_at_end(std::string_view tail);

// Compact JSON text; never throws on invalid UTF-8 (it is replaced with U+FFFD).
std::string dump_json(const nlohmann::json& value);

// A JSON-RPC error response.
nlohmann::json make_error_response(const nlohmann::json& id, int code, std::string_view message,
                                   const nlohmann::json& data = nullptr);
// The same as a Message (what the session and the dispatcher answer with).
Message make_error_message(const nlohmann::json& id, int code, std::string_view message);

}  // namespace watchgate::core
