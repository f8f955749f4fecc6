/* Watchgate plugin ABI: the descriptor a plugin exports, and its hooks. Part of <watchgate/plugin.h>.
 *
 * Each hook carries "Thread:" and "Memory:" tags, as the host's functions do (abi/host_api.h).
 * "Pool" means any thread of the gateway's work pool: with WG_PLUGIN_THREAD_SAFE, hooks of one
 * instance may run at once for different requests; without it, the host serializes every call
 * into the instance. Hooks of one request context are never concurrent either way. */
#ifndef WATCHGATE_ABI_DESCRIPTOR_H
#define WATCHGATE_ABI_DESCRIPTOR_H

#include <stdint.h>
#include <watchgate/abi/audit.h>
#include <watchgate/abi/host_api.h>
#include <watchgate/abi/message.h>
#include <watchgate/abi/status.h>
#include <watchgate/abi/str.h>
#include <watchgate/abi/version.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Plugin kinds: a bit set in the descriptor; one kind per YAML placement. */
#define WG_KIND_SECURITY 0x1u
#define WG_KIND_MIDDLEWARE 0x2u
#define WG_KIND_AUDITING 0x4u

/* Descriptor flags. A host that does not know a flag refuses nothing for it (flags only add checks). */
/* The instance may be entered concurrently for different requests. Without it, the host
 * serializes every call into one instance. */
#define WG_PLUGIN_THREAD_SAFE 0x1u
/* Since 1.1. The plugin works on one upstream's names (allow-lists, renames): the host refuses it
 * under `_global`. */
#define WG_PLUGIN_UPSTREAM_ONLY 0x2u

/* Static storage in the plugin, valid while the module is loaded. Hooks marked optional may be
 * NULL. Fill it with designated initializers ({.abi_major = ..., .on_request = ...}): fields
 * added later then stay zero, which reads as "absent". */
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

    /* Module lifetime (optional pair): once after the file is loaded / before it is unloaded.
     * Thread: control thread. Memory: *module_state is the plugin's, freed by module_unload. */
    wg_status (*module_load)(void** module_state);
    void (*module_unload)(void* module_state);

    /* Instance lifetime: one per YAML plugin entry. `config_json` is the entry's `config:` mapping
     * (a JSON object) without the host's own keys (enabled, priority, critical); `config` reads
     * the same through the host. On invalid config, report each problem (config_error or the
     * typed readers) and return WG_ERROR. Check host_api->create_flags: an instance created only
     * to validate must have no side effects.
     * Thread: control thread. Memory: `host_api` and `host` stay valid until instance_destroy
     * returns; `config_json` and `config` until instance_create returns; *instance is the
     * plugin's, freed by instance_destroy. */
    wg_status (*instance_create)(const wg_host_api* host_api, wg_host* host, void* module_state, wg_str config_json,
                                 wg_config* config, void** instance);
    void (*instance_destroy)(void* instance);

    /* Request context (optional pair): per-request state. begin is called before the first hook
     * of a client request, with the request message; end after its last hook (response phase,
     * audit, and notifications tied to it). The state returned by begin is passed to every hook
     * of that request and of no other. The request is read-only in request_begin: changes and
     * verdicts return WG_ERR_NOT_PERMITTED. When request_begin returns anything but WG_OK, the
     * host drops `*request_state` and calls no request_end for it.
     * Thread: pool. Memory: *request_state is the plugin's, freed by request_end (or by a failed
     * begin before it returns). */
    wg_status (*request_begin)(void* instance, wg_message* request, void** request_state);
    void (*request_end)(void* instance, void* request_state);

    /* Security / middleware hooks (optional). `request_state` is NULL for a notification not tied
     * to a request. Return WG_OK to let the message continue (changed or not, or with a verdict
     * set through block/complete), WG_ERROR to report a failure (explained with set_error).
     * Thread: pool. Memory: `message` is valid during the call only. */
    wg_status (*on_request)(void* instance, void* request_state, wg_message* message);
    wg_status (*on_response)(void* instance, void* request_state, wg_message* message);
    wg_status (*on_notification)(void* instance, void* request_state, wg_message* message);

    /* Auditing hook (optional). Return WG_ERROR when the event could not be recorded, explained
     * with host_api->audit_error. Thread: pool. Memory: the event and everything it points to is
     * borrowed for the call. */
    wg_status (*on_audit)(void* instance, void* request_state, const wg_audit_event* event);

    /* Since 1.1 (optional). Asks the instance to reopen the files and connections it writes to:
     * the host calls it on SIGHUP, after logrotate moved a file. Must return at once (hand the
     * work to the plugin's own thread). Thread: the control thread, concurrently with hooks. */
    void (*reopen)(void* instance);
} wg_plugin_descriptor;

/* The entry point every plugin exports. Thread: control thread; may be called more than once and
 * must return the same descriptor. Memory: the descriptor is the plugin's static storage. */
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

#ifdef __cplusplus
}
#endif

#endif /* WATCHGATE_ABI_DESCRIPTOR_H */
