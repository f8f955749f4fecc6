/* keyword_filter: blocks or redacts messages whose string values contain configured keywords.
 * A plain C99 plugin: it reads its config and messages only through the host API. */
#include <watchgate/plugin.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { MAX_KEYWORDS = 64, MAX_HITS = 256 };
enum action { ACTION_BLOCK, ACTION_REDACT };

struct instance {
    const wg_host_api* api;
    wg_host* host;
    enum action action;
    int scan_responses;
    size_t keyword_count;
    char* keywords[MAX_KEYWORDS];
    size_t keyword_sizes[MAX_KEYWORDS];
};

static const char* find_bytes(const char* haystack, size_t size, const char* needle, size_t needle_size) {
    size_t i;
    if (needle_size == 0 || needle_size > size) return NULL;
    for (i = 0; i + needle_size <= size; ++i)
        if (haystack[i] == needle[0] && memcmp(haystack + i, needle, needle_size) == 0) return haystack + i;
    return NULL;
}

/* ---- configuration ---- */

static void instance_destroy(void* instance) {
    struct instance* self = (struct instance*)instance;
    size_t i;
    for (i = 0; i < self->keyword_count; ++i) free(self->keywords[i]);
    free(self);
}

/* Keeps a copy of `word`: the view ends when instance_create returns. */
static int keep_keyword(struct instance* self, wg_str word) {
    char* copy = (char*)malloc(word.size);
    if (!copy) return 0;
    memcpy(copy, word.data, word.size);
    self->keywords[self->keyword_count] = copy;
    self->keyword_sizes[self->keyword_count] = word.size;
    ++self->keyword_count;
    return 1;
}

/* The host's typed readers word every error and name its YAML line (docs/plugin-abi.md "Reading
 * the config in C"); this reads, then fails once if anything was wrong. */
static wg_status instance_create(const wg_host_api* api, wg_host* host, void* module_state, wg_str config_json,
                                 wg_config* config, void** out) {
    static const wg_str keys[] = {WG_STR_INIT("keywords"), WG_STR_INIT("action"), WG_STR_INIT("scan_responses")};
    static const wg_str actions[] = {WG_STR_INIT("block"), WG_STR_INIT("redact")};
    struct instance* self = (struct instance*)calloc(1, sizeof *self);
    size_t count = 0, index, action = ACTION_BLOCK;
    (void)module_state;
    (void)config_json;
    if (!self) return WG_ERROR;
    self->api = api;
    self->host = host;

    api->config_check_keys(config, WG_STR(""), keys, sizeof keys / sizeof keys[0]);
    if (api->config_require(config, WG_STR(""), WG_STR("keywords")) == WG_OK &&
        api->config_list_size(config, WG_STR("/keywords"), &count) == WG_OK) {
        if (count == 0) api->config_error(config, WG_STR("/keywords"), WG_STR("expected a non-empty list of strings"));
        if (count > MAX_KEYWORDS) api->config_error(config, WG_STR("/keywords"), WG_STR("at most 64 keywords"));
        for (index = 0; index < count && index < MAX_KEYWORDS; ++index) {
            char pointer[32];
            wg_str word;
            const wg_str at =
                wg_str_make(pointer, (size_t)snprintf(pointer, sizeof pointer, "/keywords/%u", (unsigned)index));
            if (api->config_string(config, at, WG_STR(""), &word) != WG_OK) continue;
            if (word.size == 0)
                api->config_error(config, at, WG_STR("keywords must not be empty"));
            else if (!keep_keyword(self, word))
                api->config_error(config, at, WG_STR("out of memory"));
        }
    }
    api->config_choice(config, WG_STR("/action"), actions, 2, ACTION_BLOCK, &action);
    self->action = action == ACTION_REDACT ? ACTION_REDACT : ACTION_BLOCK;
    api->config_boolean(config, WG_STR("/scan_responses"), 1, &self->scan_responses);
    if (api->config_error_count(config) > 0) {
        instance_destroy(self);
        return WG_ERROR;
    }
    *out = self;
    return WG_OK;
}

/* ---- scanning ---- */

struct hit {
    char* pointer; /* owned copies: views from the visitor end with the call */
    size_t pointer_size;
    char* value;
    size_t value_size;
};

struct scan {
    struct instance* self;
    struct hit hits[MAX_HITS];
    size_t hit_count;
    int overflow;
};

static int scan_string(void* user, wg_str pointer, wg_str value, int is_key) {
    struct scan* scan = (struct scan*)user;
    size_t k;
    (void)is_key;
    for (k = 0; k < scan->self->keyword_count; ++k) {
        if (!find_bytes(value.data, value.size, scan->self->keywords[k], scan->self->keyword_sizes[k])) continue;
        if (scan->hit_count == MAX_HITS) {
            scan->overflow = 1;
            return 1;
        }
        {
            struct hit* hit = &scan->hits[scan->hit_count++];
            hit->pointer = (char*)malloc(pointer.size + 1);
            hit->value = (char*)malloc(value.size + 1);
            if (!hit->pointer || !hit->value) {
                scan->overflow = 1;
                return 1;
            }
            memcpy(hit->pointer, pointer.data, pointer.size);
            hit->pointer[pointer.size] = '\0';
            hit->pointer_size = pointer.size; /* keys may hold NUL: never strlen a pointer */
            memcpy(hit->value, value.data, value.size);
            hit->value_size = value.size;
        }
        return 0;
    }
    return 0;
}

/* Replaces every keyword in `hit`'s string with "[REDACTED]". */
static wg_status redact(struct instance* self, wg_message* message, const struct hit* hit) {
    static const char mask[] = "[REDACTED]";
    size_t length = 0, i = 0, k;
    wg_status status;
    char* buffer = (char*)malloc(hit->value_size * (sizeof mask) + 1);
    if (!buffer) return WG_ERROR;
    while (i < hit->value_size) {
        int matched = 0;
        for (k = 0; k < self->keyword_count && !matched; ++k) {
            size_t n = self->keyword_sizes[k];
            if (i + n <= hit->value_size && memcmp(hit->value + i, self->keywords[k], n) == 0) {
                memcpy(buffer + length, mask, sizeof mask - 1);
                length += sizeof mask - 1;
                i += n;
                matched = 1;
            }
        }
        if (!matched) buffer[length++] = hit->value[i++];
    }
    status =
        self->api->replace_string(message, wg_str_make(hit->pointer, hit->pointer_size), wg_str_make(buffer, length));
    free(buffer);
    return status;
}

static wg_status inspect(struct instance* self, wg_message* message, const char* root) {
    struct scan scan;
    size_t i;
    wg_status status;
    memset(&scan, 0, sizeof scan);
    scan.self = self;
    status = self->api->visit_strings(message, wg_str_make(root, strlen(root)), 0, scan_string, &scan);
    if (status == WG_ERR_NOT_FOUND) return WG_OK; /* nothing to scan */
    if (status != WG_OK && status != WG_ERR_STOPPED) {
        /* A scan that did not finish must not pass as clean. */
        for (i = 0; i < scan.hit_count; ++i) {
            free(scan.hits[i].pointer);
            free(scan.hits[i].value);
        }
        self->api->set_error(message, WG_STR("could not scan the message"));
        return WG_ERROR;
    }
    status = WG_OK;
    if (scan.hit_count > 0 || scan.overflow) {
        if (self->action == ACTION_BLOCK || scan.overflow) {
            status = self->api->block(message, WG_STR("a configured keyword was found"), 0, WG_STR(""));
        } else {
            for (i = 0; i < scan.hit_count && status == WG_OK; ++i) status = redact(self, message, &scan.hits[i]);
        }
        self->api->add_metadata(message, WG_STR("{\"keyword_hits\":true}"));
    }
    for (i = 0; i < scan.hit_count; ++i) {
        free(scan.hits[i].pointer);
        free(scan.hits[i].value);
    }
    if (status != WG_OK) self->api->set_error(message, WG_STR("could not apply the verdict"));
    return status;
}

static wg_status on_request(void* instance, void* request_state, wg_message* message) {
    (void)request_state;
    return inspect((struct instance*)instance, message, "/params");
}

static wg_status on_response(void* instance, void* request_state, wg_message* message) {
    struct instance* self = (struct instance*)instance;
    (void)request_state;
    return self->scan_responses ? inspect(self, message, "/result") : WG_OK;
}

static wg_status on_notification(void* instance, void* request_state, wg_message* message) {
    (void)request_state;
    return inspect((struct instance*)instance, message, "/params");
}

static const wg_plugin_descriptor descriptor = {
    WG_ABI_VERSION_MAJOR,
    WG_ABI_VERSION_MINOR,
    sizeof(wg_plugin_descriptor),
    WG_KIND_SECURITY,
    WG_PLUGIN_THREAD_SAFE,
    "keyword_filter",
    "0.1.0",
    "Blocks or redacts messages whose strings contain configured keywords",
    "{\"type\":\"object\",\"required\":[\"keywords\"],\"properties\":{"
    "\"keywords\":{\"type\":\"array\",\"items\":{\"type\":\"string\",\"minLength\":1},\"maxItems\":64},"
    "\"action\":{\"enum\":[\"block\",\"redact\"],\"default\":\"block\"},"
    "\"scan_responses\":{\"type\":\"boolean\",\"default\":true}},\"additionalProperties\":false}",
    NULL,
    NULL,
    instance_create,
    instance_destroy,
    NULL,
    NULL,
    on_request,
    on_response,
    on_notification,
    NULL,
    NULL,
};

WG_PLUGIN_ENTRY { return &descriptor; }
