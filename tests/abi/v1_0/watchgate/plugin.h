/*
 * Watchgate plugin ABI. This header is the whole contract between the gateway and a plugin.
 *
 * Pure C99; includes nothing beyond <stdint.h> and <stddef.h>. Compiles as C99 and as C++17.
 *
 * Rules (docs/plugin-abi.md explains each):
 *  - A plugin exports one function, `watchgate_plugin_entry`, returning a static descriptor that
 *    starts with the ABI version and its own size. The host checks both before anything else.
 *  - Structs grow only at the end and carry their size; a reader uses a field only when the size
 *    it was given covers it. A changed signature gets a new name (`..._v2`), the old one stays.
 *  - Host services reach the plugin only through the `wg_host_api` table passed at creation.
 *  - Ownership: every `wg_str` the host passes in is BORROWED and valid until the call returns;
 *    the plugin copies what it keeps. Everything the plugin passes to the host is copied by the
 *    host during the call. Memory is freed by the side that allocated it. No C++ types,
 *    exceptions or allocators cross this boundary.
 *  - Lifetimes: module (once per loaded file), instance (one per YAML plugin entry) and request
 *    context (one per client request per instance), each a create/destroy pair.
 *  - Threads: written on every function below as "Thread:".
 *  - Errors are values: `wg_status` codes plus messages handed to the host.
 */
#ifndef WATCHGATE_PLUGIN_H
#define WATCHGATE_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------------------------------------
 * Versioning. Same major: compatible. The host refuses a plugin of another major, or one built
 * against a newer minor than its own (it may use fields the host does not have).
 * ------------------------------------------------------------------------------------------- */
#define WG_ABI_VERSION_MAJOR 1
#define WG_ABI_VERSION_MINOR 0

/* The one symbol a plugin exports. */
#define WG_PLUGIN_ENTRY_SYMBOL "watchgate_plugin_entry"

#if defined(_WIN32)
#define WG_PLUGIN_EXPORT __declspec(dllexport)
#else
#define WG_PLUGIN_EXPORT __attribute__((visibility("default")))
#endif

/* A UTF-8 string view: `data` need not be NUL-terminated. An empty view may have data == NULL. */
typedef struct wg_str {
    const char* data;
    size_t size;
} wg_str;

/* Status codes returned by hooks and host functions. */
typedef int32_t wg_status;
#define WG_OK 0
#define WG_ERROR 1                /* generic failure; a message explains it */
#define WG_ERR_NOT_FOUND 2        /* no value at that JSON pointer / no such extension */
#define WG_ERR_INVALID_ARGUMENT 3 /* malformed JSON pointer, wrong value type, bad UTF-8 */
#define WG_ERR_INVALID_JSON 4     /* JSON text given to the host does not parse */
#define WG_ERR_NOT_PERMITTED 5    /* e.g. a middleware plugin tried to block */
#define WG_ERR_STOPPED 6          /* a visitor asked to stop early */

/* Plugin kinds: a bit set in the descriptor; one kind per YAML placement. */
#define WG_KIND_SECURITY 0x1u
#define WG_KIND_MIDDLEWARE 0x2u
#define WG_KIND_AUDITING 0x4u

/* Descriptor flags. */
/* The instance may be entered concurrently for different requests. Without it, the host
 * serializes every call into one instance. */
#define WG_PLUGIN_THREAD_SAFE 0x1u
/* The plugin works on one upstream's names (allow-lists, renames): the host refuses it under
 * `_global`. A host that does not know a flag refuses nothing for it (flags only add checks). */
#define WG_PLUGIN_UPSTREAM_ONLY 0x2u

/* Log levels for wg_host_api.log. */
typedef int32_t wg_log_level;
#define WG_LOG_TRACE 0
#define WG_LOG_DEBUG 1
#define WG_LOG_INFO 2
#define WG_LOG_WARN 3
#define WG_LOG_ERROR 4

/* Message kinds. */
typedef int32_t wg_message_kind;
#define WG_MESSAGE_REQUEST 1
#define WG_MESSAGE_RESPONSE 2 /* a result or an error answering a request */
#define WG_MESSAGE_NOTIFICATION 3

/* Flags for wg_host_api.visit_strings. */
#define WG_VISIT_KEYS 0x1u /* also visit object member names (value = the key, pointer = its member) */

/* JSON-RPC error code the host uses for a block that named no code. */
#define WG_DEFAULT_BLOCK_CODE (-32000)

/* Opaque host-side handles. Never dereferenced by the plugin. */
typedef struct wg_host wg_host;       /* one per plugin instance */
typedef struct wg_message wg_message; /* one message during one hook call */
typedef struct wg_config wg_config;   /* the config during instance creation */

/* Visitor for visit_strings. `pointer` is the RFC 6901 JSON pointer of the value (or of the
 * member, for keys), `value` the decoded UTF-8 string; both borrowed for this call only.
 * Return 0 to continue, non-zero to stop early. Thread: the calling hook's thread. */
typedef int (*wg_string_visitor)(void* user, wg_str pointer, wg_str value, int is_key);

/* ---------------------------------------------------------------------------------------------
 * Host services. The table is owned by the host and valid for the instance's whole life.
 * Check `struct_size` before using a field added after 1.0 (none yet).
 * Unless noted, every function may be called from any thread that is inside a hook of the
 * instance the `wg_host` belongs to, and message functions only during the hook that received
 * the `wg_message`.
 * ------------------------------------------------------------------------------------------- */
typedef struct wg_host_api {
    uint32_t struct_size;
    uint32_t abi_major;
    uint32_t abi_minor;
    wg_str host_version; /* static, e.g. "0.1.0" */

    /* Logging. The host tags the line with the plugin name. Thread: any thread, any time
     * between instance create and destroy (inclusive). */
    void (*log)(wg_host* host, wg_log_level level, wg_str text);
    int (*log_enabled)(wg_host* host, wg_log_level level);

    /* Message access. Every returned wg_str is owned by the host and valid until the hook
     * returns. Absent fields come back empty. */
    wg_message_kind (*message_kind)(wg_message* message);
    wg_str (*message_method)(wg_message* message);   /* for a response: the request's method */
    wg_str (*message_id)(wg_message* message);       /* JSON text of the id ("7", "\"a\""), or empty */
    wg_str (*message_upstream)(wg_message* message); /* the upstream this message belongs to */
    /* The tool, prompt or resource the request names: params.name of tools/call and
     * prompts/get, params.uri of the resources/ methods; for a response, that of its request. */
    wg_str (*message_target)(wg_message* message);

    /* JSON pointer access (RFC 6901; "" is the whole message). `get` returns the value as
     * JSON text in *out. `set` parses `json` and stores it (creating the last member or array
     * element "-"); `remove` deletes a member or element. */
    wg_status (*get)(wg_message* message, wg_str pointer, wg_str* out);
    wg_status (*set)(wg_message* message, wg_str pointer, wg_str json);
    wg_status (*remove)(wg_message* message, wg_str pointer);
    /* Calls `visitor` for every string value below `pointer`, in document order. Returns
     * WG_ERR_STOPPED when the visitor stopped early. Changes from inside the visitor are refused
     * (WG_ERR_NOT_PERMITTED): collect pointers and replace afterwards. */
    wg_status (*visit_strings)(wg_message* message, wg_str pointer, uint32_t flags, wg_string_visitor visitor,
                               void* user);
    /* Replaces the string at `pointer` (which must hold a string) with `value` (UTF-8). */
    wg_status (*replace_string)(wg_message* message, wg_str pointer, wg_str value);
    /* The whole message as compact JSON text, with every change made so far. */
    wg_status (*serialize)(wg_message* message, wg_str* out);

    /* Verdicts. `block` (security plugins only) stops the pipeline; the client receives a
     * JSON-RPC error with `code` (0 = WG_DEFAULT_BLOCK_CODE), `reason` as message and `data`
     * (JSON text, may be empty). `complete` (middleware plugins only, request phase) answers the
     * request with `response_json`, a JSON-RPC response object or a bare result object. Either
     * returns WG_ERR_NOT_PERMITTED when the plugin's kind may not use it. */
    wg_status (*block)(wg_message* message, wg_str reason, int32_t code, wg_str data_json);
    wg_status (*complete)(wg_message* message, wg_str response_json);
    /* Attaches a JSON value to this stage's audit record (merged when called twice). */
    wg_status (*add_metadata)(wg_message* message, wg_str json);
    /* Explains a hook's WG_ERROR return; the last message wins. */
    void (*set_error)(wg_message* message, wg_str text);

    /* Extensions by string id, e.g. "watchgate.metrics/1". Returns a host-owned table valid for
     * the instance's life, or NULL when the host has none. Thread: any. */
    const void* (*get_extension)(wg_host* host, const char* id);

    /* Configuration access during instance_create, for plugins without a JSON parser (the C++
     * layer parses the JSON text itself). Pointers are RFC 6901, relative to the plugin's
     * `config:` mapping; returned views are valid until instance_create returns.
     * Thread: the control thread, inside instance_create only. */
    wg_status (*config_get)(wg_config* config, wg_str pointer, wg_str* out);
    wg_status (*config_visit_strings)(wg_config* config, wg_str pointer, uint32_t flags, wg_string_visitor visitor,
                                      void* user);
    /* Reports one configuration error: where (a JSON pointer) and what. The host maps the pointer
     * to the YAML line and column, and reports every error of every plugin together. */
    void (*config_error)(wg_config* config, wg_str pointer, wg_str text);
} wg_host_api;

/* ---------------------------------------------------------------------------------------------
 * Audit events, read-only, handed to auditing plugins. Everything is borrowed for the call.
 * ------------------------------------------------------------------------------------------- */
typedef int32_t wg_outcome;
#define WG_OUTCOME_ALLOWED 0   /* passed unchanged */
#define WG_OUTCOME_MODIFIED 1  /* passed with changes (a security plugin's change = redaction) */
#define WG_OUTCOME_BLOCKED 2   /* stopped by a security plugin */
#define WG_OUTCOME_COMPLETED 3 /* answered by a middleware plugin */
#define WG_OUTCOME_ERROR 4     /* a critical plugin failed: fail closed */
#define WG_OUTCOME_SKIPPED 5   /* stage only: non-critical plugin failed and was skipped */

typedef struct wg_audit_stage {
    uint32_t struct_size;
    wg_str plugin; /* handler name */
    wg_outcome outcome;
    wg_str reason; /* block reason or error text; may be empty */
    uint64_t duration_ns;
    wg_str metadata; /* JSON text attached by the plugin; may be empty */
} wg_audit_stage;

typedef struct wg_audit_event {
    uint32_t struct_size;
    wg_message_kind kind;
    int64_t time_unix_us; /* UTC, when the event was produced */
    wg_str request_id;    /* JSON text of the client's request id; empty for notifications */
    wg_str upstream;
    wg_str method;
    wg_str target; /* tool / prompt / resource */
    wg_outcome outcome;
    wg_str reason; /* joined "[plugin] reason | [plugin] reason" */
    const wg_audit_stage* stages;
    size_t stage_count;
    uint64_t duration_ns; /* request to response, for responses; 0 otherwise */
    int32_t error_code;   /* JSON-RPC error code carried by the message or the verdict, 0 if none */
    int content_cleared;  /* 1 when a security plugin blocked or redacted: body is empty */
    wg_str body;          /* the message as JSON text, empty when content_cleared */
} wg_audit_event;

/* ---------------------------------------------------------------------------------------------
 * The descriptor. Static storage in the plugin, valid while the module is loaded.
 * Function pointers marked optional may be NULL.
 * ------------------------------------------------------------------------------------------- */
typedef struct wg_plugin_descriptor {
    uint32_t abi_major;        /* WG_ABI_VERSION_MAJOR the plugin was built with */
    uint32_t abi_minor;        /* WG_ABI_VERSION_MINOR the plugin was built with */
    uint32_t struct_size;      /* sizeof(wg_plugin_descriptor) as the plugin knows it */
    uint32_t kinds;            /* WG_KIND_* bits */
    uint32_t flags;            /* WG_PLUGIN_* bits */
    const char* name;          /* handler name, [a-z][a-z0-9_]*, NUL-terminated */
    const char* version;       /* the plugin's own version */
    const char* description;   /* one line */
    const char* config_schema; /* JSON Schema of the `config:` mapping, or NULL */

    /* Module lifetime (optional pair). Called once after the file is loaded / before it is
     * unloaded. Thread: control thread. */
    wg_status (*module_load)(void** module_state);
    void (*module_unload)(void* module_state);

    /* Instance lifetime. `config_json` is the plugin's `config:` mapping (a JSON object) without
     * the host's own keys (enabled, priority, critical); `config` reads the same through the host.
     * On invalid config, report each problem with host_api->config_error and return WG_ERROR. `host` and `host_api`
     * stay valid until instance_destroy returns. Thread: control thread. */
    wg_status (*instance_create)(const wg_host_api* host_api, wg_host* host, void* module_state, wg_str config_json,
                                 wg_config* config, void** instance);
    void (*instance_destroy)(void* instance);

    /* Request context (optional pair): per-request state. begin is called before the first hook
     * of a client request, with the request message; end after its last hook (response phase,
     * audit, and notifications tied to it). The state returned by begin is passed to every hook
     * of that request and of no other. Hooks of one request context are never concurrent.
     * The request is read-only in request_begin: changes and verdicts return WG_ERR_NOT_PERMITTED.
     * Thread: any pool thread; see WG_PLUGIN_THREAD_SAFE. */
    wg_status (*request_begin)(void* instance, wg_message* request, void** request_state);
    void (*request_end)(void* instance, void* request_state);

    /* Security / middleware hooks (optional). `request_state` is NULL for a notification not tied
     * to a request. Return WG_OK to let the message continue (changed or not, or with a verdict
     * set through block/complete), WG_ERROR to report a failure (explained with set_error).
     * Thread: any pool thread; see WG_PLUGIN_THREAD_SAFE. */
    wg_status (*on_request)(void* instance, void* request_state, wg_message* message);
    wg_status (*on_response)(void* instance, void* request_state, wg_message* message);
    wg_status (*on_notification)(void* instance, void* request_state, wg_message* message);

    /* Auditing hook (optional). The event and everything it points to is borrowed for the call.
     * Thread: any pool thread; see WG_PLUGIN_THREAD_SAFE. */
    wg_status (*on_audit)(void* instance, void* request_state, const wg_audit_event* event);
} wg_plugin_descriptor;

/* The entry point every plugin exports. Thread: control thread; may be called more than once and
 * must return the same descriptor. */
typedef const wg_plugin_descriptor* (*wg_plugin_entry_fn)(void);

/* The entry point's prototype (so -Wmissing-prototypes builds stay quiet). */
WG_PLUGIN_EXPORT const wg_plugin_descriptor* watchgate_plugin_entry(void);

/* Declares the entry point with the right linkage and visibility:
 *     WG_PLUGIN_ENTRY { return &my_descriptor; }  */
#ifdef __cplusplus
#define WG_PLUGIN_ENTRY extern "C" WG_PLUGIN_EXPORT const wg_plugin_descriptor* watchgate_plugin_entry(void)
#else
#define WG_PLUGIN_ENTRY WG_PLUGIN_EXPORT const wg_plugin_descriptor* watchgate_plugin_entry(void)
#endif

/* Builds a wg_str from a string literal: WG_STR in expressions, WG_STR_INIT in static initializers. */
#define WG_STR(literal) wg_str_make((literal), sizeof(literal) - 1)
#define WG_STR_INIT(literal) {(literal), sizeof(literal) - 1}

static inline wg_str wg_str_make(const char* data, size_t size) {
    wg_str view;
    view.data = data;
    view.size = size;
    return view;
}

#ifdef __cplusplus
}
#endif

#endif /* WATCHGATE_PLUGIN_H */
