/* Declares ABI major 2: the host must refuse it, naming both versions. */
#include <watchgate/plugin.h>

#include <stddef.h>

static wg_status create(const wg_host_api* a, wg_host* h, void* m, wg_str c, wg_config* e, void** o) {
    (void)a;
    (void)h;
    (void)m;
    (void)c;
    (void)e;
    (void)o;
    return WG_ERROR;
}
static void destroy(void* instance) { (void)instance; }

static const wg_plugin_descriptor descriptor = {
    WG_ABI_VERSION_MAJOR + 1,
    0,
    sizeof(wg_plugin_descriptor),
    WG_KIND_SECURITY,
    0,
    "wrong_major",
    "1.0.0",
    "Built for another ABI major",
    NULL,
    NULL,
    NULL,
    create,
    destroy,
    NULL,
    NULL,
    NULL,
    NULL,
    NULL,
    NULL,
};

WG_PLUGIN_ENTRY { return &descriptor; }
