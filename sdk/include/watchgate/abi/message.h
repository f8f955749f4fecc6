/* Watchgate plugin ABI: the opaque handles and what describes a message. Part of <watchgate/plugin.h>. */
#ifndef WATCHGATE_ABI_MESSAGE_H
#define WATCHGATE_ABI_MESSAGE_H

#include <stdint.h>
#include <watchgate/abi/str.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Opaque host-side handles. Never dereferenced by the plugin. */
typedef struct wg_host wg_host;       /* one per plugin instance, valid from create to destroy */
typedef struct wg_message wg_message; /* one message during one hook call */
typedef struct wg_config wg_config;   /* the config during instance creation */

/* Message kinds. */
typedef int32_t wg_message_kind;
#define WG_MESSAGE_REQUEST 1
#define WG_MESSAGE_RESPONSE 2 /* a result or an error answering a request */
#define WG_MESSAGE_NOTIFICATION 3

/* Flags for visit_strings and config_visit_strings. */
#define WG_VISIT_KEYS 0x1u /* also visit object member names (value = the key, pointer = its member) */

/* Visitor for visit_strings. `pointer` is the RFC 6901 JSON pointer of the value (or of the
 * member, for keys), `value` the decoded UTF-8 string. Return 0 to continue, non-zero to stop.
 * Thread: the thread of the call that visits. Memory: both views are borrowed for this call only. */
typedef int (*wg_string_visitor)(void* user, wg_str pointer, wg_str value, int is_key);

#ifdef __cplusplus
}
#endif

#endif /* WATCHGATE_ABI_MESSAGE_H */
