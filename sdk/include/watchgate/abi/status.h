/* Watchgate plugin ABI: status codes and JSON-RPC error codes. Part of <watchgate/plugin.h>. */
#ifndef WATCHGATE_ABI_STATUS_H
#define WATCHGATE_ABI_STATUS_H

#include <stdint.h>

/* Returned by hooks and host functions. Errors are values: a message explains them (set_error,
 * config_error, audit_error). */
typedef int32_t wg_status;
#define WG_OK 0
#define WG_ERROR 1                /* generic failure; a message explains it */
#define WG_ERR_NOT_FOUND 2        /* no value at that JSON pointer / no such extension */
#define WG_ERR_INVALID_ARGUMENT 3 /* malformed JSON pointer, wrong value type, bad UTF-8 */
#define WG_ERR_INVALID_JSON 4     /* JSON text given to the host does not parse */
#define WG_ERR_NOT_PERMITTED 5    /* e.g. a middleware plugin tried to block */
#define WG_ERR_STOPPED 6          /* a visitor asked to stop early */

/* JSON-RPC error code the host uses for a block that named no code. */
#define WG_DEFAULT_BLOCK_CODE (-32000)

/* JSON-RPC 2.0 error codes, for answers a plugin makes (complete) or blocks with. */
#define WG_JSONRPC_PARSE_ERROR (-32700)
#define WG_JSONRPC_INVALID_REQUEST (-32600)
#define WG_JSONRPC_METHOD_NOT_FOUND (-32601)
#define WG_JSONRPC_INVALID_PARAMS (-32602)
#define WG_JSONRPC_INTERNAL_ERROR (-32603)

#endif /* WATCHGATE_ABI_STATUS_H */
