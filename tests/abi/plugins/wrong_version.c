/* A plugin declaring an ABI version the host must refuse, naming both versions. Built twice:
 * wrong_major (another major) and newer_minor (a minor newer than the host's). */
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
    DECLARED_MAJOR, DECLARED_MINOR, sizeof(wg_plugin_descriptor), WG_KIND_SECURITY, 0, PLUGIN_NAME, "1.0.0",
    "Built for an ABI version the host does not speak", NULL, NULL, NULL, create, destroy, NULL, NULL, NULL, NULL,
    NULL, NULL, NULL,
};

WG_PLUGIN_ENTRY { return &descriptor; }
