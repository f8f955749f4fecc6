/* plugin.h must compile alone as C99 (compiled with -std=c99 -pedantic -Werror by ctest). */
#include <watchgate/plugin.h>

static wg_status create(const wg_host_api* api, wg_host* host, void* module, wg_str config_json, wg_config* config,
                        void** instance) {
    (void)api;
    (void)host;
    (void)module;
    (void)config_json;
    (void)config;
    *instance = 0;
    return WG_OK;
}
static void destroy(void* instance) { (void)instance; }

static const wg_plugin_descriptor descriptor = {
    WG_ABI_VERSION_MAJOR,
    WG_ABI_VERSION_MINOR,
    sizeof(wg_plugin_descriptor),
    WG_KIND_SECURITY,
    0,
    "header_check",
    "1",
    "header check",
    0,
    0,
    0,
    create,
    destroy,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
};

WG_PLUGIN_ENTRY { return &descriptor; }
