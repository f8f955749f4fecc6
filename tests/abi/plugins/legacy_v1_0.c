/* legacy_v1_0: a plugin built against the ABI 1.0 header (tests/abi/v1_0), as a third party's
 * binary from then would be. A security plugin that blocks one tool, and an auditor that appends
 * "<kind> <method> <outcome> <request id>" per event to a file; both read their config as 1.0 did
 * (config_get returns JSON text). */
#include <watchgate/plugin.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if WG_ABI_VERSION_MAJOR != 1 || WG_ABI_VERSION_MINOR != 0
#error "legacy_v1_0 must be built against the ABI 1.0 header"
#endif

struct legacy {
    const wg_host_api* api;
    char tool[128];
    char record[512];
};

/* A JSON string without escapes, as config_get returns it ("\"rm\""), into `out`. */
static int unquote(wg_str json, char* out, size_t size) {
    if (json.size < 2 || json.data[0] != '"' || json.data[json.size - 1] != '"' || json.size - 2 >= size) return 0;
    memcpy(out, json.data + 1, json.size - 2);
    out[json.size - 2] = '\0';
    return 1;
}

static wg_status create(const wg_host_api* api, wg_host* host, void* module, wg_str json, wg_config* config,
                        void** out) {
    struct legacy* self = (struct legacy*)calloc(1, sizeof *self);
    wg_str value;
    (void)host;
    (void)module;
    (void)json;
    if (!self) return WG_ERROR;
    self->api = api;
    if (api->config_get(config, WG_STR("/tool"), &value) == WG_OK && !unquote(value, self->tool, sizeof self->tool))
        api->config_error(config, WG_STR("/tool"), WG_STR("expected a tool name"));
    if (api->config_get(config, WG_STR("/record"), &value) == WG_OK &&
        !unquote(value, self->record, sizeof self->record))
        api->config_error(config, WG_STR("/record"), WG_STR("expected a file path"));
    if (api->struct_size < sizeof(wg_host_api)) {
        api->config_error(config, WG_STR(""), WG_STR("the host's table is smaller than ABI 1.0's"));
        free(self);
        return WG_ERROR;
    }
    *out = self;
    return WG_OK;
}

static void destroy(void* instance) { free(instance); }

static wg_status on_request(void* instance, void* state, wg_message* message) {
    struct legacy* self = (struct legacy*)instance;
    wg_str target = self->api->message_target(message);
    (void)state;
    if (self->tool[0] && target.size == strlen(self->tool) && memcmp(target.data, self->tool, target.size) == 0)
        return self->api->block(message, WG_STR("blocked by a plugin built for ABI 1.0"), 0, WG_STR(""));
    return WG_OK;
}

static wg_status on_audit(void* instance, void* state, const wg_audit_event* event) {
    struct legacy* self = (struct legacy*)instance;
    FILE* file;
    (void)state;
    if (!self->record[0]) return WG_OK;
    file = fopen(self->record, "a");
    if (!file) return WG_ERROR;
    fprintf(file, "%d %.*s %d %.*s\n", (int)event->kind, (int)event->method.size,
            event->method.data ? event->method.data : "", (int)event->outcome, (int)event->request_id.size,
            event->request_id.data ? event->request_id.data : "");
    fclose(file);
    return WG_OK;
}

static const wg_plugin_descriptor descriptor = {
    WG_ABI_VERSION_MAJOR,
    WG_ABI_VERSION_MINOR,
    sizeof(wg_plugin_descriptor),
    WG_KIND_SECURITY | WG_KIND_AUDITING,
    0,
    "legacy_v1_0",
    "1.0.0",
    "Built against the ABI 1.0 header",
    NULL,
    NULL,
    NULL,
    create,
    destroy,
    NULL,
    NULL,
    on_request,
    NULL,
    NULL,
    on_audit,
};

WG_PLUGIN_ENTRY { return &descriptor; }
