/* Declares a newer ABI minor than the host: it must be refused, naming both versions. */
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
    WG_ABI_VERSION_MAJOR,
    WG_ABI_VERSION_MINOR + 1,
    sizeof(wg_plugin_descriptor),
    WG_KIND_SECURITY,
    0,
    "newer_minor",
    "1.0.0",
    "Built for a newer ABI minor",
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
