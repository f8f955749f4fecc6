/* probe_c: a C99 security plugin that reads every kind of config value with the typed readers of
 * ABI 1.2 and blocks every request with a reason listing what it read and whom the message is
 * from (the watchgate.context/1 extension), so tests can see both. */
#include <watchgate/plugin.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct probe {
    const wg_host_api* api;
    wg_host* host;
    const wg_ext_context_1* context;
    const wg_ext_metrics_1* metrics;
    uint32_t hits;   /* the metric named by config `metric`, counting requests; 0: none */
    char text[1024]; /* what was read, for the block reason */
};

static void append(struct probe* self, const char* data, size_t size) {
    size_t used = strlen(self->text);
    size_t room = sizeof self->text - 1 - used;
    if (size > room) size = room;
    if (size) memcpy(self->text + used, data, size);
    self->text[used + size] = '\0';
}

static void append_text(struct probe* self, const char* text) { append(self, text, strlen(text)); }

static void append_str(struct probe* self, const char* prefix, wg_str value) {
    append_text(self, prefix);
    append(self, value.data, value.size);
}

static wg_status create(const wg_host_api* api, wg_host* host, void* module, wg_str json, wg_config* config,
                        void** out) {
    static const wg_str known[] = {WG_STR_INIT("name"),         WG_STR_INIT("count"), WG_STR_INIT("ratio"),
                                   WG_STR_INIT("loud"),         WG_STR_INIT("mode"),  WG_STR_INIT("items"),
                                   WG_STR_INIT("labels"),       WG_STR_INIT("touch"), WG_STR_INIT("metric"),
                                   WG_STR_INIT("extra_metrics")};
    static const wg_str modes[] = {WG_STR_INIT("fast"), WG_STR_INIT("slow")};
    struct probe* self = (struct probe*)calloc(1, sizeof *self);
    wg_str name, touch;
    int64_t count, extra;
    double ratio;
    int loud;
    size_t mode, items, index;
    char line[160];
    (void)module;
    (void)json;
    if (!self) return WG_ERROR;
    self->api = api;
    self->host = host;
    self->context = (const wg_ext_context_1*)api->get_extension(host, WG_EXT_CONTEXT_1);
    self->metrics = (const wg_ext_metrics_1*)api->get_extension(host, WG_EXT_METRICS_1);

    api->config_check_keys(config, WG_STR(""), known, sizeof known / sizeof known[0]);
    if (api->config_require(config, WG_STR(""), WG_STR("name")) == WG_OK)
        api->config_string(config, WG_STR("/name"), WG_STR(""), &name);
    else
        name = WG_STR("");
    api->config_integer(config, WG_STR("/count"), 7, 0, 100, &count);
    api->config_number(config, WG_STR("/ratio"), 0.5, &ratio);
    api->config_boolean(config, WG_STR("/loud"), 0, &loud);
    api->config_choice(config, WG_STR("/mode"), modes, 2, 0, &mode);
    append_str(self, "name=", name);
    snprintf(line, sizeof line, " count=%lld ratio=%g loud=%d mode=%s items=", (long long)count, ratio, loud,
             mode == 0 ? "fast" : "slow");
    append_text(self, line);
    api->config_list_size(config, WG_STR("/items"), &items);
    for (index = 0; index < items; ++index) {
        wg_str item;
        int length = snprintf(line, sizeof line, "/items/%u", (unsigned)index);
        if (api->config_string(config, wg_str_make(line, (size_t)length), WG_STR("?"), &item) != WG_OK) continue;
        append_str(self, index ? "," : "", item);
    }
    append_text(self, " labels=");
    for (index = 0;; ++index) {
        wg_str member;
        if (api->config_member_name(config, WG_STR("/labels"), index, &member) != WG_OK) break;
        append_str(self, index ? "," : "", member);
    }
    /* A side effect the instance must skip when it only validates. */
    if (api->config_string(config, WG_STR("/touch"), WG_STR(""), &touch) == WG_OK &&
        !(api->create_flags(host) & WG_CREATE_VALIDATE_ONLY)) {
        wg_str folder = api->config_folder(host);
        FILE* file;
        snprintf(line, sizeof line, "%.*s/%.*s", (int)folder.size, folder.data, (int)touch.size, touch.data);
        file = fopen(line, "w");
        if (file) fclose(file);
    }
    if (api->config_string(config, WG_STR("/metric"), WG_STR(""), &name) == WG_OK && self->metrics)
        self->hits =
            self->metrics->define(host, config, WG_METRIC_COUNTER, name, WG_STR("Requests the probe saw"), NULL, 0);
    /* `extra_metrics: N` defines N more gauges, probe_extra_<i>: the host's cap on a plugin's metrics. */
    if (api->config_integer(config, WG_STR("/extra_metrics"), 0, 0, 1000, &extra) == WG_OK && self->metrics) {
        int64_t i;
        for (i = 0; i < extra; ++i) {
            snprintf(line, sizeof line, "probe_extra_%d", (int)i);
            self->metrics->define(host, config, WG_METRIC_GAUGE, wg_str_make(line, strlen(line)),
                                  WG_STR("An extra gauge"), NULL, 0);
        }
    }
    if (api->config_error_count(config) > 0) {
        free(self);
        return WG_ERROR;
    }
    *out = self;
    return WG_OK;
}

static void destroy(void* instance) { free(instance); }

static wg_status on_request(void* instance, void* state, wg_message* message) {
    struct probe* self = (struct probe*)instance;
    char reason[2048];
    wg_context context;
    (void)state;
    if (self->hits) self->metrics->add(self->host, self->hits, 1);
    memset(&context, 0, sizeof context);
    context.struct_size = sizeof context;
    if (!self->context || self->context->message_context(message, &context) != WG_OK)
        return self->api->block(message, WG_STR("no context extension"), 0, WG_STR(""));
    snprintf(reason, sizeof reason, "%s | session=%.*s transport=%.*s era=%.*s address=%.*s subject=%.*s upstream=%.*s",
             self->text, (int)context.session_id.size, context.session_id.data ? context.session_id.data : "",
             (int)context.transport.size, context.transport.data ? context.transport.data : "", (int)context.era.size,
             context.era.data ? context.era.data : "", (int)context.client_address.size,
             context.client_address.data ? context.client_address.data : "", (int)context.subject.size,
             context.subject.data ? context.subject.data : "", (int)context.upstream.size,
             context.upstream.data ? context.upstream.data : "");
    return self->api->block(message, wg_str_make(reason, strlen(reason)), 0, WG_STR(""));
}

static const wg_plugin_descriptor descriptor = {
    .abi_major = WG_ABI_VERSION_MAJOR,
    .abi_minor = WG_ABI_VERSION_MINOR,
    .struct_size = sizeof(wg_plugin_descriptor),
    .kinds = WG_KIND_SECURITY,
    .flags = WG_PLUGIN_THREAD_SAFE,
    .name = "probe_c",
    .version = "1.0.0",
    .description = "Reads every kind of config value and reports it, with the message's context",
    .instance_create = create,
    .instance_destroy = destroy,
    .on_request = on_request,
};

WG_PLUGIN_ENTRY { return &descriptor; }
