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
    wg_str era;            /* "session": of a client that opened with initialize; "stateless": of a request that
                            * declared its protocol version (2026-07-28) in _meta, or its response */
    wg_str client_address; /* "ip:port" of the HTTP client; empty over stdio */
    wg_str subject;        /* who authenticated (a bearer token's subject, a JWT's sub); empty without authentication */
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

/* ---- "watchgate.metrics/1" (ABI 1.2): the plugin's own metrics, exported by the host. ----
 * A metric named "queue_depth" is served as watchgate_plugin_queue_depth{plugin="<handler>"} on
 * the admin endpoint's /metrics (docs/operations.md). Instances of one plugin add to one series. */
#define WG_EXT_METRICS_1 "watchgate.metrics/1"

typedef int32_t wg_metric_kind;
#define WG_METRIC_COUNTER 1   /* only goes up: add amounts >= 0 */
#define WG_METRIC_GAUGE 2     /* goes up and down: add any amount, or set */
#define WG_METRIC_HISTOGRAM 3 /* add observes one value into the buckets */

typedef struct wg_ext_metrics_1 {
    uint32_t struct_size;
    /* Defines one metric: `name` is [a-z_][a-z0-9_]* (the host prefixes "watchgate_plugin_"),
     * `help` one line; a histogram takes the upper bounds of its buckets, ascending (+Inf is
     * implied). Returns the metric's id (>= 1), or 0 after reporting a config error (a bad name,
     * bounds, a name another plugin defined as another kind, more than 64 metrics in one instance,
     * a name over 100 characters). A help text is cut at 1000 bytes.
     * Thread: create. Memory: everything copied. */
    uint32_t (*define)(wg_host* host, wg_config* config, wg_metric_kind kind, wg_str name, wg_str help,
                       const double* bounds, size_t bound_count);
    /* Counters: adds `amount` (a negative one is ignored); gauges: adds; histograms: observes.
     * An id this instance did not define is ignored. Thread: any, between create and destroy. */
    void (*add)(wg_host* host, uint32_t id, double amount);
    /* Gauges: sets the value (other kinds ignore it). Thread: any, between create and destroy. */
    void (*set)(wg_host* host, uint32_t id, double value);
} wg_ext_metrics_1;

#ifdef __cplusplus
}
#endif

#endif /* WATCHGATE_ABI_EXTENSIONS_H */
