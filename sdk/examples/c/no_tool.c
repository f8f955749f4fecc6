/* no_tool: blocks every call of one tool (config: {tool: NAME}, "rm" by default). A complete C99
 * plugin: reads its config with the host's typed readers, keeps what it needs, blocks. */
#include <watchgate/plugin.h>

#include <stdlib.h>
#include <string.h>

struct no_tool {
    const wg_host_api* api;
    char tool[64];
    size_t tool_size;
};

static wg_status create(const wg_host_api* api, wg_host* host, void* module, wg_str json, wg_config* config,
                        void** out) {
    static const wg_str keys[] = {WG_STR_INIT("tool")};
    struct no_tool* self = (struct no_tool*)calloc(1, sizeof *self);
    wg_str tool;
    (void)host;
    (void)module;
    (void)json;
    if (!self) return WG_ERROR;
    self->api = api;
    api->config_check_keys(config, WG_STR(""), keys, 1);
    api->config_string(config, WG_STR("/tool"), WG_STR("rm"), &tool);
    if (tool.size == 0 || tool.size > sizeof self->tool)
        api->config_error(config, WG_STR("/tool"), WG_STR("expected a tool name of 1 to 64 bytes"));
    if (api->config_error_count(config) > 0) {
        free(self);
        return WG_ERROR;
    }
    memcpy(self->tool, tool.data, tool.size); /* the view ends with instance_create */
    self->tool_size = tool.size;
    *out = self;
    return WG_OK;
}

static void destroy(void* instance) { free(instance); }

static wg_status on_request(void* instance, void* state, wg_message* message) {
    struct no_tool* self = (struct no_tool*)instance;
    wg_str tool = self->api->message_target(message);
    (void)state;
    if (tool.size == self->tool_size && memcmp(tool.data, self->tool, tool.size) == 0)
        return self->api->block(message, WG_STR("this tool is not allowed"), 0, WG_STR(""));
    return WG_OK;
}

static const wg_plugin_descriptor descriptor = {
    .abi_major = WG_ABI_VERSION_MAJOR,
    .abi_minor = WG_ABI_VERSION_MINOR,
    .struct_size = sizeof(wg_plugin_descriptor),
    .kinds = WG_KIND_SECURITY,
    .flags = WG_PLUGIN_THREAD_SAFE,
    .name = "no_tool",
    .version = "1.0.0",
    .description = "Blocks calls of one tool",
    .instance_create = create,
    .instance_destroy = destroy,
    .on_request = on_request,
};

WG_PLUGIN_ENTRY { return &descriptor; }
