/* Watchgate plugin ABI: the host's services, one table per host. Part of <watchgate/plugin.h>.
 *
 * Every function carries two tags:
 *  - "Thread:" where it may be called. "Hook" means a thread that is inside a hook of the instance
 *    the handle belongs to (message functions: inside the hook that received the wg_message);
 *    "create" means inside instance_create, on the control thread.
 *  - "Memory:" who owns what crosses. Every view the plugin passes in is copied by the host during
 *    the call; every view the host returns is owned by the host, for as long as the tag says.
 */
#ifndef WATCHGATE_ABI_HOST_API_H
#define WATCHGATE_ABI_HOST_API_H

#include <stdint.h>
#include <watchgate/abi/audit.h>
#include <watchgate/abi/message.h>
#include <watchgate/abi/status.h>
#include <watchgate/abi/str.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Log levels for log and log_enabled. */
typedef int32_t wg_log_level;
#define WG_LOG_TRACE 0
#define WG_LOG_DEBUG 1
#define WG_LOG_INFO 2
#define WG_LOG_WARN 3
#define WG_LOG_ERROR 4

/* Bits of create_flags (since 1.2). */
/* The instance is created only to check its configuration (`watchgate validate`, `--validate-only`):
 * it will get no hook and is destroyed at once. Check the config fully, but open no file, create
 * no folder, connect nowhere, start no thread. */
#define WG_CREATE_VALIDATE_ONLY 0x1u

/* The table is owned by the host and valid for the instance's whole life (create to destroy).
 * A plugin uses a field added after the minor it was built for only when `struct_size` covers it;
 * a plugin built for 1.2 may use every field below (the host refuses it if older). */
typedef struct wg_host_api {
    uint32_t struct_size;
    uint32_t abi_major;
    uint32_t abi_minor;
    wg_str host_version; /* static, e.g. "0.1.0" */

    /* ---- Logging. The host tags each line with the plugin name. ---- */
    /* Thread: any, between create and destroy (inclusive). Memory: `text` copied. */
    void (*log)(wg_host* host, wg_log_level level, wg_str text);
    /* Whether `level` would be written (skip building a costly line). Thread: any, as log. */
    int (*log_enabled)(wg_host* host, wg_log_level level);

    /* ---- Message fields. Absent fields come back empty. ----
     * Thread: hook. Memory: host-owned, valid until the hook returns. */
    wg_message_kind (*message_kind)(wg_message* message);
    wg_str (*message_method)(wg_message* message);   /* for a response: the request's method */
    wg_str (*message_id)(wg_message* message);       /* JSON text of the id ("7", "\"a\""), or empty */
    wg_str (*message_upstream)(wg_message* message); /* the upstream this message belongs to */
    /* The tool, prompt or resource the request names: params.name of tools/call and
     * prompts/get, params.uri of the resources/ methods; for a response, that of its request. */
    wg_str (*message_target)(wg_message* message);

    /* ---- JSON pointer access (RFC 6901; "" is the whole message). ---- */
    /* The value at `pointer` as compact JSON text in *out.
     * Thread: hook. Memory: *out host-owned, valid until the hook returns. */
    wg_status (*get)(wg_message* message, wg_str pointer, wg_str* out);
    /* Parses `json` and stores it at `pointer` (creating the last member, or appending for the
     * array element "-"). Thread: hook. Memory: `json` copied. */
    wg_status (*set)(wg_message* message, wg_str pointer, wg_str json);
    /* Deletes a member or element. Thread: hook. */
    wg_status (*remove)(wg_message* message, wg_str pointer);
    /* Calls `visitor` for every string value at or below `pointer`: object members in order of
     * their names (byte-wise), array elements in index order, depth first. Returns WG_ERR_STOPPED
     * when the visitor stopped early. Changes from inside the visitor are refused
     * (WG_ERR_NOT_PERMITTED): collect pointers and replace afterwards.
     * Thread: hook; the visitor runs on the same thread, before this returns.
     * Memory: views given to the visitor are valid during its call only. */
    wg_status (*visit_strings)(wg_message* message, wg_str pointer, uint32_t flags, wg_string_visitor visitor,
                               void* user);
    /* Replaces the string at `pointer` (which must hold a string) with `value` (UTF-8).
     * Thread: hook. Memory: `value` copied. */
    wg_status (*replace_string)(wg_message* message, wg_str pointer, wg_str value);
    /* The whole message as compact JSON text, with every change made so far. A message no stage
     * changed is forwarded as the bytes that arrived; a changed one as this text, whose object
     * members are in order of their names. Thread: hook. Memory: *out host-owned, until the hook returns. */
    wg_status (*serialize)(wg_message* message, wg_str* out);

    /* ---- Verdicts. Each returns WG_ERR_NOT_PERMITTED when the plugin's kind may not use it. ---- */
    /* Security plugins: stops the pipeline; the client receives a JSON-RPC error with `code`
     * (0 = WG_DEFAULT_BLOCK_CODE), the message "Request blocked: <plugin>: <reason>" ("Response
     * blocked: ..." in the response phase) and `data` (JSON text, may be empty); the audit record's
     * reason reads "[<plugin>] <reason>". Thread: hook. Memory: `reason` and `data_json` copied. */
    wg_status (*block)(wg_message* message, wg_str reason, int32_t code, wg_str data_json);
    /* Middleware plugins, request phase: answers the request with `response_json`, a JSON-RPC
     * response object or a bare result object; the host sets its id. Thread: hook. Memory: copied. */
    wg_status (*complete)(wg_message* message, wg_str response_json);
    /* Attaches a JSON value to this stage's audit record (objects merged when called twice).
     * Thread: hook. Memory: copied. */
    wg_status (*add_metadata)(wg_message* message, wg_str json);
    /* Explains a hook's WG_ERROR return; the last text wins. Thread: hook. Memory: copied. */
    void (*set_error)(wg_message* message, wg_str text);

    /* Extensions by versioned string id (WG_EXT_* in <watchgate/abi/extensions.h>), or NULL when
     * the host has none by that id. Thread: any, between create and destroy. Memory: the table is
     * host-owned and valid for the instance's life; `id` is read during the call. */
    const void* (*get_extension)(wg_host* host, const char* id);

    /* ---- Configuration, for plugins without a JSON parser (the C++ layer parses the JSON text
     * itself). Pointers are RFC 6901, relative to the plugin's `config:` mapping. ---- */
    /* The value at `pointer` as JSON text (a string comes back quoted: "\"block\"").
     * Thread: create. Memory: *out host-owned, valid until instance_create returns. */
    wg_status (*config_get)(wg_config* config, wg_str pointer, wg_str* out);
    /* As visit_strings, over the config. Thread: create. Memory: as visit_strings. */
    wg_status (*config_visit_strings)(wg_config* config, wg_str pointer, uint32_t flags, wg_string_visitor visitor,
                                      void* user);
    /* Reports one configuration error: where (a JSON pointer) and what. The host maps the pointer
     * to the YAML line and column, and reports every error of every plugin together.
     * Thread: create. Memory: copied. */
    void (*config_error)(wg_config* config, wg_str pointer, wg_str text);

    /* Since 1.1. The folder of the configuration file (absolute), against which a plugin resolves
     * relative paths in its config, as the host does for its own.
     * Thread: any, between create and destroy. Memory: host-owned, valid for the instance's life. */
    wg_str (*config_folder)(wg_host* host);

    /* ---- Since 1.2: typed configuration reads. Each one:
     *  - returns WG_OK and sets *out when the value is there and right;
     *  - returns WG_ERR_NOT_FOUND and sets *out = fallback when nothing is at `pointer`;
     *  - otherwise reports the config error itself ("expected a string, got integer", naming the
     *    YAML line), sets *out = fallback and returns WG_ERR_INVALID_ARGUMENT.
     * A required key: treat WG_ERR_NOT_FOUND as an error (config_require does the reporting).
     * Thread: create. Memory: returned views are host-owned, valid until instance_create returns. */
    wg_status (*config_string)(wg_config* config, wg_str pointer, wg_str fallback, wg_str* out);
    wg_status (*config_boolean)(wg_config* config, wg_str pointer, int fallback, int* out);
    /* An integer within [min, max] (else "expected an integer from min to max"). */
    wg_status (*config_integer)(wg_config* config, wg_str pointer, int64_t fallback, int64_t min, int64_t max,
                                int64_t* out);
    /* Any number, integer or not. */
    wg_status (*config_number)(wg_config* config, wg_str pointer, double fallback, double* out);
    /* One of `count` words; *out gets its index (else "expected one of: a, b, c"). */
    wg_status (*config_choice)(wg_config* config, wg_str pointer, const wg_str* words, size_t count, size_t fallback,
                               size_t* out);
    /* The number of elements of the list at `pointer` (0 and WG_ERR_NOT_FOUND when absent; a value
     * that is not a list is reported). Read element i at "<pointer>/<i>". */
    wg_status (*config_list_size)(wg_config* config, wg_str pointer, size_t* out);
    /* The name of member `index` of the mapping at `pointer`, in order of the names (WG_ERR_NOT_FOUND
     * past the last; a value that is not a mapping is reported). */
    wg_status (*config_member_name)(wg_config* config, wg_str pointer, size_t index, wg_str* out);
    /* Reports "missing required key 'name'" at `pointer`'s mapping when it has no member `name`;
     * returns WG_OK when it has. */
    wg_status (*config_require)(wg_config* config, wg_str pointer, wg_str name);
    /* Reports every member of the mapping at `pointer` whose name is not among `known`, as
     * "unknown key 'x'; did you mean 'y'?" (the host's own wording); WG_OK when there is none. */
    wg_status (*config_check_keys)(wg_config* config, wg_str pointer, const wg_str* known, size_t count);
    /* How many configuration errors this instance has reported so far, by any function. A plugin
     * returns WG_ERROR from instance_create when it is not 0. Thread: create. */
    size_t (*config_error_count)(wg_config* config);
    /* Since 1.2. WG_CREATE_* bits of this instance's creation. Thread: any, between create and destroy. */
    uint32_t (*create_flags)(wg_host* host);
    /* Since 1.2. Explains an on_audit WG_ERROR return: the client of a critical auditor reads
     * "audit failure: [<plugin>] <text>". The last text wins. Thread: inside on_audit with that
     * `event`. Memory: copied. */
    void (*audit_error)(const wg_audit_event* event, wg_str text);
} wg_host_api;

#ifdef __cplusplus
}
#endif

#endif /* WATCHGATE_ABI_HOST_API_H */
