// A plugin whose every call into the host comes from the fuzzer's input: it plays a hostile or
// careless third-party plugin against the host API (docs/reliability.md, "Fuzzing"). Written
// against the raw C ABI, so it can pass what the C++ layer would never build: invalid pointers,
// invalid JSON and UTF-8, unknown log levels and status codes, verdicts its kind may not give,
// changes from inside a visitor.
//
// The fuzz target hands the script over with watchgate_fuzz_set_script (found with dlsym); each
// hook then runs operations read from it until a "return" operation or the end of the script.
#include <watchgate/plugin.h>

#include <array>
#include <cstdint>
#include <cstring>
#include <string>

namespace {

struct Script {
    const std::uint8_t* data = nullptr;
    std::size_t size = 0;
    std::size_t position = 0;

    bool empty() const { return position >= size; }
    std::uint8_t byte() { return empty() ? 0 : data[position++]; }
    std::int32_t int32() {
        std::uint32_t value = 0;
        for (int i = 0; i < 4; ++i) value = (value << 8) | byte();
        return static_cast<std::int32_t>(value);
    }
    // Up to 255 raw bytes of the script.
    wg_str bytes() {
        std::size_t length = byte();
        if (length > size - position) length = size - position;
        wg_str view{reinterpret_cast<const char*>(data + position), length};
        position += length;
        return view;
    }
};

Script script;
const wg_host_api* api = nullptr;

// Values a plugin plausibly passes, and edge cases: the host's own envelope, arrays, escapes.
constexpr std::array pointers{
    "",
    "/id",
    "/jsonrpc",
    "/method",
    "/params",
    "/result",
    "/error",
    "/error/code",
    "/error/message",
    "/params/name",
    "/-",
    "/params/-",
    "/params/arguments",
    "/params/arguments/text",
    "/params/arguments/-",
    "/result/content",
    "/result/content/0",
    "/result/content/0/text",
    "/result/content/-",
    "/params/arguments/0",
    "/~",
    "/a~1b/~0",
    "//",
    "/params/arguments/01",
    "/result/content/18446744073709551616",
    "params",
    "/params/_meta/progressToken",
};
constexpr std::array json_texts{
    "\"x\"",
    "5",
    "null",
    "{}",
    "[]",
    "{\"a\":[1,2,{\"b\":\"c\"}]}",
    "\"AKIAIOSFODNN7EXAMPLE\"",
    "1e400",
    "-0",
    "\"\\ud800\"",
    "{\"jsonrpc\":\"2.0\",\"id\":9,\"result\":{}}",
    "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":1}}",
    "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]"
    "]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]",
    "",
    " ",
    "\"a\" \"b\"",
    "{\"a\":1,\"a\":2}",
};

wg_str text(const char* literal) { return wg_str{literal, std::strlen(literal)}; }

// Half the time a value from the table, otherwise raw bytes from the script.
template <std::size_t N>
wg_str choose(const std::array<const char*, N>& table) {
    const std::uint8_t pick = script.byte();
    if (pick < 128) return text(table[pick % N]);
    return script.bytes();
}
wg_str pointer() { return choose(pointers); }
wg_str json_text() { return choose(json_texts); }

// Reads every byte of a view the host returned, so the sanitizer checks it is really there.
std::uint32_t touch(wg_str view) {
    std::uint32_t sum = 0;
    for (std::size_t i = 0; i < view.size; ++i) sum += static_cast<unsigned char>(view.data[i]);
    return sum;
}

volatile std::uint32_t sink;  // keeps the reads of touch()

int visitor(void* user, wg_str at, wg_str value, int /*is_key*/) {
    sink = sink + touch(at) + touch(value);
    auto* message = static_cast<wg_message*>(user);
    const std::uint8_t what = script.byte();
    if (what % 4 == 0) return 1;  // stop early
    if (what % 4 == 1 && message) {
        // Changes and nested visits from inside a visitor: the host must refuse them.
        if (api->set(message, at, text("\"changed\"")) != WG_ERR_NOT_PERMITTED) __builtin_trap();
        if (api->replace_string(message, at, text("changed")) != WG_ERR_NOT_PERMITTED) __builtin_trap();
        if (api->visit_strings(message, at, 0, visitor, message) != WG_ERR_NOT_PERMITTED) __builtin_trap();
    }
    return 0;
}

wg_status run_operations(wg_host* host, wg_message* message) {
    for (int count = 0; count < 32 && !script.empty(); ++count) {
        wg_str out{};
        switch (script.byte() % 16) {
            case 0:
                if (api->get(message, pointer(), &out) == WG_OK) sink = touch(out);
                break;
            case 1: {
                const wg_str at = pointer();
                api->set(message, at, json_text());
                break;
            }
            case 2:
                api->remove(message, pointer());
                break;
            case 3: {
                const wg_str at = pointer();
                api->visit_strings(message, at, script.byte() & 1 ? WG_VISIT_KEYS : 0u, visitor, message);
                break;
            }
            case 4: {
                const wg_str at = pointer();
                api->replace_string(message, at, script.bytes());
                break;
            }
            case 5:
                if (api->serialize(message, &out) == WG_OK) sink = touch(out);
                break;
            case 6: {
                const wg_str reason = script.bytes();
                const std::int32_t code = script.int32();
                api->block(message, reason, code, json_text());
                break;
            }
            case 7:
                api->complete(message, json_text());
                break;
            case 8:
                api->add_metadata(message, json_text());
                break;
            case 9:
                api->set_error(message, script.bytes());
                break;
            case 10:
                sink = static_cast<std::uint32_t>(api->message_kind(message)) + touch(api->message_method(message)) +
                       touch(api->message_id(message)) + touch(api->message_upstream(message)) +
                       touch(api->message_target(message));
                break;
            case 11: {
                const wg_str id = script.bytes();
                const std::string terminated(id.data ? id.data : "", id.size);
                sink = api->get_extension(host, terminated.c_str()) != nullptr;
                break;
            }
            case 12: {
                const std::int32_t level = script.int32();
                api->log(host, level, script.bytes());
                break;
            }
            case 13:
                sink = static_cast<std::uint32_t>(api->log_enabled(host, script.int32()));
                break;
            case 14:
                sink = touch(api->config_folder(host));
                break;
            case 15: {
                // Return now, with a status of the script's choosing (mostly OK or ERROR).
                const std::uint8_t status = script.byte();
                return status < 128 ? WG_OK : status < 240 ? WG_ERROR : script.int32();
            }
        }
    }
    return WG_OK;
}

struct Instance {
    wg_host* host;
};

wg_status instance_create(const wg_host_api* host_api, wg_host* host, void*, wg_str config_json, wg_config* config,
                          void** instance) {
    api = host_api;
    sink = touch(config_json);
    // The configuration API, with the same kind of arguments as the message API.
    for (int count = 0; count < 8 && !script.empty(); ++count) {
        wg_str out{};
        switch (script.byte() % 3) {
            case 0:
                if (api->config_get(config, pointer(), &out) == WG_OK) sink = touch(out);
                break;
            case 1: {
                const wg_str at = pointer();
                api->config_visit_strings(config, at, script.byte() & 1 ? WG_VISIT_KEYS : 0u, visitor, nullptr);
                break;
            }
            case 2: {
                const wg_str at = pointer();
                api->config_error(config, at, script.bytes());
                break;
            }
        }
    }
    *instance = new Instance{host};
    return WG_OK;
}

void instance_destroy(void* instance) { delete static_cast<Instance*>(instance); }

wg_status request_begin(void* instance, wg_message* request, void** request_state) {
    const wg_status status = run_operations(static_cast<Instance*>(instance)->host, request);
    // After a failed begin the host calls no request_end: only a started request holds state.
    if (status == WG_OK) *request_state = new std::uint8_t(1);
    return status;
}

void request_end(void*, void* request_state) { delete static_cast<std::uint8_t*>(request_state); }

wg_status on_message(void* instance, void* request_state, wg_message* message) {
    if (request_state) sink = *static_cast<std::uint8_t*>(request_state);
    return run_operations(static_cast<Instance*>(instance)->host, message);
}

wg_status on_audit(void*, void* request_state, const wg_audit_event* event) {
    if (request_state) sink = *static_cast<std::uint8_t*>(request_state);
    std::uint32_t sum = touch(event->request_id) + touch(event->upstream) + touch(event->method) +
                        touch(event->target) + touch(event->reason) + touch(event->body);
    for (std::size_t i = 0; i < event->stage_count; ++i)
        sum += touch(event->stages[i].plugin) + touch(event->stages[i].reason) + touch(event->stages[i].metadata);
    sink = sum;
    const std::uint8_t status = script.byte();
    return status < 200 ? WG_OK : WG_ERROR;
}

const wg_plugin_descriptor descriptor = [] {
    wg_plugin_descriptor d{};
    d.abi_major = WG_ABI_VERSION_MAJOR;
    d.abi_minor = WG_ABI_VERSION_MINOR;
    d.struct_size = sizeof(wg_plugin_descriptor);
    d.kinds = WG_KIND_SECURITY | WG_KIND_MIDDLEWARE | WG_KIND_AUDITING;
    d.flags = 0;
    d.name = "fuzz_host_api";
    d.version = "1.0.0";
    d.description = "Calls the host API as the fuzzer's input says";
    d.instance_create = instance_create;
    d.instance_destroy = instance_destroy;
    d.request_begin = request_begin;
    d.request_end = request_end;
    d.on_request = on_message;
    d.on_response = on_message;
    d.on_notification = on_message;
    d.on_audit = on_audit;
    return d;
}();

}  // namespace

extern "C" WG_PLUGIN_EXPORT void watchgate_fuzz_set_script(const std::uint8_t* data, std::size_t size) {
    script = Script{data, size, 0};
}

WG_PLUGIN_ENTRY { return &descriptor; }
