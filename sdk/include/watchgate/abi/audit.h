/* Watchgate plugin ABI: audit events, handed to auditing plugins. Part of <watchgate/plugin.h>.
 * Memory: an event and everything it points to is borrowed for the on_audit call. */
#ifndef WATCHGATE_ABI_AUDIT_H
#define WATCHGATE_ABI_AUDIT_H

#include <stddef.h>
#include <stdint.h>
#include <watchgate/abi/message.h>
#include <watchgate/abi/str.h>

#ifdef __cplusplus
extern "C" {
#endif

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
    /* Since 1.2 (read them only when struct_size covers them): the client the message is from or
     * for; empty when not known (a notification no session asked for). */
    wg_str session_id;     /* "1", "2", ... over stdio; the first 8 hex digits of Mcp-Session-Id over HTTP */
    wg_str transport;      /* "stdio" or "http" */
    wg_str client_address; /* "ip:port" of the HTTP client; empty over stdio */
    wg_str subject;        /* who authenticated (a bearer token's subject); empty without authentication */
} wg_audit_event;

#ifdef __cplusplus
}
#endif

#endif /* WATCHGATE_ABI_AUDIT_H */
