/* The conformance plugin in plain C99 (compiled with -std=c99 -pedantic). The C++ and Rust
 * versions behave identically; tests/abi/conformance_test.cpp runs all three through one suite.
 *   config: {"word": "..."}                      (required; other keys are errors)
 *   request: a string under /params containing `word` -> block (-32042, "word found"),
 *            else metadata {"strings": <count>}
 *   response: the id must equal the one kept by request_begin (else error);
 *             a string at /result/echo is replaced by the plugin's name */
#include <watchgate/plugin.h>

#include <stdlib.h>
#include <string.h>

struct instance {
    const wg_host_api* api;
    char* word;
    size_t word_size;
};

struct request_state {
    char* id;
    size_t id_size;
};

struct config_check {
    const wg_host_api* api;
    wg_config* config;
    int unknown;
};

static int check_key(void* user, wg_str pointer, wg_str key, int is_key) {
    struct config_check* check = (struct config_check*)user;
    if (!is_key || memchr(pointer.data + 1, '/', pointer.size - 1) != NULL) return 0;
    if (key.size == 4 && memcmp(key.data, "word", 4) == 0) return 0;
    check->api->config_error(check->config, pointer, WG_STR("unknown key"));
    check->unknown = 1;
    return 0;
}

static wg_status create(const wg_host_api* api, wg_host* host, void* module, wg_str json, wg_config* config,
                        void** out) {
    struct instance* self;
    struct config_check check;
    wg_str word;
    (void)host;
    (void)module;
    (void)json;
    check.api = api;
    check.config = config;
    check.unknown = 0;
    api->config_visit_strings(config, WG_STR(""), WG_VISIT_KEYS, check_key, &check);
    if (api->config_get(config, WG_STR("/word"), &word) != WG_OK) {
        api->config_error(config, WG_STR(""), WG_STR("missing required key 'word'"));
        return WG_ERROR;
    }
    if (word.size < 3 || word.data[0] != '"') {
        api->config_error(config, WG_STR("/word"), WG_STR("expected a non-empty string"));
        return WG_ERROR;
    }
    if (check.unknown) return WG_ERROR;
    self = (struct instance*)calloc(1, sizeof *self);
    if (!self) return WG_ERROR;
    self->api = api;
    /* The JSON text of a plain word is the word in quotes. */
    self->word_size = word.size - 2;
    self->word = (char*)malloc(self->word_size);
    if (!self->word) {
        free(self);
        return WG_ERROR;
    }
    memcpy(self->word, word.data + 1, self->word_size);
    *out = self;
    return WG_OK;
}

static void destroy(void* instance) {
    struct instance* self = (struct instance*)instance;
    free(self->word);
    free(self);
}

static wg_status begin(void* instance, wg_message* request, void** out) {
    struct instance* self = (struct instance*)instance;
    struct request_state* state = (struct request_state*)calloc(1, sizeof *state);
    wg_str id = self->api->message_id(request);
    if (!state) return WG_ERROR;
    state->id = (char*)malloc(id.size + 1);
    if (!state->id) {
        free(state);
        return WG_ERROR;
    }
    memcpy(state->id, id.data, id.size);
    state->id_size = id.size;
    *out = state;
    return WG_OK;
}

static void end(void* instance, void* request_state) {
    struct request_state* state = (struct request_state*)request_state;
    (void)instance;
    free(state->id);
    free(state);
}

struct scan {
    const struct instance* self;
    size_t strings;
    int found;
};

static int scan_string(void* user, wg_str pointer, wg_str value, int is_key) {
    struct scan* scan = (struct scan*)user;
    size_t i;
    (void)pointer;
    (void)is_key;
    ++scan->strings;
    for (i = 0; i + scan->self->word_size <= value.size; ++i) {
        if (memcmp(value.data + i, scan->self->word, scan->self->word_size) == 0) {
            scan->found = 1;
            return 1; /* stop early */
        }
    }
    return 0;
}

static wg_status on_request(void* instance, void* request_state, wg_message* message) {
    struct instance* self = (struct instance*)instance;
    struct scan scan;
    char metadata[64];
    size_t length, n;
    (void)request_state;
    scan.self = self;
    scan.strings = 0;
    scan.found = 0;
    self->api->visit_strings(message, WG_STR("/params"), 0, scan_string, &scan);
    if (scan.found) return self->api->block(message, WG_STR("word found"), -32042, WG_STR("{\"rule\":\"word\"}"));
    /* {"strings":N} without printf, to stay within freestanding-friendly C. */
    memcpy(metadata, "{\"strings\":", 11);
    length = 11;
    n = scan.strings;
    {
        char digits[24];
        size_t count = 0;
        do {
            digits[count++] = (char)('0' + n % 10);
            n /= 10;
        } while (n > 0);
        while (count > 0) metadata[length++] = digits[--count];
    }
    metadata[length++] = '}';
    return self->api->add_metadata(message, wg_str_make(metadata, length));
}

static wg_status on_response(void* instance, void* request_state, wg_message* message) {
    struct instance* self = (struct instance*)instance;
    struct request_state* state = (struct request_state*)request_state;
    wg_str id = self->api->message_id(message);
    wg_str echo;
    if (!state || id.size != state->id_size || memcmp(id.data, state->id, id.size) != 0) {
        self->api->set_error(message, WG_STR("request state mismatch"));
        return WG_ERROR;
    }
    if (self->api->get(message, WG_STR("/result/echo"), &echo) == WG_OK)
        return self->api->replace_string(message, WG_STR("/result/echo"), WG_STR(CONFORMANCE_NAME));
    return WG_OK;
}

static const wg_plugin_descriptor descriptor = {
    WG_ABI_VERSION_MAJOR,
    WG_ABI_VERSION_MINOR,
    sizeof(wg_plugin_descriptor),
    WG_KIND_SECURITY,
    WG_PLUGIN_THREAD_SAFE,
    CONFORMANCE_NAME,
    "1.0.0",
    "Conformance plugin (C99)",
    "{\"type\":\"object\",\"required\":[\"word\"]}",
    NULL,
    NULL,
    create,
    destroy,
    begin,
    end,
    on_request,
    on_response,
    NULL,
    NULL,
    NULL,
};

WG_PLUGIN_ENTRY { return &descriptor; }
