/* Watchgate plugin ABI: optional host services, found by id. Part of <watchgate/plugin.h>.
 *
 * An extension is a table of functions the host may or may not have, found with
 * wg_host_api.get_extension and a versioned string id. A new version of an extension gets a new
 * id ("/2"); the host keeps serving the old one. `get_extension` returns NULL for an id the host
 * does not know, so a plugin checks and does without. Ask once, at creation, and keep the
 * pointer: the table lives as long as the instance. docs/plugin-abi.md "Extensions" lists them. */
#ifndef WATCHGATE_ABI_EXTENSIONS_H
#define WATCHGATE_ABI_EXTENSIONS_H

#include <stdint.h>
#include <watchgate/abi/message.h>
#include <watchgate/abi/status.h>
#include <watchgate/abi/str.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- "watchgate.context/1" (since host 0.1, ABI 1.2): who a message is from or for. ---- */
#define WG_EXT_CONTEXT_1 "watchgate.context/1"

typedef struct wg_context {
    uint32_t struct_size;  /* the plugin sets sizeof(wg_context) before the call */
    wg_str session_id;     /* "1", "2", ... over stdio; the first 8 hex digits of Mcp-Session-Id over HTTP */
    wg_str transport;      /* "stdio" or "http" */
    wg_str era;            /* "session": the client opened with initialize (the era this host serves) */
    wg_str client_address; /* "ip:port" of the HTTP client; empty over stdio */
    wg_str subject;        /* who authenticated (a bearer token's subject); empty without authentication */
    wg_str upstream;       /* the upstream the message goes to or comes from; empty when none (yet) */
} wg_context;

typedef struct wg_ext_context_1 {
    uint32_t struct_size;
    /* Fills the fields of *out that its struct_size covers; what the host does not know (a
     * notification no session asked for) stays empty. Returns WG_ERR_INVALID_ARGUMENT when
     * out->struct_size is too small for the first field.
     * Thread: hook. Memory: the views are host-owned, valid until the hook returns. */
    wg_status (*message_context)(wg_message* message, wg_context* out);
} wg_ext_context_1;

#ifdef __cplusplus
}
#endif

#endif /* WATCHGATE_ABI_EXTENSIONS_H */
