#include <watchgate/core/protocol/error_codes.hpp>
#include <watchgate/core/protocol/message.hpp>

#include <watchgate/core/protocol/stateless_meta.hpp>
#include <watchgate/core/protocol/methods.hpp>

#include <cctype>
#include <cmath>

namespace watchgate::core {

namespace {

bool is_valid_id(const nlohmann::json& id) {
    return id.is_string() || id.is_number_integer() || id.is_number_unsigned();
}

// The deepest array/object nesting of `text`, stopping once past `limit`. One linear pass.
int nesting_depth(std::string_view text, int limit) {
    int depth = 0, deepest = 0;
    bool in_string = false;
    for (std::size_t i = 0; i < text.size(); ++i) {
        char c = text[i];
        if (in_string) {
            if (c == '\\')
                ++i;
            else if (c == '"')
                in_string = false;
        } else if (c == '"') {
            in_string = true;
        } else if (c == '[' || c == '{') {
            if (++depth > deepest && (deepest = depth) > limit) return deepest;
        } else if (c == ']' || c == '}') {
            --depth;
        }
    }
    return deepest;
}

// The byte range of the top-level "id" member's value in `text` (a JSON object), or npos.
std::pair<std::size_t, std::size_t> top_level_id_span(std::string_view text) {
    constexpr auto none = std::make_pair(std::string_view::npos, std::string_view::npos);
    auto skip_space = [&](std::size_t at) {
        while (at < text.size() && (text[at] == ' ' || text[at] == '\t' || text[at] == '\n' || text[at] == '\r')) ++at;
        return at;
    };
    // The index of the quote closing the string that opens at `at`, or npos.
    auto string_end = [&](std::size_t at) {
        for (++at; at < text.size(); ++at) {
            if (text[at] == '\\')
                ++at;
            else if (text[at] == '"')
                return at;
        }
        return std::string_view::npos;
    };
    // Every top-level key is checked: a second "id", or a key written with escapes (which could
    // spell "id"), means the bytes are ambiguous and the caller re-serializes instead.
    auto found = none;
    int depth = 0;
    bool expect_key = false;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (c == '"') {
            const std::size_t start = i;
            i = string_end(i);
            // Cut off inside a string (the kept head of a line too long to keep): what was found
            // before stands.
            if (i == std::string_view::npos) return found;
            const bool key = depth == 1 && expect_key;
            if (key && text.substr(start, i - start + 1).find('\\') != std::string_view::npos) return none;
            if (key && text.substr(start, i - start + 1) == "\"id\"") {
                if (found.first != std::string_view::npos) return none;
                std::size_t value = skip_space(i + 1);
                if (value >= text.size() || text[value] != ':') return none;
                value = skip_space(value + 1);
                if (value >= text.size()) return none;
                std::size_t end = value;
                if (text[end] == '"') {
                    end = string_end(end);
                    if (end == std::string_view::npos) return none;
                    ++end;
                } else {
                    while (end < text.size() && text[end] != ',' && text[end] != '}' && text[end] != ' ' &&
                           text[end] != '\t' && text[end] != '\n' && text[end] != '\r')
                        ++end;
                }
                found = {value, end};
                i = end - 1;
                expect_key = false;
                continue;
            }
            expect_key = false;
        } else if (c == '{') {
            ++depth;
            expect_key = depth == 1;
        } else if (c == '[') {
            ++depth;
        } else if (c == '}' || c == ']') {
            --depth;
        } else if (c == ',' && depth == 1) {
            expect_key = true;
        }
    }
    return found;
}

// A recovered id as the gateway uses ids: a string or an integer; an integral float (an upstream
// that turned our integer into a double) as that integer.
nlohmann::json usable_id(const nlohmann::json& id) {
    if (is_valid_id(id)) return id;
    if (id.is_number_float()) {
        const double value = id.get<double>();
        if (std::isfinite(value) && value == std::floor(value) && std::fabs(value) < 9.0e15)
            return static_cast<std::int64_t>(value);
    }
    return nullptr;
}

}  // namespace

nlohmann::json recover_id(std::string_view text) {
    if (const auto nul = text.find('\0'); nul != std::string_view::npos) text = text.substr(0, nul);
    const auto [begin, end] = top_level_id_span(text);
    // The value must be followed by something: a number cut off at the end is not the id.
    if (begin == std::string_view::npos || end >= text.size()) return nullptr;
    auto id = nlohmann::json::parse(text.substr(begin, end - begin), nullptr, false);
    return id.is_discarded() ? nlohmann::json(nullptr) : usable_id(id);
}

nlohmann::json recover_id_at_end(std::string_view tail) {
    auto is_space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
    auto trim_end = [&](std::string_view& s) {
        while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
    };
    // The line's last '}' closes the top-level object, so a member right before it is top-level.
    trim_end(tail);
    if (tail.empty() || tail.back() != '}') return nullptr;
    tail.remove_suffix(1);
    trim_end(tail);
    std::size_t value_begin = tail.size();
    if (!tail.empty() && tail.back() == '"') {
        const auto open = tail.rfind('"', tail.size() - 2);
        if (open == std::string_view::npos || open + 1 >= tail.size()) return nullptr;
        if (tail.substr(open, tail.size() - open).find('\\') != std::string_view::npos) return nullptr;
        value_begin = open;
    } else {
        while (value_begin > 0 &&
               (std::isdigit(static_cast<unsigned char>(tail[value_begin - 1])) || tail[value_begin - 1] == '-' ||
                tail[value_begin - 1] == '.' || tail[value_begin - 1] == 'e' || tail[value_begin - 1] == 'E' ||
                tail[value_begin - 1] == '+'))
            --value_begin;
    }
    if (value_begin == tail.size()) return nullptr;
    const std::string_view value = tail.substr(value_begin);
    std::string_view before = tail.substr(0, value_begin);
    trim_end(before);
    if (before.empty() || before.back() != ':') return nullptr;
    before.remove_suffix(1);
    trim_end(before);
    if (!before.ends_with("\"id\"")) return nullptr;
    before.remove_suffix(4);
    trim_end(before);
    if (before.empty() || (before.back() != ',' && before.back() != '{')) return nullptr;
    auto id = nlohmann::json::parse(value, nullptr, false);
    return id.is_discarded() ? nlohmann::json(nullptr) : usable_id(id);
}

const nlohmann::json& member(const nlohmann::json& object, std::string_view key) {
    static const nlohmann::json null_value;
    if (!object.is_object()) return null_value;
    auto found = object.find(key);
    return found != object.end() ? *found : null_value;
}

bool within_depth_limit(std::string_view json_text) {
    return nesting_depth(json_text, max_json_depth) <= max_json_depth;
}

std::string dump_json(const nlohmann::json& value) {
    return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

nlohmann::json make_error_response(const nlohmann::json& id, int code, std::string_view message,
                                   const nlohmann::json& data) {
    nlohmann::json error = {{"code", code}, {"message", message}};
    if (!data.is_null()) error["data"] = data;
    return {{"jsonrpc", "2.0"}, {"id", id}, {"error", std::move(error)}};
}

Message make_error_message(const nlohmann::json& id, int code, std::string_view message) {
    return Message::from_json(make_error_response(id, code, message));
}

std::string envelope_problem(const nlohmann::json& json) {
    if (!json.is_object()) return "expected a JSON object";
    auto version = json.find("jsonrpc");
    if (version == json.end() || *version != "2.0") return "\"jsonrpc\" must be \"2.0\"";
    auto id_field = json.find("id");
    if (id_field != json.end() && !is_valid_id(*id_field) && !id_field->is_null())
        return "\"id\" must be a string or an integer";
    auto method = json.find("method");
    if (method != json.end()) {
        if (!method->is_string()) return "\"method\" must be a string";
        auto params = json.find("params");
        if (params != json.end() && !params->is_object() && !params->is_array())
            return "\"params\" must be an object or an array";
        if (id_field != json.end() && id_field->is_null()) return "\"id\" of a request must not be null";
    } else {
        bool has_result = json.contains("result");
        bool has_error = json.contains("error");
        if (has_result == has_error) return "expected \"method\", or exactly one of \"result\" and \"error\"";
        if (id_field == json.end()) return "a response needs an \"id\"";
        if (has_error) {
            const auto& error = json["error"];
            if (!error.is_object() || !error.contains("code") || !error["code"].is_number_integer() ||
                !error.contains("message") || !error["message"].is_string())
                return "\"error\" must have an integer \"code\" and a string \"message\"";
        }
    }
    return {};
}

std::variant<Message, MessageError> Message::parse(std::string raw, std::string upstream) {
    // The JSON reader takes a NUL byte for the end of its input: without this check a line
    // "<valid JSON>\0<anything>" would be judged by its first part and forwarded whole. A NUL is
    // never valid JSON (not whitespace, and raw control bytes are not allowed inside strings).
    if (const auto nul = raw.find('\0'); nul != std::string::npos) {
        const auto before = nlohmann::json::parse(std::string_view(raw).substr(0, nul), nullptr, false);
        return MessageError{error_code::parse_error,
                            "Parse error: the line holds a NUL byte at offset " + std::to_string(nul) +
                                " (a line must be exactly one JSON value)",
                            recover_id(raw), !before.is_object() || !before.contains("method")};
    }
    if (!within_depth_limit(raw))
        return MessageError{error_code::invalid_request,
                            "Invalid Request: JSON nested deeper than " + std::to_string(max_json_depth) + " levels",
                            nullptr};
    Message message;
    message.json_ = nlohmann::json::parse(raw, nullptr, false);
    // The id is recovered when it can be: the sender's request still gets its one answer.
    if (message.json_.is_discarded())
        return MessageError{error_code::parse_error, "Parse error: the line is not valid JSON", recover_id(raw),
                            raw.find("\"method\"") == std::string::npos};
    const auto& json = message.json_;
    nlohmann::json id = usable_id(member(json, "id"));
    auto invalid = [&](std::string why) {
        return MessageError{error_code::invalid_request, "Invalid Request: " + std::move(why), id,
                            !json.contains("method")};
    };
    if (json.is_array()) return invalid("batches are not supported: send each JSON-RPC message on a line of its own");
    if (std::string why = envelope_problem(json); !why.empty()) return invalid(std::move(why));
    message.raw_ = std::move(raw);
    message.upstream_ = std::move(upstream);
    message.classify();
    return message;
}

Message Message::from_json(nlohmann::json value, std::string upstream) {
    Message message;
    message.json_ = std::move(value);
    message.upstream_ = std::move(upstream);
    message.classify();
    return message;
}

namespace {

// A string method makes a request (with an id) or a notification; anything else is a response.
MessageKind kind_of(const nlohmann::json& message) {
    const auto method = message.find("method");
    if (method == message.end() || !method->is_string()) return MessageKind::response;
    const auto id = message.find("id");
    return id != message.end() && !id->is_null() ? MessageKind::request : MessageKind::notification;
}

}  // namespace

void Message::classify() {
    kind_ = kind_of(json_);
    if (kind_ != MessageKind::response) {
        method_ = json_["method"].get<std::string>();
        target_ = target_of(method_, json_);
        stateless_ = !declared_protocol_version(json_).is_null();
    }
    if (auto id = json_.find("id"); id != json_.end()) id_text_ = dump_json(*id);
}

std::string Message::problem_after_change() const {
    if (std::string why = envelope_problem(json_); !why.empty()) return why;
    if (kind_of(json_) != kind_) return "a message may not change its kind";
    return {};
}

nlohmann::json Message::id() const {
    auto found = json_.find("id");
    return found != json_.end() ? *found : nlohmann::json(nullptr);
}

void Message::set_request_context(std::string method, std::string target, bool stateless) {
    method_ = std::move(method);
    target_ = std::move(target);
    stateless_ = stateless;
}

void Message::set_id(const nlohmann::json& id) {
    std::string id_text = dump_json(id);
    if (revision_ == 0 && !raw_.empty()) {
        auto [begin, end] = top_level_id_span(raw_);
        if (begin != std::string::npos)
            raw_.replace(begin, end - begin, id_text);
        else
            raw_.clear();  // cannot splice: serialize from the value instead
    }
    json_["id"] = id;
    id_text_ = std::move(id_text);
}

void Message::refresh_request_fields() {
    if (kind_ == MessageKind::response) return;
    auto method = json_.find("method");
    if (method != json_.end() && method->is_string()) method_ = method->get<std::string>();
    target_ = target_of(method_, json_);
}

void Message::replace(nlohmann::json value) {
    json_ = std::move(value);
    ++revision_;
    refresh_request_fields();
}

void Message::restore(nlohmann::json value, std::uint64_t revision) {
    json_ = std::move(value);
    revision_ = revision;
    refresh_request_fields();
}

std::string Message::serialize() const { return revision_ == 0 && !raw_.empty() ? raw_ : dump_json(json_); }

}  // namespace watchgate::core
